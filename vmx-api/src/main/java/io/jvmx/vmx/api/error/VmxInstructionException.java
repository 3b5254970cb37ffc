package io.jvmx.vmx.api.error;

/**
 * A VMX instruction failed (SDM Vol. 3C, 31.2 "Conventions"): VMfailInvalid (no current VMCS; CF=1) or
 * VMfailValid (ZF=1, with the error number stored in the VM-instruction error field).
 */
public final class VmxInstructionException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String instruction;
    private final VmInstructionError error; // null for VMfailInvalid

    private VmxInstructionException(String instruction, VmInstructionError error, String message) {
        super(message);
        this.instruction = instruction;
        this.error = error;
    }

    /** VMfailValid: the current VMCS holds the error number. */
    public static VmxInstructionException failValid(String instruction, VmInstructionError error) {
        return new VmxInstructionException(instruction, error,
                instruction + ": VMfailValid, VM-instruction error " + error);
    }

    /** VMfailInvalid: there is no current VMCS to hold an error number. */
    public static VmxInstructionException failInvalid(String instruction, String why) {
        return new VmxInstructionException(instruction, null, instruction + ": VMfailInvalid (" + why + ")");
    }

    public String instruction() {
        return instruction;
    }

    public boolean isFailValid() {
        return error != null;
    }

    /** The VM-instruction error of a VMfailValid; null for VMfailInvalid. */
    public VmInstructionError error() {
        return error;
    }
}
