package io.jvmx.devices.report;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

import java.io.IOException;

/**
 * The report port 0xE0: a guest records a value with a 32-bit OUT (narrower OUTs record AL or AX, zero-extended), and
 * this device logs it on the vCPU's console as "report: 0x%08x". Tests that want the values register a
 * higher-ranked IO_INSTRUCTION handler for the port. An IN reads all ones. Other ports: PASS.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION")
public final class ReportPort implements VmExitHandler {

    static final int PORT = 0xE0;

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
        } else {
            PortIo.consoleLine(vcpu, String.format("report: 0x%08x", PortIo.outData(vcpu, q)));
        }
        return ExitAction.HANDLED;
    }
}
