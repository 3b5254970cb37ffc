package io.jvmx.vmx.api.handler;

import io.jvmx.vmx.api.exit.VmExitInfo;

/**
 * Sees every exit of every vCPU before its handler runs (statistics, traces, JFR events). Runs on the vCPU's
 * thread: it must not block, and it must not change guest state.
 */
@FunctionalInterface
public interface ExitObserver {
    /** @param nanoTime {@link System#nanoTime()} taken when the exit reached the run loop */
    void onExit(VCpu vcpu, VmExitInfo exit, long nanoTime);
}
