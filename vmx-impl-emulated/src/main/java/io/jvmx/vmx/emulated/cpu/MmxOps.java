package io.jvmx.vmx.emulated.cpu;

/**
 * MMX instructions (SDM Vol. 1, chapter 9; Vol. 2 instruction pages), with the MMX forms that SSE, SSE2 and SSSE3
 * added (PSHUFW, PINSRW, PEXTRW, PMOVMSKB, PAVGB/W, PMINUB, PMAXUB, PMINSW, PMAXSW, PSADBW, PMULHUW, MASKMOVQ,
 * MOVNTQ; PADDQ, PSUBQ, PMULUDQ; the 0F 38 and 0F 3A 0F operations): the encodings without a mandatory prefix whose
 * operands are MMX registers. MM0-MM7 are the significands of the x87 registers R0-R7 (Vol. 1, 9.5): an MMX
 * instruction other than EMMS sets TOP to 0 and every tag to valid, and a written MMi gets sign and exponent all
 * ones; EMMS empties every tag. Checks: #UD if CR0.EM, #NM if CR0.TS, #MF for a pending x87 exception
 * ({@link SimdOperands#checkMmx}); CR4.OSFXSR does not matter to MMX-register forms.
 */
final class MmxOps {
    private MmxOps() {
    }

    /** The op for an MMX encoding (no mandatory prefix), or null. */
    static Op select(Insn i) {
        if (i.vex || i.opPrefix || i.rep != 0) {
            return null;
        }
        boolean mem = i.memory();
        int op = i.opcode;
        if (i.map == Insn.MAP_0F38) {
            if (SseOps.INTEGER_0F38[op] >= 0) {
                return new PackedMm(SseOps.NAMES_0F38[op] + " mm, mm/m64", SseOps.INTEGER_0F38[op]);
            }
            if (SseOps.SHUFFLE_0F38[op] >= 0) {
                return new ShuffleMm(SseOps.NAMES_0F38[op] + " mm, mm/m64", SseOps.SHUFFLE_0F38[op]);
            }
            return null;
        }
        if (i.map == Insn.MAP_0F3A) {
            return op == 0x0F ? new ShuffleMm("PALIGNR mm, mm/m64, imm8", PackedShuffle.PALIGNR) : null;
        }
        if (i.map != Insn.MAP_0F) {
            return null;
        }
        switch (op) {
            case 0x6C: case 0x6D: return OpTable.UNDEFINED; // PUNPCKLQDQ/PUNPCKHQDQ exist with 66 only
            case 0x6E: return MOVD_TO_MM;
            case 0x6F: return MOVQ_LOAD;
            case 0x70: return new ShuffleMm("PSHUFW mm, mm/m64, imm8", PackedShuffle.PSHUFW);
            case 0x71: case 0x72: case 0x73: return shiftImmediate(op, i);
            case 0x77: return EMMS;
            case 0x7E: return MOVD_FROM_MM;
            case 0x7F: return MOVQ_STORE;
            case 0xC4: return PINSRW;
            case 0xC5: return mem ? OpTable.UNDEFINED : PEXTRW;
            case 0xD7: return mem ? OpTable.UNDEFINED : PMOVMSKB;
            case 0xE7: return mem ? MOVNTQ : OpTable.UNDEFINED;
            case 0xF7: return mem ? OpTable.UNDEFINED : MASKMOVQ;
            default: break;
        }
        if (SseOps.INTEGER_0F[op] >= 0) {
            return new PackedMm(SseOps.INTEGER_0F_NAMES[op] + " mm, mm/m64", SseOps.INTEGER_0F[op]);
        }
        if (SseOps.SHUFFLE_0F[op] >= 0) {
            return new ShuffleMm(SseOps.SHUFFLE_0F_NAMES[op] + " mm, mm/m64", SseOps.SHUFFLE_0F[op]);
        }
        if (SseOps.SHIFT_0F[op] >= 0) {
            return new PackedMm(SseOps.SHIFT_0F_NAMES[op] + " mm, mm/m64", SseOps.SHIFT_0F[op]);
        }
        return null;
    }

    /** mm, mm/m64: a {@link PackedInteger} operation (shifts by mm/m64 too: the count is the whole source). */
    static final class PackedMm extends Op {
        private final int op;

        PackedMm(String name, int op) {
            super(name);
            this.op = op;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long b = o.sourceMm();
            long v = PackedInteger.apply(op, o.mm(i.reg), b);
            o.mmxTransition();
            o.setMm(i.reg, v);
            x.done();
        }
    }

    /** mm, mm/m64 (imm8): a {@link PackedShuffle} operation at 8 bytes. */
    static final class ShuffleMm extends Op {
        private final int op;

        ShuffleMm(String name, int op) {
            super(name);
            this.op = op;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long b = o.sourceMm();
            PackedShuffle.compute(o, op, o.mm(i.reg), 0, b, 0, 8, (int) i.imm & 0xFF, 0, 0);
            o.mmxTransition();
            o.setMm(i.reg, o.rl);
            x.done();
        }
    }

