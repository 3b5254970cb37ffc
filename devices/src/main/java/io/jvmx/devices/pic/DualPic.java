package io.jvmx.devices.pic;

import io.jvmx.vmx.api.handler.InterruptController;

/**
 * The PC's pair of 8259A controllers (IBM PC/AT; Intel 8259A data sheet "Cascade Mode"): the master at ports 20H/21H
 * takes IRQ 0-7, the slave at A0H/A1H takes IRQ 8-15 and drives the master's IR2; the edge/level control registers at
 * 4D0H/4D1H (Intel 82371AB PIIX4 data sheet, ELCR1/ELCR2). As an {@link InterruptController} it is the master's INT
 * output and the INTA cycle: the vector of the master's highest request, or, for IR2, of the slave's.
 *
 * <p>jvmx has no BIOS, so the pair starts initialized as a BIOS leaves it: vector bases 08H and 70H, all inputs
 * masked (a guest unmasks what it wants, or initializes the pair with ICW1-ICW4, as Linux does).
 *
 * <p>Not modelled: the special fully nested mode (ICW4.SFNM), buffered mode, and 8080/8085 mode (the vector is always
 * the 8086 form: ICW2 bits 7:3 and the input).
 */
public final class DualPic implements InterruptController {
    public static final int MASTER_COMMAND = 0x20, MASTER_DATA = 0x21, SLAVE_COMMAND = 0xA0, SLAVE_DATA = 0xA1,
            ELCR1 = 0x4D0, ELCR2 = 0x4D1;
    /** The master's input the slave's INT drives. */
    static final int CASCADE = 2;

    final Pic8259 master = new Pic8259(0xF8);
    final Pic8259 slave = new Pic8259(0xDE);
    public DualPic() {
        // jvmx has no BIOS: the pair starts as a PC BIOS leaves it (vectors 08H and 70H, every input masked), so
        // a guest that never programs it gets no interrupt from it
        master.initializedAsBios(0x08, 1 << CASCADE);
        slave.initializedAsBios(0x70, CASCADE);
    }

    /** Whether it drives its vCPU's INTR line ({@link PicPorts#of}). */
    boolean connected;

    /** Interrupt request line {@code irq} (0-15) goes to {@code level}. */
    public void setIrq(int irq, boolean level) {
        if (irq < 0 || irq > 15) {
            throw new IllegalArgumentException("IRQ " + irq + " is not 0-15");
        }
        if (irq < 8) {
            master.setInput(irq, level);
        } else {
            slave.setInput(irq - 8, level);
            cascade();
        }
    }

    /** A rising and a falling edge: an edge-triggered request (an interrupt a device signals by a pulse). */
    public void pulseIrq(int irq) {
        setIrq(irq, true);
        setIrq(irq, false);
    }

    /** The slave's INT output is the master's IR2 input. */
    private void cascade() {
        master.setInput(CASCADE, slave.interruptRequested());
    }

    @Override
    public int pendingInterrupt() {
        int irq = master.highestRequest();
        if (irq < 0) {
            return -1;
        }
        if (irq == CASCADE) {
            int s = slave.highestRequest();
            return s < 0 ? slave.spuriousVector() : slave.vectorBase() | s;
        }
        return master.vectorBase() | irq;
    }

    /**
     * The INTA cycle. With no request the master answers with IR7's vector and sets nothing in service (a spurious
     * interrupt, data sheet "Interrupt Sequence"); a cascaded request the slave withdrew gives the slave's IR7 vector.
     */
    @Override
    public int acknowledgeInterrupt() {
        int irq = master.highestRequest();
        if (irq < 0) {
            return master.spuriousVector();
        }
        int vector = master.acknowledge(irq);
        if (irq == CASCADE) {
            int s = slave.highestRequest();
            vector = s < 0 ? slave.spuriousVector() : slave.acknowledge(s);
            cascade();
        }
        return vector;
    }

    /** Whether the port is one of the pair's: 20H, 21H, A0H, A1H, 4D0H, 4D1H. */
    public static boolean serves(int port) {
        return port == MASTER_COMMAND || port == MASTER_DATA || port == SLAVE_COMMAND || port == SLAVE_DATA
                || port == ELCR1 || port == ELCR2;
    }

    public int read(int port) {
        int value = switch (port) {
            case MASTER_COMMAND -> master.readCommand();
            case MASTER_DATA -> master.readData();
            case SLAVE_COMMAND -> slave.readCommand();
            case SLAVE_DATA -> slave.readData();
            case ELCR1 -> master.readElcr();
            case ELCR2 -> slave.readElcr();
            default -> throw new IllegalArgumentException(String.format("port %#x is not the 8259A pair's", port));
        };
        cascade(); // a poll acknowledges
        return value;
    }

    public void write(int port, int value) {
        switch (port) {
            case MASTER_COMMAND -> master.writeCommand(value);
            case MASTER_DATA -> master.writeData(value);
            case SLAVE_COMMAND -> slave.writeCommand(value);
            case SLAVE_DATA -> slave.writeData(value);
            case ELCR1 -> master.writeElcr(value);
            case ELCR2 -> slave.writeElcr(value);
            default -> throw new IllegalArgumentException(String.format("port %#x is not the 8259A pair's", port));
        }
        cascade(); // masks, EOIs and initialization change the slave's INT output
    }
}
