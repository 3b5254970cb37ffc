package io.jvmx.vmx.emulated.cpu;

/**
 * Dedicated ops for near control transfers (SDM Vol. 2, Jcc, JMP, CALL, RET): conditional jumps with 8- and 32-bit
 * displacements, direct and indirect near JMP and CALL, and near RET. Far transfers, which load CS, stay with
 * {@link Segmentation}.
 */
final class BranchOps {
    private BranchOps() {
    }

    /** The dedicated op for {@code i}, or null to use the opcode map's general implementation. */
    static Op select(Insn i) {
        int op = i.opcode;
        if (i.map == Insn.MAP_0F) {
            return op >= 0x80 && op <= 0x8F ? JCC[op & 0xF] : null;
        }
        if (i.map != Insn.MAP_1) {
            return null;
        }
        if (op >= 0x70 && op <= 0x7F) {
            return JCC[op & 0xF];
        }
        switch (op) {
            case 0xEB: case 0xE9: return JMP_REL;
            case 0xE8: return CALL_REL;
            case 0xC3: case 0xC2: return RET_NEAR;
            case 0xFF:
                switch (i.regOp()) {
                    case 2: return CALL_E;
                    case 4: return JMP_E;
                    default: return null;
                }
            default:
                return null;
        }
    }

    private static final String[] CC = {"O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE",
            "LE", "G"};

    /** Jcc rel8 / rel16/32 (70-7F, 0F 80-8F), condition in the low opcode nibble (Vol. 1, Table B-1). */
    private static final Op[] JCC = new Op[16];

    static {
        for (int cc = 0; cc < 16; cc++) {
            JCC[cc] = new Jcc(cc);
        }
    }

    static final class Jcc extends Op {
        private final int cc;

        Jcc(int cc) {
            super("J" + CC[cc] + " J");
            this.cc = cc;
        }

        @Override
        void run(Executor x, Insn i) {
            if (x.s.condition(cc)) {
                x.finish(x.nearTarget(x.startRip + i.len + i.imm, x.branchSize()));
            } else {
                x.done();
            }
        }
    }

    /** JMP rel8 / rel16/32 (EB, E9). */
    private static final Op JMP_REL = new Op("JMP J") {
        @Override
        void run(Executor x, Insn i) {
            x.finish(x.nearTarget(x.startRip + i.len + i.imm, x.branchSize()));
        }
    };

    /** CALL rel16/32 (E8): pushes the next RIP, then jumps (the target is checked before the push). */
    private static final Op CALL_REL = new Op("CALL J") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.branchSize();
            long next = x.startRip + i.len;
            long target = x.nearTarget(next + i.imm, size);
            x.push(next, size);
            x.finish(target);
        }
    };

    /** RET / RET Iw (C3, C2): pops the return address, then releases Iw more bytes of stack. */
    private static final Op RET_NEAR = new Op("RET") {
        @Override
        void run(Executor x, Insn i) {
            int extra = i.opcode == 0xC2 ? (int) i.imm & 0xFFFF : 0;
            int size = x.branchSize();
            long target = x.nearTarget(x.peek(0, size), size);
            x.addSp(size + extra);
            x.finish(target);
        }
    };

    /** CALL Ev (FF /2): the target comes from the register or memory operand, read before the push. */
    private static final Op CALL_E = new Op("CALL Ev") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.branchSize();
            long target = x.nearTarget(x.readE(size), size);
            x.push(x.startRip + i.len, size);
            x.finish(target);
        }
    };

    /** JMP Ev (FF /4). */
    private static final Op JMP_E = new Op("JMP Ev") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.branchSize();
            x.finish(x.nearTarget(x.readE(size), size));
        }
    };
}
