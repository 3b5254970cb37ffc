package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.DE;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.DENORMAL;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.IE;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.INFINITY;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.J;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.NORMAL;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.PE;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.SIGN;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.ZE;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.ZERO;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.classify;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.exponent;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.normalized;
import static io.jvmx.vmx.emulated.cpu.ExtendedPrecision.unsignedMultiplyHigh;

/**
 * The x87 transcendental instructions F2XM1, FYL2X, FYL2XP1, FPTAN, FPATAN, FSIN, FCOS and FSINCOS (SDM Vol. 2A, their
 * pages; Vol. 1, 8.3.10). The functions are computed in an arithmetic of "wide" values of its own (sign, exponent,
 * 128-bit significand), accurate to about 2^-120 relative, and rounded once to a 64-bit significand by the rounding
 * mode (precision control does not apply): the result is the correctly rounded one except where the exact value
 * lies within about 2^-120 of a rounding boundary. The SDM promises less than one unit in the last place (Vol. 1,
 * 8.3.10); the processor's results can differ from the correctly rounded ones in the last bit.
 *
 * <p>FSIN, FCOS, FSINCOS and FPTAN reduce their operand modulo the 66-bit approximation of pi the processor uses
 * (Vol. 1, 8.3.8: "Pi" is 0xC90FDAA22168C234C x 2^-66 x 4), exactly: so near multiples of pi the results are the
 * processor's, not those of the true pi. An operand of magnitude 2^63 or more is out of range (C2 = 1, unchanged).
 *
 * <p>One instance per processor (its working registers); nothing allocates.
 */
final class X87Transcendentals {
    private final ExtendedPrecision fp;

    X87Transcendentals(ExtendedPrecision fp) {
        this.fp = fp;
    }

    // ======================================================================================== wide values

    /*
     * A wide value is sign x (hi:lo / 2^127) x 2^exp with hi's bit 63 set, or zero (hi = 0). Operations truncate to
     * 128 bits: each loses less than 2^-126 relative; additions keep what they shift out as a sticky bit.
     */
    private static final int REGISTERS = 16;
    private final int[] sign = new int[REGISTERS];
    private final int[] exp = new int[REGISTERS];
    private final long[] hi = new long[REGISTERS];
    private final long[] lo = new long[REGISTERS];

    private static final int A = 0, B = 1, C = 2, D = 3, E = 4, F = 5, G = 6, H = 7, K = 8, L = 9, M = 10, N = 11,
            P = 12, Q = 13, R = 14, S = 15;

    // constants, rounded to 128 bits (exponent, high and low significand words)
    private static final long LN2_HI = 0xB172_17F7_D1CF_79ABL, LN2_LO = 0xC9E3_B398_03F2_F6AFL;
    private static final long LOG2E_HI = 0xB8AA_3B29_5C17_F0BBL, LOG2E_LO = 0xBE87_FED0_691D_3E89L;
    private static final long PI_HI = 0xC90F_DAA2_2168_C234L, PI_LO = 0xC4C6_628B_80DC_1CD1L;
    /** atan(k/8) for k = 1..8: exponents, high and low words. */
    private static final int[] ATAN_EXP = {-4, -3, -2, -2, -1, -1, -1, -1};
    private static final long[] ATAN_HI = {0xFEAD_D4D5_617B_6E32L, 0xFADB_AFC9_6406_EB15L, 0xB7B0_CA0F_26F7_8473L,
            0xED63_382B_0DDA_7B45L, 0x8F00_5D5E_F7F5_9F9BL, 0xA4BC_7D19_34F7_0924L, 0xB805_3E2B_C231_9E73L,
            0xC90F_DAA2_2168_C234L};
    private static final long[] ATAN_LO = {0xC897_989F_3E88_8EF8L, 0x6DC7_9EF5_F7A2_17E6L, 0x8AA3_2122_DCFE_4483L,
            0x6FE4_45EC_BC3A_8D03L, 0x5C83_5E16_65C4_3748L, 0x19A8_7F2A_457D_AC9FL, 0xCB2D_A552_10A4_443DL,
            0xC4C6_628B_80DC_1CD1L};
    /**
     * The processor's pi / 2 for the reduction of FSIN, FCOS, FSINCOS, FPTAN: floor(pi x 2^64) = 3243F6A8885A308D3H,
     * a 66-bit integer, times 2^-65 (Vol. 1, 8.3.8).
     */
    private static final long HALF_PI66_HI = 3, HALF_PI66_LO = 0x243F_6A88_85A3_08D3L;

    private boolean zero(int a) {
        return hi[a] == 0;
    }

    private void setZero(int d) {
        sign[d] = 0;
        exp[d] = 0;
        hi[d] = 0;
        lo[d] = 0;
    }

    private void set(int d, int s, int e, long h, long l) {
        sign[d] = s;
        exp[d] = e;
        hi[d] = h;
        lo[d] = l;
    }

