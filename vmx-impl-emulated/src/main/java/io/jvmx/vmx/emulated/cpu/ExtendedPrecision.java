package io.jvmx.vmx.emulated.cpu;

/**
 * Arithmetic on the x87 double extended-precision format (SDM Vol. 1, 4.2.2 and 8.2): a value is a sign and a 15-bit
 * biased exponent ({@code se}, as in a register) and a 64-bit significand with an explicit integer bit J (bit 63).
 * Every operation is computed exactly (128-bit intermediates and a sticky bit) and rounded once, to the precision and
 * with the rounding mode of the control word in {@link #control} (Vol. 1, 4.8.4, 8.1.5), with the x87's treatment of
 * special operands (Vol. 1, 4.8.3 and Table 4-7), of denormals, and of the six exceptions with their masked and
 * unmasked responses (Vol. 1, 4.9 and 8.5).
 *
 * <p>One instance per processor: an operation leaves its result in {@link #se}/{@link #sig} (or {@link #bits} for
 * the memory formats), the exceptions it detected in {@link #flags}, and whether rounding increased the magnitude in
 * {@link #roundedUp} (the x87's C1). Nothing allocates.
 *
 * <p>Behaviour the SDM leaves to the implementation, as the processor does it (seen by the differential tests):
 * tininess is detected after rounding (with an unbounded exponent, at the precision-control precision); a masked
 * underflow rounds the denormalized result at the same bit position as a normal result of that precision; of two
 * NaNs with equal significands the positive one is the result.
 */
final class ExtendedPrecision {
    // ---- exception flags, at their status-word positions (Vol. 1, 8.1.3.1)
    static final int IE = 0x01, DE = 0x02, ZE = 0x04, OE = 0x08, UE = 0x10, PE = 0x20;
    /** The exceptions after which no result is delivered when they are unmasked (Vol. 1, 4.9.2, 8.5). */
    static final int NO_RESULT = IE | DE | ZE;

    // ---- the format
    static final int SIGN = 0x8000, EXP = 0x7FFF, BIAS = 16383;
    /** Unbiased exponents of the smallest and largest normal extended-precision numbers. */
    static final int EMIN = -16382, EMAX = 16383;
    /** The explicit integer bit J of the significand. */
    static final long J = Long.MIN_VALUE;
    /** The most significant fraction bit: 1 in a QNaN, 0 in an SNaN (Vol. 1, 4.8.3.4). */
    static final long QUIET = 1L << 62;
    /** The real indefinite: negative QNaN with fraction 100...0 (Vol. 1, 4.8.3.7, Table 4-3). */
    static final int INDEFINITE_SE = 0xFFFF;
    static final long INDEFINITE_SIG = 0xC000_0000_0000_0000L;
    /** Exponent adjustment of an unmasked overflow or underflow result in a register (Vol. 1, 8.5.4, 8.5.5). */
    static final int BIAS_ADJUST = 24576;

    // ---- value classes (Vol. 1, 8.2.2, Table 8-3)
    static final int ZERO = 0, DENORMAL = 1, NORMAL = 2, INFINITY = 3, QNAN = 4, SNAN = 5, UNSUPPORTED = 6;

    // ---- control-word fields (Vol. 1, 8.1.5)
    static final int RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_ZERO = 3;

    /** Destination formats of a rounding: a register, or double and single precision in memory. */
    static final int EXTENDED = 0, DOUBLE = 1, SINGLE = 2;

    /** The control word the operation runs under: exception masks, precision control, rounding control. */
    int control = 0x037F;
    /** Exceptions the last operation detected (IE ... PE). */
    int flags;
    /** The last rounding increased the magnitude of the result (C1, Vol. 1, 8.1.3.1). */
    boolean roundedUp;
    /** The result in extended format. */
    int se;
    long sig;
    /** The result in a memory format (single or double precision), when the operation produced one. */
    long bits;
    /** False if the result must not be stored: an unmasked overflow or underflow with a memory destination. */
    boolean store;

    // the working value being rounded: (-1)^wSign x (wHi:wLo / 2^127) x 2^(wExp + 1), wHi normalized (bit 63 set)
    private int wSign;
    private int wExp;
    private long wHi, wLo;
    /** The remainder of the last {@link #divide128} division. */
    private long remainder;

    long remainder() {
        return remainder;
    }

    // =================================================================================================== classes

    static int classify(int se, long sig) {
        int e = se & EXP;
        if (e == 0) {
            return sig == 0 ? ZERO : DENORMAL; // J = 1 here is a pseudo-denormal: a denormal operand too
        }
        if (sig >= 0) {
            return UNSUPPORTED; // J = 0 with a nonzero exponent: unnormal, pseudo-infinity, pseudo-NaN
        }
        if (e != EXP) {
            return NORMAL;
        }
        if ((sig << 1) == 0) {
            return INFINITY;
        }
        return (sig & QUIET) != 0 ? QNAN : SNAN;
    }

    static boolean isNaN(int c) {
        return c == QNAN || c == SNAN;
    }

    /** The unbiased exponent of a finite nonzero value, as if normalized (denormals: below EMIN). */
    static int exponent(int se, long sig) {
        int e = se & EXP;
        return (e == 0 ? EMIN : e - BIAS) - Long.numberOfLeadingZeros(sig);
    }

    /** The significand of a finite nonzero value, normalized (J set). */
    static long normalized(long sig) {
        return sig << Long.numberOfLeadingZeros(sig);
    }

    private boolean masked(int exception) {
        return (control & exception) != 0;
    }

    /** Starts an operation: no exceptions, no rounding yet. */
    void begin() {
        flags = 0;
        roundedUp = false;
        store = true;
    }

    void result(int resultSe, long resultSig) {
        se = resultSe;
        sig = resultSig;
    }

    void indefinite() {
        result(INDEFINITE_SE, INDEFINITE_SIG);
    }

    void invalid() {
        flags |= IE;
        indefinite();
    }

