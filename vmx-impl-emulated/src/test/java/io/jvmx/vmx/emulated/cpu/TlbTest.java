package io.jvmx.vmx.emulated.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import org.junit.Before;
import org.junit.Test;

/**
 * The TLB of {@link Mmu} (SDM Vol. 3A, 4.10): what it keeps, counted in page walks. The guest test kernel sys-paging
 * checks, from inside a guest, every invalidation the SDM requires; whether a translation is kept cannot be seen
 * there (a processor may drop one at any time), so it is checked here: a translation is walked once and then reused;
 * global translations survive MOV to CR3, translations of other PCIDs survive a PCID switch, and INVLPG, INVPCID and
 * the invalidating CR writes drop exactly what the SDM says (4.10.4.1).
 */
public class TlbTest {
    private static final long PML4 = 0x1000, PDPT = 0x2000, PD = 0x3000, PT = 0x4000;
    /** Linear 0x200000-0x3FFFFF in 4-KiB pages (PD[1] -> PT), 0x400000-0x5FFFFF one 2-MiB page (PD[2]). */
    private static final long SMALL = 0x200000, LARGE = 0x400000;

    private final CpuState s = new CpuState();
    private final PhysicalMemory mem = ByteBufferPhysicalMemory.allocate(8L << 20);
    private final CpuFault fault = new CpuFault();
    private final Mmu m = new Mmu(s, mem, (gpa, access, linear, valid, paging) -> gpa, fault);

    @Before
    public void fourLevelPaging() {
        m.debug = new DebugRegisters(s);
        mem.write64(PML4, PDPT | 3);
        mem.write64(PDPT, PD | 3);
        mem.write64(PD + 8, PT | 3);
        mem.write64(PD + 16, 0x600000 | 0x83);
        for (int i = 0; i < 512; i++) {
            mem.write64(PT + 8L * i, (0x100000 + 0x1000L * i) | 3);
        }
        s.cr0 = Cr0.PE | Cr0.PG | Cr0.WP | Cr0.ET | Cr0.NE;
        s.cr4 = Cr4.PAE;
        s.efer = Efer.LME | Efer.LMA | Efer.NXE;
        s.cr3 = PML4;
        m.flush();
    }

    private long walksFor(long linear) {
        long before = m.walks;
        m.translate(linear, Mmu.READ, Mmu.SUP, 8);
        return m.walks - before;
    }

    private void pte(long linear, long value) {
        mem.write64(PT + ((linear - SMALL) >>> 12) * 8, value);
    }

    @Test
    public void aTranslationIsWalkedOnceThenReused() {
        assertEquals(1, walksFor(SMALL));
        assertEquals(0, walksFor(SMALL + 0x10));
        assertEquals("another page walks", 1, walksFor(SMALL + 0x1000));
        assertEquals(0x100000 + 0x123, m.translate(SMALL + 0x123, Mmu.READ, Mmu.SUP, 1));
    }

    @Test
    public void globalTranslationsSurviveMovToCr3AndNothingElseDoes() {
        s.cr4 |= Cr4.PGE;
        m.flush();
        pte(SMALL, 0x100000 | 3 | 0x100);
        walksFor(SMALL);
        walksFor(SMALL + 0x1000);
        m.cr3Loaded(true);
        assertEquals("global: kept over MOV to CR3 (SDM 4.10.4.1)", 0, walksFor(SMALL));
        assertEquals("non-global: gone", 1, walksFor(SMALL + 0x1000));
        m.invalidatePage(SMALL);
        assertEquals("INVLPG drops a global translation", 1, walksFor(SMALL));
    }

    @Test
    public void translationsAreTaggedWithThePcid() {
        s.cr4 |= Cr4.PCIDE;
        s.cr3 = PML4 | 1;
        m.cr3Loaded(true);
        walksFor(SMALL);
        s.cr3 = PML4 | 2;
        m.cr3Loaded(true);
        assertEquals("PCID 2 has no translation made under PCID 1", 1, walksFor(SMALL));
        walksFor(SMALL + 0x1000);
        s.cr3 = PML4 | 1;
        m.cr3Loaded(false);
        assertEquals("back to PCID 1 with CR3[63] = 1: its translations were kept", 1, walksFor(SMALL));
        walksFor(SMALL + 0x2000);
        s.cr3 = PML4 | 2;
        m.cr3Loaded(false);
        assertEquals("PCID 2's translation of another page was kept", 0, walksFor(SMALL + 0x1000));
        s.cr3 = PML4 | 1;
        m.cr3Loaded(true);
        assertEquals("MOV to CR3 with bit 63 = 0 drops the PCID's translations", 1, walksFor(SMALL + 0x2000));
    }

    @Test
    public void aGlobalTranslationServesEveryPcid() {
        s.cr4 |= Cr4.PCIDE | Cr4.PGE;
        s.cr3 = PML4 | 1;
        m.flush();
        pte(SMALL, 0x100000 | 3 | 0x100);
        walksFor(SMALL);
        s.cr3 = PML4 | 7;
        m.cr3Loaded(true);
        assertEquals(0, walksFor(SMALL));
    }

