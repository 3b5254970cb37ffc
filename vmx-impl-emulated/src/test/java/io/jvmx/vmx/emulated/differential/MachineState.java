package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.spi.GeneralRegisters;

/**
 * What one execution reads and writes: the 16 general-purpose registers in the SDM's numbering (0 = RAX ... 15 = R15,
 * as {@link GeneralRegisters}), RFLAGS, the contents of the data page (see {@link NativeCpu#DATA_PAGE_BYTES}), and for
 * x87, MMX and SSE cases the x87 and SSE state as an FXSAVE image (see {@link FxsaveImage}).
 *
 * <p>RSP (index 4) is the stack pointer of whoever runs the case, never an operand: in an input it is ignored, in a
 * result it holds the change of RSP the instruction made (which must be 0 for every form tested).
 */
final class MachineState {
    static final int REGISTERS = 16;
    static final int RSP = GeneralRegisters.RSP;

    final long[] gpr = new long[REGISTERS];
    long rflags;
    final byte[] data;
    /**
     * The x87 and SSE state (an FXSAVE64 image), or null when the case does not involve them: it then starts from
     * FNINIT's state with MXCSR 1F80H natively, from whatever the previous case left in the guest, and its result is
     * not compared.
     */
    byte[] fxsave;
    /** In a result: the vector of the exception the instruction raised (then skipped), or -1. */
    int exception = -1;
    /**
     * The case runs as 32-bit code (compatibility mode, SDM Vol. 1, 3.2.1; a SIMD case): registers 0-7 and XMM0-7
     * only, 32-bit addresses (the pages must lie below 4 GiB). Bits 63:32 of the general-purpose registers and
     * R8-R15 are left undefined by the mode switches (Vol. 1, 3.4.1.1), so they are not compared.
     */
    boolean compat;

    MachineState(int dataBytes) {
        data = new byte[dataBytes];
    }

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
