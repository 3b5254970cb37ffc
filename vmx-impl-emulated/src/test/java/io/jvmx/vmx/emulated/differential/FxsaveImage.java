package io.jvmx.vmx.emulated.differential;

import java.util.Arrays;

/**
 * The x87 and SSE state of a case as a 64-bit FXSAVE image (FXSAVE64/FXRSTOR64, SDM Vol. 2A FXSAVE, Table 3-56): the
 * one way a case's x87, MMX and SSE state goes in and out, on both processors. Each loads the case's image with
 * FXRSTOR64 before the instruction (natively in the stub's prologue, see {@link NativeCpu}; in the guest at its entry
 * in the state page, followed by a JMP to the instruction, see {@link InterpreterCpu}) and stores its result with
 * FXSAVE64 where the instruction lands (natively in the epilogue, in the guest at the start of each landing pad);
 * in compatibility mode the guest uses the 32-bit FXRSTOR and FXSAVE, XMM0-7 only. The image
 * holds FCW, FSW, the abridged tag word, FOP and the pointers, ST(0)-ST(7) (the MMX registers MM0-MM7 are the
 * significands of R0-R7, Vol. 1, 9.5), MXCSR and XMM0-15.
 */
final class FxsaveImage {
    /** Bytes of an FXSAVE image. */
    static final int BYTES = 512;
    static final int FCW = 0, FSW = 2, FTW = 4, FOP = 6, FIP = 8, FDP = 16, MXCSR = 24, MXCSR_MASK = 28, ST0 = 32,
            XMM0 = 160;
    /** XMM8-15: outside 64-bit mode FXSAVE and FXRSTOR do not touch them (Vol. 2A FXSAVE). */
    static final int XMM8 = 288;
    /** Bytes from here on are reserved or available to software: FXSAVE does not write them. */
    static final int WRITTEN_END = 416;
    /** Status-word bits (Vol. 1, 8.1.3). */
    static final int ES = 0x80, B = 0x8000, C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000, PE = 0x20;
    /** The value the output image is filled with before a run, so that bytes FXSAVE does not write are seen. */
    static final byte UNWRITTEN = (byte) 0xA5;
    /** MXCSR after reset: every exception masked, round to nearest (Vol. 1, 10.2.3). */
    static final int MXCSR_RESET = 0x1F80;
    /** MXCSR's exception masks (bits 12:7, Vol. 1, 10.2.3). */
    static final int MXCSR_MASKS = 0x1F80;

    private static final byte[] INITIAL = initialImage();
    private static final byte[] UNWRITTEN_IMAGE = unwrittenImage();

    private FxsaveImage() {
    }

    /**
     * The state after FNINIT, with MXCSR 1F80H and XMM registers 0 (Vol. 1, 8.1.5 and 10.2.3): natively, for cases
     * without x87 and SSE state. Not to be changed.
     */
    static byte[] initial() {
        return INITIAL;
    }

    /** A fresh copy of {@link #initial()}, for a case to change. */
    static byte[] initialCopy() {
        return INITIAL.clone();
    }

    /**
     * The x87 state the MMX instructions leave (Vol. 1, 9.5.1, Table 9-2): TOP 0, so that ST(i) is Ri and MMi, all
     * registers valid, and the exponents all ones, as an MMX write leaves them; the x87 control state is FNINIT's.
     */
    static void mmxState(byte[] image) {
        put16(image, FSW, get16(image, FSW) & ~0x3800);
        image[FTW] = (byte) 0xFF;
        for (int i = 0; i < 8; i++) {
            put16(image, ST0 + 16 * i + 8, 0xFFFF);
        }
    }

    static byte[] unwritten() {
        return UNWRITTEN_IMAGE;
    }

    private static byte[] initialImage() {
        byte[] b = new byte[BYTES];
        put16(b, FCW, 0x037F);
        put32(b, MXCSR, MXCSR_RESET);
        return b;
    }

