package io.jvmx.vmx.emulated.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.exit.EptViolationQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.emulated.cpu.GuestPhysicalBus;
import io.jvmx.vmx.emulated.cpu.VmExitSignal;

import org.junit.Test;

/** The EPT walk: SDM Vol. 3C 29.3 (translation, misconfigurations 29.3.3.1, violations 29.3.3.2, A/D 29.3.5). */
public class EptWalkerTest {
    private final VmxFixture fx = new VmxFixture();
    private final NonRootMonitor monitor = fx.cpu.monitor();
    private final EptWalker ept = new EptWalker(fx.memory, monitor);

    private static final int R = GuestPhysicalBus.ACCESS_READ;
    private static final int W = GuestPhysicalBus.ACCESS_WRITE;
    private static final int X = GuestPhysicalBus.ACCESS_EXECUTE;

    private void arm(long eptp) {
        monitor.clearExit();
        ept.arm(true, eptp);
    }

    private ExitReason exitOf(long gpa, int access, long linear, boolean linearValid, boolean pagingStructure) {
        monitor.clearExit();
        try {
            long hpa = ept.translate(gpa, access, linear, linearValid, pagingStructure);
            fail("expected an EPT exit, got host-physical " + Long.toHexString(hpa));
            return null;
        } catch (VmExitSignal signal) {
            return ExitReason.of(monitor.exitReason).orElseThrow();
        }
    }

    /** SDM 29.3.2: a 4-KiB translation through all four levels. */
    @Test
    public void translatesMappedPages() {
        arm(fx.eptPointer);
        assertEquals(fx.guestRam + 0x8123, ept.translate(0x8123, X, 0x8123, true, false));
        assertEquals(fx.guestRam + 0x1F_FFFF, ept.translate(0x1F_FFFF, W, 0, true, false));
        // the cached translation gives the same answer
        assertEquals(fx.guestRam + 0x8124, ept.translate(0x8124, R, 0, false, false));
    }

    /** SDM 29.3.3.2 and Table 28-7: a write to an unmapped page records access type, permissions, GPA and GLA. */
    @Test
    public void violationOnUnmappedPage() {
        arm(fx.eptPointer);
        assertEquals(ExitReason.EPT_VIOLATION, exitOf(0x30_0000, W, 0xFFFF_8000_0030_0000L, true, false));
        EptViolationQualification q = EptViolationQualification.decode(monitor.exitQualification);
        assertTrue(q.write());
        assertTrue(!q.read() && !q.fetch() && !q.readable() && !q.writable() && !q.executable());
        assertTrue(q.linearValid());
        assertTrue(q.linearTranslation());
        assertEquals(0x30_0000, monitor.guestPhysicalAddress);
        assertEquals(0xFFFF_8000_0030_0000L, monitor.guestLinearAddress);
    }