    void zero(int sign) {
        result(sign, 0);
    }

    void infinity(int sign) {
        result(sign | EXP, J);
    }

    // ================================================================================= special operands

    /**
     * The NaN and unsupported-format rules for an operation on {@code a} and {@code b} (Vol. 1, 4.8.3.5, Table 4-7;
     * 8.2.2): an unsupported operand is invalid and gives the indefinite; an SNaN is invalid; the result is the QNaN
     * operand, or of two NaNs of the same kind the one with the larger significand (the positive one if they are
     * equal), made quiet. True if the result is decided.
     */
    boolean nanOrUnsupported(int ca, int sea, long ma, int cb, int seb, long mb) {
        if (ca == UNSUPPORTED || cb == UNSUPPORTED) {
            invalid();
            return true;
        }
        boolean an = isNaN(ca), bn = isNaN(cb);
        if (!an && !bn) {
            return false;
        }
        if (ca == SNAN || cb == SNAN) {
            flags |= IE;
        }
        boolean pickA;
        if (an && bn) {
            if (ca != cb) {
                pickA = ca == QNAN;
            } else {
                int c = Long.compareUnsigned(ma, mb);
                pickA = c > 0 || (c == 0 && (sea & SIGN) == 0);
            }
        } else {
            pickA = an;
        }
        if (pickA) {
            result(sea, ma | QUIET);
        } else {
            result(seb, mb | QUIET);
        }
        return true;
    }

    /** The one-operand form of {@link #nanOrUnsupported}. */
    boolean nanOrUnsupported(int c, int sea, long ma) {
        if (c == UNSUPPORTED) {
            invalid();
            return true;
        }
        if (isNaN(c)) {
            if (c == SNAN) {
                flags |= IE;
            }
            result(sea, ma | QUIET);
            return true;
        }
        return false;
    }

    /** DE for denormal operands; true if it is unmasked, so that the operation must not go on (Vol. 1, 8.5.2). */
    boolean denormalStops(int ca, int cb) {
        if (ca == DENORMAL || cb == DENORMAL) {
            flags |= DE;
            return !masked(DE);
        }
        return false;
    }

    /*
     * The order of the checks in every operation is the priority of Vol. 1, 4.9.2: unsupported and NaN operands,
     * then the operation's invalid operands (infinity - infinity, 0 x infinity ...), then division by zero, then
     * denormal operands; a denormal is not reported with an IE or a ZE (x / 0 with a denormal x is ZE alone, as the
     * processor does).
     */

    // ========================================================================================== rounding

    private static boolean increment(int rc, int sign, boolean lsb, boolean round, boolean sticky) {
        switch (rc) {
            case RC_NEAREST: return round && (sticky || lsb);
            case RC_DOWN: return sign != 0 && (round || sticky);
            case RC_UP: return sign == 0 && (round || sticky);
            default: return false;
        }
    }

    private boolean lastInexact;
    private boolean lastIncrement;

    /**
     * {@code hi:lo} rounded to its top {@code 64 - drop} bits of {@code hi} (the rest cleared); the increment may carry
     * out of bit 63 (then the result is 0). Sets {@link #lastInexact} and {@link #lastIncrement}.
     */
    private long roundBits(long hi, long lo, int drop, int rc, int sign) {
        boolean round, sticky, lsb;
        long kept;
        if (drop == 0) {
            round = lo < 0;
            sticky = (lo << 1) != 0;
            lsb = (hi & 1) != 0;
            kept = hi;
        } else {
            long half = 1L << (drop - 1);
            round = (hi & half) != 0;
            sticky = (hi & (half - 1)) != 0 || lo != 0;
            lsb = ((hi >>> drop) & 1) != 0;
            kept = hi & -(half << 1);
        }
        lastInexact = round || sticky;
        lastIncrement = increment(rc, sign, lsb, round, sticky);
        return lastIncrement ? kept + (1L << drop) : kept;
    }

