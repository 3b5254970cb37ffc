package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.InstructionForm.of;
import static io.jvmx.vmx.emulated.differential.X87Input.ALL_CONDITIONS;
import static io.jvmx.vmx.emulated.differential.X87Input.C0_C2_C3;
import static io.jvmx.vmx.emulated.differential.X87Input.C1;
import static io.jvmx.vmx.emulated.differential.X87Input.C2;
import static io.jvmx.vmx.emulated.differential.X87Input.v;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;

import java.util.List;

/**
 * The x87 FPU instructions (SDM Vol. 2, the F pages; opcode map Vol. 2D, A.5) in every form, with FWAIT, FXSAVE and
 * FXRSTOR: each case starts from a random x87 state ({@link X87Input}) and compares the whole state after it. The
 * condition codes an instruction page calls undefined are compared only where undefined results are.
 *
 * <p>Not testable natively: a pending unmasked exception at a waiting instruction (#MF) and #NM, which are faults
 * that would kill the JVM; they are tested on the software processor alone (vmx.X87SystemTest).
 */
final class X87Forms {
    private X87Forms() {
    }

    private static final String[] ARITHMETIC = {"FADD", "FMUL", "FCOM", "FCOMP", "FSUB", "FSUBR", "FDIV", "FDIVR"};

    /** The x87 forms run ten times the cases of the others: their inputs are many more (values, modes, masks). */
    static final int CASES_FACTOR = 10;

    static void addTo(List<InstructionForm> all) {
        List<InstructionForm> forms = new java.util.ArrayList<>();
        arithmetic(forms);
        loads(forms);
        stores(forms);
        compares(forms);
        registerOperations(forms);
        functions(forms);
        control(forms);
        images(forms);
        compiledCode(forms);
        for (InstructionForm f : forms) {
            all.add(f.times(CASES_FACTOR));
        }
    }

    // ============================================================================================ arithmetic

    /**
     * FADD FMUL FSUB FSUBR FDIV FDIVR with m32fp (D8), m64fp (DC), m32int (DA), m16int (DE), ST(0) op ST(i) (D8),
     * ST(i) op ST(0) (DC) and the popping forms (DE) (Vol. 2A): C1 is defined, C0 C2 C3 are not.
     */
    private static void arithmetic(List<InstructionForm> forms) {
        for (int k : new int[] {0, 1, 4, 5, 6, 7}) {
            String n = ARITHMETIC[k];
            String in = "FI" + n.substring(1);
            forms.add(of(n + " m32fp (D8 /" + k + "), memory", b -> memoryOperation(b, 0xD8, k, 4)));
            forms.add(of(n + " m64fp (DC /" + k + "), memory", b -> memoryOperation(b, 0xDC, k, 8)));
            forms.add(of(in + " m32int (DA /" + k + "), memory", b -> memoryOperation(b, 0xDA, k, -4)));
            forms.add(of(in + " m16int (DE /" + k + "), memory", b -> memoryOperation(b, 0xDE, k, -2)));
            forms.add(of(n + " ST(0), ST(i) (D8 " + String.format("%02X", 0xC0 + 8 * k) + "+i), register",
                    b -> registerOperation(b, 0xD8, 0xC0 + 8 * k)));
            // DC and DE: the reversed operations trade places (DC E0+i is FSUBR ST(i), ST(0))
            int dc = 0xC0 + 8 * (k >= 4 ? k ^ 1 : k);
            forms.add(of(n + " ST(i), ST(0) (DC " + String.format("%02X", dc) + "+i), register",
                    b -> registerOperation(b, 0xDC, dc)));
            forms.add(of(n + "P ST(i), ST(0) (DE " + String.format("%02X", dc) + "+i), register",
                    b -> registerOperation(b, 0xDE, dc)));
        }
    }

    /** An operation of ST(0) with a memory operand: m32fp (4), m64fp (8), m32int (-4) or m16int (-2). */
    private static byte[] memoryOperation(CaseBuilder b, int escape, int digit, int kind) {
        X87Input x = new X87Input(b);
        x.operand(0);
        Mem m = memoryOperand(b, x, kind);
        if (digit == 2 || digit == 3) {
            long value = b.getMem(Math.abs(kind));
            boolean nan = kind == 4 ? (value & 0x7F80_0000L) == 0x7F80_0000L && (value & 0x7F_FFFFL) != 0
                    : kind == 8 && (value & 0x7FF0_0000_0000_0000L) == 0x7FF0_0000_0000_0000L
                    && (value & 0xF_FFFF_FFFF_FFFFL) != 0;
            boolean denormal = kind == 4 ? (value & 0x7F80_0000L) == 0 && (value & 0x7F_FFFFL) != 0
                    : kind == 8 && (value & 0x7FF0_0000_0000_0000L) == 0 && (value & 0xF_FFFF_FFFF_FFFFL) != 0;
            unmaskedCompareException(b, x, X87Input.nanOrUnsupported(x.get(0)) || nan,
                    X87Input.denormal(x.get(0)) || denormal, x.isFull(0), false);
        } else {
            b.undefinedX87Status(C0_C2_C3);
        }
        return new Encoder().opcode(escape).modrm(digit, m).bytes();
    }

