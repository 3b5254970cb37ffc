package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.InstructionForm.compatibility;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;

import java.util.List;
import java.util.regex.Pattern;

/**
 * 32-bit code (compatibility mode): the instructions that exist only outside 64-bit mode (Table A-2's "i64"
 * entries: DAA DAS AAA AAS AAM AAD, SALC, BOUND, ARPL, PUSHA/POPA, the one-byte INC/DEC 40-4F, INTO; the stack and
 * segment ones are with their groups), and the forms of the other groups again as 32-bit code, where the default
 * operand and address size is 32 bits and there is no REX.
 */
final class CompatibilityForms {
    private CompatibilityForms() {
    }

    private static final int RAX = 0;

    /**
     * The 64-bit forms that are the same instruction in 32-bit code: none with a 64-bit operand (REX.W), none of LEA's
     * 64-bit address arithmetic, MOVSXD or RDFSBASE (64-bit mode only), none with a 67H 32-bit address (16-bit
     * there), no FS or GS override (null segments in 32-bit code here), no moffs (its size is the address size).
     */
    private static final Pattern ONLY_64 = Pattern.compile(
            "r64|r/m64|REX\\.W|RAX|^LEA|^MOVSXD|32-bit address|BASE|^FS: |^GS: |moffs");

    /** The compatibility-mode twins of the 64-bit forms of {@code forms} that exist in 32-bit code. */
    static void twinsOf(List<InstructionForm> forms, List<InstructionForm> into) {
        for (InstructionForm f : forms) {
            if (f.mode() == InstructionForm.Mode.LONG_64 && !ONLY_64.matcher(f.name()).find()) {
                into.add(f.inCompatibilityMode());
            }
        }
    }

    static void addTo(List<InstructionForm> forms) {
        decimalArithmetic(forms);
        forms.add(compatibility("SALC (D6)", b -> new Encoder(true).opcode(0xD6).bytes()));
        bound(forms);
        adjustRpl(forms);
        pushPopAll(forms);
        incDec(forms);
        group1Alias(forms);
        loadEffectiveAddress(forms);
        forms.add(compatibility("INTO (CE), OF = 0", b -> {
            b.input.rflags &= ~Flags.OF;
            return new Encoder(true).opcode(0xCE).bytes();
        }));
    }

    /**
     * DAA (27), DAS (2F): AL adjusted after a packed-BCD add/subtract; CF and AF from the adjustment, SF ZF PF from
     * the result, OF undefined. AAA (37), AAS (3F): AL (and AH) after an unpacked-BCD add/subtract; CF = AF = the
     * adjustment, OF SF ZF PF undefined. AAM ib (D4): AH := AL / ib, AL := AL MOD ib; AAD ib (D5): AL := AL + AH * ib,
     * AH := 0; both SF ZF PF from AL, OF AF CF undefined; AAM with 0 is #DE, not run natively (SDM Vol. 2A, each page).
     */
    private static void decimalArithmetic(List<InstructionForm> forms) {
        String[] names = {"DAA", "DAS", "AAA", "AAS"};
        int[] opcodes = {0x27, 0x2F, 0x37, 0x3F};
        for (int k = 0; k < 4; k++) {
            int opcode = opcodes[k];
            boolean packed = k < 2;
            forms.add(compatibility(names[k] + " (" + FormNames.hex(opcode) + ")", b -> {
                // packed BCD digits half of the time, anything else otherwise
                int al = b.random.nextBoolean() ? b.random.nextInt(10) << 4 | b.random.nextInt(10) : b.random.nextInt(256);
                b.set(new Reg(RAX, 1, false), al);
                b.undefinedFlags(packed ? Flags.OF : Flags.OF | Flags.SF | Flags.ZF | Flags.PF);
                return new Encoder(true).opcode(opcode).bytes();
            }));
        }
        for (int opcode : new int[] {0xD4, 0xD5}) {
            String name = opcode == 0xD4 ? "AAM" : "AAD";
            forms.add(compatibility(name + " imm8 (" + FormNames.hex(opcode) + " ib)", b -> {
                int base = b.random.nextBoolean() ? 10 : 1 + b.random.nextInt(255);
                b.undefinedFlags(Flags.OF | Flags.AF | Flags.CF);
                b.note("base " + base);
                return new Encoder(true).opcode(opcode).imm(base, 1).bytes();
            }));
        }
    }