    /**
     * Rounds the working value to {@code precision} bits for a destination {@code format} and delivers it (Vol. 1,
     * 4.8.4, 4.9.1.4 to 4.9.1.6, 8.5.4 to 8.5.6): with an unbounded exponent first; a result that is then too large
     * overflows (masked: infinity or the largest finite value, by rounding mode and sign; unmasked: the exponent
     * adjusted by 24576 in a register, nothing stored in memory); a result that is then tiny underflows (masked: the
     * exact value denormalized and rounded, UE only if that is inexact; unmasked: adjusted by 24576, or nothing).
     */
    private void roundWork(int precision, int format) {
        int emin, emax;
        switch (format) {
            case DOUBLE: emin = -1022; emax = 1023; break;
            case SINGLE: emin = -126; emax = 127; break;
            default: emin = EMIN; emax = EMAX; break;
        }
        int rc = (control >>> 10) & 3;
        int sign = wSign;
        int drop = 64 - precision;
        long r = roundBits(wHi, wLo, drop, rc, sign);
        int e = wExp;
        if (r == 0) {
            r = J;
            e++;
        }
        boolean inexact = lastInexact;
        boolean inc = lastIncrement;
        if (e > emax) {
            if (!masked(OE) && format != EXTENDED) {
                flags |= OE; // a memory destination: nothing stored, no PE (seen on the processor)
                store = false;
                return;
            }
            if (!masked(OE)) {
                if (e - BIAS_ADJUST <= emax) {
                    flags |= OE | (inexact ? PE : 0);
                    roundedUp = inc;
                    deliver(sign, e - BIAS_ADJUST, r, format, false);
                } else {
                    // beyond the reach of the bias adjustment (only FSCALE gets here): infinity, whatever the
                    // rounding mode, as the processor delivers it
                    flags |= OE | PE;
                    roundedUp = true;
                    infinity(sign);
                }
                return;
            }
            flags |= OE | PE;
            boolean toInfinity = rc == RC_NEAREST || (rc == RC_UP && sign == 0) || (rc == RC_DOWN && sign != 0);
            roundedUp = toInfinity;
            if (toInfinity) {
                deliverInfinity(sign, format);
            } else {
                deliver(sign, emax, -1L << drop, format, true);
            }
            return;
        }
        if (e < emin) {
            if (!masked(UE) && format != EXTENDED) {
                flags |= UE; // a memory destination: nothing stored, no PE (seen on the processor)
                store = false;
                return;
            }
            if (!masked(UE)) {
                if (e + BIAS_ADJUST >= emin) {
                    flags |= UE | (inexact ? PE : 0);
                    roundedUp = inc;
                    deliver(sign, e + BIAS_ADJUST, r, format, false);
                } else {
                    // beyond the reach of the bias adjustment (only FSCALE gets here): zero, whatever the rounding
                    // mode, as the processor delivers it
                    flags |= UE | PE;
                    zero(sign);
                }
                return;
            }
            // denormalize the exact value: shift right to the exponent emin, then round at the same bit position
            int shift = emin - wExp;
            long hi = wHi, lo = wLo;
            if (shift >= 128) {
                lo = (hi | lo) != 0 ? 1 : 0;
                hi = 0;
            } else if (shift >= 64) {
                int s = shift - 64;
                long sticky = (lo != 0 || (s != 0 && (hi << (64 - s)) != 0)) ? 1 : 0;
                lo = (s == 0 ? hi : hi >>> s) | sticky;
                hi = 0;
            } else {
                long sticky = (lo << (64 - shift)) != 0 ? 1 : 0;
                lo = (lo >>> shift) | (hi << (64 - shift)) | sticky;
                hi >>>= shift;
            }
            long d = roundBits(hi, lo, drop, rc, sign);
            if (lastInexact) {
                flags |= UE | PE;
            }
            roundedUp = lastIncrement;
            if (d == 0) {
                deliverZero(sign, format);
            } else {
                deliver(sign, emin, d, format, true); // J = 0: a denormal; J = 1: rounded up to the smallest normal
            }
            return;
        }
        if (inexact) {
            flags |= PE;
        }
        roundedUp = inc;
        deliver(sign, e, r, format, true);
    }

    /**
     * Delivers sign x (significand / 2^63) x 2^exponent, a value the format represents (for denormals: exponent =
     * the smallest normal exponent and J = 0); for a memory format {@code inRange} false means no store.
     */
    private void deliver(int sign, int exponent, long significand, int format, boolean inRange) {
        switch (format) {
            case EXTENDED:
                if (significand >= 0) {
                    result(sign, significand); // a denormal: exponent field 0
                } else {
                    result(sign | ((exponent + BIAS) & EXP), significand);
                }
                return;
            case DOUBLE: {
                if (!inRange) {
                    store = false;
                    return;
                }
                long s = (long) sign << 48;
                long frac = significand >>> 11;
                bits = significand >= 0 ? s | frac : s | ((long) (exponent + 1023) << 52) | (frac & 0xF_FFFF_FFFF_FFFFL);
                return;
            }
            default: {
                if (!inRange) {
                    store = false;
                    return;
                }
                long s = (long) sign << 16;
                long frac = significand >>> 40;
                bits = significand >= 0 ? s | frac : s | ((long) (exponent + 127) << 23) | (frac & 0x7F_FFFF);
            }
        }
    }

    private void deliverInfinity(int sign, int format) {
        switch (format) {
            case EXTENDED: infinity(sign); return;
            case DOUBLE: bits = ((long) sign << 48) | 0x7FF0_0000_0000_0000L; return;
            default: bits = ((long) sign << 16) | 0x7F80_0000L;
        }
    }

    private void deliverZero(int sign, int format) {
        switch (format) {
            case EXTENDED: zero(sign); return;
            case DOUBLE: bits = (long) sign << 48; return;
            default: bits = (long) sign << 16;
        }
    }

    /**
     * Rounds a value computed elsewhere (the transcendental functions) to a register at 64 bits, the precision
     * control not applying (Vol. 1, 8.1.5.2): sign x (hi:lo / 2^127) x 2^exponent, hi normalized; an inexact value
     * gets a sticky bit so that it is rounded as one.
     */
    void roundApproximation(int sign, int exponent, long hi, long lo, boolean inexact) {
        wSign = sign;
        wExp = exponent;
        wHi = hi;
        wLo = inexact ? lo | 1 : lo;
        roundWork(64, EXTENDED);
    }

    /** Rounds the working value to a register under precision control. */
    private void roundToRegister() {
        // the common case inline: a result in the normal range (no overflow, no underflow); else roundWork
        int drop = DROP[(control >>> 8) & 3];
        int rc = (control >>> 10) & 3;
        long hi = wHi, lo = wLo;
        long r;
        boolean inexact, inc;
        if (drop == 0) {
            inexact = lo != 0;
            r = hi;
            inc = inexact && (rc == RC_NEAREST ? lo < 0 && ((lo << 1) != 0 || (hi & 1) != 0)
                    : rc == RC_DOWN ? wSign != 0 : rc == RC_UP && wSign == 0);
        } else {
            long unit = 1L << drop;
            long rest = hi & (unit - 1);
            inexact = rest != 0 || lo != 0;
            r = hi - rest;
            long half = unit >>> 1;
            inc = inexact && (rc == RC_NEAREST ? rest >= half && (rest != half || lo != 0 || (r & unit) != 0)
                    : rc == RC_DOWN ? wSign != 0 : rc == RC_UP && wSign == 0);
        }
        int e = wExp;
        if (inc) {
            r += 1L << drop;
            if (r == 0) {
                r = J;
                e++;
            }
        }
        if (e >= EMIN && e <= EMAX) {
            if (inexact) {
                flags |= PE;
            }
            roundedUp = inc;
            se = wSign | (e + BIAS);
            sig = r;
            return;
        }
        roundWork(64 - drop, EXTENDED);
    }

