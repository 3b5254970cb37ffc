package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.IE;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.INDEFINITE_SE;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.INDEFINITE_SIG;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.NO_RESULT;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.classify;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Exceptions;

/**
 * The x87 FPU instructions (SDM Vol. 2, the F pages; escape opcodes D8-DF in Vol. 2D, A.5, Tables) and
 * FWAIT, on the {@link X87State} of the processor with the arithmetic of {@link ExtendedPrecision}. One op per form,
 * chosen when the instruction is decoded.
 *
 * <p>Every x87 instruction raises #NM when CR0.EM or CR0.TS is set (Vol. 3A, 2.5, Table 2-2); the waiting ones
 * raise #MF first if an unmasked exception is pending, that is if the status word's ES is set (Vol. 1, 8.7; the
 * no-wait instructions are FNINIT, FNCLEX, FNSTSW, FNSTCW, FNSTENV, FNSAVE and the no-ops FNENI, FNDISI, FNSETPM).
 * CR0.NE is 1 throughout VMX operation (IA32_VMX_CR0_FIXED0, Vol. 3C, 24.8): the native #MF is the only error
 * reporting there is; the PC-style FERR# path of CR0.NE = 0 (Vol. 3A, 2.5 and Vol. 1, D.1) does not exist here.
 *
 * <p>A numeric exception sets its flag; when it is unmasked it also sets ES and B, and for IE, DE and ZE nothing is
 * stored and nothing popped (Vol. 1, 8.5). Stack underflow and overflow are IE with SF (C1 = 0 / 1); masked, the
 * destination gets the real indefinite (8.5.1.1). Non-control instructions record their address and opcode, and
 * their memory operand's address, in the instruction and data pointers (Vol. 1, 8.1.8, 8.1.9).
 *
 * <p>Implemented beyond the opcode tables, as the processor executes them: the aliases FSTP1 (D9 D8+i), FCOM2
 * (DC D0+i), FCOMP3 (DC D8+i), FXCH4 (DD C8+i), FCOMP5 (DE D0+i), FFREEP (DF C0+i), FXCH7 (DF C8+i), FSTP8 (DF D0+i),
 * FSTP9 (DF D8+i), and the 8087/287 control instructions FNENI, FNDISI (DB E0, E1) and FNSETPM (DB E4) as no-ops.
 */
final class X87Ops {
    // ---- status-word bits (Vol. 1, 8.1.3, Figure 8-4)
    static final int SF = 0x40, ES = 0x80, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, B = 0x8000;
    static final int TOP = 0x3800;
    /** The exception flags, SF, ES and B: what FNCLEX clears. */
    static final int EXCEPTION_BITS = 0x80FF;

    // ---- arithmetic operations in their D8 /digit order
    private static final int ADD = 0, MUL = 1, SUB = 4, SUBR = 5, DIV = 6, DIVR = 7;
    private static final String[] ARITHMETIC = {"FADD", "FMUL", "FCOM", "FCOMP", "FSUB", "FSUBR", "FDIV", "FDIVR"};

    // ---- operand kinds
    private static final int M32FP = 0, M64FP = 1, M80FP = 2, M16INT = 3, M32INT = 4, M64INT = 5, M80BCD = 6,
            REGISTER = 7, CONSTANT = 8;

    private X87Ops() {
    }

    // ============================================================================================ selection

    private static final Op[] MEMORY = new Op[64];
    private static final Op[] REGISTER_FORMS = new Op[512];

    /**
     * The op of an x87 instruction (D8-DF) or FWAIT; null for anything else. FXSAVE and FXRSTOR, which save the SSE
     * state with the x87 state, are {@link XsaveOps}'.
     */
    static Op select(Insn i) {
        if (i.map == Insn.MAP_1) {
            if (i.opcode == 0x9B) {
                return FWAIT;
            }
            if (i.opcode >= 0xD8 && i.opcode <= 0xDF) {
                int esc = i.opcode - 0xD8;
                return i.mod == 3 ? REGISTER_FORMS[esc * 64 + (i.modrm & 0x3F)] : MEMORY[esc * 8 + i.regOp()];
            }
        }
        return null;
    }

    /** A reserved encoding in the escape space: #NM like every escape opcode, then #UD. */
    private static final Op RESERVED = new Op("(reserved x87 encoding)") {
        @Override
        void run(Executor x, Insn i) {
            enter(x, false);
            throw x.ud();
        }
    };

    // ======================================================================================= common parts

    /**
     * The checks before any x87 instruction: #NM if CR0.EM or CR0.TS (Vol. 3A, 2.5, Table 2-2), and for a waiting
     * instruction #MF if an unmasked exception is pending (Vol. 1, 8.7).
     */
    static X87State enter(Executor x, boolean waiting) {
        if ((x.s.cr0 & (Cr0.EM | Cr0.TS)) != 0) {
            throw x.exc(Exceptions.NM, -1);
        }
        X87State f = x.s.x87;
        if (waiting && (f.status & ES) != 0) {
            throw pending(x);
        }
        return f;
    }

    /** A pending unmasked x87 exception at a waiting instruction: #MF, with CR0.NE = 1 (Vol. 3A, 2.5; Vol. 1, 8.7). */
    static CpuFault pending(Executor x) {
        if ((x.s.cr0 & Cr0.NE) == 0) {
            // reachable only if CR0.NE was cleared in VMX operation, which the processor does not allow (Vol. 3C, 24.8)
            throw new IllegalStateException("x87 error reporting with CR0.NE = 0 (FERR#) does not exist in VMX "
                    + "operation: CR0.NE must stay 1");
        }
        return x.exc(Exceptions.MF, -1);
    }

    /** A non-control instruction: its address and opcode go to the instruction pointer and opcode (Vol. 1, 8.1.8). */
    static void instructionPointer(Executor x, Insn i, X87State f) {
        f.lastInstruction = x.startRip;
        f.lastCs = x.s.seg[CpuState.CS].selector;
        f.lastOpcode = ((i.opcode & 7) << 8) | i.modrm;
    }

    /** ... with a memory operand: its offset and segment go to the data pointer (Vol. 1, 8.1.8). */
    static void dataPointer(Executor x, Insn i, X87State f, long ea) {
        f.lastData = ea;
        f.lastDs = x.s.seg[i.eaSeg].selector;
    }

    static int top(X87State f) {
        return (f.status >>> 11) & 7;
    }

    /** The physical register of ST(i). */
    static int physical(X87State f, int i) {
        return ((f.status >>> 11) + i) & 7;
    }

    static boolean empty(X87State f, int p) {
        return ((f.tag >>> (p << 1)) & 3) == 3;
    }

