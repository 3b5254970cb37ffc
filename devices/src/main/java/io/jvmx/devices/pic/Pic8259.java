package io.jvmx.devices.pic;

/**
 * One 8259A programmable interrupt controller (Intel 8259A data sheet, order number 231468): the interrupt request,
 * in-service and mask registers (IRR, ISR, IMR), the initialization sequence ICW1-ICW4, the operation command words
 * OCW1-OCW3, fully nested and rotating priorities, specific and non-specific EOI, automatic EOI, special mask mode,
 * poll, and edge or level sensing (per chip with ICW1.LTIM, per input with the PIIX edge/level control register ELCR).
 *
 * <p>Requests: an input's rising edge sets its IRR bit in edge mode; in level mode the IRR bit follows the input.
 * The data sheet asks an edge-triggered request to stay high until the first INTA; the devices here change their
 * outputs at instants (a timer's OUT pulse, a UART's IIR read), so an edge stays latched in IRR until the interrupt is
 * acknowledged, as in QEMU's i8259.
 */
final class Pic8259 {
    /** The inputs whose ELCR bit is writable: PIIX/PIIX3 keep IRQ 0, 1, 2 (master) and 8, 13 (slave) edge-triggered. */
    private final int elcrWritable;

    int irr;
    int isr;
    int imr;
    /** Input levels, for edge detection and level sensing. */
    private int lines;
    private int elcr;
    /** ICW2: vector base, bits 7:3. */
    private int vectorBase;
    /** ICW3: cascade inputs (master) or identity (slave); kept for reads of the register state only. */
    private int icw3;
    private boolean levelTriggered; // ICW1.LTIM
    private boolean autoEoi;        // ICW4.AEOI
    private boolean rotateOnAutoEoi;
    private boolean specialMask;
    private boolean readIsr;        // OCW3 RR/RIS: which register a read of the command port returns
    private boolean poll;
    /** The input with the lowest priority; the highest is the next one (data sheet "Interrupt Priorities"). */
    private int lowestPriority = 7;
    /** 0 when initialized; 2, 3 or 4: the ICW the data port expects next. */
    private int initStep;
    private boolean icw4Needed;
    private boolean single;

    Pic8259(int elcrWritable) {
        this.elcrWritable = elcrWritable;
    }

    /** Initialized as a PC BIOS leaves it: 8086 mode, edge-triggered, the vector base given, all inputs masked. */
    void initializedAsBios(int base, int cascade) {
        vectorBase = base & 0xF8;
        icw3 = cascade;
        imr = 0xFF;
        initStep = 0;
    }

    // ---------------------------------------------------------------- inputs

    /** Input {@code irq} (0-7) goes to {@code level}. */
    void setInput(int irq, boolean level) {
        int mask = 1 << irq;
        if (isLevel(irq)) {
            irr = level ? irr | mask : irr & ~mask;
        } else if (level && (lines & mask) == 0) {
            irr |= mask; // rising edge
        }
        lines = level ? lines | mask : lines & ~mask;
    }

    private boolean isLevel(int irq) {
        return levelTriggered || (elcr & 1 << irq) != 0;
    }

    // ---------------------------------------------------------------- priority resolution

    /**
     * The input the chip would present now: the highest-priority IRR bit not masked, and of higher priority than every
     * input in service (in special mask mode, in-service inputs that are masked do not block, and an input does not
     * block the others), or -1.
     */
    int highestRequest() {
        int pending = irr & ~imr;
        if (specialMask) {
            pending &= ~isr; // special mask mode: only the in-service level itself is inhibited
        }
        for (int i = 1; i <= 8; i++) {
            int irq = (lowestPriority + i) & 7;
            if (!specialMask && (isr & 1 << irq) != 0) {
                return -1; // fully nested mode: this level and all below it wait for its EOI
            }
            if ((pending & 1 << irq) != 0) {
                return irq;
            }
        }
        return -1;
    }

    /** Whether INT is asserted. */
    boolean interruptRequested() {
        return highestRequest() >= 0;
    }

    /**
     * The INTA sequence for input {@code irq} (which {@link #highestRequest} returned): ISR set, IRR cleared for an edge
     * (a level-triggered input keeps its request while its input stays high), and in AEOI mode the in-service bit is
     * cleared again at the end of the sequence. Returns the vector.
     */
    int acknowledge(int irq) {
        int mask = 1 << irq;
        isr |= mask;
        if (!isLevel(irq)) {
            irr &= ~mask;
        }
        if (autoEoi) {
            isr &= ~mask;
            if (rotateOnAutoEoi) {
                lowestPriority = irq;
            }
        }
        return vectorBase | irq;
    }