    private void copy(int d, int a) {
        set(d, sign[a], exp[a], hi[a], lo[a]);
    }

    private void negate(int d) {
        sign[d] ^= SIGN;
    }

    /** A finite nonzero extended value, exactly. */
    private void extended(int d, int se, long sig) {
        set(d, se & SIGN, exponent(se, sig), normalized(sig), 0);
    }

    private void integer(int d, long v) {
        if (v == 0) {
            setZero(d);
            return;
        }
        long m = v < 0 ? -v : v;
        int n = Long.numberOfLeadingZeros(m);
        set(d, v < 0 ? SIGN : 0, 63 - n, m << n, 0);
    }

    /** A double (finite, nonzero), exactly. */
    private void fromDouble(int d, double v) {
        long bits = Double.doubleToRawLongBits(v);
        int e = (int) (bits >>> 52) & 0x7FF;
        set(d, (int) (bits >>> 48) & SIGN, e - 1023, J | (bits & 0xF_FFFF_FFFF_FFFFL) << 11, 0);
    }

    /** The significand of a nonzero wide value as a double in [1, 2) (its exponent apart). */
    private double significand(int a) {
        return ExtendedPrecision.unsignedToDouble(hi[a] >>> 11) * 0x1p-52;
    }

    private void mul(int d, int a, int b) {
        if (zero(a) || zero(b)) {
            setZero(d);
            return;
        }
        long ah = hi[a], al = lo[a], bh = hi[b], bl = lo[b];
        long p3 = unsignedMultiplyHigh(ah, bh), p2 = ah * bh;
        long m1h = unsignedMultiplyHigh(ah, bl), m1l = ah * bl;
        long m2h = unsignedMultiplyHigh(al, bh), m2l = al * bh;
        long llh = unsignedMultiplyHigh(al, bl);
        // bits 64-127 of the 256-bit product (only their carries and top bit are kept)
        long s0 = m1l + m2l;
        long c = Long.compareUnsigned(s0, m1l) < 0 ? 1 : 0;
        long s1 = s0 + llh;
        c += Long.compareUnsigned(s1, s0) < 0 ? 1 : 0;
        // bits 128-191
        long t0 = p2 + m1h;
        long c2 = Long.compareUnsigned(t0, p2) < 0 ? 1 : 0;
        long t1 = t0 + m2h;
        c2 += Long.compareUnsigned(t1, t0) < 0 ? 1 : 0;
        long t2 = t1 + c;
        c2 += Long.compareUnsigned(t2, t1) < 0 ? 1 : 0;
        long top = p3 + c2;
        int e = exp[a] + exp[b];
        int s = sign[a] ^ sign[b];
        if (top < 0) {
            set(d, s, e + 1, top, t2);
        } else {
            set(d, s, e, top << 1 | t2 >>> 63, t2 << 1 | s1 >>> 63);
        }
    }

    /** d = a + b. */
    private void add(int d, int a, int b) {
        if (zero(b)) {
            copy(d, a);
            return;
        }
        if (zero(a)) {
            copy(d, b);
            return;
        }
        int x = a, y = b;
        if (exp[a] < exp[b] || (exp[a] == exp[b] && (Long.compareUnsigned(hi[a], hi[b]) < 0
                || (hi[a] == hi[b] && Long.compareUnsigned(lo[a], lo[b]) < 0)))) {
            x = b;
            y = a;
        }
        // y aligned to x; bits shifted out are jammed into the lowest bit, so that a sum is never exactly a
        // representable value when it is not (a directed rounding of it then goes the right way)
        int shift = exp[x] - exp[y];
        long yh, yl;
        if (shift >= 128) {
            yh = 0;
            yl = 1;
        } else if (shift >= 64) {
            int t = shift - 64;
            yh = 0;
            yl = t == 0 ? hi[y] : hi[y] >>> t | (hi[y] << (64 - t) != 0 || lo[y] != 0 ? 1 : 0);
            if (t == 0 && lo[y] != 0) {
                yl |= 1;
            }
        } else if (shift > 0) {
            yh = hi[y] >>> shift;
            yl = lo[y] >>> shift | hi[y] << (64 - shift) | (lo[y] << (64 - shift) != 0 ? 1 : 0);
        } else {
            yh = hi[y];
            yl = lo[y];
        }
        long xh = hi[x], xl = lo[x];
        int s = sign[x];
        int e = exp[x];
        if (sign[x] == sign[y]) {
            long l = xl + yl;
            long h = xh + yh + (Long.compareUnsigned(l, xl) < 0 ? 1 : 0);
            boolean carry = Long.compareUnsigned(h, xh) < 0 || (h == xh && yh != 0);
            if (carry) {
                set(d, s, e + 1, J | h >>> 1, l >>> 1 | h << 63 | (l & 1));
            } else {
                set(d, s, e, h, l);
            }
            return;
        }
        long l = xl - yl;
        long h = xh - yh - (Long.compareUnsigned(xl, yl) < 0 ? 1 : 0);
        if (h == 0 && l == 0) {
            setZero(d);
            return;
        }
        int n = h != 0 ? Long.numberOfLeadingZeros(h) : 64 + Long.numberOfLeadingZeros(l);
        if (n >= 64) {
            h = l << (n - 64);
            l = 0;
        } else if (n > 0) {
            h = h << n | l >>> (64 - n);
            l <<= n;
        }
        set(d, s, e - n, h, l);
    }

