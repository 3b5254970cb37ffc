package io.jvmx.devices.pit;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/** The 8254 against the Intel 82C54 data sheet (231244): control word, modes 0-5, latch and read-back, port 61H. */
public class Pit8254Test {
    private final Pit8254 pit = new Pit8254();

    private void control(int value, long now) {
        pit.write(Pit8254.CONTROL, value, now);
    }

    private int readWord(int port, long now) {
        int lsb = pit.read(port, now);
        return lsb | pit.read(port, now) << 8;
    }

    /** Mode 2, as Linux's periodic tick: counts N..1, OUT low while the count is 1, a rising edge every N ticks. */
    @Test
    public void mode2IsARateGenerator() {
        control(0x34, 0); // counter 0, LSB then MSB, mode 2, binary
        pit.write(0x40, 100, 10);
        pit.write(0x40, 0, 10);
        control(0x00, 15); // latch counter 0
        assertEquals(95, readWord(0x40, 15));
        assertTrue(pit.out(0, 108));
        assertFalse("low while the count is 1", pit.out(0, 109));
        assertTrue(pit.out(0, 110));
        assertEquals(110, pit.nextOut0RisingEdge(10));
        assertEquals(210, pit.nextOut0RisingEdge(110));
        assertEquals(310, pit.nextOut0RisingEdge(250));
    }

    /** Mode 0: OUT low at the count write, high at terminal count, and the counter wraps and goes on counting. */
    @Test
    public void mode0InterruptsOnTerminalCount() {
        control(0x30, 0);
        pit.write(0x40, 0x10, 0);
        assertFalse("writing the first byte sets OUT low", pit.out(0, 1));
        pit.write(0x40, 0x00, 5); // N = 16 from tick 5
        assertEquals(21, pit.nextOut0RisingEdge(5));
        assertFalse(pit.out(0, 20));
        assertTrue(pit.out(0, 21));
        assertEquals(Long.MAX_VALUE, pit.nextOut0RisingEdge(21));
        control(0x00, 23);
        assertEquals("wrapped past 0", 0xFFFE, readWord(0x40, 23));
    }

    /** Mode 3: a square wave, high for the first half of each period. */
    @Test
    public void mode3IsASquareWave() {
        control(0x36, 0);
        pit.write(0x40, 10, 0);
        pit.write(0x40, 0, 0);
        assertTrue(pit.out(0, 4));
        assertFalse(pit.out(0, 5));
        assertFalse(pit.out(0, 9));
        assertTrue(pit.out(0, 10));
        control(0x00, 2);
        assertEquals("counts down by two", 6, readWord(0x40, 2));
    }

    /**
     * Counter 2 as Linux calibrates the TSC with it: GATE and OUT through port 61H (bit 0 and bit 5), mode 0; the
     * count does not run while GATE is low.
     */
    @Test
    public void counter2GateAndOutThroughPort61() {
        pit.writePortB(0x00, 0);
        control(0xB0, 0); // counter 2, LSB/MSB, mode 0
        pit.write(0x42, 50, 0);
        pit.write(0x42, 0, 0);
        assertEquals(0, pit.readPortB(100) & 0x20);
        pit.writePortB(0x01, 100); // GATE high: counting starts
        assertEquals(0x01, pit.readPortB(149) & 0x21);
        assertEquals(0x21, pit.readPortB(150) & 0x21);
        pit.writePortB(0x03, 150);
        assertEquals("speaker data enable kept", 0x23, pit.readPortB(151) & 0x23);
        assertEquals("refresh toggle (bit 4) every 18 ticks", 0x10, pit.readPortB(18) & 0x10);
        assertEquals(0x00, pit.readPortB(36) & 0x10);
    }

    /** Reading without a latch alternates LSB and MSB of the live count (how quick_pit_calibrate reads counter 2). */
    @Test
    public void unlatchedReadsFollowTheCount() {
        pit.writePortB(0x01, 0);
        control(0xB0, 0);
        pit.write(0x42, 0xFF, 0);
        pit.write(0x42, 0xFF, 0);
        assertEquals(0xFF - 3, pit.read(0x42, 3));
        assertEquals(0xFF, pit.read(0x42, 3));
        pit.read(0x42, 300);
        assertEquals("MSB after 300 ticks", 0xFE, pit.read(0x42, 300));
    }

    /** The read-back command: status (OUT, null count, RW, mode, BCD) before the latched count. */
    @Test
    public void readBackLatchesStatusAndCount() {
        control(0x34, 0);
        pit.write(0x40, 0x00, 7);
        pit.write(0x40, 0x01, 7); // N = 256
        control(0xC2, 7); // read-back, count and status of counter 0
        assertEquals("OUT high, null count, LSB/MSB, mode 2", 0x80 | 0x40 | 0x30 | 0x04, pit.read(0x40, 7));
        control(0xC2, 9); // the status was read: latched anew; the count is still latched from tick 7
        assertEquals(0x80 | 0x30 | 0x04, pit.read(0x40, 20));
        assertEquals("a second count latch before reading is ignored", 256, readWord(0x40, 20));
        control(0xE2, 27); // status only
        assertEquals("the count is loaded: no null count", 0x80 | 0x30 | 0x04, pit.read(0x40, 27));
    }

    /** BCD counting: a count of 1000 written in BCD, read back in BCD. */
    @Test
    public void bcdCounting() {
        control(0x31, 0); // counter 0, LSB/MSB, mode 0, BCD
        pit.write(0x40, 0x00, 0);
        pit.write(0x40, 0x10, 0); // 1000
        control(0x00, 1);
        assertEquals(0x0999, readWord(0x40, 1));
        assertEquals(1000, pit.nextOut0RisingEdge(0));
    }

    /** Mode 2: a count written while counting takes effect when the current period ends. */
    @Test
    public void mode2NewCountAtTheEndOfThePeriod() {
        control(0x34, 0);
        pit.write(0x40, 100, 0);
        pit.write(0x40, 0, 0);
        pit.write(0x40, 50, 30);
        pit.write(0x40, 0, 30);
        assertEquals(100, pit.nextOut0RisingEdge(30));
        assertEquals(150, pit.nextOut0RisingEdge(100));
    }

    /** Mode 1 on counter 2: a hardware one-shot that waits for GATE's rising edge. */
    @Test
    public void mode1WaitsForTheGate() {
        control(0xB2, 0); // counter 2, LSB/MSB, mode 1
        pit.write(0x42, 20, 0);
        pit.write(0x42, 0, 0);
        assertTrue(pit.out(2, 50));
        pit.writePortB(0x01, 50);
        assertFalse(pit.out(2, 51));
        assertTrue(pit.out(2, 70));
    }
}
