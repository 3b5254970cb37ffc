package io.jvmx.vmx.emulated.cpu;

/**
 * SSE floating-point arithmetic as the processor does it under MXCSR (SDM Vol. 1, 10.2.3 and 11.5; Vol. 1, 4.8 and
 * 4.9 for the formats, rounding and the exception conditions): the four rounding modes, DAZ and FTZ, the six
 * exception conditions split into the pre-computation ones (invalid, denormal, divide-by-zero) and the
 * post-computation ones (overflow, underflow, precision), and the x86 NaN rules (Vol. 1, 4.8.3.5 and Table 4-7: the
 * first source NaN wins, SNaNs are quieted, invalid operations give the QNaN floating-point indefinite).
 *
 * <p>Values are raw encodings in a long (binary32 in the low 32 bits). How results are rounded: the operation is
 * done in Java's double arithmetic (round to nearest even), together with its exact error (TwoSum, or FMA for
 * products, quotients and square roots), on operands scaled so that neither overflows nor underflows; the rounded
 * value with the sign and size of its error is then rounded again, exactly, to the destination format in the mode
 * MXCSR.RC says ({@link #round}). Binary32 operations fit in double without scaling (a double has more than twice
 * binary32's precision, so one rounding to double and one to single give the correctly rounded single). A fast
 * path returns Java's result directly when it must be the answer: round to nearest, normal operands and result.
 *
 * <p>Tininess is detected after rounding (as the processor does); an underflow is signalled when the result is tiny
 * and inexact (masked) or tiny (unmasked); FTZ replaces a tiny result by a zero of its sign when underflow is
 * masked, signalling underflow and precision. One instance per processor: it accumulates the exceptions of the
 * current instruction ({@link #begin}, {@link #pre}, {@link #post}).
 */
final class SimdFloat {
    // ---- MXCSR (SDM Vol. 1, Figure 10-3)
    static final int IE = 1, DE = 2, ZE = 4, OE = 8, UE = 16, PE = 32;
    static final int FLAGS = 0x3F;
    static final int DAZ = 1 << 6;
    static final int MASK_SHIFT = 7;
    static final int RC_SHIFT = 13;
    static final int FZ = 1 << 15;
    /** Rounding-control values (Vol. 1, Table 4-8). */
    static final int RN = 0, RD = 1, RU = 2, RZ = 3;

    static final long SINGLE_INDEFINITE = 0xFFC0_0000L;
    static final long DOUBLE_INDEFINITE = 0xFFF8_0000_0000_0000L;

    // ---- the current instruction
    /** MXCSR's control bits at the start of the instruction. */
    private int control;
    private int rc;
    private boolean daz, ftz;
    /** Exceptions detected so far: before the computation (IE DE ZE) and after it (OE UE PE). */
    int pre, post;
    /** Exceptions of the earlier steps of a multi-step instruction (DPPS: products, then sums). */
    private int earlier;

    /** Starts an instruction under {@code mxcsr}. */
    void begin(int mxcsr) {
        control = mxcsr;
        rc = (mxcsr >>> RC_SHIFT) & 3;
        daz = (mxcsr & DAZ) != 0;
        ftz = (mxcsr & FZ) != 0;
        pre = 0;
        post = 0;
        earlier = 0;
    }

    /**
     * Ends a step of an instruction that computes in steps (DPPS, DPPD: the SDM's DP_primitive multiplies, then
     * adds): the caller has checked {@link #unmasked()}. The next step's operands are the intermediate results,
     * treated as source operands are (DAZ, the denormal exception: seen on the processor).
     */
    void nextStep() {
        earlier |= pre | post;
        pre = 0;
        post = 0;
    }

    /** Overrides MXCSR.RC for this instruction (ROUNDPS and relatives with imm8[2] = 0). */
    void roundingMode(int mode) {
        rc = mode & 3;
    }

    /** The rounding mode in force for this instruction. */
    int rc() {
        return rc;
    }

    private boolean masked(int exception) {
        return (control & (exception << MASK_SHIFT)) != 0;
    }

