package io.jvmx.devices.pci;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

/**
 * PCI configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2) on a machine without PCI devices:
 * CONFIG_ADDRESS at 0CF8H (a 32-bit register: enable bit 31, bus 23:16, device 15:11, function 10:8, register 7:2;
 * bits 30:24 and 1:0 read as 0), CONFIG_DATA at 0CFCH-0CFFH. No function answers, so every configuration read
 * returns all ones (the specification's "master abort": vendor ID FFFFH means "no device") and writes go nowhere.
 * Only a doubleword access to 0CF8H is CONFIG_ADDRESS; byte and word accesses to 0CF8H-0CFBH are ordinary I/O
 * (0CF9H is the reset control register, {@link io.jvmx.devices.platform.ResetPorts}) and are passed on.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION")
public final class PciConfigPorts implements VmExitHandler {
    static final int CONFIG_ADDRESS = 0xCF8, CONFIG_DATA = 0xCFC;
    static final int ADDRESS_WRITABLE = 0x80FF_FFFC;

    /** One vCPU's CONFIG_ADDRESS. */
    static final class State {
        int address;
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        int port = IoQualification.port(exit.qualification());
        if (port < CONFIG_ADDRESS || port > CONFIG_DATA + 3) {
            return ExitAction.PASS;
        }
        IoQualification q = IoQualification.decode(exit.qualification());
        if (q.string()) {
            return ExitAction.PASS;
        }
        if (port == CONFIG_ADDRESS && q.size() == 4) {
            State state = vcpu.attachment(State.class, State::new);
            if (q.in()) {
                PortIo.completeIn(vcpu, q, state.address & 0xFFFF_FFFFL);
            } else {
                state.address = (int) PortIo.outData(vcpu, q) & ADDRESS_WRITABLE;
            }
        } else if (port >= CONFIG_DATA && port + q.size() <= CONFIG_DATA + 4) {
            if (q.in()) {
                PortIo.completeIn(vcpu, q, PortIo.FLOATING_BUS); // no device: all ones, enabled or not
            }
        } else {
            return ExitAction.PASS;
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }
}
