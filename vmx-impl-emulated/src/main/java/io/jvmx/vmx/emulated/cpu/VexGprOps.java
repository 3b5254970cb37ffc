package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;

/**
 * The VEX-encoded general-purpose-register instructions (SDM Vol. 2A, 2.5.1, Table 2-28): BMI1's ANDN, BEXTR, BLSI,
 * BLSMSK, BLSR and BMI2's BZHI, MULX, PDEP, PEXT, RORX, SARX, SHLX, SHRX, each on its own instruction page. They are
 * the only VEX instructions this processor implements; every other VEX encoding is #UD (no AVX).
 *
 * <p>Operands: 32 bits, or 64 with VEX.W = 1 in 64-bit mode (VEX.W is ignored elsewhere); there is no 16-bit form.
 * The #UD conditions of Table 2-29 are decided when the instruction is decoded ({@link #select}): VEX.L = 1, a LOCK,
 * 66H, F2H, F3H or REX prefix before VEX, a reserved VEX.vvvv (RORX) or ModRM.reg (group 17); the one that depends
 * on the mode (VEX in real-address mode, where C4/C5 are not VEX) is checked when it executes.
 */
final class VexGprOps {
    private VexGprOps() {
    }

    private static final int PP_NONE = 0, PP_66 = 1, PP_F3 = 2, PP_F2 = 3;

    /** The op of a VEX-encoded instruction; {@link OpTable#UNDEFINED} for everything this processor lacks. */
    static Op select(Insn i) {
        if (i.vexBadPrefix || i.vexL != 0) {
            return OpTable.UNDEFINED;
        }
        int pp = i.opPrefix ? PP_66 : i.rep == 0xF3 ? PP_F3 : i.rep == 0xF2 ? PP_F2 : PP_NONE;
        if (i.map == Insn.MAP_0F3A) {
            // RORX does not use VEX.vvvv: it must be 1111b, register 0 once inverted (outside 64-bit mode the decoder
            // keeps only the low three bits)
            return i.opcode == 0xF0 && pp == PP_F2 && i.vvvv == 0 ? RORX : OpTable.UNDEFINED;
        }
        if (i.map != Insn.MAP_0F38) {
            return OpTable.UNDEFINED;
        }
        switch (i.opcode) {
            case 0xF2:
                return pp == PP_NONE ? ANDN : OpTable.UNDEFINED;
            case 0xF3:
                if (pp != PP_NONE) {
                    return OpTable.UNDEFINED;
                }
                switch (i.regOp()) {
                    case 1: return BLSR;
                    case 2: return BLSMSK;
                    case 3: return BLSI;
                    default: return OpTable.UNDEFINED;
                }
            case 0xF5:
                return pp == PP_NONE ? BZHI : pp == PP_F3 ? PEXT : pp == PP_F2 ? PDEP : OpTable.UNDEFINED;
            case 0xF6:
                return pp == PP_F2 ? MULX : OpTable.UNDEFINED;
            case 0xF7:
                return pp == PP_NONE ? BEXTR : pp == PP_66 ? SHLX : pp == PP_F3 ? SARX : SHRX;
            default:
                return OpTable.UNDEFINED;
        }
    }

    /** Operand size: 64 bits with VEX.W in 64-bit mode, else 32. */
    static int size(Insn i) {
        return i.mode == Insn.MODE64 && (i.rex & 8) != 0 ? 8 : 4;
    }

    /** The r/m source operand; VEX is #UD in real-address and virtual-8086 mode (Table 2-29), checked first. */
    private static long source(Executor x, Insn i, int size) {
        if (x.segments8086) {
            throw x.ud();
        }
        return i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
    }

    private static boolean negative(long v, int size) {
        return ((v >>> (size * 8 - 1)) & 1) != 0;
    }

    /**
     * Sets CF, ZF, SF and OF (= 0) as given and keeps AF and PF, which these instructions leave undefined, as they
     * were (what this machine's AMD processor does, seen by the differential tests).
     */
    private static void flags(CpuState s, boolean cf, boolean zf, boolean sf) {
        long f = s.rflags() & ~(Alu.CF | Alu.ZF | Alu.SF | Alu.OF);
        s.setRflags(f | (cf ? Alu.CF : 0) | (zf ? Alu.ZF : 0) | (sf ? Alu.SF : 0));
    }

