package io.jvmx.devices.debugexit;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

/**
 * The debug-exit port 0xF4 (as QEMU's isa-debug-exit): an OUT of 1, 2 or 4 bytes ends the guest, with the value
 * written (AL, AX or EAX) as its exit code, through {@link VCpu#terminate}. RIP moves past the OUT first, so a dump
 * of the stopped vCPU shows where it ended. An IN reads all ones (nothing drives the port). Other ports: PASS.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION")
public final class DebugExitPort implements VmExitHandler {

    static final int PORT = 0xF4;

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        if (IoQualification.port(exit.qualification()) != PORT) {
            return ExitAction.PASS;
        }
        IoQualification q = IoQualification.decode(exit.qualification());
        if (q.string()) {
            return ExitAction.PASS; // OUTS/INS to this port are not part of the protocol: the caller sees them
        }
        vcpu.advanceRip(exit.instructionLength());
        if (q.in()) {
            PortIo.completeIn(vcpu, q, PortIo.FLOATING_BUS);
            return ExitAction.HANDLED;
        }
        long value = PortIo.outData(vcpu, q);
        vcpu.terminate((int) value, "guest wrote " + value + " to the debug-exit port 0xf4");
        return ExitAction.HANDLED;
    }
}
