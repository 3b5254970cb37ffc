package io.jvmx.devices.time;

import org.junit.Test;

import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

public class GuestTimeTest {

    @Test
    public void ticksAndTscAtAreInverse() {
        GuestTime t = new GuestTime(100_000_000L);
        assertEquals(1_193_182L, t.ticks(100_000_000L, 1_193_182L));
        assertEquals(0, t.ticks(83, 1_193_182L));
        assertEquals(1, t.ticks(84, 1_193_182L));
        for (long tick : new long[]{1, 2, 1000, 1_193_181, 1_193_183, 123_456_789_012L}) {
            long tsc = t.tscAt(tick, 1_193_182L);
            assertEquals(tick, t.ticks(tsc, 1_193_182L));
            assertEquals("the first such TSC", tick - 1, t.ticks(tsc - 1, 1_193_182L));
        }
        assertTrue("no overflow after a guest year", t.ticks(365L * 86_400 * 100_000_000L, 32_768) > 0);
    }

    @Test
    public void configuration() {
        assertEquals(GuestTime.DEFAULT_TSC_HZ, GuestTime.of(Map.of()).tscHz());
        assertEquals(2_000_000_000L, GuestTime.of(Map.of(GuestTime.TSC_HZ, "2000000000")).tscHz());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GuestTime.of(Map.of(GuestTime.TSC_HZ, "fast")));
        assertTrue(e.getMessage(), e.getMessage().contains("platform.tsc.hz"));
        assertThrows(IllegalArgumentException.class, () -> new GuestTime(1000));
    }
}