    /**
     * The exceptions to raise for the instruction (Vol. 1, 11.5.1 and 11.5.3): 0 if everything detected is masked
     * (then {@link #flags} go into MXCSR and the results are written); else the flags to set in MXCSR before #XM:
     * the pre-computation exceptions alone if one of them is unmasked (then nothing was computed), else all.
     */
    int unmasked() {
        int m = ~(control >>> MASK_SHIFT) & FLAGS;
        if ((pre & m) != 0) {
            return earlier | pre;
        }
        if ((post & m) != 0) {
            return earlier | pre | post;
        }
        return 0;
    }

    int flags() {
        return earlier | pre | post;
    }

    // ============================================================================================ classification

    static boolean isNaN(long v, boolean dbl) {
        return dbl ? (v & 0x7FFF_FFFF_FFFF_FFFFL) > 0x7FF0_0000_0000_0000L : (v & 0x7FFF_FFFFL) > 0x7F80_0000L;
    }

    static boolean isSNaN(long v, boolean dbl) {
        return isNaN(v, dbl) && (v & (dbl ? 0x0008_0000_0000_0000L : 0x0040_0000L)) == 0;
    }

    static long quiet(long v, boolean dbl) {
        return v | (dbl ? 0x0008_0000_0000_0000L : 0x0040_0000L);
    }

    static boolean isInf(long v, boolean dbl) {
        return dbl ? (v & 0x7FFF_FFFF_FFFF_FFFFL) == 0x7FF0_0000_0000_0000L : (v & 0x7FFF_FFFFL) == 0x7F80_0000L;
    }

    static boolean isZero(long v, boolean dbl) {
        return dbl ? (v & 0x7FFF_FFFF_FFFF_FFFFL) == 0 : (v & 0x7FFF_FFFFL) == 0;
    }

    static boolean isDenormal(long v, boolean dbl) {
        return dbl ? (v & 0x7FF0_0000_0000_0000L) == 0 && (v & 0x000F_FFFF_FFFF_FFFFL) != 0
                : (v & 0x7F80_0000L) == 0 && (v & 0x007F_FFFFL) != 0;
    }

    /** Biased exponent field is neither 0 nor all ones. */
    static boolean isNormal(long v, boolean dbl) {
        long e = dbl ? v & 0x7FF0_0000_0000_0000L : v & 0x7F80_0000L;
        return e != 0 && e != (dbl ? 0x7FF0_0000_0000_0000L : 0x7F80_0000L);
    }

    static boolean negative(long v, boolean dbl) {
        return dbl ? v < 0 : (v & 0x8000_0000L) != 0;
    }

    static long signBit(boolean dbl) {
        return dbl ? Long.MIN_VALUE : 0x8000_0000L;
    }

    static long zero(boolean negative, boolean dbl) {
        return negative ? signBit(dbl) : 0;
    }

    static long infinity(boolean negative, boolean dbl) {
        return (dbl ? 0x7FF0_0000_0000_0000L : 0x7F80_0000L) | zero(negative, dbl);
    }

    static long indefinite(boolean dbl) {
        return dbl ? DOUBLE_INDEFINITE : SINGLE_INDEFINITE;
    }

    /** The value of a finite encoding as a double (exact for both formats). */
    static double value(long v, boolean dbl) {
        return dbl ? Double.longBitsToDouble(v) : Float.intBitsToFloat((int) v);
    }

    /** A source operand as the arithmetic sees it: a denormal is a zero of its sign under DAZ, else signals DE. */
    private long operand(long v, boolean dbl) {
        if (isDenormal(v, dbl)) {
            if (daz) {
                return zero(negative(v, dbl), dbl);
            }
            pre |= DE;
        }
        return v;
    }

    /** DAZ alone (instructions that do not signal the denormal exception, e.g. the conversions to integers). */
    private long dazOnly(long v, boolean dbl) {
        return daz && isDenormal(v, dbl) ? zero(negative(v, dbl), dbl) : v;
    }

