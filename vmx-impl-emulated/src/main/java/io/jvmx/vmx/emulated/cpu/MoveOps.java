package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;
import static io.jvmx.vmx.emulated.cpu.Alu.signExtend;

/**
 * Dedicated ops for data movement (SDM Vol. 2, MOV, MOVZX, MOVSX, MOVSXD, LEA, PUSH, POP, MOVBE): the register,
 * memory and immediate forms of MOV, the zero- and sign-extending loads, LEA, PUSH/POP of registers and immediates,
 * the byte-reversing MOVBE and the non-temporal MOVNTI. None of them touches the flags.
 */
final class MoveOps {
    private MoveOps() {
    }

    /** The dedicated op for {@code i}, or null to use the opcode map's general implementation. */
    static Op select(Insn i) {
        int op = i.opcode;
        if (i.map == Insn.MAP_0F38) {
            if ((op == 0xF0 || op == 0xF1) && i.rep == 0) {
                return i.mod == 3 ? OpTable.UNDEFINED : op == 0xF0 ? MOVBE_LOAD : MOVBE_STORE;
            }
            return null;
        }
        if (i.map == Insn.MAP_0F) {
            switch (op) {
                case 0xC3: return i.mod == 3 || i.opPrefix || i.rep != 0 ? OpTable.UNDEFINED : MOVNTI;
                case 0xB6: return MOVZX_B;
                case 0xB7: return MOVZX_W;
                case 0xBE: return MOVSX_B;
                case 0xBF: return MOVSX_W;
                default: return null;
            }
        }
        if (i.map != Insn.MAP_1) {
            return null;
        }
        switch (op) {
            case 0x88: return MOV_EG_B;
            case 0x89: return MOV_EG_V;
            case 0x8A: return MOV_GE_B;
            case 0x8B: return MOV_GE_V;
            case 0x8D: return i.mod == 3 ? null : LEA; // LEA with a register operand is #UD
            case 0xC6: return i.regOp() == 0 ? MOV_E_IMM_B : null;
            case 0xC7: return i.regOp() == 0 ? MOV_E_IMM_V : null;
            case 0x63: return i.mode == Insn.MODE64 ? MOVSXD : null; // ARPL outside 64-bit mode
            case 0x68: case 0x6A: return PUSH_IMM;
            default:
                if (op >= 0xB0 && op <= 0xB7) {
                    return MOV_REG_IMM_B;
                }
                if (op >= 0xB8 && op <= 0xBF) {
                    return MOV_REG_IMM_V;
                }
                if (op >= 0x50 && op <= 0x57) {
                    return PUSH_REG;
                }
                if (op >= 0x58 && op <= 0x5F) {
                    return POP_REG;
                }
                return null;
        }
    }

    /** MOV Eb,Gb / Ev,Gv (88, 89). */
    private static final Op MOV_EG_B = new MovEG(true);
    private static final Op MOV_EG_V = new MovEG(false);

    static final class MovEG extends Op {
        private final boolean bytes;

        MovEG(boolean bytes) {
            super(bytes ? "MOV Eb,Gb" : "MOV Ev,Gv");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long v = x.getReg(i.reg, size);
            if (i.mod == 3) {
                x.setReg(i.rm, size, v);
            } else {
                x.writeMem(i.eaSeg, x.ea(), size, v);
            }
            x.done();
        }
    }

    /** MOV Gb,Eb / Gv,Ev (8A, 8B). */
    private static final Op MOV_GE_B = new MovGE(true);
    private static final Op MOV_GE_V = new MovGE(false);

    static final class MovGE extends Op {
        private final boolean bytes;

        MovGE(boolean bytes) {
            super(bytes ? "MOV Gb,Eb" : "MOV Gv,Ev");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            x.setReg(i.reg, size, v);
            x.done();
        }
    }

    /** MOV Eb,Ib / Ev,Iz (C6 /0, C7 /0). */
    private static final Op MOV_E_IMM_B = new MovEImm(true);
    private static final Op MOV_E_IMM_V = new MovEImm(false);

    static final class MovEImm extends Op {
        private final boolean bytes;

        MovEImm(boolean bytes) {
            super(bytes ? "MOV Eb,Ib" : "MOV Ev,Iz");
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            if (i.mod == 3) {
                x.setReg(i.rm, size, i.imm);
            } else {
                x.writeMem(i.eaSeg, x.ea(), size, i.imm);
            }
            x.done();
        }
    }