    /**
     * Bits below the rounding position for each precision-control setting: 24, 64 (the reserved setting 01b acts as
     * 64 bits, as on the processor), 53, 64 bits.
     */
    private static final int[] DROP = {40, 0, 11, 0};

    /** Loads a finite nonzero extended value into the working value (normalized, exact). */
    private void work(int sign, int se, long m) {
        wSign = sign;
        wExp = exponent(se, m);
        wHi = normalized(m);
        wLo = 0;
    }

    // ======================================================================================== arithmetic

    /**
     * a + b, or a - b (FADD, FSUB, FSUBR and their forms, Vol. 2A): the exact sum rounded once. An exact zero sum of
     * operands of opposite signs is +0, or -0 when rounding down (Vol. 1, 4.8.3.3 does not say: IEEE 754 6.3).
     */
    void add(int ca, int sea, long ma, int cb, int seb, long mb, boolean subtract) {
        begin();
        if ((ca != NORMAL || cb != NORMAL) && nanOrUnsupported(ca, sea, ma, cb, seb, mb)) {
            return;
        }
        if (subtract) {
            seb ^= SIGN;
        }
        int sa = sea & SIGN, sb = seb & SIGN;
        if (ca == INFINITY && cb == INFINITY && sa != sb) {
            invalid();
            return;
        }
        if (denormalStops(ca, cb)) {
            return;
        }
        if (ca == INFINITY || cb == INFINITY) {
            infinity(ca == INFINITY ? sa : sb);
            return;
        }
        if (ca == ZERO || cb == ZERO) {
            if (ca == ZERO && cb == ZERO) {
                zero(sa == sb ? sa : ((control >>> 10) & 3) == RC_DOWN ? SIGN : 0);
            } else if (ca == ZERO) {
                work(sb, seb, mb);
                roundToRegister();
            } else {
                work(sa, sea, ma);
                roundToRegister();
            }
            return;
        }
        int ea = exponent(sea, ma), eb = exponent(seb, mb);
        long a = normalized(ma), b = normalized(mb);
        if (ea < eb || (ea == eb && Long.compareUnsigned(a, b) < 0)) {
            int t = ea; ea = eb; eb = t;
            long u = a; a = b; b = u;
            int v = sa; sa = sb; sb = v;
        }
        int d = ea - eb;
        // b aligned to a in 128 bits, the bits shifted out kept as a sticky bit
        long bHi, bLo;
        if (d == 0) {
            bHi = b;
            bLo = 0;
        } else if (d < 64) {
            bHi = b >>> d;
            bLo = b << (64 - d);
        } else if (d < 128) {
            bHi = 0;
            int s = d - 64;
            bLo = s == 0 ? b : (b >>> s) | ((b << (64 - s)) != 0 ? 1 : 0);
        } else {
            bHi = 0;
            bLo = 1;
        }
        long hi, lo;
        int e = ea;
        if (sa == sb) {
            lo = bLo;
            hi = a + bHi;
            if (Long.compareUnsigned(hi, a) < 0) {
                // carry out of bit 63: one bit right (the sticky bit stays in bit 0)
                lo = (lo >>> 1) | (hi << 63) | (lo & 1);
                hi = (hi >>> 1) | J;
                e++;
            }
        } else {
            lo = -bLo;
            hi = a - bHi - (bLo != 0 ? 1 : 0);
            if (hi == 0 && lo == 0) {
                zero(((control >>> 10) & 3) == RC_DOWN ? SIGN : 0);
                return;
            }
            int n = hi != 0 ? Long.numberOfLeadingZeros(hi) : 64 + Long.numberOfLeadingZeros(lo);
            if (n >= 64) {
                hi = lo << (n - 64);
                lo = 0;
            } else if (n > 0) {
                hi = (hi << n) | (lo >>> (64 - n));
                lo <<= n;
            }
            e -= n;
        }
        wSign = sa;
        wExp = e;
        wHi = hi;
        wLo = lo;
        roundToRegister();
    }

    /** a x b (FMUL and its forms, Vol. 2A FMUL): the exact 128-bit product rounded once. */
    void multiply(int ca, int sea, long ma, int cb, int seb, long mb) {
        begin();
        int sign = (sea ^ seb) & SIGN;
        if (ca != NORMAL || cb != NORMAL) {
            if (nanOrUnsupported(ca, sea, ma, cb, seb, mb)) {
                return;
            }
            if ((ca == INFINITY || cb == INFINITY) && (ca == ZERO || cb == ZERO)) {
                invalid();
                return;
            }
            if (denormalStops(ca, cb)) {
                return;
            }
        }
        if (ca == INFINITY || cb == INFINITY) {
            infinity(sign);
            return;
        }
        if (ca == ZERO || cb == ZERO) {
            zero(sign);
            return;
        }
        long a = normalized(ma), b = normalized(mb);
        long hi = unsignedMultiplyHigh(a, b);
        long lo = a * b;
        int e = exponent(sea, ma) + exponent(seb, mb);
        if (hi < 0) {
            e++;
        } else {
            hi = (hi << 1) | (lo >>> 63);
            lo <<= 1;
        }
        wSign = sign;
        wExp = e;
        wHi = hi;
        wLo = lo;
        roundToRegister();
    }