    /**
     * BOUND r16, m16&16 (66 62 /r) and r32, m32&32 (62 /r): #BR unless lower <= index <= upper, signed (SDM Vol. 2A
     * BOUND). Only indexes within the bounds run natively (#BR is a signal); the guest tests check #BR.
     */
    private static void bound(List<InstructionForm> forms) {
        for (int size : new int[] {2, 4}) {
            forms.add(compatibility("BOUND r" + 8 * size + ", m" + 8 * size + "&" + 8 * size + " ("
                    + (size == 2 ? "66 " : "") + "62 /r), memory", b -> {
                Reg index = b.reg(size);
                Mem m = b.mem(2 * size);
                long a = b.value(size) << (64 - 8 * size) >> (64 - 8 * size);
                long c = b.value(size) << (64 - 8 * size) >> (64 - 8 * size);
                long lower = Math.min(a, c), upper = Math.max(a, c);
                long value = switch (b.random.nextInt(4)) {
                    case 0 -> lower;
                    case 1 -> upper;
                    default -> lower + (long) (b.random.nextDouble() * (upper - lower));
                };
                b.setData(b.memoryOffset(), size, lower);
                b.setData(b.memoryOffset() + size, size, upper);
                b.set(index, value);
                Encoder e = new Encoder(true);
                if (size == 2) {
                    e.prefix(0x66);
                }
                return e.opcode(0x62).modrm(index, m).bytes();
            }));
        }
    }

    /**
     * ARPL r/m16, r16 (63 /r; 64-bit mode has MOVSXD there): if the destination's RPL is below the source's, it is
     * raised to it and ZF := 1, else ZF := 0 (SDM Vol. 2A ARPL). Runs at CPL 3.
     */
    private static void adjustRpl(List<InstructionForm> forms) {
        for (boolean memory : FormNames.BOTH) {
            forms.add(compatibility(FormNames.name("ARPL", "r/m16", "r16", "63 /r", memory), b -> {
                Reg src = b.reg(2);
                b.set(src, b.value(2));
                Encoder e = new Encoder(true).opcode(0x63);
                if (memory) {
                    e.modrm(src, b.mem(2));
                    b.setMem(2, b.value(2));
                } else {
                    Reg dst = b.reg(2);
                    b.set(dst, b.value(2));
                    e.modrm(src, dst);
                }
                return e.bytes();
            }));
        }
    }

    /**
     * PUSHA/PUSHAD (60): AX/EAX CX DX BX, the SP before, BP SI DI; POPA/POPAD (61): the reverse, the SP slot skipped
     * (SDM Vol. 2B PUSHA, POPA).
     */
    private static void pushPopAll(List<InstructionForm> forms) {
        for (int size : new int[] {2, 4}) {
            String prefix = size == 2 ? "66 " : "";
            forms.add(compatibility((size == 2 ? "PUSHA" : "PUSHAD") + " (" + prefix + "60)", b ->
                    operandSize(size).opcode(0x60).bytes()));
            forms.add(compatibility((size == 2 ? "POPA" : "POPAD") + " (" + prefix + "61)", b ->
                    operandSize(size).opcode(0x61).bytes()));
        }
    }

    private static Encoder operandSize(int size) {
        Encoder e = new Encoder(true);
        if (size == 2) {
            e.prefix(0x66);
        }
        return e;
    }

    /** INC r16/r32 (40+rw/rd), DEC (48+rw/rd): the one-byte forms, REX prefixes in 64-bit mode; CF unchanged. */
    private static void incDec(List<InstructionForm> forms) {
        for (int size : new int[] {2, 4}) {
            String prefix = size == 2 ? "66 " : "";
            for (int base : new int[] {0x40, 0x48}) {
                String name = (base == 0x40 ? "INC" : "DEC") + " r" + 8 * size + " (" + prefix
                        + FormNames.hex(base) + "+r" + (size == 2 ? "w" : "d") + ")";
                forms.add(compatibility(name, b -> {
                    Reg r = b.reg(size);
                    b.set(r, b.value(size));
                    return operandSize(size).opcodePlusRegister(base, r).bytes();
                }));
            }
        }
    }