    /**
     * A compare that raises an unmasked IE (a NaN or unsupported operand, or an empty register) or DE (a denormal
     * operand): the SDM says the condition codes (FCOMI: ZF PF CF) are not set then (Vol. 2A FCOM, FUCOM, FCOMI,
     * Tables 3-21, 3-41, 3-22; Vol. 1, 8.5.2: with an unmasked #D the operation is not performed); this AMD
     * processor sets them to the comparison's result ("unordered" for IE), though it does not pop. Compared on an
     * Intel processor only.
     */
    private static void unmaskedCompareException(CaseBuilder b, X87Input x, boolean invalidOperand,
                                                 boolean denormalOperand, boolean full, boolean eflags) {
        if ((!x.masked(1) && (invalidOperand || !full)) || (!x.masked(2) && denormalOperand)) {
            if (eflags) {
                b.intelOnlyFlags(Flags.ZF | Flags.PF | Flags.CF);
            } else {
                b.intelOnlyX87Status(C0_C2_C3);
            }
        }
    }

    /** The memory operand of {@link #memoryOperation}, chosen after ST(0) and often near its value. */
    private static Mem memoryOperand(CaseBuilder b, X87Input x, int kind) {
        long[] st0 = x.get(0);
        Mem m = b.mem(Math.abs(kind));
        switch (kind) {
            case 4: b.setMem(4, x.r.nextBoolean() ? single(x.related(st0), x) : x.single()); break;
            case 8: b.setMem(8, x.r.nextBoolean() ? dbl(x.related(st0), x) : x.dbl()); break;
            default: b.setMem(-kind, b.value(-kind)); break;
        }
        return m;
    }

    /** An operation of ST(0) and ST(i), the second value often near the first. */
    private static byte[] registerOperation(CaseBuilder b, int escape, int base) {
        X87Input x = new X87Input(b);
        int i = x.r.nextInt(8);
        x.operand(0);
        x.operand(i);
        if (i != 0) {
            x.set(i, x.related(x.get(0)));
        }
        b.note("ST(" + i + ")");
        b.undefinedX87Status(C0_C2_C3);
        return new byte[] {(byte) escape, (byte) (base + i)};
    }

    /** {@code v} truncated to single precision if it fits (keeping its specials), else a random single. */
    private static int single(long[] v, X87Input x) {
        int se = (int) v[0];
        int e = (se & 0x7FFF) - 16383;
        int sign = (se & 0x8000) << 16;
        if (v[1] < 0 && e >= -126 && e <= 127) {
            return sign | (e + 127) << 23 | (int) (v[1] >>> 40) & 0x7F_FFFF;
        }
        return x.single();
    }

    private static long dbl(long[] v, X87Input x) {
        int se = (int) v[0];
        int e = (se & 0x7FFF) - 16383;
        long sign = (long) (se & 0x8000) << 48;
        if (v[1] < 0 && e >= -1022 && e <= 1023) {
            return sign | (long) (e + 1023) << 52 | (v[1] >>> 11) & 0xF_FFFF_FFFF_FFFFL;
        }
        return x.dbl();
    }

    // ================================================================================================= loads

    /** FLD, FILD, FBLD and the constants (Vol. 2A): push; C1 is 1 on stack overflow, else 0; C0 C2 C3 undefined. */
    private static void loads(List<InstructionForm> forms) {
        forms.add(of("FLD m32fp (D9 /0), memory", b -> load(b, 0xD9, 0, 4, x -> x.single())));
        forms.add(of("FLD m64fp (DD /0), memory", b -> load(b, 0xDD, 0, 8, X87Input::dbl)));
        forms.add(of("FLD m80fp (DB /5), memory", b -> load(b, 0xDB, 5, 10, null)));
        forms.add(of("FILD m16int (DF /0), memory", b -> load(b, 0xDF, 0, 2, x -> b.value(2))));
        forms.add(of("FILD m32int (DB /0), memory", b -> load(b, 0xDB, 0, 4, x -> b.value(4))));
        forms.add(of("FILD m64int (DF /5), memory", b -> load(b, 0xDF, 5, 8, x -> b.value(8))));
        forms.add(of("FBLD m80bcd (DF /4), memory", b -> load(b, 0xDF, 4, -10, null)));
        forms.add(of("FLD ST(i) (D9 C0+i), register", b -> {
            X87Input x = new X87Input(b);
            int i = x.r.nextInt(8);
            x.push();
            x.operand(i);
            b.note("ST(" + i + ")");
            b.undefinedX87Status(C0_C2_C3);
            return new byte[] {(byte) 0xD9, (byte) (0xC0 + i)};
        }));
        String[] constants = {"FLD1", "FLDL2T", "FLDL2E", "FLDPI", "FLDLG2", "FLDLN2", "FLDZ"};
        for (int k = 0; k < constants.length; k++) {
            int second = 0xE8 + k;
            forms.add(of(constants[k] + " (D9 " + String.format("%02X", second) + "), register", b -> {
                X87Input x = new X87Input(b);
                x.push();
                b.undefinedX87Status(C0_C2_C3);
                return new byte[] {(byte) 0xD9, (byte) second};
            }));
        }
    }

    private interface Value {
        long of(X87Input x);
    }