    /** Writes physical register {@code p} and tags it non-empty (the full tag is computed when it is saved). */
    static void write(X87State f, int p, int se, long sig) {
        f.signExponent[p] = se & 0xFFFF;
        f.significand[p] = sig;
        f.tag &= ~(3 << (p << 1));
    }

    static void free(X87State f, int p) {
        f.tag |= 3 << (p << 1);
    }

    static void setTop(X87State f, int top) {
        f.status = (f.status & ~TOP) | ((top & 7) << 11);
    }

    /** Pops the register stack: ST(0) becomes empty, TOP is incremented (Vol. 1, 8.1.2). */
    static void pop(X87State f) {
        int t = top(f);
        free(f, t);
        setTop(f, t + 1);
    }

    /** Pushes a value (TOP decremented, the new ST(0) written). */
    static void push(X87State f, int se, long sig) {
        int t = (top(f) - 1) & 7;
        setTop(f, t);
        write(f, t, se, sig);
    }

    /** The exceptions of an operation into the sticky flags, with ES and B when one is unmasked; C1 as given. */
    static void flags(X87State f, int exceptions, boolean c1) {
        int s = f.status | exceptions;
        s = c1 ? s | C1 : s & ~C1;
        if ((s & ~f.control & 0x3F) != 0) {
            s |= ES | B;
        }
        f.status = s;
    }

    /** ES and B recomputed from the exception flags and masks (after the control word or the flags were loaded). */
    static void summary(X87State f) {
        f.status = (f.status & ~(ES | B)) | ((f.status & ~f.control & 0x3F) != 0 ? ES | B : 0);
    }

    /** Stack underflow or overflow (Vol. 1, 8.5.1.1): IE and SF, C1 = 1 for an overflow; true if IE is masked. */
    static boolean stackFault(X87State f, boolean overflow) {
        flags(f, IE | SF, overflow);
        return (f.control & IE) != 0;
    }

    /** Whether an operation's result is delivered: not after an unmasked IE, DE or ZE (Vol. 1, 8.5). */
    static boolean delivers(X87State f, int exceptions) {
        return (exceptions & ~f.control & NO_RESULT) == 0;
    }

    /** The linear address of the memory operand after the segment checks for {@code size} bytes. */
    static long linear(Executor x, Insn i, long ea, int size, boolean write) {
        return x.lin(i.eaSeg, ea, size, write);
    }

    /** {@code base + offset} as a linear address of this mode (32-bit wrap outside 64-bit mode). */
    static long plus(Executor x, long base, int offset) {
        long a = base + offset;
        return x.mode64 ? a : a & 0xFFFF_FFFFL;
    }

    // ======================================================================================= arithmetic

    /** A memory operand of an arithmetic or compare form, converted exactly; returns its class, value in fp. */
    private static int source(Executor x, Insn i, int kind, long ea) {
        ExtendedPrecision fp = x.fp;
        switch (kind) {
            case M32FP:
                return fp.convertSingle((int) x.readMem(i.eaSeg, ea, 4));
            case M64FP:
                return fp.convertDouble(x.readMem(i.eaSeg, ea, 8));
            case M16INT:
                fp.fromInteger((short) x.readMem(i.eaSeg, ea, 2));
                return fp.sig == 0 ? ExtendedPrecision.ZERO : ExtendedPrecision.NORMAL;
            default:
                fp.fromInteger((int) x.readMem(i.eaSeg, ea, 4));
                return fp.sig == 0 ? ExtendedPrecision.ZERO : ExtendedPrecision.NORMAL;
        }
    }

    /**
     * FADD, FMUL, FSUB, FSUBR, FDIV, FDIVR and their integer and popping forms (Vol. 2A): ST(0) op source into
     * ST(0), or ST(i) op ST(0) into ST(i) for the DC/DE register forms. C1: rounded up; C0, C2, C3 undefined (left).
     */
    private static final class Arithmetic extends Op {
        private final int operation;
        private final int source;
        private final boolean toRegister;
        private final boolean pop;

        Arithmetic(String name, int operation, int source, boolean toRegister, boolean pop) {
            super(name);
            this.operation = operation;
            this.source = source;
            this.toRegister = toRegister;
            this.pop = pop;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            ExtendedPrecision fp = x.fp;
            int cs = 0, ses = 0;
            long ms = 0;
            int p0 = physical(f, 0);
            int pi = p0;
            if (source == REGISTER) {
                pi = physical(f, i.rm & 7);
            } else {
                long ea = x.ea();
                cs = source(x, i, source, ea);
                ses = fp.se;
                ms = fp.sig;
                dataPointer(x, i, f, ea);
            }
            instructionPointer(x, i, f);
            int pd = toRegister ? pi : p0;
            if (empty(f, p0) || empty(f, pi)) {
                if (stackFault(f, false)) {
                    write(f, pd, INDEFINITE_SE, INDEFINITE_SIG);
                    if (pop) {
                        pop(f);
                    }
                }
                x.done();
                return;
            }
            // d: the destination register's value, s: the other operand
            int sed = f.signExponent[pd];
            long md = f.significand[pd];
            if (source == REGISTER) {
                int ps = toRegister ? p0 : pi;
                ses = f.signExponent[ps];
                ms = f.significand[ps];
                cs = classify(ses, ms);
            }
            int cd = classify(sed, md);
            fp.control = f.control;
            switch (operation) {
                case ADD: fp.add(cd, sed, md, cs, ses, ms, false); break;
                case MUL: fp.multiply(cd, sed, md, cs, ses, ms); break;
                case SUB: fp.add(cd, sed, md, cs, ses, ms, true); break;
                case SUBR: fp.add(cs, ses, ms, cd, sed, md, true); break;
                case DIV: fp.divide(cd, sed, md, cs, ses, ms); break;
                default: fp.divide(cs, ses, ms, cd, sed, md); break;
            }
            int e = fp.flags;
            if (delivers(f, e)) {
                write(f, pd, fp.se, fp.sig);
                if (pop) {
                    pop(f);
                }
                flags(f, e, fp.roundedUp);
            } else {
                flags(f, e, false);
            }
            x.done();
        }
    }

    /**
     * FCOM, FCOMP, FCOMPP, FUCOM, FUCOMP, FUCOMPP, FICOM, FICOMP, FTST (C3 C2 C0) and FCOMI, FCOMIP, FUCOMI, FUCOMIP
     * (ZF PF CF; OF SF AF cleared) (Vol. 2A): ST(0) compared with the source. An unordered result is 111; with an
     * unmasked exception the condition codes or flags are not set and nothing is popped. C1 = 0.
     */
    private static final class Compare extends Op {
        private final int source;
        private final boolean ordered;
        private final int pops;
        private final boolean eflags;