    /**
     * The NaN result of a two-operand operation with a NaN operand (Vol. 1, Table 4-7): the first source if it is a
     * NaN, else the second, quieted; invalid if either is an SNaN.
     */
    private long nanResult(long a, long b, boolean dbl) {
        if (isSNaN(a, dbl) || isSNaN(b, dbl)) {
            pre |= IE;
        }
        return quiet(isNaN(a, dbl) ? a : b, dbl);
    }

    private long invalid(boolean dbl) {
        pre |= IE;
        return indefinite(dbl);
    }

    // ============================================================================================ arithmetic

    /** ADDSS/ADDSD and the adds of ADDPS, HADDPS, ADDSUBPS ...; {@code subtract} for SUB. */
    long add(long a, long b, boolean dbl, boolean subtract) {
        if (rc == RN && isNormal(a, dbl) && isNormal(b, dbl)) {
            // the common case first: no NaN, infinity, zero or denormal operand, so nothing but the result decides
            double x = value(a, dbl), y = value(b, dbl);
            if (subtract) {
                y = -y;
            }
            double s = x + y;
            double bb = s - x;
            long r = nearest(s, (x - (s - bb)) + (y - bb), dbl);
            if (r != NONE) {
                return r;
            }
        }
        if (isNaN(a, dbl) || isNaN(b, dbl)) {
            return nanResult(a, b, dbl);
        }
        if (subtract) {
            b ^= signBit(dbl);
        }
        a = operand(a, dbl); // a denormal signals DE even beside an infinity
        b = operand(b, dbl);
        boolean ia = isInf(a, dbl), ib = isInf(b, dbl);
        if (ia || ib) {
            if (ia && ib && negative(a, dbl) != negative(b, dbl)) {
                return invalid(dbl);
            }
            return ia ? a : b;
        }
        double x = value(a, dbl), y = value(b, dbl);
        double s = x + y;
        if (s == 0) {
            // an exact zero (sums this small are exact): two zeros of one sign keep it, any other zero sum is +0,
            // or -0 when rounding down (Vol. 1, 4.8.3.2 and IEEE 754 6.3)
            boolean sameSignZeros = isZero(a, dbl) && isZero(b, dbl) && negative(a, dbl) == negative(b, dbl);
            return zero(sameSignZeros ? negative(a, dbl) : rc == RD, dbl);
        }
        if (Double.isInfinite(s)) {
            // beyond the double range at round to nearest: halve both (exact this far up) and let the rounding
            // decide, since a directed mode may still give the largest finite value without overflow
            double hx = x / 2, hy = y / 2;
            double hs = hx + hy;
            double hb = hs - hx;
            return roundDouble(hs, (hx - (hs - hb)) + (hy - hb), 1, dbl, false);
        }
        double bb = s - x;
        double err = (x - (s - bb)) + (y - bb); // TwoSum: s + err is exactly x + y
        if (rc == RN) {
            long r = nearest(s, err, dbl);
            if (r != NONE) {
                return r;
            }
        }
        return roundDouble(s, err, 0, dbl, false);
    }

    /** MULSS/MULSD and the products of MULPS, DPPS ... */
    long mul(long a, long b, boolean dbl) {
        if (rc == RN && isNormal(a, dbl) && isNormal(b, dbl)) {
            double x = value(a, dbl), y = value(b, dbl);
            double p = x * y;
            if (Math.abs(p) >= 0x1p-960) { // the FMA's error term is exact this far from the subnormals
                long r = nearest(p, Math.fma(x, y, -p), dbl);
                if (r != NONE) {
                    return r;
                }
            }
        }
        if (isNaN(a, dbl) || isNaN(b, dbl)) {
            return nanResult(a, b, dbl);
        }
        boolean neg = negative(a, dbl) != negative(b, dbl);
        boolean ia = isInf(a, dbl), ib = isInf(b, dbl);
        if (ia || ib) {
            if ((ia && isZero(b, dbl)) || (ib && isZero(a, dbl))) {
                return invalid(dbl);
            }
            // an infinity times a denormal: DE is still signalled (the operand is checked), DAZ gives 0 * inf
            long other = operand(ia ? b : a, dbl);
            if (isZero(other, dbl)) {
                return invalid(dbl);
            }
            return infinity(neg, dbl);
        }
        a = operand(a, dbl);
        b = operand(b, dbl);
        if (isZero(a, dbl) || isZero(b, dbl)) {
            return zero(neg, dbl);
        }
        double x = value(a, dbl), y = value(b, dbl);
        if (rc == RN) {
            double p = x * y;
            if (Math.abs(p) >= 0x1p-960) { // the FMA's error term is exact this far from the subnormals
                long r = nearest(p, Math.fma(x, y, -p), dbl);
                if (r != NONE) {
                    return r;
                }
            }
        }
        int ex = exponent(x), ey = exponent(y);
        double mx = Math.abs(Math.scalb(x, -ex)), my = Math.abs(Math.scalb(y, -ey)); // in [1, 2)
        double q = mx * my;
        double err = Math.fma(mx, my, -q);
        return roundDouble(q, err, ex + ey, dbl, neg);
    }

