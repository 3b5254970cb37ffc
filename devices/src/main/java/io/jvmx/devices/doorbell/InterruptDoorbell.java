package io.jvmx.devices.doorbell;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

import java.io.IOException;

/**
 * The interrupt doorbell, port 0xF5: an OUT of byte v queues external interrupt vector v on the same vCPU
 * ({@link VCpu#queueEvent}); the vCPU injects it when the guest can take it, through the interrupt window (SDM Vol. 3C
 * 27.6). A wider OUT uses its low byte. Vectors 0-31 are the architecture's exceptions (SDM Vol. 3A 6.2): an external
 * interrupt there is refused — a console line says so and nothing is queued (the guest is not faulted: it is a demo
 * device, and the line tells the author). An IN reads all ones. Other ports: PASS.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION")
public final class InterruptDoorbell implements VmExitHandler {

    static final int PORT = 0xF5;
    static final int FIRST_INTERRUPT_VECTOR = 32;

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) throws IOException {
        if (IoQualification.port(exit.qualification()) != PORT) {
            return ExitAction.PASS;
        }
        IoQualification q = IoQualification.decode(exit.qualification());
        if (q.string()) {
            return ExitAction.PASS;
        }
        vcpu.advanceRip(exit.instructionLength());
        if (q.in()) {
            PortIo.completeIn(vcpu, q, PortIo.FLOATING_BUS);
            return ExitAction.HANDLED;
        }
        int vector = (int) (PortIo.outData(vcpu, q) & 0xFF);
        if (vector < FIRST_INTERRUPT_VECTOR) {
            PortIo.consoleLine(vcpu, String.format("doorbell 0xf5: vector %d refused: vectors 0-31 are exceptions, "
                    + "not interrupts", vector));
        } else {
            vcpu.queueEvent(vector, InterruptionType.EXTERNAL_INTERRUPT, -1);
        }
        return ExitAction.HANDLED;
    }
}
