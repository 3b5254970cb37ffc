package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.GUEST_RIP;
import static io.jvmx.vmx.api.vmcs.VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS;
import static io.jvmx.vmx.api.vmcs.VmcsField.VM_EXIT_INSTRUCTION_LENGTH;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;

import java.lang.management.ManagementFactory;

import org.junit.Assume;
import org.junit.Test;

/**
 * The VM-exit path allocates nothing: a guest that exits on every iteration of a loop (an OUT to an intercepted
 * port) and a VMM loop that reads the exit, skips the instruction and resumes (VMREAD, VMWRITE, VMRESUME with its
 * entry checks, the interpreter's exit and entry) must not allocate once warm. Measured with the JVM's per-thread
 * allocation counter.
 * <pre>
 *   8000: 66 B9 xx xx xx xx   mov ecx, N
 *   8006: BA E0 00            mov dx, 0xE0
 *   8009: EE                  out dx, al       ; exits: port 0xE0 is set in I/O bitmap A
 *   800A: 66 49               dec ecx
 *   800C: 75 FB               jnz 0x8009
 *   800E: F4                  hlt
 * </pre>
 */
public class ExitPathAllocationTest {
    private static final int WARM_UP = 60_000;
    private static final int MEASURED = 60_000;

    @Test(timeout = 120_000)
    public void exitsAndEntriesAllocateNothing() {
        Assume.assumeTrue("this JVM has no per-thread allocation counter (com.sun.management.ThreadMXBean)",
                ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean);
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        Assume.assumeTrue("this JVM does not count allocations", threads.isThreadAllocatedMemorySupported()
                && threads.isThreadAllocatedMemoryEnabled());
        int n = WARM_UP + MEASURED;
        VmxFixture fx = new VmxFixture();
        fx.load(0x8000, VmxFixture.bytes(0x66, 0xB9, n & 0xFF, (n >>> 8) & 0xFF, (n >>> 16) & 0xFF, 0,
                0xBA, 0xE0, 0x00, 0xEE, 0x66, 0x49, 0x75, 0xFB, 0xF4));
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
        fx.memory.write8(fx.ioBitmapA + (0xE0 >>> 3), 1 << (0xE0 & 7));
        long thread = Thread.currentThread().getId();
        fx.cpu.vmlaunch(fx.guestRegisters);
        long before = 0;
        int exits = 0;
        while (fx.exitReason() == ExitReason.IO_INSTRUCTION.number()) {
            if (++exits == WARM_UP) {
                before = threads.getThreadAllocatedBytes(thread);
            }
            fx.write(GUEST_RIP, fx.read(GUEST_RIP) + fx.read(VM_EXIT_INSTRUCTION_LENGTH));
            fx.cpu.vmresume(fx.guestRegisters);
        }
        long allocated = threads.getThreadAllocatedBytes(thread) - before;
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(n, exits);
        // a few bytes in all are the counter's own noise (and rare JVM housekeeping); one object per exit is not
        assertTrue(allocated + " bytes allocated by " + MEASURED + " exit round trips", allocated < MEASURED / 4);
    }
}