    /**
     * LEA (8D /r) in 32-bit code: with 32-bit addressing (ModRM and SIB forms, SDM Vol. 2A, Table 2-2 and 2-3) and,
     * with 67H, 16-bit addressing (Table 2-1: [BX+SI] ... [BX], disp16 alone, disp8 and disp16 added, the sum taken
     * modulo 64 Ki), which no other form here can reach natively: LEA computes the address without accessing it. The
     * result is truncated or zero-extended to the operand size (SDM Vol. 2A LEA, Table 3-53).
     */
    private static void loadEffectiveAddress(List<InstructionForm> forms) {
        for (int size : new int[] {2, 4}) {
            for (int mod = 0; mod < 3; mod++) {
                int m = mod;
                forms.add(compatibility("LEA r" + 8 * size + ", m (" + (size == 2 ? "66 " : "") + "67 8D /r), "
                        + "16-bit addressing, mod " + mod, b -> {
                    Reg dst = b.reg(size);
                    int rm = b.random.nextInt(8);
                    for (int r : new int[] {3, 5, 6, 7}) { // BX BP SI DI: the 16-bit bases and indexes
                        b.setFull(r, b.random.nextBoolean() ? b.value(4) : b.random.nextLong());
                    }
                    Encoder e = new Encoder(true);
                    if (size == 2) {
                        e.prefix(0x66);
                    }
                    e.prefix(0x67).opcode(0x8D, m << 6 | (dst.number() & 7) << 3 | rm);
                    int dispBytes = m == 1 ? 1 : m == 2 || (m == 0 && rm == 6) ? 2 : 0;
                    b.note(String.format("mod %d rm %d", m, rm));
                    return e.imm(b.random.nextLong(), dispBytes).bytes();
                }));
            }
            forms.add(compatibility("LEA r" + 8 * size + ", m (" + (size == 2 ? "66 " : "") + "8D /r), 32-bit "
                    + "addressing", b -> {
                Reg dst = b.reg(size);
                int base = b.random.nextInt(9) - 1; // -1: no base
                int index = b.random.nextInt(3) == 0 ? Mem.NONE : b.random.nextInt(8);
                if (index == 4) {
                    index = Mem.NONE;
                }
                if (base == 4) {
                    base = 3; // RSP is the stack pointer of the case: EBX instead
                }
                int dispBytes = base < 0 ? 4 : new int[] {0, 1, 4}[b.random.nextInt(3)];
                long disp = dispBytes == 1 ? b.random.nextInt(256) - 128 : (int) b.value(4);
                for (int r = 0; r < 8; r++) {
                    if (r != 4 && r != dst.number()) {
                        b.setFull(r, b.random.nextLong());
                    }
                }
                int scale = 1 << b.random.nextInt(4);
                return new Encoder(true).operandSize(size).opcode(0x8D).modrm(dst.number(),
                        new Mem(base < 0 ? Mem.NONE : base, index, scale, disp, dispBytes)).bytes();
            }));
        }
    }

    /**
     * 82 /digit ib: the group-1 operations on r/m8 with an 8-bit immediate, an alias of 80 that exists only outside
     * 64-bit mode (SDM Vol. 2D, Table, "i64"). Flags as for 80.
     */
    private static void group1Alias(List<InstructionForm> forms) {
        String[] names = {"ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"};
        for (int digit = 0; digit < 8; digit++) {
            int d = digit;
            for (boolean memory : FormNames.BOTH) {
                forms.add(compatibility(FormNames.name(names[digit], "r/m8", "imm8", "82 /" + digit + " ib", memory),
                        b -> {
                    Encoder e = b.encoder(1).opcode(0x82);
                    ArithmeticForms.unaryOperand(b, e, d, 1, memory);
                    if (d == 1 || d == 4 || d == 6) {
                        b.undefinedFlags(Flags.AF); // OR AND XOR
                    }
                    return e.imm(b.value(1), 1).bytes();
                }));
            }
        }
    }
}