    /** MOV r8,Ib (B0-B7) and MOV r,Iv (B8-BF; imm64 with REX.W). */
    private static final Op MOV_REG_IMM_B = new Op("MOV Zb,Ib") {
        @Override
        void run(Executor x, Insn i) {
            x.setReg((i.opcode & 7) | ((i.rex & 1) << 3), 1, i.imm);
            x.done();
        }
    };

    private static final Op MOV_REG_IMM_V = new Op("MOV Zv,Iv") {
        @Override
        void run(Executor x, Insn i) {
            x.setReg((i.opcode & 7) | ((i.rex & 1) << 3), i.opSize, i.imm);
            x.done();
        }
    };

    /** LEA Gv,M (8D): the effective address, truncated or zero-extended to the operand size. */
    private static final Op LEA = new Op("LEA Gv,M") {
        @Override
        void run(Executor x, Insn i) {
            x.setReg(i.reg, i.opSize, x.ea());
            x.done();
        }
    };

    /** MOVZX Gv,Eb / Gv,Ew (0F B6, 0F B7) and MOVSX (0F BE, 0F BF). */
    private static final Op MOVZX_B = new Extend(1, false);
    private static final Op MOVZX_W = new Extend(2, false);
    private static final Op MOVSX_B = new Extend(1, true);
    private static final Op MOVSX_W = new Extend(2, true);
    /** MOVSXD Gv,Ed (63 in 64-bit mode): without REX.W a plain 32-bit move. */
    private static final Op MOVSXD = new Extend(4, true);

    static final class Extend extends Op {
        private final int from;
        private final boolean signed;

        Extend(int from, boolean signed) {
            super((signed ? from == 4 ? "MOVSXD" : "MOVSX" : "MOVZX") + " Gv,E" + (from == 1 ? "b" : from == 2 ? "w" : "d"));
            this.from = from;
            this.signed = signed;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            int src = Math.min(from, size);
            long v = i.mod == 3 ? x.getReg(i.rm, src) : x.readMem(i.eaSeg, x.ea(), src);
            x.setReg(i.reg, size, signed ? signExtend(v, src) & mask(size) : v);
            x.done();
        }
    }

    /** PUSH r (50-57; 64 bits by default in 64-bit mode, SDM Vol. 1, 3.6.1). */
    private static final Op PUSH_REG = new Op("PUSH Zv") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            x.push(x.getReg((i.opcode & 7) | ((i.rex & 1) << 3), size), size);
            x.done();
        }
    };

    /** POP r (58-5F): POP rSP leaves the popped value in rSP. */
    private static final Op POP_REG = new Op("POP Zv") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            long v = x.peek(0, size);
            x.addSp(size);
            x.setReg((i.opcode & 7) | ((i.rex & 1) << 3), size, v);
            x.done();
        }
    };

    /** PUSH Iz / Ib (68, 6A): sign-extended to the stack operand size. */
    private static final Op PUSH_IMM = new Op("PUSH I") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            x.push(i.imm, size);
            x.done();
        }
    };

    /**
     * MOVBE Gv,Mv (0F 38 F0) and Mv,Gv (0F 38 F1): a move with the bytes reversed, memory operands only (SDM Vol. 2B
     * MOVBE); a 16-bit move into a register keeps the register's other bits, as MOV does.
     */
    private static final Op MOVBE_LOAD = new Op("MOVBE Gv,Mv") {
        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            x.setReg(i.reg, size, swapBytes(x.readMem(i.eaSeg, x.ea(), size), size));
            x.done();
        }
    };

    private static final Op MOVBE_STORE = new Op("MOVBE Mv,Gv") {
        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            x.writeMem(i.eaSeg, x.ea(), size, swapBytes(x.getReg(i.reg, size), size));
            x.done();
        }
    };

    static long swapBytes(long v, int size) {
        switch (size) {
            case 2: return Short.reverseBytes((short) v) & 0xFFFF;
            case 4: return Integer.reverseBytes((int) v) & 0xFFFF_FFFFL;
            default: return Long.reverseBytes(v);
        }
    }

    /**
     * MOVNTI My,Gy (0F C3, SSE2; SDM Vol. 2B MOVNTI): a store of a 32-bit register (64-bit with REX.W) with a
     * non-temporal hint, which changes nothing here (there is no cache to bypass). Memory destinations only.
     */
    private static final Op MOVNTI = new Op("MOVNTI My,Gy") {
        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize == 8 ? 8 : 4;
            x.writeMem(i.eaSeg, x.ea(), size, x.getReg(i.reg, size));
            x.done();
        }
    };
}