    /**
     * A series term too small to change the sum's 128 bits: the series ends. (Where a function's leading term is
     * exact, as r in sin(r) = r - r^3/3! + ..., the series is the rest, summed on its own and added to the leading
     * term once: so the sum keeps the direction of even a negligible rest, as a sticky bit, and is not exactly a
     * representable value when the function's value is not.)
     */
    private boolean negligible(int term, int sum) {
        return zero(term) || exp[term] < exp[sum] - 130;
    }

    /** d = a - b. */
    private void sub(int d, int a, int b) {
        sign[b] ^= SIGN;
        add(d, a, b);
        if (d != b) {
            sign[b] ^= SIGN;
        }
    }

    /** d = a / n for a small positive integer n. */
    private void divSmall(int d, int a, int n) {
        if (zero(a)) {
            setZero(d);
            return;
        }
        long qh = Long.divideUnsigned(hi[a], n);
        long r = Long.remainderUnsigned(hi[a], n);
        long ql = fp.divide128(r, lo[a], n);
        int shift = Long.numberOfLeadingZeros(qh);
        if (shift > 0) {
            qh = qh << shift | ql >>> (64 - shift);
            ql <<= shift;
        }
        set(d, sign[a], exp[a] - shift, qh, ql);
    }

    /**
     * d = a / b. A divisor of 64 bits (an extended operand) divides exactly, with the remainder as a sticky bit, so
     * that a quotient is exactly representable only when it is; otherwise the reciprocal of b from a double, two
     * Newton steps (53, 106, then the full 128 bits), the quotient, and one correction step of the quotient.
     */
    private void div(int d, int a, int b) {
        if (lo[b] == 0) {
            divideBy64(d, a, b);
            return;
        }
        fromDouble(Q, 1.0 / significand(b));
        exp[Q] -= exp[b];
        sign[Q] = sign[b];
        for (int k = 0; k < 2; k++) {
            mul(R, b, Q);       // b y, close to 1
            set(S, 0, 1, J, 0); // 2
            sub(R, S, R);       // 2 - b y
            mul(Q, Q, R);
        }
        mul(R, a, Q);           // q = a / b
        mul(S, b, R);
        sub(S, a, S);           // a - b q
        mul(S, S, Q);
        add(d, R, S);
    }

    /** d = a / b for a divisor with a 64-bit significand: long division of a's 128 bits, then a sticky bit. */
    private void divideBy64(int d, int a, int b) {
        long ah = hi[a], al = lo[a], bh = hi[b];
        int e = exp[a] - exp[b];
        long qh, ql;
        long sticky;
        if (Long.compareUnsigned(ah, bh) < 0) {
            qh = fp.divide128(ah, al, bh);
            ql = fp.divide128(fp.remainder(), 0, bh);
            sticky = fp.remainder() != 0 ? 1 : 0;
            e--;
        } else {
            // the quotient has a 65th bit: 1, then the rest one bit lower
            long q1 = fp.divide128(ah - bh, al, bh);
            long q0 = fp.divide128(fp.remainder(), 0, bh);
            sticky = (q0 & 1) | (fp.remainder() != 0 ? 1 : 0);
            qh = J | q1 >>> 1;
            ql = q1 << 63 | q0 >>> 1;
        }
        set(d, sign[a] ^ sign[b], e, qh, ql | sticky);
    }

    /** Rounds wide value {@code a} into the processor's result (64 bits, the rounding mode). */
    private void deliver(int a, boolean inexact) {
        if (zero(a)) {
            fp.zero(0);
            return;
        }
        fp.roundApproximation(sign[a], exp[a], hi[a], lo[a], inexact);
    }

    // =========================================================================================== functions

    /** d = 2^x - 1 for a wide x with |x| <= 1: expm1(x ln 2) from x ln 2 / 256 and eight doublings. */
    private void exp2m1(int d, int x) {
        set(A, 0, -1, LN2_HI, LN2_LO);
        mul(A, x, A);
        exp[A] -= 8;
        // expm1(u) = u + u^2/2! + u^3/3! + ...: |u| < 2^-8, so 17 terms reach 2^-130
        copy(B, A); // the sum
        copy(C, A); // the term
        for (int n = 2; n <= 17; n++) {
            mul(C, C, A);
            divSmall(C, C, n);
            if (negligible(C, B)) {
                break;
            }
            add(B, B, C);
        }
        // expm1(2u) = expm1(u) (expm1(u) + 2)
        for (int k = 0; k < 8; k++) {
            set(C, 0, 1, J, 0);
            add(C, B, C);
            mul(B, B, C);
        }
        copy(d, B);
    }

