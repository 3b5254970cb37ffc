package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Executor.RAX;
import static io.jvmx.vmx.emulated.cpu.Executor.RBX;
import static io.jvmx.vmx.emulated.cpu.Executor.RCX;
import static io.jvmx.vmx.emulated.cpu.Executor.RDX;

/**
 * The exchange instructions, the atomic building blocks (SDM Vol. 2, XCHG, XADD, CMPXCHG, CMPXCHG8B/CMPXCHG16B): each
 * reads its memory operand once and writes it once, which is all the atomicity one processor needs; LOCK's #UD rule
 * is {@link OpTable}'s.
 */
final class ExchangeOps {
    private ExchangeOps() {
    }

    /** The op for {@code i}, or null if it is not one of these. */
    static Op select(Insn i) {
        int op = i.opcode;
        if (i.map == Insn.MAP_1) {
            switch (op) {
                case 0x86: return XCHG_B;
                case 0x87: return XCHG_V;
                default:
                    // 90 without REX.B is NOP/PAUSE; 91-97 and REX.B 90 exchange with the accumulator
                    return op > 0x90 && op <= 0x97 || (op == 0x90 && (i.rex & 1) != 0) ? XCHG_ACCUMULATOR : null;
            }
        }
        if (i.map != Insn.MAP_0F) {
            return null;
        }
        switch (op) {
            case 0xB0: return CMPXCHG_B;
            case 0xB1: return CMPXCHG_V;
            case 0xC0: return XADD_B;
            case 0xC1: return XADD_V;
            case 0xC7: return i.regOp() == 1 && i.mod != 3 ? (i.opSize == 8 ? CMPXCHG16B : CMPXCHG8B) : null;
            default: return null;
        }
    }

    /** XCHG Eb,Gb / Ev,Gv (86, 87): with memory, locked implicitly. */
    private static final Op XCHG_B = new Exchange(true);
    private static final Op XCHG_V = new Exchange(false);

    private static final class Exchange extends Op {
        private final boolean bytes;

        Exchange(boolean bytes) {
            super(bytes ? "XCHG Eb,Gb" : "XCHG Ev,Gv");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long d = x.readEW(size);
            long r = x.getReg(i.reg, size);
            x.writeEW(size, r);
            x.setReg(i.reg, size, d);
            x.done();
        }
    }

    /** XCHG rAX, r (91-97, and 90 with REX.B: R8); 32-bit operands zero-extend both registers. */
    private static final Op XCHG_ACCUMULATOR = new Op("XCHG rAX,Zv") {
        @Override
        void run(Executor x, Insn i) {
            int r = (i.opcode & 7) | ((i.rex & 1) << 3);
            int size = i.opSize;
            long a = x.getReg(RAX, size);
            long b = x.getReg(r, size);
            x.setReg(RAX, size, b);
            x.setReg(r, size, a);
            x.done();
        }
    };

    /**
     * XADD Eb,Gb / Ev,Gv (0F C0, C1; SDM Vol. 2B XADD): TEMP := SRC + DEST; SRC := DEST; DEST := TEMP, so with one
     * register for both the sum wins. Flags as ADD, recorded after the write.
     */
    private static final Op XADD_B = new ExchangeAdd(true);
    private static final Op XADD_V = new ExchangeAdd(false);

    private static final class ExchangeAdd extends Op {
        private final boolean bytes;

        ExchangeAdd(boolean bytes) {
            super(bytes ? "XADD Eb,Gb" : "XADD Ev,Gv");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long d = x.readEW(size);
            long src = x.getReg(i.reg, size);
            long r = x.alu.arith(Alu.ADD, d, src, size, x.s);
            if (i.mod == 3) {
                x.setReg(i.reg, size, d);
                x.setReg(i.rm, size, r);
            } else {
                x.writeEW(size, r);
                x.setReg(i.reg, size, d);
            }
            x.alu.commit(x.s);
            x.done();
        }
    }

