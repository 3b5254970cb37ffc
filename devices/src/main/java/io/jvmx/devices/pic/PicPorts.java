package io.jvmx.devices.pic;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.InterruptLine;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

/**
 * The 8259A pair's ports (20H, 21H, A0H, A1H) and the ELCR (4D0H, 4D1H) as IO_INSTRUCTION exits: one {@link DualPic}
 * per vCPU ({@link #of}), which drives the vCPU's INTR line. Byte accesses; a wider access reaches the following
 * ports as consecutive bytes, as on the ISA bus, and a byte that is not the pair's reads as all ones. String I/O and
 * other ports: PASS.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION")
public final class PicPorts implements VmExitHandler {

    /** This vCPU's 8259A pair, created at the first use and connected to the vCPU's INTR line. */
    public static DualPic of(VCpu vcpu) {
        DualPic pic = vcpu.attachment(DualPic.class, DualPic::new);
        if (!pic.connected) { // outside the attachment's creation: attachments are not created re-entrantly
            pic.connected = true;
            vcpu.attachment(InterruptLine.class, InterruptLine::new).connectDriver(vcpu, pic);
        }
        return pic;
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        if (!DualPic.serves(IoQualification.port(exit.qualification()))) {
            return ExitAction.PASS;
        }
        IoQualification q = IoQualification.decode(exit.qualification());
        if (q.string()) {
            return ExitAction.PASS;
        }
        DualPic pic = of(vcpu);
        if (q.in()) {
            long value = 0;
            for (int i = 0; i < q.size(); i++) {
                int port = q.port() + i;
                value |= (long) (DualPic.serves(port) ? pic.read(port) : 0xFF) << (8 * i);
            }
            PortIo.completeIn(vcpu, q, value);
        } else {
            long data = PortIo.outData(vcpu, q);
            for (int i = 0; i < q.size(); i++) {
                int port = q.port() + i;
                if (DualPic.serves(port)) {
                    pic.write(port, (int) (data >>> (8 * i)) & 0xFF);
                }
            }
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }
}