        Compare(String name, int source, boolean ordered, int pops, boolean eflags) {
            super(name);
            this.source = source;
            this.ordered = ordered;
            this.pops = pops;
            this.eflags = eflags;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            ExtendedPrecision fp = x.fp;
            int cs = 0, ses = 0;
            long ms = 0;
            int p0 = physical(f, 0);
            int pi = p0;
            if (source == REGISTER) {
                pi = physical(f, pops == 2 ? 1 : i.rm & 7);
            } else if (source != CONSTANT) {
                long ea = x.ea();
                cs = source(x, i, source, ea);
                ses = fp.se;
                ms = fp.sig;
                dataPointer(x, i, f, ea);
            }
            instructionPointer(x, i, f);
            if (empty(f, p0) || empty(f, pi)) {
                if (stackFault(f, false)) {
                    result(x, f, ExtendedPrecision.UNORDERED);
                } else if (eflags) {
                    x.s.setRflags(x.s.rflags() & ~(Alu.OF | Alu.SF | Alu.AF));
                }
                x.done();
                return;
            }
            if (source == REGISTER) {
                ses = f.signExponent[pi];
                ms = f.significand[pi];
                cs = classify(ses, ms);
            } else if (source == CONSTANT) {
                cs = ExtendedPrecision.ZERO; // FTST: compared with +0.0
            }
            int se0 = f.signExponent[p0];
            long m0 = f.significand[p0];
            fp.control = f.control;
            int r = fp.compare(classify(se0, m0), se0, m0, cs, ses, ms, ordered);
            int e = fp.flags;
            if (delivers(f, e)) {
                result(x, f, r);
            } else if (eflags) {
                // OF, SF and AF are cleared whatever the exception (Vol. 2A FCOMI); ZF, PF, CF are not set
                x.s.setRflags(x.s.rflags() & ~(Alu.OF | Alu.SF | Alu.AF));
            }
            flags(f, e, false);
            x.done();
        }

        private void result(Executor x, X87State f, int relation) {
            if (eflags) {
                // ZF = C3, PF = C2, CF = C0 (Vol. 2A FCOMI, Table 3-30)
                long fl = x.s.rflags() & ~Alu.STATUS;
                if ((relation & 4) != 0) {
                    fl |= Alu.ZF;
                }
                if ((relation & 2) != 0) {
                    fl |= Alu.PF;
                }
                if ((relation & 1) != 0) {
                    fl |= Alu.CF;
                }
                x.s.setRflags(fl);
            } else {
                f.status = (f.status & ~(C0 | C2 | C3)) | ((relation & 4) != 0 ? C3 : 0) | ((relation & 2) != 0 ? C2 : 0)
                        | ((relation & 1) != 0 ? C0 : 0);
            }
            for (int k = 0; k < pops; k++) {
                pop(f);
            }
        }
    }

    // ========================================================================================= loads

    /**
     * FLD (m32fp, m64fp, m80fp, ST(i)), FILD (m16int, m32int, m64int), FBLD and the constants FLD1, FLDL2T, FLDL2E,
     * FLDPI, FLDLG2, FLDLN2, FLDZ (Vol. 2A): pushes the value. A full register stack is stack overflow (C1 = 1).
     */
    private static final class Load extends Op {
        private final int source;
        private final int constantSe;
        private final long constantSig;
        /** The constant is irrational: its 64 bits are a truncation, to be rounded by the rounding mode. */
        private final boolean inexact;
        /** Its first bit beyond 64 bits (and there are more nonzero bits after it). */
        private final boolean roundBit;

        Load(String name, int source) {
            this(name, source, 0, 0, false, false);
        }

        Load(String name, int source, int constantSe, long constantSig, boolean inexact, boolean roundBit) {
            super(name);
            this.source = source;
            this.constantSe = constantSe;
            this.constantSig = constantSig;
            this.inexact = inexact;
            this.roundBit = roundBit;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            ExtendedPrecision fp = x.fp;
            int se;
            long sig;
            int exceptions = 0;
            boolean sourceEmpty = false;
            switch (source) {
                case REGISTER: {
                    int ps = physical(f, i.rm & 7);
                    sourceEmpty = empty(f, ps);
                    se = f.signExponent[ps];
                    sig = f.significand[ps];
                    break;
                }
                case CONSTANT:
                    se = constantSe;
                    sig = constantSig;
                    if (inexact) {
                        // the constants are rounded by the rounding mode, without PE (Vol. 2A FLD1/FLDL2T/...)
                        int rc = (f.control >>> 10) & 3;
                        boolean up = rc == ExtendedPrecision.RC_UP
                                || (rc == ExtendedPrecision.RC_NEAREST && roundBit);
                        if (up) {
                            sig++;
                        }
                    }
                    break;
                default: {
                    long ea = x.ea();
                    switch (source) {
                        case M32FP: fp.load(fp.convertSingle((int) x.readMem(i.eaSeg, ea, 4))); break;
                        case M64FP: fp.load(fp.convertDouble(x.readMem(i.eaSeg, ea, 8))); break;
                        case M80FP: {
                            long lin = linear(x, i, ea, 10, false);
                            fp.sig = x.m.read(lin, 8, x.dataPriv);
                            fp.se = (int) x.m.read(plus(x, lin, 8), 2, x.dataPriv);
                            fp.flags = 0;
                            break;
                        }
                        case M16INT: fp.fromInteger((short) x.readMem(i.eaSeg, ea, 2)); break;
                        case M32INT: fp.fromInteger((int) x.readMem(i.eaSeg, ea, 4)); break;
                        case M64INT: fp.fromInteger(x.readMem(i.eaSeg, ea, 8)); break;
                        default: {
                            long lin = linear(x, i, ea, 10, false);
                            long low = x.m.read(lin, 8, x.dataPriv);
                            int high = (int) x.m.read(plus(x, lin, 8), 2, x.dataPriv);
                            fp.fromInteger(bcdValue(low, high & 0xFF));
                            if ((high & 0x8000) != 0) {
                                fp.se |= ExtendedPrecision.SIGN; // -0 stays -0
                            }
                            break;
                        }
                    }
                    dataPointer(x, i, f, ea);
                    se = fp.se;
                    sig = fp.sig;
                    exceptions = fp.flags;
                    break;
                }
            }
            instructionPointer(x, i, f);
            // an empty source is reported before a full stack (C1 = 0 then, as the processor does)
            if (sourceEmpty || !empty(f, (top(f) - 1) & 7)) {
                if (stackFault(f, !sourceEmpty)) {
                    push(f, INDEFINITE_SE, INDEFINITE_SIG);
                }
                x.done();
                return;
            }
            if (delivers(f, exceptions)) {
                push(f, se, sig);
            }
            flags(f, exceptions, false);
            x.done();
        }
    }

