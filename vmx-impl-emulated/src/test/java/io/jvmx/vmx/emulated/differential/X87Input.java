package io.jvmx.vmx.emulated.differential;

import java.util.Random;

/**
 * The x87 and SSE state a case starts with, chosen at random into the case's FXSAVE image ({@link FxsaveImage}): the
 * control word (every rounding mode, every precision, usually all exceptions masked, sometimes a random subset), the
 * status word (random condition codes and TOP, random flags of masked exceptions only, so that nothing is pending),
 * all eight registers full of values from {@link #value()}, random pointers, opcode, MXCSR and XMM registers. The
 * form's generator then says which registers it reads ({@link #operand}), which one it pushes to ({@link #push}),
 * and puts operand values where it wants them.
 */
final class X87Input {
    /** Status-word condition codes (SDM Vol. 1, 8.1.3.1). */
    static final int C0 = 0x100, C1 = 0x200, C2 = 0x400, C3 = 0x4000;
    static final int C0_C2_C3 = C0 | C2 | C3;
    static final int ALL_CONDITIONS = C0 | C1 | C2 | C3;

    final CaseBuilder b;
    final Random r;
    final byte[] image = new byte[FxsaveImage.BYTES];

    /** The state of a non-control instruction, which records its opcode and pointers (Vol. 1, 8.1.8). */
    X87Input(CaseBuilder b) {
        this(b, true);
    }

    /** The state of a control instruction (FNINIT, FLDCW, FNSTENV ...: Vol. 1, 8.1.8), which leaves the pointers. */
    static X87Input control(CaseBuilder b) {
        return new X87Input(b, false);
    }

    private X87Input(CaseBuilder b, boolean setsPointers) {
        if (setsPointers) {
            b.x87SetsPointers();
        }
        this.b = b;
        this.r = b.random;
        b.input.fxsave = image;
        int masks = r.nextInt(4) == 0 ? r.nextInt(64) : 0x3F;
        int precision = new int[] {3, 3, 3, 2, 2, 0, 1}[r.nextInt(7)]; // 64, 53, 24 bits and the reserved 01
        int control = masks | 0x40 | precision << 8 | r.nextInt(4) << 10 | (r.nextBoolean() ? 0x1000 : 0);
        if (r.nextInt(16) == 0) {
            control |= r.nextInt(0x10000) & 0xE080; // reserved bits: the processor does not keep them
        }
        int flags = r.nextInt(3) == 0 ? r.nextInt(64) & masks : 0;
        if ((flags & 1) != 0 && r.nextBoolean()) {
            flags |= 0x40; // SF, with a (masked) IE
        }
        int status = (r.nextInt(0x10000) & ALL_CONDITIONS) | r.nextInt(8) << 11 | flags;
        FxsaveImage.put16(image, FxsaveImage.FCW, control);
        FxsaveImage.put16(image, FxsaveImage.FSW, status);
        image[FxsaveImage.FTW] = (byte) 0xFF;
        FxsaveImage.put16(image, FxsaveImage.FOP, r.nextInt(0x800));
        FxsaveImage.put64(image, FxsaveImage.FIP, r.nextLong());
        FxsaveImage.put64(image, FxsaveImage.FDP, r.nextLong());
        FxsaveImage.put32(image, FxsaveImage.MXCSR, r.nextInt(0x10000));
        for (int i = 0; i < 8; i++) {
            long[] v = value();
            FxsaveImage.setRegister(image, i, (int) v[0], v[1]);
        }
        for (int at = FxsaveImage.XMM0; at < FxsaveImage.WRITTEN_END; at += 8) {
            FxsaveImage.put64(image, at, r.nextLong());
        }
        for (int i = 0; i < 8; i++) {
            if (r.nextInt(4) == 0) {
                empty(i); // a few empty registers that no operand uses
            }
        }
    }

    int control() {
        return FxsaveImage.get16(image, FxsaveImage.FCW);
    }