    /** a / b (FDIV, FDIVR and their forms, Vol. 2A FDIV): 128 quotient bits and a sticky remainder, rounded once. */
    void divide(int ca, int sea, long ma, int cb, int seb, long mb) {
        begin();
        int sign = (sea ^ seb) & SIGN;
        if (ca != NORMAL || cb != NORMAL) {
            if (nanOrUnsupported(ca, sea, ma, cb, seb, mb)) {
                return;
            }
            if ((ca == INFINITY && cb == INFINITY) || (ca == ZERO && cb == ZERO)) {
                invalid();
                return;
            }
            if (cb == ZERO) {
                if (ca != INFINITY) {
                    flags |= ZE; // a finite dividend: division by zero (Vol. 1, 8.5.3)
                }
                infinity(sign);
                return;
            }
            if (denormalStops(ca, cb)) {
                return;
            }
        }
        if (ca == INFINITY) {
            infinity(sign);
            return;
        }
        if (cb == INFINITY) {
            zero(sign);
            return;
        }
        if (ca == ZERO) {
            zero(sign);
            return;
        }
        long a = normalized(ma), b = normalized(mb);
        int e = exponent(sea, ma) - exponent(seb, mb);
        long hi;
        if (Long.compareUnsigned(a, b) >= 0) {
            // a x 2^63 / b, in [2^63, 2^64)
            hi = divide128(a >>> 1, a << 63, b);
        } else {
            hi = divide128(a, 0, b);
            e--;
        }
        long lo = divide128(remainder, 0, b);
        if (remainder != 0) {
            lo |= 1;
        }
        wSign = sign;
        wExp = e;
        wHi = hi;
        wLo = lo;
        roundToRegister();
    }

    /** The square root (FSQRT, Vol. 2A): exact integer square root of the significand, rounded once. */
    void squareRoot(int sea, long ma) {
        begin();
        int c = classify(sea, ma);
        if (c != NORMAL && nanOrUnsupported(c, sea, ma)) {
            return;
        }
        int sign = sea & SIGN;
        if (c == ZERO) {
            zero(sign);
            return;
        }
        if (sign != 0) {
            invalid(); // a negative operand, -infinity included (-0 is above)
            return;
        }
        if (c == INFINITY) {
            infinity(0);
            return;
        }
        if (c == DENORMAL) {
            flags |= DE;
            if (!masked(DE)) {
                return;
            }
        }
        // value = m x 2^(e - 63); N = m x 2^s with e - 63 - s even, N in [2^126, 2^128); root = isqrt(N) in [2^63, 2^64)
        long m = normalized(ma);
        int e = exponent(sea, ma);
        int s = ((e - 63) & 1) == 0 ? 64 : 63;
        long nHi = s == 64 ? m : m >>> 1;
        long nLo = s == 64 ? 0 : m << 63;
        long r = isqrt128(nHi, nLo);
        // remainder N - r^2 (at most 2r, 65 bits): guard bit = remainder > r, sticky = remainder != 0
        long sqLo = r * r;
        long sqHi = unsignedMultiplyHigh(r, r);
        long remLo = nLo - sqLo;
        long remHi = nHi - sqHi - (Long.compareUnsigned(nLo, sqLo) < 0 ? 1 : 0);
        boolean guard = remHi != 0 || Long.compareUnsigned(remLo, r) > 0;
        boolean sticky = remHi != 0 || remLo != 0;
        wSign = 0;
        wExp = 63 + ((e - 63 - s) >> 1);
        wHi = r;
        wLo = (guard ? J : 0) | (sticky ? 1 : 0);
        roundToRegister();
    }

    /** floor(sqrt(hi:lo)) for hi:lo in [2^126, 2^128): a double estimate, one Newton step, then exact correction. */
    private long isqrt128(long hi, long lo) {
        double approx = Math.sqrt(unsignedToDouble(hi) * 0x1p62); // sqrt(N / 4)
        long r = approx >= 0x1p63 ? -1L : ((long) approx) << 1;
        if (Long.compareUnsigned(hi, r) < 0) { // else N >= (2^64 - 1) x 2^64: the root is 2^64 - 1
            long q = divide128(hi, lo, r);
            // (r + q) / 2 without overflow
            r = (r >>> 1) + (q >>> 1) + (r & q & 1);
        }
        // correct to the exact floor: r^2 <= N < (r+1)^2
        while (compareSquare(r, hi, lo) > 0) {
            r--;
        }
        while (r != -1L && compareSquare(r + 1, hi, lo) <= 0) {
            r++;
        }
        return r;
    }

    /** Compares r^2 with hi:lo (unsigned 128-bit). */
    private static int compareSquare(long r, long hi, long lo) {
        long sh = unsignedMultiplyHigh(r, r);
        int c = Long.compareUnsigned(sh, hi);
        return c != 0 ? c : Long.compareUnsigned(r * r, lo);
    }

    // ======================================================================================= conversions

    /**
     * A single-precision value converted exactly (an SNaN stays signaling): the value in {@link #se}/{@link #sig};
     * returns its class in the single-precision format (so a single-precision denormal is DENORMAL).
     */
    int convertSingle(int f) {
        int sign = (f >>> 16) & SIGN;
        int e = (f >>> 23) & 0xFF;
        long frac = f & 0x7F_FFFFL;
        if (e == 0xFF) {
            if (frac == 0) {
                infinity(sign);
                return INFINITY;
            }
            result(sign | EXP, J | (frac << 40));
            return (frac & 0x40_0000L) != 0 ? QNAN : SNAN;
        }
        if (e == 0) {
            if (frac == 0) {
                zero(sign);
                return ZERO;
            }
            int n = Long.numberOfLeadingZeros(frac) - 40; // the leading bit to J
            result(sign | (-126 - n + BIAS), (frac << 40) << n);
            return DENORMAL;
        }
        result(sign | (e - 127 + BIAS), J | (frac << 40));
        return NORMAL;
    }

    /** The double-precision form of {@link #convertSingle}. */
    int convertDouble(long d) {
        int sign = (int) (d >>> 48) & SIGN;
        int e = (int) (d >>> 52) & 0x7FF;
        long frac = d & 0xF_FFFF_FFFF_FFFFL;
        if (e == 0x7FF) {
            if (frac == 0) {
                infinity(sign);
                return INFINITY;
            }
            result(sign | EXP, J | (frac << 11));
            return (frac & (1L << 51)) != 0 ? QNAN : SNAN;
        }
        if (e == 0) {
            if (frac == 0) {
                zero(sign);
                return ZERO;
            }
            int n = Long.numberOfLeadingZeros(frac) - 11;
            result(sign | (-1022 - n + BIAS), (frac << 11) << n);
            return DENORMAL;
        }
        result(sign | (e - 1023 + BIAS), J | (frac << 11));
        return NORMAL;
    }

