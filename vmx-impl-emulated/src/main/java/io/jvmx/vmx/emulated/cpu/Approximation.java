package io.jvmx.vmx.emulated.cpu;

/**
 * RCPPS/RCPSS and RSQRTPS/RSQRTSS (SDM Vol. 2B): approximations whose relative error the SDM bounds by 1.5 * 2^-12
 * and otherwise leaves to the implementation (processors differ in the low bits). This processor returns the exact
 * result rounded to nearest at 12 fraction bits, well within the bound. No exception is ever signalled and MXCSR is
 * neither read nor written; denormal inputs are zeros and tiny results (below 2^-126) zeros, as the SDM says.
 */
final class Approximation {
    private Approximation() {
    }

    /** 1/x of a binary32 encoding. */
    static long reciprocal(long a) {
        int v = (int) a;
        int sign = v & 0x8000_0000;
        int exp = (v >>> 23) & 0xFF;
        if (exp == 0xFF) {
            if ((v & 0x007F_FFFF) != 0) {
                return (v | 0x0040_0000) & 0xFFFF_FFFFL; // a NaN, quieted
            }
            return sign & 0xFFFF_FFFFL; // 1/inf = 0
        }
        if (exp == 0) {
            return (sign | 0x7F80_0000) & 0xFFFF_FFFFL; // zero or denormal: infinity
        }
        if (exp >= 253) {
            // |x| >= 2^126: the SDM guarantees a tiny result, flushed to zero, for inputs up to
            // 1.00000000000110000000001B * 2^126 and leaves the range just below to the implementation
            return sign & 0xFFFF_FFFFL;
        }
        return twelveBits(1.0 / Math.abs(Float.intBitsToFloat(v)), sign);
    }

    /** 1/sqrt(x) of a binary32 encoding; negative inputs give the QNaN indefinite. */
    static long reciprocalSqrt(long a) {
        int v = (int) a;
        int sign = v & 0x8000_0000;
        int exp = (v >>> 23) & 0xFF;
        if (exp == 0xFF && (v & 0x007F_FFFF) != 0) {
            return (v | 0x0040_0000) & 0xFFFF_FFFFL;
        }
        if (exp == 0) {
            return (sign | 0x7F80_0000) & 0xFFFF_FFFFL; // +-0 and denormals: infinity of the sign
        }
        if (sign != 0) {
            return SimdFloat.SINGLE_INDEFINITE;
        }
        if (exp == 0xFF) {
            return 0; // 1/sqrt(+inf) = +0
        }
        return twelveBits(1.0 / Math.sqrt(Float.intBitsToFloat(v)), 0);
    }

    private static long twelveBits(double r, int sign) {
        if (r < Float.MIN_NORMAL) {
            return sign & 0xFFFF_FFFFL;
        }
        long bits = Double.doubleToRawLongBits(r);
        bits = (bits + (1L << 39)) & ~((1L << 40) - 1); // round to nearest at 12 of the 52 fraction bits
        float f = (float) Double.longBitsToDouble(bits);
        return (Float.floatToRawIntBits(f) | sign) & 0xFFFF_FFFFL;
    }
}
