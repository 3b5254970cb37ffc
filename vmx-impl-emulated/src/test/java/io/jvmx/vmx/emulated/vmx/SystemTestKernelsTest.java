package io.jvmx.vmx.emulated.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestExpectation;
import io.jvmx.vmx.api.exit.ExitReason;

import org.junit.Test;

/**
 * The system test kernels of the guests module (guests/src/main/asm/sys-*.S) on the software processor: each checks,
 * from inside the guest, one area of the system architecture against the SDM's rules and reports every check on
 * COM1. A run passes when it prints what its catalog entry expects (its summary line says how many checks held) and
 * exits as the entry says; a failing check's own line ("FAIL what: got ..., expected ...") is in the message.
 */
public class SystemTestKernelsTest {

    private static void runAsCatalogued(String name) {
        TestKernelRun run = TestKernelRun.run(name);
        GuestExpectation expected = BundledGuests.expectation(name).orElseThrow();
        String output = run.serial.toString();
        assertTrue(run.describe(), !output.contains("FAIL "));
        assertTrue(run.describe(), expected.matchesSerialOutput(output));
        if (expected.exitCode().isPresent()) {
            assertEquals(run.describe(), Integer.valueOf((int) expected.exitCode().getAsLong()), run.exitCode);
        } else {
            assertEquals(run.describe(), ExitReason.valueOf(expected.exitReason().orElseThrow()).number(),
                    run.finalExitReason);
        }
    }

    /** Paging (SDM Vol. 3A, chapter 4) in 64-bit mode, the TLB's required invalidations, PCIDs, #AC. */
    @Test(timeout = 120_000)
    public void sysPaging() {
        runAsCatalogued("sys-paging");
    }

    /** Single-step traps, the debug registers' breakpoints, RF, DR6/DR7, INT1/INT3/INTO (SDM Vol. 3B, ch. 18). */
    @Test(timeout = 120_000)
    public void sysDebug() {
        runAsCatalogued("sys-debug");
    }

    /** Segmentation and protection in 32-bit protected mode: loads, limits, call gates, the TSS (SDM Vol. 3A 3, 5, 7). */
    @Test(timeout = 120_000)
    public void sysSegments() {
        runAsCatalogued("sys-segments");
    }

    /** IA-32e mode: IST, 64-bit call gates, compatibility mode, SYSCALL/SYSENTER, exception classes (SDM 3A 5-7). */
    @Test(timeout = 120_000)
    public void sysLong() {
        runAsCatalogued("sys-long");
    }

    /** 32-bit paging with PSE and PAE paging with its PDPTE registers (SDM Vol. 3A, 4.3-4.4). */
    @Test(timeout = 120_000)
    public void sysPaging32() {
        runAsCatalogued("sys-paging32");
    }

    /**
     * Virtual-8086 mode (SDM Vol. 3A ch. 20): entered by IRET, left by events through ring-0 gates, 8086 segments, the
     * IOPL-sensitive instructions with and without CR4.VME, the redirection and I/O bit maps, paging; CR4.PVI; #AC by
     * data type (6.15, Table 6-7).
     */
    @Test(timeout = 120_000)
    public void sysVm86() {
        runAsCatalogued("sys-vm86");
    }

    /** An exception that cannot be delivered, nor the #GP, nor the #DF: a triple fault, which exits (SDM 6.15, 26.2). */
    @Test(timeout = 120_000)
    public void sysTripleFault() {
        runAsCatalogued("sys-triple-fault");
        TestKernelRun run = TestKernelRun.run("sys-triple-fault");
        assertEquals("nothing printed after the triple fault", "sys-triple-fault: IDT limit 0, now DIV by 0\n",
                run.serial.toString());
    }
}
