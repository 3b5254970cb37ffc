package io.jvmx.devices.pit;

import io.jvmx.devices.pic.PicPorts;
import io.jvmx.devices.port.PortIo;
import io.jvmx.devices.time.GuestTime;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;

import java.util.Map;

/**
 * The 8254 timer ({@link Pit8254}) at ports 40H-43H and port 61H, one per vCPU, keeping guest time: its clock is
 * derived from the guest's TSC ({@link GuestTime}), so under the software processor the timer counts instructions,
 * as the local APIC timer does, and a run gives the same interrupts at the same instructions every time.
 *
 * <p>Counter 0's OUT drives IRQ 0 of the 8259A pair: when it rises (mode 2 and 3 periods, the mode 0 terminal count)
 * IRQ 0 gets an edge. The device asks the vCPU for an exit at the TSC of the next edge ({@link VCpu#setExitDeadline});
 * the VMX_PREEMPTION_TIMER_EXPIRED exit that brings is passed on to the time-slice handler after the timer has caught
 * up. Edges that pass while the guest cannot be interrupted merge into one request, as on the hardware. Ranking 90:
 * after the local APIC (100), before the preemption-timer handler (0).
 */
@Component(service = VmExitHandler.class, configurationPid = GuestTime.PID,
        property = {VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION",
                VmExitHandler.EXIT_REASON + "=VMX_PREEMPTION_TIMER_EXPIRED", "service.ranking:Integer=90"})
public final class PitDevice implements VmExitHandler {
    static final int PORT_B = 0x61;
    static final int IRQ = 0;

    /** One vCPU's timer and the tick up to which its IRQ 0 edges have been delivered. */
    static final class State {
        final Pit8254 pit = new Pit8254();
        long delivered;
    }

    private volatile GuestTime time = new GuestTime(GuestTime.DEFAULT_TSC_HZ);

    public PitDevice() {
    }

    @Activate
    @Modified
    void activate(Map<String, ?> properties) {
        time = GuestTime.of(properties);
    }

    static boolean serves(int port) {
        return (port >= Pit8254.COUNTER0 && port <= Pit8254.CONTROL) || port == PORT_B;
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        boolean io = exit.reason() == ExitReason.IO_INSTRUCTION;
        if (io && !serves(IoQualification.port(exit.qualification()))) {
            return ExitAction.PASS;
        }
        IoQualification q = io ? IoQualification.decode(exit.qualification()) : null;
        if (io && q.string()) {
            return ExitAction.PASS;
        }
        State state = vcpu.attachment(State.class, State::new);
        GuestTime time = this.time;
        long now = time.ticks(vcpu.guestTsc(), Pit8254.CLOCK_HZ);
        catchUp(vcpu, state, now);
        if (!io) {
            rearm(vcpu, state, time, now);
            return ExitAction.PASS; // the timer has caught up; the time slice is the preemption-timer handler's
        }
        if (q.in()) {
            long value = 0;
            for (int i = 0; i < q.size(); i++) {
                value |= (long) read(state.pit, q.port() + i, now) << (8 * i);
            }
            PortIo.completeIn(vcpu, q, value);
        } else {
            long data = PortIo.outData(vcpu, q);
            for (int i = 0; i < q.size(); i++) {
                write(state.pit, q.port() + i, (int) (data >>> (8 * i)) & 0xFF, now);
            }
            rearm(vcpu, state, time, now);
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    private static int read(Pit8254 pit, int port, long now) {
        if (port == PORT_B) {
            return pit.readPortB(now);
        }
        if (port >= Pit8254.COUNTER0 && port <= Pit8254.COUNTER2) {
            return pit.read(port, now);
        }
        return 0xFF; // the control word register cannot be read (data sheet), nor can bytes past the timer
    }

    private static void write(Pit8254 pit, int port, int value, long now) {
        if (port == PORT_B) {
            pit.writePortB(value, now);
        } else if (port >= Pit8254.COUNTER0 && port <= Pit8254.CONTROL) {
            pit.write(port, value, now);
        }
    }

    /** IRQ 0 gets an edge if counter 0's OUT rose since the last look. */
    private static void catchUp(VCpu vcpu, State state, long now) {
        if (state.pit.nextOut0RisingEdge(state.delivered) <= now) {
            PicPorts.of(vcpu).pulseIrq(IRQ);
        }
        state.delivered = now;
    }

    /** An exit at the TSC of counter 0's next rising edge, or none. */
    private static void rearm(VCpu vcpu, State state, GuestTime time, long now) {
        long edge = state.pit.nextOut0RisingEdge(now);
        if (edge == Long.MAX_VALUE) {
            vcpu.clearExitDeadline(State.class);
        } else {
            vcpu.setExitDeadline(State.class, time.tscAt(edge, Pit8254.CLOCK_HZ));
        }
    }
}
