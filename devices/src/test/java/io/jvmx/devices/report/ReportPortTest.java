package io.jvmx.devices.report;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.junit.Test;

import static org.junit.Assert.assertEquals;

/** The report port 0xE0 (OUT per SDM Vol. 2B "OUT"; qualification SDM Vol. 3C Table 28-5). */
public class ReportPortTest {

    private final ReportPort device = new ReportPort();

    private ExitAction out(FakeVCpu v, int port, int size, long rax) throws Exception {
        v.writeGpr(GeneralRegisters.RAX, rax);
        long q = new IoQualification(size, false, false, false, true, port).encode();
        return device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 2));
    }

    /** A 32-bit OUT logs "report: 0x%08x" (EAX only) on the console, flushed, and RIP moves on. */
    @Test
    public void dwordOutIsLogged() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, out(v, 0xE0, 4, 0xFFFF_FFFF_CAFE_F00DL));
        assertEquals("report: 0xcafef00d\n", v.consoleText());
        assertEquals(1, v.consoleFlushes());
        assertEquals(rip + 2, v.rip());
    }

    /** A byte OUT records AL, zero-extended. */
    @Test
    public void byteOutRecordsAl() throws Exception {
        FakeVCpu v = new FakeVCpu();
        out(v, 0xE0, 1, 0x1234);
        assertEquals("report: 0x00000034\n", v.consoleText());
    }

    /** Another port: PASS, nothing logged. */
    @Test
    public void otherPortsPass() throws Exception {
        FakeVCpu v = new FakeVCpu();
        assertEquals(ExitAction.PASS, out(v, 0xE1, 4, 1));
        assertEquals("", v.consoleText());
    }
}
