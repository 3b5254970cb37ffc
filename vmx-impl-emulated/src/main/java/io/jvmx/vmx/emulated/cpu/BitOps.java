package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;
import static io.jvmx.vmx.emulated.cpu.Alu.signExtend;

/**
 * Bit instructions of the two-byte map (SDM Vol. 2, each instruction's page): BT, BTS, BTR, BTC with a register or an
 * immediate bit offset, BSF and BSR, TZCNT (BMI1), LZCNT, POPCNT, and BSWAP. LOCK (BTS, BTR, BTC with a memory
 * destination) is checked by {@link OpTable}; a locked operation is atomic here anyway.
 */
final class BitOps {
    private BitOps() {
    }

    /** The op for {@code i} (map 0F), or null if it is not a bit instruction. */
    static Op select(Insn i) {
        if (i.map != Insn.MAP_0F) {
            return null;
        }
        switch (i.opcode) {
            case 0xA3: return BIT_TEST[0];
            case 0xAB: return BIT_TEST[1];
            case 0xB3: return BIT_TEST[2];
            case 0xBB: return BIT_TEST[3];
            case 0xBA: return i.regOp() >= 4 ? BIT_TEST_IMM[i.regOp() - 4] : OpTable.UNDEFINED;
            case 0xBC: return i.rep == 0xF3 ? TZCNT : BSF;
            case 0xBD: return i.rep == 0xF3 ? LZCNT : BSR;
            case 0xB8: return i.rep == 0xF3 ? POPCNT : OpTable.UNDEFINED; // 0F B8 without F3 is JMPE (IA-64)
            default:
                return i.opcode >= 0xC8 && i.opcode <= 0xCF ? BSWAP : null;
        }
    }

    private static final String[] BT_NAMES = {"BT", "BTS", "BTR", "BTC"};
    private static final Op[] BIT_TEST = new Op[4];
    private static final Op[] BIT_TEST_IMM = new Op[4];

    static {
        for (int k = 0; k < 4; k++) {
            BIT_TEST[k] = new BitTest(k, false);
            BIT_TEST_IMM[k] = new BitTest(k, true);
        }
    }

    /**
     * BT, BTS, BTR, BTC (0F A3/AB/B3/BB /r and 0F BA /4-/7 ib; SDM Vol. 2A BT): CF := the selected bit, which BTS
     * sets, BTR clears and BTC complements; ZF unchanged, OF SF AF PF undefined (left as they were). An immediate
     * offset, or any offset into a register, is taken modulo the operand size; a register offset into memory is a
     * signed bit index from the operand's address, so the operand read is the one that holds that bit (Vol. 1,
     * 3.4.1.1 "bit string"; 2A BT, Table 3-2).
     */
    static final class BitTest extends Op {
        private final int kind;
        private final boolean immediate;

        BitTest(int kind, boolean immediate) {
            super(BT_NAMES[kind] + (immediate ? " Ev,Ib" : " Ev,Gv"));
            this.kind = kind;
            this.immediate = immediate;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            int bits = size * 8;
            long v;
            int bit;
            long lin = 0;
            if (immediate || i.mod == 3) {
                bit = (int) (immediate ? i.imm : x.getReg(i.reg, size)) & (bits - 1);
                if (i.mod == 3) {
                    v = x.getReg(i.rm, size);
                } else {
                    lin = x.lin(i.eaSeg, x.ea(), size, kind != 0);
                    v = x.m.read(lin, size, x.dataPriv);
                }
            } else {
                long offset = signExtend(x.getReg(i.reg, size), size);
                bit = (int) (offset & (bits - 1));
                long address = (x.ea() + (offset >> Integer.numberOfTrailingZeros(bits)) * size) & x.addrMask();
                lin = x.lin(i.eaSeg, address, size, kind != 0);
                v = x.m.read(lin, size, x.dataPriv);
            }
            long selected = (v >>> bit) & 1;
            if (kind != 0) {
                long r;
                switch (kind) {
                    case 1: r = v | (1L << bit); break;
                    case 2: r = v & ~(1L << bit); break;
                    default: r = v ^ (1L << bit); break;
                }
                if (i.mod == 3) {
                    x.setReg(i.rm, size, r);
                } else {
                    x.m.write(lin, size, r, x.dataPriv);
                }
            }
            x.s.setRflags((x.s.rflags() & ~Alu.CF) | selected);
            x.done();
        }
    }