    /** DIVSS/DIVSD, DIVPS/DIVPD. */
    long div(long a, long b, boolean dbl) {
        if (rc == RN && isNormal(a, dbl) && isNormal(b, dbl)) {
            double x = value(a, dbl), y = value(b, dbl);
            double q = x / y;
            if (Math.abs(x) >= 0x1p-900 && Math.abs(y) >= 0x1p-900 && Math.abs(q) >= 0x1p-900) {
                long r = nearest(q, Math.fma(-q, y, x), dbl); // the remainder is exact this far from the subnormals
                if (r != NONE) {
                    return r;
                }
            }
        }
        if (isNaN(a, dbl) || isNaN(b, dbl)) {
            return nanResult(a, b, dbl);
        }
        boolean neg = negative(a, dbl) != negative(b, dbl);
        boolean ia = isInf(a, dbl), ib = isInf(b, dbl);
        if (ia && ib) {
            return invalid(dbl);
        }
        if (ia) {
            operand(b, dbl);
            return infinity(neg, dbl);
        }
        if (ib) {
            operand(a, dbl);
            return zero(neg, dbl);
        }
        boolean za = isZero(a, dbl), zb = isZero(b, dbl);
        if (zb) {
            // 0/0 is invalid and x/0 divide-by-zero, both before the denormal check of the dividend (Vol. 1,
            // 11.5.2, priority of SIMD exceptions); under DAZ a denormal dividend is a zero
            long x = dazOnly(a, dbl);
            if (isZero(x, dbl)) {
                return invalid(dbl);
            }
            pre |= ZE;
            return infinity(neg, dbl);
        }
        a = operand(a, dbl);
        b = operand(b, dbl);
        if (isZero(b, dbl)) { // a denormal divisor under DAZ
            if (isZero(a, dbl)) {
                return invalid(dbl);
            }
            pre |= ZE;
            return infinity(neg, dbl);
        }
        if (za || isZero(a, dbl)) {
            return zero(neg, dbl);
        }
        double x = value(a, dbl), y = value(b, dbl);
        if (rc == RN) {
            double q = x / y;
            if (Math.abs(x) >= 0x1p-900 && Math.abs(y) >= 0x1p-900 && Math.abs(q) >= 0x1p-900) {
                long r = nearest(q, Math.fma(-q, y, x), dbl); // the remainder is exact this far from the subnormals
                if (r != NONE) {
                    return r;
                }
            }
        }
        int ex = exponent(x), ey = exponent(y);
        double mx = Math.abs(Math.scalb(x, -ex)), my = Math.abs(Math.scalb(y, -ey));
        double q = mx / my;
        double r = Math.fma(-q, my, mx); // exact: the quotient's error times the divisor
        return roundDouble(q, sticky(r), ex - ey, dbl, neg);
    }