    /**
     * FLD m32fp/m64fp of a value converted by {@link #convertSingle} or {@link #convertDouble} (Vol. 2A FLD): an SNaN
     * is invalid and loaded quiet, a denormal is DE; otherwise exact.
     */
    void load(int c) {
        begin();
        if (c == SNAN) {
            flags |= IE;
            sig |= QUIET;
        } else if (c == DENORMAL) {
            flags |= DE;
        }
    }

    /** FILD (Vol. 2A): a 64-bit integer is exact in extended precision. */
    void fromInteger(long v) {
        begin();
        integer(v);
    }

    private void integer(long v) {
        if (v == 0) {
            zero(0);
            return;
        }
        int sign = v < 0 ? SIGN : 0;
        long m = v < 0 ? -v : v; // -2^63 stays 2^63 as an unsigned magnitude
        int n = Long.numberOfLeadingZeros(m);
        result(sign | (63 - n + BIAS), m << n);
    }

    /**
     * FST/FSTP m32fp, m64fp (Vol. 2A FST): rounded to the memory format with the rounding mode (not precision
     * control); an SNaN is invalid and stored quiet, an unsupported value is invalid and stores the indefinite.
     * The result is in {@link #bits} unless {@link #store} is false.
     */
    void toMemoryFormat(int sea, long ma, int format) {
        begin();
        boolean single = format == SINGLE;
        long signBit = (long) (sea & SIGN) << (single ? 16 : 48);
        switch (classify(sea, ma)) {
            case UNSUPPORTED:
                flags |= IE;
                bits = single ? 0xFFC0_0000L : 0xFFF8_0000_0000_0000L;
                return;
            case SNAN:
                flags |= IE;
                // fall through: stored as the QNaN
            case QNAN: {
                long frac = (ma | QUIET) & ~J;
                bits = single ? signBit | 0x7F80_0000L | (frac >>> 40) : signBit | 0x7FF0_0000_0000_0000L | (frac >>> 11);
                return;
            }
            case INFINITY:
                bits = signBit | (single ? 0x7F80_0000L : 0x7FF0_0000_0000_0000L);
                return;
            case ZERO:
                bits = signBit;
                return;
            default:
                work(sea & SIGN, sea, ma);
                roundWork(single ? 24 : 53, format);
        }
    }

    /**
     * FIST/FISTP/FISTTP (Vol. 2A): the value rounded to an integer of {@code size} bytes by the rounding mode, or
     * toward zero if {@code truncate}; a NaN, an infinity, an unsupported value or a result out of range is invalid
     * and gives the integer indefinite (the most negative integer, Vol. 1, 4.8.3.7). Returns the integer.
     */
    long toInteger(int sea, long ma, int size, boolean truncate) {
        begin();
        long indefinite = size == 8 ? Long.MIN_VALUE : -1L << (size * 8 - 1);
        int c = classify(sea, ma);
        if (c == ZERO) {
            return 0;
        }
        if (c != NORMAL && c != DENORMAL) {
            flags |= IE;
            return indefinite;
        }
        int rc = truncate ? RC_ZERO : (control >>> 10) & 3;
        int sign = sea & SIGN;
        int e = exponent(sea, ma);
        long m = normalized(ma);
        long magnitude;
        if (e >= 63) {
            if (e > 63) {
                flags |= IE;
                return indefinite;
            }
            magnitude = m; // an integer; 2^63 at most fits a negative 64-bit integer
        } else if (e >= 0) {
            int fracBits = 63 - e;
            long intPart = m >>> fracBits;
            long frac = m << (64 - fracBits);
            magnitude = intPart;
            boolean round = frac < 0;
            boolean sticky = (frac << 1) != 0;
            if (round || sticky) {
                flags |= PE;
                if (increment(rc, sign, (intPart & 1) != 0, round, sticky)) {
                    magnitude++;
                    roundedUp = true;
                }
            }
        } else {
            // below 1: 0, or 1 if rounded up (nearest: only above one half)
            flags |= PE;
            boolean round = e == -1;
            boolean sticky = e < -1 || (m << 1) != 0;
            magnitude = increment(rc, sign, false, round, sticky) ? 1 : 0;
            roundedUp = magnitude != 0;
        }
        long limit = size == 8 ? Long.MIN_VALUE : 1L << (size * 8 - 1); // magnitude of the most negative integer
        if (Long.compareUnsigned(magnitude, sign != 0 ? limit : limit - 1) > 0) {
            flags = (flags & ~PE) | IE;
            roundedUp = false;
            return indefinite;
        }
        return sign != 0 ? -magnitude : magnitude;
    }

    // ======================================================================================== comparisons

    /** {@link #compare} results, as C3 C2 C0 of FCOM (Vol. 2A FCOM, Table 3-21). */
    static final int GREATER = 0, LESS = 1, EQUAL = 4, UNORDERED = 7;

    /**
     * Compares a with b (FCOM, FUCOM, FCOMI, FUCOMI, FICOM, FTST, Vol. 2A): GREATER, LESS, EQUAL or UNORDERED. A NaN
     * operand is invalid for the ordered compares, an SNaN or an unsupported operand for all; denormals are DE.
     */
    int compare(int ca, int sea, long ma, int cb, int seb, long mb, boolean ordered) {
        begin();
        if (ca == UNSUPPORTED || cb == UNSUPPORTED || ca == SNAN || cb == SNAN
                || (ordered && (isNaN(ca) || isNaN(cb)))) {
            flags |= IE;
            return UNORDERED;
        }
        if (isNaN(ca) || isNaN(cb)) {
            return UNORDERED;
        }
        if (ca == DENORMAL || cb == DENORMAL) {
            flags |= DE;
        }
        if (ca == ZERO && cb == ZERO) {
            return EQUAL;
        }
        int sa = sea & SIGN, sb = seb & SIGN;
        if (ca == ZERO) {
            return sb != 0 ? GREATER : LESS;
        }
        if (cb == ZERO) {
            return sa != 0 ? LESS : GREATER;
        }
        if (sa != sb) {
            return sa != 0 ? LESS : GREATER;
        }
        int c;
        if (ca == INFINITY || cb == INFINITY) {
            c = ca == cb ? 0 : ca == INFINITY ? 1 : -1;
        } else {
            int ea = exponent(sea, ma), eb = exponent(seb, mb);
            c = ea != eb ? Integer.compare(ea, eb) : Long.compareUnsigned(normalized(ma), normalized(mb));
        }
        if (c == 0) {
            return EQUAL;
        }
        return (c > 0) == (sa == 0) ? GREATER : LESS;
    }

