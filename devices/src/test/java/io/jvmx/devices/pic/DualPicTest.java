package io.jvmx.devices.pic;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * The 8259A pair against the Intel 8259A data sheet (231468): initialization (ICW1-ICW4), IRR/ISR/IMR, fully nested
 * priorities, EOI forms, rotation, AEOI, poll, special mask mode, cascade through IR2, and the PIIX ELCR.
 */
public class DualPicTest {

    /** ICW1-ICW4 as Linux's init_8259A writes them: master vectors 30H, slave 38H, 8086 mode, normal EOI. */
    static DualPic linuxInitialized() {
        DualPic pic = new DualPic();
        pic.write(0x21, 0xFF);
        pic.write(0xA1, 0xFF);
        pic.write(0x20, 0x11); // ICW1: edge, cascade, ICW4 needed
        pic.write(0x21, 0x30); // ICW2
        pic.write(0x21, 0x04); // ICW3: slave on IR2
        pic.write(0x21, 0x01); // ICW4: 8086 mode
        pic.write(0xA0, 0x11);
        pic.write(0xA1, 0x38);
        pic.write(0xA1, 0x02); // ICW3: slave identity 2
        pic.write(0xA1, 0x01);
        return pic;
    }

    @Test
    public void startsAsABiosLeavesIt() {
        DualPic pic = new DualPic();
        assertEquals("every master input masked", 0xFF, pic.read(0x21));
        assertEquals(0xFF, pic.read(0xA1));
        pic.pulseIrq(0);
        assertEquals("masked: no INT", -1, pic.pendingInterrupt());
        pic.write(0x21, 0xFE);
        assertEquals("IRQ 0 at the BIOS's vector 08H", 0x08, pic.pendingInterrupt());
    }

    @Test
    public void initializationClearsTheMaskAndTakesTheVectorBase() {
        DualPic pic = linuxInitialized();
        assertEquals("ICW1 clears IMR", 0x00, pic.read(0x21));
        pic.write(0x21, 0xAA); // OCW1 after the sequence
        assertEquals(0xAA, pic.read(0x21));
        pic.write(0x21, 0x00);
        pic.pulseIrq(1);
        assertEquals(0x31, pic.pendingInterrupt());
    }

