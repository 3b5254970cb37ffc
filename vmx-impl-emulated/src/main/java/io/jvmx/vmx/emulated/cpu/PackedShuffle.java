package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.SimdOperands.element;
import static io.jvmx.vmx.emulated.cpu.SimdOperands.joinLow;
import static io.jvmx.vmx.emulated.cpu.SimdOperands.split;

/**
 * The packed operations that move elements across the 64-bit halves of their operands (SDM Vol. 2, each
 * instruction's page): unpacking, packing with saturation, shuffles, byte alignment and shifts, horizontal
 * additions, blends, sign and zero extension, MPSADBW and PHMINPOSUW. For an MMX form the operands are 8 bytes wide
 * (the high halves are ignored and the result's high half is 0), for an SSE form 16. The result goes to
 * {@link SimdOperands#rl}/{@link SimdOperands#rh}; {@code a} is the destination's value, {@code b} the source's.
 */
final class PackedShuffle {
    private PackedShuffle() {
    }

    static final int PUNPCKLBW = 0, PUNPCKLWD = 1, PUNPCKLDQ = 2, PUNPCKLQDQ = 3, PUNPCKHBW = 4, PUNPCKHWD = 5,
            PUNPCKHDQ = 6, PUNPCKHQDQ = 7;
    static final int PACKSSWB = 8, PACKUSWB = 9, PACKSSDW = 10, PACKUSDW = 11;
    static final int PSHUFB = 12, PALIGNR = 13;
    static final int PHADDW = 14, PHADDD = 15, PHADDSW = 16, PHSUBW = 17, PHSUBD = 18, PHSUBSW = 19;
    static final int PSHUFD = 20, PSHUFHW = 21, PSHUFLW = 22, PSHUFW = 23, SHUFPS = 24, SHUFPD = 25;
    static final int PBLENDW = 26, BLENDPS = 27, BLENDPD = 28, PBLENDVB = 29, BLENDVPS = 30, BLENDVPD = 31;
    static final int MPSADBW = 32, PHMINPOSUW = 33;
    static final int MOVSLDUP = 34, MOVSHDUP = 35, MOVDDUP = 36, PSRLDQ = 37, PSLLDQ = 38;
    static final int PMOVSXBW = 39, PMOVSXBD = 40, PMOVSXBQ = 41, PMOVSXWD = 42, PMOVSXWQ = 43, PMOVSXDQ = 44;
    static final int PMOVZXBW = 45, PMOVZXBD = 46, PMOVZXBQ = 47, PMOVZXWD = 48, PMOVZXWQ = 49, PMOVZXDQ = 50;

