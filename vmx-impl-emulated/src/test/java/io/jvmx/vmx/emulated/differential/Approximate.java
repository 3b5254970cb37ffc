package io.jvmx.vmx.emulated.differential;

/**
 * Comparison of RCPPS/RSQRTPS results (SDM Vol. 2B RCPPS: "the relative error for this approximation is |Relative
 * Error| <= 1.5 * 2^-12"): two binary32 approximations of one exact value are each within that bound of it, so they
 * differ by at most 3 * 2^-12 relative; specials (zeros, infinities, NaNs) must be identical.
 */
final class Approximate {
    private Approximate() {
    }

    /** The two binary32 lanes of each 64-bit word are close approximations of one value. */
    static boolean close(long a, long b) {
        return lane((int) a, (int) b) && lane((int) (a >>> 32), (int) (b >>> 32));
    }

    private static boolean lane(int a, int b) {
        if (a == b) {
            return true;
        }
        float x = Float.intBitsToFloat(a), y = Float.intBitsToFloat(b);
        if (!Float.isFinite(x) || !Float.isFinite(y) || x == 0 || y == 0 || (a ^ b) < 0) {
            return false;
        }
        return Math.abs((double) x - y) <= 3 * 0x1p-12 * Math.abs((double) x);
    }
}
