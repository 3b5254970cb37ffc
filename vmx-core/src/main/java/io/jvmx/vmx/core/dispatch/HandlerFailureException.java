package io.jvmx.vmx.core.dispatch;

import io.jvmx.vmx.api.exit.VmExitInfo;

/**
 * A handler threw (or broke its contract) while handling an exit. The vCPU that ran it stops with state FAILED;
 * the message names the handler class, its bundle and the exit, for example
 * "handler com.acme.X from bundle com.acme.handlers failed on CPUID at RIP 0x8012: java.lang.IllegalStateException: boom".
 */
public final class HandlerFailureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String bundle;
    private final String handlerClass;
    private final transient VmExitInfo exit;

    public HandlerFailureException(String bundle, String handlerClass, VmExitInfo exit, String problem,
                                   Throwable cause) {
        super(String.format("handler %s from bundle %s failed on %s at RIP %#x: %s", handlerClass, bundle,
                exit.reason(), exit.guestRip(), problem), cause);
        this.bundle = bundle;
        this.handlerClass = handlerClass;
        this.exit = exit;
    }

    public String bundle() {
        return bundle;
    }

    public String handlerClass() {
        return handlerClass;
    }

    public VmExitInfo exit() {
        return exit;
    }
}