    /** A load of {@code size} bytes (-10: packed BCD) from memory, its value from {@code value}. */
    private static byte[] load(CaseBuilder b, int escape, int digit, int size, Value value) {
        X87Input x = new X87Input(b);
        x.push();
        Mem m = b.mem(Math.abs(size));
        if (size == 10) {
            long[] v = x.value();
            b.setData(offset(b), 8, v[1]);
            b.setData(offset(b) + 8, 2, v[0]);
        } else if (size == -10) {
            // valid digits, and sometimes nibbles above 9: the SDM leaves such values undefined; the processor
            // weights them by their position like digits (as X87Ops.bcdValue)
            boolean invalid = x.r.nextInt(8) == 0;
            long digits = 0;
            for (int d = 0; d < 16; d++) {
                digits |= (long) x.r.nextInt(invalid ? 16 : 10) << (4 * d);
            }
            b.setData(offset(b), 8, x.r.nextInt(4) == 0 ? digits >>> (4 * x.r.nextInt(16)) : digits);
            b.setData(offset(b) + 8, 2, x.r.nextInt(100) / 10 << 4 | x.r.nextInt(10) | (x.r.nextBoolean() ? 0x8000
                    : 0));
        } else {
            b.setMem(size, value.of(x));
        }
        if ((escape == 0xD9 || escape == 0xDD) && digit == 0 && !x.masked(2)) {
            long v = b.getMem(size);
            boolean denormal = size == 4 ? (v & 0x7F80_0000L) == 0 && (v & 0x7F_FFFFL) != 0
                    : (v & 0x7FF0_0000_0000_0000L) == 0 && (v & 0xF_FFFF_FFFF_FFFFL) != 0;
            if (denormal) {
                // a denormal with DE unmasked: the SDM loads nothing (TOP and the registers unchanged, Vol. 1,
                // 8.5.2); this AMD processor loads the value anyway
                b.intelOnlyX87State();
            }
        }
        b.undefinedX87Status(C0_C2_C3);
        return new Encoder().opcode(escape).modrm(digit, m).bytes();
    }

    /** The data-page offset of the memory operand {@link CaseBuilder#mem} chose last. */
    private static int offset(CaseBuilder b) {
        return b.memoryOffset();
    }

    // ================================================================================================ stores

    /**
     * FST/FSTP m32fp m64fp m80fp, FIST/FISTP m16int m32int m64int, FISTTP (SSE3), FBSTP, FST/FSTP ST(i) and the
     * aliases FSTP1 FSTP8 FSTP9 (Vol. 2A): C1 is defined, C0 C2 C3 are not.
     */
    private static void stores(List<InstructionForm> forms) {
        forms.add(of("FST m32fp (D9 /2), memory", b -> store(b, 0xD9, 2, 4, false)));
        forms.add(of("FSTP m32fp (D9 /3), memory", b -> store(b, 0xD9, 3, 4, false)));
        forms.add(of("FST m64fp (DD /2), memory", b -> store(b, 0xDD, 2, 8, false)));
        forms.add(of("FSTP m64fp (DD /3), memory", b -> store(b, 0xDD, 3, 8, false)));
        forms.add(of("FSTP m80fp (DB /7), memory", b -> store(b, 0xDB, 7, 10, false)));
        forms.add(of("FIST m16int (DF /2), memory", b -> store(b, 0xDF, 2, 2, true)));
        forms.add(of("FISTP m16int (DF /3), memory", b -> store(b, 0xDF, 3, 2, true)));
        forms.add(of("FIST m32int (DB /2), memory", b -> store(b, 0xDB, 2, 4, true)));
        forms.add(of("FISTP m32int (DB /3), memory", b -> store(b, 0xDB, 3, 4, true)));
        forms.add(of("FISTP m64int (DF /7), memory", b -> store(b, 0xDF, 7, 8, true)));
        forms.add(of("FISTTP m16int (DF /1), memory", HostCpu.Feature.SSE3, b -> store(b, 0xDF, 1, 2, true)));
        forms.add(of("FISTTP m32int (DB /1), memory", HostCpu.Feature.SSE3, b -> store(b, 0xDB, 1, 4, true)));
        forms.add(of("FISTTP m64int (DD /1), memory", HostCpu.Feature.SSE3, b -> store(b, 0xDD, 1, 8, true)));
        forms.add(of("FBSTP m80bcd (DF /6), memory", b -> store(b, 0xDF, 6, -10, true)));
        String[][] registerStores = {{"FST", "DD", "D0"}, {"FSTP", "DD", "D8"}, {"FSTP1", "D9", "D8"},
                {"FSTP8", "DF", "D0"}, {"FSTP9", "DF", "D8"}};
        for (String[] s : registerStores) {
            int escape = Integer.parseInt(s[1], 16), base = Integer.parseInt(s[2], 16);
            forms.add(of(s[0] + " ST(i) (" + s[1] + " " + s[2] + "+i), register", b -> {
                X87Input x = new X87Input(b);
                int i = x.r.nextInt(8);
                x.operand(0);
                b.note("ST(" + i + ")");
                b.undefinedX87Status(C0_C2_C3);
                return new byte[] {(byte) escape, (byte) (base + i)};
            }));
        }
    }

    /** A store of ST(0) to {@code size} bytes (-10: packed BCD); {@code integer}: values near integers too. */
    private static byte[] store(CaseBuilder b, int escape, int digit, int size, boolean integer) {
        X87Input x = new X87Input(b);
        x.operand(0);
        if (integer && x.r.nextInt(4) != 0) {
            x.set(0, nearInteger(x, size == -10 ? 60 : 8 * size));
        }
        Mem m = b.mem(Math.abs(size));
        b.undefinedX87Status(C0_C2_C3);
        return new Encoder().opcode(escape).modrm(digit, m).bytes();
    }

