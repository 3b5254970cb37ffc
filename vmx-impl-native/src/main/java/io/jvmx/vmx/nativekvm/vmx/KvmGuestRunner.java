package io.jvmx.vmx.nativekvm.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.MmioAccess;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidLeaf;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.nativekvm.kvm.CpuidTable;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Events;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Run;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Sregs;
import io.jvmx.vmx.nativekvm.kvm.KvmException;
import io.jvmx.vmx.nativekvm.kvm.KvmVcpu;
import io.jvmx.vmx.nativekvm.kvm.KvmVm;
import io.jvmx.vmx.nativekvm.kvm.ThreadKick;
import io.jvmx.vmx.vmcs.region.VmcsRegion;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * VM entry and VM exit of the KVM processor: the VMCS becomes KVM state (memory slots from the EPT, an MSR filter
 * from the MSR bitmap, the CPUID table, registers, events, XCR0, a timer for the VMX-preemption timer), KVM_RUN runs
 * the guest, and what KVM reports becomes a VM exit with the SDM's exit reason, qualification and guest state.
 *
 * <p>Exits KVM reports that VMX would not (a port the I/O bitmap does not intercept, an early timer signal) are
 * finished here and the guest goes on. Operations KVM leaves pending for user space (IN, an MMIO read, RDMSR and
 * WRMSR) are completed at the next VM entry from what the VMM did: the value its handler put into RAX (or memory,
 * or the MMIO completion), and whether it advanced RIP past the instruction (the instruction is done) or not (it
 * runs again). KVM finishes the operation first, with immediate_exit so that no guest instruction runs, and then
 * the VMM's registers are loaded: the VMM's view of the guest wins.
 */
final class KvmGuestRunner {
    private static final int NONE = 0, IO_IN = 1, MMIO_READ = 2, MSR_READ = 3, MSR_WRITE = 4;
    private static final int ACTIVITY_ACTIVE = 0, ACTIVITY_HLT = 1;
    /** A preemption-timer signal that would come this much before the deadline is good enough (no re-arm). */
    private static final long TIMER_SLACK_NANOS = 50_000;

    private final KvmVmxProcessor processor;
    private final KvmVcpu vcpu;
    private final ByteBuffer run;
    private final KvmPhysicalMemory memory;
    private final ThreadKick kick;
    private final CpuidTable supported;
    private final GuestCodeReader code;
    private final byte[] insn = new byte[15];
    private final byte[] window = new byte[15];
    private final AtomicBoolean kickPending = new AtomicBoolean();
    private final Object haltLock = new Object();

    private final boolean xsave;
    private long tscKhz;
    private boolean cpuidApplied;
    private Map<CpuidLeaf, CpuidResult> guestCpuid;
    private long slotsEptp = Long.MIN_VALUE;
    private boolean slotsStale = true;
    private int slotCount;
    private long filterBitmap = Long.MIN_VALUE;
    private boolean filterUsesBitmap;
    private volatile boolean filterStale = true;
    private long kvmXcr0 = -1;
    private int guestDebug;
    private final long[] pushedMsrs = {Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE, Long.MIN_VALUE};
    private static final int[] ENTRY_MSRS = {Msr.IA32_SYSENTER_CS, Msr.IA32_SYSENTER_ESP, Msr.IA32_SYSENTER_EIP,
            Msr.IA32_PAT};
    private static final VmcsField[] ENTRY_MSR_FIELDS = {GUEST_IA32_SYSENTER_CS, GUEST_IA32_SYSENTER_ESP,
            GUEST_IA32_SYSENTER_EIP, GUEST_IA32_PAT};

    // the operation KVM left pending at the last exit
    private int pending = NONE;
    private long pendingRip;
    private int pendingLength;
    private IoInstruction pendingIo;
    private int pendingCount;
    private int pendingDataOffset;
    private long pendingLinear;
    private MmioAccess mmio;
    private OutDecision lastOut;
    private boolean mmioCompleted;
    private long mmioValue;

    // the VMX-preemption timer
    private boolean timerOn;
    private long deadline;
    private boolean timerArmed;
    private long armedDeadline;

    private boolean halted;
    private boolean controlsChecked;
    private boolean msrsLoaded;
    /** The exit saved only the eager part of the guest state; the rest is in kvm_run (KvmGuestState.saveLazy). */
    private boolean lazyPending;
    private Thread boundThread;
    private String lastEntryFailure;
    private boolean closed;

    KvmGuestRunner(KvmVmxProcessor processor, KvmVcpu vcpu, KvmPhysicalMemory memory, ThreadKick kick,
                   CpuidTable supported) {
        this.processor = processor;
        this.vcpu = vcpu;
        this.run = vcpu.run();
        this.memory = memory;
        this.kick = kick;
        this.supported = supported;
        this.code = new GuestCodeReader(memory);
        this.xsave = processor.cpuidReportsXsave();
        run.putLong(Run.VALID_REGS, KvmAbi.KVM_SYNC_X86_REGS | KvmAbi.KVM_SYNC_X86_SREGS | KvmAbi.KVM_SYNC_X86_EVENTS);
        // the synchronized area holds KVM's state from the start, so that the first entry loads only differences
        vcpu.getRegsIntoRun(KvmAbi.KVM_SYNC_X86_REGS | KvmAbi.KVM_SYNC_X86_SREGS | KvmAbi.KVM_SYNC_X86_EVENTS);
        memory.setWriteWatcher(frame -> {
            if (frame == (filterBitmap >>> 12)) {
                filterStale = true; // the VMM changed the MSR bitmap: a new filter at the next entry
            }
        });
    }

