package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Executor.RAX;

import io.jvmx.vmx.api.arch.Exceptions;

/**
 * Decimal arithmetic on AL and AH (SDM Vol. 2A, DAA, DAS, AAA, AAS, AAM, AAD) and SALC (D6: AL := CF ? FFH : 0, an
 * opcode the SDM leaves reserved that Intel and AMD processors execute so outside 64-bit mode). All are invalid in
 * 64-bit mode (Table A-2, "i64"). Flags the SDM leaves undefined get the values noted at each.
 */
final class BcdOps {
    private BcdOps() {
    }

    /** The op for {@code i}, or null if it is not one of these. */
    static Op select(Insn i) {
        if (i.map != Insn.MAP_1) {
            return null;
        }
        Op op;
        switch (i.opcode) {
            case 0x27: op = DAA; break;
            case 0x2F: op = DAS; break;
            case 0x37: op = AAA; break;
            case 0x3F: op = AAS; break;
            case 0xD4: op = AAM; break;
            case 0xD5: op = AAD; break;
            case 0xD6: op = SALC; break;
            default: return null;
        }
        return i.mode == Insn.MODE64 ? OpTable.UNDEFINED : op;
    }

    private static int al(CpuState s) {
        return (int) s.gpr[RAX] & 0xFF;
    }

    /** Writes AL and the status flags: CF, AF as given, SF ZF PF from AL, OF 0 (undefined by the SDM). */
    private static void commit(Executor x, int al, boolean cf, boolean af) {
        x.setReg(RAX, 1, al);
        CpuState s = x.s;
        s.setRflags((s.rflags() & ~Alu.STATUS) | Alu.szp(al, 1) | (cf ? Alu.CF : 0) | (af ? Alu.AF : 0));
        x.done();
    }

    /** DAA (27): AL adjusted to two packed BCD digits after an addition. */
    private static final Op DAA = new Op("DAA") {
        @Override
        void run(Executor x, Insn i) {
            long f = x.s.rflags();
            int al = al(x.s);
            int oldAl = al;
            boolean oldCf = (f & Alu.CF) != 0;
            boolean cf = false;
            boolean af = false;
            if ((al & 0xF) > 9 || (f & Alu.AF) != 0) {
                al += 6;
                cf = oldCf || al > 0xFF;
                al &= 0xFF;
                af = true;
            }
            if (oldAl > 0x99 || oldCf) {
                al = (al + 0x60) & 0xFF;
                cf = true;
            } else {
                cf = false;
            }
            commit(x, al, cf, af);
        }
    };

    /** DAS (2F): AL adjusted to two packed BCD digits after a subtraction. */
    private static final Op DAS = new Op("DAS") {
        @Override
        void run(Executor x, Insn i) {
            long f = x.s.rflags();
            int al = al(x.s);
            int oldAl = al;
            boolean oldCf = (f & Alu.CF) != 0;
            boolean cf = false;
            boolean af = false;
            if ((al & 0xF) > 9 || (f & Alu.AF) != 0) {
                cf = oldCf || al < 6;
                al = (al - 6) & 0xFF;
                af = true;
            }
            if (oldAl > 0x99 || oldCf) {
                al = (al - 0x60) & 0xFF;
                cf = true;
            }
            commit(x, al, cf, af);
        }
    };

    /**
     * AAA (37) and AAS (3F): after an unpacked-BCD addition / subtraction, if AL's low digit is above 9 or AF is set,
     * AX := AX + 106H / AX := AX - 6 then AH := AH - 1 (a 16-bit operation: AL's borrow reaches AH), and CF = AF = 1;
     * else CF = AF = 0; then AL := AL AND 0FH. OF SF ZF PF are undefined: SF ZF PF from AL, OF 0.
     */
    private static final Op AAA = new UnpackedAdjust(true);
    private static final Op AAS = new UnpackedAdjust(false);

    private static final class UnpackedAdjust extends Op {
        private final boolean add;

        UnpackedAdjust(boolean add) {
            super(add ? "AAA" : "AAS");
            this.add = add;
        }

        @Override
        void run(Executor x, Insn i) {
            CpuState s = x.s;
            int ax = (int) s.gpr[RAX] & 0xFFFF;
            boolean adjust = (ax & 0xF) > 9 || (s.rflags() & Alu.AF) != 0;
            if (adjust) {
                ax = add ? ax + 0x106 : ax - 6 - 0x100;
            }
            ax &= 0xFF0F;
            x.setReg(RAX, 2, ax);
            s.setRflags((s.rflags() & ~Alu.STATUS) | Alu.szp(ax & 0xFF, 1) | (adjust ? Alu.AF | Alu.CF : 0));
            x.done();
        }
    }

    /**
     * AAM ib (D4): AH := AL / ib, AL := AL MOD ib; #DE for ib = 0. SF ZF PF from AL; OF AF CF undefined (0).
     */
    private static final Op AAM = new Op("AAM Ib") {
        @Override
        void run(Executor x, Insn i) {
            int base = (int) i.imm & 0xFF;
            if (base == 0) {
                throw x.exc(Exceptions.DE, -1);
            }
            int al = al(x.s);
            int r = al % base;
            x.setReg(RAX, 2, ((al / base) << 8) | r);
            x.s.setRflags((x.s.rflags() & ~Alu.STATUS) | Alu.szp(r, 1));
            x.done();
        }
    };

    /** AAD ib (D5): AL := (AL + AH * ib) AND FFH, AH := 0. SF ZF PF from AL; OF AF CF undefined (0). */
    private static final Op AAD = new Op("AAD Ib") {
        @Override
        void run(Executor x, Insn i) {
            int base = (int) i.imm & 0xFF;
            int ax = (int) x.s.gpr[RAX];
            int r = ((ax & 0xFF) + ((ax >>> 8) & 0xFF) * base) & 0xFF;
            x.setReg(RAX, 2, r);
            x.s.setRflags((x.s.rflags() & ~Alu.STATUS) | Alu.szp(r, 1));
            x.done();
        }
    };

    /** SALC (D6): AL := FFH if CF, else 0; no flags change. */
    private static final Op SALC = new Op("SALC") {
        @Override
        void run(Executor x, Insn i) {
            x.setReg(RAX, 1, x.s.cf() != 0 ? 0xFF : 0);
            x.done();
        }
    };
}
