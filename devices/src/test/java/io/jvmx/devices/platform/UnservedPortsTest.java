package io.jvmx.devices.platform;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.handler.ExitAction;
import org.junit.Test;

import static io.jvmx.devices.GuestPorts.in;
import static io.jvmx.devices.GuestPorts.out;
import static org.junit.Assert.assertEquals;

public class UnservedPortsTest {
    private final UnservedPorts device = new UnservedPorts();

    @Test
    public void readsAllOnesIgnoresWritesAndSaysEachPortOnce() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(0xFFFF_FFFFL, in(device, v, 0x2F9, 4));
        assertEquals(0xFFL, in(device, v, 0x2F9, 1));
        assertEquals(ExitAction.HANDLED, out(device, v, 0x87, 1, 0x12));
        assertEquals(rip + 3, v.rip());
        String console = v.consoleText();
        assertEquals(console, 2, console.split("\n").length);
        assertEquals(console, true, console.contains("no device at port 0x2f9 (IN of 4 bytes)"));
        out(device, v, 0x80, 1, 0x55);
        assertEquals("the POST-code port is served silently", console, v.consoleText());
    }
}
