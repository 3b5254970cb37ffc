package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;

/**
 * Dedicated ops for the integer arithmetic that dominates real code (SDM Vol. 2, ADD ADC SUB SBB AND OR XOR CMP, INC,
 * DEC, TEST): the eight group-1 operations in all their one-byte-map forms, INC/DEC of registers and r/m, and TEST;
 * and ADCX/ADOX.
 * Status flags are recorded lazily (see {@link CpuState#lazyFlags}), after the destination was written, so that a
 * fault on the write leaves them as they were.
 */
final class ArithmeticOps {
    private static final String[] NAMES = {"ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"};

    private ArithmeticOps() {
    }

    /** The dedicated op for {@code i}, or null to use the opcode map's general implementation. */
    static Op select(Insn i) {
        if (i.map != Insn.MAP_1) {
            return null;
        }
        int op = i.opcode;
        if (op < 0x40 && (op & 7) < 6) {
            int aop = op >>> 3;
            int bytes = (op & 1) == 0 ? 1 : 0;
            switch (op & 7) {
                case 0: case 1: return ALU_EG[bytes][aop];
                case 2: case 3: return ALU_GE[bytes][aop];
                default: return ALU_ACC_IMM[bytes][aop];
            }
        }
        switch (op) {
            case 0x80: case 0x81: case 0x83:
                return ALU_E_IMM[op == 0x80 ? 1 : 0][i.regOp()];
            case 0x82: // 80's alias outside 64-bit mode (Table A-2: i64)
                return i.mode == Insn.MODE64 ? OpTable.UNDEFINED : ALU_E_IMM[1][i.regOp()];
            case 0x84: case 0x85:
                return TEST_EG[op == 0x84 ? 1 : 0];
            case 0xA8: case 0xA9:
                return TEST_ACC_IMM[op == 0xA8 ? 1 : 0];
            case 0xF6: case 0xF7:
                return i.regOp() <= 1 ? TEST_E_IMM[op == 0xF6 ? 1 : 0] : null;
            case 0xFE: case 0xFF:
                return i.regOp() <= 1 ? INC_DEC_E[op == 0xFE ? 1 : 0][i.regOp()] : null;
            default:
                if (op >= 0x40 && op <= 0x4F && i.mode != Insn.MODE64) {
                    return op < 0x48 ? INC_REG : DEC_REG; // in 64-bit mode these bytes are REX prefixes
                }
                return null;
        }
    }

    // one shared instance per form: [1 for the byte form, 0 for the operand-size form][operation]
    private static final Op[][] ALU_EG = new Op[2][8];
    private static final Op[][] ALU_GE = new Op[2][8];
    private static final Op[][] ALU_ACC_IMM = new Op[2][8];
    private static final Op[][] ALU_E_IMM = new Op[2][8];
    private static final Op[][] INC_DEC_E = new Op[2][2];
    private static final Op[] TEST_EG = {new TestEG(false), new TestEG(true)};
    private static final Op[] TEST_ACC_IMM = {new TestAccImm(false), new TestAccImm(true)};
    private static final Op[] TEST_E_IMM = {new TestEImm(false), new TestEImm(true)};

    static {
        for (int b = 0; b < 2; b++) {
            for (int aop = 0; aop < 8; aop++) {
                ALU_EG[b][aop] = new AluEG(aop, b == 1);
                ALU_GE[b][aop] = new AluGE(aop, b == 1);
                ALU_ACC_IMM[b][aop] = new AluAccImm(aop, b == 1);
                ALU_E_IMM[b][aop] = new AluEImm(aop, b == 1);
            }
            INC_DEC_E[b][0] = new IncDecE(false, b == 1);
            INC_DEC_E[b][1] = new IncDecE(true, b == 1);
        }
    }

    /** CF as ADC and SBB take it in (0 for the other operations, which do not read it). */
    static long carryIn(CpuState s, int aop) {
        return aop == Alu.ADC || aop == Alu.SBB ? s.cf() : 0;
    }

    /**
     * The result of group-1 operation {@code aop} (Alu.ADD ... Alu.CMP) on operands masked to {@code size}, with
     * {@code cin} from {@link #carryIn}.
     */
    static long compute(int aop, long a, long b, int size, long cin) {
        long m = mask(size);
        switch (aop) {
            case Alu.ADD: return (a + b) & m;
            case Alu.OR: return a | b;
            case Alu.ADC: return (a + b + cin) & m;
            case Alu.SBB: return (a - b - cin) & m;
            case Alu.AND: return a & b;
            case Alu.XOR: return a ^ b;
            default: return (a - b) & m; // SUB, CMP
        }
    }