    /**
     * The 18 BCD digits of an m80bcd (Vol. 1, 4.7; Vol. 2A FBLD) as an integer. A nibble above 9 is not a digit: the
     * SDM leaves such values undefined; they are weighted by their position like digits here.
     */
    static long bcdValue(long low, int high) {
        long v = 0;
        for (int d = 1; d >= 0; d--) {
            v = v * 10 + ((high >>> (4 * d)) & 0xF);
        }
        for (int d = 15; d >= 0; d--) {
            v = v * 10 + ((low >>> (4 * d)) & 0xF);
        }
        return v;
    }

    // ======================================================================================== stores

    /**
     * FST/FSTP (m32fp, m64fp, m80fp), FIST/FISTP (m16int, m32int, m64int), FISTTP (SSE3) and FBSTP (Vol. 2A): ST(0)
     * converted and written to memory, then popped for the P forms. Stack underflow stores the format's indefinite
     * when IE is masked; an unmasked IE, or an unmasked OE or UE of a floating-point format, stores nothing and pops
     * nothing. C1: rounded up.
     */
    private static final class Store extends Op {
        private final int format;
        private final boolean pop;
        private final boolean truncate;

        Store(String name, int format, boolean pop, boolean truncate) {
            super(name);
            this.format = format;
            this.pop = pop;
            this.truncate = truncate;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            ExtendedPrecision fp = x.fp;
            long ea = x.ea();
            int p0 = physical(f, 0);
            boolean underflow = empty(f, p0);
            int se0 = f.signExponent[p0];
            long m0 = f.significand[p0];
            fp.control = f.control;
            fp.begin();
            long value = 0;
            int high = 0; // bits 79:64 of the 10-byte formats
            if (underflow) {
                fp.flags = IE;
                switch (format) {
                    case M32FP: value = 0xFFC0_0000L; break;
                    case M64FP: value = 0xFFF8_0000_0000_0000L; break;
                    case M80FP: value = INDEFINITE_SIG; high = INDEFINITE_SE; break;
                    case M16INT: value = 0x8000; break;
                    case M32INT: value = 0x8000_0000L; break;
                    case M64INT: value = Long.MIN_VALUE; break;
                    default: value = BCD_INDEFINITE_LOW; high = BCD_INDEFINITE_HIGH; break;
                }
            } else {
                switch (format) {
                    case M32FP:
                        fp.toMemoryFormat(se0, m0, ExtendedPrecision.SINGLE);
                        value = fp.bits;
                        break;
                    case M64FP:
                        fp.toMemoryFormat(se0, m0, ExtendedPrecision.DOUBLE);
                        value = fp.bits;
                        break;
                    case M80FP:
                        value = m0;
                        high = se0;
                        break;
                    case M16INT:
                        value = fp.toInteger(se0, m0, 2, truncate);
                        break;
                    case M32INT:
                        value = fp.toInteger(se0, m0, 4, truncate);
                        break;
                    case M64INT:
                        value = fp.toInteger(se0, m0, 8, truncate);
                        break;
                    default: {
                        long v = fp.toInteger(se0, m0, 8, false);
                        if ((fp.flags & IE) != 0 || v > BCD_MAX || v < -BCD_MAX) {
                            fp.flags = (fp.flags & ~ExtendedPrecision.PE) | IE;
                            fp.roundedUp = false;
                            value = BCD_INDEFINITE_LOW;
                            high = BCD_INDEFINITE_HIGH;
                        } else {
                            long magnitude = Math.abs(v);
                            value = 0;
                            for (int d = 0; d < 16; d++) {
                                value |= (magnitude % 10) << (4 * d);
                                magnitude /= 10;
                            }
                            high = (int) ((magnitude % 10) | ((magnitude / 10) << 4));
                            if ((se0 & ExtendedPrecision.SIGN) != 0) {
                                high |= 0x8000; // the sign of the value, also for -0 and values rounded to 0
                            }
                        }
                        break;
                    }
                }
            }
            int e = fp.flags;
            boolean storing = (e & ~f.control & IE) == 0 && fp.store;
            // the destination is checked (segment, paging) whether or not it is written, before any state changes;
            // a write of up to 8 bytes translates all its pages before it writes (Mmu.write), 10 bytes are two
            int size = format == M16INT ? 2 : format == M32FP || format == M32INT ? 4
                    : format == M64FP || format == M64INT ? 8 : 10;
            long lin = linear(x, i, ea, size, true);
            if (!storing || size == 10) {
                x.m.probe(lin, size, Mmu.WRITE, x.dataPriv);
            }
            if (storing) {
                if (size == 10) {
                    x.m.write(lin, 8, value, x.dataPriv);
                    x.m.write(plus(x, lin, 8), 2, high, x.dataPriv);
                } else {
                    x.m.write(lin, size, value, x.dataPriv);
                }
            }
            dataPointer(x, i, f, ea);
            instructionPointer(x, i, f);
            if (underflow) {
                if (stackFault(f, false) && pop) {
                    pop(f);
                }
                x.done();
                return;
            }
            if (storing && pop) {
                pop(f);
            }
            flags(f, e, storing && fp.roundedUp);
            x.done();
        }
    }

    /** The largest packed BCD integer, 18 nines (Vol. 1, 4.7). */
    private static final long BCD_MAX = 999_999_999_999_999_999L;
    /** The packed BCD integer indefinite: FFFF C000 0000 0000 0000 (Vol. 1, 4.8.3.7, Table 4-?). */
    private static final long BCD_INDEFINITE_LOW = 0xC000_0000_0000_0000L;
    private static final int BCD_INDEFINITE_HIGH = 0xFFFF;

    /**
     * FST/FSTP ST(i) and the aliases FSTP1, FSTP8, FSTP9 (Vol. 2A FST): ST(i) = ST(0), exactly, no exceptions. An
     * empty ST(0) is stack underflow, except for FSTP1, which then only pops and clears C1 (as the processor executes
     * the alias).
     */
    private static final class StoreRegister extends Op {
        private final boolean pop;
        private final boolean underflowIgnored;

