package io.jvmx.vmx.api.controls;

/** Pin-based VM-execution controls: SDM Vol. 3C, 25.6.1, Table 25-5. */
public final class PinBasedControls {
    private PinBasedControls() {
    }

    public static final int EXTERNAL_INTERRUPT_EXITING = 1 << 0;
    public static final int NMI_EXITING = 1 << 3;
    public static final int VIRTUAL_NMIS = 1 << 5;
    public static final int ACTIVATE_VMX_PREEMPTION_TIMER = 1 << 6;
    public static final int PROCESS_POSTED_INTERRUPTS = 1 << 7;
}
