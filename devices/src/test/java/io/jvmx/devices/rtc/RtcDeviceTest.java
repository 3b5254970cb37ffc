package io.jvmx.devices.rtc;

import io.jvmx.devices.pic.DualPic;
import io.jvmx.devices.pic.PicPorts;
import io.jvmx.devices.time.GuestTime;
import io.jvmx.handlers.testkit.FakeVCpu;
import org.junit.Test;

import java.util.Map;

import static io.jvmx.devices.GuestPorts.in;
import static io.jvmx.devices.GuestPorts.out;
import static io.jvmx.devices.GuestPorts.timerExit;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

public class RtcDeviceTest {
    private final RtcDevice device = new RtcDevice();

    public RtcDeviceTest() {
        device.activate(Map.of(GuestTime.TSC_HZ, 32_768_000L)); // 1000 TSC ticks per time-base tick
    }

    @Test
    public void indexAndDataPortsAndTheHostDate() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0x70, 1, 0x8A); // register A, NMI masked
        assertEquals(0x26, in(device, v, 0x71, 1) & 0x7F);
        out(device, v, 0x70, 1, 0x09);
        int year = (int) in(device, v, 0x71, 1);
        int expected = java.time.LocalDate.now(java.time.ZoneOffset.UTC).getYear() % 100;
        assertTrue("BCD year of the host clock", year == Mc146818.toBcd(expected)
                || year == Mc146818.toBcd(expected + 1)); // a run across New Year
        assertEquals("the index register is write-only", 0xFF, in(device, v, 0x70, 1));
        out(device, v, 0x70, 1, 0x40);
        out(device, v, 0x71, 1, 0xA5);
        assertEquals("CMOS RAM", 0xA5, in(device, v, 0x71, 1));
    }

    @Test
    public void periodicInterruptIsIrq8AtItsDeadline() throws Exception {
        FakeVCpu v = new FakeVCpu().setGuestTsc(0);
        DualPic pic = PicPorts.of(v);
        pic.write(0x21, 0xFB); // cascade open
        pic.write(0xA1, 0xFE); // IRQ 8
        out(device, v, 0x70, 1, 0x0B);
        out(device, v, 0x71, 1, 0x42); // PIE, 24 h; rate 1024 Hz: every 32 ticks
        assertEquals(32_000L, v.exitDeadline(RtcDevice.State.class).getAsLong());
        v.setGuestTsc(32_000);
        timerExit(device, v);
        assertEquals(0x70, pic.acknowledgeInterrupt());
        assertTrue("IRQF waits for register C: no deadline", v.exitDeadline(RtcDevice.State.class).isEmpty());
        out(device, v, 0x70, 1, 0x0C);
        assertEquals(0xC0, in(device, v, 0x71, 1));
        assertEquals(64_000L, v.exitDeadline(RtcDevice.State.class).getAsLong());
    }
}