    /** SQRTSS/SQRTSD, SQRTPS/SQRTPD. */
    long sqrt(long a, boolean dbl) {
        if (isNaN(a, dbl)) {
            if (isSNaN(a, dbl)) {
                pre |= IE;
            }
            return quiet(a, dbl);
        }
        if (isZero(a, dbl)) {
            return a;
        }
        if (negative(a, dbl)) {
            if (daz && isDenormal(a, dbl)) {
                return zero(true, dbl); // a zero under DAZ: sqrt(-0) = -0
            }
            return invalid(dbl); // before the denormal check: invalid has priority
        }
        if (isInf(a, dbl)) {
            return a;
        }
        a = operand(a, dbl);
        if (isZero(a, dbl)) {
            return a;
        }
        double x = value(a, dbl);
        if (rc == RN && x >= 0x1p-900) {
            double s = Math.sqrt(x);
            long r = nearest(s, Math.fma(-s, s, x), dbl);
            if (r != NONE) {
                return r;
            }
        }
        int e = exponent(x);
        double m = Math.scalb(x, -e); // [1, 2)
        if ((e & 1) != 0) {
            m *= 2;
            e -= 1;
        }
        double s = Math.sqrt(m);
        double r = Math.fma(-s, s, m);
        return roundDouble(s, sticky(r), e >> 1, dbl, false);
    }

    /**
     * MINSS/MINPS ... (Vol. 2B MINPS): the second operand unless the first is less; so the second for two zeros and
     * whenever either is a NaN (invalid for any NaN; a denormal second operand is still a zero under DAZ, as the
     * processor returns it). {@code max} for MAX.
     */
    long minMax(long a, long b, boolean dbl, boolean max) {
        if (isNaN(a, dbl) || isNaN(b, dbl)) {
            pre |= IE;
            return dazOnly(b, dbl);
        }
        long x = operand(a, dbl), y = operand(b, dbl);
        double vx = value(x, dbl), vy = value(y, dbl);
        return (max ? vx > vy : vx < vy) ? x : y;
    }

    /**
     * CMPPS/CMPSS ... predicate {@code p} of imm8[2:0] (Vol. 2A CMPPS, Table 3-1): EQ LT LE UNORD NEQ NLT NLE ORD.
     * LT, LE, NLT, NLE signal invalid for a QNaN too; the others for SNaNs only.
     */
    boolean compare(long a, long b, boolean dbl, int p) {
        boolean nan = isNaN(a, dbl) || isNaN(b, dbl);
        if (nan) {
            boolean signalling = (p & 3) == 1 || (p & 3) == 2;
            if (signalling || isSNaN(a, dbl) || isSNaN(b, dbl)) {
                pre |= IE;
            }
        } else {
            a = operand(a, dbl);
            b = operand(b, dbl);
        }
        double x = value(a, dbl), y = value(b, dbl);
        switch (p & 7) {
            case 0: return !nan && x == y;
            case 1: return !nan && x < y;
            case 2: return !nan && x <= y;
            case 3: return nan;
            case 4: return nan || x != y;
            case 5: return nan || !(x < y);
            case 6: return nan || !(x <= y);
            default: return !nan;
        }
    }

    /**
     * COMISS/UCOMISS ... (Vol. 2A COMISS): ZF PF CF = 111 unordered, 000 greater, 001 less, 100 equal; invalid for
     * any NaN ({@code signalling}, COMIS) or for SNaNs only (UCOMIS).
     */
    int compareFlags(long a, long b, boolean dbl, boolean signalling) {
        if (isNaN(a, dbl) || isNaN(b, dbl)) {
            if (signalling || isSNaN(a, dbl) || isSNaN(b, dbl)) {
                pre |= IE;
            }
            return 0x45; // ZF PF CF
        }
        double x = value(operand(a, dbl), dbl), y = value(operand(b, dbl), dbl);
        return x == y ? 0x40 : x < y ? 0x01 : 0;
    }

    // ============================================================================================ conversions

    /** CVTSS2SD, CVTPS2PD: exact; an SNaN is quieted (invalid), a denormal signals DE (or is 0 under DAZ). */
    long singleToDouble(long a) {
        if (isNaN(a, false)) {
            if (isSNaN(a, false)) {
                pre |= IE;
            }
            return ((a & 0x8000_0000L) << 32) | 0x7FF8_0000_0000_0000L | ((a & 0x003F_FFFFL) << 29);
        }
        a = operand(a, false);
        return Double.doubleToRawLongBits(Float.intBitsToFloat((int) a));
    }

