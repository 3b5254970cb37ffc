package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * VmxVcpu.setup: the VMCS x86_vcpu's setup_vmcs writes (SDM Vol. 3C 25.4 guest state, 25.5 host state, 25.6-25.8
 * controls), each control field checked against the fake's TRUE capability MSRs (SDM Vol. 3D A.3-A.5).
 */
public class VmxVcpuSetupTest {

    private static long f(Fixture x, VmcsField field) {
        return x.vcpu.vmread(field);
    }

    private static void assertBits(String what, long value, int bits) {
        assertEquals(what + String.format(" %#x should have %#x", value, bits), bits, value & bits);
    }

    private static void assertNoBits(String what, long value, int bits) {
        assertEquals(what + String.format(" %#x should not have %#x", value, bits), 0, value & bits);
    }

    @Test
    public void controlsAreThoseOfTheCrateCorrectedAndValidForTheCapabilityMsrs() {
        Fixture x = new Fixture(null, 20_000);
        assertEquals(VCpuState.READY, x.vcpu.state());

        int pin = (int) f(x, VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
        assertTrue(x.cpu.cap(Msr.IA32_VMX_TRUE_PINBASED_CTLS).isValid(pin));
        assertBits("pin-based", pin, PinBasedControls.NMI_EXITING | PinBasedControls.EXTERNAL_INTERRUPT_EXITING);
        // x86_vcpu writes a preemption-timer value but never sets "activate VMX-preemption timer" (pin-based bit 6),
        // so its timer never fires. jvmx arms it whenever a time slice is configured (SDM 25.6.1, Table 25-5).
        assertBits("pin-based bit 6 (activate VMX-preemption timer)", pin, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        assertEquals(20_000, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));

        int primary = (int) f(x, VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        assertTrue(x.cpu.cap(Msr.IA32_VMX_TRUE_PROCBASED_CTLS).isValid(primary));
        assertBits("primary", primary, PrimaryProcessorBasedControls.USE_IO_BITMAPS
                | PrimaryProcessorBasedControls.USE_MSR_BITMAPS | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS);
        // CR3-load/store exiting are default1 in IA32_VMX_PROCBASED_CTLS and 0 is allowed only by the TRUE MSR
        // (SDM Vol. 3D A.3.2): clearing them shows the TRUE MSR was used
        assertNoBits("primary", primary, PrimaryProcessorBasedControls.CR3_LOAD_EXITING
                | PrimaryProcessorBasedControls.CR3_STORE_EXITING | PrimaryProcessorBasedControls.HLT_EXITING
                | PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
        // CR8 is the local APIC's TPR (SDM Vol. 3A 11.8.6), and the guest's local APIC is the VMM's: MOV CR8 exits
        assertBits("primary", primary, PrimaryProcessorBasedControls.CR8_LOAD_EXITING
                | PrimaryProcessorBasedControls.CR8_STORE_EXITING);

        int secondary = (int) f(x, VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        assertTrue(x.cpu.cap(Msr.IA32_VMX_PROCBASED_CTLS2).isValid(secondary));
        assertEquals("EPT, unrestricted guest, RDTSCP (the fake has it in CPUID.80000001H:EDX[27])",
                SecondaryProcessorBasedControls.ENABLE_EPT | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST
                        | SecondaryProcessorBasedControls.ENABLE_RDTSCP, secondary);

        int exit = (int) f(x, VmcsField.PRIMARY_VM_EXIT_CONTROLS);
        assertTrue(x.cpu.cap(Msr.IA32_VMX_TRUE_EXIT_CTLS).isValid(exit));
        assertBits("exit", exit, VmExitControls.HOST_ADDRESS_SPACE_SIZE | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT
                | VmExitControls.SAVE_IA32_PAT | VmExitControls.LOAD_IA32_PAT | VmExitControls.SAVE_IA32_EFER
                | VmExitControls.LOAD_IA32_EFER | VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE);

        int entry = (int) f(x, VmcsField.VM_ENTRY_CONTROLS);
        assertTrue(x.cpu.cap(Msr.IA32_VMX_TRUE_ENTRY_CTLS).isValid(entry));
        assertBits("entry", entry, VmEntryControls.LOAD_IA32_PAT | VmEntryControls.LOAD_IA32_EFER);
        assertNoBits("entry (real mode start)", entry, VmEntryControls.IA32E_MODE_GUEST);

        assertEquals("exception bitmap: #UD only, as x86_vcpu", 1L << 6, f(x, VmcsField.EXCEPTION_BITMAP));
        assertEquals(x.memory.eptPointer(), f(x, VmcsField.EPT_POINTER));
        assertEquals(x.vcpu.ioBitmap().addressA(), f(x, VmcsField.IO_BITMAP_A));
        assertEquals(x.vcpu.ioBitmap().addressB(), f(x, VmcsField.IO_BITMAP_B));
        assertEquals(x.vcpu.msrBitmap().address(), f(x, VmcsField.MSR_BITMAPS));
        assertEquals(0, f(x, VmcsField.VM_EXIT_MSR_STORE_COUNT));
        assertEquals(0, f(x, VmcsField.VM_ENTRY_MSR_LOAD_COUNT));
        assertEquals(0, f(x, VmcsField.CR3_TARGET_COUNT));
    }

    /**
     * The MSR bitmap (SDM 25.6.9): writes of IA32_EFER exit (the MSR handler checks them), and so does every access to
     * the local APIC's MSRs, which the VMM's APIC device answers (SDM 29.5); the rest is the processor's own.
     */
    @Test
    public void msrBitmapInterceptsEferWritesAndTheLocalApicsMsrs() {
        Fixture x = new Fixture(null, 20_000);
        assertTrue(x.vcpu.isMsrWriteIntercepted(Msr.IA32_EFER));
        assertFalse(x.vcpu.isMsrReadIntercepted(Msr.IA32_EFER));
        for (int msr : new int[] {Msr.IA32_APIC_BASE, Msr.IA32_TSC_DEADLINE, 0x800, 0x802, 0x80B, 0x830, 0x83F, 0x8FF}) {
            assertTrue(String.format("RDMSR %#x exits", msr), x.vcpu.isMsrReadIntercepted(msr));
            assertTrue(String.format("WRMSR %#x exits", msr), x.vcpu.isMsrWriteIntercepted(msr));
        }
        for (int msr : new int[] {Msr.IA32_PAT, Msr.IA32_MTRR_DEF_TYPE, Msr.IA32_MISC_ENABLE, 0x7FF, 0x900}) {
            assertFalse(String.format("RDMSR %#x is the processor's", msr), x.vcpu.isMsrReadIntercepted(msr));
            assertFalse(String.format("WRMSR %#x is the processor's", msr), x.vcpu.isMsrWriteIntercepted(msr));
        }
    }

    @Test
    public void withoutTimeSliceTheTimerAndItsSaveControlAreOff() {
        Fixture x = new Fixture(null, 0);
        assertNoBits("pin-based", f(x, VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS),
                PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        // SDM 26.2.1.2: "save VMX-preemption timer value" must be 0 when the timer is not active
        assertNoBits("exit", f(x, VmcsField.PRIMARY_VM_EXIT_CONTROLS), VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE);
        x.cpu.script((c, r) -> c.exit(io.jvmx.vmx.api.exit.ExitReason.CPUID, 0, 2));
        x.vcpu.run(); // the fake's VM-entry control checks accept it
        assertEquals(1, x.cpu.entries.size());
    }

    @Test
    public void rdtscpOnlyWhenTheProcessorHasIt() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.cpuid.put(0x8000_0001L << 32, CpuidResult.ZERO);
        Fixture x = new Fixture(cpu, null, 0);
        assertNoBits("secondary", f(x, VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS),
                SecondaryProcessorBasedControls.ENABLE_RDTSCP);
    }

    @Test
    public void guestStartsInRealModeAtEntryAndHostStateComesFromTheProcessor() {
        Fixture x = new Fixture(null, 0);
        // x86_vcpu setup_vmcs_guest; SDM 25.4.1
        assertEquals(0x8000, x.vcpu.rip());
        assertEquals(0x2, f(x, VmcsField.GUEST_RFLAGS));
        assertEquals(0, f(x, VmcsField.GUEST_CS_SELECTOR));
        assertEquals(0, f(x, VmcsField.GUEST_CS_BASE));
        assertEquals(0xFFFF, f(x, VmcsField.GUEST_CS_LIMIT));
        assertEquals(0x9B, f(x, VmcsField.GUEST_CS_ACCESS_RIGHTS));
        assertEquals(0x93, f(x, VmcsField.GUEST_SS_ACCESS_RIGHTS));
        assertEquals(0x8B, f(x, VmcsField.GUEST_TR_ACCESS_RIGHTS));
        assertEquals(0x82, f(x, VmcsField.GUEST_LDTR_ACCESS_RIGHTS));
        assertEquals(-1L, f(x, VmcsField.VMCS_LINK_POINTER));
        assertEquals(0x400, f(x, VmcsField.GUEST_DR7));
        assertEquals(0, f(x, VmcsField.GUEST_IA32_EFER));
        assertEquals(x.cpu.rdmsr(Msr.IA32_PAT), f(x, VmcsField.GUEST_IA32_PAT));
        assertEquals(VmCpuMode.REAL, x.vcpu.cpuMode());
        // the guest reads CR0 = NW|CD|ET as it would after reset; the processor runs it without NW and CD
        assertEquals(Cr0.NW | Cr0.CD | Cr0.ET, x.vcpu.guestCr(0));
        long cr0 = f(x, VmcsField.GUEST_CR0);
        assertEquals(0, cr0 & (Cr0.NW | Cr0.CD | Cr0.PE | Cr0.PG));
        assertEquals(Cr0.NE, cr0 & Cr0.NE);
        assertEquals(Cr4.VMXE, f(x, VmcsField.GUEST_CR4));
        assertEquals(0, x.vcpu.guestCr(4));
        // x86_vcpu overwrites the CR4 guest/host mask with 0 at the end of setup_vmcs_control; jvmx keeps the mask
        // set_cr computed (plus PAE), or the guest could clear CR4.VMXE's shadow bits unnoticed
        assertEquals(Cr4.PAE | Cr4.VMXE, f(x, VmcsField.CR4_GUEST_HOST_MASK) & (Cr4.PAE | Cr4.VMXE));

        assertEquals(x.cpu.hostContext().rip(), f(x, VmcsField.HOST_RIP));
        assertEquals(x.cpu.hostContext().cr3(), f(x, VmcsField.HOST_CR3));
        assertEquals(x.cpu.hostContext().efer(), f(x, VmcsField.HOST_IA32_EFER));
        assertEquals(0x18, f(x, VmcsField.HOST_TR_SELECTOR));
    }

    @Test
    public void bitmapsInterceptEveryPortAndOnlyEferWrites() {
        Fixture x = new Fixture(null, 0);
        // x86_vcpu's I/O bitmap cannot hold 0x2000-0x7FFF and 0xA000-0xFFFF; jvmx's covers all 65,536 ports
        for (int port : new int[] {0, 0x3F8, 0xF4, 0x2000, 0x7FFF, 0x8000, 0xA000, 0xFFFF}) {
            assertTrue("port " + Integer.toHexString(port), x.vcpu.isIoIntercepted(port));
        }
        x.vcpu.setIoIntercept(0x80, 1, false);
        assertFalse(x.vcpu.isIoIntercepted(0x80));
        assertTrue(x.vcpu.isMsrWriteIntercepted(Msr.IA32_EFER));
        assertFalse(x.vcpu.isMsrReadIntercepted(Msr.IA32_EFER));
        assertFalse(x.vcpu.isMsrWriteIntercepted(Msr.IA32_PAT));
        x.vcpu.setMsrIntercept(Msr.IA32_PAT, true, false);
        assertTrue(x.vcpu.isMsrReadIntercepted(Msr.IA32_PAT));
    }

    @Test
    public void setupLeavesTheVmcsClearAndBindMakesItCurrent() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        VmxPerCpuState s = new VmxPerCpuState(cpu);
        s.hardwareEnable();
        io.jvmx.vmx.core.memory.GuestMemory m = io.jvmx.vmx.core.memory.GuestMemory.allocate(cpu.memory(), 1 << 20);
        long free = cpu.memory().freeFrameCount();
        VmxVcpu v = VmxVcpu.create(s, 3, m, null, new java.io.ByteArrayOutputStream(), 0);
        assertEquals(VCpuState.CREATED, v.state());
        assertEquals(FakeVmxProcessor.REVISION, cpu.memory().read32(v.vmcsRegion()));
        v.setup(m.eptPointer(), 0x8000);
        assertEquals("unbound after setup (x86_vcpu setup_vmcs ends with unbind)", -1, cpu.vmptrst());
        v.bindToCurrentProcessor();
        assertEquals(v.vmcsRegion(), cpu.vmptrst());
        v.unbindFromCurrentProcessor();
        v.free();
        assertEquals("VMCS region and bitmaps returned", free, cpu.memory().freeFrameCount());
    }
}