    /**
     * A value around an integer of up to {@code bits} bits, a range boundary ±2^(bits-1) among them, plus a fraction
     * of 0, 1/2 or random: the cases of rounding to an integer and of the integer range.
     */
    static long[] nearInteger(X87Input x, int bits) {
        int top = bits + x.r.nextInt(3) - 2;
        int e = x.r.nextInt(3) == 0 ? Math.max(0, top) : x.r.nextInt(Math.max(1, top + 1));
        long fraction = switch (x.r.nextInt(4)) {
            case 0 -> 0;
            case 1 -> Long.MIN_VALUE; // one half
            default -> x.r.nextLong();
        };
        long sig;
        if (e >= 63) {
            sig = Long.MIN_VALUE | (x.r.nextInt(3) == 0 ? 0 : x.r.nextLong());
        } else {
            long integer = x.r.nextInt(3) == 0 ? 1L << e : (1L << e) | (x.r.nextLong() & ((1L << e) - 1));
            sig = integer << (63 - e) | (fraction >>> (e + 1)); // the integer's top bit to bit 63, the fraction below
        }
        return v((x.r.nextBoolean() ? 0x8000 : 0) | 0x3FFF + e, sig);
    }

    // ============================================================================================== compares

    /**
     * FCOM FCOMP FCOMPP FUCOM FUCOMP FUCOMPP FICOM FICOMP FTST (C3 C2 C0, C1 = 0) and FCOMI FCOMIP FUCOMI FUCOMIP
     * (ZF PF CF, C1 = 0), with the aliases FCOM2 FCOMP3 FCOMP5 (Vol. 2A): every condition code is defined.
     */
    private static void compares(List<InstructionForm> forms) {
        for (int k = 2; k <= 3; k++) {
            String n = ARITHMETIC[k];
            String in = "FI" + n.substring(1);
            int digit = k;
            forms.add(of(n + " m32fp (D8 /" + k + "), memory", b -> memoryOperation(b, 0xD8, digit, 4)));
            forms.add(of(n + " m64fp (DC /" + k + "), memory", b -> memoryOperation(b, 0xDC, digit, 8)));
            forms.add(of(in + " m32int (DA /" + k + "), memory", b -> memoryOperation(b, 0xDA, digit, -4)));
            forms.add(of(in + " m16int (DE /" + k + "), memory", b -> memoryOperation(b, 0xDE, digit, -2)));
        }
        String[][] registerCompares = {{"FCOM", "D8", "D0", ""}, {"FCOMP", "D8", "D8", ""}, {"FUCOM", "DD", "E0", ""},
                {"FUCOMP", "DD", "E8", ""}, {"FCOM2", "DC", "D0", ""}, {"FCOMP3", "DC", "D8", ""},
                {"FCOMP5", "DE", "D0", ""}, {"FCOMI", "DB", "F0", "ST(0), "}, {"FUCOMI", "DB", "E8", "ST(0), "},
                {"FCOMIP", "DF", "F0", "ST(0), "}, {"FUCOMIP", "DF", "E8", "ST(0), "}};
        for (String[] s : registerCompares) {
            int escape = Integer.parseInt(s[1], 16), base = Integer.parseInt(s[2], 16);
            boolean eflags = !s[3].isEmpty();
            boolean ordered = !s[0].startsWith("FU");
            forms.add(of(s[0] + " " + s[3] + "ST(i) (" + s[1] + " " + s[2] + "+i), register", b -> {
                X87Input x = new X87Input(b);
                int i = x.r.nextInt(8);
                x.operand(0);
                x.operand(i);
                if (i != 0) {
                    x.set(i, x.related(x.get(0)));
                }
                b.note("ST(" + i + ")");
                compareOperands(b, x, 0, i, ordered, eflags);
                return new byte[] {(byte) escape, (byte) (base + i)};
            }));
        }
        forms.add(of("FCOMPP (DE D9), register", b -> pairCompare(b, 0xDE, 0xD9)));
        forms.add(of("FUCOMPP (DA E9), register", b -> pairCompare(b, 0xDA, 0xE9)));
        forms.add(of("FTST (D9 E4), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            unmaskedCompareException(b, x, X87Input.nanOrUnsupported(x.get(0)), X87Input.denormal(x.get(0)),
                    x.isFull(0), false);
            return new byte[] {(byte) 0xD9, (byte) 0xE4};
        }));
        forms.add(of("FXAM (D9 E5), register", b -> {
            X87Input x = new X87Input(b);
            if (x.r.nextInt(4) == 0) {
                x.empty(0);
            } else {
                x.full(0);
            }
            return new byte[] {(byte) 0xD9, (byte) 0xE5};
        }));
    }

    private static byte[] pairCompare(CaseBuilder b, int escape, int second) {
        X87Input x = new X87Input(b);
        x.operand(0);
        x.operand(1);
        x.set(1, x.related(x.get(0)));
        compareOperands(b, x, 0, 1, escape == 0xDE, false);
        return new byte[] {(byte) escape, (byte) second};
    }

    /**
     * The vendor-specific parts of a register compare of ST(i) and ST(j): an unmasked IE or DE (see
     * {@link #unmaskedCompareException}); and FCOMI's C1, which the SDM sets to 0 (Vol. 2A FCOMI, "FPU Flags
     * Affected") and this AMD processor leaves as it was.
     */
    private static void compareOperands(CaseBuilder b, X87Input x, int i, int j, boolean ordered, boolean eflags) {
        long[] a = x.get(i), c = x.get(j);
        boolean invalid = ordered ? X87Input.nanOrUnsupported(a) || X87Input.nanOrUnsupported(c)
                : X87Input.signalingOrUnsupported(a) || X87Input.signalingOrUnsupported(c);
        unmaskedCompareException(b, x, invalid, X87Input.denormal(a) || X87Input.denormal(c),
                x.isFull(i) && x.isFull(j), eflags);
        if (eflags) {
            b.intelOnlyX87Status(C1);
        }
    }

    // ================================================================================== register operations

    /**
     * FXCH (and FXCH4 FXCH7), FFREE, FFREEP, FINCSTP, FDECSTP, FNOP, FCHS, FABS, FCMOVcc, FSQRT, FRNDINT, FSCALE,
     * FXTRACT, FPREM, FPREM1 (Vol. 2A).
     */
    private static void registerOperations(List<InstructionForm> forms) {
        String[][] exchanges = {{"FXCH", "D9", "C8"}, {"FXCH4", "DD", "C8"}, {"FXCH7", "DF", "C8"}};
        for (String[] s : exchanges) {
            int escape = Integer.parseInt(s[1], 16), base = Integer.parseInt(s[2], 16);
            forms.add(of(s[0] + " ST(i) (" + s[1] + " " + s[2] + "+i), register", b -> {
                X87Input x = new X87Input(b);
                int i = x.r.nextInt(8);
                x.operand(0);
                x.operand(i);
                b.note("ST(" + i + ")");
                b.undefinedX87Status(C0_C2_C3);
                return new byte[] {(byte) escape, (byte) (base + i)};
            }));
        }
        forms.add(of("FFREE ST(i) (DD C0+i), register", b -> freeRegister(b, 0xDD)));
        forms.add(of("FFREEP ST(i) (DF C0+i), register", b -> freeRegister(b, 0xDF)));
        forms.add(of("FINCSTP (D9 F7), register", b -> simple(b, 0xD9, 0xF7, C0_C2_C3)));
        forms.add(of("FDECSTP (D9 F6), register", b -> simple(b, 0xD9, 0xF6, C0_C2_C3)));
        forms.add(of("FNOP (D9 D0), register", b -> simple(b, 0xD9, 0xD0, ALL_CONDITIONS)));
        forms.add(of("FCHS (D9 E0), register", b -> unary(b, 0xE0, C0_C2_C3, false)));
        forms.add(of("FABS (D9 E1), register", b -> unary(b, 0xE1, C0_C2_C3, false)));
        forms.add(of("FSQRT (D9 FA), register", b -> unary(b, 0xFA, C0_C2_C3, false)));
        forms.add(of("FRNDINT (D9 FC), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            if (x.r.nextBoolean()) {
                x.set(0, nearInteger(x, 66));
            }
            b.undefinedX87Status(C0_C2_C3);
            return new byte[] {(byte) 0xD9, (byte) 0xFC};
        }));
        forms.add(of("FXTRACT (D9 F4), register", b -> unary(b, 0xF4, C0_C2_C3, true)));
        forms.add(of("FSCALE (D9 FD), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            x.operand(1);
            if (x.r.nextInt(4) != 0) {
                // a scale that is an integer or near one, up to beyond the exponent range
                x.set(1, nearInteger(x, 2 + x.r.nextInt(18)));
            }
            b.undefinedX87Status(C0_C2_C3);
            return new byte[] {(byte) 0xD9, (byte) 0xFD};
        }));
        forms.add(of("FPREM (D9 F8), register", b -> remainder(b, 0xF8)));
        forms.add(of("FPREM1 (D9 F5), register", b -> remainder(b, 0xF5)));
        String[] conditions = {"B", "E", "BE", "U"};
        for (int k = 0; k < 4; k++) {
            int base = 0xC0 + 8 * k;
            forms.add(of("FCMOV" + conditions[k] + " ST(0), ST(i) (DA " + String.format("%02X", base) + "+i), register",
                    b -> conditionalMove(b, 0xDA, base)));
            forms.add(of("FCMOVN" + conditions[k] + " ST(0), ST(i) (DB " + String.format("%02X", base)
                    + "+i), register", b -> conditionalMove(b, 0xDB, base)));
        }
    }

    private static byte[] freeRegister(CaseBuilder b, int escape) {
        X87Input x = new X87Input(b);
        int i = x.r.nextInt(8);
        b.note("ST(" + i + ")");
        b.undefinedX87Status(ALL_CONDITIONS);
        return new byte[] {(byte) escape, (byte) (0xC0 + i)};
    }

    private static byte[] simple(CaseBuilder b, int escape, int second, int undefined) {
        new X87Input(b);
        b.undefinedX87Status(undefined);
        return new byte[] {(byte) escape, (byte) second};
    }

    /** A control instruction without operands (Vol. 1, 8.1.8: it leaves the pointers). */
    private static byte[] controlOnly(CaseBuilder b, int escape, int second, int undefined) {
        X87Input.control(b);
        b.undefinedX87Status(undefined);
        return new byte[] {(byte) escape, (byte) second};
    }

    private static byte[] unary(CaseBuilder b, int second, int undefined, boolean pushes) {
        X87Input x = new X87Input(b);
        x.operand(0);
        if (pushes) {
            x.push();
        }
        b.undefinedX87Status(undefined);
        return new byte[] {(byte) 0xD9, (byte) second};
    }

    /** FPREM/FPREM1: operands whose exponents differ by anything from -2 to beyond 64 (partial remainders). */
    private static byte[] remainder(CaseBuilder b, int second) {
        X87Input x = new X87Input(b);
        x.operand(0);
        x.operand(1);
        if (x.r.nextInt(4) != 0) {
            long[] st0 = x.get(0);
            int e = (int) (st0[0] & 0x7FFF) - (x.r.nextInt(8) == 0 ? 64 + x.r.nextInt(200) : x.r.nextInt(70) - 2);
            if (e >= 1 && e <= 0x7FFE) {
                x.set(1, v((x.r.nextBoolean() ? 0x8000 : 0) | e, Long.MIN_VALUE | x.r.nextLong()));
            }
        }
        return new byte[] {(byte) 0xD9, (byte) second};
    }

    private static byte[] conditionalMove(CaseBuilder b, int escape, int base) {
        X87Input x = new X87Input(b);
        int i = x.r.nextInt(8);
        x.operand(0);
        x.operand(i);
        b.note("ST(" + i + ")");
        b.undefinedX87Status(C0_C2_C3);
        return new byte[] {(byte) escape, (byte) (base + i)};
    }

    // ======================================================================================== transcendentals

    /**
     * F2XM1 FYL2X FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS (Vol. 2A): C1 defined (and C2 for the trigonometric ones, 1
     * when the operand is out of range); results within one unit in the last place are tolerated and counted.
     */
    private static void functions(List<InstructionForm> forms) {
        forms.add(of("F2XM1 (D9 F0), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            // the operand range is -1.0 to +1.0; outside it the SDM leaves the result undefined (the processor
            // returns the operand: a random value() tests that too)
            if (x.r.nextInt(4) != 0) {
                x.set(0, v((x.r.nextBoolean() ? 0x8000 : 0) | 0x3FFE - x.r.nextInt(x.r.nextBoolean() ? 4 : 80),
                        Long.MIN_VALUE | x.r.nextLong()));
            }
            return function(b, 0xF0, C0_C2_C3);
        }));
        forms.add(of("FYL2X (D9 F1), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            x.operand(1);
            if (x.r.nextBoolean()) {
                x.set(0, v(0x3FFF + x.r.nextInt(200) - 100, Long.MIN_VALUE | x.r.nextLong()));
            }
            return function(b, 0xF1, C0_C2_C3);
        }));
        forms.add(of("FYL2XP1 (D9 F9), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            x.operand(1);
            // the operand range is |x| < 1 - sqrt(2)/2; outside it the SDM leaves the result undefined (the
            // processor computes it for x > -1 and returns x below: values up to 16 and random ones test that)
            switch (x.r.nextInt(4)) {
                case 0: break;
                case 1:
                    x.set(0, v((x.r.nextBoolean() ? 0x8000 : 0) | 0x3FFE + x.r.nextInt(6),
                            Long.MIN_VALUE | x.r.nextLong()));
                    break;
                default:
                    x.set(0, v((x.r.nextBoolean() ? 0x8000 : 0) | 0x3FFC - x.r.nextInt(x.r.nextBoolean() ? 3 : 80),
                            Long.MIN_VALUE | x.r.nextLong() >>> 2));
                    break;
            }
            return function(b, 0xF9, C0_C2_C3);
        }));
        forms.add(of("FPATAN (D9 F3), register", b -> {
            X87Input x = new X87Input(b);
            x.operand(0);
            x.operand(1);
            return function(b, 0xF3, C0_C2_C3);
        }));
        forms.add(of("FSIN (D9 FE), register", b -> trigonometric(b, 0xFE, false)));
        forms.add(of("FCOS (D9 FF), register", b -> trigonometric(b, 0xFF, false)));
        forms.add(of("FSINCOS (D9 FB), register", b -> trigonometric(b, 0xFB, true)));
        forms.add(of("FPTAN (D9 F2), register", b -> trigonometric(b, 0xF2, true)));
    }

    private static byte[] function(CaseBuilder b, int second, int undefined) {
        b.undefinedX87Status(undefined);
        b.x87LastBit();
        return new byte[] {(byte) 0xD9, (byte) second};
    }

    /** FSIN FCOS FSINCOS FPTAN: operands from tiny to 2^63 and beyond, some near multiples of pi/2. */
    private static byte[] trigonometric(CaseBuilder b, int second, boolean pushes) {
        X87Input x = new X87Input(b);
        x.operand(0);
        if (pushes) {
            x.push();
        }
        switch (x.r.nextInt(4)) {
            case 0:
                x.set(0, v((x.r.nextBoolean() ? 0x8000 : 0) | 0x3FFF + x.r.nextInt(70) - 4, Long.MIN_VALUE
                        | x.r.nextLong()));
                break;
            case 1: {
                // k pi/2 in extended precision, give or take a few units in the last place
                long k = 1 + x.r.nextInt(1 << x.r.nextInt(20));
                java.math.BigInteger halfPi = new java.math.BigInteger("C90FDAA22168C234C4C6628B80DC1CD1", 16);
                java.math.BigInteger p = halfPi.multiply(java.math.BigInteger.valueOf(k));
                int shift = p.bitLength() - 64;
                long sig = p.shiftRight(shift).longValue() + x.r.nextInt(7) - 3;
                int e = p.bitLength() - 128; // halfPi is pi/2 x 2^127
                x.set(0, v((x.r.nextBoolean() ? 0x8000 : 0) | 0x3FFF + e, sig | Long.MIN_VALUE));
                break;
            }
            default:
                break;
        }
        return function(b, second, X87Input.C0 | X87Input.C3);
    }

    // =========================================================================================== control

    /**
     * FLDCW FNSTCW FNSTSW (m2byte, AX) FNCLEX FNINIT FNENI FNDISI FNSETPM FWAIT, and FLDENV FNSTENV FRSTOR FNSAVE in
     * their 32-bit (m28byte/m108byte) and 16-bit (66H: m14byte/m94byte) layouts (Vol. 2A; Vol. 1, 8.1.10).
     */
    private static void control(List<InstructionForm> forms) {
        forms.add(of("FLDCW m2byte (D9 /5), memory", b -> {
            X87Input x = X87Input.control(b);
            Mem m = b.mem(2);
            b.setMem(2, x.r.nextInt(0x10000));
            b.undefinedX87Status(ALL_CONDITIONS);
            return new Encoder().opcode(0xD9).modrm(5, m).bytes();
        }));
        forms.add(of("FNSTCW m2byte (D9 /7), memory", b -> memoryControl(b, 0xD9, 7, 2, false)));
        forms.add(of("FNSTSW m2byte (DD /7), memory", b -> memoryControl(b, 0xDD, 7, 2, false)));
        forms.add(of("FNSTSW AX (DF E0), register", b -> controlOnly(b, 0xDF, 0xE0, 0)));
        forms.add(of("FNCLEX (DB E2), register", b -> controlOnly(b, 0xDB, 0xE2, ALL_CONDITIONS)));
        forms.add(of("FNINIT (DB E3), register", b -> controlOnly(b, 0xDB, 0xE3, 0)));
        forms.add(of("FNENI (DB E0), register", b -> controlOnly(b, 0xDB, 0xE0, 0)));
        forms.add(of("FNDISI (DB E1), register", b -> controlOnly(b, 0xDB, 0xE1, 0)));
        forms.add(of("FNSETPM (DB E4), register", b -> controlOnly(b, 0xDB, 0xE4, 0)));
        forms.add(of("FLDENV m28byte (D9 /4), memory", b -> memoryControl(b, 0xD9, 4, 28, true)));
        forms.add(of("FLDENV m14byte (66 D9 /4), memory", b -> memoryControl(b, 0xD9, 4, 14, true)));
        forms.add(of("FNSTENV m28byte (D9 /6), memory", b -> memoryControl(b, 0xD9, 6, 28, false)));
        forms.add(of("FNSTENV m14byte (66 D9 /6), memory", b -> memoryControl(b, 0xD9, 6, 14, false)));
        forms.add(of("FRSTOR m108byte (DD /4), memory", b -> memoryControl(b, 0xDD, 4, 108, true)));
        forms.add(of("FRSTOR m94byte (66 DD /4), memory", b -> memoryControl(b, 0xDD, 4, 94, true)));
        forms.add(of("FNSAVE m108byte (DD /6), memory", b -> memoryControl(b, 0xDD, 6, 108, false)));
        forms.add(of("FNSAVE m94byte (66 DD /6), memory", b -> memoryControl(b, 0xDD, 6, 94, false)));
        forms.add(of("FWAIT (9B)", b -> {
            X87Input.control(b);
            b.undefinedX87Status(ALL_CONDITIONS);
            return new byte[] {(byte) 0x9B};
        }));
    }

    /**
     * An instruction that loads or stores a control image of {@code size} bytes; loads get a random image (any
     * control word, status word and tag word: what they leave pending is the next instruction's concern).
     */
    private static byte[] memoryControl(CaseBuilder b, int escape, int digit, int size, boolean load) {
        X87Input x = X87Input.control(b);
        Mem m = b.mem(size);
        if (load) {
            int env = size == 14 || size == 94 ? 14 : 28;
            for (int k = 0; k < size; k += 2) {
                b.setData(offset(b) + k, 2, x.r.nextInt(0x10000));
            }
            for (int k = env; k < size; k += 10) {
                long[] v = x.value();
                b.setData(offset(b) + k, 8, v[1]);
                b.setData(offset(b) + k + 8, 2, v[0]);
            }
        }
        boolean small = size == 14 || size == 94;
        if (digit == 6) {
            // the stored instruction and data pointers and opcode (Figures 8-9 to 8-12) are the ones FXRSTOR64
            // loaded; this AMD processor loses them when the test thread is switched out with no exception pending
            // (its XSAVE does not save them then): compared on an Intel processor only
            int at = b.memoryOffset();
            b.undefinedData(at + (small ? 6 : 12), at + (small ? 14 : 28));
            if (escape == 0xD9) {
                b.undefinedX87Status(ALL_CONDITIONS); // FNSTENV leaves C0-C3 undefined
            }
        }
        if (digit == 7) {
            b.undefinedX87Status(ALL_CONDITIONS);
        }
        Encoder e = new Encoder();
        if (small) {
            e.prefix(0x66);
        }
        return e.opcode(escape).modrm(digit, m).bytes();
    }

    // ===================================================================================== compiled code

    /** x87-kernel.bin, built from x87-kernel.c by x87-kernel.sh (test resources of this package). */
    private static final byte[] KERNEL = kernel();

    private static byte[] kernel() {
        try (java.io.InputStream in = X87Forms.class.getResourceAsStream("x87-kernel.bin")) {
            if (in == null) {
                throw new IllegalStateException("x87-kernel.bin is missing from the test resources");
            }
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** Data-page layout of the kernel's case: its code, then in[], out[], ints[], words[], floats[] and doubles[]. */
    private static final int KERNEL_CODE = 0x100, KERNEL_IN = 0x400, KERNEL_OUT = 0x500, KERNEL_INTS = 0x700,
            KERNEL_WORDS = 0x780, KERNEL_FLOATS = 0x800;

    /**
     * Compiler output: the instruction is CALL RBX into x87 code GCC compiled from x87-kernel.c (long double
     * arithmetic, comparisons, square roots, conversions to and from integers, floats and doubles, FPREM and FPREM1
     * loops, FRNDINT under changed rounding modes, FSCALE), placed in the data page with random long double inputs
     * (specials included), any rounding and precision control, all exceptions masked (the SysV ABI's x87), and an
     * empty register stack usually (the ABI's) but not always. Registers, flags, x87 state and every output are
     * compared.
     */
    private static void compiledCode(List<InstructionForm> forms) {
        forms.add(of("CALL r/m64 (FF /2) into GCC's x87 code (x87-kernel.c), register", b -> {
            X87Input x = X87Input.control(b);
            x.control(x.control() | 0x3F);
            if (x.r.nextInt(4) != 0) {
                x.image[FxsaveImage.FTW] = 0; // an empty stack, as the ABI has it at a call
            }
            long data = b.dataAddress;
            int n = 1 + x.r.nextInt(8);
            for (int i = 0; i < n; i++) {
                long[] v = x.r.nextBoolean() ? x.value() : X87Input.v((x.r.nextBoolean() ? 0x8000 : 0)
                        | 0x3FFF + x.r.nextInt(40) - 20, Long.MIN_VALUE | x.r.nextLong());
                b.setData(KERNEL_IN + 16 * i, 8, v[1]);
                b.setData(KERNEL_IN + 16 * i + 8, 2, v[0]);
            }
            System.arraycopy(KERNEL, 0, b.input.data, KERNEL_CODE, KERNEL.length);
            b.setFull(3, data + KERNEL_CODE);  // RBX: the call target
            b.setFull(7, data + KERNEL_IN);    // RDI, RSI, RDX, RCX, R8, R9: the arguments (SysV AMD64 ABI)
            b.setFull(6, n);
            b.setFull(2, data + KERNEL_OUT);
            b.setFull(1, data + KERNEL_INTS);
            b.setFull(8, data + KERNEL_WORDS);
            b.setFull(9, data + KERNEL_FLOATS);
            b.note("x87_kernel(in, " + n + ", out, ints, words, floats)");
            b.undefinedX87Status(ALL_CONDITIONS); // whatever the kernel's last instruction left
            b.undefinedFlags(Flags.AF | Flags.OF); // its last flag-setting instruction is SHL RAX, 4 (Vol. 2B SAL)
            return new byte[] {(byte) 0xFF, (byte) 0xD3};
        }));
    }

    // ============================================================================================ FXSAVE

    /** FXSAVE, FXSAVE64, FXRSTOR, FXRSTOR64 (Vol. 2A FXSAVE, FXRSTOR) at 16-byte aligned addresses. */
    private static void images(List<InstructionForm> forms) {
        forms.add(of("FXSAVE m512byte (0F AE /0), memory", b -> image(b, 0, false)));
        forms.add(of("FXSAVE64 m512byte (REX.W + 0F AE /0), memory", b -> image(b, 0, true)));
        forms.add(of("FXRSTOR m512byte (0F AE /1), memory", b -> image(b, 1, false)));
        forms.add(of("FXRSTOR64 m512byte (REX.W + 0F AE /1), memory", b -> image(b, 1, true)));
    }

    private static byte[] image(CaseBuilder b, int digit, boolean rexW) {
        X87Input x = X87Input.control(b);
        int at = 16 * (0x10 + x.r.nextInt((NativeCpu.DATA_PAGE_BYTES - 0x200 - 0x200) / 16));
        Mem m = b.memAt(at, 512);
        if (digit == 0) {
            // FOP is defined only after an unmasked exception (Vol. 1, 8.1.9.1); FIP, FCS, FDP and FDS as FXSAVE
            // stores them are the SDM's, but this AMD processor stores zeros unless an exception is pending
            b.undefinedData(at + FxsaveImage.FOP, at + FxsaveImage.MXCSR);
            b.legacyRegionAt(at);
        } else {
            // another random state, as FXSAVE stores it (MXCSR without reserved bits)
            X87Input source = X87Input.control(b);
            byte[] image = source.image.clone();
            b.input.fxsave = x.image;
            FxsaveImage.put32(image, FxsaveImage.MXCSR_MASK, 0xFFFF);
            if (x.r.nextInt(4) == 0) {
                FxsaveImage.put16(image, FxsaveImage.FSW, x.r.nextInt(0x10000)); // exceptions left pending, ES as it may be
            }
            for (int k = 0; k < 512; k++) {
                b.input.data[at + k] = image[k];
            }
        }
        Encoder e = new Encoder();
        if (rexW) {
            e.rexW();
        }
        return e.opcode(0x0F, 0xAE).modrm(digit, m).bytes();
    }
}
