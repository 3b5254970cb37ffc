package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.X87Ops.plus;

/**
 * The FXSAVE image, which is also the legacy region of an XSAVE area (SDM Vol. 2A FXSAVE, Tables 3-53 and 3-56;
 * Vol. 1, 13.4.1 Table 13-1): the x87 state in bytes 23:0 and 159:32, MXCSR and MXCSR_MASK in bytes 31:24, the XMM
 * registers in bytes 415:160. The one place that encodes and decodes the x87 and SSE state in this layout, for
 * FXSAVE/FXRSTOR and XSAVE/XRSTOR alike (XsaveOps), so that the two families cannot disagree about it.
 *
 * <p>Every offset goes through {@link X87Ops#plus}: outside 64-bit mode the linear address wraps at 4 GiB. The
 * callers check the whole region first (segmentation, alignment, every page translated for the access, MXCSR's
 * reserved bits, the XSAVE header), so a load or store here cannot fault half-way and a fault leaves both the
 * processor and memory as they were.
 */
final class LegacyRegion {
    private LegacyRegion() {
    }

    /** Byte offsets in the region. */
    static final int FCW = 0, FIP = 8, FDP = 16, MXCSR = 24, ST0 = 32, XMM0 = 160;

    /** The XMM registers of the region: XMM0-15 in 64-bit mode, else XMM0-7 (Vol. 2A FXSAVE; Vol. 1, 13.5.2). */
    static int xmmRegisters(Executor x) {
        return x.mode64 ? 16 : 8;
    }

    // ============================================================================================ x87

    /**
     * Writes the x87 state: FCW, FSW, the abridged tag word (one bit per physical register: 0 empty, 1 not), FOP
     * (11 bits), the last instruction and data pointers (64-bit offsets with REX.W; else 32-bit offsets with FCS
     * and FDS: Vol. 2A FXSAVE, Tables 3-53 and 3-56; Vol. 1, 13.5.1), and ST0-ST7 in stack order, 10 bytes each
     * followed by 6 zero bytes. The x87 state does not change and a pending exception is not checked: neither
     * FXSAVE nor XSAVE waits.
     */
    static void storeX87(Executor x, long lin, boolean rexW) {
        X87State f = x.s.x87;
        Mmu m = x.m;
        int priv = x.dataPriv;
        int abridged = 0;
        for (int p = 0; p < 8; p++) {
            if (!X87Ops.empty(f, p)) {
                abridged |= 1 << p;
            }
        }
        m.write(plus(x, lin, FCW), 8, (f.control & 0xFFFFL) | (f.status & 0xFFFFL) << 16 | (long) abridged << 32
                | (f.lastOpcode & 0x7FFL) << 48, priv);
        if (rexW) {
            m.write(plus(x, lin, FIP), 8, f.lastInstruction, priv);
            m.write(plus(x, lin, FDP), 8, f.lastData, priv);
        } else {
            m.write(plus(x, lin, FIP), 8, (f.lastInstruction & 0xFFFF_FFFFL) | (f.lastCs & 0xFFFFL) << 32, priv);
            m.write(plus(x, lin, FDP), 8, (f.lastData & 0xFFFF_FFFFL) | (f.lastDs & 0xFFFFL) << 32, priv);
        }
        for (int k = 0; k < 8; k++) {
            int p = X87Ops.physical(f, k);
            m.write(plus(x, lin, ST0 + 16 * k), 8, f.significand[p], priv);
            m.write(plus(x, lin, ST0 + 16 * k + 8), 8, f.signExponent[p] & 0xFFFFL, priv);
        }
    }

