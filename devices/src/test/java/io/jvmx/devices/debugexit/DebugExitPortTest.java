package io.jvmx.devices.debugexit;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;

/** The debug-exit port 0xF4; I/O exit qualification SDM Vol. 3C 28.2.1 Table 28-5, OUT per SDM Vol. 2B "OUT". */
public class DebugExitPortTest {

    private final DebugExitPort device = new DebugExitPort();

    private ExitAction out(FakeVCpu v, int port, int size, long rax) throws Exception {
        v.writeGpr(GeneralRegisters.RAX, rax);
        long q = new IoQualification(size, false, false, false, true, port).encode();
        return device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 2)); // OUT imm8, AL/AX/EAX: 2 bytes (+66)
    }

    /** An OUT of a byte ends the guest with exit code AL and a reason naming the value and port. */
    @Test
    public void byteOutTerminatesWithAl() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, out(v, 0xF4, 1, 0xFFFF_FF07L));
        assertEquals(Integer.valueOf(7), v.exitCode());
        assertEquals("guest wrote 7 to the debug-exit port 0xf4", v.terminationReason());
        assertEquals(rip + 2, v.rip());
    }

    /** Word and doubleword OUTs give AX and EAX as the exit code (size from the qualification, bits 2:0). */
    @Test
    public void wordAndDwordOutTerminateWithAxAndEax() throws Exception {
        FakeVCpu w = new FakeVCpu();
        out(w, 0xF4, 2, 0xABCD_1234L);
        assertEquals(Integer.valueOf(0x1234), w.exitCode());
        FakeVCpu d = new FakeVCpu();
        out(d, 0xF4, 4, 0x1_0000_0100L);
        assertEquals(Integer.valueOf(0x100), d.exitCode());
        assertEquals("guest wrote 256 to the debug-exit port 0xf4", d.terminationReason());
    }

    /** Another port: PASS, nothing happens. */
    @Test
    public void otherPortsPass() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.PASS, out(v, 0xF5, 1, 1));
        assertEquals(ExitAction.PASS, out(v, 0x3F8, 1, 1));
        assertFalse(v.terminated());
        assertNull(v.exitCode());
        assertEquals(rip, v.rip());
    }

    /** IN from the port reads all ones and does not end the guest. */
    @Test
    public void inReadsAllOnes() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long q = new IoQualification(1, true, false, false, true, 0xF4).encode();
        assertEquals(ExitAction.HANDLED, device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 2)));
        assertEquals(0xFF, v.readGpr(GeneralRegisters.RAX));
        assertFalse(v.terminated());
    }
}
