package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidResult;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** VmxPerCpuState: SDM Vol. 3C 24.6 (discovery), 24.7 (enabling), 24.8 (restrictions), Vol. 3D A.1, A.7, A.8. */
public class VmxPerCpuStateTest {

    private static String enableFailure(FakeVmxProcessor cpu) {
        try {
            new VmxPerCpuState(cpu).hardwareEnable();
        } catch (IllegalStateException e) {
            return e.getMessage();
        }
        fail("hardwareEnable should have failed");
        return null;
    }

    @Test
    public void enableLocksFeatureControlSetsVmxeAndExecutesVmxonWithRevisionedRegion() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        long freeBefore = cpu.memory().freeFrameCount();
        VmxPerCpuState s = new VmxPerCpuState(cpu);
        assertTrue(s.hasHardwareSupport());
        assertEquals(FakeVmxProcessor.REVISION, s.vmcsRevisionId());
        assertFalse(s.isEnabled());

        s.hardwareEnable();

        // SDM 24.7: an unlocked IA32_FEATURE_CONTROL gets "VMX outside SMX" and the lock bit
        long fc = cpu.rdmsr(Msr.IA32_FEATURE_CONTROL);
        assertEquals(Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX, fc);
        assertTrue(s.isEnabled());
        assertTrue((cpu.cr4 & Cr4.VMXE) != 0);
        assertTrue("XSAVE enabled for XCR0 switching, as x86_vcpu", (cpu.cr4 & Cr4.OSXSAVE) != 0);
        assertTrue(cpu.inVmxOperation());
        assertEquals(1, cpu.vmxonCount);
        // SDM 25.11.5: the region starts with the revision identifier
        assertEquals(FakeVmxProcessor.REVISION, cpu.memory().read32(s.vmxonRegion()));
        assertEquals(freeBefore - 1, cpu.memory().freeFrameCount());

        s.hardwareDisable();
        assertFalse(s.isEnabled());
        assertFalse(cpu.inVmxOperation());
        assertEquals(1, cpu.vmxoffCount);
        assertEquals(0, s.vmxonRegion());
        assertEquals("the VMXON region is returned", freeBefore, cpu.memory().freeFrameCount());
    }

    @Test
    public void lockedFeatureControlWithVmxOutsideSmxIsUsedAsIs() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.msrs.put(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        VmxPerCpuState s = new VmxPerCpuState(cpu);
        s.hardwareEnable(); // no WRMSR to the locked MSR (the fake would #GP)
        assertTrue(s.isEnabled());
    }

    @Test
    public void featureControlLockedWithoutVmxOutsideSmxFailsClearly() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.msrs.put(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_INSIDE_SMX);
        long free = cpu.memory().freeFrameCount();
        String msg = enableFailure(cpu);
        assertTrue(msg, msg.contains("IA32_FEATURE_CONTROL") && msg.contains("locked") && msg.contains("24.7"));
        assertFalse("CR4.VMXE stays clear", (cpu.cr4 & Cr4.VMXE) != 0);
        assertEquals(0, cpu.vmxonCount);
        assertEquals(free, cpu.memory().freeFrameCount());
    }

    @Test
    public void cr0OutsideFixedBitsFailsNamingTheBits() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.cr0 &= ~Cr0.NE; // CR0_FIXED0 has NE (bit 5): SDM 24.8, Vol. 3D A.7
        String msg = enableFailure(cpu);
        assertTrue(msg, msg.startsWith("host CR0 is not valid in VMX operation"));
        assertTrue(msg, msg.contains("bits 0x20 must be 1"));
        assertEquals(0, cpu.vmxonCount);
    }

    @Test
    public void cr4OutsideFixedBitsFailsNamingTheBits() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.cr4 |= Cr4.LA57; // bit 12 is 0 in the fake's CR4_FIXED1 (0x3727ff): SDM Vol. 3D A.8
        String msg = enableFailure(cpu);
        assertTrue(msg, msg.startsWith("host CR4 is not valid in VMX operation"));
        assertTrue(msg, msg.contains("bits 0x1000 must be 0"));
        assertEquals(0, cpu.vmxonCount);
    }

    @Test
    public void cr4IsCheckedWithVmxeSet() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        // FIXED0 requires VMXE: a host CR4 without it is fine, because VMXE is set before VMXON (SDM 24.8)
        assertEquals(0, cpu.cr4 & Cr4.VMXE);
        new VmxPerCpuState(cpu).hardwareEnable();
        assertEquals(1, cpu.vmxonCount);
    }

    @Test
    public void noVmxInCpuidFails() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.cpuid.put(1L << 32, new CpuidResult(0, 0, 0, 0));
        String msg = enableFailure(cpu);
        assertTrue(msg, msg.contains("does not support VMX") && msg.contains("24.6"));
    }

    @Test
    public void enablingTwiceAndDisablingWhenOffFail() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        VmxPerCpuState s = new VmxPerCpuState(cpu);
        s.hardwareEnable();
        String msg = enableFailure(cpu);
        assertTrue(msg, msg.contains("already turned on"));
        s.hardwareDisable();
        try {
            s.hardwareDisable();
            fail();
        } catch (IllegalStateException e) {
            assertEquals("VMX is not enabled", e.getMessage());
        }
    }
}