        StoreRegister(String name, boolean pop) {
            super(name);
            this.pop = pop;
            this.underflowIgnored = name.startsWith("FSTP1 ");
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            int p0 = physical(f, 0);
            int pi = physical(f, i.rm & 7);
            if (empty(f, p0) && underflowIgnored) {
                pop(f);
                f.status &= ~C1;
                x.done();
                return;
            }
            if (empty(f, p0)) {
                if (stackFault(f, false)) {
                    write(f, pi, INDEFINITE_SE, INDEFINITE_SIG);
                    if (pop) {
                        pop(f);
                    }
                }
                x.done();
                return;
            }
            write(f, pi, f.signExponent[p0], f.significand[p0]);
            if (pop) {
                pop(f);
            }
            flags(f, 0, false);
            x.done();
        }
    }

    // ====================================================================================== register ops

    /** FXCH and the aliases FXCH4, FXCH7 (Vol. 2A FXCH): an empty register is stack underflow (masked: indefinite). */
    private static final class Exchange extends Op {
        Exchange(String name) {
            super(name);
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            int p0 = physical(f, 0);
            int pi = physical(f, i.rm & 7);
            if (empty(f, p0) || empty(f, pi)) {
                if (!stackFault(f, false)) {
                    x.done();
                    return;
                }
                if (empty(f, p0)) {
                    write(f, p0, INDEFINITE_SE, INDEFINITE_SIG);
                }
                if (empty(f, pi)) {
                    write(f, pi, INDEFINITE_SE, INDEFINITE_SIG);
                }
            } else {
                flags(f, 0, false);
            }
            int se = f.signExponent[p0];
            long sig = f.significand[p0];
            f.signExponent[p0] = f.signExponent[pi];
            f.significand[p0] = f.significand[pi];
            f.signExponent[pi] = se;
            f.significand[pi] = sig;
            x.done();
        }
    }

    /**
     * FFREE and FFREEP (Vol. 2A FFREE): tags ST(i) empty (FFREEP then pops); the value and TOP stay. C0-C3 are
     * undefined: C1 is cleared, as the processor does.
     */
    private static final class Free extends Op {
        private final boolean pop;

        Free(String name, boolean pop) {
            super(name);
            this.pop = pop;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            free(f, physical(f, i.rm & 7));
            if (pop) {
                pop(f);
            }
            f.status &= ~C1;
            x.done();
        }
    }

    /** FINCSTP and FDECSTP (Vol. 2A): TOP plus or minus one; tags and contents stay; C1 = 0. */
    private static final class StackPointer extends Op {
        private final int delta;

        StackPointer(String name, int delta) {
            super(name);
            this.delta = delta;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            setTop(f, top(f) + delta);
            f.status &= ~C1;
            x.done();
        }
    }

    /**
     * FCMOVcc (Vol. 2A): ST(0) = ST(i) if the condition on EFLAGS holds. An empty ST(0) or ST(i) is stack underflow
     * (C1 = 0); masked, ST(0) gets the indefinite, whether or not the condition holds. Otherwise C1 is left as it
     * is.
     */
    private static final class ConditionalMove extends Op {
        private final int condition;

        ConditionalMove(String name, int condition) {
            super(name);
            this.condition = condition;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            int p0 = physical(f, 0);
            int pi = physical(f, i.rm & 7);
            boolean move = x.cond(condition);
            if (empty(f, p0) || empty(f, pi)) {
                if (stackFault(f, false)) {
                    write(f, p0, INDEFINITE_SE, INDEFINITE_SIG); // whatever the condition, as the processor does
                }
                x.done();
                return;
            }
            if (move) {
                write(f, p0, f.signExponent[pi], f.significand[pi]); // C1 stays (as the processor leaves it)
            }
            x.done();
        }
    }

    /**
     * The operations on ST(0) of D9 E0-FF without a second register operand (Vol. 2A FCHS, FABS, FSQRT, FRNDINT,
     * FXTRACT, F2XM1, FPTAN, FSIN, FCOS, FSINCOS).
     */
    private static final class Unary extends Op {
        static final int CHS = 0, ABS = 1, SQRT = 2, FRNDINT = 3, FXTRACT = 4, F2XM1 = 5, FPTAN = 6, FSIN = 7,
                FCOS = 8, FSINCOS = 9;
        private final int operation;

        Unary(String name, int operation) {
            super(name);
            this.operation = operation;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            ExtendedPrecision fp = x.fp;
            int p0 = physical(f, 0);
            boolean pushes = operation == FXTRACT || operation == FPTAN || operation == FSINCOS;
            boolean faults = empty(f, p0) || (pushes && !empty(f, (p0 - 1) & 7));
            if (faults && operation >= FPTAN) {
                f.status &= ~C2; // FPTAN, FSIN, FCOS, FSINCOS: no operand out of range (as the processor does)
            }
            if (empty(f, p0)) {
                if (stackFault(f, false)) {
                    write(f, p0, INDEFINITE_SE, INDEFINITE_SIG);
                    if (pushes) {
                        push(f, INDEFINITE_SE, INDEFINITE_SIG);
                    }
                }
                x.done();
                return;
            }
            if (pushes && !empty(f, (p0 - 1) & 7)) {
                if (stackFault(f, true)) {
                    write(f, p0, INDEFINITE_SE, INDEFINITE_SIG);
                    push(f, INDEFINITE_SE, INDEFINITE_SIG);
                }
                x.done();
                return;
            }
            int se = f.signExponent[p0];
            long sig = f.significand[p0];
            fp.control = f.control;
            switch (operation) {
                case CHS:
                    write(f, p0, se ^ ExtendedPrecision.SIGN, sig);
                    flags(f, 0, false);
                    x.done();
                    return;
                case ABS:
                    write(f, p0, se & ~ExtendedPrecision.SIGN, sig);
                    flags(f, 0, false);
                    x.done();
                    return;
                case SQRT:
                    fp.squareRoot(se, sig);
                    break;
                case FRNDINT:
                    fp.roundToInteger(se, sig);
                    break;
                case FXTRACT:
                    fp.extract(se, sig);
                    if (delivers(f, fp.flags)) {
                        write(f, p0, fp.se, fp.sig);
                        push(f, fp.significandSe, fp.significandSig);
                    }
                    flags(f, fp.flags, false);
                    x.done();
                    return;
                default:
                    x.transcendentals.unary(x, f, operation, p0, se, sig);
                    return;
            }
            int e = fp.flags;
            if (delivers(f, e)) {
                write(f, p0, fp.se, fp.sig);
                flags(f, e, fp.roundedUp);
            } else {
                flags(f, e, false);
            }
            x.done();
        }
    }

