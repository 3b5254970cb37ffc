package io.jvmx.devices.rtc;

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

import java.time.Instant;
import java.util.Map;

/**
 * The PC's real-time clock and CMOS RAM ({@link Mc146818}) at ports 70H (index; bit 7 is the NMI mask of the PC, kept
 * and otherwise without effect: nothing here raises an NMI) and 71H (data), one per vCPU. It starts from the host's
 * clock (UTC) when the guest first touches it and then runs at the guest's pace ({@link GuestTime}). Its interrupt
 * output (register C's IRQF) is IRQ 8 of the 8259A pair; while an enabled interrupt can come, the device asks for an
 * exit at its time. Ranking 80, before the preemption-timer handler, which it passes that exit on to.
 */
@Component(service = VmExitHandler.class, configurationPid = GuestTime.PID,
        property = {VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION",
                VmExitHandler.EXIT_REASON + "=VMX_PREEMPTION_TIMER_EXPIRED", "service.ranking:Integer=80"})
public final class RtcDevice implements VmExitHandler {
    static final int INDEX = 0x70, DATA = 0x71;
    static final int IRQ = 8;

    static final class State {
        Mc146818 rtc;
        int index;
        boolean irq;
    }

    private volatile GuestTime time = new GuestTime(GuestTime.DEFAULT_TSC_HZ);

    public RtcDevice() {
    }

    @Activate
    @Modified
    void activate(Map<String, ?> properties) {
        time = GuestTime.of(properties);
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        boolean io = exit.reason() == ExitReason.IO_INSTRUCTION;
        int ioPort = io ? IoQualification.port(exit.qualification()) : 0;
        if (io && (ioPort < INDEX || ioPort > DATA)) {
            return ExitAction.PASS;
        }
        IoQualification q = io ? IoQualification.decode(exit.qualification()) : null;
        if (io && q.string()) {
            return ExitAction.PASS;
        }
        State state = vcpu.attachment(State.class, State::new);
        GuestTime time = this.time;
        long now = time.ticks(vcpu.guestTsc(), Mc146818.TIME_BASE_HZ);
        if (state.rtc == null) {
            if (!io) {
                return ExitAction.PASS; // not started: nothing to catch up
            }
            Instant host = Instant.now();
            state.rtc = new Mc146818(host.getEpochSecond(), host.getNano(), now);
        }
        if (io) {
            if (q.in()) {
                long value = 0;
                for (int i = 0; i < q.size(); i++) {
                    int port = q.port() + i;
                    // the index register cannot be read back (PIIX4: port 70H is write-only)
                    int b = port == DATA ? state.rtc.read(state.index, now) : 0xFF;
                    value |= (long) b << (8 * i);
                }
                PortIo.completeIn(vcpu, q, value);
            } else {
                long data = PortIo.outData(vcpu, q);
                for (int i = 0; i < q.size(); i++) {
                    int port = q.port() + i;
                    int b = (int) (data >>> (8 * i)) & 0xFF;
                    if (port == INDEX) {
                        state.index = b; // bits 6:0 the register, bit 7 the NMI mask
                    } else if (port == DATA) {
                        state.rtc.write(state.index, b, now);
                    }
                }
            }
            vcpu.advanceRip(exit.instructionLength());
        }
        boolean level = state.rtc.interruptRequested(now);
        if (level != state.irq) {
            state.irq = level;
            PicPorts.of(vcpu).setIrq(IRQ, level);
        }
        long next = state.rtc.nextInterruptEvent(now);
        if (next == Long.MAX_VALUE || level) {
            vcpu.clearExitDeadline(State.class); // nothing to wait for, or IRQF waits for a read of register C
        } else {
            vcpu.setExitDeadline(State.class, time.tscAt(next, Mc146818.TIME_BASE_HZ));
        }
        return io ? ExitAction.HANDLED : ExitAction.PASS;
    }
}
