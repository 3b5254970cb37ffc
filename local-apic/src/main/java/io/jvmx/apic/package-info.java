/**
 * The local APIC a guest programs, as a register model (SDM Vol. 3A chapter 11): {@link io.jvmx.apic.LocalApic}.
 *
 * <p>Why it is here and not in the processor. In VMX the local APIC the guest sees is not the processor's: the VMM
 * gives the guest an APIC of its own and virtualizes every access to it (SDM Vol. 3C 29.5; KVM emulates it in
 * software; the APIC-virtualization controls of chapter 29 are an optimisation of the same idea). jvmx's software
 * processor models a processor, so it has no local APIC and its CPUID says so; the guest's APIC is a device of the
 * platform, in this bundle, reached through the exits the platform's VMCS setup causes (package
 * {@code io.jvmx.apic.device}). The processor's own configuration MSRs (PAT, the MTRRs, IA32_MISC_ENABLE, TSC_AUX)
 * stay in the processor.
 *
 * <p>The model knows nothing of VMX: it takes register accesses and the guest TSC, and answers what the SDM says the
 * APIC answers. Time comes in as a parameter, so the model is deterministic and its tests need no clock.
 */
package io.jvmx.apic;
