package io.jvmx.vmx.core.runtime;

import io.jvmx.vmx.api.exit.ExitReason;

import java.util.List;
import java.util.Map;

/** The OSGi service that says which handler services serve each exit reason, in chain order (vcpu:handlers). */
public interface HandlerDirectory {

    /**
     * One handler service in a chain.
     *
     * @param bundle       symbolic name of the bundle that registered it
     * @param serviceId    its service.id
     * @param ranking      its service.ranking
     * @param handlerClass the implementation class name
     * @param handled      the exits it returned HANDLED for so far, on every vCPU (a hot swap shows here)
     */
    record Entry(ExitReason reason, String bundle, long serviceId, int ranking, String handlerClass, long handled) {
    }

    /** Every exit reason that has at least one handler, with its chain highest ranking first. */
    Map<ExitReason, List<Entry>> chains();

    /** The chain of one reason (empty: the exit goes back to the caller of run). */
    List<Entry> chain(ExitReason reason);
}