    private static byte[] unwrittenImage() {
        byte[] b = new byte[BYTES];
        Arrays.fill(b, UNWRITTEN);
        return b;
    }

    /**
     * Refuses an image a native run cannot start from: an unmasked exception flag would be pending (#MF at a waiting
     * instruction: a signal that kills the JVM), or MXCSR has a reserved bit (FXRSTOR raises #GP).
     */
    static void checkLoadable(byte[] image) {
        int cw = get16(image, FCW), sw = get16(image, FSW);
        if ((sw & ~cw & 0x3F) != 0 || (sw & (ES | B)) != 0) {
            throw new IllegalArgumentException(String.format("x87 state with a pending exception: FCW %04x FSW %04x",
                    cw, sw));
        }
        if ((get32(image, MXCSR) & 0xFFFF_0000) != 0) {
            throw new IllegalArgumentException(String.format("MXCSR %08x", get32(image, MXCSR)));
        }
    }

    // ---- fields

    static int mxcsr(byte[] image) {
        return get32(image, MXCSR);
    }

    static void mxcsr(byte[] image, int value) {
        put32(image, MXCSR, value);
    }

    /** Bits 63:0 ({@code k} even) or 127:64 ({@code k} odd) of XMM(k / 2). */
    static long xmm(byte[] image, int k) {
        return get64(image, XMM0 + 8 * k);
    }

    static void xmm(byte[] image, int k, long value) {
        put64(image, XMM0 + 8 * k, value);
    }

    /** Sets MMi: the significand of physical register Ri, in the ST slot TOP makes it. */
    static void mm(byte[] image, int i, long value) {
        put64(image, ST0 + 16 * ((i - top(image)) & 7), value);
    }

    static int top(byte[] image) {
        return (get16(image, FSW) >>> 11) & 7;
    }

    /** Sign and exponent of ST(i) (FXSAVE stores ST(0) to ST(7), not R0 to R7). */
    static int exponent(byte[] image, int i) {
        return get16(image, ST0 + 16 * i + 8);
    }

    static long significand(byte[] image, int i) {
        return get64(image, ST0 + 16 * i);
    }

    static void setRegister(byte[] image, int i, int signExponent, long significand) {
        put64(image, ST0 + 16 * i, significand);
        put16(image, ST0 + 16 * i + 8, signExponent);
    }

    /** Abridged tag bit of physical register {@code p}: 1 = not empty. */
    static boolean full(byte[] image, int p) {
        return (image[FTW] >>> p & 1) != 0;
    }

    /** The ST(i) slot's physical register. */
    static int physical(byte[] image, int i) {
        return (top(image) + i) & 7;
    }

    static String describe(byte[] image) {
        StringBuilder sb = new StringBuilder(String.format("FCW %04x FSW %04x (TOP %d) FTW %02x FOP %03x FIP %x FDP %x",
                get16(image, FCW), get16(image, FSW), top(image), image[FTW] & 0xFF, get16(image, FOP),
                get64(image, FIP), get64(image, FDP)));
        for (int i = 0; i < 8; i++) {
            sb.append(String.format(" ST%d%s=%04x:%016x", i, full(image, physical(image, i)) ? "" : "(empty)",
                    exponent(image, i), significand(image, i)));
        }
        return sb.toString();
    }

    // ---- little-endian access

    static int get16(byte[] b, int at) {
        return (b[at] & 0xFF) | (b[at + 1] & 0xFF) << 8;
    }

    static int get32(byte[] b, int at) {
        return get16(b, at) | get16(b, at + 2) << 16;
    }

    static long get64(byte[] b, int at) {
        return (get32(b, at) & 0xFFFF_FFFFL) | (long) get32(b, at + 4) << 32;
    }

    static void put16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    static void put32(byte[] b, int at, int v) {
        put16(b, at, v);
        put16(b, at + 2, v >>> 16);
    }

    static void put64(byte[] b, int at, long v) {
        put32(b, at, (int) v);
        put32(b, at + 4, (int) (v >>> 32));
    }
}