    /**
     * d = atanh(z) = z + z^3/3 + z^5/5 + ... for |z| <= 0.172 (z^2 < 0.03: 26 terms reach 2^-130).
     */
    private void atanh(int d, int z) {
        mul(A, z, z);
        copy(B, z); // the sum
        copy(C, z); // z^(2n+1)
        for (int n = 1; n <= 26; n++) {
            mul(C, C, A);
            divSmall(D, C, 2 * n + 1);
            if (negligible(D, B)) {
                break;
            }
            add(B, B, D);
        }
        copy(d, B);
    }

    /** d = log2(x) for a finite positive extended x; true if that is exact (x a power of two). */
    private boolean log2(int d, int se, long sig) {
        extended(E, se, sig);
        return log2Wide(d, E);
    }

    /**
     * d = log2(w) for a positive wide value w (register {@code w}, clobbered): e + log2(m) with m in
     * [1/sqrt(2), sqrt(2)) and ln(m) = 2 atanh((m - 1) / (m + 1)); true if exact (w a power of two).
     */
    private boolean log2Wide(int d, int w) {
        int e = exp[w];
        if (hi[w] == J && lo[w] == 0) {
            integer(d, e);
            return true;
        }
        // 0xB504F333F9DE6484 is sqrt(2) x 2^63, truncated
        exp[w] = Long.compareUnsigned(hi[w], 0xB504_F333_F9DE_6484L) > 0 ? -1 : 0;
        if (exp[w] < 0) {
            e++;
        }
        set(F, 0, 0, J, 0);
        sub(G, w, F);
        add(H, w, F);
        div(G, G, H);
        atanh(G, G);
        exp[G]++;
        set(F, 0, 0, LOG2E_HI, LOG2E_LO);
        mul(G, G, F);
        integer(F, e);
        add(d, F, G);
        return false;
    }

    /**
     * d = log2(1 + x) for a finite nonzero extended x > -1: 2 atanh(x / (2 + x)) log2(e) for |x| < 1/4, where 1 + x
     * would lose x's low bits; log2 of the wide 1 + x beyond (the SDM defines the instruction for |x| < 1 - sqrt(2)/2
     * only; the processor computes it beyond, and so does this one).
     */
    private void log2p1(int d, int se, long sig) {
        extended(E, se, sig);
        set(F, 0, 0, J, 0);
        if (exp[E] >= -2) {
            add(E, F, E);
            log2Wide(d, E);
            return;
        }
        exp[F] = 1;
        add(F, F, E);
        div(G, E, F);
        atanh(G, G);
        exp[G]++;
        set(F, 0, 0, LOG2E_HI, LOG2E_LO);
        mul(d, G, F);
    }

    /** d = atan(t) for 0 <= t <= 1 (wide): atan(c) + atan((t - c) / (1 + t c)) with c = k/8 nearest to t. */
    private void atan(int d, int t) {
        int k = zero(t) ? 0 : (int) Math.rint(significand(t) * Math.scalb(8.0, exp[t]));
        if (k > 0) {
            integer(E, k);
            exp[E] -= 3; // c = k/8
            sub(F, t, E);
            mul(G, t, E);
            set(H, 0, 0, J, 0);
            add(G, G, H);
            div(F, F, G); // |(t - c) / (1 + t c)| <= 1/16
        } else {
            copy(F, t);
        }
        // atan(u) = u + (-u^3/3 + u^5/5 - ...): u^2 <= 2^-8, 16 terms reach 2^-130
        mul(A, F, F);
        setZero(B); // the rest after u
        copy(C, F);
        for (int n = 1; n <= 16; n++) {
            mul(C, C, A);
            divSmall(D, C, 2 * n + 1);
            if (!zero(B) && negligible(D, B)) {
                break;
            }
            if ((n & 1) != 0) {
                sub(B, B, D);
            } else {
                add(B, B, D);
            }
        }
        add(B, F, B);
        if (k > 0) {
            set(E, 0, ATAN_EXP[k - 1], ATAN_HI[k - 1], ATAN_LO[k - 1]);
            add(B, B, E);
        }
        copy(d, B);
    }

