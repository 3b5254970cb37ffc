package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.MmioAccess;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidLeaf;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.HostContext;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.nativekvm.kvm.CpuidTable;
import io.jvmx.vmx.nativekvm.kvm.GuestRam;
import io.jvmx.vmx.nativekvm.kvm.Kvm;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi;
import io.jvmx.vmx.nativekvm.kvm.KvmVcpu;
import io.jvmx.vmx.nativekvm.kvm.KvmVm;
import io.jvmx.vmx.nativekvm.kvm.ThreadKick;
import io.jvmx.vmx.vmcs.region.VmcsRegion;
import io.jvmx.vmx.vmcs.region.VmxOperation;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A logical processor with VMX whose non-root operation is Linux KVM. VMX root operation (VMXON, the VMCS and its
 * instructions, the capability MSRs, the host's control registers and XCR0) is modelled here as in the software
 * processor, with the VMCS in host-physical memory ({@link VmcsRegion}, the same layout). VMLAUNCH and VMRESUME
 * translate the VMCS into KVM state and run the guest with KVM_RUN until something happens that is a VM exit
 * ({@link KvmGuestRunner}).
 *
 * <p>Host-physical memory is anonymous memory of this process; guest RAM is whatever the EPT maps, given to KVM as
 * memory slots over the same bytes. One KVM VM with one vCPU serves the processor.
 *
 * <p>One thread drives the processor; {@link #kick()} may come from any thread.
 */
public final class KvmVmxProcessor implements VmxProcessor {
    public static final String KIND = "kvm";

    private static final long HOST_GDTR_BASE_VALUE = 0xFFFF_FE00_0000_1000L;
    private static final long HOST_IDTR_BASE_VALUE = 0xFFFF_FE00_0000_0000L;
    private static final long HOST_TR_BASE_VALUE = 0xFFFF_FE00_0000_3000L;
    private static final long HOST_RIP_VALUE = 0xFFFF_FFFF_8100_0000L;
    private static final long HOST_RSP_VALUE = 0xFFFF_C900_0000_8000L;
    private static final long DEFAULT_PAT = 0x0007_0406_0007_0406L;
    /** CPUID.1:ECX bit 5: VMX, which this processor has (its own, modelled in root operation). */
    private static final int CPUID1_ECX_VMX = 1 << 5;
    private static final int CPUID1_ECX_XSAVE = 1 << 26;
    /** CR4 bits a guest may use here: those of the host processor KVM can give a guest, plus VMXE. */
    private static final long CR4_SUPPORTED = Cr4.VME | Cr4.PVI | Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PAE | Cr4.MCE
            | Cr4.PGE | Cr4.PCE | Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.VMXE | Cr4.FSGSBASE | Cr4.PCIDE | Cr4.OSXSAVE
            | Cr4.SMEP | Cr4.SMAP;

    private final Kvm kvm;
    private final KvmVm vm;
    private final KvmVcpu vcpu;
    private final KvmPhysicalMemory memory;
    private final ThreadKick kick = new ThreadKick();
    private final CpuidTable supportedCpuid;
    private final KvmGuestRunner runner;
    private final long supportedXcr0;

    // ---- root operation (the modelled host) ----
    private long cr0 = Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.PG;
    private long cr3;
    private long cr4 = Cr4.PAE | Cr4.PGE;
    private long xcr0 = Xcr0.X87 | Xcr0.SSE;
    private long featureControl;
    private long pat = DEFAULT_PAT;
    private long efer = Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE;
    private final VmxOperation<VmcsRegion> vmx;
    private volatile boolean closed;

    private KvmVmxProcessor(Kvm kvm, KvmVm vm, KvmVcpu vcpu, KvmPhysicalMemory memory, CpuidTable supported) {
        this.kvm = kvm;
        this.vm = vm;
        this.vcpu = vcpu;
        this.memory = memory;
        this.supportedCpuid = supported;
        CpuidTable.Entry d = supported.find(0xD, 0);
        this.supportedXcr0 = d == null ? Xcr0.X87 | Xcr0.SSE : (d.eax() & 0xFFFF_FFFFL) | ((long) d.edx() << 32);
        this.xcr0 &= supportedXcr0 | Xcr0.X87;
        this.runner = new KvmGuestRunner(this, vcpu, memory, kick, supported);
        this.vmx = new VmxOperation<>(memory, KvmVmxCapabilities.VMCS_REVISION_ID, pa -> true, VmcsRegion::new);
    }

    /**
     * Opens /dev/kvm, makes a VM with one vCPU and maps {@code memoryBytes} of host-physical memory.
     *
     * @throws io.jvmx.vmx.nativekvm.kvm.KvmException with one line when KVM is missing, refuses, or lacks a
     *                                                capability this processor needs
     */
    public static KvmVmxProcessor open(long memoryBytes) {
        Kvm kvm = Kvm.open();
        KvmVm vm = null;
        GuestRam ram = null;
        try {
            KvmRequirements.check(kvm);
            CpuidTable supported = kvm.supportedCpuid();
            vm = kvm.createVm();
            vm.enableCap(KvmAbi.KVM_CAP_X86_USER_SPACE_MSR, KvmAbi.KVM_MSR_EXIT_REASON_FILTER
                    | KvmAbi.KVM_MSR_EXIT_REASON_UNKNOWN | KvmAbi.KVM_MSR_EXIT_REASON_INVAL);
            KvmVcpu vcpu = vm.createVcpu(0);
            ram = new GuestRam(memoryBytes);
            return new KvmVmxProcessor(kvm, vm, vcpu, new KvmPhysicalMemory(ram), supported);
        } catch (RuntimeException | Error e) {
            if (ram != null) {
                ram.close();
            }
            if (vm != null) {
                vm.close();
            }
            kvm.close();
            throw e;
        }
    }

    // ================================================================== plain processor state

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public PhysicalMemory memory() {
        return memory;
    }

    KvmVm vm() {
        return vm;
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("the KVM processor is closed");
        }
    }

    /** CPUID in root operation: what KVM can give a guest (KVM_GET_SUPPORTED_CPUID), plus VMX, which this has. */
    @Override
    public CpuidResult cpuid(int leaf, int subleaf) {
        ensureOpen();
        CpuidTable.Entry e = supportedCpuid.find(leaf, subleaf);
        if (e == null) {
            return CpuidResult.ZERO;
        }
        int ecx = e.ecx();
        if (leaf == 1) {
            ecx |= CPUID1_ECX_VMX;
        }
        return new CpuidResult(e.eax(), e.ebx(), ecx, e.edx());
    }

    @Override
    public long rdmsr(int msr) {
        ensureOpen();
        Long vmx = KvmVmxCapabilities.read(msr, CR4_SUPPORTED);
        if (vmx != null) {
            return vmx;
        }
        return switch (msr) {
            case Msr.IA32_FEATURE_CONTROL -> featureControl;
            case Msr.IA32_PAT -> pat;
            case Msr.IA32_EFER -> efer;
            // the TSC its guest reads (KVM's own offset applied; TSC offsetting is not offered), so that a deadline
            // in guest TSC and the preemption timer, which counts at KVM's TSC rate, agree
            case Msr.IA32_TIME_STAMP_COUNTER -> {
                Long tsc = vcpu.getMsr(Msr.IA32_TIME_STAMP_COUNTER);
                if (tsc == null) {
                    throw ProcessorFault.gp("RDMSR of IA32_TIME_STAMP_COUNTER: KVM_GET_MSRS did not return it");
                }
                yield tsc;
            }
            default -> throw ProcessorFault.gp(String.format("RDMSR of MSR %#x, which this processor does not have", msr));
        };
    }

    @Override
    public void wrmsr(int msr, long value) {
        ensureOpen();
        switch (msr) {
            case Msr.IA32_FEATURE_CONTROL -> {
                if ((featureControl & Msr.FEATURE_CONTROL_LOCK) != 0) {
                    throw ProcessorFault.gp("WRMSR to a locked IA32_FEATURE_CONTROL");
                }
                featureControl = value;
            }
            case Msr.IA32_PAT -> pat = value;
            case Msr.IA32_EFER -> efer = value;
            default -> throw ProcessorFault.gp(String.format(
                    "WRMSR of MSR %#x, which this processor does not have or cannot write", msr));
        }
    }

    @Override
    public long readCr(int cr) {
        ensureOpen();
        return switch (cr) {
            case 0 -> cr0;
            case 3 -> cr3;
            case 4 -> cr4;
            default -> throw ProcessorFault.ud("MOV from CR" + cr + " of the host");
        };
    }

    /** The guest's DR0-DR3 and DR6, from KVM (VM exits do not switch them, SDM 28.5.1). */
    @Override
    public long readDr(int dr) {
        ensureOpen();
        VmxProcessor.checkReadableDr(dr);
        return vcpu.debugRegister(dr);
    }

    /** MOV to CR0/CR3/CR4 of the host, with the restrictions of VMX operation (SDM 24.8). */
    @Override
    public void writeCr(int cr, long value) {
        ensureOpen();
        switch (cr) {
            case 0 -> {
                if (vmx.isOn() && ((value & KvmVmxCapabilities.CR0_FIXED0) != KvmVmxCapabilities.CR0_FIXED0
                        || (value & ~KvmVmxCapabilities.CR0_FIXED1) != 0)) {
                    throw ProcessorFault.gp(String.format("CR0 %#x is not allowed in VMX operation", value));
                }
                cr0 = value;
            }
            case 3 -> cr3 = value;
            case 4 -> {
                if ((value & ~CR4_SUPPORTED) != 0) {
                    throw ProcessorFault.gp(String.format("CR4 %#x sets bits this processor does not implement",
                            value));
                }
                if (vmx.isOn() && (value & Cr4.VMXE) == 0) {
                    throw ProcessorFault.gp("CR4.VMXE cannot be cleared in VMX operation");
                }
                cr4 = value;
            }
            default -> throw ProcessorFault.ud("MOV to CR" + cr + " of the host");
        }
    }

    @Override
    public long xgetbv(int xcr) {
        ensureOpen();
        if ((cr4 & Cr4.OSXSAVE) == 0) {
            throw ProcessorFault.ud("XGETBV with CR4.OSXSAVE = 0");
        }
        if (xcr != 0) {
            throw ProcessorFault.gp("XGETBV of XCR" + xcr + " (only XCR0 exists)");
        }
        return xcr0;
    }

    /**
     * XSETBV of the host (SDM Vol. 2C). The VMM switches to the guest's XCR0 before VM entry (x86_vcpu's
     * load_guest_xstate); the value in force at VM entry is what KVM gets for the guest (KVM_SET_XCRS).
     */
    @Override
    public void xsetbv(int xcr, long value) {
        ensureOpen();
        if ((cr4 & Cr4.OSXSAVE) == 0) {
            throw ProcessorFault.ud("XSETBV with CR4.OSXSAVE = 0");
        }
        if (xcr != 0) {
            throw ProcessorFault.gp("XSETBV of XCR" + xcr + " (only XCR0 exists)");
        }
        if ((value & ~supportedXcr0) != 0 || (value & Xcr0.X87) == 0
                || ((value & Xcr0.AVX) != 0 && (value & Xcr0.SSE) == 0)) {
            throw ProcessorFault.gp(String.format("XCR0 %#x is not valid here (supported %#x)", value, supportedXcr0));
        }
        xcr0 = value;
    }

    long xcr0() {
        return xcr0;
    }

    /** The state a 64-bit OS kernel would have when it runs a VMM (as on the software processor). */
    @Override
    public HostContext hostContext() {
        ensureOpen();
        return new HostContext(cr0, cr3, cr4, 0x08, 0x10, 0, 0, 0, 0, 0x18, 0, 0, HOST_TR_BASE_VALUE,
                HOST_GDTR_BASE_VALUE, HOST_IDTR_BASE_VALUE, pat, efer, HOST_RSP_VALUE, HOST_RIP_VALUE);
    }

    // ================================================================== VMX instructions (SDM 31.3)

    private void requireVmxOperation(String instruction) {
        ensureOpen();
        if (!vmx.isOn()) {
            throw ProcessorFault.ud(instruction + " outside VMX operation");
        }
    }

    VmxInstructionException failValid(String instruction, VmInstructionError error) {
        return vmx.fail(instruction, error);
    }

    @Override
    public void vmxon(long vmxonRegion) {
        ensureOpen();
        if ((cr4 & Cr4.VMXE) == 0) {
            throw ProcessorFault.ud("VMXON with CR4.VMXE = 0");
        }
        if (vmx.isOn()) {
            throw vmx.fail("VMXON", VmInstructionError.VMXON_IN_VMX_ROOT);
        }
        if ((featureControl & Msr.FEATURE_CONTROL_LOCK) == 0
                || (featureControl & Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX) == 0) {
            throw ProcessorFault.gp(String.format(
                    "VMXON: IA32_FEATURE_CONTROL %#x must have the lock bit and VMX outside SMX set", featureControl));
        }
        if ((cr0 & KvmVmxCapabilities.CR0_FIXED0) != KvmVmxCapabilities.CR0_FIXED0) {
            throw ProcessorFault.gp(String.format("VMXON: CR0 %#x not supported in VMX operation", cr0));
        }
        vmx.vmxon(vmxonRegion);
    }

    @Override
    public void vmxoff() {
        requireVmxOperation("VMXOFF");
        materializeCurrent();
        vmx.vmxoff();
    }

    @Override
    public void vmclear(long vmcs) {
        requireVmxOperation("VMCLEAR");
        materializeCurrent(); // the region must hold the whole guest state once it is not current
        vmx.vmclear(vmcs);
    }

    @Override
    public void vmptrld(long vmcs) {
        requireVmxOperation("VMPTRLD");
        if (vmx.current() != null && vmx.current().address() != vmcs) {
            materializeCurrent();
        }
        vmx.vmptrld(vmcs);
        runner.vmcsChanged();
    }

    @Override
    public long vmptrst() {
        requireVmxOperation("VMPTRST");
        return vmx.vmptrst();
    }

    /** Guest-state fields saved lazily after an exit are saved before the VMM reads or writes them. */
    @Override
    public long vmread(int encoding) {
        requireVmxOperation("VMREAD");
        if (KvmGuestState.isLazy(encoding)) {
            materializeCurrent();
        }
        return vmx.vmread(encoding);
    }

    @Override
    public void vmwrite(int encoding, long value) {
        requireVmxOperation("VMWRITE");
        if (KvmGuestState.isLazy(encoding)) {
            materializeCurrent();
        }
        vmx.vmwrite(encoding, value);
        runner.fieldWritten(encoding);
    }

    private void materializeCurrent() {
        VmcsRegion v = vmx.current();
        if (v != null) {
            runner.materialize(v);
        }
    }

    /** INVEPT: the memory slots are rebuilt from the EPT at the next VM entry (KVM has no finer invalidation). */
    @Override
    public void invept(int type, long eptp) {
        requireVmxOperation("INVEPT");
        if (type != 1 && type != 2) {
            throw vmx.fail("INVEPT", VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND);
        }
        runner.invalidateSlots();
    }

    /** No VPIDs here (IA32_VMX_EPT_VPID_CAP bit 32 is 0): INVVPID is #UD, as on a processor without them. */
    @Override
    public void invvpid(int type, long vpid, long linearAddress) {
        requireVmxOperation("INVVPID");
        throw ProcessorFault.ud("INVVPID: this processor has no VPIDs (IA32_VMX_EPT_VPID_CAP bit 32 = 0)");
    }

    @Override
    public void vmlaunch(GeneralRegisters guest) {
        enter(guest, true);
    }

    @Override
    public void vmresume(GeneralRegisters guest) {
        enter(guest, false);
    }

    private void enter(GeneralRegisters guest, boolean launch) {
        String instruction = launch ? "VMLAUNCH" : "VMRESUME";
        requireVmxOperation(instruction);
        VmcsRegion v = vmx.currentVmcs(instruction);
        if (launch && v.launched()) {
            throw vmx.fail(instruction, VmInstructionError.VMLAUNCH_NON_CLEAR_VMCS);
        }
        if (!launch && !v.launched()) {
            throw vmx.fail(instruction, VmInstructionError.VMRESUME_NON_LAUNCHED_VMCS);
        }
        runner.enter(v, guest, launch, instruction);
    }

    /** Why the last VM entry failed (VMfailValid 7 or an entry-failure exit), or null. For diagnostics. */
    public String lastEntryFailure() {
        return runner.lastEntryFailure();
    }

    // ================================================================== the rest of the SPI

    @Override
    public List<CpuidLeaf> guestCpuidLeaves() {
        List<CpuidLeaf> leaves = new ArrayList<>();
        for (CpuidTable.Entry e : supportedCpuid.entries()) {
            leaves.add(new CpuidLeaf(e.function(), e.index()));
        }
        for (int hv : new int[] {0x4000_0000, 0x4000_0001}) {
            if (supportedCpuid.find(hv, 0) == null) {
                leaves.add(new CpuidLeaf(hv, 0));
            }
        }
        return leaves;
    }

    @Override
    public void setGuestCpuid(Map<CpuidLeaf, CpuidResult> answers) {
        ensureOpen();
        runner.setGuestCpuid(answers);
    }

    @Override
    public MmioAccess pendingMmioAccess() {
        return runner.pendingMmioAccess();
    }

    @Override
    public void completeMmio(long value) {
        runner.completeMmio(value);
    }

    /** Safe from any thread: ends KVM_RUN with a signal, or the next one at once if the guest is not in it. */
    @Override
    public void kick() {
        if (!closed) {
            runner.kick();
        }
    }

    @Override
    public Set<ExitReason> deliverableExits() {
        return KvmVmxCapabilities.DELIVERABLE;
    }

    /** KVM does not count guest instructions. */
    @Override
    public long guestInstructionsRetired() {
        return -1;
    }

    /** Closes the vCPU, the VM and /dev/kvm, and unmaps the memory; idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        runner.close();
        kick.close();
        vm.close();
        kvm.close();
        memory.close();
    }

    boolean isClosed() {
        return closed;
    }

    boolean cpuidReportsXsave() {
        CpuidTable.Entry e = supportedCpuid.find(1, 0);
        return e != null && (e.ecx() & CPUID1_ECX_XSAVE) != 0;
    }
}