    /**
     * Records the flags of {@link #compute} (call after the destination was written). ADC keeps the add
     * description, whose formulas hold with a carry in; SBB is computed at once: the lazy subtract has no borrow in.
     */
    static void flags(CpuState s, int aop, long a, long b, long r, int size, long carryIn) {
        switch (aop) {
            case Alu.ADD: case Alu.ADC:
                s.lazyFlags(CpuState.LAZY_ADD, a, b, r, size);
                return;
            case Alu.SUB: case Alu.CMP:
                s.lazyFlags(CpuState.LAZY_SUB, a, b, r, size);
                return;
            case Alu.SBB: {
                boolean borrow = Long.compareUnsigned(a, b) < 0 || (carryIn != 0 && a == b);
                long f = (Alu.subFlags(a, b, r, size) & ~Alu.CF) | (borrow ? Alu.CF : 0);
                s.setRflags((s.rflags() & ~Alu.STATUS) | f);
                return;
            }
            default:
                s.lazyFlags(CpuState.LAZY_LOGIC, 0, 0, r, size);
        }
    }

    /**
     * Group-1 operation {@code aop} with the r/m operand as destination and {@code b} as source: a register, or a
     * read-modify-write of memory whose flags are recorded only after the write succeeded (CMP only reads).
     */
    static void onE(Executor x, Insn i, int aop, int size, long b) {
        CpuState s = x.s;
        if (i.mod == 3) {
            long a = x.getReg(i.rm, size);
            long cin = carryIn(s, aop);
            long r = compute(aop, a, b, size, cin);
            if (aop != Alu.CMP) {
                x.setReg(i.rm, size, r);
            }
            flags(s, aop, a, b, r, size, cin);
        } else if (aop == Alu.CMP) {
            long a = x.readMem(i.eaSeg, x.ea(), size);
            flags(s, aop, a, b, (a - b) & mask(size), size, 0);
        } else {
            long lin = x.lin(i.eaSeg, x.ea(), size, true);
            long a = x.m.read(lin, size, x.dataPriv);
            long cin = carryIn(s, aop);
            long r = compute(aop, a, b, size, cin);
            x.m.write(lin, size, r, x.dataPriv);
            flags(s, aop, a, b, r, size, cin);
        }
        x.done();
    }

    /** Op Eb,Gb / Ev,Gv (00, 01, 08, 09, ..., 38, 39): the r/m operand is the destination. */
    static final class AluEG extends Op {
        private final int aop;
        private final boolean bytes;

        AluEG(int aop, boolean bytes) {
            super(name(aop) + (bytes ? " Eb,Gb" : " Ev,Gv"));
            this.aop = aop;
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            onE(x, i, aop, size, x.getReg(i.reg, size));
        }
    }

    /** Op Gb,Eb / Gv,Ev (02, 03, 0A, 0B, ..., 3A, 3B): the register operand is the destination. */
    static final class AluGE extends Op {
        private final int aop;
        private final boolean bytes;

        AluGE(int aop, boolean bytes) {
            super(name(aop) + (bytes ? " Gb,Eb" : " Gv,Ev"));
            this.aop = aop;
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            CpuState s = x.s;
            long b = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            long a = x.getReg(i.reg, size);
            long cin = carryIn(s, aop);
            long r = compute(aop, a, b, size, cin);
            if (aop != Alu.CMP) {
                x.setReg(i.reg, size, r);
            }
            flags(s, aop, a, b, r, size, cin);
            x.done();
        }
    }

    /** Op AL,Ib / rAX,Iz (04, 05, 0C, 0D, ..., 3C, 3D). */
    static final class AluAccImm extends Op {
        private final int aop;
        private final boolean bytes;

        AluAccImm(int aop, boolean bytes) {
            super(name(aop) + (bytes ? " AL,Ib" : " rAX,Iz"));
            this.aop = aop;
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            CpuState s = x.s;
            long a = x.getReg(Executor.RAX, size);
            long b = i.imm & mask(size);
            long cin = carryIn(s, aop);
            long r = compute(aop, a, b, size, cin);
            if (aop != Alu.CMP) {
                x.setReg(Executor.RAX, size, r);
            }
            flags(s, aop, a, b, r, size, cin);
            x.done();
        }
    }

    /** Group 1: Op Eb,Ib / Ev,Iz / Ev,Ib (80, 81, 83; the operation is ModRM.reg). */
    static final class AluEImm extends Op {
        private final int aop;
        private final boolean bytes;

        AluEImm(int aop, boolean bytes) {
            super(name(aop) + (bytes ? " Eb,Ib" : " Ev,I"));
            this.aop = aop;
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            onE(x, i, aop, size, i.imm & mask(size)); // 83's Ib is sign-extended to the operand size
        }
    }

