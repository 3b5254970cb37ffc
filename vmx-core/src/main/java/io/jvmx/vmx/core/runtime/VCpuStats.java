package io.jvmx.vmx.core.runtime;

import io.jvmx.vmx.api.exit.ExitReason;

import java.util.Map;

/**
 * A snapshot of a vCPU's counters.
 *
 * @param exitsByReason       VM exits per basic exit reason (only reasons that occurred), in reason order
 * @param handledBy           for each reason that occurred: the bundle symbolic names whose handlers took its
 *                            exits, with counts ("io.jvmx.handler-cpuid" -> 12)
 * @param unhandledExits      exits no handler took
 * @param guestInstructions   guest instructions retired, or -1 if the processor cannot count them
 * @param wallNanos           time since the vCPU first ran (until it stopped)
 */
public record VCpuStats(Map<ExitReason, Long> exitsByReason, Map<ExitReason, Map<String, Long>> handledBy,
                        long unhandledExits, long guestInstructions, long wallNanos) {

    public long totalExits() {
        return exitsByReason.values().stream().mapToLong(Long::longValue).sum();
    }
}
