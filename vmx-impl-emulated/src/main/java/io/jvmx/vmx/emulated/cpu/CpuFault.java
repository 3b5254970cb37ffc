package io.jvmx.vmx.emulated.cpu;

/**
 * An exception condition (SDM Vol. 3A, 6.3 "Sources of Interrupts" / Table 6-1) detected while executing an
 * instruction or delivering an event. It aborts the instruction before anything is committed; the interpreter then
 * delivers it through the guest IDT (after asking {@link NonRootHooks#exception}). This is an architectural event,
 * not the normal path: one preallocated instance per interpreter, no stack trace, nothing allocated.
 */
final class CpuFault extends RuntimeException {
    private static final long serialVersionUID = 1L;

    int vector;
    /** The error code, or -1 if the exception has none. */
    int errorCode;
    /** For #PF: the linear address that goes to CR2 when the fault is delivered. */
    long cr2;

    CpuFault() {
        super("guest exception", null, false, false);
    }

    CpuFault set(int vector, int errorCode) {
        this.vector = vector;
        this.errorCode = errorCode;
        return this;
    }

    @Override
    public String getMessage() {
        return "guest exception vector " + vector + " error code " + errorCode;
    }
}