    String lastEntryFailure() {
        return lastEntryFailure;
    }

    void invalidateSlots() {
        slotsStale = true;
        code.invalidate();
        lastOut = null;
    }

    void setGuestCpuid(Map<CpuidLeaf, CpuidResult> answers) {
        if (cpuidApplied) {
            throw new IllegalStateException("KVM has the guest's CPUID table already (it takes it before the first "
                    + "KVM_RUN and not again)");
        }
        guestCpuid = Map.copyOf(answers);
    }

    MmioAccess pendingMmioAccess() {
        return mmio;
    }

    void completeMmio(long value) {
        if (mmio == null) {
            throw new IllegalStateException("kvm processor has no decoded MMIO access pending");
        }
        mmioCompleted = true;
        mmioValue = value;
    }

    void kick() {
        kickPending.set(true);
        synchronized (haltLock) {
            haltLock.notifyAll();
        }
        kick.kick();
    }

    void close() {
        closed = true;
        kick();
    }

    // ================================================================== VM entry

    /**
     * The VMM wrote a VMCS field ({@code type}: bits 11:10 of the encoding, 0 = control): controls are checked again,
     * and entry MSRs compared again, only after such writes.
     */
    void fieldWritten(int encoding) {
        if (((encoding >>> 10) & 3) == 0) {
            controlsChecked = false;
        }
        int full = encoding & ~1;
        if (full == VM_ENTRY_CONTROLS.encoding()) {
            msrsLoaded = false;
        }
        for (VmcsField f : ENTRY_MSR_FIELDS) {
            if (f.encoding() == full) {
                msrsLoaded = false;
            }
        }
    }

    /** Another VMCS became current: everything is checked and compared again at its entry. */
    void vmcsChanged() {
        controlsChecked = false;
        msrsLoaded = false;
    }

