package io.jvmx.vmx.emulated.cpu;

/**
 * The packed-integer operations of MMX, SSE2, SSSE3 and SSE4.1 that work within each 64-bit half of their operands
 * (SDM Vol. 2, each instruction's page): an MMX instruction applies one to its 64-bit operands, the SSE form to both
 * halves of its 128-bit operands. {@link #apply} is the operation on 64-bit words {@code a} (destination) and
 * {@code b} (source).
 */
final class PackedInteger {
    private PackedInteger() {
    }

    // operations (the constant is the form's identity, not an encoding)
    static final int PADDB = 0, PADDW = 1, PADDD = 2, PADDQ = 3, PSUBB = 4, PSUBW = 5, PSUBD = 6, PSUBQ = 7;
    static final int PADDSB = 8, PADDSW = 9, PADDUSB = 10, PADDUSW = 11, PSUBSB = 12, PSUBSW = 13, PSUBUSB = 14,
            PSUBUSW = 15;
    static final int PCMPEQB = 16, PCMPEQW = 17, PCMPEQD = 18, PCMPEQQ = 19, PCMPGTB = 20, PCMPGTW = 21,
            PCMPGTD = 22, PCMPGTQ = 23;
    static final int PMULLW = 24, PMULHW = 25, PMULHUW = 26, PMULUDQ = 27, PMULDQ = 28, PMADDWD = 29, PSADBW = 30,
            PMULLD = 31, PMULHRSW = 32, PMADDUBSW = 33;
    static final int PAVGB = 34, PAVGW = 35;
    static final int PMINUB = 36, PMINUW = 37, PMINUD = 38, PMINSB = 39, PMINSW = 40, PMINSD = 41;
    static final int PMAXUB = 42, PMAXUW = 43, PMAXUD = 44, PMAXSB = 45, PMAXSW = 46, PMAXSD = 47;
    static final int PAND = 48, PANDN = 49, POR = 50, PXOR = 51;
    static final int PSIGNB = 52, PSIGNW = 53, PSIGND = 54, PABSB = 55, PABSW = 56, PABSD = 57;
    /** Shifts of each element by the count in {@code b} (a register/memory count or an immediate). */
    static final int PSRLW = 58, PSRLD = 59, PSRLQ = 60, PSRAW = 61, PSRAD = 62, PSLLW = 63, PSLLD = 64,
            PSLLQ = 65;