    /**
     * Computes {@code op} on {@code width}-byte operands (8: MMX, 16: SSE) with immediate {@code imm}; {@code mask}
     * is XMM0 for the variable blends (PBLENDVB, BLENDVPS, BLENDVPD).
     */
    static void compute(SimdOperands o, int op, long al, long ah, long bl, long bh, int width, int imm, long maskL,
                        long maskH) {
        int[] x = o.e1, y = o.e2, r = o.er;
        long rl, rh = 0;
        switch (op) {
            case PUNPCKLBW: case PUNPCKLWD: case PUNPCKLDQ: case PUNPCKHBW: case PUNPCKHWD: case PUNPCKHDQ: {
                int size = 1 << (op & 3);
                int n = width / size;
                split(al, ah, size, n, x);
                split(bl, bh, size, n, y);
                int from = op >= PUNPCKHBW ? n / 2 : 0;
                for (int k = 0; k < n / 2; k++) {
                    r[2 * k] = x[from + k];
                    r[2 * k + 1] = y[from + k];
                }
                rl = joinLow(r, size, 0);
                if (width == 16) {
                    rh = joinLow(r, size, 8 / size);
                }
                break;
            }
            case PUNPCKLQDQ: rl = al; rh = bl; break;
            case PUNPCKHQDQ: rl = ah; rh = bh; break;
            case PACKSSWB: case PACKUSWB: case PACKSSDW: case PACKUSDW: {
                int from = op <= PACKUSWB ? 2 : 4; // source element size
                boolean signed = op == PACKSSWB || op == PACKSSDW;
                int n = width / from;
                split(al, ah, from, n, x);
                split(bl, bh, from, n, y);
                int bits = 8 * from;
                for (int k = 0; k < n; k++) {
                    r[k] = (int) PackedInteger.saturate(signExtend(x[k], bits), bits / 2, signed);
                    r[n + k] = (int) PackedInteger.saturate(signExtend(y[k], bits), bits / 2, signed);
                }
                rl = joinLow(r, from / 2, 0);
                if (width == 16) {
                    rh = joinLow(r, from / 2, 16 / from);
                }
                break;
            }
            case PSHUFB: {
                split(al, ah, 1, width, x);
                split(bl, bh, 1, width, y);
                for (int k = 0; k < width; k++) {
                    r[k] = (y[k] & 0x80) != 0 ? 0 : x[y[k] & (width - 1)];
                }
                rl = joinLow(r, 1, 0);
                if (width == 16) {
                    rh = joinLow(r, 1, 8);
                }
                break;
            }
            case PALIGNR: {
                // the concatenation dest:src shifted right by imm8 bytes; bytes beyond it are 0
                split(bl, bh, 1, width, x);
                split(al, ah, 1, width, y);
                for (int k = 0; k < width; k++) {
                    int at = k + imm;
                    r[k] = at < width ? x[at] : at < 2 * width ? y[at - width] : 0;
                }
                rl = joinLow(r, 1, 0);
                if (width == 16) {
                    rh = joinLow(r, 1, 8);
                }
                break;
            }
            case PHADDW: case PHADDD: case PHADDSW: case PHSUBW: case PHSUBD: case PHSUBSW: {
                int size = op == PHADDD || op == PHSUBD ? 4 : 2;
                int n = width / size;
                boolean sub = op >= PHSUBW;
                boolean sat = op == PHADDSW || op == PHSUBSW;
                split(al, ah, size, n, x);
                split(bl, bh, size, n, y);
                int bits = 8 * size;
                for (int k = 0; k < n / 2; k++) {
                    r[k] = horizontal(x[2 * k], x[2 * k + 1], bits, sub, sat);
                    r[n / 2 + k] = horizontal(y[2 * k], y[2 * k + 1], bits, sub, sat);
                }
                rl = joinLow(r, size, 0);
                if (width == 16) {
                    rh = joinLow(r, size, 8 / size);
                }
                break;
            }
            case PSHUFD: {
                split(bl, bh, 4, 4, y);
                for (int k = 0; k < 4; k++) {
                    r[k] = y[(imm >>> (2 * k)) & 3];
                }
                rl = joinLow(r, 4, 0);
                rh = joinLow(r, 4, 2);
                break;
            }
            case PSHUFHW: case PSHUFLW: case PSHUFW: {
                long w = op == PSHUFHW ? bh : bl;
                long v = 0;
                for (int k = 0; k < 4; k++) {
                    v |= ((w >>> (16 * ((imm >>> (2 * k)) & 3))) & 0xFFFF) << (16 * k);
                }
                if (op == PSHUFHW) {
                    rl = bl;
                    rh = v;
                } else {
                    rl = v;
                    rh = op == PSHUFLW ? bh : 0;
                }
                break;
            }
            case SHUFPS: {
                // two elements from the destination, two from the source (SDM SHUFPS)
                rl = element(al, ah, 4, imm & 3) | element(al, ah, 4, (imm >>> 2) & 3) << 32;
                rh = element(bl, bh, 4, (imm >>> 4) & 3) | element(bl, bh, 4, (imm >>> 6) & 3) << 32;
                break;
            }
            case SHUFPD: rl = (imm & 1) == 0 ? al : ah; rh = (imm & 2) == 0 ? bl : bh; break;
            case PBLENDW: case BLENDPS: case BLENDPD: {
                int size = op == PBLENDW ? 2 : op == BLENDPS ? 4 : 8;
                rl = blend(al, bl, size, imm);
                rh = blend(ah, bh, size, imm >>> (8 / size));
                break;
            }
            case PBLENDVB: case BLENDVPS: case BLENDVPD: {
                int size = op == PBLENDVB ? 1 : op == BLENDVPS ? 4 : 8;
                rl = blendVariable(al, bl, maskL, size);
                rh = blendVariable(ah, bh, maskH, size);
                break;
            }
            case MPSADBW: {
                // eight sums of absolute differences of 4-byte blocks (SDM MPSADBW)
                split(al, ah, 1, 16, x);
                split(bl, bh, 1, 16, y);
                int aOff = ((imm >>> 2) & 1) * 4;
                int bOff = (imm & 3) * 4;
                for (int k = 0; k < 8; k++) {
                    int sum = 0;
                    for (int j = 0; j < 4; j++) {
                        sum += Math.abs(x[aOff + k + j] - y[bOff + j]);
                    }
                    r[k] = sum;
                }
                rl = joinLow(r, 2, 0);
                rh = joinLow(r, 2, 4);
                break;
            }
            case PHMINPOSUW: {
                split(bl, bh, 2, 8, y);
                int min = y[0], at = 0;
                for (int k = 1; k < 8; k++) {
                    if (y[k] < min) {
                        min = y[k];
                        at = k;
                    }
                }
                rl = min | ((long) at << 16);
                rh = 0;
                break;
            }
            case MOVSLDUP: rl = (bl & 0xFFFF_FFFFL) | (bl << 32); rh = (bh & 0xFFFF_FFFFL) | (bh << 32); break;
            case MOVSHDUP: rl = (bl >>> 32) | (bl & 0xFFFF_FFFF_0000_0000L);
                rh = (bh >>> 32) | (bh & 0xFFFF_FFFF_0000_0000L); break;
            case MOVDDUP: rl = bl; rh = bl; break;
            case PSRLDQ: case PSLLDQ: {
                int n = Math.min(imm, 16);
                split(al, ah, 1, 16, x);
                for (int k = 0; k < 16; k++) {
                    int from = op == PSRLDQ ? k + n : k - n;
                    r[k] = from >= 0 && from < 16 ? x[from] : 0;
                }
                rl = joinLow(r, 1, 0);
                rh = joinLow(r, 1, 8);
                break;
            }
            default: {
                if (op >= PMOVSXBW && op <= PMOVZXDQ) {
                    boolean signed = op <= PMOVSXDQ;
                    int form = (op - PMOVSXBW) % 6; // BW BD BQ WD WQ DQ
                    int from = form < 3 ? 1 : form < 5 ? 2 : 4;
                    int to = form == 0 ? 2 : form == 1 || form == 3 ? 4 : 8;
                    int n = 16 / to;
                    long v0 = 0, v1 = 0;
                    for (int k = 0; k < n; k++) {
                        long e = element(bl, bh, from, k);
                        if (signed) {
                            e = signExtend(e, 8 * from);
                        }
                        e &= to == 8 ? -1L : (1L << (8 * to)) - 1;
                        int half = k * to / 8;
                        int shift = (k * to % 8) * 8;
                        if (half == 0) {
                            v0 |= e << shift;
                        } else {
                            v1 |= e << shift;
                        }
                    }
                    rl = v0;
                    rh = v1;
                    break;
                }
                throw new IllegalArgumentException("packed shuffle " + op);
            }
        }
        o.rl = rl;
        o.rh = width == 16 ? rh : 0;
    }

