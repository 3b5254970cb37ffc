package io.jvmx.devices.serial;

import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;

/**
 * The registers of one 16550 UART (National Semiconductor PC16550D data sheet, register offsets 0-7 from the base
 * port), for one vCPU. Transmit is instantaneous: THR is always empty (LSR = THRE|TEMT), each byte goes to the console.
 * Nothing is ever received from outside; in loopback mode (MCR bit 4) transmitted bytes come back through RBR (a
 * 16-byte FIFO; a byte that finds it full is lost and sets LSR.OE) and MSR mirrors the MCR outputs. The UART raises no
 * interrupts (jvmx has no interrupt controller): IIR always reads "no interrupt pending" and guests poll LSR.
 */
final class Uart16550 {
    static final int RBR_THR_DLL = 0, IER_DLM = 1, IIR_FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7;

    static final int LCR_DLAB = 0x80;
    static final int MCR_LOOP = 0x10;
    static final int LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40;
    static final int IIR_NO_INTERRUPT = 0x01, IIR_FIFOS_ENABLED = 0xC0;
    /** MSR outside loopback: carrier detected, data set ready, clear to send — a terminal is attached. */
    static final int MSR_CONNECTED = 0xB0;
    private static final int FIFO_SIZE = 16;

    private int ier, lcr, mcr, scr, dll = 0x0C, dlm; // divisor 12: 9600 baud, the BIOS default
    private boolean fifosEnabled;
    private boolean overrun;
    private final ArrayDeque<Integer> receive = new ArrayDeque<>(FIFO_SIZE);

    int read(int offset) {
        boolean dlab = (lcr & LCR_DLAB) != 0;
        return switch (offset) {
            case RBR_THR_DLL -> dlab ? dll : receive.isEmpty() ? 0 : receive.poll();
            case IER_DLM -> dlab ? dlm : ier;
            case IIR_FCR -> (fifosEnabled ? IIR_FIFOS_ENABLED : 0) | IIR_NO_INTERRUPT;
            case LCR -> lcr;
            case MCR -> mcr;
            case LSR -> {
                int lsr = LSR_THRE | LSR_TEMT | (receive.isEmpty() ? 0 : LSR_DR) | (overrun ? LSR_OE : 0);
                overrun = false; // OE is cleared by reading LSR
                yield lsr;
            }
            case MSR -> (mcr & MCR_LOOP) != 0 ? loopbackModemStatus() : MSR_CONNECTED;
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
            case MCR -> mcr = v & 0x1F; // bits 7:5 are always 0
            case LSR, MSR -> {
                // LSR is meant for factory testing and MSR is read-only: writes have no effect
            }
            case SCR -> scr = v;
            default -> throw new IllegalArgumentException("UART register offset " + offset + " is not in 0..7");
        }
    }

    private void transmit(int b, OutputStream console) throws IOException {
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

    /** Loopback: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2 (PC16550D, MCR bit 4). */
    private int loopbackModemStatus() {
        return ((mcr & 0x02) != 0 ? 0x10 : 0) | ((mcr & 0x01) != 0 ? 0x20 : 0) | ((mcr & 0x04) != 0 ? 0x40 : 0)
                | ((mcr & 0x08) != 0 ? 0x80 : 0);
    }
}