    /**
     * CMPXCHG Eb,Gb / Ev,Gv (0F B0, B1; SDM Vol. 2A CMPXCHG): compares the accumulator with the destination; equal:
     * ZF := 1 and DEST := SRC; else ZF := 0 and the accumulator := DEST. A memory destination is written either way
     * (its own value back when the comparison fails); a register destination is not touched then, not even
     * zero-extended (what processors do; seen by the differential tests). Flags as CMP.
     */
    private static final Op CMPXCHG_B = new CompareExchange(true);
    private static final Op CMPXCHG_V = new CompareExchange(false);

    private static final class CompareExchange extends Op {
        private final boolean bytes;

        CompareExchange(boolean bytes) {
            super(bytes ? "CMPXCHG Eb,Gb" : "CMPXCHG Ev,Gv");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long d = x.readEW(size);
            long acc = x.getReg(RAX, size);
            x.alu.arith(Alu.CMP, acc, d, size, x.s);
            if (acc == d) {
                x.writeEW(size, x.getReg(i.reg, size));
            } else {
                if (i.mod != 3) {
                    x.writeEW(size, d);
                }
                x.setReg(RAX, size, d);
            }
            x.alu.commit(x.s);
            x.done();
        }
    }

    /**
     * CMPXCHG8B m64 (0F C7 /1; SDM Vol. 2A CMPXCHG8B/CMPXCHG16B): compares EDX:EAX with m64; equal: ZF := 1 and m64
     * := ECX:EBX; else ZF := 0 and EDX:EAX := m64 (each half zero-extended into its 64-bit register). m64 is written
     * either way. CF PF AF SF OF unchanged.
     */
    private static final Op CMPXCHG8B = new Op("CMPXCHG8B Mq") {
        @Override
        void run(Executor x, Insn i) {
            long lin = x.lin(i.eaSeg, x.ea(), 8, true);
            long v = x.m.read(lin, 8, x.dataPriv);
            long expected = (x.getReg(RDX, 4) << 32) | x.getReg(RAX, 4);
            boolean equal = v == expected;
            x.m.write(lin, 8, equal ? (x.getReg(RCX, 4) << 32) | x.getReg(RBX, 4) : v, x.dataPriv);
            if (!equal) {
                x.setReg(RAX, 4, v);
                x.setReg(RDX, 4, v >>> 32);
            }
            CpuState s = x.s;
            s.setRflags(equal ? s.rflags() | Alu.ZF : s.rflags() & ~Alu.ZF);
            x.done();
        }
    };

    /**
     * CMPXCHG16B m128 (REX.W 0F C7 /1): as CMPXCHG8B with RDX:RAX, RCX:RBX and 16 bytes; #GP(0) unless the operand's
     * (linear) address is 16-byte aligned, checked after the segment checks and before any access.
     */
    private static final Op CMPXCHG16B = new Op("CMPXCHG16B Mdq") {
        @Override
        void run(Executor x, Insn i) {
            long lin = x.lin(i.eaSeg, x.ea(), 16, true);
            if ((lin & 15) != 0) {
                throw x.gp(0);
            }
            long[] g = x.s.gpr;
            long lo = x.m.read(lin, 8, x.dataPriv);
            long hi = x.m.read(lin + 8, 8, x.dataPriv);
            boolean equal = lo == g[RAX] && hi == g[RDX];
            x.stage(lin, 8, equal ? g[RBX] : lo, x.dataPriv);
            x.stage(lin + 8, 8, equal ? g[RCX] : hi, x.dataPriv);
            x.commitStaged();
            if (!equal) {
                g[RAX] = lo;
                g[RDX] = hi;
            }
            CpuState s = x.s;
            s.setRflags(equal ? s.rflags() | Alu.ZF : s.rflags() & ~Alu.ZF);
            x.done();
        }
    };
}