    /**
     * Reduces a finite extended x with |x| < 2^63 modulo the processor's pi/2: wide register R gets
     * r = x - k pi66/2 with |r| <= pi66/4, exactly; returns k mod 4.
     */
    private int reduce(int se, long sig) {
        int e = exponent(se, sig);
        long m = normalized(sig);
        int s = se & SIGN;
        if (e < -1) {
            set(R, s, e, m, 0); // below pi/4: nothing to reduce
            return 0;
        }
        // X = |x| x 2^65 as a 128-bit integer (e <= 62: m x 2^(e + 2) < 2^128)
        int shift = e + 2;
        long xh = shift >= 64 ? m << (shift - 64) : m >>> (64 - shift);
        long xl = shift >= 64 ? 0 : m << shift;
        // k: from doubles, then corrected with the exact remainder's double, then by one if need be
        double xd = ExtendedPrecision.unsignedToDouble(m) * Math.scalb(1.0, e - 63);
        long k = (long) Math.rint(xd / (Math.PI / 2));
        long rh = remainderHigh(xh, xl, k);
        long rl = remainderLow;
        double rd = (double) rh * 0x1p64 + ExtendedPrecision.unsignedToDouble(rl);
        k += (long) Math.rint(rd * 0x1p-65 / (Math.PI / 2));
        rh = remainderHigh(xh, xl, k);
        rl = remainderLow;
        // |r| must not exceed pi66/4 = Q/2 (Q = 3243F6A8885A308D3H is odd: no ties)
        while (compareHalfQ(rh, rl) > 0) {
            k++;
            rh = remainderHigh(xh, xl, k);
            rl = remainderLow;
        }
        while (compareHalfQ(rh, rl) < 0) {
            k--;
            rh = remainderHigh(xh, xl, k);
            rl = remainderLow;
        }
        // r = R x 2^-65, negated for a negative x (then k is negated too)
        boolean negative = rh < 0;
        if (negative) {
            rl = -rl;
            rh = ~rh + (rl == 0 ? 1 : 0);
        }
        if (rh == 0 && rl == 0) {
            setZero(R);
        } else {
            int n = rh != 0 ? Long.numberOfLeadingZeros(rh) : 64 + Long.numberOfLeadingZeros(rl);
            long h = n >= 64 ? rl << (n - 64) : n == 0 ? rh : rh << n | rl >>> (64 - n);
            long l = n >= 64 ? 0 : rl << n;
            set(R, (negative ? SIGN : 0) ^ s, 127 - n - 65, h, l);
        }
        return (int) (s != 0 ? -k : k) & 3;
    }

    private long remainderLow;

    /** X - k Q (mod 2^128) for the 128-bit X and Q = pi66/2 x 2^65; the high word, the low one in remainderLow. */
    private long remainderHigh(long xh, long xl, long k) {
        long pl = k * HALF_PI66_LO;
        long ph = unsignedMultiplyHigh(k, HALF_PI66_LO) + k * HALF_PI66_HI
                - (k < 0 ? HALF_PI66_LO : 0); // k x QLO for a negative k, as a signed product
        remainderLow = xl - pl;
        return xh - ph - (Long.compareUnsigned(xl, pl) < 0 ? 1 : 0);
    }

    /** Compares the signed 128-bit rh:rl with +Q/2 (above: 1) and -Q/2 (below: -1); 0 between. */
    private static int compareHalfQ(long rh, long rl) {
        // Q/2 = 1921FB54442D18469.8: |r| > Q/2 iff |r| >= 1921FB54442D1846AH
        long halfHi = 1, halfLo = 0x921F_B544_42D1_846AL;
        if (rh >= 0) {
            return rh > halfHi || (rh == halfHi && Long.compareUnsigned(rl, halfLo) >= 0) ? 1 : 0;
        }
        long nl = -rl;
        long nh = ~rh + (rl == 0 ? 1 : 0);
        return nh > halfHi || (nh == halfHi && Long.compareUnsigned(nl, halfLo) >= 0) ? -1 : 0;
    }

    /** Wide registers K and L get sin(r) and cos(r) for the reduced r in R (|r| <= pi/4): Taylor series. */
    private void sinCos() {
        if (zero(R)) {
            setZero(K);
            set(L, 0, 0, J, 0);
            return;
        }
        mul(A, R, R);
        // sin: r + (-r^3/3! + r^5/5! - ...); cos: 1 + (-r^2/2! + r^4/4! - ...): (pi/4)^34 / 34! < 2^-130
        setZero(K);
        setZero(L);
        copy(C, R);
        set(D, 0, 0, J, 0);
        boolean sinDone = false, cosDone = false;
        for (int n = 1; n <= 17 && !(sinDone && cosDone); n++) {
            if (!cosDone) {
                mul(D, D, A);
                divSmall(D, D, (2 * n - 1) * (2 * n));
                cosDone = !zero(L) && negligible(D, L);
                if (!cosDone) {
                    if ((n & 1) != 0) {
                        sub(L, L, D);
                    } else {
                        add(L, L, D);
                    }
                }
            }
            if (!sinDone) {
                mul(C, C, A);
                divSmall(C, C, (2 * n) * (2 * n + 1));
                sinDone = !zero(K) && negligible(C, K);
                if (!sinDone) {
                    if ((n & 1) != 0) {
                        sub(K, K, C);
                    } else {
                        add(K, K, C);
                    }
                }
            }
        }
        add(K, R, K);
        set(D, 0, 0, J, 0);
        add(L, D, L);
    }

    // ======================================================================================== instructions

