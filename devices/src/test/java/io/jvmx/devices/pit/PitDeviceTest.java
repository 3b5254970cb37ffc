package io.jvmx.devices.pit;

import io.jvmx.devices.pic.DualPic;
import io.jvmx.devices.pic.PicPorts;
import io.jvmx.devices.time.GuestTime;
import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.handler.ExitAction;
import org.junit.Test;

import java.util.Map;

import static io.jvmx.devices.GuestPorts.in;
import static io.jvmx.devices.GuestPorts.out;
import static io.jvmx.devices.GuestPorts.timerExit;
import static org.junit.Assert.assertEquals;

/** The timer keeps the guest's time: its ticks come from the guest TSC, and IRQ 0 comes at an exit deadline. */
public class PitDeviceTest {

    private final PitDevice device = new PitDevice();

    public PitDeviceTest() {
        device.activate(Map.of(GuestTime.TSC_HZ, 1_193_182_000L)); // 1000 TSC ticks per timer tick
    }

    @Test
    public void periodicIrq0ComesAtTheDeadlineOfEachPeriod() throws Exception {
        FakeVCpu v = new FakeVCpu().setGuestTsc(5_000);
        DualPic pic = PicPorts.of(v);
        pic.write(0x21, 0xFE);
        out(device, v, 0x43, 1, 0x34);
        out(device, v, 0x40, 1, 100); // tick 5: N = 100
        out(device, v, 0x40, 1, 0);
        assertEquals("the first edge at tick 105", 105_000L, v.exitDeadline(PitDevice.State.class).getAsLong());
        v.setGuestTsc(104_999);
        assertEquals(ExitAction.PASS, timerExit(device, v));
        assertEquals(-1, pic.pendingInterrupt());
        v.setGuestTsc(105_000);
        timerExit(device, v);
        assertEquals(0x08, pic.acknowledgeInterrupt());
        assertEquals(205_000L, v.exitDeadline(PitDevice.State.class).getAsLong());
        v.setGuestTsc(520_000); // three periods passed while the guest could not be interrupted: one request
        timerExit(device, v);
        pic.write(0x20, 0x20);
        assertEquals(0x08, pic.acknowledgeInterrupt());
        pic.write(0x20, 0x20);
        assertEquals(-1, pic.pendingInterrupt());
        assertEquals(605_000L, v.exitDeadline(PitDevice.State.class).getAsLong());
    }

    @Test
    public void countsReadBackInGuestTime() throws Exception {
        FakeVCpu v = new FakeVCpu().setGuestTsc(0);
        out(device, v, 0x61, 1, 0x01);
        out(device, v, 0x43, 1, 0xB0);
        out(device, v, 0x42, 1, 0xFF);
        out(device, v, 0x42, 1, 0xFF);
        v.setGuestTsc(10_000_000); // 10,000 ticks
        assertEquals(0xFFFF - 10_000, in(device, v, 0x42, 1) | in(device, v, 0x42, 1) << 8);
        assertEquals("OUT2 low until terminal count", 0x01, in(device, v, 0x61, 1) & 0x21);
        v.setGuestTsc(65_535_000);
        assertEquals(0x21, in(device, v, 0x61, 1) & 0x21);
        assertEquals("the control word cannot be read", 0xFF, in(device, v, 0x43, 1));
        assertEquals(ExitAction.PASS, out(device, v, 0x44, 1, 0));
    }

    @Test
    public void aStoppedCounterWithdrawsTheDeadline() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0x43, 1, 0x34);
        out(device, v, 0x40, 1, 10);
        out(device, v, 0x40, 1, 0);
        assertEquals(true, v.exitDeadline(PitDevice.State.class).isPresent());
        out(device, v, 0x43, 1, 0x30); // a new control word stops counter 0 until a count comes
        assertEquals(false, v.exitDeadline(PitDevice.State.class).isPresent());
    }
}
