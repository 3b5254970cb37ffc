package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.spi.GeneralRegisters;

/**
 * What one execution reads and writes: the 16 general-purpose registers in the SDM's numbering (0 = RAX ... 15 = R15,
 * as {@link GeneralRegisters}), RFLAGS, the contents of the data page (see {@link NativeCpu#DATA_PAGE_BYTES}), and for
 * the x87 forms the x87 and SSE state.
 *
 * <p>RSP (index 4) is the stack pointer of whoever runs the case, never an operand: in an input it is ignored, in a
 * result it holds the change of RSP the instruction made (which must be 0 for every form tested).
 */
final class MachineState {
    static final int REGISTERS = 16;
    static final int RSP = GeneralRegisters.RSP;

    /** Bytes of an FXSAVE image (SDM Vol. 2A FXSAVE). */
    static final int X87_IMAGE_BYTES = 512;

    final long[] gpr = new long[REGISTERS];
    long rflags;
    final byte[] data;
    /**
     * The x87 and SSE state as an FXSAVE64 image ({@link X87Image}), or null when the case does not involve them (its
     * x87 state is then FNINIT's and its result is not compared).
     */
    byte[] x87;

    MachineState(int dataBytes) {
        data = new byte[dataBytes];
    }

    static String registerName(int index) {
        return GeneralRegisters.name(index);
    }
}