    void enter(VmcsRegion v, GeneralRegisters guest, boolean launch, String instruction) {
        if (!controlsChecked) {
            String problem = checkControls(v);
            if (problem != null) {
                lastEntryFailure = problem;
                throw processor.failValid(instruction, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
            }
            controlsChecked = true;
        }
        int info = v.get32(VM_ENTRY_INTERRUPTION_INFORMATION);
        if ((info & InterruptionInfo.VALID) != 0) {
            int type = (info >>> 8) & 7;
            if (type != 0 && type != 2 && type != 3) {
                lastEntryFailure = "KVM cannot inject an event of interruption type " + type
                        + " (software interrupts and exceptions need the instruction length KVM does not take)";
                throw processor.failValid(instruction, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
            }
        }
        if (boundThread != Thread.currentThread()) {
            vcpu.setSignalMask(kick.bindCurrentThread());
            boundThread = Thread.currentThread();
        }
        applyCpuid();
        syncSlots(v);
        syncMsrFilter(v);
        if (launch) {
            v.setLaunchState(VmcsRegion.LAUNCH_STATE_LAUNCHED);
        }
        completePending(v, guest);
        lastEntryFailure = null;

        int primary = v.get32(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        int pin = v.get32(PIN_BASED_VM_EXECUTION_CONTROLS);
        boolean loadEfer = (v.get32(VM_ENTRY_CONTROLS) & VmEntryControls.LOAD_IA32_EFER) != 0;
        int dirty = KvmGuestState.load(run, v, guest, loadEfer, !lazyPending);
        halted = v.get32(GUEST_ACTIVITY_STATE) == ACTIVITY_HLT;
        if ((info & InterruptionInfo.VALID) != 0) {
            dirty |= inject(v, info);
            halted = false; // delivering an event wakes a halted processor (SDM 27.6.1)
        }
        if ((dirty & KvmAbi.KVM_SYNC_X86_EVENTS) != 0) {
            run.putInt(Run.SYNC_EVENTS + Events.FLAGS, KvmAbi.KVM_VCPUEVENT_VALID_SHADOW);
        }
        run.putLong(Run.DIRTY_REGS, dirty);
        loadMsrsAndXcr0(v);
        int debug = (primary & PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG) != 0
                ? KvmAbi.KVM_GUESTDBG_ENABLE | KvmAbi.KVM_GUESTDBG_SINGLESTEP : 0;
        if (debug != guestDebug) {
            vcpu.setGuestDebug(debug);
            guestDebug = debug;
        }
        timerOn = (pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0;
        if (timerOn) {
            deadline = System.nanoTime() + timerNanos(v.get(VMX_PREEMPTION_TIMER_VALUE));
        } else if (timerArmed) {
            kick.armTimer(0);
            timerArmed = false;
        }
        runUntilExit(v, guest, pin, primary);
    }

    private String checkControls(VmcsRegion v) {
        int pin = v.get32(PIN_BASED_VM_EXECUTION_CONTROLS);
        int primary = v.get32(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        int secondary = (primary & PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS) != 0
                ? v.get32(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) : 0;
        String p = KvmVmxCapabilities.unsupported("pin-based controls", pin, KvmVmxCapabilities.PIN);
        if (p == null) {
            p = KvmVmxCapabilities.unsupported("primary processor-based controls", primary, KvmVmxCapabilities.PRIMARY);
        }
        if (p == null) {
            p = KvmVmxCapabilities.unsupported("secondary processor-based controls", secondary,
                    KvmVmxCapabilities.SECONDARY);
        }
        if (p == null) {
            p = KvmVmxCapabilities.unsupported("VM-exit controls", v.get32(PRIMARY_VM_EXIT_CONTROLS),
                    KvmVmxCapabilities.EXIT);
        }
        if (p == null) {
            p = KvmVmxCapabilities.unsupported("VM-entry controls", v.get32(VM_ENTRY_CONTROLS),
                    KvmVmxCapabilities.ENTRY);
        }
        if (p == null && (secondary & SecondaryProcessorBasedControls.ENABLE_EPT) == 0) {
            p = "the KVM processor needs \"enable EPT\": guest RAM is what the EPT maps (memory slots)";
        }
        return p;
    }

    /** KVM_SET_CPUID2 once, before the first KVM_RUN: KVM's table with the VMM's answers where it gave some. */
    private void applyCpuid() {
        if (cpuidApplied) {
            return;
        }
        List<CpuidTable.Entry> entries = new ArrayList<>();
        for (CpuidTable.Entry e : supported.entries()) {
            CpuidResult r = guestCpuid == null ? null : guestCpuid.get(new CpuidLeaf(e.function(), e.index()));
            entries.add(r == null ? e : new CpuidTable.Entry(e.function(), e.index(), e.indexed(), r.eax(), r.ebx(),
                    r.ecx(), r.edx()));
        }
        if (guestCpuid != null) {
            for (Map.Entry<CpuidLeaf, CpuidResult> a : guestCpuid.entrySet()) {
                if (supported.find(a.getKey().leaf(), a.getKey().subleaf()) == null) {
                    CpuidResult r = a.getValue();
                    entries.add(new CpuidTable.Entry(a.getKey().leaf(), a.getKey().subleaf(), false, r.eax(), r.ebx(),
                            r.ecx(), r.edx()));
                }
            }
        }
        vcpu.setCpuid(new CpuidTable(entries));
        cpuidApplied = true;
    }

    /** Memory slots from the EPT when the EPT pointer changed or INVEPT said the mappings did. */
    private void syncSlots(VmcsRegion v) {
        long eptp = v.get(EPT_POINTER);
        if (!slotsStale && eptp == slotsEptp) {
            return;
        }
        KvmVm vm = processor.vm();
        for (int i = 0; i < slotCount; i++) {
            vm.setMemoryRegion(i, 0, 0, 0, false);
        }
        slotCount = 0;
        List<EptSlots.Slot> slots = EptSlots.of(memory, eptp);
        for (EptSlots.Slot s : slots) {
            vm.setMemoryRegion(slotCount++, s.gpa(), s.size(), memory.baseAddress() + s.hpa(), s.readOnly());
        }
        slotsEptp = eptp;
        slotsStale = false;
    }

    /**
     * The MSR bitmap as an MSR filter (SDM 25.6.9): its four 1-KiB bitmaps (read low, read high, write low, write
     * high) inverted, since a filter bit allows what a bitmap bit intercepts; MSRs outside both ranges, or all MSRs
     * without "use MSR bitmaps", exit (the filter's default is deny).
     */
    private void syncMsrFilter(VmcsRegion v) {
        boolean use = (v.get32(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & PrimaryProcessorBasedControls.USE_MSR_BITMAPS) != 0;
        long bitmap = use ? v.get(MSR_BITMAPS) : -1;
        if (!filterStale && bitmap == filterBitmap && use == filterUsesBitmap) {
            return;
        }
        List<KvmVm.MsrRange> ranges = new ArrayList<>();
        if (use) {
            int[][] parts = {{KvmAbi.KVM_MSR_FILTER_READ, 0, 0}, {KvmAbi.KVM_MSR_FILTER_READ, 0xC000_0000, 1024},
                    {KvmAbi.KVM_MSR_FILTER_WRITE, 0, 2048}, {KvmAbi.KVM_MSR_FILTER_WRITE, 0xC000_0000, 3072}};
            for (int[] p : parts) {
                byte[] bits = new byte[1024];
                memory.read(bitmap + p[2], bits, 0, bits.length);
                for (int i = 0; i < bits.length; i++) {
                    bits[i] = (byte) ~bits[i];
                }
                ranges.add(new KvmVm.MsrRange(p[0], p[1], bits));
            }
        }
        processor.vm().setMsrFilter(ranges);
        filterBitmap = bitmap;
        filterUsesBitmap = use;
        filterStale = false;
        if (use) {
            memory.watchFrame(bitmap);
        }
    }

    /** The VM-entry interruption information as KVM events (SDM 27.6): interrupt, NMI or hardware exception. */
    private int inject(VmcsRegion v, int info) {
        int vector = info & 0xFF;
        int ev = Run.SYNC_EVENTS;
        switch ((info >>> 8) & 7) {
            case 0 -> {
                run.put(ev + Events.INTERRUPT_INJECTED, (byte) 1);
                run.put(ev + Events.INTERRUPT_NR, (byte) vector);
                run.put(ev + Events.INTERRUPT_SOFT, (byte) 0);
            }
            case 2 -> run.put(ev + Events.NMI_INJECTED, (byte) 1);
            default -> {
                boolean errorCode = (info & (1 << 11)) != 0;
                run.put(ev + Events.EXCEPTION_INJECTED, (byte) 1);
                run.put(ev + Events.EXCEPTION_NR, (byte) vector);
                run.put(ev + Events.EXCEPTION_HAS_ERROR_CODE, (byte) (errorCode ? 1 : 0));
                run.putInt(ev + Events.EXCEPTION_ERROR_CODE, errorCode ? v.get32(VM_ENTRY_EXCEPTION_ERROR_CODE) : 0);
            }
        }
        return KvmAbi.KVM_SYNC_X86_EVENTS;
    }

    /** SYSENTER MSRs and IA32_PAT (SDM 27.3.2.1) and the guest's XCR0, each when it changed. */
    private void loadMsrsAndXcr0(VmcsRegion v) {
        if (!msrsLoaded) {
            loadEntryMsrs(v);
            msrsLoaded = true;
        }
        if (xsave) {
            long x = processor.xcr0();
            if (x != kvmXcr0) {
                vcpu.setXcr0(x);
                kvmXcr0 = x;
            }
        }
    }

    private void loadEntryMsrs(VmcsRegion v) {
        boolean loadPat = (v.get32(VM_ENTRY_CONTROLS) & VmEntryControls.LOAD_IA32_PAT) != 0;
        for (int i = 0; i < ENTRY_MSRS.length; i++) {
            if (ENTRY_MSRS[i] == Msr.IA32_PAT && !loadPat) {
                continue;
            }
            long value = v.get(ENTRY_MSR_FIELDS[i]);
            if (value != pushedMsrs[i]) {
                if (!vcpu.setMsr(ENTRY_MSRS[i], value)) {
                    throw new KvmException(String.format("KVM refused MSR %#x = %#x at VM entry", ENTRY_MSRS[i],
                            value), 0);
                }
                pushedMsrs[i] = value;
            }
        }
    }

    // ================================================================== completing what KVM left pending

    private void completePending(VmcsRegion v, GeneralRegisters guest) {
        int what = pending;
        pending = NONE;
        MmioAccess m = mmio;
        mmio = null;
        if (what == NONE) {
            return;
        }
        boolean done = v.get(GUEST_RIP) == pendingRip + pendingLength;
        switch (what) {
            case IO_IN -> {
                int n = pendingIo.size() * pendingCount;
                if (pendingIo.string()) {
                    byte[] data = new byte[n];
                    setCodeState(v);
                    code.read(pendingLinear, data, n);
                    run.put(pendingDataOffset, data, 0, n);
                } else {
                    long value = guest.get(GeneralRegisters.RAX);
                    for (int i = 0; i < n; i++) {
                        run.put(pendingDataOffset + i, (byte) (value >>> (8 * i)));
                    }
                }
            }
            case MMIO_READ -> {
                long value = mmioCompleted ? mmioValue : -1L;
                run.putLong(Run.MMIO_DATA, value);
            }
            case MSR_READ -> {
                run.put(Run.MSR_ERROR, (byte) (done ? 0 : 1));
                run.putLong(Run.MSR_DATA, (guest.get(GeneralRegisters.RDX) << 32)
                        | (guest.get(GeneralRegisters.RAX) & 0xFFFF_FFFFL));
            }
            case MSR_WRITE -> run.put(Run.MSR_ERROR, (byte) (done ? 0 : 1));
            default -> throw new IllegalStateException("unknown pending operation " + what);
        }
        flush();
        if (what == MMIO_READ && mmioCompleted && m != null) {
            // the device gave the value: KVM finished the instruction, and its registers are the guest's now
            KvmGuestState.saveRegisters(run, v, guest);
        }
        mmioCompleted = false;
    }

    /** KVM_RUN with immediate_exit: KVM completes what it left pending, runs no guest instruction, returns EINTR. */
    private void flush() {
        run.put(Run.IMMEDIATE_EXIT, (byte) 1);
        int reason;
        try {
            reason = vcpu.enter();
        } finally {
            run.put(Run.IMMEDIATE_EXIT, (byte) 0);
        }
        kick.drain();
        if (reason != KvmAbi.KVM_EXIT_INTR) {
            throw new IllegalStateException("completing a pending operation, KVM exited with reason " + reason
                    + " instead of returning at once (immediate_exit)");
        }
        run.putLong(Run.DIRTY_REGS, 0);
    }

    // ================================================================== the run loop

    private void runUntilExit(VmcsRegion v, GeneralRegisters guest, int pin, int primary) {
        boolean externalInterruptExiting = (pin & PinBasedControls.EXTERNAL_INTERRUPT_EXITING) != 0;
        boolean windowExiting = (primary & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0;
        while (true) {
            if (closed) {
                throw new IllegalStateException("the KVM processor was closed while the guest ran");
            }
            // SDM 26.7.4 / 26.7.5: a timer that has run down, then a pending external interrupt, before any
            // instruction; KVM takes the state pushed above first, so an injected event is not lost
            if (timerOn && deadline - System.nanoTime() <= 0) {
                if (!settleBeforeExit(v)) {
                    return;
                }
                saveEager(v, guest);
                recordExit(v, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0);
                return;
            }
            if (externalInterruptExiting && kickPending.getAndSet(false)) {
                if (!settleBeforeExit(v)) {
                    return;
                }
                saveEager(v, guest);
                recordExit(v, ExitReason.EXTERNAL_INTERRUPT, 0, 0);
                return;
            }
            if (halted) {
                awaitWakeUp();
                continue;
            }
            armTimer();
            run.put(Run.REQUEST_INTERRUPT_WINDOW, (byte) (windowExiting ? 1 : 0));
            long dirty = run.getLong(Run.DIRTY_REGS);
            int reason;
            try {
                reason = vcpu.enter();
            } catch (KvmException e) {
                if (dirty != 0 && e.errno() == 22) {
                    entryRefused(v, e);
                    return;
                }
                throw e;
            }
            run.putLong(Run.DIRTY_REGS, 0);
            if (reason == KvmAbi.KVM_EXIT_INTR) {
                kick.drain();
            }
            if (handle(reason, v, guest, primary, windowExiting)) {
                return;
            }
        }
    }

    /**
     * State pushed for an entry that exits before KVM_RUN: KVM takes it now, so the next entry starts from it. False
     * if KVM refused that state: the entry failed (recorded as such), and no other exit may be reported for it.
     */
    private boolean settleBeforeExit(VmcsRegion v) {
        if (run.getLong(Run.DIRTY_REGS) != 0) {
            try {
                flush();
            } catch (KvmException e) {
                if (e.errno() != 22) {
                    throw e;
                }
                entryRefused(v, e);
                return false;
            }
        }
        return true;
    }

    /** HLT without HLT exiting: the processor stays halted until a kick or the timer ends the wait. */
    private void awaitWakeUp() {
        synchronized (haltLock) {
            while (!kickPending.get() && !closed) {
                long waitNanos = timerOn ? deadline - System.nanoTime() : Long.MAX_VALUE;
                if (waitNanos <= 0) {
                    return;
                }
                try {
                    if (waitNanos == Long.MAX_VALUE) {
                        haltLock.wait();
                    } else {
                        haltLock.wait(waitNanos / 1_000_000, (int) (waitNanos % 1_000_000));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while the guest was halted");
                }
            }
        }
    }

    private void armTimer() {
        if (!timerOn) {
            return;
        }
        long now = System.nanoTime();
        if (!timerArmed || now - armedDeadline >= 0 || armedDeadline - deadline > 0
                || deadline - armedDeadline > TIMER_SLACK_NANOS) {
            kick.armTimer(Math.max(1, deadline - now));
            armedDeadline = deadline;
            timerArmed = true;
        }
    }

    private long timerNanos(long ticks) {
        if (tscKhz == 0) {
            long khz;
            try {
                khz = vcpu.tscKhz();
            } catch (KvmException e) {
                khz = 0;
            }
            tscKhz = khz > 0 ? khz : 1_000_000; // 1 GHz if KVM cannot say
        }
        return ((ticks & 0xFFFF_FFFFL) << KvmVmxCapabilities.PREEMPTION_TIMER_RATE) * 1_000_000L / tscKhz;
    }

    /** One KVM exit: true if it is a VM exit (recorded in the VMCS), false if the guest goes on. */
    private boolean handle(int reason, VmcsRegion v, GeneralRegisters guest, int primary, boolean windowExiting) {
        saveEager(v, guest);
        switch (reason) {
            case KvmAbi.KVM_EXIT_IO:
                return io(v, guest, primary);
            case KvmAbi.KVM_EXIT_MMIO:
                return mmio(v);
            case KvmAbi.KVM_EXIT_HLT:
                if ((primary & PrimaryProcessorBasedControls.HLT_EXITING) != 0) {
                    long rip = v.get(GUEST_RIP);
                    setCodeState(v);
                    boolean hltBefore = code.read(csBase(v) + rip - 1, insn, 1) == 1 && (insn[0] & 0xFF) == 0xF4;
                    v.put(GUEST_RIP, hltBefore ? rip - 1 : rip);
                    recordExit(v, ExitReason.HLT, 0, hltBefore ? 1 : 0);
                    return true;
                }
                halted = true;
                return false;
            case KvmAbi.KVM_EXIT_IRQ_WINDOW_OPEN:
                if (windowExiting) {
                    recordExit(v, ExitReason.INTERRUPT_WINDOW, 0, 0);
                    return true;
                }
                return false;
            case KvmAbi.KVM_EXIT_X86_RDMSR:
            case KvmAbi.KVM_EXIT_X86_WRMSR:
                return msr(v, guest, reason == KvmAbi.KVM_EXIT_X86_WRMSR, primary);
            case KvmAbi.KVM_EXIT_SHUTDOWN:
                recordExit(v, ExitReason.TRIPLE_FAULT, 0, 0);
                return true;
            case KvmAbi.KVM_EXIT_FAIL_ENTRY:
                lastEntryFailure = String.format("KVM_EXIT_FAIL_ENTRY: the host refused the entry (hardware entry "
                        + "failure reason %#x)", run.getLong(Run.FAIL_ENTRY_REASON));
                recordEntryFailure(v);
                return true;
            case KvmAbi.KVM_EXIT_DEBUG:
                if ((primary & PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG) != 0) {
                    recordExit(v, ExitReason.MONITOR_TRAP_FLAG, 0, 0);
                    return true;
                }
                return false;
            case KvmAbi.KVM_EXIT_INTR:
                if (timerOn && deadline - System.nanoTime() <= 0) {
                    recordExit(v, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0);
                    return true;
                }
                return false; // a kick (taken at the top of the loop) or an early timer signal
            case KvmAbi.KVM_EXIT_INTERNAL_ERROR:
                throw new KvmGuestException(describeInternalError(v));
            default:
                throw new KvmGuestException(String.format(
                        "KVM exit reason %d has no VMX equivalent here (guest RIP %#x)", reason, v.get(GUEST_RIP)));
        }
    }

    private void saveEager(VmcsRegion v, GeneralRegisters guest) {
        KvmGuestState.saveEager(run, v, guest);
        lazyPending = true;
    }

    /**
     * Saves the lazily saved guest state into {@code v} if it is still only in kvm_run: before the VMM reads or writes
     * one of those fields, and before the VMCS stops being current.
     */
    void materialize(VmcsRegion v) {
        if (lazyPending) {
            lazyPending = false;
            KvmGuestState.saveLazy(run, v);
        }
    }

    // ---- port I/O

    private boolean io(VmcsRegion v, GeneralRegisters guest, int primary) {
        boolean in = run.get(Run.IO_DIRECTION) == KvmAbi.KVM_EXIT_IO_IN;
        int size = run.get(Run.IO_SIZE);
        int port = run.getShort(Run.IO_PORT) & 0xFFFF;
        int count = run.getInt(Run.IO_COUNT);
        int dataOffset = (int) run.getLong(Run.IO_DATA_OFFSET);
        if (!ioIntercepted(v, primary, port, size)) {
            if (in) { // VMX would run the IN on a port nothing drives: all ones (SDM 25.6.4 leaves it to hardware)
                for (int i = 0; i < size * count; i++) {
                    run.put(dataOffset + i, (byte) 0xFF);
                }
            }
            return false;
        }
        setCodeState(v);
        long rip = v.get(GUEST_RIP);
        long cs = csBase(v);
        int bits = codeBits(v);
        long dx = guest.get(GeneralRegisters.RDX);
        IoInstruction d;
        long start;
        if (in) {
            d = decodeAt(cs + rip, bits);
            start = rip; // KVM leaves an IN pending at the instruction
            if (d != null && !d.matches(true, size, port, dx)) {
                d = null;
            }
        } else {
            OutDecision cached = lastOut;
            if (cached != null && cached.exitLinear == cs + rip && cached.bits == bits
                    && cached.io.matches(false, size, port, dx) && sameBytes(cs + cached.start, cached.bytes)) {
                d = cached.io; // the same OUT as last time (a loop): what was found then holds
                start = cached.start;
            } else {
                // KVM's emulator reports an OUT after executing it (RIP past it), its fast path before: find which
                IoInstruction at = decodeAt(cs + rip, bits);
                if (at != null && !at.matches(false, size, port, dx)) {
                    at = null;
                }
                // the 15 bytes before RIP, read once; the shortest I/O instruction that ends at RIP is the one
                IoInstruction before = null;
                int beforeLength = 0;
                int got = code.read(cs + rip - 15, window, 15);
                for (int len = 1; len <= 15 && before == null; len++) {
                    if (got == 15) {
                        System.arraycopy(window, 15 - len, insn, 0, len);
                    } else if (code.read(cs + rip - len, insn, len) != len) {
                        continue; // near an unmapped page: only what can be read
                    }
                    IoInstruction c = IoInstruction.decode(insn, len, bits);
                    if (c != null && c.length() == len && c.matches(false, size, port, dx)) {
                        before = c;
                        beforeLength = len;
                    }
                }
                boolean ambiguous = at != null && before != null;
                if (ambiguous) {
                    flush(); // both fit: the fast path moves RIP when KVM completes the OUT, the emulator did already
                    KvmGuestState.saveRegisters(run, v, guest);
                    boolean moved = v.get(GUEST_RIP) != rip;
                    if (moved) {
                        v.put(GUEST_RIP, rip);
                        before = null;
                    } else {
                        at = null;
                    }
                }
                if (at != null) {
                    d = at;
                    start = rip;
                } else if (before != null) {
                    d = before;
                    start = rip - beforeLength;
                } else {
                    d = null;
                    start = rip;
                }
                if (d != null && !ambiguous) {
                    byte[] bytes = new byte[d.length()];
                    code.read(cs + start, bytes, bytes.length);
                    lastOut = new OutDecision(cs + rip, bits, start, d, bytes);
                }
            }
        }
        boolean string = d != null && d.string();
        long linear = 0;
        int instructionInfo = 0;
        if (string) {
            long mask = d.addressSize() == 0 ? 0xFFFFL : d.addressSize() == 1 ? 0xFFFF_FFFFL : -1L;
            boolean down = (v.get(GUEST_RFLAGS) & Rflags.DF) != 0;
            if (!in) {
                // KVM's emulator counted the elements it sent already: back to the state before them (VMX exits
                // before the instruction)
                long rsi = guest.get(GeneralRegisters.RSI);
                long delta = (long) size * count;
                guest.set(GeneralRegisters.RSI, withAddressSize(rsi, down ? rsi + delta : rsi - delta, mask));
                if (d.rep()) {
                    long rcx = guest.get(GeneralRegisters.RCX);
                    guest.set(GeneralRegisters.RCX, withAddressSize(rcx, rcx + count, mask));
                }
            }
            long offset = guest.get(in ? GeneralRegisters.RDI : GeneralRegisters.RSI) & mask;
            linear = segmentBase(v, in ? 0 : d.segment()) + offset;
            instructionInfo = (d.addressSize() << 7) | ((in ? 0 : d.segment()) << 15);
        }
        v.put(GUEST_RIP, start);
        v.put(GUEST_LINEAR_ADDRESS, linear);
        recordExit(v, ExitReason.IO_INSTRUCTION, IoQualification.encode(size, in, string, d != null && d.rep(),
                d != null && d.immediate(), port), d == null ? 0 : d.length());
        v.put(VM_EXIT_INSTRUCTION_INFORMATION, instructionInfo);
        if (in) {
            pending = IO_IN;
            pendingRip = start;
            pendingLength = d == null ? 0 : d.length();
            pendingIo = d != null ? d : new IoInstruction(0, true, size, false, false, false, port, 0, 0);
            pendingCount = count;
            pendingDataOffset = dataOffset;
            pendingLinear = linear;
        }
        return true;
    }

    private boolean ioIntercepted(VmcsRegion v, int primary, int port, int size) {
        if ((primary & PrimaryProcessorBasedControls.USE_IO_BITMAPS) == 0) {
            return (primary & PrimaryProcessorBasedControls.UNCONDITIONAL_IO_EXITING) != 0;
        }
        for (int p = port; p < port + size; p++) {
            if (p > 0xFFFF) {
                return true; // SDM 26.1.3: an access that wraps past port FFFFH exits
            }
            long bitmap = p < 0x8000 ? v.get(IO_BITMAP_A) : v.get(IO_BITMAP_B);
            int bit = p & 0x7FFF;
            if ((memory.read8(bitmap + (bit >>> 3)) & (1 << (bit & 7))) != 0) {
                return true;
            }
        }
        return false;
    }

    /** An OUT found at an exit RIP, with its bytes: an exit at the same RIP over the same bytes is the same OUT. */
    private record OutDecision(long exitLinear, int bits, long start, IoInstruction io, byte[] bytes) {
    }

    private boolean sameBytes(long linear, byte[] bytes) {
        int n = bytes.length;
        return code.read(linear, insn, n) == n && java.util.Arrays.equals(insn, 0, n, bytes, 0, n);
    }

    private IoInstruction decodeAt(long linear, int bits) {
        int n = code.read(linear, insn, insn.length);
        return n == 0 ? null : IoInstruction.decode(insn, n, bits);
    }

    private static long withAddressSize(long old, long value, long mask) {
        return mask == 0xFFFFL ? (old & ~0xFFFFL) | (value & 0xFFFFL) : value & mask;
    }

    // ---- MMIO, MSRs

    private boolean mmio(VmcsRegion v) {
        long gpa = run.getLong(Run.MMIO_PHYS_ADDR);
        int len = run.getInt(Run.MMIO_LEN);
        boolean write = run.get(Run.MMIO_IS_WRITE) != 0;
        long data = run.getLong(Run.MMIO_DATA);
        if (len < 8) {
            data &= (1L << (8 * len)) - 1;
        }
        int access = EptSlots.access(memory, v.get(EPT_POINTER), gpa);
        long qualification = (write ? 2 : 1) | ((long) access << 3);
        v.put(GUEST_PHYSICAL_ADDRESS, gpa);
        v.put(GUEST_LINEAR_ADDRESS, 0);
        recordExit(v, ExitReason.EPT_VIOLATION, qualification, 0);
        mmio = new MmioAccess(gpa, len, write, write ? data : 0);
        mmioCompleted = write;
        if (!write) {
            pending = MMIO_READ;
            pendingRip = v.get(GUEST_RIP);
            pendingLength = 0;
        }
        return true;
    }

    private boolean msr(VmcsRegion v, GeneralRegisters guest, boolean write, int primary) {
        int index = run.getInt(Run.MSR_INDEX);
        if (!msrIntercepted(v, primary, index, write)) {
            // not intercepted, and KVM does not have it: the processor's #GP (SDM Vol. 2B RDMSR/WRMSR)
            run.put(Run.MSR_ERROR, (byte) 1);
            return false;
        }
        long rip = v.get(GUEST_RIP);
        setCodeState(v);
        int n = code.read(csBase(v) + rip, insn, insn.length);
        int length = 0;
        for (int i = 0; i + 1 < n; i++) {
            int b = insn[i] & 0xFF;
            if (b == 0x0F) {
                length = i + 2;
                break;
            }
            if (!(b == 0x66 || b == 0x67 || b == 0xF2 || b == 0xF3 || (b >= 0x40 && b <= 0x4F && codeBits(v) == 64)
                    || b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65)) {
                break;
            }
        }
        recordExit(v, write ? ExitReason.WRMSR : ExitReason.RDMSR, 0, length);
        pending = write ? MSR_WRITE : MSR_READ;
        pendingRip = rip;
        pendingLength = length;
        return true;
    }

    private boolean msrIntercepted(VmcsRegion v, int primary, int msr, boolean write) {
        if ((primary & PrimaryProcessorBasedControls.USE_MSR_BITMAPS) == 0) {
            return true;
        }
        long bitmap = v.get(MSR_BITMAPS);
        int offset;
        if (msr >= 0 && msr <= 0x1FFF) {
            offset = write ? 2048 : 0;
        } else if (msr >= 0xC000_0000 && msr <= 0xC000_1FFF) {
            offset = write ? 3072 : 1024;
            msr -= 0xC000_0000;
        } else {
            return true;
        }
        return (memory.read8(bitmap + offset + (msr >>> 3)) & (1 << (msr & 7))) != 0;
    }

    // ---- recording the exit

    /** SDM 28.2 (exit information) and 28.3 (what else VM exits save); guest registers are saved already. */
    private void recordExit(VmcsRegion v, ExitReason reason, long qualification, int length) {
        v.put(EXIT_REASON, reason.number());
        v.put(EXIT_QUALIFICATION, qualification);
        v.put(VM_EXIT_INSTRUCTION_LENGTH, length);
        v.put(VM_EXIT_INSTRUCTION_INFORMATION, 0);
        v.put(VM_EXIT_INTERRUPTION_INFORMATION, 0);
        v.put(IDT_VECTORING_INFORMATION, 0);
        if (reason != ExitReason.IO_INSTRUCTION && reason != ExitReason.EPT_VIOLATION) {
            v.put(GUEST_LINEAR_ADDRESS, 0);
        }
        // SDM 28.2.x: every VM exit clears the valid bit of the VM-entry interruption-information field
        v.put(VM_ENTRY_INTERRUPTION_INFORMATION, v.get32(VM_ENTRY_INTERRUPTION_INFORMATION) & ~InterruptionInfo.VALID);
        v.put(GUEST_ACTIVITY_STATE, halted ? ACTIVITY_HLT : ACTIVITY_ACTIVE);
        if (timerOn && (v.get32(PRIMARY_VM_EXIT_CONTROLS) & VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE) != 0) {
            long left = Math.max(0, deadline - System.nanoTime());
            long ticks = left * tscKhz / 1_000_000L >>> KvmVmxCapabilities.PREEMPTION_TIMER_RATE;
            v.put(VMX_PREEMPTION_TIMER_VALUE, reason == ExitReason.VMX_PREEMPTION_TIMER_EXPIRED ? 0
                    : Math.min(ticks, 0xFFFF_FFFFL));
        }
    }

    private void recordEntryFailure(VmcsRegion v) {
        v.put(EXIT_REASON, ExitReason.ENTRY_FAILURE_BIT | ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE.number());
        v.put(EXIT_QUALIFICATION, 0);
    }

    /** KVM would not take the guest state (KVM_RUN with new registers: EINVAL): a VM-entry failure (SDM 27.8). */
    private void entryRefused(VmcsRegion v, KvmException e) {
        materialize(v);
        lastEntryFailure = String.format("KVM refused the guest state (%s): CR0 %#x, CR4 %#x, EFER %#x, CS AR %#x",
                e.getMessage(), KvmGuestState.guestView(v, GUEST_CR0, CR0_READ_SHADOW, CR0_GUEST_HOST_MASK),
                KvmGuestState.guestView(v, GUEST_CR4, CR4_READ_SHADOW, CR4_GUEST_HOST_MASK), v.get(GUEST_IA32_EFER),
                v.get(GUEST_CS_ACCESS_RIGHTS));
        run.putLong(Run.DIRTY_REGS, 0);
        vcpu.getRegsIntoRun(KvmAbi.KVM_SYNC_X86_REGS | KvmAbi.KVM_SYNC_X86_SREGS | KvmAbi.KVM_SYNC_X86_EVENTS);
        recordEntryFailure(v);
    }

    private String describeInternalError(VmcsRegion v) {
        int suberror = run.getInt(Run.INTERNAL_SUBERROR);
        String what = switch (suberror) {
            case 1 -> "it could not emulate an instruction";
            case 2 -> "an exception while delivering an exception";
            case 3 -> "the delivery of an event failed";
            default -> "internal error suberror " + suberror;
        };
        long rip = v.get(GUEST_RIP);
        long cs = csBase(v);
        byte[] bytes;
        int n;
        if (suberror == KvmAbi.KVM_INTERNAL_ERROR_EMULATION
                && (run.getLong(Run.EMULATION_FLAGS) & KvmAbi.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) != 0) {
            n = Math.min(15, run.get(Run.EMULATION_INSN_SIZE) & 0xFF);
            bytes = new byte[n];
            run.get(Run.EMULATION_INSN_BYTES, bytes, 0, n);
        } else {
            setCodeState(v);
            bytes = new byte[15];
            n = code.read(cs + rip, bytes, 15);
        }
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < n; i++) {
            hex.append(i == 0 ? "" : " ").append(String.format("%02x", bytes[i] & 0xFF));
        }
        return String.format("KVM stopped the guest: %s (KVM_EXIT_INTERNAL_ERROR) at RIP %#x, CS base %#x, %d-bit "
                        + "code, instruction bytes %s; a KVM without VT-x emulates kernel-mode guest code and cannot "
                        + "emulate every instruction", what, rip, cs, codeBits(v),
                n == 0 ? "unreadable" : hex.toString());
    }

    // ---- guest code

    private void setCodeState(VmcsRegion v) {
        int sr = Run.SYNC_SREGS;
        code.setState(v.get(EPT_POINTER), run.getLong(sr + Sregs.CR0), run.getLong(sr + Sregs.CR3),
                run.getLong(sr + Sregs.CR4), run.getLong(sr + Sregs.EFER));
    }

    // the segment state at the exit, read from kvm_run: the VMCS has it only once it is materialized

    private long csBase(VmcsRegion v) {
        return segmentBase(v, 1);
    }

    private long segmentBase(VmcsRegion v, int segment) {
        int offset = switch (segment) {
            case 0 -> Sregs.ES;
            case 1 -> Sregs.CS;
            case 2 -> Sregs.SS;
            case 4 -> Sregs.FS;
            case 5 -> Sregs.GS;
            default -> Sregs.DS;
        };
        return run.getLong(Run.SYNC_SREGS + offset + KvmAbi.Segment.BASE);
    }

    private int codeBits(VmcsRegion v) {
        int cs = Run.SYNC_SREGS + Sregs.CS;
        if ((run.getLong(Run.SYNC_SREGS + Sregs.EFER) & Efer.LMA) != 0 && run.get(cs + KvmAbi.Segment.L) != 0) {
            return 64;
        }
        return run.get(cs + KvmAbi.Segment.DB) != 0 ? 32 : 16;
    }
}