    /** ANDN r, vvvv, r/m (VEX.LZ.0F38 F2 /r): ~vvvv AND r/m; SF ZF from the result, CF OF cleared. */
    private static final Op ANDN = new Op("ANDN Gy,By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long r = ~x.getReg(i.vvvv, size) & source(x, i, size) & mask(size);
            x.setReg(i.reg, size, r);
            flags(x.s, false, r == 0, negative(r, size));
            x.done();
        }
    };

    /**
     * BEXTR r, r/m, vvvv (VEX.LZ.0F38 F7 /r): the bit field of r/m that starts at vvvv[7:0] and is vvvv[15:8] bits
     * long, zero-extended (bits beyond the operand read as 0); ZF from the result, CF OF cleared.
     */
    private static final Op BEXTR = new Op("BEXTR Gy,Ey,By") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            long control = x.getReg(i.vvvv, size);
            int start = (int) control & 0xFF;
            int length = (int) (control >>> 8) & 0xFF;
            long r = start >= 64 ? 0 : src >>> start;
            if (length < 64) {
                r &= (1L << length) - 1;
            }
            x.setReg(i.reg, size, r);
            long f = x.s.rflags() & ~(Alu.CF | Alu.ZF | Alu.OF);
            x.s.setRflags(f | (r == 0 ? Alu.ZF : 0));
            x.done();
        }
    };

    /** BLSI vvvv, r/m (VEX.LZ.0F38 F3 /3): the lowest set bit; CF = source is not 0, ZF SF from the result. */
    private static final Op BLSI = new Op("BLSI By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            long r = -src & src & mask(size);
            x.setReg(i.vvvv, size, r);
            flags(x.s, src != 0, r == 0, negative(r, size));
            x.done();
        }
    };

    /** BLSMSK vvvv, r/m (VEX.LZ.0F38 F3 /2): the bits up to the lowest set bit; CF = source is 0, ZF cleared. */
    private static final Op BLSMSK = new Op("BLSMSK By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            long r = ((src - 1) ^ src) & mask(size);
            x.setReg(i.vvvv, size, r);
            flags(x.s, src == 0, false, negative(r, size));
            x.done();
        }
    };

    /** BLSR vvvv, r/m (VEX.LZ.0F38 F3 /1): the lowest set bit cleared; CF = source is 0, ZF SF from the result. */
    private static final Op BLSR = new Op("BLSR By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            long r = (src - 1) & src & mask(size);
            x.setReg(i.vvvv, size, r);
            flags(x.s, src == 0, r == 0, negative(r, size));
            x.done();
        }
    };

    /**
     * BZHI r, r/m, vvvv (VEX.LZ.0F38 F5 /r): r/m with the bits from index vvvv[7:0] up cleared; CF = the index is
     * beyond the operand (then the source is copied), ZF SF from the result.
     */
    private static final Op BZHI = new Op("BZHI Gy,Ey,By") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            int n = (int) x.getReg(i.vvvv, size) & 0xFF;
            int bits = size * 8;
            long r = n < bits ? src & ((1L << n) - 1) : src;
            x.setReg(i.reg, size, r);
            flags(x.s, n > bits - 1, r == 0, negative(r, size));
            x.done();
        }
    };

    /** PDEP r, vvvv, r/m (VEX.LZ.F2.0F38 F5 /r): the low bits of vvvv deposited at the set bits of the mask r/m. */
    private static final Op PDEP = new Op("PDEP Gy,By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long mask = source(x, i, size);
            long src = x.getReg(i.vvvv, size);
            long r = 0;
            for (long bit = 1; mask != 0; bit <<= 1) {
                long low = mask & -mask;
                if ((src & bit) != 0) {
                    r |= low;
                }
                mask ^= low;
            }
            x.setReg(i.reg, size, r);
            x.done();
        }
    };

    /** PEXT r, vvvv, r/m (VEX.LZ.F3.0F38 F5 /r): the bits of vvvv at the set bits of the mask r/m, packed low. */
    private static final Op PEXT = new Op("PEXT Gy,By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long mask = source(x, i, size);
            long src = x.getReg(i.vvvv, size);
            long r = 0;
            for (long bit = 1; mask != 0; bit <<= 1) {
                long low = mask & -mask;
                if ((src & low) != 0) {
                    r |= bit;
                }
                mask ^= low;
            }
            x.setReg(i.reg, size, r);
            x.done();
        }
    };

    /**
     * MULX r, vvvv, r/m (VEX.LZ.F2.0F38 F6 /r): the unsigned product of EDX/RDX and r/m, low half to vvvv, then high
     * half to ModRM.reg (so the high half wins when both name one register); no flag changes.
     */
    private static final Op MULX = new Op("MULX Gy,By,Ey") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            long a = x.getReg(Executor.RDX, size);
            long low, high;
            if (size == 8) {
                low = a * src;
                high = Executor.unsignedMultiplyHigh(a, src);
            } else {
                long p = a * src; // two 32-bit values: the product fits 64 bits unsigned
                low = p & 0xFFFF_FFFFL;
                high = p >>> 32;
            }
            x.setReg(i.vvvv, size, low);
            x.setReg(i.reg, size, high);
            x.done();
        }
    };

    /** RORX r, r/m, imm8 (VEX.LZ.F2.0F3A F0 /r ib): rotate right by imm8 (masked to 5 or 6 bits); no flags. */
    private static final Op RORX = new Op("RORX Gy,Ey,Ib") {
        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            int n = (int) i.imm & (size == 8 ? 63 : 31);
            long r = size == 8 ? Long.rotateRight(src, n) : Integer.rotateRight((int) src, n) & 0xFFFF_FFFFL;
            x.setReg(i.reg, size, r);
            x.done();
        }
    };

    /** SARX, SHLX, SHRX r, r/m, vvvv: shift by vvvv masked to 5 or 6 bits, without touching the flags. */
    private static final Op SARX = new ShiftX("SARX", 2);
    private static final Op SHLX = new ShiftX("SHLX", 0);
    private static final Op SHRX = new ShiftX("SHRX", 1);

    private static final class ShiftX extends Op {
        private final int kind;

        ShiftX(String name, int kind) {
            super(name + " Gy,Ey,By");
            this.kind = kind;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = size(i);
            long src = source(x, i, size);
            int n = (int) x.getReg(i.vvvv, size) & (size == 8 ? 63 : 31);
            long r;
            switch (kind) {
                case 0: r = src << n; break;
                case 1: r = src >>> n; break;
                default: r = Alu.signExtend(src, size) >> n; break;
            }
            x.setReg(i.reg, size, r & mask(size));
            x.done();
        }
    }
}
