package io.jvmx.handlers.preemptiontimer;

import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.osgi.service.component.annotations.Component;

/**
 * VMX_PREEMPTION_TIMER_EXPIRED (basic exit reason 52): the guest used up its time slice (SDM Vol. 3C, 26.5.1). The
 * handler re-arms the timer for the next slice: VMX_PREEMPTION_TIMER_VALUE = the vCPU's slice, and the pin-based
 * "activate VMX-preemption timer" control (25.6.1, Table 25-5 bit 6) set — x86_vcpu writes the value but never sets the
 * control, so its timer never runs. A slice of 0 means "no time slice": re-arming with 0 would exit again before the
 * first guest instruction (26.5.1), forever, so the timer is disarmed instead. The value field is 32 bits wide: a
 * longer slice is clamped. Each expiry is counted per vCPU. Not an instruction exit: RIP stays. The timer also ends
 * a slice early when a device asked for an exit at a deadline ({@link VCpu#setExitDeadline}): such a device registers
 * for this reason with a higher ranking, looks at the time and passes the exit on to this handler.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=VMX_PREEMPTION_TIMER_EXPIRED")
public final class PreemptionTimerHandler implements VmExitHandler {

    /** Per-vCPU count of expiries (vcpu.attachment). */
    static final class Preemptions {
        private long count;

        long count() {
            return count;
        }
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        vcpu.attachment(Preemptions.class, Preemptions::new).count++;
        long slice = vcpu.preemptionTimerSlice();
        long pin = vcpu.vmread(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
        if (slice <= 0) {
            // "save VMX-preemption timer value" must be 0 while the timer is off (SDM 26.2.1.2); the vCPU sets both
            // when it arms the timer for an exit deadline without a time slice
            vcpu.vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS,
                    pin & ~PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
            vcpu.vmwrite(VmcsField.PRIMARY_VM_EXIT_CONTROLS, vcpu.vmread(VmcsField.PRIMARY_VM_EXIT_CONTROLS)
                    & ~VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE);
            return ExitAction.HANDLED;
        }
        vcpu.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, Math.min(slice, 0xFFFF_FFFFL));
        vcpu.vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, pin | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        return ExitAction.HANDLED;
    }
}