    /** A spurious INTA (the request went away): IR7's vector, nothing set in service (data sheet, "Edge Triggered"). */
    int spuriousVector() {
        return vectorBase | 7;
    }

    // ---------------------------------------------------------------- ports

    /** A read of the command port (A0 = 0): IRR or ISR as OCW3 chose, or the poll word after a poll command. */
    int readCommand() {
        if (poll) {
            poll = false;
            int irq = highestRequest();
            if (irq < 0) {
                return 0;
            }
            acknowledge(irq); // a poll is an INTA without the vector on the bus
            return 0x80 | irq;
        }
        return readIsr ? isr : irr;
    }

    /** A read of the data port (A0 = 1): IMR (OCW1). */
    int readData() {
        if (poll) {
            return readCommand();
        }
        return imr;
    }

    void writeCommand(int value) {
        int v = value & 0xFF;
        if ((v & 0x10) != 0) {
            icw1(v);
        } else if ((v & 0x08) != 0) {
            ocw3(v);
        } else {
            ocw2(v);
        }
    }

    void writeData(int value) {
        int v = value & 0xFF;
        switch (initStep) {
            case 2 -> {
                vectorBase = v & 0xF8; // ICW2: T7-T3 in 8086 mode
                initStep = single ? (icw4Needed ? 4 : 0) : 3;
            }
            case 3 -> {
                icw3 = v;
                initStep = icw4Needed ? 4 : 0;
            }
            case 4 -> {
                autoEoi = (v & 0x02) != 0; // ICW4: µPM (bit 0), AEOI (1), M/S and BUF (3:2), SFNM (4)
                initStep = 0;
            }
            default -> imr = v; // OCW1
        }
    }

    /**
     * ICW1 starts the initialization sequence (data sheet "Initialization Command Words"): the edge-sense circuit is
     * reset (a request needs a new rising edge), IMR is cleared, IR7 gets the lowest priority, special mask mode is
     * cleared and a read returns IRR.
     */
    private void icw1(int v) {
        levelTriggered = (v & 0x08) != 0;
        single = (v & 0x02) != 0;
        icw4Needed = (v & 0x01) != 0;
        if (!icw4Needed) {
            autoEoi = false; // "if ICW4 is not needed, all functions selected in ICW4 are set to zero"
        }
        imr = 0;
        isr = 0;
        irr = lines & (levelTriggered ? 0xFF : elcr); // an edge-triggered input needs a new rising edge
        lowestPriority = 7;
        specialMask = false;
        readIsr = false;
        poll = false;
        rotateOnAutoEoi = false;
        initStep = 2;
    }

    /** OCW2: R, SL, EOI (bits 7:5) and the level L2-L0 (data sheet Figure 8). */
    private void ocw2(int v) {
        int level = v & 7;
        switch (v >> 5) {
            case 0b001 -> nonSpecificEoi(false);        // non-specific EOI
            case 0b011 -> isr &= ~(1 << level);          // specific EOI
            case 0b101 -> nonSpecificEoi(true);         // rotate on non-specific EOI
            case 0b100 -> rotateOnAutoEoi = true;        // rotate in automatic EOI mode (set)
            case 0b000 -> rotateOnAutoEoi = false;       // rotate in automatic EOI mode (clear)
            case 0b111 -> {                              // rotate on specific EOI
                isr &= ~(1 << level);
                lowestPriority = level;
            }
            case 0b110 -> lowestPriority = level;        // set priority
            default -> {                                 // 010: no operation
            }
        }
    }

    /** The highest-priority in-service input is done; with rotation it becomes the lowest priority. */
    private void nonSpecificEoi(boolean rotate) {
        for (int i = 1; i <= 8; i++) {
            int irq = (lowestPriority + i) & 7;
            if ((isr & 1 << irq) != 0) {
                isr &= ~(1 << irq);
                if (rotate) {
                    lowestPriority = irq;
                }
                return;
            }
        }
    }

    /** OCW3: ESMM/SMM (bits 6:5), P (2), RR/RIS (1:0). */
    private void ocw3(int v) {
        if ((v & 0x40) != 0) {
            specialMask = (v & 0x20) != 0;
        }
        if ((v & 0x04) != 0) {
            poll = true;
        }
        if ((v & 0x02) != 0) {
            readIsr = (v & 0x01) != 0;
        }
    }

    int readElcr() {
        return elcr;
    }

    void writeElcr(int value) {
        elcr = value & elcrWritable;
        for (int irq = 0; irq < 8; irq++) {
            if (isLevel(irq)) {
                irr = (lines & 1 << irq) != 0 ? irr | 1 << irq : irr & ~(1 << irq);
            }
        }
    }

    int vectorBase() {
        return vectorBase;
    }

    int icw3() {
        return icw3;
    }
}