    // ==================================================================================== other operations

    /** FRNDINT (Vol. 2A): rounded to an integer by the rounding mode; PE if that changed it. */
    void roundToInteger(int sea, long ma) {
        begin();
        int c = classify(sea, ma);
        if (c != NORMAL && nanOrUnsupported(c, sea, ma)) {
            return;
        }
        if (c == ZERO || c == INFINITY) {
            result(sea, ma);
            return;
        }
        if (c == DENORMAL) {
            flags |= DE;
            if (!masked(DE)) {
                return;
            }
        }
        int sign = sea & SIGN;
        int e = exponent(sea, ma);
        long m = normalized(ma);
        if (e >= 63) {
            result(sea, ma);
            return;
        }
        int rc = (control >>> 10) & 3;
        if (e < 0) {
            flags |= PE;
            boolean up = increment(rc, sign, false, e == -1, e < -1 || (m << 1) != 0);
            roundedUp = up;
            if (up) {
                result(sign | BIAS, J);
            } else {
                zero(sign);
            }
            return;
        }
        int fracBits = 63 - e;
        long frac = m << (64 - fracBits);
        if (frac == 0) {
            result(sign | (e + BIAS), m);
            return;
        }
        flags |= PE;
        long unit = 1L << fracBits;
        long kept = m & -unit;
        if (increment(rc, sign, (kept & unit) != 0, frac < 0, (frac << 1) != 0)) {
            roundedUp = true;
            kept += unit;
            if (kept == 0) {
                result(sign | (e + 1 + BIAS), J);
                return;
            }
        }
        result(sign | (e + BIAS), kept);
    }

    /**
     * FSCALE (Vol. 2A): a x 2^trunc(b). Exact unless the result overflows or underflows (then rounded at 64 bits like
     * any result). Special operands as in the instruction's table.
     */
    void scale(int sea, long ma, int seb, long mb) {
        begin();
        int ca = classify(sea, ma), cb = classify(seb, mb);
        int sa = sea & SIGN, sb = seb & SIGN;
        if ((ca != NORMAL || cb != NORMAL) && nanOrUnsupported(ca, sea, ma, cb, seb, mb)) {
            return;
        }
        if (cb == INFINITY && ((sb == 0 && ca == ZERO) || (sb != 0 && ca == INFINITY))) {
            invalid(); // 0 x 2^+inf, inf x 2^-inf
            return;
        }
        if (denormalStops(ca, cb)) {
            return;
        }
        if (cb == INFINITY) {
            if (sb == 0) {
                infinity(sa);
            } else {
                zero(sa);
            }
            return;
        }
        if (ca == INFINITY || ca == ZERO) {
            result(sea, ma);
            return;
        }
        // the scale truncated toward zero, clamped far beyond any exponent that could still be rounded into range
        int n;
        if (cb == ZERO) {
            n = 0;
        } else {
            int eb = exponent(seb, mb);
            if (eb < 0) {
                n = 0;
            } else if (eb >= 30) {
                n = 1 << 30;
            } else {
                n = (int) (normalized(mb) >>> (63 - eb));
            }
            if (sb != 0) {
                n = -n;
            }
        }
        wSign = sa;
        wExp = exponent(sea, ma) + n;
        wHi = normalized(ma);
        wLo = 0;
        roundWork(64, EXTENDED);
    }

    /**
     * FXTRACT (Vol. 2A): the exponent of a (as a real, in {@link #se}/{@link #sig}) and its significand with exponent
     * 0 (in {@link #significandSe}/{@link #significandSig}). Zero: ZE, exponent -infinity; infinity: exponent
     * +infinity.
     */
    void extract(int sea, long ma) {
        begin();
        int c = classify(sea, ma);
        if (c != NORMAL && nanOrUnsupported(c, sea, ma)) {
            significandSe = se;
            significandSig = sig;
            return;
        }
        int sign = sea & SIGN;
        if (c == ZERO) {
            flags |= ZE;
            infinity(SIGN);
            significandSe = sign;
            significandSig = 0;
            return;
        }
        if (c == INFINITY) {
            infinity(0);
            significandSe = sea;
            significandSig = ma;
            return;
        }
        if (c == DENORMAL) {
            flags |= DE;
            if (!masked(DE)) {
                return;
            }
        }
        significandSe = sign | BIAS;
        significandSig = normalized(ma);
        integer(exponent(sea, ma));
    }

    /** The significand part of {@link #extract}. */
    int significandSe;
    long significandSig;

    /**
     * The quotient bits Q2 Q1 Q0 of the last {@link #partialRemainder}, whether it was complete (C2 = 0), and whether
     * there was a division at all (not for NaN and invalid operands).
     */
    int quotient;
    boolean complete;
    boolean divided;