    /** Groups 12-14 without prefix: PSRLW/PSRAW/PSLLW, PSRLD/PSRAD/PSLLD, PSRLQ/PSLLQ mm, imm8. */
    private static Op shiftImmediate(int opcode, Insn i) {
        if (i.memory()) {
            return OpTable.UNDEFINED;
        }
        int g = i.regOp();
        int op;
        String name;
        switch (opcode) {
            case 0x71:
                op = g == 2 ? PackedInteger.PSRLW : g == 4 ? PackedInteger.PSRAW : g == 6 ? PackedInteger.PSLLW : -1;
                name = g == 2 ? "PSRLW" : g == 4 ? "PSRAW" : "PSLLW";
                break;
            case 0x72:
                op = g == 2 ? PackedInteger.PSRLD : g == 4 ? PackedInteger.PSRAD : g == 6 ? PackedInteger.PSLLD : -1;
                name = g == 2 ? "PSRLD" : g == 4 ? "PSRAD" : "PSLLD";
                break;
            default:
                op = g == 2 ? PackedInteger.PSRLQ : g == 6 ? PackedInteger.PSLLQ : -1;
                name = g == 2 ? "PSRLQ" : "PSLLQ";
                break;
        }
        if (op < 0) {
            return OpTable.UNDEFINED;
        }
        int operation = op;
        return new Op(name + " mm, imm8") {
            @Override
            void run(Executor x, Insn d) {
                SimdOperands o = x.simd;
                o.checkMmx();
                long v = PackedInteger.apply(operation, o.mm(d.rm), d.imm & 0xFF);
                o.mmxTransition();
                o.setMm(d.rm, v);
                x.done();
            }
        };
    }

    /** EMMS (Vol. 2A): every x87 tag empty (11B), so that x87 code may follow MMX code. */
    static final Op EMMS = new Op("EMMS") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            o.x87.tag = 0xFFFF;
            x.done();
        }
    };

    /** MOVD mm, r/m32 (zero-extended) and MOVQ mm, r/m64 (REX.W). */
    static final Op MOVD_TO_MM = new Op("MOVD/MOVQ mm, r/m") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            int size = (i.rex & 8) != 0 ? 8 : 4;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : o.readMemory(size);
            o.mmxTransition();
            o.setMm(i.reg, v);
            x.done();
        }
    };

    /** MOVD r/m32, mm and MOVQ r/m64, mm (REX.W). */
    static final Op MOVD_FROM_MM = new Op("MOVD/MOVQ r/m, mm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            int size = (i.rex & 8) != 0 ? 8 : 4;
            long v = o.mm(i.reg);
            if (i.mod == 3) {
                x.setReg(i.rm, size, v);
            } else {
                o.writeMemory(size, size == 8 ? v : v & 0xFFFF_FFFFL);
            }
            o.mmxTransition();
            x.done();
        }
    };

    static final Op MOVQ_LOAD = new Op("MOVQ mm, mm/m64") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long v = o.sourceMm();
            o.mmxTransition();
            o.setMm(i.reg, v);
            x.done();
        }
    };

    /** MOVQ mm/m64, mm (0F 7F) and MOVNTQ m64, mm (0F E7). */
    static final class StoreMm extends Op {
        StoreMm(String name) {
            super(name);
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long v = o.mm(i.reg);
            if (i.mod == 3) {
                o.setMm(i.rm, v);
            } else {
                o.writeMemory(8, v);
            }
            o.mmxTransition();
            x.done();
        }
    }

    static final Op MOVQ_STORE = new StoreMm("MOVQ mm/m64, mm");
    static final Op MOVNTQ = new StoreMm("MOVNTQ m64, mm");

    /** PINSRW mm, r32/m16, imm8 (imm8[1:0] selects the word). */
    static final Op PINSRW = new Op("PINSRW mm, r32/m16, imm8") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long v = i.mod == 3 ? x.getReg(i.rm, 4) : o.readMemory(2);
            int shift = 16 * ((int) i.imm & 3);
            long r = (o.mm(i.reg) & ~(0xFFFFL << shift)) | ((v & 0xFFFF) << shift);
            o.mmxTransition();
            o.setMm(i.reg, r);
            x.done();
        }
    };

    /** PEXTRW r32, mm, imm8: the word, zero-extended. */
    static final Op PEXTRW = new Op("PEXTRW r32, mm, imm8") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long v = (o.mm(i.rm) >>> (16 * ((int) i.imm & 3))) & 0xFFFF;
            o.mmxTransition();
            x.setReg(i.reg, i.opSize == 8 ? 8 : 4, v);
            x.done();
        }
    };

    /** PMOVMSKB r32, mm: the top bits of the eight bytes. */
    static final Op PMOVMSKB = new Op("PMOVMSKB r32, mm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            long v = o.mm(i.rm);
            long mask = 0;
            for (int k = 0; k < 8; k++) {
                mask |= ((v >>> (8 * k + 7)) & 1) << k;
            }
            o.mmxTransition();
            x.setReg(i.reg, i.opSize == 8 ? 8 : 4, mask);
            x.done();
        }
    };

    /** MASKMOVQ mm1, mm2: the bytes of mm1 selected by mm2's top bits, stored at DS:rDI. */
    static final Op MASKMOVQ = new Op("MASKMOVQ mm, mm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkMmx();
            SseOps.maskedStore(x, o.mm(i.reg), 0, o.mm(i.rm), 0, 8);
            o.mmxTransition();
            x.done();
        }
    };
}
