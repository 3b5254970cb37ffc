package io.jvmx.vmx.api.handler;

/**
 * The processor's INTR line as the PC's 8259A interrupt controller drives it, shared by the devices of one vCPU as a
 * {@linkplain VCpu#attachment vCPU attachment} ({@code vcpu.attachment(InterruptLine.class, InterruptLine::new)}).
 *
 * <p>On a PC the 8259A's INT output reaches the processor in one of two ways (SDM Vol. 3A 11.4.3, 11.5.1, and the
 * MultiProcessor Specification 1.4, 3.6.2.2 "virtual wire mode"): while the local APIC is globally disabled or absent,
 * it is the processor's INTR pin; while the APIC is enabled, it arrives at LINT0 and reaches the processor when LVT
 * LINT0 is unmasked with delivery mode ExtINT. Either way the vector comes from the 8259A in the INTA cycle, not from
 * the APIC. So the 8259A model {@linkplain #connectDriver connects} itself here, and:
 * <ul>
 *   <li>a local APIC that {@linkplain #connectLocalApic takes the line} becomes the vCPU's interrupt controller and
 *       asks {@link #driver()} when its LINT0 passes ExtINT (or while it is globally disabled);</li>
 *   <li>without a local APIC, the driver itself is the vCPU's interrupt controller.</li>
 * </ul>
 * Used on the vCPU's thread, as the devices that share it.
 */
public final class InterruptLine {

    private InterruptController driver;
    private boolean localApic;

    /**
     * The 8259A (its master's INT output) drives the line from now on. If no local APIC has taken the line, the
     * 8259A becomes the vCPU's interrupt controller.
     */
    public void connectDriver(VCpu vcpu, InterruptController pic) {
        driver = pic;
        if (!localApic) {
            vcpu.setInterruptController(pic);
        }
    }

    /**
     * A local APIC takes the line at its LINT0 and becomes the vCPU's interrupt controller: from now on it decides
     * when the 8259A's interrupts reach the processor.
     */
    public void connectLocalApic(VCpu vcpu, InterruptController apic) {
        localApic = true;
        vcpu.setInterruptController(apic);
    }

    /** The controller that drives the line (the 8259A), or null while none does. */
    public InterruptController driver() {
        return driver;
    }

    /** The vector the driver would present in an INTA cycle now, or -1 (also when nothing drives the line). */
    public int pendingInterrupt() {
        InterruptController d = driver;
        return d == null ? -1 : d.pendingInterrupt();
    }

    /** The INTA cycle: the driver's vector (its interrupt goes in service). Only after {@link #pendingInterrupt} >= 0. */
    public int acknowledgeInterrupt() {
        return driver.acknowledgeInterrupt();
    }
}
