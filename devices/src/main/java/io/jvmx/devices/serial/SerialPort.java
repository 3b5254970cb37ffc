package io.jvmx.devices.serial;

import io.jvmx.devices.pic.PicPorts;
import io.jvmx.devices.port.PortIo;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.memory.GuestPhysicalMemory;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * A 16550 UART at 8 ports from {@value #PORT} (default 0x3F8, COM1), one register set per vCPU: IN and OUT of 1, 2
 * or 4 bytes (a wider access reaches consecutive registers, as the byte lanes of an ISA bus; bytes past the UART read
 * as all ones and are dropped when written), and OUTSB / REP OUTSB (SDM Vol. 2B "OUTS"). Other ports: PASS.
 *
 * <p>OUTSB reads its bytes at the guest-linear address the exit reports (GUEST_LINEAR_ADDRESS, SDM Vol. 3C 28.2.5) and
 * the address size of the VM-exit instruction-information field (Table 28-8). With paging off (CR0.PG = 0) a linear
 * address is a guest-physical address; with paging on it would need a walk of the guest's page tables, which this
 * device does not do: it writes a note on the console and returns PASS, so the exit reaches the caller of run. INS,
 * OUTSW and OUTSD are not supported either (same note, PASS).
 *
 * <p>The UART's interrupt output ({@link Uart16550#interruptLine}) is IRQ {@value #DEFAULT_IRQ} of the vCPU's 8259A
 * pair ({@link PicPorts}; property {@value #IRQ}), updated after every access that may change it.
 */
@Component(service = VmExitHandler.class, configurationPid = "io.jvmx.devices.serial",
        property = {VmExitHandler.EXIT_REASON + "=IO_INSTRUCTION", SerialPort.PORT + ":Integer=1016",
                SerialPort.IRQ + ":Integer=4"})
public final class SerialPort implements VmExitHandler {

    /** Component property: the UART's base port (Integer, or a String such as "0x2F8"). */
    static final String PORT = "serial.port";
    /** Component property: the 8259A input the UART's interrupt output drives (0-15). */
    static final String IRQ = "serial.irq";
    static final int DEFAULT_IRQ = 4;
    static final int DEFAULT_BASE = 0x3F8;
    private static final int REGISTERS = 8;

    /** The UARTs of one vCPU, by base port (several instances of this component may serve different bases). */
    static final class Uarts {
        private final Map<Integer, Uart16550> byBase = new HashMap<>();
        /** The bases whose interrupt output is high (as last told to the interrupt controller). */
        private final java.util.Set<Integer> interrupting = new java.util.HashSet<>();

        Uart16550 at(int base) {
            return byBase.computeIfAbsent(base, b -> new Uart16550());
        }
    }

    private volatile int base = DEFAULT_BASE;
    private volatile int irq = DEFAULT_IRQ;

    public SerialPort() {
    }

    @Activate
    void activate(Map<String, ?> properties) {
        base = parseBase(properties.get(PORT));
        irq = parseIrq(properties.get(IRQ));
    }

    static int parseIrq(Object raw) {
        if (raw == null) {
            return DEFAULT_IRQ;
        }
        long value = decode(raw, IRQ + " must be an IRQ number 0-15");
        if (value < 0 || value > 15) {
            throw new IllegalArgumentException(IRQ + " must be an IRQ number 0-15, got " + value);
        }
        return (int) value;
    }

    /** A Number, or a String in decimal or 0x hex; otherwise {@code what} and the value in the exception. */
    private static long decode(Object raw, String what) {
        try {
            return raw instanceof Number n ? n.longValue() : Long.decode(raw.toString().trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(what + ", got \"" + raw + "\"");
        }
    }

    static int parseBase(Object raw) {
        if (raw == null) {
            return DEFAULT_BASE;
        }
        long value = decode(raw, PORT + " must be a port number such as 0x3F8");
        if (value < 0 || value > 0x10000 - REGISTERS) {
            throw new IllegalArgumentException(String.format(
                    "%s must leave room for 8 registers below 0x10000 (0..0xfff8), got %#x", PORT, value));
        }
        return (int) value;
    }

    int base() {
        return base;
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) throws IOException {
        int base = this.base;
        int port = IoQualification.port(exit.qualification());
        if (port < base || port >= base + REGISTERS) {
            return ExitAction.PASS;
        }
        IoQualification q = IoQualification.decode(exit.qualification());
        Uarts uarts = vcpu.attachment(Uarts.class, Uarts::new);
        Uart16550 uart = uarts.at(base);
        if (q.string()) {
            ExitAction action = outsb(vcpu, exit, q, uart, base);
            updateInterrupt(vcpu, uarts, uart, base);
            return action;
        }
        int first = q.port() - base;
        if (q.in()) {
            long value = 0;
            for (int i = 0; i < q.size(); i++) { // lowest port first: reads have side effects (RBR, LSR)
                value |= (long) (first + i < REGISTERS ? uart.read(first + i) : 0xFF) << (8 * i);
            }
            PortIo.completeIn(vcpu, q, value);
        } else {
            long data = PortIo.outData(vcpu, q);
            for (int i = 0; i < q.size() && first + i < REGISTERS; i++) {
                uart.write(first + i, (int) (data >>> (8 * i)), vcpu.console());
            }
        }
        updateInterrupt(vcpu, uarts, uart, base);
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    /** Tells the 8259A when the UART's interrupt output changed (the 8259A is created at the first change only). */
    private void updateInterrupt(VCpu vcpu, Uarts uarts, Uart16550 uart, int base) {
        boolean level = uart.interruptLine();
        if (level != uarts.interrupting.contains(base)) {
            if (level) {
                uarts.interrupting.add(base);
            } else {
                uarts.interrupting.remove(base);
            }
            PicPorts.of(vcpu).setIrq(irq, level);
        }
    }

    /** OUTSB and REP OUTSB with paging off (SDM Vol. 2B "OUTS", "REP"). */
    private ExitAction outsb(VCpu vcpu, VmExitInfo exit, IoQualification q, Uart16550 uart, int base)
            throws IOException {
        if (q.in() || q.size() != 1) {
            return note(vcpu, base, (q.in() ? "INS" : "OUTSW/OUTSD") + " is not supported");
        }
        if ((vcpu.guestCr(0) & Cr0.PG) != 0) {
            return note(vcpu, base, "OUTSB with paging enabled is not supported (the guest-linear address would "
                    + "need a walk of the guest page tables)");
        }
        int addressSize = (int) (vcpu.vmread(VmcsField.VM_EXIT_INSTRUCTION_INFORMATION) >>> 7) & 7;
        if (addressSize > 2) {
            return note(vcpu, base, "OUTSB exit with an invalid address size " + addressSize
                    + " in the VM-exit instruction-information field");
        }
        long addressMask = addressSize == 0 ? 0xFFFFL : addressSize == 1 ? 0xFFFF_FFFFL : -1L;
        long rcx = vcpu.readGpr(GeneralRegisters.RCX);
        long rsi = vcpu.readGpr(GeneralRegisters.RSI);
        long count = q.rep() ? rcx & addressMask : 1;
        GuestPhysicalMemory memory = vcpu.guestMemory();
        if (count > memory.size()) {
            return note(vcpu, base, "REP OUTSB of " + count + " bytes is more than guest RAM");
        }
        long delta = (vcpu.vmread(VmcsField.GUEST_RFLAGS) & Rflags.DF) != 0 ? -1 : 1;
        // the exit gives segment base + offset of the first byte; later bytes follow the offset, wrapping at the
        // address size (SDM Vol. 1 3.3.7, "address-size attribute")
        long segmentBase = vcpu.vmread(VmcsField.GUEST_LINEAR_ADDRESS) - (rsi & addressMask);
        byte[] bytes = new byte[(int) count];
        try {
            for (int i = 0; i < count; i++) {
                bytes[i] = (byte) memory.read8(segmentBase + ((rsi + i * delta) & addressMask));
            }
        } catch (IllegalArgumentException outsideRam) {
            return note(vcpu, base, "OUTSB source is outside guest RAM: " + outsideRam.getMessage());
        }
        int first = q.port() - base;
        for (byte b : bytes) {
            uart.write(first, b, vcpu.console());
        }
        vcpu.writeGpr(GeneralRegisters.RSI, withAddressSize(rsi, rsi + count * delta, addressMask));
        if (q.rep()) {
            vcpu.writeGpr(GeneralRegisters.RCX, withAddressSize(rcx, 0, addressMask));
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    /** A 16-bit update keeps bits 63:16; 32- and 64-bit updates write the whole register (zero-extended). */
    private static long withAddressSize(long old, long value, long addressMask) {
        return addressMask == 0xFFFFL ? (old & ~0xFFFFL) | (value & 0xFFFFL) : value & addressMask;
    }

    private static ExitAction note(VCpu vcpu, int base, String what) throws IOException {
        PortIo.consoleLine(vcpu, String.format("serial %#x: %s; the I/O exit goes back to the caller", base, what));
        return ExitAction.PASS;
    }
}