    /**
     * Loads the x87 state that {@link #storeX87} writes (FXRSTOR, XRSTOR). The control word's reserved bits are
     * loaded as FLDCW loads them ({@link X87Ops#controlWord}); ES and B follow from the loaded flags and masks, so a
     * flag the image leaves unmasked is pending for the next waiting instruction; an abridged tag bit of 1 makes the
     * register non-empty (its full tag is computed from its contents when it is stored: Vol. 1, 8.1.7).
     */
    static void loadX87(Executor x, long lin, boolean rexW) {
        X87State f = x.s.x87;
        Mmu m = x.m;
        int priv = x.dataPriv;
        long w0 = m.read(plus(x, lin, FCW), 8, priv);
        f.control = X87Ops.controlWord((int) w0 & 0xFFFF);
        f.status = (int) (w0 >>> 16) & 0xFFFF;
        X87Ops.summary(f);
        int abridged = (int) (w0 >>> 32) & 0xFF;
        int tag = 0;
        for (int p = 0; p < 8; p++) {
            if ((abridged & (1 << p)) == 0) {
                tag |= 3 << (2 * p);
            }
        }
        f.tag = tag;
        f.lastOpcode = (int) (w0 >>> 48) & 0x7FF;
        long w1 = m.read(plus(x, lin, FIP), 8, priv);
        long w2 = m.read(plus(x, lin, FDP), 8, priv);
        if (rexW) {
            f.lastInstruction = w1;
            f.lastCs = 0;
            f.lastData = w2;
            f.lastDs = 0;
        } else {
            f.lastInstruction = w1 & 0xFFFF_FFFFL;
            f.lastCs = (int) (w1 >>> 32) & 0xFFFF;
            f.lastData = w2 & 0xFFFF_FFFFL;
            f.lastDs = (int) (w2 >>> 32) & 0xFFFF;
        }
        for (int k = 0; k < 8; k++) {
            int p = X87Ops.physical(f, k);
            f.significand[p] = m.read(plus(x, lin, ST0 + 16 * k), 8, priv);
            f.signExponent[p] = (int) m.read(plus(x, lin, ST0 + 16 * k + 8), 2, priv);
        }
    }

    /** The x87 initial configuration (Vol. 1, 13.6): FCW 037FH, FSW 0, all tags empty, pointers 0, registers 0. */
    static void initX87(X87State f) {
        f.init();
        for (int r = 0; r < 8; r++) {
            f.significand[r] = 0;
            f.signExponent[r] = 0;
        }
    }

    static boolean x87Initial(X87State f) {
        if (f.control != 0x037F || f.status != 0 || f.tag != 0xFFFF || f.lastOpcode != 0 || f.lastInstruction != 0
                || f.lastCs != 0 || f.lastData != 0 || f.lastDs != 0) {
            return false;
        }
        for (int r = 0; r < 8; r++) {
            if (f.significand[r] != 0 || f.signExponent[r] != 0) {
                return false;
            }
        }
        return true;
    }

    // ============================================================================================ SSE

    /** Writes MXCSR and MXCSR_MASK (bytes 31:24). */
    static void storeMxcsr(Executor x, long lin) {
        x.m.write(plus(x, lin, MXCSR), 8, (x.s.sse.mxcsr & 0xFFFF_FFFFL) | (long) SseState.MXCSR_MASK << 32,
                x.dataPriv);
    }

    /**
     * MXCSR as the region holds it; #GP(0) if it sets a bit outside MXCSR_MASK (Vol. 2A FXRSTOR and Vol. 1, 13.8:
     * XRSTOR). Read before anything is loaded, so the #GP leaves the state as it was.
     */
    static int checkedMxcsr(Executor x, long lin) {
        long v = x.m.read(plus(x, lin, MXCSR), 4, x.dataPriv);
        if ((v & ~SseState.MXCSR_MASK) != 0) {
            throw x.gp(0);
        }
        return (int) v;
    }

    static void storeXmm(Executor x, long lin) {
        long[] xmm = x.s.sse.xmm;
        for (int k = 0; k < 2 * xmmRegisters(x); k++) {
            x.m.write(plus(x, lin, XMM0 + 8 * k), 8, xmm[k], x.dataPriv);
        }
    }

    static void loadXmm(Executor x, long lin) {
        long[] xmm = x.s.sse.xmm;
        for (int k = 0; k < 2 * xmmRegisters(x); k++) {
            xmm[k] = x.m.read(plus(x, lin, XMM0 + 8 * k), 8, x.dataPriv);
        }
    }

    /** The SSE initial configuration of the registers the region holds, MXCSR apart (Vol. 1, 13.6). */
    static void initXmm(Executor x) {
        java.util.Arrays.fill(x.s.sse.xmm, 0, 2 * xmmRegisters(x), 0L);
    }

    static boolean xmmInitial(Executor x) {
        long[] xmm = x.s.sse.xmm;
        for (int k = 0; k < 2 * xmmRegisters(x); k++) {
            if (xmm[k] != 0) {
                return false;
            }
        }
        return true;
    }
}