    /**
     * F2XM1, FSIN, FCOS, FSINCOS, FPTAN (Vol. 2A) on ST(0) in physical register {@code p0}: its value is
     * {@code se}/{@code sig}; the register stack has room for the push of FSINCOS and FPTAN (X87Ops checked).
     */
    void unary(Executor x, X87State f, int operation, int p0, int se, long sig) {
        fp.control = f.control;
        fp.begin();
        int c = classify(se, sig);
        if (operation == F2XM1) {
            f2xm1(f, p0, c, se, sig);
            x.done();
            return;
        }
        // the trigonometric functions: C2 = 1 if |x| >= 2^63 (Vol. 2A FSIN), and nothing else happens
        if ((c == NORMAL || c == DENORMAL) && exponent(se, sig) >= 63) {
            f.status = (f.status | X87Ops.C2) & ~X87Ops.C1; // C1 cleared: not rounded up
            x.done();
            return;
        }
        f.status &= ~X87Ops.C2;
        if (c != NORMAL && fp.nanOrUnsupported(c, se, sig)) {
            resultOrNaN(f, p0, operation);
            x.done();
            return;
        }
        if (c == INFINITY) {
            fp.invalid();
            resultOrNaN(f, p0, operation);
            x.done();
            return;
        }
        if (c == DENORMAL && fp.denormalStops(c, NORMAL)) {
            X87Ops.flags(f, fp.flags, false);
            x.done();
            return;
        }
        int quadrant;
        if (c == ZERO) {
            setZero(R);
            quadrant = 0;
        } else {
            quadrant = reduce(se, sig);
        }
        sinCos();
        boolean inexact = c != ZERO;
        int s = se & SIGN;
        switch (operation) {
            case FSIN: {
                if (c == ZERO) {
                    fp.result(se, 0);
                } else {
                    deliverQuadrant(K, L, quadrant, inexact);
                }
                X87Ops.deliver(f, p0, fp);
                break;
            }
            case FCOS:
                deliverQuadrant(K, L, quadrant + 1, inexact); // cos(x) = sin(x + pi/2)
                X87Ops.deliver(f, p0, fp);
                break;
            case FSINCOS: {
                // ST(0) = sin, then cos pushed: the cosine ends up in ST(0), the sine in ST(1)
                if (c == ZERO) {
                    fp.result(s, 0);
                } else {
                    deliverQuadrant(K, L, quadrant, inexact);
                }
                int sinFlags = fp.flags;
                int sinSe = fp.se;
                long sinSig = fp.sig;
                boolean sinRoundedUp = fp.roundedUp;
                fp.begin();
                deliverQuadrant(K, L, quadrant + 1, inexact);
                int e = sinFlags | fp.flags;
                if (X87Ops.delivers(f, e)) {
                    X87Ops.write(f, p0, sinSe, sinSig);
                    X87Ops.push(f, fp.se, fp.sig);
                    X87Ops.flags(f, e, sinRoundedUp); // C1: the sine's rounding, as the processor reports it
                } else {
                    X87Ops.flags(f, e, false);
                }
                break;
            }
            default: {
                // FPTAN: tan(x) = sin/cos, in the odd quadrants -cos/sin; then 1.0 is pushed
                if (c == ZERO) {
                    fp.result(s, 0);
                } else if ((quadrant & 1) == 0) {
                    if (exp[R] < -52) {
                        // tan(r) = r + r^3/3 + (2r^5/15, below 2^-208 r): r exact plus a rest, which the division
                        // of sin by cos could not resolve
                        mul(S, R, R);
                        mul(S, S, R);
                        divSmall(S, S, 3);
                        add(M, R, S);
                    } else {
                        div(M, K, L);
                    }
                    deliver(M, inexact);
                } else {
                    if (exp[R] < -52) {
                        // -cot(r) = -(1/r - r/3 - ...): 1/r (exact if it is representable) plus its rest
                        set(S, 0, 0, J, 0);
                        div(M, S, R);
                        divSmall(S, R, 3);
                        sub(M, M, S);
                    } else {
                        div(M, L, K);
                    }
                    negate(M);
                    deliver(M, inexact);
                }
                int e = fp.flags;
                if (X87Ops.delivers(f, e)) {
                    X87Ops.write(f, p0, fp.se, fp.sig);
                    X87Ops.push(f, ExtendedPrecision.BIAS, J);
                }
                X87Ops.flags(f, e, fp.roundedUp);
                break;
            }
        }
        x.done();
    }

    /** sin(x) of quadrant k from sin(r) in {@code s} and cos(r) in {@code c}: s, c, -s, -c (cos: quadrant + 1). */
    private void deliverQuadrant(int s, int c, int quadrant, boolean inexact) {
        int q = quadrant & 3;
        copy(M, (q & 1) == 0 ? s : c);
        if (q >= 2) {
            negate(M);
        }
        deliver(M, inexact);
    }