    /** Sets the control word; flags it unmasks are cleared, so that nothing is pending. */
    void control(int cw) {
        FxsaveImage.put16(image, FxsaveImage.FCW, cw);
        int sw = FxsaveImage.get16(image, FxsaveImage.FSW) & ~(0x3F & ~cw);
        if ((sw & 1) == 0) {
            sw &= ~0x40;
        }
        FxsaveImage.put16(image, FxsaveImage.FSW, sw);
    }

    /** ST(i) is read: full, except sometimes (stack underflow). */
    void operand(int i) {
        if (r.nextInt(24) == 0) {
            empty(i);
        } else {
            full(i);
        }
    }

    /** The instruction pushes: ST(7) empty, except sometimes (stack overflow). */
    void push() {
        if (r.nextInt(12) == 0) {
            full(7);
        } else {
            empty(7);
        }
    }

    boolean isFull(int i) {
        return FxsaveImage.full(image, FxsaveImage.physical(image, i));
    }

    boolean masked(int exception) {
        return (control() & exception) != 0;
    }

    // ---- classes (Vol. 1, 8.2.2)

    /** An SNaN, or a value in an unsupported format (J = 0 with a nonzero exponent). */
    static boolean signalingOrUnsupported(long[] v) {
        int e = (int) v[0] & 0x7FFF;
        boolean unsupported = e != 0 && v[1] >= 0;
        return unsupported || (e == 0x7FFF && (v[1] << 1) != 0 && (v[1] & 1L << 62) == 0);
    }

    /** A denormal or pseudo-denormal (exponent 0, significand not 0). */
    static boolean denormal(long[] v) {
        return ((int) v[0] & 0x7FFF) == 0 && v[1] != 0;
    }

    static boolean nanOrUnsupported(long[] v) {
        int e = (int) v[0] & 0x7FFF;
        return (e != 0 && v[1] >= 0) || (e == 0x7FFF && (v[1] << 1) != 0);
    }

    void full(int i) {
        image[FxsaveImage.FTW] |= (byte) (1 << FxsaveImage.physical(image, i));
    }

    void empty(int i) {
        image[FxsaveImage.FTW] &= (byte) ~(1 << FxsaveImage.physical(image, i));
    }

    void set(int i, long[] v) {
        FxsaveImage.setRegister(image, i, (int) v[0], v[1]);
    }

    long[] get(int i) {
        return new long[] {FxsaveImage.exponent(image, i), FxsaveImage.significand(image, i)};
    }

    // ---- values

    /**
     * A double extended-precision value (sign and exponent, significand): the special classes of SDM Vol. 1, 8.2.2
     * (zeros, infinities, QNaNs, SNaNs, the indefinite, denormals, pseudo-denormals, unnormals, pseudo-infinities and
     * pseudo-NaNs) and huge and tiny exponents a third of the time, otherwise normal numbers around 1, some of them
     * exactly representable in single or double precision or integers.
     */
    long[] value() {
        int sign = r.nextBoolean() ? 0x8000 : 0;
        long j = Long.MIN_VALUE;
        switch (r.nextInt(30)) {
            case 0: return v(sign, 0);
            case 1: return v(sign | 0x7FFF, j);
            case 2: return v(sign | 0x7FFF, j | 1L << 62 | r.nextLong() >>> 2);
            case 3: return v(sign | 0x7FFF, j | (r.nextLong() >>> 2 | 1));
            case 4: return v(0xFFFF, 0xC000_0000_0000_0000L);
            case 5: return v(sign, r.nextLong() >>> 1 >>> r.nextInt(63) | 1);
            case 6: return v(sign, j | r.nextLong() >>> 1);
            case 7: return v(sign | 1 + r.nextInt(0x7FFE), r.nextLong() >>> 1 >>> r.nextInt(63));
            case 8: return v(sign | 0x7FFF, r.nextBoolean() ? 0 : r.nextLong() >>> 1);
            case 9: case 10: return v(sign | 0x7FFE - r.nextInt(80), j | r.nextLong());
            case 11: case 12: return v(sign | 1 + r.nextInt(80), j | r.nextLong());
            case 13: return v(sign | 0x3FFF - 126 + r.nextInt(253), j | (r.nextLong() & 0xFFFF_FF00_0000_0000L));
            case 14: return v(sign | 0x3FFF - 1022 + r.nextInt(2046), j | (r.nextLong() & 0xFFFF_FFFF_FFFF_F800L));
            case 15: case 16: {
                long n = 1 + (r.nextLong() >>> (1 + r.nextInt(63)));
                int shift = Long.numberOfLeadingZeros(n);
                return v(sign | 0x3FFF + 63 - shift, n << shift);
            }
            case 17: return v(sign | 0x3FFF - r.nextInt(2), r.nextBoolean() ? j | r.nextInt(4) : -1L - r.nextInt(4));
            default: return v(sign | 0x3FFF - 64 + r.nextInt(128), j | r.nextLong());
        }
    }

