package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.spi.GeneralRegisters;

/**
 * What one execution reads and writes: the 16 general-purpose registers in the SDM's numbering (0 = RAX ... 15 = R15,
 * as {@link GeneralRegisters}; RSP, 4, points into the stack page), RFLAGS, the data page and the stack page; and,
 * as results only, RIP (the landing site the instruction went to, -1 if none was reached) and the six segment
 * selectors (ES CS SS DS FS GS).
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

    static String registerName(int index) {
        return GeneralRegisters.name(index);
    }
}