    /**
     * FPREM and FPREM1 (Vol. 2A): a - b x q, exactly, with q the quotient a / b truncated (FPREM) or rounded to
     * nearest even (FPREM1), when the exponents differ by less than 64; otherwise a partial reduction by
     * 2^(D - N) x b with N = 32 + (D mod 32) (the implementation-dependent number of the instruction pages, as this
     * processor and Intel's choose it), which leaves C2 = 1 and the quotient bits 0.
     */
    void partialRemainder(int sea, long ma, int seb, long mb, boolean nearest) {
        begin();
        quotient = 0;
        complete = true;
        divided = false;
        int ca = classify(sea, ma), cb = classify(seb, mb);
        if ((ca != NORMAL || cb != NORMAL) && nanOrUnsupported(ca, sea, ma, cb, seb, mb)) {
            return;
        }
        if (ca == INFINITY || cb == ZERO) {
            invalid();
            return;
        }
        if (denormalStops(ca, cb)) {
            return;
        }
        divided = true;
        if (ca == ZERO) {
            result(sea, ma);
            return;
        }
        if (cb == INFINITY) {
            // the dividend is the remainder: delivered as a result, so a pseudo-denormal comes back normalized
            work(sea & SIGN, sea, ma);
            roundWork(64, EXTENDED);
            return;
        }
        int sign = sea & SIGN;
        int ea = exponent(sea, ma), eb = exponent(seb, mb);
        long a = normalized(ma), b = normalized(mb);
        int d = ea - eb;
        if (d < 0) {
            // |a| < |b|: the truncated quotient is 0; the nearest one is 1 when |a| > |b| / 2
            if (nearest && d == -1 && Long.compareUnsigned(a, b) > 0) {
                // r = a - b: |b| - |a| with the opposite sign, exact
                wSign = sign ^ SIGN;
                long diff = b - (a >>> 1);
                subtractRemainderResult(diff, (a & 1) != 0, eb);
                quotient = 1;
                return;
            }
            work(sign, sea, ma);
            roundWork(64, EXTENDED);
            return;
        }
        int steps; // quotient bits to develop after the first
        int resultExp; // exponent of the remainder's bit 63
        if (d < 64) {
            steps = d;
            resultExp = eb;
        } else {
            steps = 32 + (d & 31);
            resultExp = ea - steps;
            complete = false;
        }
        // restoring division: r < b throughout; q collects the low quotient bits
        long r = a;
        long q = 0;
        if (Long.compareUnsigned(r, b) >= 0) {
            r -= b;
            q = 1;
        }
        for (int k = 0; k < steps; k++) {
            boolean carry = r < 0;
            r <<= 1;
            q <<= 1;
            if (carry || Long.compareUnsigned(r, b) >= 0) {
                r -= b;
                q |= 1;
            }
        }
        if (complete && nearest) {
            // round the quotient to nearest even: compare 2r with b
            int c = r < 0 ? 1 : Long.compareUnsigned(r << 1, b);
            if (c > 0 || (c == 0 && (q & 1) != 0)) {
                r = b - r;
                q++;
                sign ^= SIGN;
            }
        }
        if (complete) {
            quotient = (int) (q & 7);
        }
        if (r == 0) {
            zero(sea & SIGN);
            return;
        }
        wSign = sign;
        int n = Long.numberOfLeadingZeros(r);
        wExp = resultExp - n;
        wHi = r << n;
        wLo = 0;
        roundWork(64, EXTENDED); // exact; a denormal result underflows
    }

    /** FPREM1 with |a| in (|b|/2, |b|) and exponents differing by one: the remainder b - a, exact. */
    private void subtractRemainderResult(long diff, boolean halfBit, int eb) {
        // a / 2 lost its last bit: b - a/2 exactly is diff - halfBit/2, in units of 2^(eb - 63)
        long hi = diff, lo = 0;
        if (halfBit) {
            hi--;
            lo = J;
        }
        int n = hi != 0 ? Long.numberOfLeadingZeros(hi) : 64;
        if (n == 64) {
            hi = lo;
            lo = 0;
            wExp = eb - 64;
        } else {
            if (n > 0) {
                hi = (hi << n) | (lo >>> (64 - n));
                lo <<= n;
            }
            wExp = eb - n;
        }
        wHi = hi;
        wLo = lo;
        roundWork(64, EXTENDED);
    }

    // ========================================================================================= integers

    static long unsignedMultiplyHigh(long a, long b) {
        return Math.multiplyHigh(a, b) + ((a >> 63) & b) + ((b >> 63) & a);
    }

    static double unsignedToDouble(long v) {
        double d = (double) (v >>> 1) * 2.0;
        return d + (v & 1);
    }

    /**
     * Unsigned (u1:u0) / v for u1 < v: the 64-bit quotient; the remainder goes to {@link #remainder} (Hacker's
     * Delight, 2nd ed., 9-4 "divlu": two 32-bit digit steps on the normalized divisor).
     */
    long divide128(long u1, long u0, long v) {
        if (u1 == 0 && u0 >= 0 && v > 0) {
            remainder = u0 % v;
            return u0 / v;
        }
        final long b = 1L << 32;
        int s = Long.numberOfLeadingZeros(v);
        v <<= s;
        long vn1 = v >>> 32, vn0 = v & 0xFFFF_FFFFL;
        long un32 = s == 0 ? u1 : (u1 << s) | (u0 >>> (64 - s));
        long un10 = u0 << s;
        long un1 = un10 >>> 32, un0 = un10 & 0xFFFF_FFFFL;
        long q1 = Long.divideUnsigned(un32, vn1);
        long rhat = un32 - q1 * vn1;
        while (q1 >= b || Long.compareUnsigned(q1 * vn0, (rhat << 32) + un1) > 0) {
            q1--;
            rhat += vn1;
            if (rhat >= b) {
                break;
            }
        }
        long un21 = (un32 << 32) + un1 - q1 * v;
        long q0 = Long.divideUnsigned(un21, vn1);
        rhat = un21 - q0 * vn1;
        while (q0 >= b || Long.compareUnsigned(q0 * vn0, (rhat << 32) + un0) > 0) {
            q0--;
            rhat += vn1;
            if (rhat >= b) {
                break;
            }
        }
        remainder = ((un21 << 32) + un0 - q0 * v) >>> s;
        return (q1 << 32) + q0;
    }
}
