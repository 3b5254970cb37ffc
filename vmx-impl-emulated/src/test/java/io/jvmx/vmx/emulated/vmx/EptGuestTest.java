package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static io.jvmx.vmx.emulated.vmx.VmxFixture.code;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.exit.EptViolationQualification;
import io.jvmx.vmx.api.exit.ExitReason;

import org.junit.Test;

/**
 * EPT as a 64-bit guest with 4-level paging meets it (SDM Vol. 3C, 29.3): EPT violations with the qualification of
 * Table 28-7 for data reads and writes, instruction fetches and guest paging-structure accesses, the accessed and
 * dirty flags of EPTP bit 6 (29.3.5), and EPT misconfigurations (29.3.3.1).
 */
public class EptGuestTest {
    private static final long ENTRY = VmxFixture.GUEST_ENTRY;
    private final VmxFixture fx = new VmxFixture();

    private void run(String hex) {
        fx.longModeGuest(0);
        fx.load(ENTRY, code(hex));
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                | PrimaryProcessorBasedControls.HLT_EXITING);
        fx.cpu.vmlaunch(fx.guestRegisters);
    }

    private EptViolationQualification violation(long gpa) {
        assertEquals("exit reason", ExitReason.EPT_VIOLATION.number(), fx.exitReason());
        assertEquals("guest-physical address", gpa, fx.read(GUEST_PHYSICAL_ADDRESS));
        return EptViolationQualification.decode(fx.read(EXIT_QUALIFICATION));
    }

    private void map(long gpa, long permissions) {
        fx.mapEpt(gpa, fx.guestRam + gpa, 4096, permissions);
    }

    /**
     * Table 28-7: a write to a read-only page (bits 1 and 3 with 5, the page's R and X), a read of a not-present
     * page (bit 0, no permissions), a fetch from a read/write page (bits 2, 3, 4); each with a valid guest-linear
     * address of the translation itself (bits 7 and 8).
     */
    @Test(timeout = 10_000)
    public void violationsReportAccessAndPermissions() {
        map(0x20000, Ept.READ | Ept.EXECUTE);
        // movl $1,0x20010 / hlt
        run("c7 04 25 10 00 02 00 01 00 00 00  f4");
        EptViolationQualification q = violation(0x20010);
        assertTrue(q.write() && !q.read() && !q.fetch());
        assertTrue(q.readable() && !q.writable() && q.executable());
        assertTrue(q.linearValid() && q.linearTranslation());
        assertEquals(0x20010, fx.read(GUEST_LINEAR_ADDRESS));
        assertEquals(ENTRY, fx.read(GUEST_RIP));

        fx.unmapEpt(0x20000);
        fx.load(ENTRY, code("8b 04 25 08 00 02 00")); // mov 0x20008,%eax
        fx.cpu.vmresume(fx.guestRegisters);
        q = violation(0x20008);
        assertTrue(q.read() && !q.write() && !q.fetch());
        assertTrue(!q.readable() && !q.writable() && !q.executable());

        map(0x20000, Ept.READ | Ept.WRITE);
        fx.write(GUEST_RIP, 0x20000);
        fx.cpu.vmresume(fx.guestRegisters);
        q = violation(0x20000);
        assertTrue(q.fetch() && !q.read() && !q.write());
        assertTrue(q.readable() && q.writable() && !q.executable());
        assertTrue(q.linearValid() && q.linearTranslation());
    }

    /**
     * Table 28-7 bit 8 = 0: the guest's own page walk reads a page-directory page the EPT does not map; the
     * guest-linear address (bit 7) is that of the instruction being fetched.
     */
    @Test(timeout = 10_000)
    public void violationOnAGuestPagingStructure() {
        fx.unmapEpt(VmxFixture.LONG_MODE_PD);
        run("f4");
        EptViolationQualification q = violation(VmxFixture.LONG_MODE_PD);
        assertTrue(q.read() && !q.fetch());
        assertTrue(q.linearValid() && !q.linearTranslation());
        assertEquals(ENTRY, fx.read(GUEST_LINEAR_ADDRESS));
    }

    /**
     * SDM 29.3.5 with EPTP bit 6: the walk sets the accessed flag of every EPT entry it uses, a write the dirty flag
     * of the leaf; the guest's page-walk accesses count as writes (29.3.3.2), so its page-table pages become dirty.
     */
    @Test(timeout = 10_000)
    public void accessedAndDirtyFlags() {
        fx.write(EPT_POINTER, Ept.eptPointer(fx.eptPml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, true));
        long code = fx.eptEntryAddress(ENTRY, 1);
        long data = fx.eptEntryAddress(0x20000, 1);
        long unused = fx.eptEntryAddress(0x30000, 1);
        run("c7 04 25 10 00 02 00 01 00 00 00  f4"); // movl $1,0x20010 / hlt
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals("code: accessed, not dirty", Ept.ACCESSED, fx.memory.read64(code) & (Ept.ACCESSED | Ept.DIRTY));
        assertEquals("data: accessed and dirty", Ept.ACCESSED | Ept.DIRTY,
                fx.memory.read64(data) & (Ept.ACCESSED | Ept.DIRTY));
        assertEquals("untouched", 0, fx.memory.read64(unused) & (Ept.ACCESSED | Ept.DIRTY));
        assertTrue("the PML4 entry is accessed", (fx.memory.read64(fx.eptEntryAddress(ENTRY, 4)) & Ept.ACCESSED) != 0);
        long pd = fx.eptEntryAddress(VmxFixture.LONG_MODE_PD, 1);
        assertEquals("a guest paging structure is written by the walk", Ept.ACCESSED | Ept.DIRTY,
                fx.memory.read64(pd) & (Ept.ACCESSED | Ept.DIRTY));
    }

    /** SDM 29.3.3.1: a write-only EPT entry is a misconfiguration: exit 49 with the guest-physical address. */
    @Test(timeout = 10_000)
    public void misconfiguration() {
        map(0x20000, Ept.WRITE);
        run("8b 04 25 08 00 02 00"); // mov 0x20008,%eax
        assertEquals(ExitReason.EPT_MISCONFIGURATION.number(), fx.exitReason());
        assertEquals(0x20008, fx.read(GUEST_PHYSICAL_ADDRESS));
        assertEquals(ENTRY, fx.read(GUEST_RIP));
    }
}
