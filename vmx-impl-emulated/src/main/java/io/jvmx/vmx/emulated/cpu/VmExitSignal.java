package io.jvmx.vmx.emulated.cpu;

/**
 * Thrown through the interpreter when the VMX layer has decided that the current instruction or event causes a VM
 * exit. The VMX layer has already recorded the exit (reason, qualification, instruction length...) before throwing;
 * the interpreter only unwinds: it must leave the architectural state as it was before the instruction (no partial
 * register writes, RIP of the instruction), except where the SDM says the exit happens after the instruction
 * (trap-like exits such as the interrupt window are taken at instruction boundaries, where nothing is partial).
 *
 * <p>One preallocated instance per processor; no stack trace: the exit path allocates nothing.
 */
public final class VmExitSignal extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public VmExitSignal() {
        super("VM exit", null, false, false);
    }
}