    /** INC/DEC r16/r32 (40-4F outside 64-bit mode): CF is not affected. */
    private static final Op INC_REG = new IncDecReg(false);
    private static final Op DEC_REG = new IncDecReg(true);

    static final class IncDecReg extends Op {
        private final boolean dec;

        IncDecReg(boolean dec) {
            super(dec ? "DEC Zv" : "INC Zv");
            this.dec = dec;
        }

        @Override
        void run(Executor x, Insn i) {
            int r = i.opcode & 7;
            int size = i.opSize;
            long m = mask(size);
            long a = x.getReg(r, size);
            long v = dec ? (a - 1) & m : (a + 1) & m;
            x.setReg(r, size, v);
            x.s.lazyIncDec(dec, a, v, size);
            x.done();
        }
    }

    /** INC/DEC Eb/Ev (FE /0 /1, FF /0 /1). */
    static final class IncDecE extends Op {
        private final boolean dec;
        private final boolean bytes;

        IncDecE(boolean dec, boolean bytes) {
            super((dec ? "DEC " : "INC ") + (bytes ? "Eb" : "Ev"));
            this.dec = dec;
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long m = mask(size);
            if (i.mod == 3) {
                long a = x.getReg(i.rm, size);
                long v = dec ? (a - 1) & m : (a + 1) & m;
                x.setReg(i.rm, size, v);
                x.s.lazyIncDec(dec, a, v, size);
            } else {
                long lin = x.lin(i.eaSeg, x.ea(), size, true);
                long a = x.m.read(lin, size, x.dataPriv);
                long v = dec ? (a - 1) & m : (a + 1) & m;
                x.m.write(lin, size, v, x.dataPriv);
                x.s.lazyIncDec(dec, a, v, size);
            }
            x.done();
        }
    }

    /** TEST Eb,Gb / Ev,Gv (84, 85). */
    static final class TestEG extends Op {
        private final boolean bytes;

        TestEG(boolean bytes) {
            super(bytes ? "TEST Eb,Gb" : "TEST Ev,Gv");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long a = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            x.s.lazyFlags(CpuState.LAZY_LOGIC, 0, 0, a & x.getReg(i.reg, size), size);
            x.done();
        }
    }

    /** TEST AL,Ib / rAX,Iz (A8, A9). */
    static final class TestAccImm extends Op {
        private final boolean bytes;

        TestAccImm(boolean bytes) {
            super(bytes ? "TEST AL,Ib" : "TEST rAX,Iz");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            x.s.lazyFlags(CpuState.LAZY_LOGIC, 0, 0, x.getReg(Executor.RAX, size) & i.imm & mask(size), size);
            x.done();
        }
    }

    /** TEST Eb,Ib / Ev,Iz (F6 /0 /1, F7 /0 /1: /1 is an alias of /0). */
    static final class TestEImm extends Op {
        private final boolean bytes;

        TestEImm(boolean bytes) {
            super(bytes ? "TEST Eb,Ib" : "TEST Ev,Iz");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long a = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            x.s.lazyFlags(CpuState.LAZY_LOGIC, 0, 0, a & i.imm & mask(size), size);
            x.done();
        }
    }

    /**
     * ADCX (66 0F 38 F6 /r) and ADOX (F3 0F 38 F6 /r), ADX: an unsigned add of r/m and the carry to the register,
     * with the carry taken from and returned to CF (ADCX) or OF (ADOX) alone; no other flag changes (SDM Vol. 2A
     * ADCX, ADOX). 32-bit operands, 64-bit with REX.W in 64-bit mode; the 66H of ADCX does not make them 16-bit.
     */
    static final Op ADCX = new AddWithCarryFlag(false);
    static final Op ADOX = new AddWithCarryFlag(true);

    static final class AddWithCarryFlag extends Op {
        private final boolean overflowFlag;

        AddWithCarryFlag(boolean overflowFlag) {
            super(overflowFlag ? "ADOX Gy,Ey" : "ADCX Gy,Ey");
            this.overflowFlag = overflowFlag;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = i.mode == Insn.MODE64 && (i.rex & 8) != 0 ? 8 : 4;
            long b = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            long a = x.getReg(i.reg, size);
            CpuState s = x.s;
            long f = s.rflags();
            long flag = overflowFlag ? Alu.OF : Alu.CF;
            long carry = (f & flag) != 0 ? 1 : 0;
            long r = (a + b + carry) & mask(size);
            boolean out = size == 8 ? Long.compareUnsigned(r, a) < 0 || (carry != 0 && r == a)
                    : ((a + b + carry) >>> 32) != 0;
            x.setReg(i.reg, size, r);
            s.setRflags(out ? f | flag : f & ~flag);
            x.done();
        }
    }

    static String name(int aop) {
        return NAMES[aop];
    }
}