    /** A NaN or invalid result of a trigonometric instruction: ST(0) gets it; FSINCOS and FPTAN push it too. */
    private void resultOrNaN(X87State f, int p0, int operation) {
        int e = fp.flags;
        if (X87Ops.delivers(f, e)) {
            X87Ops.write(f, p0, fp.se, fp.sig);
            if (operation == FSINCOS || operation == FPTAN) {
                X87Ops.push(f, fp.se, fp.sig);
            }
        }
        X87Ops.flags(f, e, false);
    }

    /**
     * F2XM1 (Vol. 2A): 2^x - 1 for -1 <= x <= +1. Outside that range the SDM leaves the result undefined; the
     * processor returns x (with PE), and so does this one. For x = +1 and -1 it reports PE and rounds as if the
     * result were inexact (C1 = 1 and 0), as the processor does.
     */
    private void f2xm1(X87State f, int p0, int c, int se, long sig) {
        int s = se & SIGN;
        if (c != NORMAL && fp.nanOrUnsupported(c, se, sig)) {
            X87Ops.deliver(f, p0, fp);
            return;
        }
        switch (c) {
            case ZERO:
                fp.result(se, 0);
                X87Ops.deliver(f, p0, fp);
                return;
            case INFINITY:
                if (s == 0) {
                    fp.infinity(0);
                } else {
                    fp.result(SIGN | ExtendedPrecision.BIAS, J); // -1
                }
                X87Ops.deliver(f, p0, fp);
                return;
            case DENORMAL:
                if (fp.denormalStops(c, NORMAL)) {
                    X87Ops.flags(f, fp.flags, false);
                    return;
                }
                break;
            default:
                break;
        }
        int e = exponent(se, sig);
        long m = normalized(sig);
        if (e > 0 || (e == 0 && m != J)) {
            fp.result(se, sig); // out of range: the operand, inexact
            fp.flags |= PE;
            X87Ops.deliver(f, p0, fp);
            return;
        }
        if (e == 0) {
            // x = +1 or -1: 1.0 (rounded up) or -0.5 (rounded down)
            fp.result(s == 0 ? ExtendedPrecision.BIAS : SIGN | (ExtendedPrecision.BIAS - 1), J);
            fp.flags |= PE;
            fp.roundedUp = s == 0;
            X87Ops.deliver(f, p0, fp);
            return;
        }
        extended(N, se, sig);
        exp2m1(P, N);
        deliver(P, true);
        X87Ops.deliver(f, p0, fp);
    }

    /**
     * FYL2X, FYL2XP1, FPATAN (Vol. 2A) on x = ST(0) (physical {@code p0}) and y = ST(1) ({@code p1}): the result goes
     * to ST(1), then the stack is popped (not when an unmasked IE, DE or ZE stops the instruction).
     */
    void binary(Executor x, X87State f, int operation, int p0, int p1, int sex, long mx, int sey, long my) {
        fp.control = f.control;
        fp.begin();
        int cx = classify(sex, mx), cy = classify(sey, my);
        if ((cx != NORMAL || cy != NORMAL) && fp.nanOrUnsupported(cx, sex, mx, cy, sey, my)) {
            finish(f, p1);
            x.done();
            return;
        }
        switch (operation) {
            case FYL2X: yl2x(f, p1, cx, sex, mx, cy, sey, my); break;
            case FYL2XP1: yl2xp1(f, p1, cx, sex, mx, cy, sey, my); break;
            default: atan2(f, p1, cx, sex, mx, cy, sey, my); break;
        }
        x.done();
    }

    /** Delivers fp's result to ST(1) and pops, unless an unmasked IE, DE or ZE stops it. */
    private void finish(X87State f, int p1) {
        int e = fp.flags;
        if (X87Ops.delivers(f, e)) {
            X87Ops.write(f, p1, fp.se, fp.sig);
            X87Ops.pop(f);
            X87Ops.flags(f, e, fp.roundedUp);
        } else {
            X87Ops.flags(f, e, false);
        }
    }

    /**
     * FYL2X: y x log2(x). x < 0 is invalid (-0 is a zero), as are 0 x infinity and infinity x log2(1) = 0;
     * y x log2(0) for a finite nonzero y is a division by zero (Vol. 2A FYL2X, Table 3-49). A computed result is
     * always reported inexact (PE), even an exact one, as the processor does.
     */
    private void yl2x(X87State f, int p1, int cx, int sex, long mx, int cy, int sey, long my) {
        int sx = sex & SIGN, sy = sey & SIGN;
        boolean one = cx == NORMAL && exponent(sex, mx) == 0 && normalized(mx) == J && sx == 0;
        if ((sx != 0 && cx != ZERO) || (cx == ZERO && cy == ZERO) || (cx == INFINITY && cy == ZERO)
                || (one && cy == INFINITY)) {
            fp.invalid();
            finish(f, p1);
            return;
        }
        if (cx == ZERO) {
            if (cy != INFINITY) {
                fp.flags |= ZE;
            }
            fp.infinity(sy ^ SIGN); // log2(0) = -infinity
            finish(f, p1);
            return;
        }
        if (fp.denormalStops(cx, cy)) {
            finish(f, p1);
            return;
        }
        if (cx == INFINITY) {
            fp.infinity(sy);
            finish(f, p1);
            return;
        }
        boolean exact = log2(K, sex, mx); // finite, positive x
        if (cy == INFINITY) {
            fp.infinity(sy ^ (zero(K) ? 0 : sign[K])); // log2(x) is not 0 here
            finish(f, p1);
            return;
        }
        if (cy == ZERO || zero(K)) {
            fp.zero(sy ^ (zero(K) ? 0 : sign[K])); // +0 x y for x = 1
            finish(f, p1);
            return;
        }
        extended(L, sey, my);
        mul(M, L, K);
        deliver(M, !exact);
        fp.flags |= PE; // also when x is a power of two and the product exact, as the processor reports it
        finish(f, p1);
    }

