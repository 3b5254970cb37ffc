package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.spi.GeneralRegisters;

/**
 * What one execution reads and writes: the 16 general-purpose registers in the SDM's numbering (0 = RAX ... 15 = R15,
 * as {@link GeneralRegisters}), RFLAGS, the contents of the data page (see {@link NativeCpu#DATA_PAGE_BYTES}), and
 * for SIMD cases XMM0-15, MXCSR and MM0-7 (see {@link SimdState}).
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
    /** Which SIMD state the case sets and compares ({@link SimdState#NONE}, {@code SSE} or {@code MMX}). */
    int simd;
    /** XMMi is xmm[2i] (bits 63:0) and xmm[2i + 1]; MMi is mm[i]. */
    final long[] xmm = new long[32];
    final long[] mm = new long[8];
    int mxcsr = 0x1F80;
    /**
     * In an input: MXCSR may unmask SIMD floating-point exceptions, so the instruction may raise #XM (natively a
     * SIGFPE that the stub's handler turns into a record and a resumption after the instruction, see NativeCpu).
     */
    boolean trapsSimdExceptions;
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
}
