package io.jvmx.devices.pci;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.handler.ExitAction;
import org.junit.Test;

import static io.jvmx.devices.GuestPorts.in;
import static io.jvmx.devices.GuestPorts.out;
import static org.junit.Assert.assertEquals;

/** Configuration mechanism #1 (PCI Local Bus Specification 3.0, 3.2.2.3.2) with no device behind it. */
public class PciConfigPortsTest {
    private final PciConfigPorts device = new PciConfigPorts();

    @Test
    public void configAddressIsADoublewordRegister() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0xCF8, 4, 0xFFFF_FFFFL);
        assertEquals("bits 30:24 and 1:0 are 0", 0x80FF_FFFCL, in(device, v, 0xCF8, 4));
        assertEquals("byte accesses are not CONFIG_ADDRESS", ExitAction.PASS, out(device, v, 0xCFB, 1, 1));
        assertEquals(ExitAction.PASS, out(device, v, 0xCF8, 2, 1));
    }

    @Test
    public void noDeviceAnswers() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0xCF8, 4, 0x8000_0000L); // bus 0, device 0, function 0, register 0: the vendor ID
        assertEquals(0xFFFF_FFFFL, in(device, v, 0xCFC, 4));
        assertEquals(0xFFFFL, in(device, v, 0xCFE, 2));
        assertEquals(ExitAction.HANDLED, out(device, v, 0xCFC, 4, 0));
        assertEquals(0xFFFF_FFFFL, in(device, v, 0xCFC, 4));
    }
}