    /** Table 28-7 bits 3-5: the permissions of the walk; bit 8 = 0 for a guest paging-structure access. */
    @Test
    public void violationReportsPermissions() {
        fx.mapEpt(0x5000, fx.guestRam + 0x5000, 0x1000, Ept.READ | Ept.EXECUTE);
        arm(fx.eptPointer);
        assertEquals(fx.guestRam + 0x5010, ept.translate(0x5010, R, 0, true, false));
        assertEquals(ExitReason.EPT_VIOLATION, exitOf(0x5010, W, 0x5010, true, false));
        assertEquals(2 | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 8), monitor.exitQualification);
        assertEquals(ExitReason.EPT_VIOLATION, exitOf(0x5018, W, 0x9000, true, true));
        assertEquals(2 | (1 << 3) | (1 << 5) | (1 << 7), monitor.exitQualification);
        // no linear address (e.g. an access during VM entry): bits 7 and 8 clear
        assertEquals(ExitReason.EPT_VIOLATION, exitOf(0x5018, W, 0, false, false));
        assertEquals(2 | (1 << 3) | (1 << 5), monitor.exitQualification);
    }

    /** SDM 29.3.3.1: write without read, execute-only (unsupported here), reserved bits and memory types. */
    @Test
    public void misconfigurations() {
        long pte = fx.eptEntryAddress(0x6000, 1);
        long wb = (long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT;
        long page = fx.guestRam + 0x6000;
        long[] bad = {
                page | Ept.WRITE | wb,                       // write-only
                page | Ept.WRITE | Ept.EXECUTE | wb,         // write+execute without read
                page | Ept.EXECUTE | wb,                     // execute-only: IA32_VMX_EPT_VPID_CAP bit 0 = 0
                page | Ept.READ | (2L << Ept.MEMORY_TYPE_SHIFT), // reserved memory type 2
                page | Ept.READ | (7L << Ept.MEMORY_TYPE_SHIFT), // reserved memory type 7
                page | (1L << 50) | Ept.READ | wb,           // address bit above MAXPHYADDR (46)
        };
        for (long entry : bad) {
            fx.memory.write64(pte, entry);
            arm(fx.eptPointer);
            assertEquals(Long.toHexString(entry), ExitReason.EPT_MISCONFIGURATION, exitOf(0x6abc, R, 0, false, false));
            assertEquals(0x6abc, monitor.guestPhysicalAddress);
        }
        // a PML4E with reserved bit 7 set
        long pml4e = fx.eptEntryAddress(0, 4);
        fx.memory.write64(pml4e, fx.memory.read64(pml4e) | Ept.LARGE_PAGE);
        arm(fx.eptPointer);
        assertEquals(ExitReason.EPT_MISCONFIGURATION, exitOf(0x8000, X, 0, false, false));
    }

    /** SDM 29.3.2: 2-MiB (PDE bit 7) and 1-GiB (PDPTE bit 7) leaves. */
    @Test
    public void largePages() {
        long wb = (long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT;
        long twoMeg = fx.guestRam & ~0x1F_FFFFL; // any 2-MiB aligned host address works for the arithmetic
        long pde = fx.eptEntryAddress(0x4000_0000L, 2);
        fx.memory.write64(pde, twoMeg | Ept.LARGE_PAGE | Ept.READ | wb);
        long pdpte = fx.eptEntryAddress(0x80_0000_0000L - 0x4000_0000L, 3); // last GiB of the first 512 GiB
        fx.memory.write64(pdpte, Ept.LARGE_PAGE | Ept.READ | Ept.WRITE | wb);
        arm(fx.eptPointer);
        assertEquals(twoMeg + 0x12_3456, ept.translate(0x4000_0000L + 0x12_3456, R, 0, false, false));
        assertEquals(0x12_4321L, ept.translate(0x80_0000_0000L - 0x4000_0000L + 0x12_4321, W, 0, false, false));
        // bits 20:12 of a 2-MiB leaf are reserved
        fx.memory.write64(pde, twoMeg | 0x1000 | Ept.LARGE_PAGE | Ept.READ | wb);
        arm(fx.eptPointer);
        assertEquals(ExitReason.EPT_MISCONFIGURATION, exitOf(0x4000_0000L, R, 0, false, false));
    }

    /** SDM 29.3.5: with EPTP bit 6 the walk sets accessed flags and a write the leaf's dirty flag. */
    @Test
    public void accessedAndDirtyFlags() {
        long eptp = Ept.eptPointer(fx.eptPml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, true);
        arm(eptp);
        long pte = fx.eptEntryAddress(0x7000, 1);
        long pml4e = fx.eptEntryAddress(0x7000, 4);
        ept.translate(0x7000, R, 0, false, false);
        assertTrue((fx.memory.read64(pte) & Ept.ACCESSED) != 0);
        assertTrue((fx.memory.read64(pml4e) & Ept.ACCESSED) != 0);
        assertEquals(0, fx.memory.read64(pte) & Ept.DIRTY);
        ept.translate(0x7008, W, 0, false, false); // a cached translation must still set D
        assertTrue((fx.memory.read64(pte) & Ept.DIRTY) != 0);
        assertEquals(0, fx.memory.read64(pml4e) & Ept.DIRTY);
        // 29.3.3.2: with A/D on, a guest paging-structure read counts as a write
        fx.mapEpt(0x9000, fx.guestRam + 0x9000, 0x1000, Ept.READ);
        arm(eptp);
        assertEquals(ExitReason.EPT_VIOLATION, exitOf(0x9000, R, 0x1000, true, true));
        assertTrue(EptViolationQualification.decode(monitor.exitQualification).write());
    }

    /** INVEPT (and VM entry) drop cached translations: a changed mapping is seen afterwards. */
    @Test
    public void invalidationDropsCachedTranslations() {
        arm(fx.eptPointer);
        assertEquals(fx.guestRam + 0xA000, ept.translate(0xA000, R, 0, false, false));
        fx.unmapEpt(0xA000);
        assertEquals("cached", fx.guestRam + 0xA000, ept.translate(0xA000, R, 0, false, false));
        ept.invalidate();
        assertEquals(ExitReason.EPT_VIOLATION, exitOf(0xA000, R, 0, false, false));
    }

    /** Without EPT guest-physical is host-physical; beyond memory there is nothing (-1). */
    @Test
    public void withoutEpt() {
        ept.arm(false, 0);
        assertEquals(0x1234, ept.translate(0x1234, R, 0, false, false));
        assertEquals(-1, ept.translate(fx.memory.size() + 0x10, R, 0, false, false));
    }
}