    @Test
    public void acknowledgeMovesTheRequestFromIrrToIsr() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(3);
        pic.write(0x20, 0x0A); // OCW3: read IRR
        assertEquals(0x08, pic.read(0x20));
        assertEquals(0x33, pic.acknowledgeInterrupt());
        assertEquals("IRR cleared for an edge", 0x00, pic.read(0x20));
        pic.write(0x20, 0x0B); // OCW3: read ISR
        assertEquals(0x08, pic.read(0x20));
        pic.write(0x20, 0x20); // non-specific EOI
        assertEquals(0x00, pic.read(0x20));
    }

    @Test
    public void fullyNestedModeHoldsBackEqualAndLowerPriorities() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(3);
        assertEquals(0x33, pic.acknowledgeInterrupt());
        pic.pulseIrq(5);
        pic.pulseIrq(3);
        assertEquals("IR3 in service blocks IR3 and IR5", -1, pic.pendingInterrupt());
        pic.pulseIrq(1);
        assertEquals("a higher priority gets through", 0x31, pic.pendingInterrupt());
        assertEquals(0x31, pic.acknowledgeInterrupt());
        pic.write(0x20, 0x20); // EOI: ends IR1, the highest in service
        pic.write(0x20, 0x0B);
        assertEquals(0x08, pic.read(0x20));
        pic.write(0x20, 0x63); // specific EOI for IR3
        assertEquals(0x00, pic.read(0x20));
        assertEquals(0x33, pic.acknowledgeInterrupt());
    }

    @Test
    public void imrMasksARequestWithoutLosingIt() {
        DualPic pic = linuxInitialized();
        pic.write(0x21, 0x01);
        pic.pulseIrq(0);
        assertFalse(pic.master.interruptRequested());
        pic.write(0x21, 0x00);
        assertEquals(0x30, pic.pendingInterrupt());
    }

    @Test
    public void anAcknowledgeWithoutRequestIsSpuriousIr7() {
        DualPic pic = linuxInitialized();
        assertEquals(0x37, pic.acknowledgeInterrupt());
        pic.write(0x20, 0x0B);
        assertEquals("a spurious IR7 is not put in service", 0x00, pic.read(0x20));
    }

    @Test
    public void slaveRequestsCascadeThroughIr2() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(12);
        assertEquals(0x3C, pic.pendingInterrupt());
        assertEquals(0x3C, pic.acknowledgeInterrupt());
        pic.write(0xA0, 0x0B);
        assertEquals(0x10, pic.read(0xA0));
        pic.write(0x20, 0x0B);
        assertEquals("the master has IR2 in service", 0x04, pic.read(0x20));
        pic.pulseIrq(8);
        assertEquals("IR2 in service blocks the slave's other inputs", -1, pic.pendingInterrupt());
        pic.write(0xA0, 0x20);
        pic.write(0x20, 0x20);
        assertEquals(0x38, pic.pendingInterrupt());
    }

    @Test
    public void anEdgeNeedsARisingEdgeAndALevelFollowsTheInput() {
        DualPic pic = linuxInitialized();
        pic.setIrq(4, true);
        assertEquals(0x34, pic.acknowledgeInterrupt());
        pic.write(0x20, 0x20);
        assertEquals("still high: no new edge", -1, pic.pendingInterrupt());
        pic.setIrq(4, false);
        pic.setIrq(4, true);
        assertEquals(0x34, pic.pendingInterrupt());

        pic.write(0x4D1, 0xFF);
        assertEquals("IRQ 8 and 13 stay edge-triggered (PIIX ELCR2)", 0xDE, pic.read(0x4D1));
        pic.write(0x4D0, 0xFF);
        assertEquals("IRQ 0-2 stay edge-triggered (ELCR1)", 0xF8, pic.read(0x4D0));
        pic.setIrq(9, true);
        assertEquals(0x39, pic.acknowledgeInterrupt());
        pic.write(0xA0, 0x20);
        pic.write(0x20, 0x20);
        assertEquals("a level input that stays high asks again", 0x39, pic.pendingInterrupt());
        pic.setIrq(9, false);
        // the master latched IR2's edge; the slave, whose request went away, answers with its IR7 vector (data sheet:
        // a request removed before INTA gives IR7 without an in-service bit, which Linux counts as spurious IRQ 15)
        assertEquals(0x3F, pic.acknowledgeInterrupt());
        pic.write(0xA0, 0x0B);
        assertEquals(0x00, pic.read(0xA0));
        assertEquals(-1, pic.pendingInterrupt());
    }

    @Test
    public void icw1ResetsTheEdgeSenseCircuit() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(6);
        pic.write(0x20, 0x11);
        pic.write(0x21, 0x30);
        pic.write(0x21, 0x04);
        pic.write(0x21, 0x01);
        assertEquals(-1, pic.pendingInterrupt());
    }

    @Test
    public void automaticEoiLeavesNothingInService() {
        DualPic pic = new DualPic();
        pic.write(0x20, 0x11);
        pic.write(0x21, 0x20);
        pic.write(0x21, 0x04);
        pic.write(0x21, 0x03); // ICW4: 8086 mode, AEOI
        pic.pulseIrq(5);
        assertEquals(0x25, pic.acknowledgeInterrupt());
        pic.write(0x20, 0x0B);
        assertEquals(0x00, pic.read(0x20));
        pic.pulseIrq(7);
        assertEquals(0x27, pic.pendingInterrupt());
    }

    @Test
    public void rotationMakesTheServedInputTheLowestPriority() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(1);
        assertEquals(0x31, pic.acknowledgeInterrupt());
        pic.write(0x20, 0xA0); // rotate on non-specific EOI: IR1 becomes the lowest, IR2 the highest
        pic.pulseIrq(1);
        pic.pulseIrq(5);
        assertEquals(0x35, pic.pendingInterrupt());
        pic.write(0x20, 0xC4); // set priority: IR4 lowest, IR5 highest
        pic.pulseIrq(0);
        assertEquals(0x35, pic.pendingInterrupt());
        pic.write(0x20, 0xC7); // IR7 lowest: IR0 highest again
        assertEquals(0x30, pic.pendingInterrupt());
    }

    @Test
    public void pollAcknowledgesAndReportsTheLevel() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(6);
        pic.write(0x20, 0x0C); // OCW3 poll
        assertEquals(0x86, pic.read(0x20));
        pic.write(0x20, 0x0B);
        assertEquals(0x40, pic.read(0x20));
        pic.write(0x20, 0x0C);
        assertEquals("no request: bit 7 clear", 0x00, pic.read(0x20));
    }

    @Test
    public void specialMaskModeLetsLowerPrioritiesThrough() {
        DualPic pic = linuxInitialized();
        pic.pulseIrq(1);
        assertEquals(0x31, pic.acknowledgeInterrupt());
        pic.write(0x21, 0x02); // mask IR1, which is in service
        pic.write(0x20, 0x68); // OCW3: set special mask mode
        pic.pulseIrq(4);
        assertTrue(pic.master.interruptRequested());
        assertEquals(0x34, pic.pendingInterrupt());
        pic.write(0x20, 0x48); // reset special mask mode
        assertEquals(-1, pic.pendingInterrupt());
    }
}
