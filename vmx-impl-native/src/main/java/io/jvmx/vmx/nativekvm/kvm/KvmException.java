package io.jvmx.vmx.nativekvm.kvm;

/** A KVM call that failed: the message says what was tried and what the kernel answered (errno and its text). */
public final class KvmException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int errno;

    public KvmException(String message, int errno) {
        super(message);
        this.errno = errno;
    }

    /** The errno of the failed call, or 0 if the failure was not a system call's. */
    public int errno() {
        return errno;
    }

    static KvmException of(String what, int errno) {
        String text;
        try {
            text = Libc.strerror(errno);
        } catch (RuntimeException | UnsatisfiedLinkError e) {
            text = "errno " + errno;
        }
        return new KvmException(what + " failed: " + text + " (errno " + errno + ")", errno);
    }
}