    private static long signExtend(long v, int bits) {
        return (v << (64 - bits)) >> (64 - bits);
    }

    private static int horizontal(int a, int b, int bits, boolean sub, boolean saturate) {
        long x = signExtend(a, bits), y = signExtend(b, bits);
        long v = sub ? x - y : x + y;
        if (saturate) {
            v = PackedInteger.saturate(v, bits, true);
        }
        return (int) v;
    }

    /** Elements of {@code size} from {@code b} where the immediate's bit is set, else from {@code a}. */
    private static long blend(long a, long b, int size, int imm) {
        long r = 0;
        int n = 8 / size;
        long m = size == 8 ? -1L : (1L << (8 * size)) - 1;
        for (int k = 0; k < n; k++) {
            long w = ((imm >>> k) & 1) != 0 ? b : a;
            r |= w & (m << (8 * size * k));
        }
        return r;
    }

    /** Elements of {@code size} from {@code b} where the mask element's top bit is set, else from {@code a}. */
    private static long blendVariable(long a, long b, long mask, int size) {
        long r = 0;
        int bits = 8 * size;
        long m = size == 8 ? -1L : (1L << bits) - 1;
        for (int k = 0; k < 64; k += bits) {
            boolean fromB = ((mask >>> (k + bits - 1)) & 1) != 0;
            r |= (fromB ? b : a) & (m << k);
        }
        return r;
    }
}
