package io.jvmx.vmx.api.handler;

import io.jvmx.vmx.api.exit.VmExitInfo;

/**
 * A VM-exit handler: an OSGi service with the property {@value #EXIT_REASON} (one or more basic exit reasons, by
 * SDM name such as "CPUID" or by number) and the usual {@code service.ranking}. For one exit reason, handlers run
 * highest ranking first (ties: lowest service.id) until one returns {@link ExitAction#HANDLED}.
 *
 * <p>A handler runs on the vCPU's thread, between VM exit and the next VM entry. It must not block for long. An
 * exception it throws stops that vCPU (state Failed, with an error naming the handler and the exit); it never
 * affects another vCPU or the framework.
 */
@FunctionalInterface
public interface VmExitHandler {
    /** Service property: the basic exit reasons served (String, String[], Integer, Integer[] or a collection). */
    String EXIT_REASON = "vmx.exit.reason";

    ExitAction handle(VCpu vcpu, VmExitInfo exit) throws Exception;
}
