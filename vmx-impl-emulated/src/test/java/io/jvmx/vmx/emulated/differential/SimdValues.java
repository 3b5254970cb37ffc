package io.jvmx.vmx.emulated.differential;

import java.util.Random;

/**
 * Operand values for the SIMD forms: integer lanes (random, edge values), and binary32/binary64 lanes chosen to
 * reach every path of the floating-point rules (SDM Vol. 1, 4.8 and 11.5): signed zeros, infinities, QNaNs and SNaNs
 * with random payloads, denormals, the smallest and largest normals, values near powers of two and near 1, random
 * values over the whole exponent range, and pairs whose exact result lies on or next to a rounding boundary.
 */
final class SimdValues {
    private SimdValues() {
    }

    /** The kind of the lanes: integers, binary32, binary64. */
    enum Kind { INT, F32, F64 }

    /** A 64-bit word of the kind. */
    static long word(Random r, Kind kind) {
        switch (kind) {
            case F32: return (single(r) & 0xFFFF_FFFFL) | (long) single(r) << 32;
            case F64: return dbl(r);
            default: return integer(r);
        }
    }

    /** A 64-bit word related to {@code a} lane by lane (for the second operand of a binary operation). */
    static long related(Random r, Kind kind, long a) {
        switch (kind) {
            case F32: return (relatedSingle(r, (int) a) & 0xFFFF_FFFFL) | (long) relatedSingle(r, (int) (a >>> 32)) << 32;
            case F64: return relatedDouble(r, a);
            default: return r.nextInt(4) == 0 ? a : integer(r);
        }
    }

    static long integer(Random r) {
        switch (r.nextInt(8)) {
            case 0: return 0;
            case 1: return -1;
            case 2: { // bytes from a small alphabet, with zeros: string functions, equal elements, saturation
                long v = 0;
                for (int k = 0; k < 8; k++) {
                    int[] alphabet = {0, 0x7F, 0x80, 0xFF, 0x41, 0x61, 0x01, 0x7E};
                    v |= (long) alphabet[r.nextInt(alphabet.length)] << (8 * k);
                }
                return v;
            }
            case 3: { // words/dwords at signed and unsigned saturation edges
                long v = 0;
                for (int k = 0; k < 4; k++) {
                    int[] edges = {0, 1, 0x7FFF, 0x8000, 0xFFFF, 0x8001, 0x7FFE, 0x00FF};
                    v |= (long) edges[r.nextInt(edges.length)] << (16 * k);
                }
                return v;
            }
            case 4: return r.nextInt(70); // small counts for shifts and indices
            default: return r.nextLong();
        }
    }

    static int single(Random r) {
        int sign = r.nextBoolean() ? 0x8000_0000 : 0;
        switch (r.nextInt(16)) {
            case 0: return sign;                                        // zero
            case 1: return sign | 0x7F80_0000;                          // infinity
            case 2: return sign | 0x7FC0_0000 | r.nextInt(1 << 22);     // QNaN
            case 3: return sign | 0x7F80_0000 | (1 + r.nextInt((1 << 22) - 1)); // SNaN
            case 4: return sign | (1 + r.nextInt((1 << 23) - 1));       // denormal
            case 5: return sign | 0x0080_0000 | r.nextInt(4);           // smallest normals
            case 6: return sign | 0x7F7F_FFFF - r.nextInt(4);           // largest normals
            case 7: return sign | 0x3F80_0000 + r.nextInt(9) - 4;       // near 1
            case 8: return sign | ((1 + r.nextInt(253)) << 23);         // powers of two
            case 9: return sign | (r.nextInt(0x18) << 23) | r.nextInt(1 << 23); // tiny normals
            case 10: return sign | ((0xE8 + r.nextInt(0x17)) << 23) | r.nextInt(1 << 23); // huge
            case 11: return Float.floatToRawIntBits((float) (r.nextInt(2001) - 1000)); // integers
            case 12: return Float.floatToRawIntBits((r.nextInt(401) - 200) + 0.5f * r.nextInt(3)); // halves
            default: return sign | ((1 + r.nextInt(254)) << 23) | r.nextInt(1 << 23);
        }
    }

