package io.jvmx.vmx.emulated.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.msr.EptVpidCap;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.HostContext;
import io.jvmx.vmx.api.spi.VmxProcessor;

import org.junit.Test;

/** The host logical processor in root operation: CPUID, MSRs (incl. SDM Vol. 3D Appendix A), CRs, XCR0. */
public class RootOperationTest {
    private final SoftwareVmxProcessor cpu = new SoftwareVmxProcessor(ByteBufferPhysicalMemory.allocate(1 << 20));

    private static void expectFault(int vector, Runnable r) {
        try {
            r.run();
            fail("expected fault " + vector);
        } catch (ProcessorFault f) {
            assertEquals(f.getMessage(), vector, f.vector());
        }
    }

    /** SDM Vol. 2A CPUID leaf 0 / 0x80000000: the vendor string and the maximum leaves. */
    @Test
    public void cpuidVendorAndLimits() {
        CpuidResult r = cpu.cpuid(0, 0);
        assertEquals(ProcessorModel.MAX_BASIC_LEAF, r.eax());
        String vendor = ascii(r.ebx()) + ascii(r.edx()) + ascii(r.ecx());
        assertEquals("JvmxSoftCPU!", vendor);
        assertEquals(0x8000_0008, cpu.cpuid(0x8000_0000, 0).eax());
        // above the maximum: the highest basic leaf's data
        assertEquals(cpu.cpuid(ProcessorModel.MAX_BASIC_LEAF, 0), cpu.cpuid(0x40, 0));
        CpuidResult sizes = cpu.cpuid(0x8000_0008, 0);
        assertEquals(ProcessorModel.PHYSICAL_ADDRESS_WIDTH, sizes.eax() & 0xFF);
        assertEquals(48, (sizes.eax() >>> 8) & 0xFF);
    }