    /** The operations on ST(0) and ST(1) (Vol. 2A FSCALE, FPREM, FPREM1, FYL2X, FYL2XP1, FPATAN). */
    private static final class Binary extends Op {
        static final int FSCALE = 0, FPREM = 1, FPREM1 = 2, FYL2X = 3, FYL2XP1 = 4, FPATAN = 5;
        private final int operation;

        Binary(String name, int operation) {
            super(name);
            this.operation = operation;
        }

        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            ExtendedPrecision fp = x.fp;
            int p0 = physical(f, 0);
            int p1 = physical(f, 1);
            boolean pops = operation >= FYL2X;
            if (empty(f, p0) || empty(f, p1)) {
                if (operation == FPREM || operation == FPREM1) {
                    f.status &= ~C2; // no partial remainder: C2 = 0 (C0 and C3 stay, as the processor leaves them)
                }
                if (stackFault(f, false)) {
                    if (pops) {
                        write(f, p1, INDEFINITE_SE, INDEFINITE_SIG);
                        pop(f);
                    } else {
                        write(f, p0, INDEFINITE_SE, INDEFINITE_SIG);
                    }
                }
                x.done();
                return;
            }
            int se0 = f.signExponent[p0], se1 = f.signExponent[p1];
            long m0 = f.significand[p0], m1 = f.significand[p1];
            fp.control = f.control;
            switch (operation) {
                case FSCALE:
                    fp.scale(se0, m0, se1, m1);
                    break;
                case FPREM:
                case FPREM1: {
                    fp.partialRemainder(se0, m0, se1, m1, operation == FPREM1);
                    int e = fp.flags;
                    if (delivers(f, e)) {
                        write(f, p0, fp.se, fp.sig);
                        int q = fp.quotient;
                        // C0 = Q2, C3 = Q1, C1 = Q0; C2 = 1 if the reduction is incomplete. Without a quotient (a
                        // NaN or invalid operand) C0 and C3 stay, as the processor leaves them
                        int kept = fp.divided ? 0 : C0 | C3;
                        f.status = (f.status & ~(C0 | C2 | C3)) | (f.status & kept) | ((q & 4) != 0 ? C0 : 0)
                                | ((q & 2) != 0 ? C3 : 0) | (fp.complete ? 0 : C2);
                        flags(f, e, (q & 1) != 0);
                    } else {
                        f.status &= ~C2; // C0 and C3 stay, as the processor leaves them
                        flags(f, e, false);
                    }
                    x.done();
                    return;
                }
                default:
                    x.transcendentals.binary(x, f, operation, p0, p1, se0, m0, se1, m1);
                    return;
            }
            int e = fp.flags;
            if (delivers(f, e)) {
                write(f, p0, fp.se, fp.sig);
                flags(f, e, fp.roundedUp);
            } else {
                flags(f, e, false);
            }
            x.done();
        }
    }

    // ===================================================================================== control and misc

    /** FXAM (Vol. 2A): the class of ST(0) in C3 C2 C0 (Table 3-42), its sign in C1, also for an empty register. */
    private static final Op FXAM = new Op("FXAM") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            int p0 = physical(f, 0);
            int se = f.signExponent[p0];
            int c;
            if (empty(f, p0)) {
                c = C3 | C0;
            } else {
                switch (classify(se, f.significand[p0])) {
                    case ExtendedPrecision.UNSUPPORTED: c = 0; break;
                    case ExtendedPrecision.QNAN: case ExtendedPrecision.SNAN: c = C0; break;
                    case ExtendedPrecision.NORMAL: c = C2; break;
                    case ExtendedPrecision.INFINITY: c = C2 | C0; break;
                    case ExtendedPrecision.ZERO: c = C3; break;
                    default: c = C3 | C2; break; // denormal (and pseudo-denormal)
                }
            }
            if ((se & ExtendedPrecision.SIGN) != 0) {
                c |= C1;
            }
            f.status = (f.status & ~(C0 | C1 | C2 | C3)) | c;
            x.done();
        }
    };

    /** FNOP (Vol. 2A): a waiting no-operation (not a control instruction: it sets the pointers). */
    private static final Op FNOP = new Op("FNOP") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            instructionPointer(x, i, f);
            x.done();
        }
    };

    /** FNENI, FNDISI, FNSETPM: 8087 and 287 control instructions that later processors execute as no-ops. */
    private static final class NoWaitNop extends Op {
        NoWaitNop(String name) {
            super(name);
        }

        @Override
        void run(Executor x, Insn i) {
            enter(x, false);
            x.done();
        }
    }

    /** FWAIT (Vol. 2B WAIT/FWAIT): #NM if CR0.MP and CR0.TS (Table 2-2), then a pending exception is #MF. */
    private static final Op FWAIT = new Op("FWAIT") {
        @Override
        void run(Executor x, Insn i) {
            if ((x.s.cr0 & (Cr0.MP | Cr0.TS)) == (Cr0.MP | Cr0.TS)) {
                throw x.exc(Exceptions.NM, -1);
            }
            if ((x.s.x87.status & ES) != 0) {
                throw pending(x);
            }
            x.done();
        }
    };

    /** FNINIT (Vol. 2A FINIT/FNINIT): control 037FH, status 0, all registers empty, pointers and opcode 0. */
    private static final Op FNINIT = new Op("FNINIT") {
        @Override
        void run(Executor x, Insn i) {
            enter(x, false).init();
            x.done();
        }
    };

    /** FNCLEX (Vol. 2A FCLEX/FNCLEX): clears the exception flags, SF, ES and B; C0-C3 undefined (left). */
    private static final Op FNCLEX = new Op("FNCLEX") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, false);
            f.status &= ~EXCEPTION_BITS;
            x.done();
        }
    };

    /**
     * The control word as the processor holds it: bits 6 (reserved, reads 1), 7 and 15:13 (reserved, read 0) are
     * not stored (Vol. 1, 8.1.5, Figure 8-6; seen on the processor by the differential tests).
     */
    static int controlWord(int value) {
        return (value & 0x1F3F) | 0x40;
    }

    /** FLDCW m2byte (Vol. 2A): loads the control word; a flag it unmasks is pending for the next waiting instruction. */
    private static final Op FLDCW = new Op("FLDCW m2byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            int cw = (int) x.readMem(i.eaSeg, x.ea(), 2);
            f.control = controlWord(cw);
            summary(f);
            x.done();
        }
    };

    /** FNSTCW m2byte (Vol. 2A FSTCW/FNSTCW). */
    private static final Op FNSTCW = new Op("FNSTCW m2byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, false);
            x.writeMem(i.eaSeg, x.ea(), 2, f.control);
            x.done();
        }
    };

    /** FNSTSW m2byte (Vol. 2A FSTSW/FNSTSW). */
    private static final Op FNSTSW_M16 = new Op("FNSTSW m2byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, false);
            x.writeMem(i.eaSeg, x.ea(), 2, f.status);
            x.done();
        }
    };

    /** FNSTSW AX (Vol. 2A FSTSW/FNSTSW). */
    private static final Op FNSTSW_AX = new Op("FNSTSW AX") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, false);
            x.setReg(Executor.RAX, 2, f.status);
            x.done();
        }
    };

    /**
     * Delivers an operation's result to physical register {@code p} with its exceptions and C1, unless an unmasked
     * IE, DE or ZE stops it (for {@link X87Transcendentals}, as for the others).
     */
    static void deliver(X87State f, int p, ExtendedPrecision fp) {
        int e = fp.flags;
        if (delivers(f, e)) {
            write(f, p, fp.se, fp.sig);
            flags(f, e, fp.roundedUp);
        } else {
            flags(f, e, false);
        }
    }

    // ============================================================================== the opcode tables

    static {
        // ---- memory forms (Tables)
        for (int k = 0; k < 8; k++) {
            if (k == 2 || k == 3) {
                MEMORY[k] = new Compare(ARITHMETIC[k] + " m32fp", M32FP, true, k - 2, false);
                MEMORY[16 + k] = new Compare("FI" + ARITHMETIC[k].substring(1) + " m32int", M32INT, true, k - 2,
                        false);
                MEMORY[32 + k] = new Compare(ARITHMETIC[k] + " m64fp", M64FP, true, k - 2, false);
                MEMORY[48 + k] = new Compare("FI" + ARITHMETIC[k].substring(1) + " m16int", M16INT, true, k - 2,
                        false);
            } else {
                MEMORY[k] = new Arithmetic(ARITHMETIC[k] + " m32fp", k, M32FP, false, false);
                MEMORY[16 + k] = new Arithmetic("FI" + ARITHMETIC[k].substring(1) + " m32int", k, M32INT, false,
                        false);
                MEMORY[32 + k] = new Arithmetic(ARITHMETIC[k] + " m64fp", k, M64FP, false, false);
                MEMORY[48 + k] = new Arithmetic("FI" + ARITHMETIC[k].substring(1) + " m16int", k, M16INT, false,
                        false);
            }
        }
        MEMORY[8] = new Load("FLD m32fp", M32FP);
        MEMORY[10] = new Store("FST m32fp", M32FP, false, false);
        MEMORY[11] = new Store("FSTP m32fp", M32FP, true, false);
        MEMORY[12] = X87Images.FLDENV;
        MEMORY[13] = FLDCW;
        MEMORY[14] = X87Images.FNSTENV;
        MEMORY[15] = FNSTCW;
        MEMORY[24] = new Load("FILD m32int", M32INT);
        MEMORY[25] = new Store("FISTTP m32int", M32INT, true, true);
        MEMORY[26] = new Store("FIST m32int", M32INT, false, false);
        MEMORY[27] = new Store("FISTP m32int", M32INT, true, false);
        MEMORY[29] = new Load("FLD m80fp", M80FP);
        MEMORY[31] = new Store("FSTP m80fp", M80FP, true, false);
        MEMORY[40] = new Load("FLD m64fp", M64FP);
        MEMORY[41] = new Store("FISTTP m64int", M64INT, true, true);
        MEMORY[42] = new Store("FST m64fp", M64FP, false, false);
        MEMORY[43] = new Store("FSTP m64fp", M64FP, true, false);
        MEMORY[44] = X87Images.FRSTOR;
        MEMORY[46] = X87Images.FNSAVE;
        MEMORY[47] = FNSTSW_M16;
        MEMORY[56] = new Load("FILD m16int", M16INT);
        MEMORY[57] = new Store("FISTTP m16int", M16INT, true, true);
        MEMORY[58] = new Store("FIST m16int", M16INT, false, false);
        MEMORY[59] = new Store("FISTP m16int", M16INT, true, false);
        MEMORY[60] = new Load("FBLD m80bcd", M80BCD);
        MEMORY[61] = new Load("FILD m64int", M64INT);
        MEMORY[62] = new Store("FBSTP m80bcd", M80BCD, true, false);
        MEMORY[63] = new Store("FISTP m64int", M64INT, true, false);

        // ---- register forms (Tables)
        for (int r = 0; r < 8; r++) {
            String st = "ST(" + r + ")";
            for (int k = 0; k < 8; k++) {
                if (k == 2 || k == 3) {
                    REGISTER_FORMS[8 * k + r] = new Compare(ARITHMETIC[k] + " " + st, REGISTER, true, k - 2, false);
                } else {
                    REGISTER_FORMS[8 * k + r] = new Arithmetic(ARITHMETIC[k] + " ST(0), " + st, k, REGISTER, false,
                            false);
                    // DC and DE: ST(i) is the destination, and the reversed operations trade places (E0 is FSUBR)
                    int swapped = k >= 4 ? k ^ 1 : k;
                    REGISTER_FORMS[256 + 8 * k + r] = new Arithmetic(ARITHMETIC[swapped] + " " + st + ", ST(0)",
                            swapped, REGISTER, true, false);
                    REGISTER_FORMS[384 + 8 * k + r] = new Arithmetic(ARITHMETIC[swapped] + "P " + st + ", ST(0)",
                            swapped, REGISTER, true, true);
                }
            }
            REGISTER_FORMS[64 + r] = new Load("FLD " + st, REGISTER);
            REGISTER_FORMS[64 + 8 + r] = new Exchange("FXCH " + st);
            REGISTER_FORMS[64 + 24 + r] = new StoreRegister("FSTP1 " + st, true);
            REGISTER_FORMS[128 + r] = new ConditionalMove("FCMOVB ST(0), " + st, 0x2);
            REGISTER_FORMS[128 + 8 + r] = new ConditionalMove("FCMOVE ST(0), " + st, 0x4);
            REGISTER_FORMS[128 + 16 + r] = new ConditionalMove("FCMOVBE ST(0), " + st, 0x6);
            REGISTER_FORMS[128 + 24 + r] = new ConditionalMove("FCMOVU ST(0), " + st, 0xA);
            REGISTER_FORMS[192 + r] = new ConditionalMove("FCMOVNB ST(0), " + st, 0x3);
            REGISTER_FORMS[192 + 8 + r] = new ConditionalMove("FCMOVNE ST(0), " + st, 0x5);
            REGISTER_FORMS[192 + 16 + r] = new ConditionalMove("FCMOVNBE ST(0), " + st, 0x7);
            REGISTER_FORMS[192 + 24 + r] = new ConditionalMove("FCMOVNU ST(0), " + st, 0xB);
            REGISTER_FORMS[192 + 40 + r] = new Compare("FUCOMI ST(0), " + st, REGISTER, false, 0, true);
            REGISTER_FORMS[192 + 48 + r] = new Compare("FCOMI ST(0), " + st, REGISTER, true, 0, true);
            REGISTER_FORMS[256 + 16 + r] = new Compare("FCOM2 " + st, REGISTER, true, 0, false);
            REGISTER_FORMS[256 + 24 + r] = new Compare("FCOMP3 " + st, REGISTER, true, 1, false);
            REGISTER_FORMS[320 + r] = new Free("FFREE " + st, false);
            REGISTER_FORMS[320 + 8 + r] = new Exchange("FXCH4 " + st);
            REGISTER_FORMS[320 + 16 + r] = new StoreRegister("FST " + st, false);
            REGISTER_FORMS[320 + 24 + r] = new StoreRegister("FSTP " + st, true);
            REGISTER_FORMS[320 + 32 + r] = new Compare("FUCOM " + st, REGISTER, false, 0, false);
            REGISTER_FORMS[320 + 40 + r] = new Compare("FUCOMP " + st, REGISTER, false, 1, false);
            REGISTER_FORMS[384 + 16 + r] = new Compare("FCOMP5 " + st, REGISTER, true, 1, false);
            REGISTER_FORMS[448 + r] = new Free("FFREEP " + st, true);
            REGISTER_FORMS[448 + 8 + r] = new Exchange("FXCH7 " + st);
            REGISTER_FORMS[448 + 16 + r] = new StoreRegister("FSTP8 " + st, true);
            REGISTER_FORMS[448 + 24 + r] = new StoreRegister("FSTP9 " + st, true);
            REGISTER_FORMS[448 + 40 + r] = new Compare("FUCOMIP ST(0), " + st, REGISTER, false, 1, true);
            REGISTER_FORMS[448 + 48 + r] = new Compare("FCOMIP ST(0), " + st, REGISTER, true, 1, true);
        }
        REGISTER_FORMS[64 + 16] = FNOP;
        REGISTER_FORMS[64 + 32] = new Unary("FCHS", Unary.CHS);
        REGISTER_FORMS[64 + 33] = new Unary("FABS", Unary.ABS);
        REGISTER_FORMS[64 + 36] = new Compare("FTST", CONSTANT, true, 0, false);
        REGISTER_FORMS[64 + 37] = FXAM;
        // log2(10), log2(e), pi, log10(2), ln(2): the significand truncated to 64 bits and the bit after it
        REGISTER_FORMS[64 + 40] = new Load("FLD1", CONSTANT, 0x3FFF, 0x8000_0000_0000_0000L, false, false);
        REGISTER_FORMS[64 + 41] = new Load("FLDL2T", CONSTANT, 0x4000, 0xD49A_784B_CD1B_8AFEL, true, false);
        REGISTER_FORMS[64 + 42] = new Load("FLDL2E", CONSTANT, 0x3FFF, 0xB8AA_3B29_5C17_F0BBL, true, true);
        REGISTER_FORMS[64 + 43] = new Load("FLDPI", CONSTANT, 0x4000, 0xC90F_DAA2_2168_C234L, true, true);
        REGISTER_FORMS[64 + 44] = new Load("FLDLG2", CONSTANT, 0x3FFD, 0x9A20_9A84_FBCF_F798L, true, true);
        REGISTER_FORMS[64 + 45] = new Load("FLDLN2", CONSTANT, 0x3FFE, 0xB172_17F7_D1CF_79ABL, true, true);
        REGISTER_FORMS[64 + 46] = new Load("FLDZ", CONSTANT, 0, 0, false, false);
        REGISTER_FORMS[64 + 48] = new Unary("F2XM1", Unary.F2XM1);
        REGISTER_FORMS[64 + 49] = new Binary("FYL2X", Binary.FYL2X);
        REGISTER_FORMS[64 + 50] = new Unary("FPTAN", Unary.FPTAN);
        REGISTER_FORMS[64 + 51] = new Binary("FPATAN", Binary.FPATAN);
        REGISTER_FORMS[64 + 52] = new Unary("FXTRACT", Unary.FXTRACT);
        REGISTER_FORMS[64 + 53] = new Binary("FPREM1", Binary.FPREM1);
        REGISTER_FORMS[64 + 54] = new StackPointer("FDECSTP", -1);
        REGISTER_FORMS[64 + 55] = new StackPointer("FINCSTP", 1);
        REGISTER_FORMS[64 + 56] = new Binary("FPREM", Binary.FPREM);
        REGISTER_FORMS[64 + 57] = new Binary("FYL2XP1", Binary.FYL2XP1);
        REGISTER_FORMS[64 + 58] = new Unary("FSQRT", Unary.SQRT);
        REGISTER_FORMS[64 + 59] = new Unary("FSINCOS", Unary.FSINCOS);
        REGISTER_FORMS[64 + 60] = new Unary("FRNDINT", Unary.FRNDINT);
        REGISTER_FORMS[64 + 61] = new Binary("FSCALE", Binary.FSCALE);
        REGISTER_FORMS[64 + 62] = new Unary("FSIN", Unary.FSIN);
        REGISTER_FORMS[64 + 63] = new Unary("FCOS", Unary.FCOS);
        REGISTER_FORMS[128 + 41] = new Compare("FUCOMPP", REGISTER, false, 2, false);
        REGISTER_FORMS[192 + 32] = new NoWaitNop("FNENI");
        REGISTER_FORMS[192 + 33] = new NoWaitNop("FNDISI");
        REGISTER_FORMS[192 + 34] = FNCLEX;
        REGISTER_FORMS[192 + 35] = FNINIT;
        REGISTER_FORMS[192 + 36] = new NoWaitNop("FNSETPM");
        REGISTER_FORMS[384 + 25] = new Compare("FCOMPP", REGISTER, true, 2, false);
        REGISTER_FORMS[448 + 32] = FNSTSW_AX;
        for (int k = 0; k < MEMORY.length; k++) {
            if (MEMORY[k] == null) {
                MEMORY[k] = RESERVED;
            }
        }
        for (int k = 0; k < REGISTER_FORMS.length; k++) {
            if (REGISTER_FORMS[k] == null) {
                REGISTER_FORMS[k] = RESERVED;
            }
        }
    }
}