    /**
     * FYL2XP1: y x log2(x + 1), for |x| < 1 - sqrt(2)/2; outside that range the SDM leaves the result undefined: the
     * processor computes it for x > -1 and returns x (with PE) for x <= -1, and so does this one.
     */
    private void yl2xp1(X87State f, int p1, int cx, int sex, long mx, int cy, int sey, long my) {
        int sx = sex & SIGN, sy = sey & SIGN;
        if ((cx == ZERO && cy == INFINITY) || (cx == INFINITY && (sx != 0 || cy == ZERO))) {
            fp.invalid();
            finish(f, p1);
            return;
        }
        if (fp.denormalStops(cx, cy)) {
            finish(f, p1);
            return;
        }
        if (cx == ZERO || cy == ZERO) {
            fp.zero(sx ^ sy);
            finish(f, p1);
            return;
        }
        if (cx == INFINITY || cy == INFINITY) {
            fp.infinity(sx ^ sy);
            finish(f, p1);
            return;
        }
        if (sx != 0 && exponent(sex, mx) >= 0) {
            fp.result(sex, mx); // x <= -1: the operand, inexact
            fp.flags |= PE;
            finish(f, p1);
            return;
        }
        log2p1(K, sex, mx);
        extended(L, sey, my);
        mul(M, L, K);
        deliver(M, true);
        finish(f, p1);
    }

    /** FPATAN: the angle of (x, y), atan(y/x) in the right quadrant (Vol. 2A FPATAN, Table 3-30). */
    private void atan2(X87State f, int p1, int cx, int sex, long mx, int cy, int sey, long my) {
        int sx = sex & SIGN, sy = sey & SIGN;
        if (fp.denormalStops(cx, cy)) {
            finish(f, p1);
            return;
        }
        // angle = sign(y) x base, base in [0, pi]
        if (cy == ZERO) {
            if (sx == 0) {
                fp.zero(sy);
                finish(f, p1);
                return;
            }
            piMultiple(M, 4); // pi
        } else if (cx == ZERO) {
            piMultiple(M, 2); // pi/2
        } else if (cy == INFINITY) {
            piMultiple(M, cx != INFINITY ? 2 : sx == 0 ? 1 : 3); // pi/2, pi/4, 3pi/4
        } else if (cx == INFINITY) {
            if (sx == 0) {
                fp.zero(sy);
                finish(f, p1);
                return;
            }
            piMultiple(M, 4);
        } else {
            extended(K, sex & ~SIGN, mx);
            extended(L, sey & ~SIGN, my);
            boolean swap = compareMagnitude(L, K) > 0;
            if (swap) {
                div(N, K, L);
            } else {
                div(N, L, K);
            }
            atan(M, N);
            if (swap) {
                piMultiple(P, 2);
                sub(M, P, M);
            }
            if (sx != 0) {
                piMultiple(P, 4);
                sub(M, P, M);
            }
        }
        sign[M] = sy;
        deliver(M, true);
        finish(f, p1);
    }

    /** d = k pi / 4 for k = 1 to 4. */
    private void piMultiple(int d, int k) {
        set(d, 0, -1, PI_HI, PI_LO);
        if (k == 3) {
            set(Q, 0, 1, 0xC000_0000_0000_0000L, 0); // 3
            mul(d, d, Q);
        } else {
            exp[d] += Integer.numberOfTrailingZeros(k);
        }
    }

    private int compareMagnitude(int a, int b) {
        if (exp[a] != exp[b]) {
            return Integer.compare(exp[a], exp[b]);
        }
        int c = Long.compareUnsigned(hi[a], hi[b]);
        return c != 0 ? c : Long.compareUnsigned(lo[a], lo[b]);
    }

    // operations, as X87Ops numbers them
    static final int F2XM1 = 5, FPTAN = 6, FSIN = 7, FCOS = 8, FSINCOS = 9;
    static final int FYL2X = 3, FYL2XP1 = 4, FPATAN = 5;
}
