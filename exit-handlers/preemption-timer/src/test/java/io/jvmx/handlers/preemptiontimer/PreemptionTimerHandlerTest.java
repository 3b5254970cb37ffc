package io.jvmx.handlers.preemptiontimer;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;

/** Conformance of the VMX_PREEMPTION_TIMER_EXPIRED handler: SDM Vol. 3C, 25.6.1 Table 25-5 bit 6 and 26.5.1. */
public class PreemptionTimerHandlerTest {

    private final PreemptionTimerHandler handler = new PreemptionTimerHandler();

    private static FakeVCpu expired(long slice) {
        FakeVCpu v = new FakeVCpu().setPreemptionTimerSlice(slice);
        // the processor saved the timer value (0) at the exit ("save VMX-preemption timer value")
        v.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 0);
        return v;
    }

    private static long pin(FakeVCpu v) {
        return v.vmread(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
    }

    /** The timer value is re-loaded with the vCPU's slice (SDM 26.5.1: it counts down from the value loaded at entry). */
    @Test
    public void rearmsWithTheTimeSlice() throws Exception {
        FakeVCpu v = expired(20_000);
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0)));
        assertEquals(20_000, v.vmread(VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    /**
     * x86_vcpu programs the value but never sets "activate VMX-preemption timer" (Table 25-5 bit 6), so its timer
     * never counts: this handler sets the control.
     */
    @Test
    public void setsActivateVmxPreemptionTimerControlWhichX86VcpuNeverSets() throws Exception {
        FakeVCpu v = expired(1000);
        assertEquals(0, pin(v) & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertNotEquals(0, pin(v) & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
    }

    /** The other pin-based controls are left as they were (NMI and external-interrupt exiting, Table 25-5). */
    @Test
    public void keepsOtherPinBasedControls() throws Exception {
        FakeVCpu v = expired(1000);
        long before = pin(v);
        handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertEquals(before | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER, pin(v));
    }

    /** No time slice: re-arming with 0 would exit before every instruction (SDM 26.5.1), so the timer is disarmed. */
    @Test
    public void zeroSliceDisarmsTheTimer() throws Exception {
        FakeVCpu v = expired(0);
        v.vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, pin(v) | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0)));
        assertEquals(0, pin(v) & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
    }

    /**
     * The vCPU activates the timer (and "save VMX-preemption timer value") for a device's exit deadline even without
     * a slice; disarming clears both, since saving the value needs an active timer (SDM 26.2.1.2).
     */
    @Test
    public void disarmingAlsoClearsSaveVmxPreemptionTimerValue() throws Exception {
        FakeVCpu v = expired(0);
        v.vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, pin(v) | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        v.vmwrite(VmcsField.PRIMARY_VM_EXIT_CONTROLS, VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE
                | VmExitControls.LOAD_IA32_EFER);
        handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertEquals(VmExitControls.LOAD_IA32_EFER, v.vmread(VmcsField.PRIMARY_VM_EXIT_CONTROLS));
    }

    /** The VMX-preemption timer-value field is 32 bits (SDM App. B.3.3): a longer slice is clamped, not truncated. */
    @Test
    public void sliceAbove32BitsIsClamped() throws Exception {
        FakeVCpu v = expired(1L << 33);
        handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertEquals(0xFFFF_FFFFL, v.vmread(VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    /** Not an instruction exit (SDM 28.2.5): RIP stays. */
    @Test
    public void ripIsNotAdvanced() throws Exception {
        FakeVCpu v = expired(1000);
        long rip = v.rip();
        handler.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertEquals(rip, v.rip());
    }

    /** Preemptions are counted per vCPU. */
    @Test
    public void countsPreemptionsPerVcpu() throws Exception {
        FakeVCpu a = expired(1000);
        FakeVCpu b = expired(1000);
        handler.handle(a, a.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        handler.handle(a, a.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        handler.handle(b, b.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertEquals(2, a.attachment(PreemptionTimerHandler.Preemptions.class, PreemptionTimerHandler.Preemptions::new).count());
        assertEquals(1, b.attachment(PreemptionTimerHandler.Preemptions.class, PreemptionTimerHandler.Preemptions::new).count());
    }
}
