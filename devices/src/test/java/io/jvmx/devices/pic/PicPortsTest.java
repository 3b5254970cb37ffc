package io.jvmx.devices.pic;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.InterruptController;
import io.jvmx.vmx.api.handler.InterruptLine;
import org.junit.Test;

import static io.jvmx.devices.GuestPorts.in;
import static io.jvmx.devices.GuestPorts.out;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;

/** The pair behind port I/O exits, and its place on the vCPU's INTR line ({@link InterruptLine}). */
public class PicPortsTest {
    private final PicPorts device = new PicPorts();

    @Test
    public void portsReachThePairAndWideAccessesSpanConsecutivePorts() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(device, v, 0x21, 1, 0x5A);
        assertEquals(0x5A, in(device, v, 0x21, 1));
        assertEquals("20H (IRR) and 21H (IMR) in one word", 0x5A00, in(device, v, 0x20, 2));
        out(device, v, 0x4D0, 2, 0x0E_F8);
        assertEquals(0x0EF8, in(device, v, 0x4D0, 2));
        assertEquals(ExitAction.PASS, out(device, v, 0x22, 1, 0));
    }

    @Test
    public void withoutALocalApicThePairIsTheInterruptController() throws Exception {
        FakeVCpu v = new FakeVCpu();
        in(device, v, 0x21, 1);
        assertSame(PicPorts.of(v), v.interruptController());
        assertSame(PicPorts.of(v), v.attachment(InterruptLine.class, InterruptLine::new).driver());
    }

    @Test
    public void aLocalApicThatTookTheLineStaysTheController() throws Exception {
        FakeVCpu v = new FakeVCpu();
        InterruptController apic = new InterruptController() {
            @Override
            public int pendingInterrupt() {
                return -1;
            }

            @Override
            public int acknowledgeInterrupt() {
                return -1;
            }
        };
        v.attachment(InterruptLine.class, InterruptLine::new).connectLocalApic(v, apic);
        out(device, v, 0x21, 1, 0xFE);
        assertSame(apic, v.interruptController());
        PicPorts.of(v).pulseIrq(0);
        assertEquals("the APIC finds the 8259A's interrupt on the line", 0x08,
                v.attachment(InterruptLine.class, InterruptLine::new).pendingInterrupt());
    }
}
