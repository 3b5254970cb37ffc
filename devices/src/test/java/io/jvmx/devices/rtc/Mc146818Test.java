package io.jvmx.devices.rtc;

import org.junit.Test;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

import static org.junit.Assert.assertEquals;

/** The MC146818A against its data sheet: time registers in BCD and binary, 12/24 h, UIP, SET, register C flags. */
public class Mc146818Test {
    private static final long S = Mc146818.TIME_BASE_HZ;
    /** 2026-11-30 23:59:58 UTC, a Monday. */
    private static final long T0 = LocalDateTime.of(2026, 11, 30, 23, 59, 58).toEpochSecond(ZoneOffset.UTC);

    @Test
    public void bcdTimeFromTheHostClockRunningInGuestTime() {
        Mc146818 rtc = new Mc146818(T0, 0, 1000);
        assertEquals(0x58, rtc.read(0, 1000));
        assertEquals(0x59, rtc.read(2, 1000));
        assertEquals(0x23, rtc.read(4, 1000));
        assertEquals("Monday: 2 (Sunday is 1)", 0x02, rtc.read(6, 1000));
        assertEquals(0x30, rtc.read(7, 1000));
        assertEquals(0x11, rtc.read(8, 1000));
        assertEquals(0x26, rtc.read(9, 1000));
        assertEquals(0x20, rtc.read(0x32, 1000));
        long later = 1000 + 2 * S;
        assertEquals("two guest seconds later: next day", 0x00, rtc.read(4, later));
        assertEquals(0x01, rtc.read(7, later));
        assertEquals(0x12, rtc.read(8, later));
        assertEquals("D: valid RAM and time", 0x80, rtc.read(0x0D, later));
    }

    @Test
    public void binaryAnd12HourModes() {
        Mc146818 rtc = new Mc146818(T0, 0, 0);
        rtc.write(0x0B, 0x04, 0); // binary, 12-hour
        assertEquals(58, rtc.read(0, 0));
        assertEquals("11 PM", 0x80 | 11, rtc.read(4, 0));
    }

    /** UIP is 1 from 244 us before the update until it ends (1984 us later), when the time changes. */
    @Test
    public void updateInProgressPrecedesTheNewSecond() {
        Mc146818 rtc = new Mc146818(T0, 0, 0);
        assertEquals(0, rtc.read(0x0A, 0) & 0x80);
        assertEquals(0, rtc.read(0x0A, S - 74) & 0x80);
        assertEquals(0x80, rtc.read(0x0A, S - 73) & 0x80);
        assertEquals(0x58, rtc.read(0, S - 1));
        assertEquals(0x59, rtc.read(0, S));
        assertEquals(0, rtc.read(0x0A, S) & 0x80);
        assertEquals("A: 32.768 kHz time base, rate 1024 Hz", 0x26, rtc.read(0x0A, S));
    }

    /** SET stops the updates; written registers become the time; clearing SET lets the clock run on from there. */
    @Test
    public void setStopsTheClockForWriting() {
        Mc146818 rtc = new Mc146818(T0, 0, 0);
        rtc.write(0x0B, 0x82, 10);
        rtc.write(4, 0x07, 10);
        rtc.write(2, 0x30, 10);
        assertEquals(0x07, rtc.read(4, 5 * S));
        assertEquals("stopped", 0x58, rtc.read(0, 5 * S));
        rtc.write(0x0B, 0x02, 5 * S);
        assertEquals(0x59, rtc.read(0, 6 * S));
        assertEquals(0x30, rtc.read(2, 6 * S));
    }

    /** Register C: UF after an update, AF when the alarm matched, PF at the periodic rate; IRQF; cleared by reading. */
    @Test
    public void registerCFlags() {
        Mc146818 rtc = new Mc146818(T0, 0, 0);
        rtc.read(0x0C, 0);
        rtc.write(1, 0xFF, 0);    // alarm: any second
        rtc.write(3, 0x00, 0);    // minute 00
        rtc.write(5, 0xC0, 0);    // any hour
        rtc.write(0x0B, 0x12, 0); // UIE, 24 h
        assertEquals("nothing yet (the 1024 Hz period is 32 ticks)", 0x00, rtc.read(0x0C, 10));
        assertEquals("after one update at 23:59:59: UF, IRQF; the periodic flag too", 0x80 | 0x40 | 0x10,
                rtc.read(0x0C, S + 5));
        assertEquals(0x00, rtc.read(0x0C, S + 5));
        assertEquals("00:00:00 matches the alarm", 0x80 | 0x40 | 0x20 | 0x10, rtc.read(0x0C, 2 * S + 5));
        assertEquals("with UIE the next event is the next update", 3 * S, rtc.nextInterruptEvent(2 * S + 5));
        rtc.write(0x0B, 0x42, 2 * S + 5); // PIE instead
        assertEquals(2 * S + 32, rtc.nextInterruptEvent(2 * S + 5));
    }
}