    private static String ascii(int reg) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            sb.append((char) ((reg >>> (8 * i)) & 0xFF));
        }
        return sb.toString();
    }

    /** CPUID leaf 1: VMX (ECX bit 5) and XSAVE, OSXSAVE mirrors CR4; FPU and FXSR; no local APIC is claimed. */
    @Test
    public void cpuidLeaf1() {
        CpuidResult r = cpu.cpuid(1, 0);
        assertTrue((r.ecx() & (1 << 5)) != 0);
        assertTrue((r.ecx() & (1 << 26)) != 0);
        assertEquals(0, r.ecx() & (1 << 27));
        assertEquals(0, r.edx() & (1 << 9));
        assertTrue("MCE: CR4.MCE exists", (r.edx() & (1 << 7)) != 0);
        assertTrue("FPU: the x87 exists", (r.edx() & 1) != 0);
        assertTrue("FXSR: FXSAVE and FXRSTOR exist", (r.edx() & (1 << 24)) != 0);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.OSXSAVE);
        assertTrue((cpu.cpuid(1, 0).ecx() & (1 << 27)) != 0);
        CpuidResult ext = cpu.cpuid(0x8000_0001, 0);
        assertTrue("LM", (ext.edx() & (1 << 29)) != 0);
    }

    /**
     * CPUID leaf 7 sub-leaf 0 EBX names what the interpreter implements (SDM Vol. 2A CPUID, Table 3-8): FSGSBASE, BMI1,
     * SMEP, BMI2, INVPCID, RDSEED, ADX, SMAP, CLFLUSHOPT and CLWB (the differential test runs both cache-line
     * instructions against this machine's processor), and nothing of AVX2 or AVX-512, which it does not.
     */
    @Test
    public void cpuidLeaf7() {
        int ebx = cpu.cpuid(7, 0).ebx();
        int implemented = 1 | 1 << 3 | 1 << 7 | 1 << 8 | 1 << 10 | 1 << 18 | 1 << 19 | 1 << 20 | 1 << 23 | 1 << 24;
        assertEquals(Integer.toHexString(ebx), implemented, ebx);
    }

    /** CPUID leaf 0xD sub-leaf 0: XCR0 may hold x87 and SSE; the XSAVE area is 576 bytes. */
    @Test
    public void cpuidLeafD() {
        CpuidResult r = cpu.cpuid(0xD, 0);
        assertEquals(Xcr0.X87 | Xcr0.SSE, r.eax());
        assertEquals(0, r.edx());
        assertEquals(576, r.ecx());
    }

    /** XSETBV (SDM Vol. 2C): #UD without OSXSAVE, #GP for x87 clear, unsupported AVX, AVX without SSE. */
    @Test
    public void xsetbvChecks() {
        expectFault(ProcessorFault.UD, () -> cpu.xsetbv(0, 3));
        expectFault(ProcessorFault.UD, () -> cpu.xgetbv(0));
        cpu.writeCr(4, cpu.readCr(4) | Cr4.OSXSAVE);
        expectFault(ProcessorFault.GP, () -> cpu.xsetbv(0, Xcr0.SSE));
        expectFault(ProcessorFault.GP, () -> cpu.xsetbv(0, Xcr0.X87 | Xcr0.SSE | Xcr0.AVX));
        expectFault(ProcessorFault.GP, () -> cpu.xsetbv(0, Xcr0.X87 | Xcr0.AVX));
        expectFault(ProcessorFault.GP, () -> cpu.xsetbv(1, 1));
        cpu.xsetbv(0, Xcr0.X87 | Xcr0.SSE); // x86_vcpu's check rejects every value; this one must pass
        assertEquals(3, cpu.xgetbv(0));
        cpu.xsetbv(0, Xcr0.X87);
        assertEquals(1, cpu.xgetbv(0));
    }

    /** SDM A.1: IA32_VMX_BASIC. */
    @Test
    public void vmxBasic() {
        VmxBasic b = VmxBasic.decode(cpu.rdmsr(Msr.IA32_VMX_BASIC));
        assertEquals(0x4A56_4D58, b.revisionId());
        assertEquals(4096, b.regionSize());
        assertEquals(VmxBasic.MEMORY_TYPE_WRITE_BACK, b.memoryType());
        assertTrue(b.trueControls());
        assertTrue(b.insOutsInfo());
        assertFalse(b.physicalAddress32());
    }

    /** SDM A.2: default1 controls are 1 in the non-TRUE MSRs and may be 0 in the TRUE ones. */
    @Test
    public void controlCapabilitiesDefault1Classes() {
        int[][] pairs = {
                {Msr.IA32_VMX_PINBASED_CTLS, Msr.IA32_VMX_TRUE_PINBASED_CTLS, 0x16},
                {Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS, 0x0401_E172},
                {Msr.IA32_VMX_EXIT_CTLS, Msr.IA32_VMX_TRUE_EXIT_CTLS, 0x0003_6DFF},
                {Msr.IA32_VMX_ENTRY_CTLS, Msr.IA32_VMX_TRUE_ENTRY_CTLS, 0x0000_11FF},
        };
        for (int[] p : pairs) {
            VmxControlCapability plain = VmxControlCapability.decode("plain", cpu.rdmsr(p[0]));
            VmxControlCapability tru = VmxControlCapability.decode("true", cpu.rdmsr(p[1]));
            assertEquals(p[2], plain.mustBeOne());
            assertEquals(0, tru.mustBeOne());
            assertEquals(plain.mayBeOne(), tru.mayBeOne());
            assertEquals(p[2], plain.mayBeOne() & p[2]);
        }
        VmxControlCapability pin = VmxControlCapability.decode("pin", cpu.rdmsr(Msr.IA32_VMX_TRUE_PINBASED_CTLS));
        assertTrue("the preemption timer can be armed", (pin.mayBeOne() & (1 << 6)) != 0);
        VmxControlCapability secondary = VmxControlCapability.decode("2", cpu.rdmsr(Msr.IA32_VMX_PROCBASED_CTLS2));
        assertEquals(0, secondary.mustBeOne());
        // exactly what non-root operation implements (SDM A.3.3): enable EPT (1), descriptor-table exiting (2),
        // enable RDTSCP (3), enable VPID (5), WBINVD exiting (6), unrestricted guest (7), PAUSE-loop exiting (10),
        // RDRAND exiting (11), enable INVPCID (12), RDSEED exiting (16); no APIC virtualization, VM functions,
        // XSAVES, PML...
        assertEquals(0x0001_1CEE, secondary.mayBeOne());
        // the other control MSRs (A.3.1, A.3.2, A.4, A.5): allowed-1 = the default1 class plus what is implemented
        // pin: external-interrupt exiting, NMI exiting, virtual NMIs, the VMX-preemption timer; not posted interrupts
        assertEquals(0x7F, pin.mayBeOne());
        // primary: every exiting control, TSC offsetting, MTF, I/O and MSR bitmaps; not the TPR shadow (21) nor the
        // tertiary controls (17)
        assertEquals(0xFFD9_FFFEL, cpu.rdmsr(Msr.IA32_VMX_TRUE_PROCBASED_CTLS) >>> 32);
        // exit: save debug controls, host address-space size, acknowledge interrupt, PAT and EFER save/load, save
        // the preemption timer; not IA32_PERF_GLOBAL_CTRL (12) nor anything from bit 23 on
        assertEquals(0x7F_EFFFL, cpu.rdmsr(Msr.IA32_VMX_TRUE_EXIT_CTLS) >>> 32);
        // entry: load debug controls, IA-32e mode guest, load PAT and EFER; not SMM (10, 11) nor PERF_GLOBAL (13)
        assertEquals(0xD3FFL, cpu.rdmsr(Msr.IA32_VMX_TRUE_ENTRY_CTLS) >>> 32);
    }

    /** SDM A.6, A.7, A.8, A.10: MISC, fixed bits, EPT capabilities. */
    @Test
    public void miscFixedAndEptCapabilities() {
        VmxMisc misc = VmxMisc.decode(cpu.rdmsr(Msr.IA32_VMX_MISC));
        assertEquals(5, misc.preemptionTimerRate());
        assertTrue(misc.storesLma());
        assertEquals(1, misc.activityStates()); // HLT
        assertEquals(4, misc.cr3TargetCount());
        assertEquals(0x8000_0021L, cpu.rdmsr(Msr.IA32_VMX_CR0_FIXED0));
        assertEquals(0xFFFF_FFFFL, cpu.rdmsr(Msr.IA32_VMX_CR0_FIXED1));
        assertEquals(Cr4.VMXE, cpu.rdmsr(Msr.IA32_VMX_CR4_FIXED0));
        assertEquals(ProcessorModel.CR4_IMPLEMENTED, cpu.rdmsr(Msr.IA32_VMX_CR4_FIXED1));
        EptVpidCap ept = new EptVpidCap(cpu.rdmsr(Msr.IA32_VMX_EPT_VPID_CAP));
        assertTrue(ept.pageWalkLength4() && ept.memoryTypeWriteBack() && ept.pde2MbPages() && ept.pdpte1GbPages());
        assertTrue(ept.invept() && ept.inveptSingleContext() && ept.inveptAllContext() && ept.accessedDirtyFlags());
        assertFalse(ept.executeOnly());
        assertTrue(ept.invvpid() && ept.invvpidIndividualAddress() && ept.invvpidSingleContext()
                && ept.invvpidAllContext() && ept.invvpidSingleContextRetainingGlobals());
        assertFalse(ept.pageWalkLength5());
        assertFalse(ept.advancedExitInformation());
        expectFault(ProcessorFault.GP, () -> cpu.rdmsr(Msr.IA32_VMX_VMFUNC));
        expectFault(ProcessorFault.GP, () -> cpu.wrmsr(Msr.IA32_VMX_BASIC, 0));
    }

    /** WRMSR #GP cases: unknown MSR, reserved EFER bits, invalid PAT type, non-canonical base. */
    @Test
    public void msrFaults() {
        expectFault(ProcessorFault.GP, () -> cpu.rdmsr(0x1B)); // IA32_APIC_BASE: there is no local APIC
        expectFault(ProcessorFault.GP, () -> cpu.wrmsr(Msr.IA32_EFER, cpu.rdmsr(Msr.IA32_EFER) | (1L << 20)));
        expectFault(ProcessorFault.GP, () -> cpu.wrmsr(Msr.IA32_PAT, 0x02));
        expectFault(ProcessorFault.GP, () -> cpu.wrmsr(Msr.IA32_FS_BASE, 0x0000_8000_0000_0000L));
        expectFault(ProcessorFault.GP, () -> cpu.wrmsr(Msr.IA32_EFER, 0)); // LME cannot change with paging on
        cpu.wrmsr(Msr.IA32_FS_BASE, 0xFFFF_8000_0000_0000L);
        assertEquals(0xFFFF_8000_0000_0000L, cpu.rdmsr(Msr.IA32_FS_BASE));
        assertEquals(0xFFFF_8000_0000_0000L, cpu.hostContext().fsBase());
        assertEquals(0, cpu.rdmsr(Msr.IA32_FEATURE_CONTROL)); // starts unlocked
    }

    /** MOV to CR4: bits the processor does not implement are reserved (#GP); PAE stays on in IA-32e mode. */
    @Test
    public void crFaults() {
        expectFault(ProcessorFault.GP, () -> cpu.writeCr(4, cpu.readCr(4) | Cr4.LA57));
        expectFault(ProcessorFault.GP, () -> cpu.writeCr(4, cpu.readCr(4) & ~Cr4.PAE));
        expectFault(ProcessorFault.GP, () -> cpu.writeCr(0, 0));
        expectFault(ProcessorFault.UD, () -> cpu.readCr(5));
    }

    /** The host context: a plausible 64-bit host whose values pass the host-state checks of SDM 27.2.2-27.2.4. */
    @Test
    public void hostContextIsPlausible() {
        HostContext h = cpu.hostContext();
        assertEquals(0x8, h.csSelector());
        assertEquals(0x10, h.ssSelector());
        assertEquals(0x18, h.trSelector());
        assertTrue(ProcessorModel.canonical(h.rip()) && ProcessorModel.canonical(h.rsp()));
        assertTrue(ProcessorModel.canonical(h.gdtrBase()) && ProcessorModel.canonical(h.idtrBase()));
        assertNotEquals(0, h.efer() & Efer.LMA);
    }

    /** The SPI: kind, deliverable exits (what this processor produces), instruction count. */
    @Test
    public void spiBasics() {
        assertEquals("software", cpu.kind());
        assertTrue(cpu.deliverableExits().contains(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED));
        assertTrue(cpu.deliverableExits().contains(ExitReason.EPT_VIOLATION));
        assertFalse(cpu.deliverableExits().contains(ExitReason.APIC_ACCESS));
        assertEquals(0, cpu.guestInstructionsRetired());
        cpu.close();
        try {
            cpu.cpuid(0, 0);
            fail("closed");
        } catch (IllegalStateException expected) {
            // fine
        }
    }

    /** The DS provider opens processors of the requested size. */
    @Test
    public void provider() {
        SoftwareVmxProcessorProvider provider = new SoftwareVmxProcessorProvider();
        assertEquals("software", provider.kind());
        assertNull(provider.unavailableReason());
        try (VmxProcessor p = provider.open(64 * 4096)) {
            assertEquals(64 * 4096, p.memory().size());
            assertEquals("software", p.kind());
        }
        try {
            provider.open(4097);
            fail("not a multiple of 4 KiB");
        } catch (IllegalArgumentException expected) {
            // fine
        }
    }

    /**
     * The VMM's RDMSR/WRMSR reach the same MTRRs and IA32_MISC_ENABLE as the guest's (cpu.ConfigurationMsrs), with the
     * same #GP rules; the local APIC's MSRs do not exist in this processor: the guest's APIC is the VMM's device.
     */
    @Test
    public void configurationMsrsAreSharedWithTheGuestAndTheApicMsrsDoNotExist() {
        cpu.wrmsr(Msr.IA32_MTRR_DEF_TYPE, 0xC06);
        assertEquals(0xC06, cpu.rdmsr(Msr.IA32_MTRR_DEF_TYPE));
        assertEquals(0x508, cpu.rdmsr(Msr.IA32_MTRRCAP));
        try {
            cpu.wrmsr(Msr.IA32_MTRR_DEF_TYPE, 0xC02);
            fail("memory type 2 is reserved");
        } catch (ProcessorFault e) {
            assertEquals(ProcessorFault.GP, e.vector());
            assertTrue(e.getMessage(), e.getMessage().contains("not a memory type"));
        }
        for (int msr : new int[] {Msr.IA32_APIC_BASE, Msr.IA32_TSC_DEADLINE, 0x802}) {
            try {
                cpu.rdmsr(msr);
                fail(String.format("RDMSR %#x", msr));
            } catch (ProcessorFault e) {
                assertEquals(ProcessorFault.GP, e.vector());
            }
        }
        assertEquals("CPUID.01H:EDX: MTRR and PAT, no APIC", (1 << 12) | (1 << 16),
                cpu.cpuid(1, 0).edx() & ((1 << 9) | (1 << 12) | (1 << 16)));
    }
}
