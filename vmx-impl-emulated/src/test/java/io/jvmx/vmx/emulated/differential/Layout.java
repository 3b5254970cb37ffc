package io.jvmx.vmx.emulated.differential;

/**
 * Where a case's pages are, the same linear addresses natively and in the guest (so pointers, return addresses and
 * RIP-relative operands are the same numbers on both sides), and the FS and GS bases of 64-bit mode.
 *
 * @param code  the code page: the instruction at {@link NativeCpu#INSTRUCTION_OFFSET}, landing sites around it
 * @param data  the data page
 * @param stack the stack page
 * @param state the state page: the FXSAVE images of a case's x87 and SSE state (see {@link FxsaveImage}), in the
 *              guest also the code that loads the case's image and jumps to the instruction
 */
record Layout(long code, long data, long stack, long state, long fsBase, long gsBase) {

    /** A layout with the state page two pages after the stack page, as {@link NativeCpu} maps them. */
    Layout(long code, long data, long stack, long fsBase, long gsBase) {
        this(code, data, stack, stack + 2 * NativeCpu.PAGE, fsBase, gsBase);
    }

    static Layout of(NativeCpu cpu) {
        return new Layout(cpu.codeAddress(), cpu.dataAddress(), cpu.stackAddress(), cpu.stateAddress(), cpu.fsBase(),
                cpu.gsBase());
    }

    /** The linear address of the instruction under test. */
    long instruction() {
        return code + NativeCpu.INSTRUCTION_OFFSET;
    }
}