    static long apply(int op, long a, long b) {
        switch (op) {
            case PADDB: return add(a, b, H8);
            case PADDW: return add(a, b, H16);
            case PADDD: return add(a, b, H32);
            case PADDQ: return a + b;
            case PSUBB: return sub(a, b, H8);
            case PSUBW: return sub(a, b, H16);
            case PSUBD: return sub(a, b, H32);
            case PSUBQ: return a - b;
            case PADDSB: return saturating(a, b, 8, false, true);
            case PADDSW: return saturating(a, b, 16, false, true);
            case PADDUSB: return saturating(a, b, 8, false, false);
            case PADDUSW: return saturating(a, b, 16, false, false);
            case PSUBSB: return saturating(a, b, 8, true, true);
            case PSUBSW: return saturating(a, b, 16, true, true);
            case PSUBUSB: return saturating(a, b, 8, true, false);
            case PSUBUSW: return saturating(a, b, 16, true, false);
            case PCMPEQB: return equal(a, b, H8, 8);
            case PCMPEQW: return equal(a, b, H16, 16);
            case PCMPEQD: return equal(a, b, H32, 32);
            case PCMPEQQ: return a == b ? -1L : 0;
            case PCMPGTB: return compare(a, b, 8, true);
            case PCMPGTW: return compare(a, b, 16, true);
            case PCMPGTD: return compare(a, b, 32, true);
            case PCMPGTQ: return a > b ? -1L : 0;
            case PMULLW: return lanes(a, b, 16, 2);
            case PMULHW: return lanes(a, b, 16, 3);
            case PMULHUW: return lanes(a, b, 16, 4);
            case PMULUDQ: return (a & 0xFFFF_FFFFL) * (b & 0xFFFF_FFFFL);
            case PMULDQ: return (long) (int) a * (int) b;
            case PMADDWD: {
                long r = 0;
                for (int k = 0; k < 2; k++) {
                    int p = (short) (a >>> (32 * k)) * (short) (b >>> (32 * k))
                            + (short) (a >>> (32 * k + 16)) * (short) (b >>> (32 * k + 16));
                    r |= (p & 0xFFFF_FFFFL) << (32 * k); // 0x8000 * 0x8000 twice wraps to 0x80000000 (SDM PMADDWD)
                }
                return r;
            }
            case PSADBW: {
                long sum = 0;
                for (int k = 0; k < 64; k += 8) {
                    sum += Math.abs((int) ((a >>> k) & 0xFF) - (int) ((b >>> k) & 0xFF));
                }
                return sum;
            }
            case PMULLD: return lanes(a, b, 32, 2);
            case PMULHRSW: return lanes(a, b, 16, 5);
            case PMADDUBSW: {
                long r = 0;
                for (int k = 0; k < 64; k += 16) {
                    int p = (int) ((a >>> k) & 0xFF) * (byte) (b >>> k)
                            + (int) ((a >>> (k + 8)) & 0xFF) * (byte) (b >>> (k + 8));
                    r |= (saturate(p, 16, true) & 0xFFFFL) << k;
                }
                return r;
            }
            case PAVGB: return lanes(a, b, 8, 6);
            case PAVGW: return lanes(a, b, 16, 6);
            case PMINUB: return minMax(a, b, 8, false, false);
            case PMINUW: return minMax(a, b, 16, false, false);
            case PMINUD: return minMax(a, b, 32, false, false);
            case PMINSB: return minMax(a, b, 8, true, false);
            case PMINSW: return minMax(a, b, 16, true, false);
            case PMINSD: return minMax(a, b, 32, true, false);
            case PMAXUB: return minMax(a, b, 8, false, true);
            case PMAXUW: return minMax(a, b, 16, false, true);
            case PMAXUD: return minMax(a, b, 32, false, true);
            case PMAXSB: return minMax(a, b, 8, true, true);
            case PMAXSW: return minMax(a, b, 16, true, true);
            case PMAXSD: return minMax(a, b, 32, true, true);
            case PAND: return a & b;
            case PANDN: return ~a & b;
            case POR: return a | b;
            case PXOR: return a ^ b;
            case PSIGNB: return lanes(a, b, 8, 7);
            case PSIGNW: return lanes(a, b, 16, 7);
            case PSIGND: return lanes(a, b, 32, 7);
            case PABSB: return lanes(a, b, 8, 8);
            case PABSW: return lanes(a, b, 16, 8);
            case PABSD: return lanes(a, b, 32, 8);
            case PSRLW: return shift(a, b, 16, 0);
            case PSRLD: return shift(a, b, 32, 0);
            case PSRLQ: return Long.compareUnsigned(b, 63) > 0 ? 0 : a >>> b;
            case PSRAW: return shift(a, b, 16, 1);
            case PSRAD: return shift(a, b, 32, 1);
            case PSLLW: return shift(a, b, 16, 2);
            case PSLLD: return shift(a, b, 32, 2);
            case PSLLQ: return Long.compareUnsigned(b, 63) > 0 ? 0 : a << b;
            default: throw new IllegalArgumentException("packed-integer operation " + op);
        }
    }

    // ---- the most frequent operations (string functions, checksums) without a loop: SIMD within a register
    /** The top bit of each byte, word, doubleword. */
    private static final long H8 = 0x8080_8080_8080_8080L, H16 = 0x8000_8000_8000_8000L, H32 = 0x8000_0000_8000_0000L;

    /** Element-wise a + b: the low bits add without carrying into the next element, the top bits by XOR. */
    private static long add(long a, long b, long h) {
        return ((a & ~h) + (b & ~h)) ^ ((a ^ b) & h);
    }

    /** Element-wise a - b: every element borrows from its own top bit only. */
    private static long sub(long a, long b, long h) {
        return ((a | h) - (b & ~h)) ^ ((a ^ ~b) & h);
    }

    /** All ones in the elements where a == b: an element of a ^ b is zero iff adding ~h to its low bits and
     * OR-ing it leaves the top bit clear. */
    private static long equal(long a, long b, long h, int bits) {
        long t = a ^ b;
        long nonzero = ((t & ~h) + ~h) | t;
        long zeroTop = ~nonzero & h;
        return (zeroTop >>> (bits - 1)) * (bits == 32 ? 0xFFFF_FFFFL : (1L << bits) - 1);
    }

