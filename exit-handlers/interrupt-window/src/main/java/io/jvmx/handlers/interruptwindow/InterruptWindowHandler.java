package io.jvmx.handlers.interruptwindow;

import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

/**
 * INTERRUPT_WINDOW (basic exit reason 7). With "interrupt-window exiting" set, the exit happens at the start of an
 * instruction once RFLAGS.IF = 1 and nothing blocks interrupts (SDM Vol. 3C, 25.6.2 Table 25-6 bit 2; 26.2): the
 * guest can take an external interrupt now. x86_vcpu only turns the control off here and waits for the next entry to
 * inject; this handler injects the next pending event itself ({@link VCpu#injectPendingEvent}, which also leaves
 * window exiting on exactly while interrupts remain queued), and turns window exiting off when nothing is pending.
 * Not an instruction exit: RIP stays (SDM 28.2.5: no instruction length).
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=INTERRUPT_WINDOW")
public final class InterruptWindowHandler implements VmExitHandler {

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        if (vcpu.pendingEventCount() > 0) {
            vcpu.injectPendingEvent();
        } else {
            vcpu.setInterruptWindowExiting(false);
        }
        return ExitAction.HANDLED;
    }
}
