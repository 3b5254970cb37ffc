package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.spi.GeneralRegisters;

/**
 * What one execution reads and writes: the 16 general-purpose registers in the SDM's numbering (0 = RAX ... 15 = R15,
 * as {@link GeneralRegisters}; RSP, 4, points into the stack page), RFLAGS, the data page and the stack page, and for
 * x87, MMX and SSE cases the x87 and SSE state as an FXSAVE image (see {@link FxsaveImage}); and, as results only,
 * RIP (the landing site the instruction went to, -1 if none was reached), the six segment selectors (ES CS SS DS FS
 * GS) and the exception a SIMD instruction raised.
 */
final class MachineState {
    static final int REGISTERS = 16;
    static final int RSP = GeneralRegisters.RSP;
    static final String[] SEGMENTS = {"es", "cs", "ss", "ds", "fs", "gs"};

    final long[] gpr = new long[REGISTERS];
    long rflags;
    long rip;
    final int[] selectors = new int[6];
    final byte[] data = new byte[NativeCpu.DATA_PAGE_BYTES];
    final byte[] stack = new byte[NativeCpu.STACK_PAGE_BYTES];
    /**
     * The x87 and SSE state (an FXSAVE64 image), or null when the case does not involve them: it then starts from
     * FNINIT's state with MXCSR 1F80H natively, from whatever the previous case left in the guest, and its result is
     * not compared.
     */
    byte[] fxsave;
    /** In a result: the vector of the exception the instruction raised (then skipped), or -1. */
    int exception = -1;

    static String registerName(int index) {
        return GeneralRegisters.name(index);
    }

    /** The case's x87 and SSE state, FNINIT's with MXCSR 1F80H and XMM registers 0 until the case changes it. */
    byte[] fxsave() {
        if (fxsave == null) {
            fxsave = FxsaveImage.initialCopy();
        }
        return fxsave;
    }

    /**
     * MXCSR may unmask SIMD floating-point exceptions, so the instruction may raise #XM: natively a SIGFPE that the
     * stub's handler turns into a record and a resumption after the instruction (see NativeCpu), in the guest an
     * exception exit that the harness resumes the same way (see InterpreterCpu).
     */
    boolean unmasksSimdExceptions() {
        return fxsave != null
                && (FxsaveImage.mxcsr(fxsave) & FxsaveImage.MXCSR_MASKS) != FxsaveImage.MXCSR_MASKS;
    }

    int mxcsr() {
        return FxsaveImage.mxcsr(fxsave());
    }

    void setMxcsr(int value) {
        FxsaveImage.mxcsr(fxsave(), value);
    }

    /** Bits 63:0 ({@code k} even) or 127:64 ({@code k} odd) of XMM(k / 2). */
    long xmm(int k) {
        return FxsaveImage.xmm(fxsave(), k);
    }

    void setXmm(int k, long value) {
        FxsaveImage.xmm(fxsave(), k, value);
    }

    /** The x87 state MMX code runs in (see {@link FxsaveImage#mmxState}), for the MM registers to be set. */
    void mmxState() {
        FxsaveImage.mmxState(fxsave());
    }

    /** Sets MMi (after {@link #mmxState}). */
    void setMm(int i, long value) {
        FxsaveImage.mm(fxsave(), i, value);
    }
}
