package io.jvmx.devices.platform;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.handler.ExitAction;
import org.junit.Test;

import static io.jvmx.devices.GuestPorts.in;
import static io.jvmx.devices.GuestPorts.out;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

public class ResetPortsTest {
    private final ResetPorts device = new ResetPorts();

    @Test
    public void keyboardControllerPulseResetEndsTheRun() throws Exception {
        FakeVCpu v = new FakeVCpu();
        assertEquals("not an 8042: other commands are not this device's", ExitAction.PASS, out(device, v, 0x64, 1, 0xAA));
        assertFalse(v.terminated());
        assertEquals(ExitAction.HANDLED, out(device, v, 0x64, 1, 0xFE));
        assertTrue(v.terminated());
        assertEquals(Integer.valueOf(0), v.exitCode());
        assertTrue(v.terminationReason(), v.terminationReason().contains("reset"));
    }

    @Test
    public void resetControlRegisterResetsOnRstCpu() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0xCF9, 1, 0x02);
        assertFalse(v.terminated());
        assertEquals(0x02, in(device, v, 0xCF9, 1));
        out(device, v, 0xCF9, 1, 0x06);
        assertTrue(v.terminationReason(), v.terminationReason().contains("hard reset"));
    }

    @Test
    public void portAFastInitResetsAndA20StaysOn() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0x92, 1, 0x00);
        assertEquals("A20 always on", 0x02, in(device, v, 0x92, 1));
        assertFalse(v.terminated());
        out(device, v, 0x92, 1, 0x01);
        assertTrue(v.terminated());
    }
}