    /**
     * BSF / BSR (0F BC / 0F BD; SDM Vol. 2A): the index of the lowest / highest set bit; ZF = the source is 0, and
     * then the destination is left unchanged (undefined by the SDM; what processors do, and a 32-bit destination is
     * not even zero-extended); CF OF SF AF PF undefined, left as they were.
     */
    private static final Op BSF = new BitScan(true);
    private static final Op BSR = new BitScan(false);

    static final class BitScan extends Op {
        private final boolean forward;

        BitScan(boolean forward) {
            super(forward ? "BSF Gv,Ev" : "BSR Gv,Ev");
            this.forward = forward;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            CpuState s = x.s;
            if (v == 0) {
                s.setRflags(s.rflags() | Alu.ZF);
            } else {
                x.setReg(i.reg, size, forward ? Long.numberOfTrailingZeros(v) : 63 - Long.numberOfLeadingZeros(v));
                s.setRflags(s.rflags() & ~Alu.ZF);
            }
            x.done();
        }
    }

    /**
     * TZCNT (F3 0F BC, BMI1) / LZCNT (F3 0F BD, LZCNT): the number of trailing / leading zero bits, the operand size
     * for a zero source; CF = the source is 0, ZF = the result is 0; OF SF AF PF undefined, left as they were (SDM
     * Vol. 2B TZCNT, Vol. 2A LZCNT).
     */
    private static final Op TZCNT = new ZeroCount(true);
    private static final Op LZCNT = new ZeroCount(false);

    static final class ZeroCount extends Op {
        private final boolean trailing;

        ZeroCount(boolean trailing) {
            super(trailing ? "TZCNT Gv,Ev" : "LZCNT Gv,Ev");
            this.trailing = trailing;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            int bits = size * 8;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            int n = v == 0 ? bits
                    : trailing ? Long.numberOfTrailingZeros(v) : Long.numberOfLeadingZeros(v) - (64 - bits);
            x.setReg(i.reg, size, n);
            CpuState s = x.s;
            s.setRflags((s.rflags() & ~(Alu.CF | Alu.ZF)) | (v == 0 ? Alu.CF : 0) | (n == 0 ? Alu.ZF : 0));
            x.done();
        }
    }

    /** POPCNT (F3 0F B8; SDM Vol. 2B): the number of set bits; ZF = the source is 0, the other flags cleared. */
    private static final Op POPCNT = new Op("POPCNT Gv,Ev") {
        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            x.setReg(i.reg, size, Long.bitCount(v));
            x.s.setRflags((x.s.rflags() & ~Alu.STATUS) | (v == 0 ? Alu.ZF : 0));
            x.done();
        }
    };

    /**
     * BSWAP (0F C8+rd; SDM Vol. 2A): reverses the bytes of a 32- or 64-bit register. With a 16-bit operand the
     * result is undefined by the SDM; processors clear the register's low 16 bits (0 here too).
     */
    private static final Op BSWAP = new Op("BSWAP Zv") {
        @Override
        void run(Executor x, Insn i) {
            int r = (i.opcode & 7) | ((i.rex & 1) << 3);
            int size = i.opSize;
            long v = x.getReg(r, size);
            long b = size == 8 ? Long.reverseBytes(v) : size == 4 ? Integer.reverseBytes((int) v) & mask(4) : 0;
            x.setReg(r, size, b);
            x.done();
        }
    };
}