    /** CVTSD2SS, CVTPD2PS: rounded; a NaN keeps the upper bits of its payload. */
    long doubleToSingle(long a) {
        if (isNaN(a, true)) {
            if (isSNaN(a, true)) {
                pre |= IE;
            }
            return ((a >>> 32) & 0x8000_0000L) | 0x7FC0_0000L | ((a >>> 29) & 0x003F_FFFFL);
        }
        if (isInf(a, true)) {
            return infinity(a < 0, false);
        }
        a = operand(a, true);
        if (isZero(a, true)) {
            return zero(a < 0, false);
        }
        double x = Double.longBitsToDouble(a);
        if (rc == RN) {
            long r = nearest(x, 0, false);
            if (r != NONE) {
                return r;
            }
        }
        int e = exponent(x);
        double m = Math.abs(Math.scalb(x, -e));
        return roundDouble(m, 0, e, false, x < 0);
    }

    /** CVTSI2SS/SD, CVTDQ2PS/PD, CVTPI2PS/PD: a signed integer, rounded by MXCSR.RC. */
    long fromInteger(long v, boolean dbl) {
        if (v == 0) {
            return 0;
        }
        boolean neg = v < 0;
        long mag = neg ? -v : v; // 2^63 stays 0x8000...: read unsigned below
        return round(neg, mag, 0, false, dbl);
    }

    /**
     * CVTSS2SI, CVTTSD2SI, CVTPS2DQ ... to a signed integer of {@code bits} (32 or 64): rounded by MXCSR.RC or, with
     * {@code truncate}, toward zero; a NaN or a value out of range is invalid and gives the integer indefinite
     * (the most negative integer); else inexact signals precision. Denormals are zeros under DAZ; no DE is signalled.
     */
    long toInteger(long a, boolean dbl, int bits, boolean truncate) {
        long indefinite = bits == 64 ? Long.MIN_VALUE : 0x8000_0000L;
        if (isNaN(a, dbl) || isInf(a, dbl)) {
            pre |= IE;
            return indefinite;
        }
        double x = value(dazOnly(a, dbl), dbl);
        double r = roundToIntegral(x, truncate ? RZ : rc);
        double limit = bits == 64 ? 0x1p63 : 0x1p31;
        if (r >= limit || r < -limit) {
            pre |= IE;
            return indefinite;
        }
        if (r != x) {
            post |= PE;
        }
        long v = (long) r;
        return bits == 64 ? v : v & 0xFFFF_FFFFL;
    }

    /**
     * ROUNDSS/ROUNDPS ... (Vol. 2B ROUNDPS): to an integral value in {@code mode}; {@code inexact} says whether the
     * precision exception is signalled (imm8[3] = 0). An SNaN is quieted and invalid.
     */
    long roundIntegral(long a, boolean dbl, int mode, boolean inexact) {
        if (isNaN(a, dbl)) {
            if (isSNaN(a, dbl)) {
                pre |= IE;
            }
            return quiet(a, dbl);
        }
        if (isInf(a, dbl)) {
            return a;
        }
        a = dazOnly(a, dbl);
        double x = value(a, dbl);
        double r = roundToIntegral(x, mode);
        if (r != x && inexact) {
            post |= PE;
        }
        if (r == 0) {
            return zero(negative(a, dbl), dbl);
        }
        return dbl ? Double.doubleToRawLongBits(r) : Float.floatToRawIntBits((float) r) & 0xFFFF_FFFFL;
    }

    private static double roundToIntegral(double x, int mode) {
        switch (mode) {
            case RN: return Math.rint(x);
            case RD: return Math.floor(x);
            case RU: return Math.ceil(x);
            default: return x < 0 ? Math.ceil(x) : Math.floor(x);
        }
    }

    // ============================================================================================ rounding

    /** Not a result of the fast path: 1 encodes a denormal, which {@link #nearest} never returns. */
    private static final long NONE = 1;

