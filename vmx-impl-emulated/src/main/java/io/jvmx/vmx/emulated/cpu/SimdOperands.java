package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Exceptions;

/**
 * What MMX and SSE instructions share, per processor: the checks before they execute (SDM Vol. 2A, 2.4 and Vol. 3A,
 * 13.1 and 13.4: #UD for CR0.EM or a clear CR4.OSFXSR, #NM for CR0.TS, #MF for a pending x87 exception before an MMX
 * instruction), their operands (the XMM registers, the MMX registers in the x87 registers' significands, 64- and
 * 128-bit memory operands with the 16-byte alignment rule), the transition of the x87 state that MMX instructions
 * make (Vol. 1, 9.5.1), and the SIMD floating-point exception (#XM, or #UD without CR4.OSXMMEXCPT: Vol. 3A, 6.15
 * "Interrupt 19"). Holds the scratch values the ops use, so that nothing on the execution path allocates.
 */
final class SimdOperands {
    private final Executor x;
    final CpuState s;
    final long[] xmm;
    final X87State x87;
    final SimdFloat fp = new SimdFloat();

    /** The source operand (bits 63:0 and 127:64) after {@link #source128}. */
    long lo, hi;
    /** A result (bits 63:0 and 127:64) computed before it is written. */
    long rl, rh;
    /** Byte-wise scratch for the operations that move elements across 64-bit halves. */
    final int[] e1 = new int[16], e2 = new int[16], er = new int[16];

    SimdOperands(Executor x) {
        this.x = x;
        this.s = x.s;
        this.xmm = x.s.sse.xmm;
        this.x87 = x.s.x87;
    }

    // ============================================================================================ checks

    /** SSE, SSE2, SSE3, SSSE3, SSE4 (xmm forms): #UD if CR0.EM = 1 or CR4.OSFXSR = 0; #NM if CR0.TS = 1. */
    void checkSse() {
        long cr0 = s.cr0;
        if ((cr0 & Cr0.EM) != 0 || (s.cr4 & Cr4.OSFXSR) == 0) {
            throw x.ud();
        }
        if ((cr0 & Cr0.TS) != 0) {
            throw x.exc(Exceptions.NM, -1);
        }
    }

    /**
     * MMX instructions and the mm forms of SSE/SSSE3 (Vol. 2A, Table 22-1 ff. of Vol. 3B "MMX exceptions"): #UD if
     * CR0.EM = 1; #NM if CR0.TS = 1; #MF if an unmasked x87 exception is pending (FSW.ES), as at a waiting x87
     * instruction ({@link X87Ops#pending}: CR0.NE is 1 in VMX operation, so there is no FERR# path).
     */
    void checkMmx() {
        long cr0 = s.cr0;
        if ((cr0 & Cr0.EM) != 0) {
            throw x.ud();
        }
        if ((cr0 & Cr0.TS) != 0) {
            throw x.exc(Exceptions.NM, -1);
        }
        if ((x87.status & X87Ops.ES) != 0) {
            throw X87Ops.pending(x);
        }
    }

    /** An SSE instruction with an mm operand also needs what MMX needs (Vol. 3B, 22.25.3: both rules apply). */
    void checkSseAndMmx() {
        checkSse();
        checkMmx();
    }

    /**
     * An unmasked SIMD floating-point exception: the flags go into MXCSR, then #XM if CR4.OSXMMEXCPT = 1, else #UD
     * (Vol. 3A, 6.15, Interrupt 19). Nothing else of the instruction is done.
     */
    CpuFault simdException(int flags) {
        s.sse.mxcsr |= flags;
        if ((s.cr4 & Cr4.OSXMMEXCPT) == 0) {
            return x.ud();
        }
        return x.exc(Exceptions.XM, -1);
    }

    /** Ends a floating-point instruction's computation: #XM for an unmasked exception, else its flags into MXCSR. */
    void commitFlags() {
        int unmasked = fp.unmasked();
        if (unmasked != 0) {
            throw simdException(unmasked);
        }
        s.sse.mxcsr |= fp.flags();
    }

    /** As {@link #commitFlags}, but only the check: call before writing a result, then {@link #mergeFlags}. */
    void checkUnmasked() {
        int unmasked = fp.unmasked();
        if (unmasked != 0) {
            throw simdException(unmasked);
        }
    }

    void mergeFlags() {
        s.sse.mxcsr |= fp.flags();
    }

    // ============================================================================================ MMX registers

