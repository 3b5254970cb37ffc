package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;

/**
 * Dedicated ops for the shifts of group 2 (SDM Vol. 2B SAL/SAR/SHL/SHR; opcodes C0, C1, D0-D3 with ModRM.reg 4, 5,
 * 6, 7) by 1, by CL and by an immediate. The count is masked to 5 bits (6 with 64-bit operands); a masked count of 0
 * changes neither the operand nor the flags (but a 32-bit register is zero-extended). Flags are recorded lazily ({@link CpuState#LAZY_SHL}): most code
 * overwrites them before it reads them. The rotates stay with the general implementation.
 */
final class ShiftOps {
    private ShiftOps() {
    }

    private static final int BY_ONE = 0, BY_CL = 1, BY_IMM = 2;
    /** [byte form][count source][SHL, SHR, SAR] */
    private static final Op[][][] SHIFTS = new Op[2][3][3];

    static {
        for (int b = 0; b < 2; b++) {
            for (int c = 0; c < 3; c++) {
                for (int k = 0; k < 3; k++) {
                    SHIFTS[b][c][k] = new Shift(k, c, b == 1);
                }
            }
        }
    }

    /** The dedicated op for {@code i}, or null to use the opcode map's general implementation. */
    static Op select(Insn i) {
        int op = i.opcode;
        if (i.map != Insn.MAP_1 || !(op == 0xC0 || op == 0xC1 || (op >= 0xD0 && op <= 0xD3))) {
            return null;
        }
        int kind;
        switch (i.regOp()) {
            case 4: case 6: kind = 0; break; // SHL, SAL
            case 5: kind = 1; break;         // SHR
            case 7: kind = 2; break;         // SAR
            default: return null;            // ROL ROR RCL RCR
        }
        int count = op <= 0xC1 ? BY_IMM : op <= 0xD1 ? BY_ONE : BY_CL;
        return SHIFTS[(op & 1) == 0 ? 1 : 0][count][kind];
    }

    static final class Shift extends Op {
        private static final String[] NAMES = {"SHL", "SHR", "SAR"};
        private final int kind;
        private final int countFrom;
        private final boolean bytes;

        Shift(int kind, int countFrom, boolean bytes) {
            super(NAMES[kind] + (bytes ? " Eb," : " Ev,") + (countFrom == BY_ONE ? "1" : countFrom == BY_CL ? "CL" : "Ib"));
            this.kind = kind;
            this.countFrom = countFrom;
            this.bytes = bytes;
        }

        @Override
        void run(Executor x, Insn i) {
            int size = bytes ? 1 : i.opSize;
            int raw = countFrom == BY_ONE ? 1 : countFrom == BY_CL ? (int) x.s.gpr[Executor.RCX] : (int) i.imm;
            int cnt = raw & (size == 8 ? 0x3F : 0x1F);
            long v;
            long lin = 0;
            if (i.mod == 3) {
                v = x.getReg(i.rm, size);
            } else {
                lin = x.lin(i.eaSeg, x.ea(), size, true); // checked for writing even when the count is 0
                v = x.m.read(lin, size, x.dataPriv);
            }
            if (cnt != 0) {
                long m = mask(size);
                long r;
                int lazy;
                switch (kind) {
                    case 0: r = cnt >= 64 ? 0 : (v << cnt) & m; lazy = CpuState.LAZY_SHL; break;
                    case 1: r = v >>> cnt; lazy = CpuState.LAZY_SHR; break;
                    default: r = (Alu.signExtend(v, size) >> cnt) & m; lazy = CpuState.LAZY_SAR; break;
                }
                if (i.mod == 3) {
                    x.setReg(i.rm, size, r);
                } else {
                    x.m.write(lin, size, r, x.dataPriv);
                }
                x.s.lazyFlags(lazy, v, cnt, r, size);
            } else {
                x.zeroExtendOnCountZero(size, v);
            }
            x.done();
        }
    }
}
