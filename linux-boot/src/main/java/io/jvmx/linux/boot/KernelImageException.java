package io.jvmx.linux.boot;

/** A kernel image, initrd or command line a boot loader cannot use; the message says why, in one line. */
public final class KernelImageException extends Exception {
    private static final long serialVersionUID = 1L;

    public KernelImageException(String message) {
        super(message);
    }
}