    /**
     * The transition of the x87 state that every MMX instruction except EMMS makes (Vol. 1, 9.5.1 and Table 9-2):
     * TOP = 0 and all tags valid.
     */
    void mmxTransition() {
        x87.status &= ~X87Ops.TOP;
        x87.tag = 0;
    }

    long mm(int r) {
        return x87.significand[r & 7];
    }

    /** Writes MMi: the significand of Ri, whose sign and exponent bits become all ones (Vol. 1, 9.5.1). */
    void setMm(int r, long v) {
        x87.significand[r & 7] = v;
        x87.signExponent[r & 7] = 0xFFFF;
    }

    // ============================================================================================ memory operands

    /**
     * The linear address of the memory operand of {@code size} bytes: segmentation or canonical checks, and #GP(0)
     * if {@code aligned} and the address is not a multiple of 16 (Vol. 2A, 2.4: legacy SSE instructions with a
     * 16-byte operand that must be aligned).
     */
    long linear(int size, boolean write, boolean aligned) {
        Insn i = x.i;
        long lin = x.lin(i.eaSeg, x.ea(), size, write);
        if (aligned && (lin & 15) != 0) {
            throw x.gp(0);
        }
        return lin;
    }

    /** The 128-bit source xmm/m128 into {@link #lo}/{@link #hi}. */
    void source128(boolean aligned) {
        Insn i = x.i;
        if (i.mod == 3) {
            lo = xmm[2 * i.rm];
            hi = xmm[2 * i.rm + 1];
        } else {
            long lin = linear(16, false, aligned);
            lo = x.m.read(lin, 8, x.dataPriv);
            hi = x.m.read(lin + 8, 8, x.dataPriv);
        }
    }

    /** The source xmm/m{8*size} (size 1, 2, 4 or 8) into {@link #lo}: the register's low bits, or memory. */
    long sourceLow(int size) {
        Insn i = x.i;
        if (i.mod == 3) {
            long v = xmm[2 * i.rm];
            return size == 8 ? v : v & ((1L << (8 * size)) - 1);
        }
        return x.m.read(linear(size, false, false), size, x.dataPriv);
    }

    /** The source mm/m64 of an MMX instruction. */
    long sourceMm() {
        Insn i = x.i;
        if (i.mod == 3) {
            return mm(i.rm);
        }
        return x.m.read(linear(8, false, false), 8, x.dataPriv);
    }

    /** Reads {@code size} bytes of memory at the memory operand. */
    long readMemory(int size) {
        return x.m.read(linear(size, false, false), size, x.dataPriv);
    }

    /** Writes {@code size} bytes (at most 8) to the memory operand. */
    void writeMemory(int size, long v) {
        x.m.write(linear(size, true, false), size, v, x.dataPriv);
    }

    /** Writes 16 bytes to the memory operand: both pages are checked before either half is written. */
    void writeMemory128(long l, long h, boolean aligned) {
        long lin = linear(16, true, aligned);
        x.m.probe(lin, 16, Mmu.WRITE, x.dataPriv);
        x.m.write(lin, 8, l, x.dataPriv);
        x.m.write(lin + 8, 8, h, x.dataPriv);
    }

    int mxcsr() {
        return s.sse.mxcsr;
    }

    // ============================================================================================ elements

    /** Unpacks {@code l}/{@code h} into {@code n} elements of {@code size} bytes (unsigned) in {@code out}. */
    static void split(long l, long h, int size, int n, int[] out) {
        int perHalf = 8 / size;
        int bits = 8 * size;
        long m = size == 4 ? 0xFFFF_FFFFL : (1L << bits) - 1;
        for (int k = 0; k < n; k++) {
            long w = k < perHalf ? l : h;
            out[k] = (int) ((w >>> (bits * (k % perHalf))) & m);
        }
    }

    /** Element {@code k} of {@code size} bytes of a 128-bit value. */
    static long element(long l, long h, int size, int k) {
        int perHalf = 8 / size;
        long w = k < perHalf ? l : h;
        if (size == 8) {
            return w;
        }
        int bits = 8 * size;
        return (w >>> (bits * (k % perHalf))) & ((1L << bits) - 1);
    }

    /** Packs {@code n} elements of {@code size} bytes from {@code in}: bits 63:0 (n up to 8 / size fill it). */
    static long joinLow(int[] in, int size, int from) {
        int perHalf = 8 / size;
        int bits = 8 * size;
        long m = size == 4 ? 0xFFFF_FFFFL : (1L << bits) - 1;
        long w = 0;
        for (int k = 0; k < perHalf; k++) {
            w |= (in[from + k] & m) << (bits * k);
        }
        return w;
    }
}
