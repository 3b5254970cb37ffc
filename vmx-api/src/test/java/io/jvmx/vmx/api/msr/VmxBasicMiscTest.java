package io.jvmx.vmx.api.msr;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/** IA32_VMX_BASIC (SDM Vol. 3D A.1), IA32_VMX_MISC (A.6) and IA32_VMX_EPT_VPID_CAP (A.10). */
public class VmxBasicMiscTest {

    @Test
    public void basicDecodesEveryField() {
        // revision 4, 1024-byte regions, dual monitor, write-back, INS/OUTS information, TRUE controls
        long raw = 0x00DA_0400_0000_0004L;
        VmxBasic b = VmxBasic.decode(raw);
        assertEquals(4, b.revisionId());
        assertEquals(1024, b.regionSize());
        assertFalse(b.physicalAddress32());
        assertTrue(b.dualMonitor());
        assertEquals(VmxBasic.MEMORY_TYPE_WRITE_BACK, b.memoryType());
        assertTrue(b.insOutsInfo());
        assertTrue(b.trueControls());
        assertFalse(b.noErrorCodeCheck());
        assertEquals(raw, b.encode());
    }

    @Test
    public void basicSingleBits() {
        assertTrue(VmxBasic.decode(1L << 48).physicalAddress32());
        assertTrue(VmxBasic.decode(1L << 55).trueControls());
        assertFalse(VmxBasic.decode(~(1L << 55)).trueControls());
        assertTrue(VmxBasic.decode(1L << 56).noErrorCodeCheck());
        assertEquals(4096, VmxBasic.decode(0x1000L << 32).regionSize());
        assertEquals("bit 31 is not part of the revision", 0x7FFF_FFFF, VmxBasic.decode(0xFFFF_FFFFL).revisionId());
        VmxBasic b = new VmxBasic(0x12345, 4096, true, false, 6, false, true, true);
        assertEquals(b, VmxBasic.decode(b.encode()));
    }

    @Test
    public void miscDecodesEveryField() {
        // rate 5, stores LMA, HLT/shutdown/wait-for-SIPI, 4 CR3 targets, 512 MSRs, VMWRITE any, 0-length injection
        long raw = 0x1234_5678_6004_01E5L;
        VmxMisc m = VmxMisc.decode(raw);
        assertEquals(5, m.preemptionTimerRate());
        assertTrue(m.storesLma());
        assertEquals(7, m.activityStates());
        assertEquals(4, m.cr3TargetCount());
        assertEquals(0, m.maxMsrListSize());
        assertTrue(m.vmwriteAnyField());
        assertTrue(m.zeroLengthInjection());
        assertEquals(0x1234_5678, m.msegRevisionId());
        assertEquals(raw, m.encode());
    }

    @Test
    public void miscFieldsAtTheirBits() {
        assertEquals(0x1F, VmxMisc.decode(0x1F).preemptionTimerRate());
        assertEquals(0x1FF, VmxMisc.decode(0x1FFL << 16).cr3TargetCount());
        assertEquals(7, VmxMisc.decode(7L << 25).maxMsrListSize());
        assertFalse(VmxMisc.decode(~(1L << 29)).vmwriteAnyField());
        assertEquals(0xFFFF_FFFF, VmxMisc.decode(0xFFFF_FFFF_0000_0000L).msegRevisionId());
        VmxMisc m = new VmxMisc(5, false, 1, 0, 1, false, false, -1);
        assertEquals(m, VmxMisc.decode(m.encode()));
    }

    @Test
    public void eptVpidCapBits() {
        EptVpidCap cap = new EptVpidCap((1L << 6) | (1L << 14) | (1L << 17) | (1L << 21) | (1L << 25) | (1L << 26)
                | (1L << 32));
        assertTrue(cap.pageWalkLength4());
        assertFalse(cap.pageWalkLength5());
        assertTrue(cap.memoryTypeWriteBack());
        assertFalse(cap.memoryTypeUncacheable());
        assertTrue(cap.pdpte1GbPages());
        assertFalse(cap.pde2MbPages());
        assertTrue(cap.accessedDirtyFlags());
        assertTrue(cap.inveptSingleContext() && cap.inveptAllContext());
        assertFalse(cap.invept());
        assertTrue(cap.invvpid());
    }
}
