package io.jvmx.vmx.core.dispatch;

import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.VCpu;

/**
 * Delivers a VM exit to the exit observers and then to the handler chain of its basic exit reason (the whiteboard
 * of DESIGN.md): handlers run highest {@code service.ranking} first, ties lowest {@code service.id} first, until one
 * returns {@code HANDLED}.
 *
 * <p>Called on the vCPU's thread. The exit path reads the current chains once, takes no lock and allocates nothing
 * (unless it has to wait for a handler of an expected reason, see the implementation's configuration).
 */
public interface ExitDispatcher {

    /**
     * @return the registration of the handler that returned HANDLED, or null if no handler took the exit (the
     *         exit then goes back to the caller of {@code run}, as in x86_vcpu)
     * @throws HandlerFailureException if a handler threw: the vCPU must stop (state FAILED)
     */
    HandlerRegistration dispatch(VCpu vcpu, VmExitInfo exit);

    /**
     * Asks the handler chain of {@code exit}'s reason about an exit that did not happen: the VMM computing what its
     * handlers would answer (the CPUID table of a processor that cannot deliver CPUID exits). Observers are not
     * told and nothing is counted.
     *
     * @return the registration of the handler that returned HANDLED, or null
     */
    default HandlerRegistration consult(VCpu vcpu, VmExitInfo exit) {
        return dispatch(vcpu, exit);
    }
}