    /**
     * The fast path of round to nearest: {@code r} is the double nearest the exact result and {@code err} its exact
     * error. When the result in the destination format is finite and above the smallest normal (at the smallest
     * normal it may be tiny after rounding), Java's rounding is the processor's; precision is signalled if it was
     * inexact. Else {@link #NONE}: the general rounding decides.
     */
    private long nearest(double r, double err, boolean dbl) {
        if (dbl) {
            double a = Math.abs(r);
            if (a > Double.MIN_NORMAL && a <= Double.MAX_VALUE) {
                if (err != 0) {
                    post |= PE;
                }
                return Double.doubleToRawLongBits(r);
            }
            return NONE;
        }
        float f = (float) r; // twice rounded, correctly: double has more than twice single's precision
        float a = Math.abs(f);
        if (a > Float.MIN_NORMAL && a <= Float.MAX_VALUE) {
            if (err != 0 || f != r) {
                post |= PE;
            }
            return Float.floatToRawIntBits(f) & 0xFFFF_FFFFL;
        }
        return NONE;
    }

    /** The unbiased exponent of a finite nonzero double, for subnormals too. */
    private static int exponent(double x) {
        int e = Math.getExponent(x);
        if (e == Double.MIN_EXPONENT - 1) {
            e = Math.getExponent(x * 0x1p64) - 64;
        }
        return e;
    }

    /** A stand-in error with the sign of {@code r} and a size below any half unit in the last place. */
    private static double sticky(double r) {
        return r == 0 ? 0 : Math.copySign(Double.MIN_VALUE, r);
    }

    private static long signed(long bits, boolean negative, boolean dbl) {
        return negative ? bits | signBit(dbl) : bits;
    }

    /**
     * Rounds {@code (q + err) * 2^scale}, negated if {@code negate}, to the format, where q is finite, nonzero, and
     * round to nearest of {@code q + err} at double precision, and err the exact error (or a stand-in of its sign,
     * smaller than half an ulp). The exact value is turned into a significand with two more bits and a sticky bit,
     * which is all that rounding to at most 53 bits needs.
     */
    private long roundDouble(double q, double err, int scale, boolean dbl, boolean negate) {
        long bits = Double.doubleToRawLongBits(q);
        boolean neg = bits < 0;
        int biased = (int) (bits >>> 52) & 0x7FF;
        long sig = bits & 0x000F_FFFF_FFFF_FFFFL;
        int lsb;
        if (biased == 0) {
            lsb = -1074;
        } else {
            sig |= 1L << 52;
            lsb = biased - 1075;
        }
        long sig4 = sig << 2;
        boolean sticky = false;
        if (err != 0) {
            double ae = Math.abs(err);
            double half = Math.scalb(1.0, lsb - 1);
            boolean away = (err > 0) != neg; // the exact magnitude is above |q|
            if (away) {
                if (ae == half) {
                    sig4 += 2;
                } else {
                    sig4 += 1;
                    sticky = true;
                }
            } else {
                // below a power of two the spacing halves: the error is then at most a quarter ulp
                if (ae == half) {
                    sig4 -= 2;
                } else if (sig == 1L << 52 && ae == half / 2) {
                    sig4 -= 1;
                } else {
                    sig4 -= 1;
                    sticky = true;
                }
            }
        }
        return round(neg != negate, sig4, lsb - 2 + scale, sticky, dbl);
    }

