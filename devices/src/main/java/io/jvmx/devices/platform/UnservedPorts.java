package io.jvmx.devices.platform;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

import java.io.IOException;
import java.util.BitSet;

/**
 * The ISA bus where no device answers: the last handler of IO_INSTRUCTION (lowest ranking). An IN from a port nobody
 * serves reads all ones (the undriven data bus), an OUT goes nowhere, and the guest goes on, as on a PC, where
 * drivers probe for hardware that may not be there. The first access to each such port is said on the console, once
 * per port and vCPU, so that a missing device is visible. Port 80H, the POST-code port that Linux writes for its I/O
 * delays, is served silently (writes ignored, reads all ones). String I/O (INS, OUTS) to an unserved port is passed
 * on: completing it would need the guest's memory through its paging.
 */
@Component(service = VmExitHandler.class,
        property = {VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION", "service.ranking:Integer=" + Integer.MIN_VALUE})
public final class UnservedPorts implements VmExitHandler {
    static final int POST_CODE = 0x80;

    /** The ports of one vCPU already said. */
    static final class Said {
        final BitSet ports = new BitSet(0x10000);
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) throws IOException {
        IoQualification q = IoQualification.decode(exit.qualification());
        if (q.string()) {
            return ExitAction.PASS;
        }
        if (q.port() != POST_CODE) {
            Said said = vcpu.attachment(Said.class, Said::new);
            if (!said.ports.get(q.port())) {
                said.ports.set(q.port());
                PortIo.consoleLine(vcpu, String.format("[jvmx] no device at port %#x (%s of %d byte%s): reads are "
                        + "all ones, writes are ignored (said once per port)", q.port(), q.in() ? "IN" : "OUT",
                        q.size(), q.size() == 1 ? "" : "s"));
            }
        }
        if (q.in()) {
            PortIo.completeIn(vcpu, q, PortIo.FLOATING_BUS);
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }
}