    @Test
    public void invlpgAnywhereInALargePageDropsEveryPieceOfIt() {
        walksFor(LARGE);
        walksFor(LARGE + 0x5000);
        walksFor(LARGE + 0x1F_F000);
        walksFor(SMALL);
        assertEquals(0, walksFor(LARGE + 0x5000));
        m.invalidatePage(LARGE + 0x10_0000);
        assertEquals(1, walksFor(LARGE));
        assertEquals(1, walksFor(LARGE + 0x5000));
        assertEquals(1, walksFor(LARGE + 0x1F_F000));
        assertEquals("a 4-KiB page elsewhere is kept", 0, walksFor(SMALL));
    }

    @Test
    public void invpcidDropsWhatEachTypeSays() {
        s.cr4 |= Cr4.PCIDE | Cr4.PGE;
        s.cr3 = PML4 | 5;
        m.flush();
        pte(SMALL + 0x3000, (0x100000 + 0x3000) | 3 | 0x100); // global
        walksFor(SMALL);
        walksFor(SMALL + 0x1000);
        walksFor(SMALL + 0x3000);
        m.invpcid(0, 5, SMALL);
        assertEquals("type 0: that address", 1, walksFor(SMALL));
        assertEquals("type 0: not another", 0, walksFor(SMALL + 0x1000));
        m.invpcid(1, 6, 0);
        assertEquals("type 1 for another PCID: nothing of PCID 5", 0, walksFor(SMALL + 0x1000));
        m.invpcid(1, 5, 0);
        assertEquals("type 1: the PCID's non-global translations", 1, walksFor(SMALL + 0x1000));
        assertEquals("type 1 keeps globals", 0, walksFor(SMALL + 0x3000));
        m.invpcid(3, 0, 0);
        assertEquals("type 3 keeps globals", 0, walksFor(SMALL + 0x3000));
        assertEquals("type 3 drops the rest", 1, walksFor(SMALL));
        m.invpcid(2, 0, 0);
        assertEquals("type 2 drops globals too", 1, walksFor(SMALL + 0x3000));
    }

    @Test
    public void aWriteThroughACleanTranslationWalksToSetTheDirtyFlag() {
        walksFor(SMALL);
        assertEquals(0, mem.read64(PT) & 0x40);
        long before = m.walks;
        m.translate(SMALL, Mmu.WRITE, Mmu.SUP, 8);
        assertEquals(1, m.walks - before);
        assertEquals(0x60, mem.read64(PT) & 0x60);
        before = m.walks;
        m.translate(SMALL + 8, Mmu.WRITE, Mmu.SUP, 8);
        assertEquals("dirty now: no walk", 0, m.walks - before);
    }

    @Test
    public void aPageFaultDropsTheStaleTranslationOfItsAddress() {
        walksFor(SMALL);
        pte(SMALL, 0x100000 | 1); // read-only now; the TLB still says writable-until-dirty
        CpuFault f = assertThrows(CpuFault.class, () -> m.translate(SMALL, Mmu.WRITE, Mmu.SUP, 8));
        assertEquals(Exceptions.PF, f.vector);
        pte(SMALL, 0);
        assertThrows("the read no longer uses the dropped translation", CpuFault.class,
                () -> m.translate(SMALL, Mmu.READ, Mmu.SUP, 8));
    }

    /**
     * PSE-36 (SDM 4.3, Table 4-4): a 4-MiB page's physical address takes bits 39:32 from PDE bits 20:13. Guest RAM of
     * the test kernels ends at 16 MiB, so this is checked here, with a bus that puts guest-physical 4 GiB at host
     * 0x400000.
     */
    @Test
    public void pse36SuppliesPhysicalAddressBits39To32() {
        CpuState s32 = new CpuState();
        Mmu m32 = new Mmu(s32, mem, (gpa, access, linear, valid, paging) -> gpa >= (1L << 32)
                ? gpa - (1L << 32) + 0x400000 : gpa, fault);
        m32.debug = new DebugRegisters(s32);
        mem.write32(0x5000 + 4, 0x0040_0000 | 0x83 | (1 << 13)); // PDE[1]: 4 MiB at 4 GiB + 4 MiB
        s32.cr0 = Cr0.PE | Cr0.PG | Cr0.ET;
        s32.cr4 = Cr4.PSE;
        s32.cr3 = 0x5000;
        m32.flush();
        assertEquals(0x400000 + 0x400000 + 0x1234, m32.translate(0x40_1234, Mmu.READ, Mmu.SUP, 4));
        mem.write32(0x5000 + 4, 0x0040_0000 | 0x83 | (1 << 21));
        m32.invalidatePage(0x40_0000);
        CpuFault f = assertThrows(CpuFault.class, () -> m32.translate(0x40_1234, Mmu.READ, Mmu.SUP, 4));
        assertEquals("bit 21 of a 4-MiB PDE is reserved: #PF(P|RSVD)", Mmu.PF_P | Mmu.PF_RSVD, f.errorCode);
    }
}
