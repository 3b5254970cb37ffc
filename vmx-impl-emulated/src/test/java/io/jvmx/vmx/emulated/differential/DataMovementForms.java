package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.*;
import static io.jvmx.vmx.emulated.differential.InstructionForm.of;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;

import java.util.List;

/**
 * Data movement and flag instructions: MOV, MOVSX MOVZX MOVSXD, CMOVcc, SETcc, XCHG, CBW/CWDE/CDQE CWD/CDQ/CQO, LEA,
 * MOVBE, LAHF SAHF, CLC STC CMC CLD STD (SDM Vol. 2, each instruction's page). None of them changes a flag except
 * SAHF and the flag instructions, so every flag is compared.
 */
final class DataMovementForms {
    private DataMovementForms() {
    }

    /** Condition codes in tttn order (SDM Vol. 2, Appendix B.1.4.7, Table B-10): CMOVcc 0F 40+cc, SETcc 0F 90+cc. */
    static final String[] CONDITIONS = {"O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE",
            "LE", "G"};

    static void addTo(List<InstructionForm> forms) {
        move(forms);
        extend(forms);
        conditionalMove(forms);
        setByte(forms);
        exchange(forms);
        convert(forms);
        loadEffectiveAddress(forms);
        moveBigEndian(forms);
        moveNonTemporal(forms);
        moveOffset(forms);
        crc32(forms);
        flagInstructions(forms);
    }

    /**
     * MOV (88/89 /r: r/m, r; 8A/8B /r: r, r/m; C6/C7 /0: r/m, imm; B0+rb ib, B8+rw/rd iw/id, REX.W B8+rd io: r, imm).
     * A 32-bit destination register is zero-extended; 8- and 16-bit ones keep the other bits (SDM Vol. 2B, MOV;
     * Vol. 1, 3.4.1.1).
     */
    private static void move(List<InstructionForm> forms) {
        for (int size : SIZES) {
            int rmR = size == 1 ? 0x88 : 0x89;
            int rRm = size == 1 ? 0x8A : 0x8B;
            int rmImm = size == 1 ? 0xC6 : 0xC7;
            int immBytes = Math.min(size, 4);
            for (boolean memory : BOTH) {
                forms.add(of(name("MOV", rm(size), r(size), sdm(size, hex(rmR) + " /r"), memory), b -> {
                    b.byteOperands();
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = memory ? null : b.reg(size);
                    Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                    b.set(src, b.value(size));
                    Encoder e = b.encoder(size).operandSize(size).opcode(rmR);
                    return (memory ? e.modrm(src, m) : e.modrm(src, dst)).bytes();
                }));
                forms.add(of(name("MOV", r(size), rm(size), sdm(size, hex(rRm) + " /r"), memory), b -> {
                    b.byteOperands();
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = b.reg(size);
                    Encoder e = b.encoder(size).operandSize(size).opcode(rRm);
                    if (memory) {
                        b.setMem(size, b.value(size));
                        return e.modrm(dst, m).bytes();
                    }
                    Reg src = b.regOrSame(size, dst);
                    b.set(src, b.value(size));
                    return e.modrm(dst, src).bytes();
                }));
                forms.add(of(name("MOV", rm(size), imm(size), sdm(size, hex(rmImm) + " /0 " + immCode(size)),
                        memory), b -> {
                    b.byteOperands();
                    Encoder e = b.encoder(size).operandSize(size).opcode(rmImm);
                    if (memory) {
                        e.modrm(0, b.mem(size));
                    } else {
                        e.modrm(0, b.reg(size));
                    }
                    return e.imm(b.value(immBytes), immBytes).bytes();
                }));
            }
            int plusRegister = size == 1 ? 0xB0 : 0xB8;
            String code = size == 1 ? "B0+rb ib" : size == 2 ? "B8+rw iw" : size == 4 ? "B8+rd id" : "B8+rd io";
            forms.add(of("MOV " + r(size) + ", imm" + 8 * size + " (" + sdm(size, code) + ")", b -> {
                b.byteOperands();
                Reg dst = b.reg(size);
                return b.encoder(size).operandSize(size).opcodePlusRegister(plusRegister, dst)
                        .imm(b.value(size), size).bytes();
            }));
        }
    }

