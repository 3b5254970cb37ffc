package io.jvmx.devices.doorbell;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.junit.Test;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/** The interrupt doorbell 0xF5: queues external interrupts (SDM Vol. 3C 27.6; vectors per SDM Vol. 3A 6.2). */
public class InterruptDoorbellTest {

    private final InterruptDoorbell device = new InterruptDoorbell();

    private ExitAction out(FakeVCpu v, int port, int size, long rax) throws Exception {
        v.writeGpr(GeneralRegisters.RAX, rax);
        long q = new IoQualification(size, false, false, false, false, port).encode();
        return device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 1)); // OUT DX, AL: 1 byte
    }

    /** OUT of byte v queues external interrupt v with no error code, and RIP moves past the OUT. */
    @Test
    public void outQueuesExternalInterrupt() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, out(v, 0xF5, 1, 0x40));
        assertEquals(List.of(new PendingEvent(0x40, InterruptionType.EXTERNAL_INTERRUPT, -1)), v.pendingEvents());
        assertEquals(rip + 1, v.rip());
    }

    /** Vectors 0-31 are exceptions (SDM Vol. 3A 6.2): refused with a console line, nothing queued. */
    @Test
    public void exceptionVectorsAreRefused() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, out(v, 0xF5, 1, 13));
        assertTrue(v.pendingEvents().isEmpty());
        assertEquals("doorbell 0xf5: vector 13 refused: vectors 0-31 are exceptions, not interrupts\n", v.consoleText());
        assertEquals(rip + 1, v.rip());
    }

    /** A wider OUT uses its low byte (AL). */
    @Test
    public void widerOutUsesLowByte() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, 0xF5, 4, 0x1234_0021L);
        assertEquals(List.of(new PendingEvent(0x21, InterruptionType.EXTERNAL_INTERRUPT, -1)), v.pendingEvents());
    }

    /** Another port: PASS. */
    @Test
    public void otherPortsPass() throws Exception {
        FakeVCpu v = new FakeVCpu();
        assertEquals(ExitAction.PASS, out(v, 0xF4, 1, 0x40));
        assertTrue(v.pendingEvents().isEmpty());
    }
}
