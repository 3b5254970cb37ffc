package io.jvmx.vmx.core.dispatch;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.VmExitHandler;

import java.util.Set;
import java.util.concurrent.atomic.LongAdder;

/**
 * One registered {@link VmExitHandler} service: what the dispatcher keeps in its chains. Immutable apart from its
 * counter of exits it took (over all vCPUs).
 */
public final class HandlerRegistration {
    private final VmExitHandler handler;
    private final Set<ExitReason> reasons;
    private final String bundle;
    private final long serviceId;
    private final int ranking;
    private final LongAdder handled = new LongAdder();

    public HandlerRegistration(VmExitHandler handler, Set<ExitReason> reasons, String bundle, long serviceId,
                               int ranking) {
        this.handler = handler;
        this.reasons = Set.copyOf(reasons);
        this.bundle = bundle;
        this.serviceId = serviceId;
        this.ranking = ranking;
    }

    public VmExitHandler handler() {
        return handler;
    }

    public Set<ExitReason> reasons() {
        return reasons;
    }

    /** Symbolic name of the bundle that registered the service. */
    public String bundle() {
        return bundle;
    }

    public long serviceId() {
        return serviceId;
    }

    public int ranking() {
        return ranking;
    }

    public String handlerClass() {
        return handler.getClass().getName();
    }

    /** Exits this handler returned HANDLED for, on every vCPU. */
    public long handledCount() {
        return handled.sum();
    }

    /** Called by the dispatcher when the handler took an exit. */
    public void countHandled() {
        handled.increment();
    }

    /** Carries the count of the registration this one replaces (a property update of the same service). */
    public void inheritCount(HandlerRegistration previous) {
        handled.add(previous.handledCount());
    }

    /** Chain order: ranking descending, then service.id ascending (OSGi service ordering). */
    public static int chainOrder(HandlerRegistration a, HandlerRegistration b) {
        if (a.ranking != b.ranking) {
            return a.ranking > b.ranking ? -1 : 1;
        }
        return Long.compare(a.serviceId, b.serviceId);
    }

    @Override
    public String toString() {
        return String.format("%s from bundle %s (service.id %d, ranking %d)", handlerClass(), bundle, serviceId,
                ranking);
    }
}
