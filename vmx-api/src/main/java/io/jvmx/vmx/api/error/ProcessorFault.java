package io.jvmx.vmx.api.error;

/**
 * An exception the host logical processor raised while executing an instruction in VMX root operation
 * (for example #UD for VMXON with CR4.VMXE = 0, #GP(0) for WRMSR of a reserved bit): the vector and, where the
 * SDM defines one, the error code.
 */
public final class ProcessorFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public static final int UD = 6;
    public static final int GP = 13;

    private final int vector;
    private final int errorCode;

    public ProcessorFault(int vector, int errorCode, String message) {
        super(message);
        this.vector = vector;
        this.errorCode = errorCode;
    }

    public static ProcessorFault gp(String why) {
        return new ProcessorFault(GP, 0, "#GP(0): " + why);
    }

    public static ProcessorFault ud(String why) {
        return new ProcessorFault(UD, -1, "#UD: " + why);
    }

    public int vector() {
        return vector;
    }

    /** The error code, or -1 where the exception has none. */
    public int errorCode() {
        return errorCode;
    }
}
