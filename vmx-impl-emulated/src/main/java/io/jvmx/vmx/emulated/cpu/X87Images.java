package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.X87Ops.enter;
import static io.jvmx.vmx.emulated.cpu.X87Ops.plus;

/**
 * The x87 state in memory: the environment of FNSTENV/FLDENV in its four layouts (16- and 32-bit, protected and
 * real mode: SDM Vol. 1, 8.1.10, Figures 8-9 to 8-12), with the registers after it for FNSAVE/FRSTOR (Vol. 2A FSAVE).
 * The 512-byte FXSAVE image, which holds the SSE state too, is {@link LegacyRegion}'s, shared with XSAVE.
 *
 * <p>Every image is checked (segment limits, paging) before anything is read into the processor or written to
 * memory, so a fault leaves both as they were.
 */
final class X87Images {
    private X87Images() {
    }

    /** Tag values of the full tag word (Vol. 1, 8.1.7, Figure 8-7). */
    private static final int VALID = 0, ZERO = 1, SPECIAL = 2, EMPTY = 3;

    /** The tag word with each register's tag computed from its contents, as FNSTENV and FNSAVE store it. */
    static int fullTagWord(X87State f) {
        int t = 0;
        for (int p = 0; p < 8; p++) {
            int tag;
            if (X87Ops.empty(f, p)) {
                tag = EMPTY;
            } else {
                switch (ExtendedPrecision.classify(f.signExponent[p], f.significand[p])) {
                    case ExtendedPrecision.NORMAL: tag = VALID; break;
                    case ExtendedPrecision.ZERO: tag = ZERO; break;
                    default: tag = SPECIAL; break; // NaN, infinity, denormal, unsupported
                }
            }
            t |= tag << (2 * p);
        }
        return t;
    }

    /** Loads a tag word: only whether a register is empty matters (Vol. 1, 8.1.7). */
    static void loadTagWord(X87State f, int tw) {
        int t = 0;
        for (int p = 0; p < 8; p++) {
            if (((tw >>> (2 * p)) & 3) == EMPTY) {
                t |= EMPTY << (2 * p);
            }
        }
        f.tag = t;
    }

    /** The environment's size: 14 bytes with a 16-bit operand size, else 28 (64-bit mode: the 32-bit layout). */
    private static int environmentSize(Insn i) {
        return i.opSize == 2 ? 14 : 28;
    }

    /**
     * The linear address of an image of {@code size} bytes, every page of it translated for the access, and the
     * privilege of the accesses within it. An image's alignment is that of the whole area (SDM Vol. 3A 6.15, Table
     * 6-7: "FSTENV/FLDENV Save Area" and "FSAVE/FRSTOR Save Area", 4 or 2 depending on operand size): the fields and
     * the 80-bit registers inside it are not checked on their own (at 28 + 10k, most registers of an aligned FSAVE
     * area are not 8-aligned).
     */
    private static long image(Executor x, Insn i, long ea, int size, boolean write) {
        long lin = x.lin(i.eaSeg, ea, size, write);
        x.m.probe(lin, size, write ? Mmu.WRITE : Mmu.READ, x.checkAlignment(lin, i.opSize == 2 ? 2 : 4));
        return lin;
    }

    /** The privilege of the accesses within an image that {@link #image} has checked. */
    private static int priv(Executor x) {
        return Mmu.withoutAlignmentCheck(x.dataPriv);
    }

    /** The real-mode form of a pointer: the 20-bit (32-bit) linear address of selector:offset (Figure 8-10). */
    private static long realModePointer(int selector, long offset) {
        return ((long) (selector & 0xFFFF) << 4) + (offset & 0xFFFF_FFFFL);
    }

    /** Writes the environment at {@code lin}; Figures 8-9 to 8-12, reserved halves as 0xFFFF as the processor does. */
    private static void storeEnvironment(Executor x, Insn i, X87State f, long lin) {
        int priv = priv(x);
        int tw = fullTagWord(f);
        int fop = f.lastOpcode & 0x7FF;
        if (i.opSize == 2) {
            if (x.segments8086) { // the real-mode layout, in virtual-8086 mode too (SDM Vol. 1 8.1.10)
                long ip = realModePointer(f.lastCs, f.lastInstruction);
                long dp = realModePointer(f.lastDs, f.lastData);
                write16(x, lin, 0, f.control, priv);
                write16(x, lin, 2, f.status, priv);
                write16(x, lin, 4, tw, priv);
                write16(x, lin, 6, ip, priv);
                write16(x, lin, 8, ((ip >>> 16) & 0xF) << 12 | fop, priv);
                write16(x, lin, 10, dp, priv);
                write16(x, lin, 12, ((dp >>> 16) & 0xF) << 12, priv);
            } else {
                write16(x, lin, 0, f.control, priv);
                write16(x, lin, 2, f.status, priv);
                write16(x, lin, 4, tw, priv);
                write16(x, lin, 6, f.lastInstruction, priv);
                write16(x, lin, 8, f.lastCs, priv);
                write16(x, lin, 10, f.lastData, priv);
                write16(x, lin, 12, f.lastDs, priv);
            }
            return;
        }
        long reserved = 0xFFFF_0000L;
        write32(x, lin, 0, reserved | f.control, priv);
        write32(x, lin, 4, reserved | f.status, priv);
        write32(x, lin, 8, reserved | tw, priv);
        if (x.segments8086) {
            long ip = realModePointer(f.lastCs, f.lastInstruction);
            long dp = realModePointer(f.lastDs, f.lastData);
            write32(x, lin, 12, reserved | (ip & 0xFFFF), priv);
            write32(x, lin, 16, ((ip >>> 16) & 0xFFFF) << 12 | fop, priv);
            write32(x, lin, 20, reserved | (dp & 0xFFFF), priv);
            write32(x, lin, 24, ((dp >>> 16) & 0xFFFF) << 12, priv);
        } else {
            write32(x, lin, 12, f.lastInstruction, priv);
            write32(x, lin, 16, (long) fop << 16 | (f.lastCs & 0xFFFF), priv);
            write32(x, lin, 20, f.lastData, priv);
            write32(x, lin, 24, reserved | (f.lastDs & 0xFFFF), priv);
        }
    }

