package io.jvmx.vmx.core.runtime;

import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.VCpuState;

/**
 * How a vCPU ended.
 *
 * @param state          STOPPED or FAILED
 * @param exitCode       the guest's exit code (debug-exit device), or null if the guest did not end itself
 * @param reason         one line for people: "guest exited with code 0", "stopped by request",
 *                       "unhandled exit CPUID at RIP 0x8010", "handler io.jvmx.handler-cpuid failed on CPUID: ..."
 * @param unhandledExit  the exit no handler took (x86_vcpu returns it to the caller of run), or null
 * @param failure        the cause of FAILED, or null
 */
public record RunOutcome(VCpuState state, Integer exitCode, String reason, VmExitInfo unhandledExit,
                         Throwable failure) {
}
