package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.HostContext;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.vmcs.region.VmcsRegion;
import io.jvmx.vmx.vmcs.region.VmxOperation;
import io.jvmx.vmx.emulated.cpu.CpuState;
import io.jvmx.vmx.emulated.cpu.Segment;
import io.jvmx.vmx.emulated.cpu.VmExitSignal;
import io.jvmx.vmx.emulated.cpu.X86Interpreter;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * A logical processor with VMX, in software (SDM Vol. 3C, chapters 24-29 and 31). In VMX root operation it is the
 * VMM's processor: CPUID, MSRs, control registers, XCR0 and the VMX instructions act on its state. VMLAUNCH and
 * VMRESUME run the guest on the x86 interpreter in VMX non-root operation until a VM exit.
 *
 * <p>The VMCS lives in host-physical memory ({@link VmcsRegion}); VMX instruction failures store the VM-instruction
 * error there. One thread drives the processor; {@link #kick()} may come from any thread.
 */
public final class SoftwareVmxProcessor implements VmxProcessor {
    public static final String KIND = "software";

    /** VMX-abort indicators (SDM 28.7). */
    static final int ABORT_SAVING_GUEST_MSRS = 1;
    static final int ABORT_LOADING_HOST_MSRS = 4;

    private static final long HOST_GDTR_BASE_VALUE = 0xFFFF_FE00_0000_1000L;
    private static final long HOST_IDTR_BASE_VALUE = 0xFFFF_FE00_0000_0000L;
    private static final long HOST_TR_BASE_VALUE = 0xFFFF_FE00_0000_3000L;
    private static final long HOST_RIP_VALUE = 0xFFFF_FFFF_8100_0000L;
    private static final long HOST_RSP_VALUE = 0xFFFF_C900_0000_8000L;

    private static final Set<ExitReason> DELIVERABLE = computeDeliverable();

    private final PhysicalMemory memory;
    private final CpuState state = new CpuState();
    private final ModelSpecificRegisters msrs = new ModelSpecificRegisters(state);
    private final NonRootMonitor monitor;
    private final EptWalker ept;
    private final X86Interpreter interpreter;

    private final VmxOperation<Vmcs> vmx;
    private boolean closed;
    /** Non-zero after a VMX abort (SDM 28.7): the processor is shut down. */
    private int vmxAbort;
    private String lastEntryFailure;

    public SoftwareVmxProcessor(PhysicalMemory memory) {
        this.memory = memory;
        this.monitor = new NonRootMonitor(state, memory);
        this.ept = new EptWalker(memory, monitor);
        this.interpreter = new X86Interpreter(state, memory, ept, monitor);
        this.vmx = new VmxOperation<>(memory, VmxCapabilities.VMCS_REVISION_ID, ProcessorModel::physicalAddressValid,
                Vmcs::new);
        resetHostState();
    }

    /**
     * The state a 64-bit OS kernel would have when it starts a VMM: long mode, paging, CS 0x8, SS 0x10, TR 0x18,
     * null data selectors, CR4.VMXE clear (the VMM sets it before VMXON). Host CR3 is 0: no host code runs here, so
     * no host page tables exist.
     */
    private void resetHostState() {
        state.cr0 = Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.PG;
        state.cr3 = 0;
        state.cr4 = Cr4.PAE | Cr4.PGE;
        state.efer = ProcessorModel.EFER_IMPLEMENTED;
        state.seg[CpuState.CS].set(0x08, 0, 0xFFFF_FFFF, 0xA09B);
        state.seg[CpuState.SS].set(0x10, 0, 0xFFFF_FFFF, 0xC093);
        for (int i : new int[] {CpuState.ES, CpuState.DS, CpuState.FS, CpuState.GS}) {
            state.seg[i].set(0, 0, 0xFFFF_FFFF, Segment.AR_UNUSABLE | 0xC093);
        }
        state.tr.set(0x18, HOST_TR_BASE_VALUE, 0x67, 0x8B);
        state.ldtr.set(0, 0, 0, Segment.AR_UNUSABLE);
        state.gdtrBase = HOST_GDTR_BASE_VALUE;
        state.gdtrLimit = 0x7F;
        state.idtrBase = HOST_IDTR_BASE_VALUE;
        state.idtrLimit = 0xFFF;
        state.rip = HOST_RIP_VALUE;
        state.gpr[4] = HOST_RSP_VALUE;
        state.setRflags(Rflags.FIXED_1);
        state.xcr0 = Xcr0.X87;
    }

    private static Set<ExitReason> computeDeliverable() {
        EnumSet<ExitReason> s = EnumSet.of(ExitReason.EXCEPTION_OR_NMI, ExitReason.EXTERNAL_INTERRUPT,
                ExitReason.TRIPLE_FAULT, ExitReason.TASK_SWITCH, ExitReason.INTERRUPT_WINDOW, ExitReason.NMI_WINDOW, ExitReason.CPUID,
                ExitReason.HLT, ExitReason.INVD, ExitReason.INVLPG, ExitReason.RDPMC, ExitReason.RDTSC,
                ExitReason.VMCALL, ExitReason.VMCLEAR, ExitReason.VMLAUNCH, ExitReason.VMPTRLD, ExitReason.VMPTRST,
                ExitReason.VMREAD, ExitReason.VMRESUME, ExitReason.VMWRITE, ExitReason.VMXOFF, ExitReason.VMXON,
                ExitReason.ACCESS_TO_GDTR_OR_IDTR, ExitReason.ACCESS_TO_LDTR_OR_TR,
                ExitReason.CR_ACCESS, ExitReason.MOV_DR, ExitReason.IO_INSTRUCTION, ExitReason.RDMSR,
                ExitReason.WRMSR, ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE,
                ExitReason.VM_ENTRY_FAILURE_MSR_LOADING, ExitReason.MWAIT, ExitReason.MONITOR_TRAP_FLAG,
                ExitReason.MONITOR, ExitReason.PAUSE, ExitReason.EPT_VIOLATION, ExitReason.EPT_MISCONFIGURATION,
                ExitReason.INVEPT, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, ExitReason.INVVPID,
                ExitReason.WBINVD_OR_WBNOINVD, ExitReason.XSETBV);
        if (ProcessorModel.RDTSCP) {
            s.add(ExitReason.RDTSCP);
        }
        if (ProcessorModel.RDRAND) {
            s.add(ExitReason.RDRAND);
        }
        if (ProcessorModel.RDSEED) {
            s.add(ExitReason.RDSEED);
        }
        return Collections.unmodifiableSet(s);
    }

    // ---- plain processor state ------------------------------------------------------------------------------------

    @Override
    public String kind() {
        return KIND;
    }

    @Override
    public PhysicalMemory memory() {
        return memory;
    }

    private void ensureUsable() {
        if (closed) {
            throw new IllegalStateException("the software VMX processor is closed");
        }
        if (vmxAbort != 0) {
            throw new IllegalStateException("the software VMX processor is shut down after VMX abort " + vmxAbort
                    + " (SDM 28.7)");
        }
    }

    @Override
    public CpuidResult cpuid(int leaf, int subleaf) {
        ensureUsable();
        return ProcessorModel.cpuid(leaf, subleaf, state.cr4, state.xcr0);
    }

    @Override
    public long rdmsr(int msr) {
        ensureUsable();
        return msrs.read(msr);
    }

    @Override
    public void wrmsr(int msr, long value) {
        ensureUsable();
        msrs.write(msr, value);
    }

    @Override
    public long readCr(int cr) {
        ensureUsable();
        return switch (cr) {
            case 0 -> state.cr0;
            case 2 -> state.cr2;
            case 3 -> state.cr3;
            case 4 -> state.cr4;
            case 8 -> state.cr8;
            default -> throw ProcessorFault.ud("MOV from CR" + cr + " (no such control register)");
        };
    }

    /** DR0-DR3 and DR6 are the interpreter's, which VM exits leave as the guest had them (SDM 28.5.1). */
    @Override
    public long readDr(int dr) {
        ensureUsable();
        VmxProcessor.checkReadableDr(dr);
        return interpreter.debugRegister(dr);
    }

    /** MOV to CR (SDM Vol. 2B "MOV - Move to/from Control Registers" and 24.8 "Restrictions on VMX Operation"). */
    @Override
    public void writeCr(int cr, long value) {
        ensureUsable();
        switch (cr) {
            case 0 -> writeCr0(value);
            case 2 -> state.cr2 = value;
            case 3 -> {
                if (!ProcessorModel.physicalAddressValid(value)) {
                    throw ProcessorFault.gp(String.format("CR3 %#x sets bits above MAXPHYADDR", value));
                }
                state.cr3 = value;
            }
            case 4 -> writeCr4(value);
            case 8 -> {
                if ((value & ~0xFL) != 0) {
                    throw ProcessorFault.gp(String.format("CR8 %#x sets reserved bits 63:4", value));
                }
                state.cr8 = value;
            }
            default -> throw ProcessorFault.ud("MOV to CR" + cr + " (no such control register)");
        }
    }

    private void writeCr0(long value) {
        if ((value >>> 32) != 0) {
            throw ProcessorFault.gp(String.format("CR0 %#x sets reserved bits 63:32", value));
        }
        if ((value & Cr0.PG) != 0 && (value & Cr0.PE) == 0) {
            throw ProcessorFault.gp("CR0.PG requires CR0.PE");
        }
        if ((value & Cr0.NW) != 0 && (value & Cr0.CD) == 0) {
            throw ProcessorFault.gp("CR0.NW requires CR0.CD");
        }
        if ((state.efer & Efer.LMA) != 0 && (value & Cr0.PG) == 0) {
            throw ProcessorFault.gp("CR0.PG cannot be cleared in 64-bit mode");
        }
        if (vmx.isOn() && ((value & VmxCapabilities.CR0_FIXED0) != VmxCapabilities.CR0_FIXED0
                || (value & ~VmxCapabilities.CR0_FIXED1) != 0)) {
            throw ProcessorFault.gp(String.format("CR0 %#x is not allowed in VMX operation (IA32_VMX_CR0_FIXED0/1)",
                    value));
        }
        // Reserved bits 28:19, 17, 15:6 read as 0; ET is fixed to 1 (SDM Vol. 3A 2.5).
        state.cr0 = (value & (Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW | Cr0.CD
                | Cr0.PG)) | Cr0.ET;
    }

    private void writeCr4(long value) {
        if ((value & ~ProcessorModel.CR4_IMPLEMENTED) != 0) {
            throw ProcessorFault.gp(String.format("CR4 %#x sets bits %#x this processor does not implement", value,
                    value & ~ProcessorModel.CR4_IMPLEMENTED));
        }
        if (vmx.isOn() && (value & Cr4.VMXE) == 0) {
            throw ProcessorFault.gp("CR4.VMXE cannot be cleared in VMX operation");
        }
        if ((state.efer & Efer.LMA) != 0 && (value & Cr4.PAE) == 0) {
            throw ProcessorFault.gp("CR4.PAE cannot be cleared in IA-32e mode");
        }
        if (vmx.isOn() && ((value & VmxCapabilities.CR4_FIXED0) != VmxCapabilities.CR4_FIXED0
                || (value & ~VmxCapabilities.CR4_FIXED1) != 0)) {
            throw ProcessorFault.gp(String.format("CR4 %#x is not allowed in VMX operation (IA32_VMX_CR4_FIXED0/1)",
                    value));
        }
        state.cr4 = value;
    }

    @Override
    public long xgetbv(int xcr) {
        ensureUsable();
        if ((state.cr4 & Cr4.OSXSAVE) == 0) {
            throw ProcessorFault.ud("XGETBV with CR4.OSXSAVE = 0");
        }
        if (xcr != 0) {
            throw ProcessorFault.gp("XGETBV of XCR" + xcr + " (only XCR0 exists)");
        }
        return state.xcr0;
    }

    /** XSETBV (SDM Vol. 2C): #UD without CR4.OSXSAVE, #GP for an unsupported, x87-less or AVX-without-SSE value. */
    @Override
    public void xsetbv(int xcr, long value) {
        ensureUsable();
        if ((state.cr4 & Cr4.OSXSAVE) == 0) {
            throw ProcessorFault.ud("XSETBV with CR4.OSXSAVE = 0");
        }
        if (xcr != 0) {
            throw ProcessorFault.gp("XSETBV of XCR" + xcr + " (only XCR0 exists)");
        }
        if ((value & ~ProcessorModel.XCR0_SUPPORTED) != 0) {
            throw ProcessorFault.gp(String.format("XCR0 %#x sets components %#x this processor does not support",
                    value, value & ~ProcessorModel.XCR0_SUPPORTED));
        }
        if ((value & Xcr0.X87) == 0) {
            throw ProcessorFault.gp("XCR0.X87 must be 1");
        }
        if ((value & Xcr0.AVX) != 0 && (value & Xcr0.SSE) == 0) {
            throw ProcessorFault.gp("XCR0.AVX requires XCR0.SSE");
        }
        state.xcr0 = value;
    }

    @Override
    public HostContext hostContext() {
        ensureUsable();
        return new HostContext(state.cr0, state.cr3, state.cr4, state.seg[CpuState.CS].selector,
                state.seg[CpuState.SS].selector, state.seg[CpuState.DS].selector, state.seg[CpuState.ES].selector,
                state.seg[CpuState.FS].selector, state.seg[CpuState.GS].selector, state.tr.selector,
                state.seg[CpuState.FS].base, state.seg[CpuState.GS].base, state.tr.base, state.gdtrBase,
                state.idtrBase, state.pat, state.efer, state.gpr[4], state.rip);
    }

    // ---- VMX instructions (SDM 31.3) ------------------------------------------------------------------------------

    /** #UD outside VMX operation, in virtual-8086 mode or compatibility mode (every VMX instruction but VMXON). */
    private void requireVmxOperation(String instruction) {
        ensureUsable();
        if (!vmx.isOn()) {
            throw ProcessorFault.ud(instruction + " outside VMX operation");
        }
        requireRootMode(instruction);
    }

    private void requireRootMode(String instruction) {
        if ((state.rflags() & Rflags.VM) != 0 || ((state.efer & Efer.LMA) != 0 && !state.cs().longMode())
                || (state.cr0 & Cr0.PE) == 0) {
            throw ProcessorFault.ud(instruction + " in real, virtual-8086 or compatibility mode");
        }
        if (state.cpl() != 0) {
            throw ProcessorFault.gp(instruction + " at CPL " + state.cpl());
        }
    }

    private VmxInstructionException fail(String instruction, VmInstructionError error) {
        return vmx.fail(instruction, error);
    }

    @Override
    public void vmxon(long vmxonRegion) {
        ensureUsable();
        if ((state.cr4 & Cr4.VMXE) == 0) {
            throw ProcessorFault.ud("VMXON with CR4.VMXE = 0");
        }
        requireRootMode("VMXON");
        if (vmx.isOn()) {
            throw fail("VMXON", VmInstructionError.VMXON_IN_VMX_ROOT);
        }
        if ((state.cr0 & VmxCapabilities.CR0_FIXED0) != VmxCapabilities.CR0_FIXED0
                || (state.cr0 & ~VmxCapabilities.CR0_FIXED1) != 0
                || (state.cr4 & VmxCapabilities.CR4_FIXED0) != VmxCapabilities.CR4_FIXED0
                || (state.cr4 & ~VmxCapabilities.CR4_FIXED1) != 0) {
            throw ProcessorFault.gp(String.format("VMXON: CR0 %#x / CR4 %#x not supported in VMX operation",
                    state.cr0, state.cr4));
        }
        long fc = msrs.featureControl();
        if ((fc & Msr.FEATURE_CONTROL_LOCK) == 0 || (fc & Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX) == 0) {
            throw ProcessorFault.gp(String.format(
                    "VMXON: IA32_FEATURE_CONTROL %#x must have the lock bit and VMX outside SMX set", fc));
        }
        vmx.vmxon(vmxonRegion);
    }

    @Override
    public void vmxoff() {
        requireVmxOperation("VMXOFF");
        vmx.vmxoff();
    }

    @Override
    public void vmclear(long vmcs) {
        requireVmxOperation("VMCLEAR");
        vmx.vmclear(vmcs);
    }

    @Override
    public void vmptrld(long vmcs) {
        requireVmxOperation("VMPTRLD");
        vmx.vmptrld(vmcs);
    }

    @Override
    public long vmptrst() {
        requireVmxOperation("VMPTRST");
        return vmx.vmptrst();
    }

    @Override
    public long vmread(int encoding) {
        requireVmxOperation("VMREAD");
        return vmx.vmread(encoding);
    }

    @Override
    public void vmwrite(int encoding, long value) {
        requireVmxOperation("VMWRITE");
        vmx.vmwrite(encoding, value);
    }

    @Override
    public void invept(int type, long eptp) {
        requireVmxOperation("INVEPT");
        // SDM 31.3 INVEPT: IA32_VMX_EPT_VPID_CAP[24 + type] says which types are supported.
        boolean supported = (type == 1 && VmxCapabilities.EPT_CAP.inveptSingleContext())
                || (type == 2 && VmxCapabilities.EPT_CAP.inveptAllContext());
        if (!supported) {
            throw fail("INVEPT", VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND);
        }
        if (type == 1 && VmEntryChecks.eptPointer(eptp) != null) {
            throw fail("INVEPT", VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND);
        }
        ept.invalidate();
        interpreter.invalidateTranslations();
    }

    /**
     * INVVPID (SDM 31.3): the type must be one IA32_VMX_EPT_VPID_CAP allows, bits 63:16 of the descriptor must be 0,
     * the VPID must not be 0 except for the all-context type, and an individual address must be canonical. Every
     * supported type then drops all cached linear and combined mappings (SDM 29.4.3.3 allows invalidating more
     * than required; VM entry flushes them anyway, see {@link #enter}).
     */
    @Override
    public void invvpid(int type, long vpid, long linearAddress) {
        requireVmxOperation("INVVPID");
        boolean supported = VmxCapabilities.EPT_CAP.invvpid() && switch (type) {
            case 0 -> VmxCapabilities.EPT_CAP.invvpidIndividualAddress();
            case 1 -> VmxCapabilities.EPT_CAP.invvpidSingleContext();
            case 2 -> VmxCapabilities.EPT_CAP.invvpidAllContext();
            case 3 -> VmxCapabilities.EPT_CAP.invvpidSingleContextRetainingGlobals();
            default -> false;
        };
        if (!supported || (vpid >>> 16) != 0 || (type != 2 && vpid == 0)
                || (type == 0 && !ProcessorModel.canonical(linearAddress))) {
            throw fail("INVVPID", VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND);
        }
        interpreter.invalidateTranslations();
    }

    @Override
    public void vmlaunch(GeneralRegisters guest) {
        enter(guest, true);
    }

    @Override
    public void vmresume(GeneralRegisters guest) {
        enter(guest, false);
    }

    /** Why the last VM entry failed its checks (VMfailValid 7/8 or exit reason 33), or null. For diagnostics. */
    public String lastEntryFailure() {
        return lastEntryFailure;
    }

    // ---- VM entry (SDM chapter 27) -----------------------------------------------------------------------------------

    private void enter(GeneralRegisters guest, boolean launch) {
        String instruction = launch ? "VMLAUNCH" : "VMRESUME";
        requireVmxOperation(instruction);
        Vmcs v = vmx.currentVmcs(instruction);
        if (launch && v.launched()) {
            throw fail(instruction, VmInstructionError.VMLAUNCH_NON_CLEAR_VMCS);
        }
        if (!launch && !v.launched()) {
            throw fail(instruction, VmInstructionError.VMRESUME_NON_LAUNCHED_VMCS);
        }
        // 27.2: controls, then host state; failures are VMfailValid and change nothing else.
        String problem = VmEntryChecks.checkControls(v, memory.size());
        if (problem != null) {
            lastEntryFailure = problem;
            throw fail(instruction, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
        }
        problem = VmEntryChecks.checkHostState(v, state);
        if (problem != null) {
            lastEntryFailure = problem;
            throw fail(instruction, VmInstructionError.ENTRY_INVALID_HOST_STATE);
        }
        // 27.3: guest state; a failure is a VM exit with bit 31 set (27.8).
        VmEntryChecks.GuestStateFailure guestProblem = VmEntryChecks.checkGuestState(v, memory.size());
        if (guestProblem != null) {
            lastEntryFailure = guestProblem.detail();
            entryFailure(v, ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE, guestProblem.qualification());
            return;
        }
        VmTransitions.loadGuestState(v, state);
        for (int i = 0; i < 16; i++) {
            if (i != GeneralRegisters.RSP) {
                state.gpr[i] = guest.get(i);
            }
        }
        // 27.4: the VM-entry MSR-load area.
        int failedEntry = loadMsrs(v.get(VM_ENTRY_MSR_LOAD_ADDRESS), v.get32(VM_ENTRY_MSR_LOAD_COUNT));
        if (failedEntry != 0) {
            lastEntryFailure = "VM-entry MSR-load area entry " + failedEntry + " cannot be loaded";
            entryFailure(v, ExitReason.VM_ENTRY_FAILURE_MSR_LOADING, failedEntry);
            return;
        }
        if (launch) {
            v.setLaunchState(VmcsRegion.LAUNCH_STATE_LAUNCHED);
        }
        lastEntryFailure = null;
        monitor.arm(v);
        int primary = monitor.primary;
        int secondary = monitor.secondary;
        ept.arm((secondary & SecondaryProcessorBasedControls.ENABLE_EPT) != 0, v.get(EPT_POINTER));
        // Without VPID, VM entries invalidate linear and combined mappings (SDM 29.4.3.1). With VPID they need not;
        // the interpreter's translations are not tagged with a VPID, so they are dropped on every entry all the same
        // (a processor may invalidate cached mappings at any time, 29.4.1), and INVVPID has nothing stale to find.
        interpreter.invalidateTranslations();
        try {
            boolean vectoring = injectEvent(v, primary);
            deliverPendingDebugExceptions(vectoring);
            interpreter.run();
        } catch (VmExitSignal exit) {
            // the exit is recorded in the monitor
        } catch (RuntimeException bug) {
            // Not an architectural event: the interpreter failed. Return to the host so the VMM sees the error.
            VmTransitions.loadHostState(v, state);
            throw new IllegalStateException(String.format(
                    "the software processor failed while running the guest (guest RIP %#x): %s", state.rip, bug),
                    bug);
        }
        if (!monitor.exitRecorded()) {
            throw new IllegalStateException("the interpreter returned without a VM exit");
        }
        completeExit(v, guest);
    }

    /** SDM 27.6: event injection, after all guest state (and MSRs) is loaded. Returns whether it was vectoring. */
    private boolean injectEvent(Vmcs v, int primary) {
        int info = v.get32(VM_ENTRY_INTERRUPTION_INFORMATION);
        if ((info & InterruptionInfo.VALID) == 0) {
            return false;
        }
        int vector = info & 0xFF;
        InterruptionType type = InterruptionType.of(info >>> 8);
        if (type == InterruptionType.OTHER_EVENT) {
            monitor.pendingMtf = true; // 27.6.2: a pending MTF VM exit
            return false;
        }
        boolean hasErrorCode = (info & (1 << 11)) != 0;
        int errorCode = hasErrorCode ? v.get32(VM_ENTRY_EXCEPTION_ERROR_CODE) : -1;
        int length = type.usesInstructionLength() ? v.get32(VM_ENTRY_INSTRUCTION_LENGTH) : 0;
        monitor.injectingInformation = info & (0xFF | 0x700 | (1 << 11) | InterruptionInfo.VALID);
        monitor.injectingErrorCode = hasErrorCode ? errorCode : 0;
        monitor.injectingInstructionLength = length;
        // Delivery of an event wakes a HLT'd processor (27.6.1).
        state.activityState = CpuState.ACTIVITY_ACTIVE;
        interpreter.deliverEvent(vector, type, errorCode, length);
        monitor.injectingInformation = 0;
        if ((primary & PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG) != 0) {
            monitor.pendingMtf = true; // 26.7.2: MTF exit pending after injecting a vectored event
        }
        return true;
    }

    /** The pending debug exceptions that can be delivered: B3-B0, enabled breakpoint (12), BS (14) (SDM 25.4.2). */
    private static final long PENDING_DEBUG_VALID = 0xF | (1L << 12) | (1L << 14);
    /** Of those, the ones a #DB reports in DR6 and in a #DB exit's qualification: B3-B0 and BS (28.2.1). */
    private static final long PENDING_DEBUG_DR6 = 0xF | (1L << 14);

    /**
     * SDM 27.7.3: after a VM entry that is not vectoring, valid pending debug exceptions are delivered as a #DB
     * with the priority of a trap on the previous instruction: after a pending MTF exit (which then saves them,
     * 28.3.4), before the VMX-preemption timer and the windows, so here, before the first boundary. Blocking by
     * MOV SS holds them (they are lost if an exit comes first). The #DB meets the exception bitmap (an exit with
     * B3-B0 and BS as qualification) or updates DR6 and is delivered; like an interrupt, it wakes a HLT'd guest.
     * After a vectoring entry they are lost (27.7.3 leaves that open except for INT3/INTO after MOV SS).
     */
    private void deliverPendingDebugExceptions(boolean vectoring) {
        long pending = state.pendingDebugExceptions & PENDING_DEBUG_VALID;
        if (pending == 0) {
            return;
        }
        if (vectoring) {
            state.pendingDebugExceptions = 0;
            return;
        }
        if (monitor.pendingMtf || (state.interruptibility & CpuState.INTERRUPTIBILITY_MOV_SS) != 0) {
            return;
        }
        state.pendingDebugExceptions = 0;
        state.debugQualification = pending & PENDING_DEBUG_DR6;
        monitor.exception(Exceptions.DB, -1, false, 0);
        interpreter.setDebugStatus(interpreter.debugRegister(6) | (pending & PENDING_DEBUG_DR6));
        interpreter.deliverEvent(Exceptions.DB, InterruptionType.HARDWARE_EXCEPTION, -1, 0);
    }

    /** SDM 27.8: a VM-entry failure after the VMfailValid checks: only reason and qualification are recorded. */
    private void entryFailure(Vmcs v, ExitReason reason, int qualification) {
        v.put(EXIT_REASON, ExitReason.ENTRY_FAILURE_BIT | reason.number());
        v.put(EXIT_QUALIFICATION, qualification & 0xFFFF_FFFFL);
        VmTransitions.loadHostState(v, state);
        loadHostMsrs(v);
    }

    // ---- VM exit (SDM chapter 28) --------------------------------------------------------------------------------------

    private void completeExit(Vmcs v, GeneralRegisters guest) {
        VmTransitions.recordExit(v, monitor);
        VmTransitions.saveGuestState(v, state, monitor);
        int failed = storeMsrs(v.get(VM_EXIT_MSR_STORE_ADDRESS), v.get32(VM_EXIT_MSR_STORE_COUNT));
        for (int i = 0; i < 16; i++) {
            if (i != GeneralRegisters.RSP) {
                guest.set(i, state.gpr[i]);
            }
        }
        if (failed != 0) {
            abort(v, ABORT_SAVING_GUEST_MSRS);
        }
        VmTransitions.loadHostState(v, state);
        loadHostMsrs(v);
    }

    private void loadHostMsrs(Vmcs v) {
        if (loadMsrs(v.get(VM_EXIT_MSR_LOAD_ADDRESS), v.get32(VM_EXIT_MSR_LOAD_COUNT)) != 0) {
            abort(v, ABORT_LOADING_HOST_MSRS);
        }
    }

    /** SDM 28.7: the VMX-abort indicator is written and the processor shuts down. */
    private void abort(Vmcs v, int indicator) {
        VmcsRegion.setAbortIndicator(memory, v.address(), indicator);
        vmxAbort = indicator;
        throw new IllegalStateException("VMX abort " + indicator + " (SDM 28.7): the processor is shut down");
    }

    /**
     * Loads an MSR list (SDM 27.4 for VM entry, 28.6 for VM exit). Returns 0, or the 1-based number of the first
     * entry that cannot be loaded: IA32_FS_BASE / IA32_GS_BASE, x2APIC MSRs, IA32_SMM_MONITOR_CTL, reserved bits
     * 63:32 set, a value WRMSR would fault on, or an entry beyond the supported list size of 512.
     */
    private int loadMsrs(long address, int count) {
        long n = count & 0xFFFF_FFFFL;
        for (long i = 0; i < n; i++) {
            if (i >= VmxCapabilities.MAX_MSR_LIST_ENTRIES) {
                return (int) i + 1;
            }
            long entry = address + 16 * i;
            int index = memory.read32(entry);
            int reserved = memory.read32(entry + 4);
            long data = memory.read64(entry + 8);
            if (index == Msr.IA32_FS_BASE || index == Msr.IA32_GS_BASE || (index >>> 8) == 0x8 || index == 0x9B
                    || reserved != 0) {
                return (int) i + 1;
            }
            try {
                msrs.write(index, data);
            } catch (ProcessorFault gp) {
                return (int) i + 1;
            }
        }
        return 0;
    }

    /** SDM 28.4: stores MSRs into the VM-exit MSR-store area; returns 0 or the 1-based failing entry. */
    private int storeMsrs(long address, int count) {
        long n = count & 0xFFFF_FFFFL;
        for (long i = 0; i < n; i++) {
            if (i >= VmxCapabilities.MAX_MSR_LIST_ENTRIES) {
                return (int) i + 1;
            }
            long entry = address + 16 * i;
            int index = memory.read32(entry);
            if ((index >>> 8) == 0x8 || index == 0x9E || memory.read32(entry + 4) != 0) {
                return (int) i + 1;
            }
            try {
                memory.write64(entry + 8, msrs.read(index));
            } catch (ProcessorFault gp) {
                return (int) i + 1;
            }
        }
        return 0;
    }

    // ---- the rest of the SPI ------------------------------------------------------------------------------------------

    @Override
    public void kick() {
        monitor.kick();
    }

    @Override
    public Set<ExitReason> deliverableExits() {
        return DELIVERABLE;
    }

    @Override
    public long guestInstructionsRetired() {
        return state.instructionsRetired;
    }

    @Override
    public void close() {
        closed = true;
        interpreter.close();
        monitor.kick(); // a guest waiting in HLT on another thread's behalf should not linger
    }

    /**
     * Whether the interpreter translates hot blocks of guest code to JVM bytecode (default: yes, unless
     * -Djvmx.translate=false). Off, every instruction runs through the interpreter: the results are the same, which
     * the tests check by running guests both ways.
     */
    public void setBlockTranslation(boolean enabled) {
        interpreter.setBlockTranslation(enabled);
    }

    /** How many blocks of guest code the interpreter has translated to bytecode so far. */
    public long translatedBlocks() {
        return interpreter.translatedBlocks();
    }

    /** The processor's architectural state, for tests in this package. */
    CpuState state() {
        return state;
    }

    NonRootMonitor monitor() {
        return monitor;
    }

    /** DR0-DR3, DR6, DR7 of the processor, for tests in this package. */
    long debugRegister(int n) {
        return interpreter.debugRegister(n);
    }

    /** The interpreter (for tests in this package: its debug registers, which no VMCS field holds). */
    X86Interpreter interpreter() {
        return interpreter;
    }
}
