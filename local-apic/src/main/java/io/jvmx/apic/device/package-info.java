/**
 * The local APIC as the VMM's device: {@link io.jvmx.apic.device.LocalApicDevice}, an exit-handler service (and a
 * CPUID contribution) that connects one {@link io.jvmx.apic.LocalApic} per vCPU to the guest.
 *
 * <p>How the guest reaches it: the xAPIC page lies above guest RAM, so a load or store there is an EPT violation,
 * whose instruction is emulated; the platform's MSR bitmap intercepts IA32_APIC_BASE, IA32_TSC_DEADLINE and the
 * x2APIC MSRs; MOV CR8 exits (CR8 is the TPR).
 *
 * <p>How its interrupts reach the guest: the APIC is the vCPU's interrupt controller
 * ({@link io.jvmx.vmx.api.handler.VCpu#setInterruptController}), asked before every VM entry; the vCPU injects its
 * highest interrupt when the guest can take it and opens the interrupt window otherwise.
 *
 * <p>How its timer keeps time: the timer counts the guest's TSC. The device asks the vCPU for an exit at the timer's
 * next event ({@link io.jvmx.vmx.api.handler.VCpu#setExitDeadline}); the vCPU shortens the VMX-preemption timer to
 * it, so the exit comes on time in a busy loop and in HLT alike, and exactly reproducibly on the software processor,
 * whose TSC counts instructions and jumps to the timer's expiry while the guest halts.
 */
package io.jvmx.apic.device;
