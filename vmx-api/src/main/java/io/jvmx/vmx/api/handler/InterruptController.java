package io.jvmx.vmx.api.handler;

/**
 * The interrupt controller a vCPU takes its external interrupts from: the guest's local APIC, which in VMX belongs to
 * the VMM, not to the processor. The vCPU asks it at each VM entry (see {@link VCpu#setInterruptController}); both
 * methods run on the vCPU's thread.
 */
public interface InterruptController {

    /**
     * The vector the controller would present to the processor now (the highest requested interrupt whose priority
     * class is above the processor priority, SDM Vol. 3A 11.8.3.1), or -1 if none.
     */
    int pendingInterrupt();

    /**
     * The processor takes the interrupt {@link #pendingInterrupt} returned (INTA): the controller moves it from
     * "requested" to "in service" (SDM Vol. 3A 11.8.4) and returns its vector.
     */
    int acknowledgeInterrupt();
}
