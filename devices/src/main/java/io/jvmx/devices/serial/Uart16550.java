package io.jvmx.devices.serial;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * The registers of one 16550 UART (National Semiconductor PC16550D data sheet, register offsets 0-7 from the base
 * port), for one vCPU. Transmit is instantaneous: THR is always empty (LSR = THRE|TEMT), each byte goes to the console.
 * Nothing is ever received from outside; in loopback mode (MCR bit 4) transmitted bytes come back through RBR (a
 * 16-byte FIFO; a byte that finds it full is lost and sets LSR.OE) and MSR mirrors the MCR outputs, with its delta
 * bits.
 *
 * <p>Interrupts (data sheet Table IV, "Interrupt Control Functions"), in priority order: receiver line status (IER
 * bit 2; LSR.OE), received data available (bit 0; LSR.DR), transmitter holding register empty (bit 1) and modem
 * status (bit 3; MSR bits 3:0). IIR names the highest. The THRE interrupt is set when THR empties (at once, here, after
 * each byte) and when IER bit 1 is set while THR is empty; reading IIR while it is the one named, or writing THR,
 * clears it. {@link #interruptLine} is the INTR output as the PC wires it: gated by MCR OUT2 (bit 3), and low in
 * loopback mode, where OUT2 is looped back to MSR instead (PC16550D, MCR bit 4).
 */
final class Uart16550 {
    static final int RBR_THR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

    static final int LCR_DLAB = 0x80;
    static final int MCR_LOOP = 0x10;
    static final int LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
    static final int IIR_NO_INTERRUPT = 0x01, IIR_FIFOS_ENABLED = 0xC0;
    static final int IIR_LINE_STATUS = 0x06, IIR_RECEIVED_DATA = 0x04, IIR_THR_EMPTY = 0x02, IIR_MODEM_STATUS = 0x00;
    static final int IER_RECEIVED_DATA = 0x01, IER_THR_EMPTY = 0x02, IER_LINE_STATUS = 0x04, IER_MODEM_STATUS = 0x08;
    static final int MCR_OUT2 = 0x08;
    /** MSR outside loopback: carrier detected, data set ready, clear to send — a terminal is attached. */
    static final int MSR_CONNECTED = 0xB0;
    private static final int FIFO_SIZE = 16;

    private int ier, lcr, mcr, scr, dll = 0x0C, dlm; // divisor 12: 9600 baud, the BIOS default
    private boolean fifosEnabled;
    private boolean overrun;
    /** The THRE interrupt is pending (data sheet: cleared by an IIR read naming it or a THR write). */
    private boolean thrEmptyPending;
    /** MSR bits 3:0: DCTS, DDSR, TERI, DDCD, cleared by reading MSR. */
    private int msrDeltas;
    private final ArrayDeque<Integer> receive = new ArrayDeque<>(FIFO_SIZE);

    int read(int offset) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch (offset) {
            case RBR_THR_DLL -> dlab ? dll : receive.isEmpty() ? 0 : receive.poll();
            case IER_DLM -> dlab ? dlm : ier;
            case IIR_FCR -> {
                int id = interruptId();
                if (id == IIR_THR_EMPTY) {
                    thrEmptyPending = false; // "reading the IIR (if source of interrupt)"
                }
                yield (fifosEnabled ? IIR_FIFOS_ENABLED : 0) | id;
            }
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> {
                int lsr = LSR_THRE | LSR_TEMT | (receive.isEmpty() ? 0 : LSR_DR) | (overrun ? LSR_OE : 0);
                overrun = false; // OE is cleared by reading LSR
                yield lsr;
            }
            case MSR -> {
                int msr = ((mcr & MCR_LOOP) != 0 ? loopbackModemStatus() : MSR_CONNECTED) | msrDeltas;
                msrDeltas = 0;
                yield msr;
            }
            case SCR -> scr;
            default -> throw new IllegalArgumentException("UART register offset " + offset + " is not in 0..7");
        };
    }

    void write(int offset, int value, OutputStream console) throws IOException {
        int v = value & 0xFF;
        boolean dlab = (lcr & LCR_DLAB) != 0;
        switch (offset) {
            case RBR_THR_DLL -> {
                if (dlab) {
                    dll = v;
                } else {
                    transmit(v, console);
                }
            }
            case IER_DLM -> {
                if (dlab) {
                    dlm = v;
                } else {
                    if ((v & IER_THR_EMPTY) != 0 && (ier & IER_THR_EMPTY) == 0) {
                        thrEmptyPending = true; // enabling it while THR is empty (it always is) raises it
                    }
                    ier = v & 0x0F; // bits 7:4 are always 0
                }
            }
            case IIR_FCR -> {
                fifosEnabled = (v & 0x01) != 0;
                if ((v & 0x02) != 0) {
                    receive.clear(); // "receiver FIFO reset"
                }
            }
            case LCR -> lcr = v;
            case MCR -> {
                int before = (mcr & MCR_LOOP) != 0 ? loopbackModemStatus() : MSR_CONNECTED;
                mcr = v & 0x1F; // bits 7:5 are always 0
                int after = (mcr & MCR_LOOP) != 0 ? loopbackModemStatus() : MSR_CONNECTED;
                msrDeltas |= modemDeltas(before, after);
            }
            case LSR, MSR -> {
                // LSR is meant for factory testing and MSR is read-only: writes have no effect
            }
            case SCR -> scr = v;
            default -> throw new IllegalArgumentException("UART register offset " + offset + " is not in 0..7");
        }
    }

    private void transmit(int b, OutputStream console) throws IOException {
        thrEmptyPending = true; // the byte leaves at once: THR is empty again
        if ((mcr & MCR_LOOP) != 0) {
            if (receive.size() == FIFO_SIZE) {
                overrun = true;
            } else {
                receive.add(b);
            }
            return;
        }
        console.write(b);
        if (b == '\n') {
            console.flush();
        }
    }

    /** The IIR identification bits 3:0 of the highest-priority pending interrupt (data sheet Table IV). */
    int interruptId() {
        if ((ier & IER_LINE_STATUS) != 0 && overrun) {
            return IIR_LINE_STATUS;
        }
        if ((ier & IER_RECEIVED_DATA) != 0 && !receive.isEmpty()) {
            return IIR_RECEIVED_DATA;
        }
        if ((ier & IER_THR_EMPTY) != 0 && thrEmptyPending) {
            return IIR_THR_EMPTY;
        }
        if ((ier & IER_MODEM_STATUS) != 0 && msrDeltas != 0) {
            return IIR_MODEM_STATUS;
        }
        return IIR_NO_INTERRUPT;
    }

    /** The UART's interrupt request as it reaches the PC's interrupt controller: INTR gated by OUT2, not in loopback. */
    boolean interruptLine() {
        return interruptId() != IIR_NO_INTERRUPT && (mcr & (MCR_OUT2 | MCR_LOOP)) == MCR_OUT2;
    }

    /** MSR delta bits for a change of bits 7:4: DCTS, DDSR, DDCD on any change; TERI when RI goes from 1 to 0. */
    private static int modemDeltas(int before, int after) {
        int changed = before ^ after;
        return ((changed & 0x10) != 0 ? 0x01 : 0) | ((changed & 0x20) != 0 ? 0x02 : 0)
                | ((before & 0x40) != 0 && (after & 0x40) == 0 ? 0x04 : 0) | ((changed & 0x80) != 0 ? 0x08 : 0);
    }

    /** Loopback: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2 (PC16550D, MCR bit 4). */
    private int loopbackModemStatus() {
        return ((mcr & 0x02) != 0 ? 0x10 : 0) | ((mcr & 0x01) != 0 ? 0x20 : 0) | ((mcr & 0x04) != 0 ? 0x40 : 0)
                | ((mcr & 0x08) != 0 ? 0x80 : 0);
    }
}