    /**
     * MOVSX (0F BE /r from r/m8, 0F BF /r from r/m16), MOVZX (0F B6, 0F B7), MOVSXD (REX.W 63 /r, r64 from r/m32)
     * (SDM Vol. 2B, MOVSX/MOVSXD and MOVZX).
     */
    private static void extend(List<InstructionForm> forms) {
        int[][] pairs = {{2, 1}, {4, 1}, {8, 1}, {4, 2}, {8, 2}};
        for (String n : new String[] {"MOVSX", "MOVZX"}) {
            for (int[] p : pairs) {
                int dstSize = p[0], srcSize = p[1];
                int opcode = (n.equals("MOVSX") ? 0xBE : 0xB6) + (srcSize == 2 ? 1 : 0);
                for (boolean memory : BOTH) {
                    forms.add(of(name(n, r(dstSize), rm(srcSize), sdm(dstSize, "0F " + hex(opcode) + " /r"), memory),
                            b -> {
                        if (srcSize == 1 && dstSize != 8) {
                            b.byteOperands();
                        }
                        Mem m = memory ? b.mem(srcSize) : null;
                        Reg dst = b.reg(dstSize);
                        b.set(dst, b.value(dstSize));
                        Encoder e = b.encoder(srcSize).operandSize(dstSize).opcode(0x0F, opcode);
                        if (memory) {
                            b.setMem(srcSize, b.value(srcSize));
                            return e.modrm(dst, m).bytes();
                        }
                        Reg src = b.reg(srcSize);
                        b.set(src, b.value(srcSize));
                        return e.modrm(dst, src).bytes();
                    }));
                }
            }
        }
        for (boolean memory : BOTH) {
            forms.add(of(name("MOVSXD", "r64", "r/m32", "REX.W + 63 /r", memory), b -> {
                Mem m = memory ? b.mem(4) : null;
                Reg dst = b.reg(8);
                Encoder e = new Encoder().rexW().opcode(0x63);
                if (memory) {
                    b.setMem(4, b.value(4));
                    return e.modrm(dst, m).bytes();
                }
                Reg src = b.regOrSame(4, new Reg(dst.number(), 4, false));
                b.set(src, b.value(4));
                return e.modrm(dst, src).bytes();
            }));
        }
    }

