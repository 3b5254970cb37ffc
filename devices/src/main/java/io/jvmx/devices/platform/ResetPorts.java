package io.jvmx.devices.platform;

import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import org.osgi.service.component.annotations.Component;

/**
 * The PC's ways of resetting the machine, which end the run (jvmx has no firmware to restart; QEMU's
 * {@code -no-reboot} does the same) with exit code 0 and a reason that names the way:
 * <ul>
 *   <li>port 64H, command FEH: the keyboard controller pulses the reset line (IBM PC/AT Technical Reference, 8042
 *       "pulse output port"); other writes and all reads of 64H are not this device's (there is no 8042 here);</li>
 *   <li>port 0CF9H, the reset control register (Intel 82371AB PIIX4 data sheet, RC): bit 1 selects a hard reset,
 *       setting bit 2 (RST_CPU) resets; it reads back bits 3:1 as written;</li>
 *   <li>port 92H, system control port A (PIIX4 PORT92): setting bit 0 (fast INIT) resets; bit 1 (fast A20) reads 1
 *       and stays 1, as the processor here never masks A20.</li>
 * </ul>
 * Byte accesses only; others are passed on.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION")
public final class ResetPorts implements VmExitHandler {
    static final int KEYBOARD_COMMAND = 0x64, RESET_CONTROL = 0xCF9, PORT_A = 0x92;
    static final int PULSE_RESET = 0xFE, RST_CPU = 0x04, FAST_INIT = 0x01, FAST_A20 = 0x02;

    static final class State {
        int resetControl;
        int portA = FAST_A20;
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        int port = IoQualification.port(exit.qualification());
        if (port != KEYBOARD_COMMAND && port != RESET_CONTROL && port != PORT_A) {
            return ExitAction.PASS;
        }
        IoQualification q = IoQualification.decode(exit.qualification());
        if (q.string() || q.size() != 1) {
            return ExitAction.PASS;
        }
        int value = (int) PortIo.outData(vcpu, q);
        if (port == KEYBOARD_COMMAND) {
            if (q.in() || value != PULSE_RESET) {
                return ExitAction.PASS;
            }
            return reset(vcpu, exit, "wrote FEH to the keyboard controller (port 64H): pulse reset");
        }
        State state = vcpu.attachment(State.class, State::new);
        if (q.in()) {
            PortIo.completeIn(vcpu, q, port == RESET_CONTROL ? state.resetControl : state.portA);
        } else if (port == RESET_CONTROL) {
            boolean rising = (value & RST_CPU) != 0 && (state.resetControl & RST_CPU) == 0;
            state.resetControl = value & 0x0E;
            if (rising) {
                return reset(vcpu, exit, String.format("set RST_CPU in the reset control register (port 0CF9H, "
                        + "%s reset)", (value & 0x02) != 0 ? "hard" : "soft"));
            }
        } else {
            boolean rising = (value & FAST_INIT) != 0 && (state.portA & FAST_INIT) == 0;
            state.portA = (value & ~FAST_A20 & 0xFF) | FAST_A20;
            if (rising) {
                return reset(vcpu, exit, "set fast INIT in system control port A (port 92H)");
            }
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    private static ExitAction reset(VCpu vcpu, VmExitInfo exit, String how) {
        vcpu.advanceRip(exit.instructionLength());
        vcpu.terminate(0, "the guest reset the machine: it " + how);
        return ExitAction.HANDLED;
    }
}