    /**
     * Rounds {@code sig * 2^lsb} (sig unsigned, nonzero; plus a positive amount below 2^lsb if {@code sticky}) to the
     * format in the current rounding mode, with overflow, underflow (tininess after rounding), FTZ and precision.
     */
    long round(boolean neg, long sig, int lsb, boolean sticky, boolean dbl) {
        int p = dbl ? 53 : 24;
        int emin = dbl ? -1022 : -126;
        int emax = dbl ? 1023 : 127;
        int msb = 63 - Long.numberOfLeadingZeros(sig);
        int e = msb + lsb; // exponent of the leading bit
        int targetLsb = Math.max(e, emin) - (p - 1);
        int shift = targetLsb - lsb;
        long q;
        boolean up;
        boolean inexact;
        if (shift <= 0) {
            q = sig << -shift;
            inexact = sticky;
            up = roundUp(neg, false, false, sticky, false);
        } else {
            long rem;
            int halfCmp;
            if (shift < 64) {
                q = sig >>> shift;
                rem = sig & ((1L << shift) - 1);
                halfCmp = Long.compareUnsigned(rem, 1L << (shift - 1));
            } else {
                q = 0;
                rem = sig;
                halfCmp = shift == 64 ? Long.compareUnsigned(rem, Long.MIN_VALUE) : -1;
            }
            inexact = rem != 0 || sticky;
            up = roundUp(neg, halfCmp > 0 || (halfCmp == 0 && sticky), halfCmp == 0 && !sticky, inexact,
                    (q & 1) != 0);
        }
        if (up) {
            q++;
            if (q == 1L << p) {
                q >>>= 1;
                targetLsb++;
            }
        }
        int resultExp = 63 - Long.numberOfLeadingZeros(q) + targetLsb;
        if (q != 0 && resultExp > emax) {
            // masked: the rounded infinity or largest finite value, inexact. Unmasked, no result is written; the
            // processor reports precision with it when the significand needed rounding (seen on the processor:
            // as if the exponent range were unbounded), which here is the same as inexact
            post |= masked(OE) ? OE | PE : inexact ? OE | PE : OE;
            boolean toInfinity = rc == RN || (rc == RU && !neg) || (rc == RD && neg);
            return toInfinity ? infinity(neg, dbl) : signed(dbl ? 0x7FEF_FFFF_FFFF_FFFFL : 0x7F7F_FFFFL, neg, dbl);
        }
        boolean tiny = e < emin && !(e == emin - 1 && carriesToNormal(neg, sig, msb, p, sticky));
        if (tiny) {
            if (masked(UE)) {
                if (ftz) {
                    post |= UE | PE;
                    return zero(neg, dbl);
                }
                if (inexact) {
                    post |= UE;
                }
            } else {
                // not written; precision is reported with it when the significand needed rounding at full
                // precision (the exponent range unbounded), as for overflow
                int fullShift = msb - (p - 1);
                boolean roundedAtFullPrecision = sticky
                        || (fullShift > 0 && (sig & ((1L << fullShift) - 1)) != 0);
                post |= UE | (roundedAtFullPrecision ? PE : 0);
                return zero(neg, dbl);
            }
        }
        if (inexact) {
            post |= PE;
        }
        if (q == 0) {
            return zero(neg, dbl);
        }
        long encoded;
        if (resultExp < emin) {
            encoded = q; // subnormal: the significand at the minimum exponent
        } else {
            long fraction = q & ((1L << (p - 1)) - 1);
            encoded = ((long) (resultExp + (dbl ? 1023 : 127)) << (p - 1)) | fraction;
        }
        return signed(encoded, neg, dbl);
    }

    /** For tininess after rounding: rounding to p bits with an unbounded exponent carries into the next binade. */
    private boolean carriesToNormal(boolean neg, long sig, int msb, int p, boolean sticky) {
        int shift = msb - (p - 1);
        if (shift <= 0) {
            return false; // exact at p bits: no carry
        }
        long q = sig >>> shift;
        if (q != (1L << p) - 1) {
            return false;
        }
        long rem = sig & ((1L << shift) - 1);
        int halfCmp = Long.compareUnsigned(rem, 1L << (shift - 1));
        boolean inexact = rem != 0 || sticky;
        return roundUp(neg, halfCmp > 0 || (halfCmp == 0 && sticky), halfCmp == 0 && !sticky, inexact, true);
    }

    /** Whether to add one unit in the last place: above half, exactly half (ties to even), or anything (directed). */
    private boolean roundUp(boolean neg, boolean aboveHalf, boolean exactlyHalf, boolean inexact, boolean odd) {
        switch (rc) {
            case RN: return aboveHalf || (exactlyHalf && odd);
            case RD: return inexact && neg;
            case RU: return inexact && !neg;
            default: return false;
        }
    }

}
