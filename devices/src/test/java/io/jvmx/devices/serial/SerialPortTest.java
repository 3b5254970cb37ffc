package io.jvmx.devices.serial;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * The 16550 UART (register map of the PC16550D data sheet) behind IN/OUT/OUTSB exits: qualification SDM Vol. 3C 28.2.1
 * Table 28-5, OUTS instruction information Table 28-8 and guest-linear address 28.2.5, IN/OUT/OUTS per SDM Vol. 2.
 */
public class SerialPortTest {

    private static final int COM1 = 0x3F8;
    private final SerialPort device = new SerialPort();

    private ExitAction out(FakeVCpu v, int port, int size, long rax) throws Exception {
        v.writeGpr(GeneralRegisters.RAX, rax);
        long q = new IoQualification(size, false, false, false, false, port).encode();
        return device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 1)); // OUT DX, AL: EE
    }

    private long in(FakeVCpu v, int port, int size) throws Exception {
        long q = new IoQualification(size, true, false, false, false, port).encode();
        assertEquals(ExitAction.HANDLED, device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 1)));
        return v.readGpr(GeneralRegisters.RAX) & (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1);
    }

    /** A THR write prints the byte on the vCPU's console; RIP moves past the OUT (SDM 28.2.5). */
    @Test
    public void thrWritePrintsOnConsole() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, out(v, COM1, 1, 'H'));
        out(v, COM1, 1, 0xFFFF_FF00L | 'i'); // only AL is sent
        assertEquals("Hi", v.consoleText());
        assertEquals(rip + 2, v.rip());
    }

    /** The console is flushed at the end of each line. */
    @Test
    public void consoleIsFlushedOnNewline() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1, 1, 'a');
        assertEquals(0, v.consoleFlushes());
        out(v, COM1, 1, '\n');
        assertEquals(1, v.consoleFlushes());
    }

    /** LSR reads 0x60 (THRE|TEMT): the transmitter is always ready, no data received (DR = 0). */
    @Test
    public void lsrReads0x60() throws Exception {
        assertEquals(0x60, in(new FakeVCpu(), COM1 + 5, 1));
    }

    /** RBR reads 0 while LSR.DR = 0; IN AL keeps the rest of RAX (SDM Vol. 2A IN). */
    @Test
    public void rbrReadsZeroAndInKeepsUpperRax() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RAX, 0x1234_5678_9ABC_DEF0L);
        in(v, COM1, 1);
        assertEquals(0x1234_5678_9ABC_DE00L, v.readGpr(GeneralRegisters.RAX));
    }

    /** IER (bits 3:0), LCR, MCR (bits 4:0) and SCR read back what was written. */
    @Test
    public void registersReadBack() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 1, 1, 0xFF);
        out(v, COM1 + 3, 1, 0x03);
        out(v, COM1 + 4, 1, 0xEB);
        out(v, COM1 + 7, 1, 0x5A);
        assertEquals(0x0F, in(v, COM1 + 1, 1));
        assertEquals(0x03, in(v, COM1 + 3, 1));
        assertEquals(0x0B, in(v, COM1 + 4, 1));
        assertEquals(0x5A, in(v, COM1 + 7, 1));
    }

    /** LCR.DLAB = 1 maps offsets 0 and 1 to the divisor latch; a write there prints nothing. */
    @Test
    public void dlabSelectsDivisorLatch() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 1, 1, 0x05); // IER
        out(v, COM1 + 3, 1, 0x80); // DLAB
        out(v, COM1, 1, 0x01);     // DLL: 115200 baud
        out(v, COM1 + 1, 1, 0x00); // DLM
        assertEquals(0x01, in(v, COM1, 1));
        assertEquals(0x00, in(v, COM1 + 1, 1));
        out(v, COM1 + 3, 1, 0x03); // DLAB off, 8N1
        assertEquals("IER kept apart from DLM", 0x05, in(v, COM1 + 1, 1));
        assertEquals("", v.consoleText());
    }

    /** IIR says "no interrupt pending" (bit 0), with bits 7:6 set once FCR enabled the FIFOs. */
    @Test
    public void iirReportsNoInterruptAndFifoState() throws Exception {
        FakeVCpu v = new FakeVCpu();
        assertEquals(0x01, in(v, COM1 + 2, 1));
        out(v, COM1 + 2, 1, 0x07);
        assertEquals(0xC1, in(v, COM1 + 2, 1));
    }

    /** Loopback (MCR bit 4): transmitted bytes come back through RBR with LSR.DR; MSR mirrors the MCR outputs. */
    @Test
    public void loopbackReturnsTransmittedBytes() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 4, 1, 0x1F);
        assertEquals(0xF0, in(v, COM1 + 6, 1));
        out(v, COM1, 1, 0xA5);
        assertEquals(0x61, in(v, COM1 + 5, 1));
        assertEquals(0xA5, in(v, COM1, 1));
        assertEquals(0x60, in(v, COM1 + 5, 1));
        assertEquals("", v.consoleText());
        out(v, COM1 + 4, 1, 0x00);
        assertEquals("leaving loopback, RI fell: TERI (MSR bit 2) until MSR is read", 0xB4, in(v, COM1 + 6, 1));
        assertEquals(0xB0, in(v, COM1 + 6, 1));
    }

    /** Modem-status deltas in loopback (PC16550D MSR bits 3:0): DCTS follows RTS changes, DDCD follows OUT2. */
    @Test
    public void loopbackModemDeltas() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 4, 1, 0x10);
        in(v, COM1 + 6, 1);
        out(v, COM1 + 4, 1, 0x12); // RTS: CTS rises
        assertEquals(0x11, in(v, COM1 + 6, 1));
        out(v, COM1 + 4, 1, 0x1A); // OUT2: DCD rises
        assertEquals(0x98, in(v, COM1 + 6, 1));
        assertEquals(0x90, in(v, COM1 + 6, 1));
    }

    /**
     * The THRE interrupt (PC16550D Table IV): set by enabling IER bit 1 while THR is empty and after each byte sent,
     * named by IIR (ID 001B, bits 3:0 = 0010B), cleared by reading IIR or writing THR; the UART's INTR reaches IRQ 4
     * only through OUT2 (MCR bit 3), as the PC wires it.
     */
    @Test
    public void thrEmptyInterruptReachesIrq4ThroughOut2() throws Exception {
        FakeVCpu v = new FakeVCpu();
        io.jvmx.devices.pic.DualPic pic = io.jvmx.devices.pic.PicPorts.of(v);
        pic.write(0x21, 0x00); // unmask all: IRQ 4 is vector 08H + 4
        out(v, COM1 + 1, 1, 0x02); // IER: THRE
        assertEquals("THRE named in IIR", 0x02, in(v, COM1 + 2, 1));
        assertEquals("reading IIR cleared it", 0x01, in(v, COM1 + 2, 1));
        assertEquals("OUT2 is low: no interrupt request", -1, pic.pendingInterrupt());
        out(v, COM1 + 4, 1, 0x08); // OUT2
        out(v, COM1, 1, 'x');      // the byte leaves at once: THR empty again
        assertEquals(0x0C, pic.pendingInterrupt());
        assertEquals(0x0C, pic.acknowledgeInterrupt());
        assertEquals(0x02, in(v, COM1 + 2, 1));
        out(v, COM1 + 1, 1, 0x00);
        out(v, COM1 + 1, 1, 0x02); // enabling it again raises it again (Linux's THRE test)
        assertEquals(0x02, in(v, COM1 + 2, 1));
        assertEquals("x", v.consoleText());
    }

    /** Received data (loopback) outranks THRE; line status (overrun) outranks both (Table IV priorities). */
    @Test
    public void interruptPriorities() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 4, 1, 0x10); // loopback
        out(v, COM1 + 1, 1, 0x07); // IER: received data, THRE, line status
        assertEquals(0x02, in(v, COM1 + 2, 1));
        out(v, COM1, 1, 'a');
        assertEquals(0x04, in(v, COM1 + 2, 1));
        for (int i = 0; i < 16; i++) {
            out(v, COM1, 1, 'b');
        }
        assertEquals(0x06, in(v, COM1 + 2, 1));
        in(v, COM1 + 5, 1); // reading LSR clears OE
        assertEquals(0x04, in(v, COM1 + 2, 1));
    }

    /** Loopback overrun: a 17th byte is lost and sets LSR.OE once (cleared by reading LSR). */
    @Test
    public void loopbackOverrunSetsOe() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 4, 1, 0x10);
        for (int i = 0; i < 17; i++) {
            out(v, COM1, 1, i);
        }
        assertEquals(0x63, in(v, COM1 + 5, 1));
        assertEquals(0x61, in(v, COM1 + 5, 1));
    }

    /** A word IN reaches consecutive registers, lowest port in the low byte (MCR at +4, LSR at +5). */
    @Test
    public void wordAccessSpansConsecutiveRegisters() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 4, 1, 0x03);
        assertEquals(0x6003, in(v, COM1 + 4, 2));
        assertEquals("past the UART: all ones", 0xFF5A, in(withScratch(0x5A), COM1 + 7, 2));
    }

    private FakeVCpu withScratch(int value) throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, COM1 + 7, 1, value);
        return v;
    }

    /** Each vCPU has its own registers. */
    @Test
    public void registersArePerVcpu() throws Exception {
        FakeVCpu a = new FakeVCpu(0);
        FakeVCpu b = new FakeVCpu(1);
        out(a, COM1 + 7, 1, 0x11);
        out(b, COM1 + 7, 1, 0x22);
        assertEquals(0x11, in(a, COM1 + 7, 1));
        assertEquals(0x22, in(b, COM1 + 7, 1));
    }

    /** Ports outside 0x3F8-0x3FF: PASS, RIP unchanged. */
    @Test
    public void otherPortsPass() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.PASS, out(v, 0x3F7, 1, 'x'));
        assertEquals(ExitAction.PASS, out(v, 0x400, 1, 'x'));
        assertEquals(ExitAction.PASS, out(v, 0x2F8, 1, 'x'));
        assertEquals(rip, v.rip());
        assertEquals("", v.consoleText());
    }

    /** The base port is the component property serial.port (e.g. COM2 at 0x2F8, as "0x2F8" or an Integer). */
    @Test
    public void basePortIsConfigurable() throws Exception {
        device.activate(Map.of(SerialPort.PORT, "0x2F8"));
        FakeVCpu v = new FakeVCpu();
        assertEquals(ExitAction.HANDLED, out(v, 0x2F8, 1, 'z'));
        assertEquals(ExitAction.PASS, out(v, COM1, 1, 'x'));
        assertEquals("z", v.consoleText());
        device.activate(Map.of(SerialPort.PORT, 0x3E8));
        assertEquals(0x3E8, device.base());
    }

    /** A bad serial.port fails activation with a message naming the property. */
    @Test
    public void badBasePortFailsActivationClearly() {
        IllegalArgumentException notNumber = assertThrows(IllegalArgumentException.class,
                () -> device.activate(Map.of(SerialPort.PORT, "com1")));
        assertTrue(notNumber.getMessage(), notNumber.getMessage().startsWith("serial.port must be a port number"));
        IllegalArgumentException tooHigh = assertThrows(IllegalArgumentException.class,
                () -> device.activate(Map.of(SerialPort.PORT, 0xFFFC)));
        assertTrue(tooHigh.getMessage(), tooHigh.getMessage().contains("0xfffc"));
    }

    // ---- OUTSB ----

    /** Real-mode REP OUTSB (F3 6E: 2 bytes): DS:SI bytes, CX times; SI advances, CX ends at 0 (SDM Vol. 2B OUTS, REP). */
    @Test
    public void repOutsbPrintsGuestMemoryInRealMode() throws Exception {
        FakeVCpu v = new FakeVCpu();
        byte[] text = "hello\n".getBytes(StandardCharsets.US_ASCII);
        v.guestMemory().write(0x1_2345, text, 0, text.length); // DS = 0x1000, SI = 0x2345
        v.writeGpr(GeneralRegisters.RSI, 0xAAAA_0000_0000_2345L);
        v.writeGpr(GeneralRegisters.RCX, 0xBBBB_0000_0000_0000L | text.length);
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, outsb(v, true, 0x1_2345, 0, 2));
        assertEquals("hello\n", v.consoleText());
        assertEquals(0xAAAA_0000_0000_2345L + text.length, v.readGpr(GeneralRegisters.RSI));
        assertEquals(0xBBBB_0000_0000_0000L, v.readGpr(GeneralRegisters.RCX));
        assertEquals(rip + 2, v.rip());
    }

    /** With RFLAGS.DF = 1 OUTSB walks down; a 16-bit SI wraps within the segment (SDM Vol. 1 3.3.7). */
    @Test
    public void outsbWithDirectionFlagWalksDownAndWraps() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.guestMemory().write8(0x1_0000, 'a');      // DS:0000
        v.guestMemory().write8(0x1_FFFF, 'b');      // DS:FFFF
        v.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.DF);
        v.writeGpr(GeneralRegisters.RSI, 0);
        v.writeGpr(GeneralRegisters.RCX, 2);
        outsb(v, true, 0x1_0000, 0, 2);
        assertEquals("ab", v.consoleText());
        assertEquals(0xFFFE, v.readGpr(GeneralRegisters.RSI));
    }

    /** A single OUTSB (no REP) sends one byte and leaves RCX alone. */
    @Test
    public void singleOutsbSendsOneByte() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.guestMemory().write8(0x500, 'Q');
        v.writeGpr(GeneralRegisters.RSI, 0x500);
        v.writeGpr(GeneralRegisters.RCX, 99);
        outsb(v, false, 0x500, 1, 1); // 32-bit address size
        assertEquals("Q", v.consoleText());
        assertEquals(0x501, v.readGpr(GeneralRegisters.RSI));
        assertEquals(99, v.readGpr(GeneralRegisters.RCX));
    }

    /** With paging on the linear address needs a page walk: note on the console, PASS, nothing else changes. */
    @Test
    public void outsbWithPagingPassesWithNote() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.setGuestCr(0, Cr0.PE | Cr0.PG | Cr0.ET);
        v.writeGpr(GeneralRegisters.RSI, 0x500);
        long rip = v.rip();
        assertEquals(ExitAction.PASS, outsb(v, false, 0x500, 1, 1));
        assertTrue(v.consoleText(), v.consoleText().startsWith("serial 0x3f8: OUTSB with paging enabled is not supported"));
        assertEquals(0x500, v.readGpr(GeneralRegisters.RSI));
        assertEquals(rip, v.rip());
    }

    /** INSB is not supported: note, PASS. */
    @Test
    public void insPassesWithNote() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long q = new IoQualification(1, true, true, false, false, COM1).encode();
        assertEquals(ExitAction.PASS, device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 1)));
        assertTrue(v.consoleText(), v.consoleText().contains("INS is not supported"));
    }

    /** OUTSB from outside guest RAM: note, PASS, nothing printed. */
    @Test
    public void outsbOutsideRamPassesWithNote() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RSI, 0);
        v.writeGpr(GeneralRegisters.RCX, 4);
        assertEquals(ExitAction.PASS, outsb(v, true, 0x20_0000, 1, 2)); // the fake has 1 MiB
        assertTrue(v.consoleText(), v.consoleText().contains("OUTSB source is outside guest RAM"));
    }

    /** OUTSB exit: the processor reports the linear address and the address size (bits 9:7, Table 28-8). */
    private ExitAction outsb(FakeVCpu v, boolean rep, long linear, int addressSize, int length) throws Exception {
        long q = new IoQualification(1, false, true, rep, false, COM1).encode();
        v.writeGpr(GeneralRegisters.RDX, COM1);
        var exit = v.exit(ExitReason.IO_INSTRUCTION, q, length);
        v.setExitField(VmcsField.GUEST_LINEAR_ADDRESS, linear);
        v.setExitField(VmcsField.VM_EXIT_INSTRUCTION_INFORMATION, (long) addressSize << 7 | 3L << 15);
        return device.handle(v, exit);
    }
}
