package io.jvmx.vmx.emulated.cpu;

/**
 * The legacy region of an XSAVE area, which is the FXSAVE image (SDM Vol. 1, 10.5.1 Table 10-2 and 13.4.1 Table
 * 13-1): the x87 state in bytes 23:0 and 159:32, MXCSR and MXCSR_MASK in bytes 31:24, the XMM registers in bytes
 * 415:160. The one place that encodes and decodes the x87 and SSE state in this layout, for XSAVE/XRSTOR (and for
 * FXSAVE/FXRSTOR, which use the same image).
 *
 * <p>Loading is in two steps so that a fault leaves the processor unchanged: {@link #readX87} / {@link #readSse}
 * read and check everything into a {@link Image}, {@link #loadX87} / {@link #loadSse} then change the state.
 */
final class LegacyRegion {
    private LegacyRegion() {
    }

    static final int MXCSR = 24, MXCSR_MASK_OFFSET = 28, ST0 = 32, XMM0 = 160;
    /** MXCSR bits this processor implements (MXCSR_MASK, Vol. 1, 11.6.6): all of 15:0, DAZ included. */
    static final int MXCSR_MASK = 0xFFFF;
    static final int MXCSR_RESET = 0x1F80;

    /** Register values read from memory, held until the whole instruction is known not to fault. */
    static final class Image {
        int fcw, fsw, ftw, fop, fcs, fds;
        long fip, fdp;
        final long[] significand = new long[8];
        final int[] signExponent = new int[8];
        int mxcsr;
        final long[] xmm = new long[32];
    }

    // ============================================================================================ x87

    /**
     * Writes the x87 state: FCW, FSW, the abridged tag (one bit per physical register: 0 empty, 1 not), FOP, the
     * last instruction and data pointers (64-bit offsets with REX.W, else 32-bit offsets and selectors: Vol. 1,
     * 13.5.1), and ST0-ST7 in stack order, 10 bytes each with 6 zero bytes.
     */
    static void storeX87(X87State f, Mmu m, long lin, int priv, boolean rexW) {
        int abridged = 0;
        for (int r = 0; r < 8; r++) {
            if (((f.tag >>> (2 * r)) & 3) != 3) {
                abridged |= 1 << r;
            }
        }
        m.write(lin, 8, (f.control & 0xFFFFL) | (f.status & 0xFFFFL) << 16 | (long) abridged << 32
                | (f.lastOpcode & 0x7FFL) << 48, priv);
        if (rexW) {
            m.write(lin + 8, 8, f.lastInstruction, priv);
            m.write(lin + 16, 8, f.lastData, priv);
        } else {
            m.write(lin + 8, 8, (f.lastInstruction & 0xFFFF_FFFFL) | (f.lastCs & 0xFFFFL) << 32, priv);
            m.write(lin + 16, 8, (f.lastData & 0xFFFF_FFFFL) | (f.lastDs & 0xFFFFL) << 32, priv);
        }
        int top = (f.status >>> 11) & 7;
        for (int st = 0; st < 8; st++) {
            int r = (top + st) & 7;
            m.write(lin + ST0 + 16 * st, 8, f.significand[r], priv);
            m.write(lin + ST0 + 16 * st + 8, 8, f.signExponent[r] & 0xFFFFL, priv);
        }
    }

    static void readX87(Image img, Mmu m, long lin, int priv, boolean rexW) {
        long w0 = m.read(lin, 8, priv);
        img.fcw = (int) w0 & 0xFFFF;
        img.fsw = (int) (w0 >>> 16) & 0xFFFF;
        img.ftw = (int) (w0 >>> 32) & 0xFF;
        img.fop = (int) (w0 >>> 48) & 0x7FF;
        long w1 = m.read(lin + 8, 8, priv);
        long w2 = m.read(lin + 16, 8, priv);
        if (rexW) {
            img.fip = w1;
            img.fdp = w2;
            img.fcs = 0;
            img.fds = 0;
        } else {
            img.fip = w1 & 0xFFFF_FFFFL;
            img.fcs = (int) (w1 >>> 32) & 0xFFFF;
            img.fdp = w2 & 0xFFFF_FFFFL;
            img.fds = (int) (w2 >>> 32) & 0xFFFF;
        }
        int top = (img.fsw >>> 11) & 7;
        for (int st = 0; st < 8; st++) {
            int r = (top + st) & 7;
            img.significand[r] = m.read(lin + ST0 + 16 * st, 8, priv);
            img.signExponent[r] = (int) m.read(lin + ST0 + 16 * st + 8, 2, priv);
        }
    }

    /** Loads x87 state read by {@link #readX87}; the full tag word is recomputed from the registers (FXRSTOR). */
    static void loadX87(X87State f, Image img) {
        f.control = img.fcw;
        f.status = img.fsw;
        f.lastOpcode = img.fop;
        f.lastInstruction = img.fip;
        f.lastCs = img.fcs;
        f.lastData = img.fdp;
        f.lastDs = img.fds;
        int tag = 0;
        for (int r = 0; r < 8; r++) {
            f.significand[r] = img.significand[r];
            f.signExponent[r] = img.signExponent[r];
            int t = (img.ftw & (1 << r)) == 0 ? 3 : tagOf(img.significand[r], img.signExponent[r]);
            tag |= t << (2 * r);
        }
        f.tag = tag;
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

    /** The tag of a non-empty register (Vol. 1, 8.1.7): 00 valid, 01 zero, 10 special (NaN, infinity, denormal,
     * unsupported). */
    static int tagOf(long significand, int signExponent) {
        int e = signExponent & 0x7FFF;
        if (e == 0x7FFF) {
            return 2;
        }
        if (e == 0) {
            return significand == 0 ? 1 : 2;
        }
        return significand < 0 ? 0 : 2; // integer bit clear: an unnormal
    }

    // ============================================================================================ SSE

    static void storeMxcsr(SseState s, Mmu m, long lin, int priv) {
        m.write(lin + MXCSR, 8, (s.mxcsr & 0xFFFF_FFFFL) | (long) MXCSR_MASK << 32, priv);
    }

    /** XMM0-XMM7, or XMM0-XMM15 in 64-bit mode (Vol. 1, 13.5.2). */
    static void storeXmm(SseState s, Mmu m, long lin, int priv, int registers) {
        for (int k = 0; k < 2 * registers; k++) {
            m.write(lin + XMM0 + 8 * k, 8, s.xmm[k], priv);
        }
    }

    static void readXmm(Image img, Mmu m, long lin, int priv, int registers) {
        for (int k = 0; k < 2 * registers; k++) {
            img.xmm[k] = m.read(lin + XMM0 + 8 * k, 8, priv);
        }
    }

    static void loadXmm(SseState s, Image img, int registers) {
        System.arraycopy(img.xmm, 0, s.xmm, 0, 2 * registers);
    }

    static boolean sseInitial(SseState s, int registers) {
        for (int k = 0; k < 2 * registers; k++) {
            if (s.xmm[k] != 0) {
                return false;
            }
        }
        return true;
    }
}
