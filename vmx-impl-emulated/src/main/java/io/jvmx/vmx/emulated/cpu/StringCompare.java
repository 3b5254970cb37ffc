package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Executor.RAX;
import static io.jvmx.vmx.emulated.cpu.Executor.RCX;
import static io.jvmx.vmx.emulated.cpu.Executor.RDX;

import io.jvmx.vmx.api.arch.Rflags;

/**
 * The SSE4.2 string and text instructions PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM (SDM Vol. 2B, 4.1 "Imm8
 * Control Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM"): the elements of xmm1 and xmm2/m128
 * (bytes or words, signed or unsigned: imm8[1:0]), their lengths (explicit in rAX and rDX, or up to the first zero
 * element), the aggregation (equal any, ranges, equal each, equal ordered: imm8[3:2]) with the rules for invalid
 * elements (Table 4-7), the polarity (imm8[5:4]), and the output: an index in ECX (imm8[6]: least or most significant
 * bit) or a mask in XMM0 (imm8[6]: bits or expanded elements), and the flags CF ZF SF OF (AF PF cleared).
 */
final class StringCompare extends Op {
    private final boolean explicit, index;

    private StringCompare(String name, boolean explicit, boolean index) {
        super(name);
        this.explicit = explicit;
        this.index = index;
    }

    private static final Op PCMPESTRM = new StringCompare("PCMPESTRM xmm, xmm/m128, imm8", true, false);
    private static final Op PCMPESTRI = new StringCompare("PCMPESTRI xmm, xmm/m128, imm8", true, true);
    private static final Op PCMPISTRM = new StringCompare("PCMPISTRM xmm, xmm/m128, imm8", false, false);
    private static final Op PCMPISTRI = new StringCompare("PCMPISTRI xmm, xmm/m128, imm8", false, true);

    /** 66 0F 3A 60-63. */
    static Op op(int opcode) {
        switch (opcode) {
            case 0x60: return PCMPESTRM;
            case 0x61: return PCMPESTRI;
            case 0x62: return PCMPISTRM;
            default: return PCMPISTRI;
        }
    }

    @Override
    void run(Executor x, Insn i) {
        SimdOperands o = x.simd;
        o.checkSse();
        o.source128(false); // these instructions do not require alignment
        int imm = (int) i.imm & 0xFF;
        boolean words = (imm & 1) != 0;
        boolean signed = (imm & 2) != 0;
        int size = words ? 2 : 1;
        int n = 16 / size;
        int[] a = o.e1, b = o.e2;
        long[] r = o.xmm;
        SimdOperands.split(r[2 * i.reg], r[2 * i.reg + 1], size, n, a);
        SimdOperands.split(o.lo, o.hi, size, n, b);
        if (signed) {
            int shift = 32 - 8 * size;
            for (int k = 0; k < n; k++) {
                a[k] = (a[k] << shift) >> shift;
                b[k] = (b[k] << shift) >> shift;
            }
        }
        int lenA, lenB;
        if (explicit) {
            boolean wide = (i.rex & 8) != 0;
            lenA = explicitLength(wide ? x.s.gpr[RAX] : (int) x.s.gpr[RAX], n);
            lenB = explicitLength(wide ? x.s.gpr[RDX] : (int) x.s.gpr[RDX], n);
        } else {
            lenA = implicitLength(a, n);
            lenB = implicitLength(b, n);
        }
        int intRes1 = aggregate((imm >>> 2) & 3, a, lenA, b, lenB, n);
        int all = (1 << n) - 1;
        int intRes2;
        switch ((imm >>> 4) & 3) {
            case 1: intRes2 = ~intRes1 & all; break;
            case 3: intRes2 = intRes1 ^ ((1 << lenB) - 1); break; // negated where xmm2/m128's elements are valid
            default: intRes2 = intRes1; break;
        }
        long flags = 0;
        if (intRes2 != 0) {
            flags |= Rflags.CF;
        }
        if (lenB < n) {
            flags |= Rflags.ZF;
        }
        if (lenA < n) {
            flags |= Rflags.SF;
        }
        if ((intRes2 & 1) != 0) {
            flags |= Rflags.OF;
        }
        if (index) {
            int ecx = intRes2 == 0 ? n : (imm & 0x40) == 0 ? Integer.numberOfTrailingZeros(intRes2)
                    : 31 - Integer.numberOfLeadingZeros(intRes2);
            x.setReg(RCX, 4, ecx);
        } else {
            long ml = 0, mh = 0;
            if ((imm & 0x40) == 0) {
                ml = intRes2;
            } else {
                long element = words ? 0xFFFF : 0xFF;
                for (int k = 0; k < n; k++) {
                    if ((intRes2 & (1 << k)) != 0) {
                        int bit = k * 8 * size;
                        if (bit < 64) {
                            ml |= element << bit;
                        } else {
                            mh |= element << (bit - 64);
                        }
                    }
                }
            }
            r[0] = ml;
            r[1] = mh;
        }
        x.s.setRflags((x.s.rflags() & ~Alu.STATUS) | flags);
        x.done();
    }

    /** The absolute value of the length register, saturated to the number of elements. */
    private static int explicitLength(long v, int n) {
        if (v == Long.MIN_VALUE) {
            return n;
        }
        long a = Math.abs(v);
        return a > n ? n : (int) a;
    }

    private static int implicitLength(int[] e, int n) {
        for (int k = 0; k < n; k++) {
            if (e[k] == 0) {
                return k;
            }
        }
        return n;
    }

    /** IntRes1: bit j for element j of xmm2/m128 (b), compared with the elements of xmm1 (a). */
    private static int aggregate(int mode, int[] a, int lenA, int[] b, int lenB, int n) {
        int res = 0;
        for (int j = 0; j < n; j++) {
            boolean bit;
            switch (mode) {
                case 0: { // equal any: b[j] is one of a's valid elements
                    bit = false;
                    if (j < lenB) {
                        for (int k = 0; k < lenA; k++) {
                            if (a[k] == b[j]) {
                                bit = true;
                                break;
                            }
                        }
                    }
                    break;
                }
                case 1: { // ranges: a holds pairs [low, high]
                    bit = false;
                    if (j < lenB) {
                        for (int k = 0; k + 1 < lenA; k += 2) {
                            if (b[j] >= a[k] && b[j] <= a[k + 1]) {
                                bit = true;
                                break;
                            }
                        }
                    }
                    break;
                }
                case 2: { // equal each: both invalid is true, one invalid false
                    boolean va = j < lenA, vb = j < lenB;
                    bit = va && vb ? a[j] == b[j] : !va && !vb;
                    break;
                }
                default: { // equal ordered: a (the needle) starts at b[j]; an invalid needle element matches
                    bit = true;
                    for (int k = 0; j + k < n && k < lenA; k++) {
                        if (j + k >= lenB || a[k] != b[j + k]) {
                            bit = false;
                            break;
                        }
                    }
                    break;
                }
            }
            if (bit) {
                res |= 1 << j;
            }
        }
        return res;
    }
}
