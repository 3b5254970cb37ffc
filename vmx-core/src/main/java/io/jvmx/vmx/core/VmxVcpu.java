package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Dr7;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.event.EventQueue;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.MmioAccess;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.InterruptController;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.api.memory.GuestPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.EptVpidCap;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.api.spi.CpuidLeaf;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.vmcs.GuestSegment;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.bitmaps.IoBitmap;
import io.jvmx.vmx.bitmaps.MsrBitmap;
import io.jvmx.vmx.core.dispatch.ExitDispatcher;
import io.jvmx.vmx.core.dispatch.HandlerRegistration;
import io.jvmx.vmx.core.runtime.GuestBoot;
import io.jvmx.vmx.vmcs.Vmcs;

import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * A virtual CPU in VMX non-root operation: x86_vcpu's {@code VmxVcpu} in Java. It owns a VMCS, an I/O bitmap and an
 * MSR bitmap, the guest GPRs, the queue of events to inject and the guest's extended state (XCR0, IA32_XSS).
 *
 * <p>Life: {@link #create} (VMCS region and bitmaps allocated, state CREATED) → {@link #setup} (VMCS filled, state
 * READY) → {@link #bindToCurrentProcessor} → {@link #run} repeatedly → {@link #unbindFromCurrentProcessor} →
 * {@link #free}. Exits go to an {@link ExitDispatcher}; the exits no handler takes are returned by {@link #run}, as
 * x86_vcpu returns them to its caller.
 *
 * <p>Threads: everything that touches the VMCS or the processor runs on the thread that drives the processor;
 * {@link #id()}, {@link #state()}, {@link #queueEvent} and {@link #terminate} may be called from any thread.
 */
public final class VmxVcpu implements VCpu {

    /** Segment access rights for the real-mode start state (x86_vcpu setup_vmcs_guest; SDM Vol. 3C, 25.4.1). */
    private static final int AR_DATA = 0x93, AR_CODE = 0x9B, AR_TSS_BUSY = 0x8B, AR_LDT = 0x82;
    /** Flat 32-bit segments: AR_CODE / AR_DATA with D/B = 1 (bit 14) and G = 1 (bit 15), SDM 25.4.1 Table 25-2. */
    private static final int AR_CODE_32 = 0xC09B, AR_DATA_32 = 0xC093;
    /** Pending debug exceptions bit 12: an enabled data or I/O breakpoint was met (Table 25-4). */
    private static final long PENDING_DEBUG_ENABLED_BREAKPOINT = 1L << 12;
    /** CS access rights bit 13: L (64-bit code segment). */
    private static final int AR_L = 1 << 13;
    /** CPUID.80000001H:EDX bit 27: RDTSCP. */
    private static final int CPUID_EXT_EDX_RDTSCP = 1 << 27;
    /** CPUID.(EAX=7,ECX=0):EBX bit 10: INVPCID (SDM Vol. 2A, CPUID). */
    private static final int CPUID_7_EBX_INVPCID = 1 << 10;
    /** CPUID.(EAX=0DH,ECX=1):EAX bit 3: XSAVES/XRSTORS and IA32_XSS. */
    private static final int CPUID_D1_EAX_XSAVES = 1 << 3;

    private final VmxPerCpuState perCpu;
    private final VmxProcessor processor;
    private final Vmcs vmcs;
    private final int id;
    private final long vmcsRegion;
    private final IoBitmap ioBitmap;
    private final MsrBitmap msrBitmap;
    private final GeneralRegisters regs = new GeneralRegisters();
    private final GuestPhysicalMemory memory;
    private final ExitDispatcher dispatcher;
    private final OutputStream console;
    private final long timeSlice;
    private final long cr0Fixed0, cr0Fixed1, cr4Fixed0, cr4Fixed1;
    private final boolean xsave;
    private final boolean xssSupported;
    private final long hostXcr0;
    private final long hostXss;
    private final EventQueue pending = new EventQueue();
    /** IA32_VMX_MISC[4:0]: the preemption timer ticks each time this TSC bit changes (SDM 26.7.4). */
    private final int preemptionTimerRate;
    /** Exit deadlines (guest TSC) by owner, and the earliest of them; touched only on the vCPU's thread. */
    private final Map<Class<?>, Long> exitDeadlines = new java.util.HashMap<>(4);
    private long earliestExitDeadline = Long.MAX_VALUE;
    private InterruptController interruptController;
    private final Map<Class<?>, Object> attachments = new ConcurrentHashMap<>();

    private long guestXcr0 = Xcr0.X87; // SDM Vol. 1, 13.3: XCR0 is 1 after RESET
    private long guestXss;
    private boolean launched;
    private boolean cpuidTableGiven;
    private boolean bound;
    private boolean freed;
    private volatile VCpuState state = VCpuState.CREATED;
    private volatile boolean terminated;
    private volatile int exitCode;
    private volatile String terminationReason;
    private VmExitInfo lastExit;
    private static final int EXIT_INFO_CACHE = 16;
    private final VmExitInfo[] recentExits = new VmExitInfo[EXIT_INFO_CACHE];
    private HandlerRegistration lastHandler;
    private Predicate<VmExitInfo> exitFilter;
    private Map<VmcsField, Long> frozen;

    private VmxVcpu(VmxPerCpuState perCpu, int id, GuestPhysicalMemory memory, ExitDispatcher dispatcher,
                    OutputStream console, long timeSlice, long vmcsRegion, IoBitmap io, MsrBitmap msr) {
        this.perCpu = perCpu;
        this.processor = perCpu.processor();
        this.vmcs = new Vmcs(processor);
        this.id = id;
        this.memory = memory;
        this.dispatcher = dispatcher;
        this.console = console;
        this.timeSlice = timeSlice;
        this.vmcsRegion = vmcsRegion;
        this.ioBitmap = io;
        this.msrBitmap = msr;
        this.cr0Fixed0 = processor.rdmsr(Msr.IA32_VMX_CR0_FIXED0);
        this.cr0Fixed1 = processor.rdmsr(Msr.IA32_VMX_CR0_FIXED1);
        this.cr4Fixed0 = processor.rdmsr(Msr.IA32_VMX_CR4_FIXED0);
        this.cr4Fixed1 = processor.rdmsr(Msr.IA32_VMX_CR4_FIXED1);
        this.xsave = (processor.cpuid(1, 0).ecx() & VmxPerCpuState.CPUID1_ECX_XSAVE) != 0
                && (processor.readCr(4) & Cr4.OSXSAVE) != 0;
        this.hostXcr0 = xsave ? processor.xgetbv(0) : 0;
        this.xssSupported = xsave && (processor.cpuid(0xD, 1).eax() & CPUID_D1_EAX_XSAVES) != 0;
        this.hostXss = xssSupported ? processor.rdmsr(Msr.IA32_XSS) : 0;
        this.preemptionTimerRate = VmxMisc.decode(processor.rdmsr(Msr.IA32_VMX_MISC)).preemptionTimerRate();
    }

    /**
     * Allocates the VMCS region (with the revision identifier) and the bitmaps: the I/O bitmap intercepts every port
     * (jvmx has no pass-through hardware); the MSR bitmap intercepts writes to IA32_EFER and every access to the local
     * APIC's MSRs (IA32_APIC_BASE, IA32_TSC_DEADLINE, the x2APIC range 800H-8FFH), because the guest's local APIC is
     * the VMM's device, not the processor's (SDM Vol. 3C 29.5: a VMM virtualizes them through the MSR bitmaps).
     *
     * @param memory     the guest's physical memory (what handlers and devices read and write)
     * @param dispatcher where exits go; null: every exit is returned by {@link #run}
     * @param console    the guest's serial output
     * @param timeSlice  VMX-preemption timer value the time slice is armed with; 0 leaves the timer off
     */
    public static VmxVcpu create(VmxPerCpuState perCpu, int id, GuestPhysicalMemory memory, ExitDispatcher dispatcher,
                                 OutputStream console, long timeSlice) {
        Objects.requireNonNull(memory, "memory");
        Objects.requireNonNull(console, "console");
        if (!perCpu.isEnabled()) {
            throw new IllegalStateException("VMX is not enabled on this processor: call hardwareEnable first");
        }
        if (timeSlice < 0 || timeSlice > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("preemption-timer slice must fit the 32-bit timer field: " + timeSlice);
        }
        PhysicalMemory mem = perCpu.processor().memory();
        long region = mem.allocateFrame();
        IoBitmap io = null;
        MsrBitmap msr = null;
        try {
            // SDM 25.2: the first 4 bytes of a VMCS region hold the revision identifier (bit 31: shadow VMCS = 0).
            mem.write32(region, perCpu.vmcsRevisionId() & 0x7FFF_FFFF);
            io = IoBitmap.allocate(mem, true);
            msr = MsrBitmap.allocate(mem, false);
            msr.setWriteIntercept(Msr.IA32_EFER, true);
            for (int apicMsr = Msr.X2APIC_FIRST; apicMsr <= Msr.X2APIC_LAST; apicMsr++) {
                msr.setReadIntercept(apicMsr, true);
                msr.setWriteIntercept(apicMsr, true);
            }
            for (int apicMsr : new int[] {Msr.IA32_APIC_BASE, Msr.IA32_TSC_DEADLINE}) {
                msr.setReadIntercept(apicMsr, true);
                msr.setWriteIntercept(apicMsr, true);
            }
            return new VmxVcpu(perCpu, id, memory, dispatcher, console, timeSlice, region, io, msr);
        } catch (RuntimeException | Error e) {
            mem.freeFrames(region, 1);
            if (io != null) {
                io.free();
            }
            if (msr != null) {
                msr.free();
            }
            throw e;
        }
    }

    // ================================================================== setup, bind, unbind

    /**
     * Fills the VMCS (x86_vcpu's setup_vmcs): VMCLEAR, bind, guest state for real mode at {@code entry}, controls
     * adjusted to the capability MSRs, unbind. Afterwards the vCPU is READY.
     */
    public void setup(long eptPointer, long entry) {
        setup(eptPointer, GuestBoot.Entry.realMode(entry));
    }

    /**
     * Fills the VMCS like {@link #setup(long, long)}, with the guest state of {@code entry}: real mode, or the flat
     * 32-bit protected mode a boot protocol hands over in (Linux's 32-bit boot protocol, for example).
     */
    public void setup(long eptPointer, GuestBoot.Entry entry) {
        if (state != VCpuState.CREATED) {
            throw new IllegalStateException("vCPU " + id + " is " + state + "; setup needs CREATED");
        }
        checkEptPointer(eptPointer);
        processor.vmclear(vmcsRegion);
        bindToCurrentProcessor();
        setupGuest(entry.rip());
        if (entry.protectedMode()) {
            setupFlatProtectedMode(entry);
        }
        long[] gprs = entry.gprs();
        for (int i = 0; i < 16; i++) {
            writeGpr(i, gprs[i]);
        }
        setupControls(eptPointer);
        unbindFromCurrentProcessor();
        setState(VCpuState.READY);
    }

    private void checkEptPointer(long eptp) {
        EptVpidCap cap = new EptVpidCap(processor.rdmsr(Msr.IA32_VMX_EPT_VPID_CAP));
        if (Ept.walkLengthOfPointer(eptp) != 4 || !cap.pageWalkLength4()) {
            throw new IllegalArgumentException(String.format(
                    "EPT pointer %#x: jvmx builds 4-level EPTs; the processor supports 4-level walks: %s "
                            + "(IA32_VMX_EPT_VPID_CAP bit 6, SDM Vol. 3D A.10)", eptp, cap.pageWalkLength4()));
        }
        int type = Ept.memoryTypeOfPointer(eptp);
        boolean typeOk = type == Ept.MEMORY_TYPE_WRITE_BACK ? cap.memoryTypeWriteBack()
                : type == Ept.MEMORY_TYPE_UNCACHEABLE && cap.memoryTypeUncacheable();
        if (!typeOk) {
            throw new IllegalArgumentException(String.format(
                    "EPT pointer %#x: memory type %d is not supported (IA32_VMX_EPT_VPID_CAP %#x, SDM Vol. 3D A.10)",
                    eptp, type, cap.raw()));
        }
    }

    /** VMPTRLD this vCPU's VMCS and record the host state (x86_vcpu bind_to_current_processor). */
    public void bindToCurrentProcessor() {
        requireNotFreed();
        processor.vmptrld(vmcsRegion);
        setupHost();
        bound = true;
    }

    /** VMCLEAR: the VMCS is written back and becomes clear, so the next entry is a VMLAUNCH (SDM 25.11.3). */
    public void unbindFromCurrentProcessor() {
        processor.vmclear(vmcsRegion);
        launched = false;
        bound = false;
    }

    private void setupHost() {
        processor.hostContext().writeHostState(vmcs::write);
        vmcs.write(VmcsField.HOST_IA32_SYSENTER_ESP, 0);
        vmcs.write(VmcsField.HOST_IA32_SYSENTER_EIP, 0);
        vmcs.write(VmcsField.HOST_IA32_SYSENTER_CS, 0);
    }

    /** Real mode at {@code entry} with CS.base 0 (x86_vcpu setup_vmcs_guest; unrestricted guest, SDM 27.3.1). */
    private void setupGuest(long entry) {
        vmcs.write(VmcsField.GUEST_IA32_EFER, 0);
        applyCr0(Cr0.NW | Cr0.CD | Cr0.ET);
        applyCr4(0);
        segment(GuestSegment.ES, AR_DATA);
        segment(GuestSegment.CS, AR_CODE);
        segment(GuestSegment.SS, AR_DATA);
        segment(GuestSegment.DS, AR_DATA);
        segment(GuestSegment.FS, AR_DATA);
        segment(GuestSegment.GS, AR_DATA);
        segment(GuestSegment.TR, AR_TSS_BUSY);
        segment(GuestSegment.LDTR, AR_LDT);
        vmcs.write(VmcsField.GUEST_GDTR_BASE, 0);
        vmcs.write(VmcsField.GUEST_GDTR_LIMIT, 0xFFFF);
        vmcs.write(VmcsField.GUEST_IDTR_BASE, 0);
        vmcs.write(VmcsField.GUEST_IDTR_LIMIT, 0xFFFF);
        vmcs.write(VmcsField.GUEST_CR3, 0);
        vmcs.write(VmcsField.GUEST_DR7, 0x400);
        vmcs.write(VmcsField.GUEST_RSP, 0);
        vmcs.write(VmcsField.GUEST_RIP, entry);
        vmcs.write(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1);
        vmcs.write(VmcsField.GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
        vmcs.write(VmcsField.GUEST_IA32_SYSENTER_ESP, 0);
        vmcs.write(VmcsField.GUEST_IA32_SYSENTER_EIP, 0);
        vmcs.write(VmcsField.GUEST_IA32_SYSENTER_CS, 0);
        vmcs.write(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 0);
        vmcs.write(VmcsField.GUEST_ACTIVITY_STATE, 0);
        vmcs.write(VmcsField.VMX_PREEMPTION_TIMER_VALUE, timeSlice);
        vmcs.write(VmcsField.VMCS_LINK_POINTER, -1L); // SDM 27.3.1.5: all ones unless VMCS shadowing
        vmcs.write(VmcsField.GUEST_IA32_DEBUGCTL, 0);
        vmcs.write(VmcsField.GUEST_IA32_PAT, processor.rdmsr(Msr.IA32_PAT));
    }

    /**
     * 32-bit protected mode with paging off, as a boot loader leaves the processor (SDM Vol. 3A 10.9.1 is what it did
     * to get there): CR0.PE = 1, a GDT, CS a flat 32-bit execute/read code segment, the data segments flat read/write,
     * all at privilege level 0. TR stays the busy 32-bit TSS of the reset state, which VM entry requires outside
     * IA-32e mode (SDM 27.3.1.2); LDTR stays as it is (the guest never loaded one).
     */
    private void setupFlatProtectedMode(GuestBoot.Entry entry) {
        applyCr0(Cr0.PE | Cr0.ET);
        flat(GuestSegment.CS, entry.codeSelector(), AR_CODE_32);
        for (GuestSegment data : new GuestSegment[] {GuestSegment.DS, GuestSegment.ES, GuestSegment.SS,
                GuestSegment.FS, GuestSegment.GS}) {
            flat(data, entry.dataSelector(), AR_DATA_32);
        }
        vmcs.write(VmcsField.GUEST_GDTR_BASE, entry.gdtBase());
        vmcs.write(VmcsField.GUEST_GDTR_LIMIT, entry.gdtLimit());
        vmcs.write(VmcsField.GUEST_IDTR_BASE, 0);
        vmcs.write(VmcsField.GUEST_IDTR_LIMIT, 0);
    }

    private void flat(GuestSegment segment, int selector, int rights) {
        vmcs.write(segment.selector(), selector);
        vmcs.write(segment.base(), 0);
        vmcs.write(segment.limit(), 0xFFFF_FFFFL);
        vmcs.write(segment.accessRights(), rights);
    }

    private void segment(GuestSegment segment, int rights) {
        vmcs.write(segment.selector(), 0);
        vmcs.write(segment.base(), 0);
        vmcs.write(segment.limit(), 0xFFFF);
        vmcs.write(segment.accessRights(), rights);
    }

    /**
     * The execution, exit and entry controls of x86_vcpu's setup_vmcs_control, corrected (jvmx brief): external
     * interrupts exit (so that {@link VmxProcessor#kick} works), the preemption timer is actually armed when a slice
     * is configured, and HLT does not exit. MOV to and from CR8 exit: CR8 is the local APIC's TPR (SDM Vol. 3A 11.8.6),
     * and the local APIC is the VMM's; a processor that cannot exit on CR8 (KVM delivers no CR_ACCESS) keeps CR8
     * itself.
     */
    private void setupControls(long eptPointer) {
        boolean timer = timeSlice > 0;
        int timerPin = PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER;
        vmcs.setControl(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PINBASED_CTLS,
                Msr.IA32_VMX_TRUE_PINBASED_CTLS,
                PinBasedControls.NMI_EXITING | PinBasedControls.EXTERNAL_INTERRUPT_EXITING | (timer ? timerPin : 0),
                timer ? 0 : timerPin);

        int cr8Exiting = PrimaryProcessorBasedControls.CR8_LOAD_EXITING
                | PrimaryProcessorBasedControls.CR8_STORE_EXITING;
        if (!vmcs.allowsOne(Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS, cr8Exiting)) {
            cr8Exiting = 0;
        }
        vmcs.setControl(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PROCBASED_CTLS,
                Msr.IA32_VMX_TRUE_PROCBASED_CTLS,
                PrimaryProcessorBasedControls.USE_IO_BITMAPS | PrimaryProcessorBasedControls.USE_MSR_BITMAPS
                        | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS | cr8Exiting,
                PrimaryProcessorBasedControls.CR3_LOAD_EXITING | PrimaryProcessorBasedControls.CR3_STORE_EXITING
                        | PrimaryProcessorBasedControls.HLT_EXITING
                        | PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);

        int secondary = SecondaryProcessorBasedControls.ENABLE_EPT | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST;
        if ((processor.cpuid(0x8000_0001, 0).edx() & CPUID_EXT_EDX_RDTSCP) != 0
                && vmcs.allowsOne(Msr.IA32_VMX_PROCBASED_CTLS2, SecondaryProcessorBasedControls.ENABLE_RDTSCP)) {
            secondary |= SecondaryProcessorBasedControls.ENABLE_RDTSCP;
        }
        // INVPCID, if the processor has it: with "enable INVPCID" = 0 it would be #UD in the guest (SDM Vol. 3C 26.3)
        // while CPUID, which the guest sees, reports it
        if ((processor.cpuid(7, 0).ebx() & CPUID_7_EBX_INVPCID) != 0
                && vmcs.allowsOne(Msr.IA32_VMX_PROCBASED_CTLS2, SecondaryProcessorBasedControls.ENABLE_INVPCID)) {
            secondary |= SecondaryProcessorBasedControls.ENABLE_INVPCID;
        }
        vmcs.setControl(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PROCBASED_CTLS2,
                Msr.IA32_VMX_PROCBASED_CTLS2, secondary, 0);

        // SDM 26.2.1.2: "save VMX-preemption timer value" must be 0 when the timer is not activated.
        int saveTimer = VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE;
        // The guest's DR7 and IA32_DEBUGCTL: a VM exit sets DR7 to 400H (SDM 28.5.1), so without "save debug
        // controls" on exit and "load debug controls" on entry (28.3.1, 27.3.2.1) the guest's breakpoints are gone
        // after its first exit. (x86_vcpu asks for neither; where the TRUE control MSRs let them be 0 it loses DR7.)
        // A processor that keeps DR7 itself (KVM) does not offer them.
        boolean debugControls = vmcs.allowsOne(Msr.IA32_VMX_EXIT_CTLS, Msr.IA32_VMX_TRUE_EXIT_CTLS,
                VmExitControls.SAVE_DEBUG_CONTROLS)
                && vmcs.allowsOne(Msr.IA32_VMX_ENTRY_CTLS, Msr.IA32_VMX_TRUE_ENTRY_CTLS,
                VmEntryControls.LOAD_DEBUG_CONTROLS);
        vmcs.setControl(VmcsField.PRIMARY_VM_EXIT_CONTROLS, Msr.IA32_VMX_EXIT_CTLS, Msr.IA32_VMX_TRUE_EXIT_CTLS,
                VmExitControls.HOST_ADDRESS_SPACE_SIZE | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT
                        | VmExitControls.SAVE_IA32_PAT | VmExitControls.LOAD_IA32_PAT | VmExitControls.SAVE_IA32_EFER
                        | VmExitControls.LOAD_IA32_EFER | (timer ? saveTimer : 0)
                        | (debugControls ? VmExitControls.SAVE_DEBUG_CONTROLS : 0),
                timer ? 0 : saveTimer);

        vmcs.setControl(VmcsField.VM_ENTRY_CONTROLS, Msr.IA32_VMX_ENTRY_CTLS, Msr.IA32_VMX_TRUE_ENTRY_CTLS,
                VmEntryControls.LOAD_IA32_PAT | VmEntryControls.LOAD_IA32_EFER
                        | (debugControls ? VmEntryControls.LOAD_DEBUG_CONTROLS : 0),
                VmEntryControls.IA32E_MODE_GUEST);

        vmcs.write(VmcsField.EPT_POINTER, eptPointer);
        invalidateEpt(eptPointer);

        vmcs.write(VmcsField.VM_EXIT_MSR_STORE_COUNT, 0);
        vmcs.write(VmcsField.VM_EXIT_MSR_LOAD_COUNT, 0);
        vmcs.write(VmcsField.VM_ENTRY_MSR_LOAD_COUNT, 0);
        vmcs.write(VmcsField.CR3_TARGET_COUNT, 0);
        vmcs.write(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, 0);
        vmcs.write(VmcsField.EXCEPTION_BITMAP, 1L << Exceptions.UD); // as x86_vcpu: only #UD exits
        vmcs.write(VmcsField.IO_BITMAP_A, ioBitmap.addressA());
        vmcs.write(VmcsField.IO_BITMAP_B, ioBitmap.addressB());
        vmcs.write(VmcsField.MSR_BITMAPS, msrBitmap.address());
    }

    private void invalidateEpt(long eptp) {
        EptVpidCap cap = new EptVpidCap(processor.rdmsr(Msr.IA32_VMX_EPT_VPID_CAP));
        if (cap.invept() && cap.inveptSingleContext()) {
            processor.invept(1, eptp);
        } else if (cap.invept() && cap.inveptAllContext()) {
            processor.invept(2, eptp);
        }
    }

    // ================================================================== run

    /**
     * Enters the guest until the next VM exit and handles it (x86_vcpu inner_run): injects a pending event if the
     * guest can take it, switches XCR0/IA32_XSS to the guest's, VMLAUNCH or VMRESUME, switches back, reads the exit
     * information and dispatches it.
     *
     * @return null if a handler took the exit (or the exit filter consumed it); otherwise the exit
     * @throws IllegalStateException for a VMfail on VM entry, with the SDM's error text
     * @throws io.jvmx.vmx.core.dispatch.HandlerFailureException if a handler threw
     */
    public VmExitInfo run() {
        if (!bound || frozen != null) {
            throw new IllegalStateException("vCPU " + id + " is not bound to its processor");
        }
        if (!pending.isEmpty()) {
            injectPendingEvent();
        }
        if (interruptController != null) {
            offerControllerInterrupt();
        }
        if (earliestExitDeadline != Long.MAX_VALUE) {
            armExitDeadline(earliestExitDeadline);
        }
        boolean launch = !launched;
        if (launch && !cpuidTableGiven) {
            giveCpuidTable();
        }
        loadGuestXstate();
        try {
            if (launch) {
                processor.vmlaunch(regs);
            } else {
                processor.vmresume(regs);
            }
        } catch (VmxInstructionException e) {
            throw new IllegalStateException(String.format("vCPU %d: %s failed: %s", id,
                    launch ? "VMLAUNCH" : "VMRESUME", e.getMessage()), e);
        } finally {
            loadHostXstate();
        }
        VmExitInfo info = exitInfo(vmcs.read32(VmcsField.EXIT_REASON),
                vmcs.read32(VmcsField.VM_EXIT_INSTRUCTION_LENGTH), vmcs.read(VmcsField.GUEST_RIP),
                vmcs.read(VmcsField.EXIT_QUALIFICATION));
        if (!info.entryFailure()) {
            launched = true; // a VM-entry failure leaves the launch state as it was (SDM 27.8)
        }
        lastExit = info;
        lastHandler = null;
        Predicate<VmExitInfo> filter = exitFilter;
        if (filter != null && filter.test(info)) {
            return null;
        }
        if (dispatcher == null) {
            return info;
        }
        HandlerRegistration h = dispatcher.dispatch(this, info);
        lastHandler = h;
        if (h != null && info.reason() == ExitReason.IO_INSTRUCTION) {
            ioBreakpointTrap(info);
        }
        return h == null ? info : null;
    }

    /**
     * An I/O instruction that a handler completed (RIP moved past it): the I/O breakpoints it meets are its debug
     * trap (SDM Vol. 3B 18.2.4, 18.3.1.2), which the processor will not raise, since the instruction exited before it
     * accessed the port (SDM Vol. 3C 26.1: an instruction that causes a VM exit does not execute). Pending B0-B3 make the next VM entry deliver
     * the #DB (25.4.2 Table 25-4, 27.7.3), as {@link #advanceRip} does for a single step. The guest's DR0-DR3 are
     * read only when DR7 enables some breakpoint, and CR4 only then too: on a processor that saves the control
     * registers lazily at an exit (KVM), reading it would cost every I/O exit that work.
     */
    private void ioBreakpointTrap(VmExitInfo info) {
        long dr7 = vmread(VmcsField.GUEST_DR7);
        if ((dr7 & 0xFF) == 0 || vmread(VmcsField.GUEST_RIP) != info.guestRip() + info.instructionLength()) {
            return;
        }
        long cr4 = vmread(VmcsField.GUEST_CR4);
        if ((cr4 & Cr4.DE) == 0) {
            return;
        }
        long[] dr = {processor.readDr(0), processor.readDr(1), processor.readDr(2), processor.readDr(3)};
        IoQualification q = IoQualification.decode(info.qualification());
        int met = Dr7.ioBreakpoints(dr7, cr4, dr, q.port(), q.size());
        if (met != 0) {
            vmwrite(VmcsField.GUEST_PENDING_DEBUG_EXCEPTIONS,
                    vmread(VmcsField.GUEST_PENDING_DEBUG_EXCEPTIONS) | met | PENDING_DEBUG_ENABLED_BREAKPOINT);
        }
    }

    /**
     * The exit's {@link VmExitInfo}, the same value object as an earlier exit with the same fields if one is in the
     * small cache (by RIP): a guest's exits mostly repeat at a few instructions (a polling loop, a port it writes), and
     * this keeps the exit path from allocating. The record is immutable, so sharing it is safe.
     */
    private VmExitInfo exitInfo(int reasonField, int length, long rip, long qualification) {
        int slot = (int) (rip ^ (rip >>> 7) ^ qualification) & (EXIT_INFO_CACHE - 1);
        VmExitInfo cached = recentExits[slot];
        if (cached != null && cached.guestRip() == rip && cached.exitReasonField() == reasonField
                && cached.instructionLength() == length && cached.qualification() == qualification) {
            return cached;
        }
        VmExitInfo info = VmExitInfo.of(reasonField, length, rip, qualification);
        recentExits[slot] = info;
        return info;
    }

    /**
     * For a processor that cannot deliver CPUID exits (KVM): asks the CPUID handler chain what it answers for each
     * leaf the processor's table holds, as if the guest had executed CPUID there, and gives the answers to the
     * processor. The guest's registers and RIP are restored afterwards; observers and counts do not see these
     * questions. Once per vCPU: KVM takes the table before the guest first runs, so a CPUID handler swapped in
     * later does not reach this vCPU (vcpu:handlers says so).
     */
    private void giveCpuidTable() {
        cpuidTableGiven = true;
        List<CpuidLeaf> leaves = processor.guestCpuidLeaves();
        if (leaves.isEmpty() || dispatcher == null) {
            return;
        }
        GeneralRegisters saved = new GeneralRegisters();
        saved.copyFrom(regs);
        long rip = vmread(VmcsField.GUEST_RIP);
        long interruptibility = vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE);
        Map<CpuidLeaf, CpuidResult> answers = new java.util.LinkedHashMap<>();
        try {
            for (CpuidLeaf l : leaves) {
                regs.set(GeneralRegisters.RAX, l.leaf() & 0xFFFF_FFFFL);
                regs.set(GeneralRegisters.RCX, l.subleaf() & 0xFFFF_FFFFL);
                VmExitInfo question = VmExitInfo.of(ExitReason.CPUID.number(), 2, rip, 0);
                if (dispatcher.consult(this, question) != null) {
                    answers.put(l, new CpuidResult((int) regs.get(GeneralRegisters.RAX),
                            (int) regs.get(GeneralRegisters.RBX), (int) regs.get(GeneralRegisters.RCX),
                            (int) regs.get(GeneralRegisters.RDX)));
                }
            }
        } finally {
            regs.copyFrom(saved);
            vmwrite(VmcsField.GUEST_RIP, rip);
            vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, interruptibility);
        }
        processor.setGuestCpuid(answers);
    }

    /** The last exit {@link #run} read (handled or not), or null before the first. */
    public VmExitInfo lastExit() {
        return lastExit;
    }

    /** The handler that took the last exit, or null if none did (or the exit filter consumed it). */
    public HandlerRegistration lastHandler() {
        return lastHandler;
    }

    /**
     * Exits for which {@code filter} returns true are consumed before observers and handlers see them ({@link #run}
     * returns null): the run loop uses this for the external-interrupt exits its own kicks cause.
     */
    public void setExitFilter(Predicate<VmExitInfo> filter) {
        this.exitFilter = filter;
    }

    public boolean isLaunched() {
        return launched;
    }

    public boolean isBound() {
        return bound;
    }

    // ================================================================== state

    @Override
    public int id() {
        return id;
    }

    @Override
    public VCpuState state() {
        return state;
    }

    /**
     * Moves along the state machine of DESIGN.md: CREATED → READY ⇄ RUNNING → STOPPED; any state but STOPPED →
     * FAILED. {@link #setup} makes the vCPU READY; the run loop does the rest.
     */
    public synchronized void setState(VCpuState next) {
        VCpuState cur = state;
        boolean ok = switch (next) {
            case CREATED -> false;
            case READY -> cur == VCpuState.CREATED || cur == VCpuState.RUNNING;
            case RUNNING -> cur == VCpuState.READY;
            case STOPPED -> cur == VCpuState.READY || cur == VCpuState.RUNNING;
            case FAILED -> cur != VCpuState.STOPPED && cur != VCpuState.FAILED;
        };
        if (!ok) {
            throw new IllegalStateException("vCPU " + id + ": no transition from " + cur + " to " + next);
        }
        state = next;
    }

    @Override
    public String processorKind() {
        return processor.kind();
    }

    public VmxProcessor processor() {
        return processor;
    }

    public VmxPerCpuState perCpuState() {
        return perCpu;
    }

    /** Host-physical address of this vCPU's VMCS region. */
    public long vmcsRegion() {
        return vmcsRegion;
    }

    /** The typed VMCS accessor (valid while bound). */
    public Vmcs vmcs() {
        return vmcs;
    }

    // ================================================================== VMCS and registers

    @Override
    public long vmread(VmcsField field) {
        Map<VmcsField, Long> f = frozen;
        if (f != null) {
            Long v = f.get(field);
            if (v == null) {
                throw new IllegalStateException("vCPU " + id + " has ended and " + field + " was not captured");
            }
            return v;
        }
        return vmcs.read(field);
    }

    @Override
    public void vmwrite(VmcsField field, long value) {
        if (frozen != null) {
            throw new IllegalStateException("vCPU " + id + " has ended: its VMCS is read-only");
        }
        vmcs.write(field, value);
    }

    @Override
    public GeneralRegisters regs() {
        return regs;
    }

    // GPRs, RIP, advanceRip and guestCr: VCpu's default methods, the VMCS's rules, shared with the handler test kit

    // ================================================================== control registers



    @Override
    public void setGuestCr(int cr, long value) {
        switch (cr) {
            case 0 -> {
                applyCr0(value);
                updateLongMode();
            }
            case 3 -> vmwrite(VmcsField.GUEST_CR3, value);
            case 4 -> applyCr4(value);
            default -> throw new IllegalArgumentException("CR" + cr + " cannot be set through the VMCS (CR0, CR3, CR4)");
        }
    }

    /**
     * x86_vcpu set_cr(0): the processor's CR0 gets the FIXED bits, except that NW and CD are kept off and PE and PG
     * are free (unrestricted guest); the guest reads its own value from the shadow; the mask owns the fixed bits and
     * (jvmx) PE and PG, so every mode switch is a CR-access exit.
     */
    private void applyCr0(long value) {
        long mayBe1 = cr0Fixed1 & ~(Cr0.NW | Cr0.CD);
        long mustBe1 = cr0Fixed0 & ~(Cr0.PE | Cr0.PG);
        vmwrite(VmcsField.GUEST_CR0, (value & mayBe1) | mustBe1);
        vmwrite(VmcsField.CR0_READ_SHADOW, value);
        vmwrite(VmcsField.CR0_GUEST_HOST_MASK, mustBe1 | ~mayBe1 | Cr0.PE | Cr0.PG);
    }

    /**
     * x86_vcpu set_cr(4) with the FIXED bits (CR4.VMXE is forced on in the processor's value); the guest reads back
     * what it wrote (SDM 25.6.6; x86_vcpu also puts VMXE into the shadow, which would show VMX to the guest); the
     * mask owns the fixed bits and (jvmx) PAE.
     */
    private void applyCr4(long value) {
        vmwrite(VmcsField.GUEST_CR4, (value & cr4Fixed1) | cr4Fixed0);
        vmwrite(VmcsField.CR4_READ_SHADOW, value);
        vmwrite(VmcsField.CR4_GUEST_HOST_MASK, cr4Fixed0 | ~cr4Fixed1 | Cr4.PAE);
    }

    /**
     * SDM Vol. 3A 9.8.5: IA-32e mode is active (EFER.LMA = 1) exactly when paging is on with EFER.LME = 1; VM entry
     * loads EFER.LMA from the "IA-32e mode guest" control (SDM 27.3.2.1), so both must follow CR0.PG. x86_vcpu's
     * update_efer only ever turns them on.
     */
    private void updateLongMode() {
        long efer = vmread(VmcsField.GUEST_IA32_EFER);
        boolean lma = (vmread(VmcsField.GUEST_CR0) & Cr0.PG) != 0 && (efer & Efer.LME) != 0;
        long newEfer = lma ? efer | Efer.LMA : efer & ~Efer.LMA;
        if (newEfer != efer) {
            vmwrite(VmcsField.GUEST_IA32_EFER, newEfer);
        }
        boolean ia32e = (vmread(VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST) != 0;
        if (ia32e != lma) {
            int bit = VmEntryControls.IA32E_MODE_GUEST;
            vmcs.setControl(VmcsField.VM_ENTRY_CONTROLS, Msr.IA32_VMX_ENTRY_CTLS, Msr.IA32_VMX_TRUE_ENTRY_CTLS,
                    lma ? bit : 0, lma ? 0 : bit);
        }
    }

    /** x86_vcpu get_cpu_mode, reading the guest's EFER from the VMCS (the crate reads the host's MSR). */
    public VmCpuMode cpuMode() {
        long efer = vmread(VmcsField.GUEST_IA32_EFER);
        if ((efer & Efer.LMA) != 0) {
            return (vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS) & AR_L) != 0 ? VmCpuMode.MODE_64 : VmCpuMode.COMPATIBILITY;
        }
        return (vmread(VmcsField.GUEST_CR0) & Cr0.PE) != 0 ? VmCpuMode.PROTECTED : VmCpuMode.REAL;
    }

    // ================================================================== events

    @Override
    public void queueEvent(int vector, InterruptionType type, int errorCode) {
        pending.add(new PendingEvent(vector, type, errorCode));
    }

    @Override
    public int pendingEventCount() {
        return pending.size();
    }

    /** The next deliverable pending event, by the rule of {@link EventQueue} (exceptions before interrupts). */
    @Override
    public boolean injectPendingEvent() {
        return pending.injectNext(this);
    }

    @Override
    public void setInterruptController(InterruptController controller) {
        interruptController = controller;
    }

    /**
     * The controller's interrupt goes in if this entry injects nothing else and the guest can take it; otherwise the
     * interrupt window brings the guest back as soon as it can (an event still queued is injected first).
     */
    private void offerControllerInterrupt() {
        if (interruptController.pendingInterrupt() < 0) {
            return;
        }
        if ((vmread(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION) & InterruptionInfo.VALID) != 0
                || !EventQueue.canTakeExternalInterrupt(this)) {
            setInterruptWindowExiting(true);
            return;
        }
        int vector = interruptController.acknowledgeInterrupt();
        EventQueue.inject(this, vector, InterruptionType.EXTERNAL_INTERRUPT, -1);
        // the controller's next interrupt waits for an exit that changes its priorities (EOI, TPR) or adds one;
        // only a queued external interrupt needs the window
        setInterruptWindowExiting(pending.hasExternalInterrupt());
    }

    @Override
    public void setInterruptWindowExiting(boolean enable) {
        long ctl = vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        long next = enable ? ctl | PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING
                : ctl & ~PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING;
        if (next != ctl) {
            vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, next);
        }
    }

    // ================================================================== extended state

    @Override
    public long guestXcr0() {
        return guestXcr0;
    }

    /**
     * The XCR0 the guest runs with (loaded at every VM entry). The xsetbv handler checks the SDM's rules and injects
     * #GP for a bad value; this method rejects only what the processor could not load.
     */
    @Override
    public void setGuestXcr0(long xcr0) {
        if ((xcr0 & Xcr0.X87) == 0) {
            throw new IllegalArgumentException(String.format("XCR0 %#x: bit 0 (x87) must be 1 (SDM Vol. 1, 13.3)", xcr0));
        }
        long unsupported = xcr0 & ~supportedXcr0();
        if (unsupported != 0) {
            throw new IllegalArgumentException(String.format(
                    "XCR0 %#x: bits %#x are not supported by the processor (CPUID.(EAX=0DH,ECX=0):EDX:EAX)", xcr0,
                    unsupported));
        }
        guestXcr0 = xcr0;
    }

    public long guestXss() {
        return guestXss;
    }

    public void setGuestXss(long xss) {
        guestXss = xss;
    }

    @Override
    public long supportedXcr0() {
        if (!xsave) {
            return Xcr0.X87;
        }
        CpuidResult r = processor.cpuid(0xD, 0);
        return (r.eax() & 0xFFFF_FFFFL) | ((long) r.edx() << 32);
    }

    /** CPUID in root operation; leaf 0xD with the guest's XCR0 loaded, since its sizes depend on XCR0 (as x86_vcpu). */
    @Override
    public CpuidResult hostCpuid(int leaf, int subleaf) {
        if (leaf == 0xD && xsave && guestXcr0 != hostXcr0) {
            processor.xsetbv(0, guestXcr0);
            try {
                return processor.cpuid(leaf, subleaf);
            } finally {
                processor.xsetbv(0, hostXcr0);
            }
        }
        return processor.cpuid(leaf, subleaf);
    }

    /** x86_vcpu load_guest_xstate: the guest's XCR0 and IA32_XSS, if they differ from the host's. */
    private void loadGuestXstate() {
        if (xsave && guestXcr0 != hostXcr0) {
            processor.xsetbv(0, guestXcr0);
        }
        if (xssSupported && guestXss != hostXss) {
            processor.wrmsr(Msr.IA32_XSS, guestXss);
        }
    }

    private void loadHostXstate() {
        if (xsave && guestXcr0 != hostXcr0) {
            processor.xsetbv(0, hostXcr0);
        }
        if (xssSupported && guestXss != hostXss) {
            processor.wrmsr(Msr.IA32_XSS, hostXss);
        }
    }

    // ================================================================== timer, memory, platform

    @Override
    public long guestTsc() {
        return processor.rdmsr(Msr.IA32_TIME_STAMP_COUNTER) + tscOffset();
    }

    /** What the guest's TSC adds to the processor's: TSC_OFFSET under "use TSC offsetting" (SDM 26.4.2), else 0. */
    private long tscOffset() {
        boolean offsetting = (vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & PrimaryProcessorBasedControls.USE_TSC_OFFSETTING) != 0;
        return offsetting ? vmread(VmcsField.TSC_OFFSET) : 0;
    }

    @Override
    public void setExitDeadline(Class<?> owner, long guestTsc) {
        exitDeadlines.put(Objects.requireNonNull(owner, "owner"), guestTsc);
        earliestExitDeadline = earliest();
    }

    @Override
    public void clearExitDeadline(Class<?> owner) {
        if (exitDeadlines.remove(owner) != null) {
            earliestExitDeadline = earliest();
        }
    }

    /** Computed when a deadline changes (a device's exit), so that each VM entry only compares one field. */
    private long earliest() {
        long deadline = Long.MAX_VALUE;
        for (long d : exitDeadlines.values()) {
            deadline = Math.min(deadline, d);
        }
        return deadline;
    }

    /**
     * Lowers the VMX-preemption timer so that it expires at the first timer tick at or after the earliest deadline:
     * the timer counts down each time TSC bit X (IA32_VMX_MISC[4:0]) changes, so from TSC t with value v it expires
     * at ((t >> X) + v) << X (SDM 26.7.4). A deadline already passed gives 0: the exit comes before the first guest
     * instruction. When the timer was off (no time slice), it is activated together with "save VMX-preemption timer
     * value", which the SDM requires to be 0 without it (26.2.1.2), so the preemption-timer handler's disarm clears
     * both.
     */
    private void armExitDeadline(long deadline) {
        // the timer counts the processor's TSC, not the guest's: the deadline is moved by the TSC offset (one TSC
        // read: on KVM each is an ioctl, and two would disagree by the time between them)
        long hostNow = processor.rdmsr(Msr.IA32_TIME_STAMP_COUNTER);
        long hostDeadline = deadline - tscOffset();
        long ticks = 0;
        if (hostDeadline > hostNow) {
            long unit = 1L << preemptionTimerRate;
            ticks = Math.min(0xFFFF_FFFFL, Math.floorDiv(hostDeadline + unit - 1, unit) - Math.floorDiv(hostNow, unit));
        }
        long pin = vmread(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
        if ((pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0) {
            ticks = Math.min(ticks, vmread(VmcsField.VMX_PREEMPTION_TIMER_VALUE) & 0xFFFF_FFFFL);
        } else {
            vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, pin | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
            long exitCtl = vmread(VmcsField.PRIMARY_VM_EXIT_CONTROLS);
            vmwrite(VmcsField.PRIMARY_VM_EXIT_CONTROLS, exitCtl | VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE);
        }
        vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, ticks);
    }

    @Override
    public long preemptionTimerSlice() {
        return timeSlice;
    }

    @Override
    public GuestPhysicalMemory guestMemory() {
        return memory;
    }

    @Override
    public OutputStream console() {
        return console;
    }

    @Override
    public MmioAccess mmioAccess() {
        return processor.pendingMmioAccess();
    }

    @Override
    public void completeMmio(long value) {
        processor.completeMmio(value);
    }

    @Override
    public void terminate(int exitCode, String reason) {
        this.exitCode = exitCode;
        this.terminationReason = reason;
        this.terminated = true;
    }

    public boolean isTerminated() {
        return terminated;
    }

    public int exitCode() {
        return exitCode;
    }

    public String terminationReason() {
        return terminationReason;
    }

    @Override
    public <T> T attachment(Class<T> key, Supplier<? extends T> initial) {
        return key.cast(attachments.computeIfAbsent(key, k -> Objects.requireNonNull(initial.get(),
                "attachment supplier returned null")));
    }

    // ================================================================== intercepts

    /** Whether I/O instructions on ports [first, first + count) exit (I/O bitmaps, SDM 25.6.4). */
    public void setIoIntercept(int first, int count, boolean intercept) {
        ioBitmap.setInterceptRange(first, count, intercept);
    }

    public boolean isIoIntercepted(int port) {
        return ioBitmap.isIntercepted(port);
    }

    /** Whether RDMSR / WRMSR of {@code msr} exit (MSR bitmaps, SDM 25.6.9). */
    public void setMsrIntercept(int msr, boolean read, boolean write) {
        msrBitmap.setReadIntercept(msr, read);
        msrBitmap.setWriteIntercept(msr, write);
    }

    public boolean isMsrReadIntercepted(int msr) {
        return msrBitmap.isReadIntercepted(msr);
    }

    public boolean isMsrWriteIntercepted(int msr) {
        return msrBitmap.isWriteIntercepted(msr);
    }

    public IoBitmap ioBitmap() {
        return ioBitmap;
    }

    public MsrBitmap msrBitmap() {
        return msrBitmap;
    }

    // ================================================================== snapshots and teardown

    /** Registers, control registers and segments as they are now (for vcpu:regs). */
    public GuestState snapshot() {
        return new GuestState(id, cpuMode(), regs, vmread(VmcsField.GUEST_RSP), vmread(VmcsField.GUEST_RIP),
                vmread(VmcsField.GUEST_RFLAGS), guestCr(0), guestCr(3), guestCr(4),
                vmread(VmcsField.GUEST_IA32_EFER), List.of(
                        seg("cs", VmcsField.GUEST_CS_SELECTOR, VmcsField.GUEST_CS_BASE, VmcsField.GUEST_CS_LIMIT, VmcsField.GUEST_CS_ACCESS_RIGHTS),
                        seg("ds", VmcsField.GUEST_DS_SELECTOR, VmcsField.GUEST_DS_BASE, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_DS_ACCESS_RIGHTS),
                        seg("es", VmcsField.GUEST_ES_SELECTOR, VmcsField.GUEST_ES_BASE, VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_ES_ACCESS_RIGHTS),
                        seg("fs", VmcsField.GUEST_FS_SELECTOR, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_FS_ACCESS_RIGHTS),
                        seg("gs", VmcsField.GUEST_GS_SELECTOR, VmcsField.GUEST_GS_BASE, VmcsField.GUEST_GS_LIMIT, VmcsField.GUEST_GS_ACCESS_RIGHTS),
                        seg("ss", VmcsField.GUEST_SS_SELECTOR, VmcsField.GUEST_SS_BASE, VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_SS_ACCESS_RIGHTS),
                        seg("tr", VmcsField.GUEST_TR_SELECTOR, VmcsField.GUEST_TR_BASE, VmcsField.GUEST_TR_LIMIT, VmcsField.GUEST_TR_ACCESS_RIGHTS),
                        seg("ldtr", VmcsField.GUEST_LDTR_SELECTOR, VmcsField.GUEST_LDTR_BASE, VmcsField.GUEST_LDTR_LIMIT, VmcsField.GUEST_LDTR_ACCESS_RIGHTS)),
                vmread(VmcsField.GUEST_GDTR_BASE), (int) vmread(VmcsField.GUEST_GDTR_LIMIT),
                vmread(VmcsField.GUEST_IDTR_BASE), (int) vmread(VmcsField.GUEST_IDTR_LIMIT),
                (int) vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE), (int) vmread(VmcsField.GUEST_ACTIVITY_STATE));
    }

    private GuestState.Segment seg(String name, VmcsField sel, VmcsField base, VmcsField limit, VmcsField ar) {
        return new GuestState.Segment(name, (int) vmread(sel), vmread(base), (int) vmread(limit), (int) vmread(ar));
    }

    /**
     * Captures the whole VMCS (the VMCS must be current) so that {@link #vmread}, {@link #guestCr} and
     * {@link #snapshot} keep answering after the processor is gone; from then on the vCPU is read-only.
     */
    public void freeze() {
        if (frozen == null) {
            frozen = Map.copyOf(vmcs.readAll());
        }
    }

    /** Every VMCS field the processor supports, in encoding order (for vcpu:vmcs; also after the vCPU ended). */
    public java.util.SortedMap<VmcsField, Long> vmcsFields() {
        Map<VmcsField, Long> f = frozen;
        if (f != null) {
            java.util.SortedMap<VmcsField, Long> copy = new java.util.TreeMap<>(Vmcs.ENCODING_ORDER);
            copy.putAll(f);
            return copy;
        }
        return vmcs.readAll();
    }

    public boolean isFrozen() {
        return frozen != null;
    }

    /** Returns the VMCS region and the bitmaps to the host allocator (after {@link #unbindFromCurrentProcessor}). */
    public void free() {
        if (freed) {
            return;
        }
        freed = true;
        ioBitmap.free();
        msrBitmap.free();
        processor.memory().freeFrames(vmcsRegion, 1);
    }

    private void requireNotFreed() {
        if (freed) {
            throw new IllegalStateException("vCPU " + id + " has been freed");
        }
    }

    @Override
    public String toString() {
        return "VmxVcpu[" + id + ", " + state + ", " + processor.kind() + "]";
    }
}