    /**
     * CMOVcc (0F 40+cc /r): moves if the condition holds. A 32-bit CMOV writes (zero-extends) the destination in 64-bit
     * mode even when the condition is false (SDM Vol. 2A, CMOVcc: "the destination ... is zero-extended"; Vol. 1,
     * 3.4.1.1). The memory source is read in either case.
     */
    private static void conditionalMove(List<InstructionForm> forms) {
        for (int cc = 0; cc < 16; cc++) {
            int opcode = 0x40 + cc;
            for (int size : WIDE_SIZES) {
                for (boolean memory : BOTH) {
                    forms.add(of(name("CMOV" + CONDITIONS[cc], r(size), rm(size), sdm(size, "0F " + hex(opcode)
                            + " /r"), memory), b -> {
                        Mem m = memory ? b.mem(size) : null;
                        Reg dst = b.reg(size);
                        b.set(dst, b.value(size));
                        Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, opcode);
                        if (memory) {
                            b.setMem(size, b.value(size));
                            return e.modrm(dst, m).bytes();
                        }
                        Reg src = b.regOrSame(size, dst);
                        b.set(src, b.value(size));
                        return e.modrm(dst, src).bytes();
                    }));
                }
            }
        }
    }

    /** SETcc (0F 90+cc, ModRM.reg ignored: /0 here): r/m8 := condition ? 1 : 0 (SDM Vol. 2B, SETcc). */
    private static void setByte(List<InstructionForm> forms) {
        for (int cc = 0; cc < 16; cc++) {
            int opcode = 0x90 + cc;
            for (boolean memory : BOTH) {
                forms.add(of(name("SET" + CONDITIONS[cc], "r/m8", null, "0F " + hex(opcode) + " /0", memory), b -> {
                    b.byteOperands();
                    Encoder e = b.encoder(1).opcode(0x0F, opcode);
                    ArithmeticForms.unaryOperand(b, e, 0, 1, memory);
                    return e.bytes();
                }));
            }
        }
    }

    /**
     * XCHG (86 /r, 87 /r; 90+rd with the accumulator): swaps; with memory, locked implicitly. 90 itself (register 0
     * without REX.B) is NOP and does not zero-extend EAX, so the 90+rd forms use registers 1-15 (SDM Vol. 2B, XCHG and
     * NOP).
     */
    private static void exchange(List<InstructionForm> forms) {
        for (int size : SIZES) {
            int opcode = size == 1 ? 0x86 : 0x87;
            for (boolean memory : BOTH) {
                forms.add(of(name("XCHG", rm(size), r(size), sdm(size, hex(opcode) + " /r"), memory), b -> {
                    b.byteOperands();
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = memory ? null : b.reg(size);
                    Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                    if (memory) {
                        b.setMem(size, b.value(size));
                    } else {
                        b.set(dst, b.value(size));
                    }
                    b.set(src, b.value(size));
                    Encoder e = b.encoder(size).operandSize(size).opcode(opcode);
                    return (memory ? e.modrm(src, m) : e.modrm(src, dst)).bytes();
                }));
            }
        }
        for (int size : WIDE_SIZES) {
            forms.add(of("XCHG " + accumulator(size) + ", " + r(size) + " (" + sdm(size, "90+rd") + ")", b -> {
                b.set(b.fixed(0, size), b.value(size));
                Reg r = b.reg(size);
                b.set(r, b.value(size));
                return b.encoder(size).operandSize(size).opcodePlusRegister(0x90, r).bytes();
            }));
        }
    }

    /**
     * CBW/CWDE/CDQE (98): sign-extends AL/AX/EAX into AX/EAX/RAX; CWD/CDQ/CQO (99): sign-extends AX/EAX/RAX into
     * DX:AX, EDX:EAX, RDX:RAX (SDM Vol. 2A, "CBW/CWDE/CDQE" and "CWD/CDQ/CQO").
     */
    private static void convert(List<InstructionForm> forms) {
        String[][] names = {{"CBW", "CWDE", "CDQE"}, {"CWD", "CDQ", "CQO"}};
        for (int op = 0; op < 2; op++) {
            int opcode = 0x98 + op;
            for (int i = 0; i < 3; i++) {
                int size = WIDE_SIZES[i];
                forms.add(of(names[op][i] + " (" + sdm(size, hex(opcode)) + (size == 2 ? ", 16-bit operand size" : "")
                        + ")", b -> {
                    // the source is half of the operand size for 98, all of it for 99
                    b.set(b.fixed(0, size), b.value(size));
                    return new Encoder().operandSize(size).opcode(opcode).bytes();
                }));
            }
        }
    }

    /** The addressing forms of LEA (SDM Vol. 2A, 2.1.5 Tables 2-2 and 2-3, 2.2.1.6 RIP-relative addressing). */
    private enum Addressing {
        BASE("[base]"), BASE_DISP8("[base+disp8]"), BASE_DISP32("[base+disp32]"), BASE_INDEX("[base+index*scale]"),
        BASE_INDEX_DISP8("[base+index*scale+disp8]"), BASE_INDEX_DISP32("[base+index*scale+disp32]"),
        INDEX_DISP32("[index*scale+disp32]"), DISP32("[disp32]"), RIP_DISP32("[rip+disp32]");

        final String text;

        Addressing(String text) {
            this.text = text;
        }
    }

    /**
     * LEA (8D /r): the effective address, computed at the address size (64 bits, or 32 with the 67 prefix) and then
     * truncated or zero-extended to the operand size (SDM Vol. 2A, LEA, Table 3-53). No memory is accessed, so
     * registers hold plain random values; RSP is never used (its value differs between the two executors).
     */
    private static void loadEffectiveAddress(List<InstructionForm> forms) {
        for (int size : WIDE_SIZES) {
            for (int addressSize : new int[] {8, 4}) {
                for (Addressing a : Addressing.values()) {
                    String opcode = (addressSize == 4 ? "67 " : "") + sdm(size, "8D /r");
                    forms.add(of("LEA " + r(size) + ", m (" + opcode + "), " + a.text + ", " + 8 * addressSize
                            + "-bit address", b -> {
                        Reg dst = new Reg(anyRegister(b), size, false);
                        b.note(dst.name());
                        b.set(dst, b.value(size));
                        boolean hasBase = a != Addressing.INDEX_DISP32 && a != Addressing.DISP32
                                && a != Addressing.RIP_DISP32;
                        boolean hasIndex = a == Addressing.BASE_INDEX || a == Addressing.BASE_INDEX_DISP8
                                || a == Addressing.BASE_INDEX_DISP32 || a == Addressing.INDEX_DISP32;
                        int dispBytes = switch (a) {
                            case BASE, BASE_INDEX -> 0;
                            case BASE_DISP8, BASE_INDEX_DISP8 -> 1;
                            default -> 4;
                        };
                        int base = a == Addressing.RIP_DISP32 ? Mem.RIP : hasBase ? anyRegister(b) : Mem.NONE;
                        int index = hasIndex ? anyIndex(b) : Mem.NONE;
                        int scale = hasIndex ? 1 << b.random.nextInt(4) : 1;
                        long disp = dispBytes == 1 ? b.random.nextInt(256) - 128 : (int) b.value(4);
                        if (base >= 0 && base < 16) {
                            b.setFull(base, b.random.nextBoolean() ? b.value(8) : b.value(addressSize));
                        }
                        if (index >= 0) {
                            b.setFull(index, b.random.nextBoolean() ? b.value(8) : b.value(addressSize));
                        }
                        b.note(String.format("base %s, index %s*%d, disp %s",
                                base == Mem.RIP ? "rip" : base == Mem.NONE ? "-" : MachineState.registerName(base),
                                index == Mem.NONE ? "-" : MachineState.registerName(index), scale,
                                CaseBuilder.signedHex(disp)));
                        Encoder e = new Encoder();
                        if (addressSize == 4) {
                            e.prefix(0x67);
                        }
                        return e.operandSize(size).opcode(0x8D)
                                .modrm(dst.number(), new Mem(base, index, scale, disp, dispBytes)).bytes();
                    }));
                }
            }
        }
    }

    /** Any register but RSP, possibly one used already (LEA RAX, [RAX+RAX*2] is a fine case). */
    private static int anyRegister(CaseBuilder b) {
        int n;
        do {
            n = b.random.nextInt(16);
        } while (n == MachineState.RSP);
        return n;
    }

    /** An index register: any but RSP (index 100 without REX.X means "no index"). */
    private static int anyIndex(CaseBuilder b) {
        return anyRegister(b);
    }

    /**
     * MOVBE (0F 38 F0 /r: r, m; 0F 38 F1 /r: m, r): a move with the bytes reversed; memory forms only (the register
     * form is #UD). CPUID.01H:ECX.MOVBE[bit 22] (SDM Vol. 2B, MOVBE).
     */
    private static void moveBigEndian(List<InstructionForm> forms) {
        for (int size : WIDE_SIZES) {
            forms.add(of("MOVBE " + r(size) + ", " + m(size) + " (" + sdm(size, "0F 38 F0 /r") + ")", Feature.MOVBE,
                    b -> {
                Mem m = b.mem(size);
                b.setMem(size, b.value(size));
                Reg dst = b.reg(size);
                b.set(dst, b.value(size));
                return new Encoder().operandSize(size).opcode(0x0F, 0x38, 0xF0).modrm(dst, m).bytes();
            }));
            forms.add(of("MOVBE " + m(size) + ", " + r(size) + " (" + sdm(size, "0F 38 F1 /r") + ")", Feature.MOVBE,
                    b -> {
                Mem m = b.mem(size);
                b.setMem(size, b.value(size));
                Reg src = b.reg(size);
                b.set(src, b.value(size));
                return new Encoder().operandSize(size).opcode(0x0F, 0x38, 0xF1).modrm(src, m).bytes();
            }));
        }
    }

    /**
     * MOVNTI m32, r32 (0F C3 /r) and m64, r64 (REX.W): a store with a non-temporal hint (SDM Vol. 2B MOVNTI).
     * CPUID.01H:EDX.SSE2[bit 26].
     */
    private static void moveNonTemporal(List<InstructionForm> forms) {
        for (int size : new int[] {4, 8}) {
            forms.add(of("MOVNTI " + m(size) + ", " + r(size) + " (" + sdm(size, "0F C3 /r") + "), memory",
                    Feature.SSE2, b -> {
                Mem m = b.mem(size);
                Reg src = b.reg(size);
                b.set(src, b.value(size));
                return b.encoder(size).operandSize(size).opcode(0x0F, 0xC3).modrm(src, m).bytes();
            }));
        }
    }

    /**
     * MOV AL/rAX, moffs (A0, A1) and moffs, AL/rAX (A2, A3): the operand's offset is an immediate of the address
     * size, 64 bits in 64-bit mode (32 with 67H), 32 in 32-bit code; DS unless overridden (SDM Vol. 2B MOV, and Vol.
     * 2A, 2.2.1.4 "Direct Memory-Offset MOVs").
     */
    private static void moveOffset(List<InstructionForm> forms) {
        for (int size : SIZES) {
            for (boolean load : BOTH) {
                int opcode = (load ? 0xA0 : 0xA2) + (size == 1 ? 0 : 1);
                String acc = accumulator(size);
                String text = load ? acc + ", moffs" + 8 * size : "moffs" + 8 * size + ", " + acc;
                for (String variant : new String[] {"", "67", "FS"}) {
                    String name = "MOV " + text + " (" + (variant.equals("67") ? "67 " : variant.equals("FS")
                            ? "64 " : "") + sdm(size, hex(opcode)) + ")" + (variant.equals("67") ? ", 32-bit offset"
                            : variant.equals("FS") ? ", FS override" : "");
                    InstructionForm.Generator g = b -> {
                        b.byteOperands();
                        b.set(b.fixed(0, size), b.value(size));
                        int offset = 0x100 + b.random.nextInt(0xE00);
                        b.memAt(offset, size);
                        b.setMem(size, b.value(size));
                        long base = variant.equals("FS") ? b.layout.fsBase() : 0;
                        long address = b.dataAddress + offset - base;
                        Encoder e = b.encoder(size);
                        if (variant.equals("67")) {
                            e.prefix(0x67);
                        } else if (variant.equals("FS")) {
                            e.prefix(0x64);
                        }
                        return e.operandSize(size).opcode(opcode).imm(address, variant.equals("67") ? 4 : 8).bytes();
                    };
                    forms.add(variant.equals("67") ? new InstructionForm(name, InstructionForm.Mode.LONG_64,
                            null, true, g) : of(name, g));
                }
                if (size < 8) {
                    forms.add(InstructionForm.compatibility("MOV " + text + " (" + (size == 2 ? "66 " : "")
                            + hex(opcode) + "), 32-bit offset", b -> {
                        b.set(b.fixed(0, size), b.value(size));
                        int offset = 0x100 + b.random.nextInt(0xE00);
                        b.memAt(offset, size);
                        b.setMem(size, b.value(size));
                        return b.encoder(size).operandSize(size).opcode(opcode).imm(b.dataAddress + offset, 4)
                                .bytes();
                    }));
                }
            }
        }
    }

    /**
     * CRC32 (F2 0F 38 F0 /r: r32, r/m8; F2 REX.W 0F 38 F0 /r: r64, r/m8; F2 0F 38 F1 /r: r32, r/m16 with 66, r/m32,
     * and r64, r/m64 with REX.W): CRC-32C of the source accumulated into the destination; no flags change (SDM Vol.
     * 2A, CRC32). CPUID.01H:ECX.SSE4_2[bit 20].
     */
    private static void crc32(List<InstructionForm> forms) {
        int[][] sizes = {{4, 1}, {8, 1}, {4, 2}, {4, 4}, {8, 8}};
        for (int[] p : sizes) {
            int dstSize = p[0], srcSize = p[1];
            int opcode = srcSize == 1 ? 0xF0 : 0xF1;
            String code = (srcSize == 2 ? "66 " : "") + "F2 " + (dstSize == 8 ? "REX.W " : "") + "0F 38 " + hex(opcode)
                    + " /r";
            for (boolean memory : BOTH) {
                forms.add(of(name("CRC32", r(dstSize), rm(srcSize), code, memory), Feature.SSE42, b -> {
                    if (srcSize == 1 && dstSize == 4) {
                        b.byteOperands();
                    }
                    Mem m = memory ? b.mem(srcSize) : null;
                    Reg dst = b.reg(dstSize);
                    b.set(dst, b.value(dstSize));
                    Encoder e = b.encoder(srcSize);
                    if (srcSize == 2) {
                        e.prefix(0x66);
                    }
                    e.prefix(0xF2);
                    if (dstSize == 8) {
                        e.rexW();
                    }
                    e.opcode(0x0F, 0x38, opcode);
                    if (memory) {
                        b.setMem(srcSize, b.value(srcSize));
                        return e.modrm(dst, m).bytes();
                    }
                    Reg src = b.reg(srcSize);
                    b.set(src, b.value(srcSize));
                    return e.modrm(dst, src).bytes();
                }));
            }
        }
    }

    /**
     * LAHF (9F): AH := SF:ZF:0:AF:0:PF:1:CF; SAHF (9E): SF ZF AF PF CF := bits 7 6 4 2 0 of AH, OF unchanged; in 64-bit
     * mode only if CPUID.80000001H:ECX.LAHF-SAHF[bit 0] (SDM Vol. 2A, LAHF; Vol. 2B, SAHF). CLC (F8), STC (F9), CMC
     * (F5), CLD (FC), STD (FD): CF or DF only (Vol. 2A, each page).
     */
    private static void flagInstructions(List<InstructionForm> forms) {
        forms.add(of("LAHF (9F)", Feature.LAHF_SAHF, b -> new Encoder().opcode(0x9F).bytes()));
        forms.add(of("SAHF (9E)", Feature.LAHF_SAHF, b -> {
            b.set(new Reg(0, 1, true), b.random.nextInt(256));
            return new Encoder().opcode(0x9E).bytes();
        }));
        String[] names = {"CLC", "STC", "CMC", "CLD", "STD"};
        int[] opcodes = {0xF8, 0xF9, 0xF5, 0xFC, 0xFD};
        for (int i = 0; i < names.length; i++) {
            int opcode = opcodes[i];
            forms.add(of(names[i] + " (" + hex(opcode) + ")", b -> new Encoder().opcode(opcode).bytes()));
        }
    }
}
