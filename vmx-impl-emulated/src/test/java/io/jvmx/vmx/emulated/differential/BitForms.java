package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.*;
import static io.jvmx.vmx.emulated.differential.InstructionForm.of;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;

import java.util.List;

/**
 * Bit instructions: BT BTS BTR BTC, BSF BSR, POPCNT LZCNT TZCNT, BSWAP, and the VEX-encoded BMI1/BMI2 group (SDM Vol.
 * 2A/2B, each instruction's page; VEX encoding: Vol. 2A, 2.3).
 */
final class BitForms {
    private BitForms() {
    }

    static void addTo(List<InstructionForm> forms) {
        bitTest(forms);
        bitTestFar(forms);
        bitScan(forms);
        counts(forms);
        byteSwap(forms);
        bmi1(forms);
        bmi2(forms);
    }

    /** A value for a bit-scan or count source: 0 more often than {@link CaseBuilder#value} gives it. */
    private static long scanSource(CaseBuilder b, int size) {
        return b.random.nextInt(8) == 0 ? 0 : b.value(size);
    }

    /**
     * BT (0F A3 /r; 0F BA /4 ib), BTS (0F AB; /5), BTR (0F B3; /6), BTC (0F BB; /7): CF := the selected bit; ZF
     * unchanged; OF SF AF PF undefined (SDM Vol. 2A, BT/BTC/BTR/BTS). With a register base the bit offset is taken
     * modulo the operand size. With a memory base and a register offset the offset is a signed bit index from the
     * operand's address: kept within +-1023 bits so the access stays in the data page.
     */
    private static void bitTest(List<InstructionForm> forms) {
        String[] names = {"BT", "BTS", "BTR", "BTC"};
        int[] regOpcodes = {0xA3, 0xAB, 0xB3, 0xBB};
        for (int i = 0; i < names.length; i++) {
            int regOpcode = regOpcodes[i];
            int digit = 4 + i;
            for (int size : WIDE_SIZES) {
                for (boolean memory : BOTH) {
                    forms.add(of(name(names[i], rm(size), r(size), sdm(size, "0F " + hex(regOpcode) + " /r"), memory),
                            b -> {
                        Mem m = memory ? b.memAt(0x200 + b.random.nextInt(0xC00), size) : null;
                        Reg base = memory ? null : b.reg(size);
                        Reg offset = memory ? b.reg(size) : b.regOrSame(size, base);
                        if (memory) {
                            b.setMem(size, b.value(size));
                            b.set(offset, b.random.nextInt(2048) - 1024);
                        } else {
                            b.set(base, b.value(size));
                            b.set(offset, b.random.nextBoolean() ? b.random.nextInt(8 * size) : b.value(size));
                        }
                        b.undefinedFlags(Flags.OF | Flags.SF | Flags.AF | Flags.PF);
                        Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, regOpcode);
                        return (memory ? e.modrm(offset, m) : e.modrm(offset, base)).bytes();
                    }));
                    forms.add(of(name(names[i], rm(size), "imm8", sdm(size, "0F BA /" + digit + " ib"), memory), b -> {
                        Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, 0xBA);
                        ArithmeticForms.unaryOperand(b, e, digit, size, memory);
                        b.undefinedFlags(Flags.OF | Flags.SF | Flags.AF | Flags.PF);
                        int bit = b.random.nextBoolean() ? b.random.nextInt(8 * size) : b.random.nextInt(256);
                        return e.imm(bit, 1).bytes();
                    }));
                }
            }
        }
    }

    /**
     * BT, BTS, BTR, BTC with a register bit offset into memory anywhere in the offset's range (SDM Vol. 2A BT, Table
     * 3-2: the operand read is the one at the address plus (offset SAR log2(size in bits)) operand sizes): the base
     * register is set so that the operand holding the bit lies in the data page however far the offset reaches,
     * which tests the signed division of the offset.
     */
    private static void bitTestFar(List<InstructionForm> forms) {
        String[] names = {"BT", "BTS", "BTR", "BTC"};
        int[] opcodes = {0xA3, 0xAB, 0xB3, 0xBB};
        for (int i = 0; i < names.length; i++) {
            int opcode = opcodes[i];
            for (int size : WIDE_SIZES) {
                forms.add(of(names[i] + " " + rm(size) + ", " + r(size) + " (" + sdm(size, "0F " + hex(opcode)
                        + " /r") + "), memory, any bit offset", b -> {
                    Reg offset = b.reg(size);
                    long bitOffset = b.random.nextBoolean() ? b.random.nextLong() : b.value(size);
                    b.set(offset, bitOffset);
                    long signed = b.get(offset) << (64 - 8 * size) >> (64 - 8 * size);
                    int target = 0x100 + size * b.random.nextInt((NativeCpu.DATA_PAGE_BYTES - 0x200) / size);
                    long operandAddress = b.dataAddress + target - (signed >> Long.numberOfTrailingZeros(8 * size))
                            * size;
                    Reg base = b.reg(8);
                    int disp = b.random.nextInt(256) - 128;
                    b.setFull(base.number(), b.pointer(operandAddress - disp));
                    b.note(String.format("bit offset %d reaches data+%#x", signed, target));
                    b.setData(target, size, b.value(size));
                    b.undefinedFlags(Flags.OF | Flags.SF | Flags.AF | Flags.PF);
                    return b.encoder(size).operandSize(size).opcode(0x0F, opcode)
                            .modrm(offset, new Mem(base.number(), Mem.NONE, 1, disp, 1)).bytes();
                }));
            }
        }
    }

    /**
     * BSF (0F BC /r), BSR (0F BD /r): ZF := source is 0; CF OF SF AF PF undefined; a zero source leaves the
     * destination undefined (SDM Vol. 2A, BSF and BSR).
     */
    private static void bitScan(List<InstructionForm> forms) {
        for (String n : new String[] {"BSF", "BSR"}) {
            int opcode = n.equals("BSF") ? 0xBC : 0xBD;
            for (int size : WIDE_SIZES) {
                for (boolean memory : BOTH) {
                    forms.add(of(name(n, r(size), rm(size), sdm(size, "0F " + hex(opcode) + " /r"), memory), b -> {
                        Reg dst = b.reg(size);
                        b.set(dst, b.value(size));
                        long source = scanSource(b, size);
                        Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, opcode);
                        if (memory) {
                            e.modrm(dst, b.mem(size));
                            b.setMem(size, source);
                        } else {
                            Reg src = b.reg(size);
                            b.set(src, source);
                            e.modrm(dst, src);
                        }
                        b.undefinedFlags(Flags.CF | Flags.OF | Flags.SF | Flags.AF | Flags.PF);
                        if (source == 0) {
                            b.undefinedResult(dst);
                        }
                        return e.bytes();
                    }));
                }
            }
        }
    }

    /**
     * POPCNT (F3 0F B8 /r): OF SF ZF AF CF PF cleared, then ZF := source is 0 (all defined). LZCNT (F3 0F BD /r)
     * and TZCNT (F3 0F BC /r): CF := source is 0, ZF := result is 0, OF SF PF AF undefined (SDM Vol. 2B, POPCNT;
     * Vol. 2A, LZCNT; Vol. 2B, TZCNT). Without their CPUID bits, F3 0F BD / F3 0F BC are BSR / BSF.
     */
    private static void counts(List<InstructionForm> forms) {
        String[] names = {"POPCNT", "LZCNT", "TZCNT"};
        int[] opcodes = {0xB8, 0xBD, 0xBC};
        Feature[] features = {Feature.POPCNT, Feature.LZCNT, Feature.BMI1};
        for (int i = 0; i < names.length; i++) {
            int opcode = opcodes[i];
            boolean popcnt = i == 0;
            for (int size : WIDE_SIZES) {
                for (boolean memory : BOTH) {
                    forms.add(of(name(names[i], r(size), rm(size), sdm(size, "F3 0F " + hex(opcode) + " /r"), memory),
                            features[i], b -> {
                        Reg dst = b.reg(size);
                        b.set(dst, b.value(size));
                        long source = scanSource(b, size);
                        Encoder e = new Encoder().operandSize(size).prefix(0xF3).opcode(0x0F, opcode);
                        if (memory) {
                            e.modrm(dst, b.mem(size));
                            b.setMem(size, source);
                        } else {
                            Reg src = b.regOrSame(size, dst);
                            b.set(src, source);
                            e.modrm(dst, src);
                        }
                        if (!popcnt) {
                            b.undefinedFlags(Flags.OF | Flags.SF | Flags.PF | Flags.AF);
                        }
                        return e.bytes();
                    }));
                }
            }
        }
    }

    /** BSWAP (0F C8+rd): reverses the bytes of a 32- or 64-bit register; 16-bit operands are undefined (not run). */
    private static void byteSwap(List<InstructionForm> forms) {
        for (int size : new int[] {4, 8}) {
            forms.add(of("BSWAP " + r(size) + " (" + sdm(size, "0F C8+rd") + ")", b -> {
                Reg r = b.reg(size);
                b.set(r, b.value(size));
                return b.encoder(size).operandSize(size).opcode(0x0F).opcodePlusRegister(0xC8, r).bytes();
            }));
        }
    }

    // ---- BMI1 and BMI2: VEX.LZ (L = 0), W0 for 32-bit and W1 for 64-bit operands ------------------------------------

    private static final int MAP_0F38 = 2, MAP_0F3A = 3;
    private static final int PP_NONE = 0, PP_66 = 1, PP_F3 = 2, PP_F2 = 3;
    private static final String[] PP_TEXT = {"", "66.", "F3.", "F2."};

    /** Operand roles of a VEX form: which of ModRM.reg, VEX.vvvv and ModRM.r/m are destination and sources. */
    private enum Layout {
        /** dst = ModRM.reg, src1 = VEX.vvvv, src2 = r/m (ANDN, PDEP, PEXT, MULX: high = reg, low = vvvv). */
        REG_VVVV_RM,
        /** dst = ModRM.reg, src1 = r/m, src2 = VEX.vvvv (BEXTR, BZHI, SARX, SHLX, SHRX). */
        REG_RM_VVVV,
        /** dst = VEX.vvvv, src = r/m, ModRM.reg an opcode extension (BLSI /3, BLSMSK /2, BLSR /1). */
        VVVV_RM,
        /** dst = ModRM.reg, src = r/m, imm8 (RORX). */
        REG_RM_IMM8
    }

    /** What the generator adds to a VEX form: choice of values, and the flags the SDM leaves undefined. */
    private interface VexCase {
        /** Called with the registers and values in place; {@code vvvvValue} etc. can still be overridden here. */
        void adjust(CaseBuilder b, int size, Reg second);
    }

    private static void vexForm(List<InstructionForm> forms, Feature feature, String mnemonic, String operands,
                                int pp, int map, int opcode, int digit, Layout layout, VexCase adjust) {
        for (int size : new int[] {4, 8}) {
            String w = size == 8 ? "W1" : "W0";
            String opcodeText = "VEX.LZ." + PP_TEXT[pp] + (map == MAP_0F38 ? "0F38." : "0F3A.") + w + " "
                    + hex(opcode) + (digit >= 0 ? " /" + digit : " /r") + (layout == Layout.REG_RM_IMM8 ? " ib" : "");
            for (boolean memory : BOTH) {
                String ops = operands.replace("32", String.valueOf(8 * size));
                forms.add(of(mnemonic + " " + ops + " (" + opcodeText + "), " + (memory ? "memory" : "register"),
                        feature, b -> {
                    if (mnemonic.equals("MULX")) {
                        b.set(b.fixed(2, size), b.value(size)); // the implicit source EDX/RDX
                    }
                    Mem m = memory ? b.mem(size) : null;
                    Reg reg = layout == Layout.VVVV_RM ? null : b.reg(size);
                    Reg vvvv = layout == Layout.REG_RM_IMM8 ? null : reg == null ? b.reg(size) : b.regOrSame(size, reg);
                    Reg rm = memory ? null : b.regOrSame(size, vvvv != null ? vvvv : reg);
                    for (Reg r : new Reg[] {reg, vvvv, rm}) {
                        if (r != null) {
                            b.set(r, b.value(size));
                        }
                    }
                    if (memory) {
                        b.setMem(size, b.value(size));
                    }
                    adjust.adjust(b, size, vvvv);
                    Encoder e = new Encoder().vex(map, pp, size == 8, vvvv == null ? 0 : vvvv.number()).opcode(opcode);
                    int regField = layout == Layout.VVVV_RM ? digit : reg.number();
                    if (memory) {
                        e.modrm(regField, m);
                    } else {
                        e.modrm(regField, rm);
                    }
                    if (layout == Layout.REG_RM_IMM8) {
                        e.imm(b.random.nextInt(256), 1);
                    }
                    return e.bytes();
                }));
            }
        }
    }

    /** A count or index operand in VEX.vvvv: usually small (0-70) in the low byte, the other bits random. */
    private static VexCase smallLowByte(long undefined) {
        return (b, size, second) -> {
            if (b.random.nextBoolean()) {
                b.set(new Reg(second.number(), 1, false), b.random.nextInt(71));
            }
            b.undefinedFlags(undefined);
        };
    }

    /**
     * BMI1 (CPUID.(EAX=07H, ECX=0):EBX[bit 3]). ANDN: SF ZF from the result, OF CF cleared, AF PF undefined. BEXTR
     * (control: start in bits 7:0, length in 15:8 of VEX.vvvv): ZF from the result, CF OF cleared, AF SF PF undefined.
     * BLSI: ZF SF from the result, CF := source is not 0, OF cleared. BLSMSK: SF from the result, CF := source is 0,
     * ZF OF cleared. BLSR: ZF SF from the result, CF := source is 0, OF cleared. BLS*: AF PF undefined. (SDM Vol. 2A,
     * each page.)
     */
    private static void bmi1(List<InstructionForm> forms) {
        long afPf = Flags.AF | Flags.PF;
        vexForm(forms, Feature.BMI1, "ANDN", "r32a, r32b, r/m32", PP_NONE, MAP_0F38, 0xF2, -1, Layout.REG_VVVV_RM,
                (b, size, second) -> b.undefinedFlags(afPf));
        vexForm(forms, Feature.BMI1, "BEXTR", "r32a, r/m32, r32b", PP_NONE, MAP_0F38, 0xF7, -1, Layout.REG_RM_VVVV,
                (b, size, control) -> {
                    if (b.random.nextBoolean()) {
                        b.set(new Reg(control.number(), 2, false), b.random.nextInt(71) | b.random.nextInt(71) << 8);
                    }
                    b.undefinedFlags(Flags.AF | Flags.SF | Flags.PF);
                });
        vexForm(forms, Feature.BMI1, "BLSI", "r32, r/m32", PP_NONE, MAP_0F38, 0xF3, 3, Layout.VVVV_RM,
                (b, size, second) -> b.undefinedFlags(afPf));
        vexForm(forms, Feature.BMI1, "BLSMSK", "r32, r/m32", PP_NONE, MAP_0F38, 0xF3, 2, Layout.VVVV_RM,
                (b, size, second) -> b.undefinedFlags(afPf));
        vexForm(forms, Feature.BMI1, "BLSR", "r32, r/m32", PP_NONE, MAP_0F38, 0xF3, 1, Layout.VVVV_RM,
                (b, size, second) -> b.undefinedFlags(afPf));
    }

    /**
     * BMI2 (CPUID.(EAX=07H, ECX=0):EBX[bit 8]). BZHI (index in bits 7:0 of VEX.vvvv): ZF SF from the result, CF :=
     * index > operand size - 1, OF cleared, AF PF undefined. PDEP PEXT RORX SARX SHLX SHRX MULX change no flag (SDM
     * Vol. 2A/2B, each page). MULX: high half to ModRM.reg, low half to VEX.vvvv, source EDX/RDX times r/m (the same
     * register for both halves gets the high half, as the SDM says).
     */
    private static void bmi2(List<InstructionForm> forms) {
        vexForm(forms, Feature.BMI2, "BZHI", "r32a, r/m32, r32b", PP_NONE, MAP_0F38, 0xF5, -1, Layout.REG_RM_VVVV,
                smallLowByte(Flags.AF | Flags.PF));
        vexForm(forms, Feature.BMI2, "PDEP", "r32a, r32b, r/m32", PP_F2, MAP_0F38, 0xF5, -1, Layout.REG_VVVV_RM,
                (b, size, second) -> { });
        vexForm(forms, Feature.BMI2, "PEXT", "r32a, r32b, r/m32", PP_F3, MAP_0F38, 0xF5, -1, Layout.REG_VVVV_RM,
                (b, size, second) -> { });
        vexForm(forms, Feature.BMI2, "RORX", "r32, r/m32, imm8", PP_F2, MAP_0F3A, 0xF0, -1, Layout.REG_RM_IMM8,
                (b, size, second) -> { });
        vexForm(forms, Feature.BMI2, "SARX", "r32a, r/m32, r32b", PP_F3, MAP_0F38, 0xF7, -1, Layout.REG_RM_VVVV,
                smallLowByte(0));
        vexForm(forms, Feature.BMI2, "SHLX", "r32a, r/m32, r32b", PP_66, MAP_0F38, 0xF7, -1, Layout.REG_RM_VVVV,
                smallLowByte(0));
        vexForm(forms, Feature.BMI2, "SHRX", "r32a, r/m32, r32b", PP_F2, MAP_0F38, 0xF7, -1, Layout.REG_RM_VVVV,
                smallLowByte(0));
        vexForm(forms, Feature.BMI2, "MULX", "r32a, r32b, r/m32", PP_F2, MAP_0F38, 0xF6, -1, Layout.REG_VVVV_RM,
                (b, size, second) -> { });
    }
}