    static long dbl(Random r) {
        long sign = r.nextBoolean() ? Long.MIN_VALUE : 0;
        long frac = r.nextLong() & 0x000F_FFFF_FFFF_FFFFL;
        switch (r.nextInt(16)) {
            case 0: return sign;
            case 1: return sign | 0x7FF0_0000_0000_0000L;
            case 2: return sign | 0x7FF8_0000_0000_0000L | (frac >>> 1);
            case 3: return sign | 0x7FF0_0000_0000_0000L | Math.max(1, frac >>> 1);
            case 4: return sign | Math.max(1, frac);
            case 5: return sign | 0x0010_0000_0000_0000L | r.nextInt(4);
            case 6: return sign | (0x7FEF_FFFF_FFFF_FFFFL - r.nextInt(4));
            case 7: return sign | (0x3FF0_0000_0000_0000L + r.nextInt(9) - 4);
            case 8: return sign | ((long) (1 + r.nextInt(2045)) << 52);
            case 9: return sign | ((long) r.nextInt(0x40) << 52) | frac;
            case 10: return sign | ((long) (0x7C0 + r.nextInt(0x3E)) << 52) | frac;
            case 11: return Double.doubleToRawLongBits(r.nextInt(2001) - 1000);
            case 12: return Double.doubleToRawLongBits((r.nextInt(401) - 200) + 0.5 * r.nextInt(3));
            case 13: return Double.doubleToRawLongBits((double) r.nextInt() * (1L << r.nextInt(40))); // int range
            default: return sign | ((long) (1 + r.nextInt(2046)) << 52) | frac;
        }
    }

    private static int relatedSingle(Random r, int a) {
        float x = Float.intBitsToFloat(a);
        switch (r.nextInt(10)) {
            case 0: return a;                                            // x - x, x / x, equal compares
            case 1: return a ^ 0x8000_0000;                              // x + (-x)
            case 2: return a + r.nextInt(5) - 2;                         // neighbours
            case 3: return Float.floatToRawIntBits(Math.ulp(x) / 2 * (r.nextBoolean() ? 1 : -1)); // ties
            case 4: return Float.floatToRawIntBits(Math.ulp(x) * (r.nextInt(7) - 3) / 4);        // near ties
            case 5: return 0x3F80_0000 + r.nextInt(9) - 4;               // products near x
            case 6: return Float.floatToRawIntBits(Math.scalb(1f, -120 - r.nextInt(30)));       // underflow
            default: return single(r);
        }
    }

    private static long relatedDouble(Random r, long a) {
        double x = Double.longBitsToDouble(a);
        switch (r.nextInt(10)) {
            case 0: return a;
            case 1: return a ^ Long.MIN_VALUE;
            case 2: return a + r.nextInt(5) - 2;
            case 3: return Double.doubleToRawLongBits(Math.ulp(x) / 2 * (r.nextBoolean() ? 1 : -1));
            case 4: return Double.doubleToRawLongBits(Math.ulp(x) * (r.nextInt(7) - 3) / 4);
            case 5: return 0x3FF0_0000_0000_0000L + r.nextInt(9) - 4;
            case 6: return Double.doubleToRawLongBits(Math.scalb(1.0, -1000 - r.nextInt(70)));
            default: return dbl(r);
        }
    }

    /**
     * An MXCSR for a case (SDM Vol. 1, 10.2.3): every exception masked (natively an unmasked one would be a signal),
     * a random rounding mode, random DAZ and FZ; the flags usually clear (so that what the instruction sets shows),
     * sometimes random (they are sticky).
     */
    static int mxcsr(Random r) {
        int v = 0x1F80 | r.nextInt(4) << 13;
        if (r.nextInt(3) == 0) {
            v |= 0x40; // DAZ
        }
        if (r.nextInt(3) == 0) {
            v |= 0x8000; // FZ
        }
        if (r.nextInt(4) == 0) {
            v |= r.nextInt(64);
        }
        return v;
    }
}