    /** Reads the environment at {@code lin} into the processor (the layouts of {@link #storeEnvironment}). */
    private static void loadEnvironment(Executor x, Insn i, X87State f, long lin) {
        int priv = priv(x);
        int cw, sw, tw;
        long ip, dp;
        int cs = 0, ds = 0, fop;
        if (i.opSize == 2) {
            cw = read16(x, lin, 0, priv);
            sw = read16(x, lin, 2, priv);
            tw = read16(x, lin, 4, priv);
            int w3 = read16(x, lin, 6, priv), w4 = read16(x, lin, 8, priv);
            int w5 = read16(x, lin, 10, priv), w6 = read16(x, lin, 12, priv);
            if (x.segments8086) {
                ip = w3 | (long) (w4 >>> 12) << 16;
                fop = w4 & 0x7FF;
                dp = w5 | (long) (w6 >>> 12) << 16;
            } else {
                ip = w3;
                cs = w4;
                dp = w5;
                ds = w6;
                fop = 0; // this layout has no opcode: 0, as the processor loads it
            }
        } else {
            cw = read16(x, lin, 0, priv);
            sw = read16(x, lin, 4, priv);
            tw = read16(x, lin, 8, priv);
            long d3 = read32(x, lin, 12, priv), d4 = read32(x, lin, 16, priv);
            long d5 = read32(x, lin, 20, priv), d6 = read32(x, lin, 24, priv);
            if (x.segments8086) {
                ip = (d3 & 0xFFFF) | ((d4 >>> 12) & 0xFFFF) << 16;
                fop = (int) d4 & 0x7FF;
                dp = (d5 & 0xFFFF) | ((d6 >>> 12) & 0xFFFF) << 16;
            } else {
                ip = d3;
                cs = (int) d4 & 0xFFFF;
                fop = (int) (d4 >>> 16) & 0x7FF;
                dp = d5;
                ds = (int) d6 & 0xFFFF;
            }
        }
        f.control = X87Ops.controlWord(cw);
        f.status = sw;
        X87Ops.summary(f);
        loadTagWord(f, tw);
        f.lastInstruction = ip;
        f.lastCs = cs;
        f.lastOpcode = fop;
        f.lastData = dp;
        f.lastDs = ds;
    }

    /** FLDENV m14/28byte (Vol. 2A): a flag the loaded control word unmasks is pending for the next instruction. */
    static final Op FLDENV = new Op("FLDENV m14/28byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            long lin = image(x, i, x.ea(), environmentSize(i), false);
            loadEnvironment(x, i, f, lin);
            x.done();
        }
    };

    /** FNSTENV m14/28byte (Vol. 2A FSTENV/FNSTENV): stores the environment, then masks all exceptions. */
    static final Op FNSTENV = new Op("FNSTENV m14/28byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, false);
            long lin = image(x, i, x.ea(), environmentSize(i), true);
            storeEnvironment(x, i, f, lin);
            f.control |= 0x3F;
            X87Ops.summary(f);
            x.done();
        }
    };

    /** FRSTOR m94/108byte (Vol. 2A): the environment, then ST(0) to ST(7), 10 bytes each. */
    static final Op FRSTOR = new Op("FRSTOR m94/108byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, true);
            int env = environmentSize(i);
            long lin = image(x, i, x.ea(), env + 80, false);
            loadEnvironment(x, i, f, lin);
            for (int k = 0; k < 8; k++) {
                int p = X87Ops.physical(f, k);
                long at = plus(x, lin, env + 10 * k);
                f.significand[p] = x.m.read(at, 8, priv(x));
                f.signExponent[p] = (int) x.m.read(plus(x, at, 8), 2, priv(x));
            }
            x.done();
        }
    };

    /** FNSAVE m94/108byte (Vol. 2A FSAVE/FNSAVE): stores the environment and ST(0) to ST(7), then FNINIT. */
    static final Op FNSAVE = new Op("FNSAVE m94/108byte") {
        @Override
        void run(Executor x, Insn i) {
            X87State f = enter(x, false);
            int env = environmentSize(i);
            long lin = image(x, i, x.ea(), env + 80, true);
            storeEnvironment(x, i, f, lin);
            for (int k = 0; k < 8; k++) {
                int p = X87Ops.physical(f, k);
                long at = plus(x, lin, env + 10 * k);
                x.m.write(at, 8, f.significand[p], priv(x));
                x.m.write(plus(x, at, 8), 2, f.signExponent[p], priv(x));
            }
            f.init();
            x.done();
        }
    };

    // ============================================================================================= access

    private static void write16(Executor x, long lin, int offset, long value, int priv) {
        x.m.write(plus(x, lin, offset), 2, value, priv);
    }

    private static void write32(Executor x, long lin, int offset, long value, int priv) {
        x.m.write(plus(x, lin, offset), 4, value, priv);
    }

    private static int read16(Executor x, long lin, int offset, int priv) {
        return (int) x.m.read(plus(x, lin, offset), 2, priv);
    }

    private static long read32(Executor x, long lin, int offset, int priv) {
        return x.m.read(plus(x, lin, offset), 4, priv);
    }
}