    /** The top bit of each byte of {@code w}, gathered into bits 7:0 (PMOVMSKB). */
    static long byteSigns(long w) {
        return ((w & H8) * 0x0002_0408_1020_4081L) >>> 56;
    }

    /** An element-wise operation on elements of {@code bits}: 0 add, 1 sub, 2 low product, 3 signed high product,
     * 4 unsigned high product, 5 rounded scaled product (PMULHRSW), 6 rounded average, 7 sign, 8 absolute value. */
    private static long lanes(long a, long b, int bits, int kind) {
        long m = bits == 32 ? 0xFFFF_FFFFL : (1L << bits) - 1;
        long r = 0;
        for (int k = 0; k < 64; k += bits) {
            long x = (a >>> k) & m, y = (b >>> k) & m;
            long sx = signExtend(x, bits), sy = signExtend(y, bits);
            long v;
            switch (kind) {
                case 0: v = x + y; break;
                case 1: v = x - y; break;
                case 2: v = sx * sy; break;
                case 3: v = (sx * sy) >> bits; break;
                case 4: v = (x * y) >>> bits; break;
                case 5: v = (((sx * sy) >> 14) + 1) >> 1; break;
                case 6: v = (x + y + 1) >>> 1; break;
                case 7: v = sy < 0 ? -sx : sy == 0 ? 0 : sx; break;
                default: v = Math.abs(sy); break;
            }
            r |= (v & m) << k;
        }
        return r;
    }

    private static long signExtend(long v, int bits) {
        return (v << (64 - bits)) >> (64 - bits);
    }

    private static long saturating(long a, long b, int bits, boolean subtract, boolean signed) {
        long m = (1L << bits) - 1;
        long r = 0;
        for (int k = 0; k < 64; k += bits) {
            long x = (a >>> k) & m, y = (b >>> k) & m;
            if (signed) {
                x = signExtend(x, bits);
                y = signExtend(y, bits);
            }
            long v = subtract ? x - y : x + y;
            r |= (saturate(v, bits, signed) & m) << k;
        }
        return r;
    }

    /** Saturates to a signed or unsigned integer of {@code bits} (SDM Vol. 1, 4.6.2.1). */
    static long saturate(long v, int bits, boolean signed) {
        long min = signed ? -(1L << (bits - 1)) : 0;
        long max = signed ? (1L << (bits - 1)) - 1 : (1L << bits) - 1;
        return v < min ? min : v > max ? max : v;
    }

    private static long compare(long a, long b, int bits, boolean greater) {
        long m = bits == 32 ? 0xFFFF_FFFFL : (1L << bits) - 1;
        long r = 0;
        for (int k = 0; k < 64; k += bits) {
            long x = signExtend((a >>> k) & m, bits), y = signExtend((b >>> k) & m, bits);
            if (greater ? x > y : x == y) {
                r |= m << k;
            }
        }
        return r;
    }

    private static long minMax(long a, long b, int bits, boolean signed, boolean max) {
        long m = bits == 32 ? 0xFFFF_FFFFL : (1L << bits) - 1;
        long r = 0;
        for (int k = 0; k < 64; k += bits) {
            long x = (a >>> k) & m, y = (b >>> k) & m;
            if (signed) {
                x = signExtend(x, bits);
                y = signExtend(y, bits);
            }
            long v = max ? Math.max(x, y) : Math.min(x, y);
            r |= (v & m) << k;
        }
        return r;
    }

    /** Shifts each element of {@code bits} by the 64-bit count {@code count}: 0 logical right, 1 arithmetic right,
     * 2 left; a count beyond the element's width gives 0 (or the sign, for arithmetic shifts). */
    private static long shift(long a, long count, int bits, int kind) {
        long m = bits == 32 ? 0xFFFF_FFFFL : (1L << bits) - 1;
        boolean tooFar = Long.compareUnsigned(count, bits - 1) > 0;
        if (tooFar && kind != 1) {
            return 0;
        }
        int c = tooFar ? bits - 1 : (int) count;
        long r = 0;
        for (int k = 0; k < 64; k += bits) {
            long x = (a >>> k) & m;
            long v;
            switch (kind) {
                case 0: v = x >>> c; break;
                case 1: v = signExtend(x, bits) >> c; break;
                default: v = x << c; break;
            }
            r |= (v & m) << k;
        }
        return r;
    }
}