    /**
     * A value related to {@code other}: the same, its negation, one unit in the last place apart, or an exponent a
     * little apart (for cancellation and rounding in additions); otherwise an independent {@link #value()}.
     */
    long[] related(long[] other) {
        int se = (int) other[0];
        long sig = other[1];
        switch (r.nextInt(8)) {
            case 0: return v(se, sig);
            case 1: return v(se ^ 0x8000, sig);
            case 2: return v(se ^ (r.nextBoolean() ? 0x8000 : 0), sig + (r.nextBoolean() ? 1 : -1));
            case 3: case 4: {
                int e = (se & 0x7FFF) + r.nextInt(141) - 70;
                if (e < 1 || e > 0x7FFE) {
                    return value();
                }
                return v((r.nextBoolean() ? 0x8000 : 0) | e, Long.MIN_VALUE | r.nextLong());
            }
            default: return value();
        }
    }

    static long[] v(long se, long sig) {
        return new long[] {se & 0xFFFF, sig};
    }

    /** A single-precision value: zeros, infinities, NaNs, denormals a third of the time; else normal numbers. */
    int single() {
        int sign = r.nextBoolean() ? 0x8000_0000 : 0;
        switch (r.nextInt(12)) {
            case 0: return sign;
            case 1: return sign | 0x7F80_0000;
            case 2: return sign | 0x7FC0_0000 | r.nextInt(0x40_0000);
            case 3: return sign | 0x7F80_0000 | 1 + r.nextInt(0x3F_FFFF);
            case 4: return sign | 1 + r.nextInt(0x7F_FFFF);
            case 5: return sign | (r.nextBoolean() ? 0x3F80_0000 : 0x7F7F_FFFF);
            default: return sign | (0x3F80_0000 + ((r.nextInt(80) - 40) << 23)) | r.nextInt(0x80_0000);
        }
    }

    /** A double-precision value, like {@link #single()}. */
    long dbl() {
        long sign = r.nextBoolean() ? Long.MIN_VALUE : 0;
        long frac = r.nextLong() >>> 12;
        switch (r.nextInt(12)) {
            case 0: return sign;
            case 1: return sign | 0x7FF0_0000_0000_0000L;
            case 2: return sign | 0x7FF8_0000_0000_0000L | frac >>> 1;
            case 3: return sign | 0x7FF0_0000_0000_0000L | (frac >>> 1 | 1);
            case 4: return sign | (frac | 1);
            case 5: return sign | (r.nextBoolean() ? 0x3FF0_0000_0000_0000L : 0x7FEF_FFFF_FFFF_FFFFL);
            default: return sign | (0x3FF0_0000_0000_0000L + ((long) (r.nextInt(200) - 100) << 52)) | frac;
        }
    }
}
