package io.jvmx.vmx.core.runtime;

import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VCpuState;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/** A launched vCPU running on its own platform thread. Thread-safe. */
public interface VCpuHandle {

    int id();

    /** The launch request's name (image). */
    String name();

    String processorKind();

    VCpuState state();

    VCpuStats stats();

    /** Asks the vCPU to stop at its next exit (kicking it out of the guest); returns at once. */
    void stop();

    /** Waits for the vCPU to end; empty if it is still running after {@code timeout}. */
    Optional<RunOutcome> awaitOutcome(Duration timeout) throws InterruptedException;

    /**
     * Runs {@code query} with the vCPU's VMCS current, on the vCPU's thread at its next exit (the vCPU is kicked
     * so that one comes soon), or on the caller's thread once the vCPU has ended. For vcpu:regs and vcpu:vmcs.
     */
    <T> T inspect(Function<VCpu, T> query, Duration timeout) throws TimeoutException, InterruptedException;
}
