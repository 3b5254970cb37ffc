package io.jvmx.apic;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.handler.InterruptController;
import io.jvmx.vmx.api.handler.InterruptLine;
import org.junit.Test;

import static io.jvmx.apic.LocalApic.BASE_BSP;
import static io.jvmx.apic.LocalApic.DEFAULT_BASE;
import static io.jvmx.apic.LocalApic.LVT_LINT0;
import static io.jvmx.apic.LocalApic.SVR;
import static org.junit.Assert.assertEquals;

/**
 * The 8259A's INTR through LINT0 (SDM Vol. 3A 11.5.1, delivery mode ExtINT; MP Specification 3.6.2.2 virtual wire
 * mode), as Linux's init_bsp_APIC sets it up, and straight through while the APIC is globally disabled (11.4.3).
 */
public class ExtIntTest {

    /** An 8259A stand-in with one request for vector 30H; an INTA takes it. */
    private static final class OneRequest implements InterruptController {
        int requests = 1;
        int acknowledged;

        @Override
        public int pendingInterrupt() {
            return requests > 0 ? 0x30 : -1;
        }

        @Override
        public int acknowledgeInterrupt() {
            requests--;
            acknowledged++;
            return 0x30;
        }
    }

    private final OneRequest pic = new OneRequest();
    private final LocalApic apic = new LocalApic(0, 1, 46, () -> { });

    public ExtIntTest() {
        FakeVCpu v = new FakeVCpu();
        InterruptLine line = v.attachment(InterruptLine.class, InterruptLine::new);
        line.connectDriver(v, pic);
        apic.connectLint0(line);
        line.connectLocalApic(v, apic);
        assertEquals(apic, v.interruptController());
    }

    @Test
    public void virtualWireModePassesThe8259AVector() throws Exception {
        assertEquals("LINT0 masked at power-up", -1, apic.pendingInterrupt());
        apic.writeMmio(SVR, 0x1FF, 0);
        apic.writeMmio(LVT_LINT0, 0x700, 0); // ExtINT, unmasked
        assertEquals(0x30, apic.pendingInterrupt());
        assertEquals(0x30, apic.acknowledgeInterrupt());
        assertEquals("the INTA went to the 8259A", 1, pic.acknowledged);
        assertEquals("ExtINT is not put in the APIC's ISR", false, apic.inService(0x30));
        assertEquals(-1, apic.pendingInterrupt());
    }

    @Test
    public void fixedDeliveryOrAMaskStopsIt() throws Exception {
        apic.writeMmio(SVR, 0x1FF, 0);
        apic.writeMmio(LVT_LINT0, 0x10700, 0); // ExtINT, masked
        assertEquals(-1, apic.pendingInterrupt());
        apic.writeMmio(LVT_LINT0, 0x000, 0); // fixed delivery: not the 8259A's
        assertEquals(-1, apic.pendingInterrupt());
    }

    @Test
    public void aGloballyDisabledApicLeavesLint0AsIntr() throws Exception {
        apic.writeApicBase(DEFAULT_BASE | BASE_BSP); // EN = 0
        assertEquals(0x30, apic.pendingInterrupt());
        assertEquals(0x30, apic.acknowledgeInterrupt());
    }
}
