package io.jvmx.vmx.api.handler;

import io.jvmx.vmx.api.spi.CpuidResult;

/**
 * A service through which a device tells the guest, via CPUID, that it exists: the CPUID handler applies every
 * registered contribution (highest service ranking last, so it has the final word) to the answer of its own policy.
 * The local APIC, for example, belongs to the VMM, so CPUID.01H:EDX.APIC, ECX.x2APIC and ECX.TSC-deadline are set by
 * the APIC device while it is there, not by the processor (SDM Vol. 2A "CPUID").
 */
public interface CpuidContribution {

    /** The answer to CPUID(leaf, subleaf) for this vCPU, given the answer so far. */
    CpuidResult contribute(VCpu vcpu, int leaf, int subleaf, CpuidResult answer);
}
