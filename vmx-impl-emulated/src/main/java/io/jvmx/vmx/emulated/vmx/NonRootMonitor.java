package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.CrAccessQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.cpu.CpuState;
import io.jvmx.vmx.emulated.cpu.NonRootHooks;
import io.jvmx.vmx.emulated.cpu.VmExitSignal;

/**
 * VMX non-root operation (SDM Vol. 3C, chapter 26): decides, from the VM-execution controls captured at VM entry,
 * which instructions and events cause VM exits, and records each exit's information (SDM 28.2) before unwinding the
 * interpreter with {@link VmExitSignal}. The VMCS cannot change while the guest runs (VMWRITE in the guest exits),
 * so the controls are read once per entry.
 */
final class NonRootMonitor implements NonRootHooks {
    /** Vector of the external interrupt that {@link #kick()} stands for (as an IPI would be). */
    static final int KICK_VECTOR = 0xF0;
    /** How long a HLT'd guest that nothing but a kick can wake waits before the interpreter asks again. */
    private static final long HALT_WAIT_MILLIS = 20;

    private final CpuState state;
    private final PhysicalMemory memory;
    private final VmExitSignal signal = new VmExitSignal();

    // ---- controls captured at VM entry -------------------------------------------------------------------------------
    int pin;
    int primary;
    int secondary;
    int exitControls;
    int exceptionBitmap;
    int pfecMask;
    int pfecMatch;
    long cr0Mask;
    long cr0Shadow;
    long cr4Mask;
    long cr4Shadow;
    int cr3TargetCount;
    final long[] cr3Targets = new long[VmxCapabilities.CR3_TARGET_COUNT];
    long ioBitmapA;
    long ioBitmapB;
    long msrBitmap;
    long tscOffset;

    // ---- VMX-preemption timer (SDM 26.7.4) ----------------------------------------------------------------------------
    boolean timerActive;
    long timerValue;
    long timerStartTsc;

    // ---- monitor trap flag (SDM 26.7.2) -------------------------------------------------------------------------------
    private long retiredAtLastBoundary;
    /**
     * An MTF VM exit is pending at the next boundary whatever happened since: injected as "other event" (SDM 27.6.2),
     * or after delivery of an injected event or of a fault the guest handles while "monitor trap flag" is 1
     * (26.7.2).
     */
    boolean pendingMtf;

    // ---- kick: an external interrupt requested from another thread -----------------------------------------------------
    private final Object kickLock = new Object();
    private volatile boolean kickPending;

    // ---- the exit being recorded (SDM 28.2) --------------------------------------------------------------------------
    int exitReason = -1;
    long exitQualification;
    long guestLinearAddress;
    long guestPhysicalAddress;
    int exitInstructionLength;
    int exitInstructionInformation;
    int exitInterruptionInformation;
    int exitInterruptionErrorCode;
    /** IDT-vectoring information for an exit during event delivery (SDM 28.2.4); 0 if none. */
    int idtVectoringInformation;
    int idtVectoringErrorCode;
    boolean ioRegistersValid;
    long ioRcx;
    long ioRsi;
    long ioRdi;
    long ioRip;
    /** The event injected by this VM entry while it is being delivered (SDM 28.2.4), or 0. */
    int injectingInformation;
    int injectingErrorCode;
    int injectingInstructionLength;

    NonRootMonitor(CpuState state, PhysicalMemory memory) {
        this.state = state;
        this.memory = memory;
    }

    /** Captures the controls of the VMCS being entered (SDM 27.3.2 loads nothing else into non-root behaviour). */
    void arm(Vmcs vmcs) {
        pin = vmcs.get32(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
        primary = vmcs.get32(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        // SDM 25.6.2: with "activate secondary controls" 0 the processor behaves as if they were all 0.
        secondary = (primary & PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS) != 0
                ? vmcs.get32(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) : 0;
        exitControls = vmcs.get32(VmcsField.PRIMARY_VM_EXIT_CONTROLS);
        exceptionBitmap = vmcs.get32(VmcsField.EXCEPTION_BITMAP);
        pfecMask = vmcs.get32(VmcsField.PAGE_FAULT_ERROR_CODE_MASK);
        pfecMatch = vmcs.get32(VmcsField.PAGE_FAULT_ERROR_CODE_MATCH);
        cr0Mask = vmcs.get(VmcsField.CR0_GUEST_HOST_MASK);
        cr0Shadow = vmcs.get(VmcsField.CR0_READ_SHADOW);
        cr4Mask = vmcs.get(VmcsField.CR4_GUEST_HOST_MASK);
        cr4Shadow = vmcs.get(VmcsField.CR4_READ_SHADOW);
        cr3TargetCount = vmcs.get32(VmcsField.CR3_TARGET_COUNT);
        cr3Targets[0] = vmcs.get(VmcsField.CR3_TARGET_VALUE_0);
        cr3Targets[1] = vmcs.get(VmcsField.CR3_TARGET_VALUE_1);
        cr3Targets[2] = vmcs.get(VmcsField.CR3_TARGET_VALUE_2);
        cr3Targets[3] = vmcs.get(VmcsField.CR3_TARGET_VALUE_3);
        ioBitmapA = vmcs.get(VmcsField.IO_BITMAP_A);
        ioBitmapB = vmcs.get(VmcsField.IO_BITMAP_B);
        msrBitmap = vmcs.get(VmcsField.MSR_BITMAPS);
        tscOffset = vmcs.get(VmcsField.TSC_OFFSET);
        // SDM 27.7.4: VM entry starts the timer with the value in the VMCS; it counts from this TSC on.
        timerActive = (pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0;
        timerValue = vmcs.get(VmcsField.VMX_PREEMPTION_TIMER_VALUE) & 0xFFFF_FFFFL;
        timerStartTsc = state.tsc;
        retiredAtLastBoundary = state.instructionsRetired;
        pendingMtf = false;
        state.vectoringInfo = 0;
        clearExit();
    }

    void clearExit() {
        exitReason = -1;
        exitQualification = 0;
        guestLinearAddress = 0;
        guestPhysicalAddress = 0;
        exitInstructionLength = 0;
        exitInstructionInformation = 0;
        exitInterruptionInformation = 0;
        exitInterruptionErrorCode = 0;
        idtVectoringInformation = 0;
        idtVectoringErrorCode = 0;
        ioRegistersValid = false;
        injectingInformation = 0;
        injectingErrorCode = 0;
        injectingInstructionLength = 0;
    }

    boolean exitRecorded() {
        return exitReason >= 0;
    }

    /** Records a VM exit and unwinds the interpreter. */
    VmExitSignal exit(ExitReason reason, long qualification, int instructionLength) {
        exitReason = reason.number();
        exitQualification = qualification;
        exitInstructionLength = instructionLength;
        if ((state.vectoringInfo & InterruptionInfo.VALID) != 0) {
            // SDM 28.2.4: the exit happened while the interpreter delivered an event through the guest IDT.
            idtVectoringInformation = state.vectoringInfo;
            idtVectoringErrorCode = state.vectoringErrorCode;
            state.vectoringInfo = 0;
        } else if (injectingInformation != 0) {
            // SDM 28.2.4: an exit during delivery of the event injected by VM entry reports that event.
            idtVectoringInformation = injectingInformation;
            idtVectoringErrorCode = injectingErrorCode;
            if (instructionLength == 0) {
                // 28.2.5: an exit during delivery of an injected software event reports its instruction length.
                exitInstructionLength = injectingInstructionLength;
            }
        }
        throw signal;
    }

    private boolean primary(int control) {
        return (primary & control) != 0;
    }

    private boolean secondary(int control) {
        return (secondary & control) != 0;
    }

    // ---- the VMX-preemption timer -----------------------------------------------------------------------------------

    /**
     * The timer value now: it counts down by one each time bit 5 (IA32_VMX_MISC[4:0]) of the TSC changes, i.e. each
     * time TSC >> 5 increases (SDM 26.7.4), from the value loaded at VM entry.
     */
    long timerRemaining() {
        long ticks = (state.tsc >>> VmxCapabilities.PREEMPTION_TIMER_RATE)
                - (timerStartTsc >>> VmxCapabilities.PREEMPTION_TIMER_RATE);
        return Math.max(0, timerValue - ticks);
    }

    // ---- kick -----------------------------------------------------------------------------------------------------------

    void kick() {
        synchronized (kickLock) {
            kickPending = true;
            kickLock.notifyAll();
        }
    }

    boolean kickPending() {
        return kickPending;
    }

    // ---- NonRootHooks -----------------------------------------------------------------------------------------------

    @Override
    public void cpuid(int length) {
        exit(ExitReason.CPUID, 0, length);
    }

    @Override
    public void xsetbv(int length) {
        exit(ExitReason.XSETBV, 0, length);
    }

    @Override
    public void unconditional(int exitReason, int length) {
        ExitReason reason = ExitReason.of(exitReason).orElseThrow(
                () -> new IllegalArgumentException("undefined exit reason " + exitReason));
        if (reason == ExitReason.VMFUNC) {
            // "enable VM functions" cannot be 1 here, so VMFUNC is #UD without a VM exit (SDM Vol. 2C VMFUNC).
            return;
        }
        // SDM 28.2.5 Tables 28-13/28-14: VMX instructions, INVEPT and INVVPID report their operands, and
        // (28.2.1) those with a memory operand the displacement as the exit qualification.
        exitInstructionInformation = state.instructionInformation;
        long qualification = switch (reason) {
            case VMCLEAR, VMPTRLD, VMPTRST, VMREAD, VMWRITE, VMXON, INVEPT, INVVPID -> state.instructionDisplacement;
            default -> 0;
        };
        exit(reason, qualification, length);
    }

    @Override
    public void hlt(int length) {
        if (primary(PrimaryProcessorBasedControls.HLT_EXITING)) {
            exit(ExitReason.HLT, 0, length);
        }
    }

    /** SDM 26.1.3: with "use I/O bitmaps" every port the access touches is looked up; a wrap past 0xFFFF exits. */
    boolean ioIntercepted(int port, int size) {
        if (!primary(PrimaryProcessorBasedControls.USE_IO_BITMAPS)) {
            return primary(PrimaryProcessorBasedControls.UNCONDITIONAL_IO_EXITING);
        }
        for (int i = 0; i < size; i++) {
            int p = port + i;
            if (p > 0xFFFF) {
                return true;
            }
            long bitmap = p < 0x8000 ? ioBitmapA : ioBitmapB;
            int bit = p & 0x7FFF;
            if (((memory.read8(bitmap + (bit >>> 3)) >>> (bit & 7)) & 1) != 0) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void io(int port, int size, boolean in, boolean string, boolean rep, boolean immediate, long linear,
                   int length) {
        if (!ioIntercepted(port & 0xFFFF, size)) {
            return;
        }
        long qualification = new IoQualification(size, in, string, rep, immediate, port & 0xFFFF).encode();
        if (string) {
            // SDM 28.2.5 / Table 28-8: address size and segment of INS/OUTS; the linear address of the access.
            guestLinearAddress = linear;
            exitInstructionInformation = StringIoInformation.of(state, in);
        }
        // The I/O RCX/RSI/RDI/RIP fields are architecturally meant for I/O SMIs (SDM 25.9.4); their content is
        // undefined for other exits, so this processor fills them with the instruction's registers as a convenience.
        ioRegistersValid = true;
        ioRcx = state.gpr[1];
        ioRsi = state.gpr[6];
        ioRdi = state.gpr[7];
        ioRip = state.rip;
        exit(ExitReason.IO_INSTRUCTION, qualification, length);
    }

    /**
     * SDM 26.1.3 RDMSR/WRMSR: without "use MSR bitmaps" every access exits; with it, MSRs 0-0x1FFF and
     * 0xC0000000-0xC0001FFF are looked up (read low at byte 0, read high at 1024, write low at 2048, write high at
     * 3072) and any other MSR exits.
     */
    boolean msrIntercepted(int msr, boolean write) {
        if (!primary(PrimaryProcessorBasedControls.USE_MSR_BITMAPS)) {
            return true;
        }
        long index = msr & 0xFFFF_FFFFL;
        long offset = write ? 2048 : 0;
        if (index >= 0xC000_0000L && index <= 0xC000_1FFFL) {
            offset += 1024;
            index -= 0xC000_0000L;
        } else if (index > 0x1FFF) {
            return true;
        }
        return ((memory.read8(msrBitmap + offset + (index >>> 3)) >>> (index & 7)) & 1) != 0;
    }

    @Override
    public void rdmsr(int msr, int length) {
        if (msrIntercepted(msr, false)) {
            exit(ExitReason.RDMSR, 0, length);
        }
    }

    @Override
    public void wrmsr(int msr, long value, int length) {
        if (msrIntercepted(msr, true)) {
            exit(ExitReason.WRMSR, 0, length);
        }
    }

    private static long crQualification(int cr, CrAccessQualification.AccessType type, int gpr) {
        return new CrAccessQualification(cr, type, false, gpr, 0).encode();
    }

    @Override
    public void movToCr(int cr, int gpr, long value, int length) {
        boolean exit = switch (cr) {
            case 0 -> ((value ^ cr0Shadow) & cr0Mask) != 0;
            case 4 -> ((value ^ cr4Shadow) & cr4Mask) != 0;
            case 3 -> primary(PrimaryProcessorBasedControls.CR3_LOAD_EXITING) && !cr3Target(value);
            case 8 -> primary(PrimaryProcessorBasedControls.CR8_LOAD_EXITING);
            default -> false;
        };
        if (exit) {
            exit(ExitReason.CR_ACCESS, crQualification(cr, CrAccessQualification.AccessType.MOV_TO_CR, gpr), length);
        }
    }

    /** SDM 26.1.3: MOV to CR3 does not exit for a value equal to one of the first N CR3-target values. */
    private boolean cr3Target(long value) {
        for (int i = 0; i < Math.min(cr3TargetCount, cr3Targets.length); i++) {
            if (cr3Targets[i] == value) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void movFromCr(int cr, int gpr, int length) {
        boolean exit = (cr == 3 && primary(PrimaryProcessorBasedControls.CR3_STORE_EXITING))
                || (cr == 8 && primary(PrimaryProcessorBasedControls.CR8_STORE_EXITING));
        if (exit) {
            exit(ExitReason.CR_ACCESS, crQualification(cr, CrAccessQualification.AccessType.MOV_FROM_CR, gpr),
                    length);
        }
    }

    @Override
    public long readShadowedCr(int cr, long actual) {
        // SDM 26.3: host-owned bits read from the read shadow.
        return switch (cr) {
            case 0 -> (actual & ~cr0Mask) | (cr0Shadow & cr0Mask);
            case 4 -> (actual & ~cr4Mask) | (cr4Shadow & cr4Mask);
            default -> actual;
        };
    }

    @Override
    public void clts(int length) {
        if ((cr0Mask & Cr0.TS) != 0 && (cr0Shadow & Cr0.TS) != 0) {
            exit(ExitReason.CR_ACCESS, crQualification(0, CrAccessQualification.AccessType.CLTS, 0), length);
        }
    }

    /**
     * SDM 26.1.3 LMSW: exits if the mask owns PE, the source has PE = 1 and the shadow PE = 0 (LMSW cannot clear PE),
     * or the mask owns any of MP, EM, TS and the source differs from the shadow there.
     */
    static boolean lmswExits(long mask, long shadow, int source) {
        boolean pe = (mask & Cr0.PE) != 0 && (source & 1) != 0 && (shadow & Cr0.PE) == 0;
        boolean others = ((source ^ shadow) & mask & 0xE) != 0;
        return pe || others;
    }

    @Override
    public void lmsw(int source, boolean memoryOperand, long linear, int length) {
        if (lmswExits(cr0Mask, cr0Shadow, source)) {
            if (memoryOperand) {
                guestLinearAddress = linear;
            }
            long q = new CrAccessQualification(0, CrAccessQualification.AccessType.LMSW, memoryOperand, 0,
                    source & 0xFFFF).encode();
            exit(ExitReason.CR_ACCESS, q, length);
        }
    }

    @Override
    public void movDr(int dr, int gpr, boolean toDr, int length) {
        if (primary(PrimaryProcessorBasedControls.MOV_DR_EXITING)) {
            // SDM Table 28-4: bits 2:0 DR number, bit 4 direction (0 = MOV to DR), bits 11:8 the register.
            long q = (dr & 7) | (toDr ? 0 : 1L << 4) | ((long) (gpr & 0xF) << 8);
            exit(ExitReason.MOV_DR, q, length);
        }
    }

    @Override
    public void invlpg(long linear, int length) {
        if (primary(PrimaryProcessorBasedControls.INVLPG_EXITING)) {
            exit(ExitReason.INVLPG, linear, length);
        }
    }

    @Override
    public boolean invpcidEnabled() {
        return secondary(SecondaryProcessorBasedControls.ENABLE_INVPCID);
    }

    @Override
    public void invpcid(int length) {
        if (primary(PrimaryProcessorBasedControls.INVLPG_EXITING)) {
            // SDM 28.2.5 Table 28-14 (INVPCID as INVEPT/INVVPID) and 28.2.1: the displacement is the qualification
            exitInstructionInformation = state.instructionInformation;
            exit(ExitReason.INVPCID, state.instructionDisplacement, length);
        }
    }

    @Override
    public void rdtsc(int length) {
        if (primary(PrimaryProcessorBasedControls.RDTSC_EXITING)) {
            exit(ExitReason.RDTSC, 0, length);
        }
    }

    @Override
    public void rdtscp(int length) {
        if (primary(PrimaryProcessorBasedControls.RDTSC_EXITING)) {
            exit(ExitReason.RDTSCP, 0, length);
        }
    }

    @Override
    public boolean rdtscpEnabled() {
        return secondary(SecondaryProcessorBasedControls.ENABLE_RDTSCP);
    }

    @Override
    public long guestTsc() {
        // SDM 26.4.2 (TSC offsetting): the guest reads TSC + offset.
        return primary(PrimaryProcessorBasedControls.USE_TSC_OFFSETTING) ? state.tsc + tscOffset : state.tsc;
    }

    @Override
    public void conditional(int exitReason, int length) {
        ExitReason reason = ExitReason.of(exitReason).orElseThrow(
                () -> new IllegalArgumentException("undefined exit reason " + exitReason));
        boolean exit = switch (reason) {
            case RDPMC -> primary(PrimaryProcessorBasedControls.RDPMC_EXITING);
            case PAUSE -> primary(PrimaryProcessorBasedControls.PAUSE_EXITING);
            case MWAIT -> primary(PrimaryProcessorBasedControls.MWAIT_EXITING);
            case MONITOR -> primary(PrimaryProcessorBasedControls.MONITOR_EXITING);
            case WBINVD_OR_WBNOINVD -> secondary(SecondaryProcessorBasedControls.WBINVD_EXITING);
            case RDRAND -> secondary(SecondaryProcessorBasedControls.RDRAND_EXITING);
            case RDSEED -> secondary(SecondaryProcessorBasedControls.RDSEED_EXITING);
            case RDTSC -> primary(PrimaryProcessorBasedControls.RDTSC_EXITING);
            case RDTSCP -> primary(PrimaryProcessorBasedControls.RDTSC_EXITING);
            case INVLPG -> primary(PrimaryProcessorBasedControls.INVLPG_EXITING);
            case HLT -> primary(PrimaryProcessorBasedControls.HLT_EXITING);
            default -> throw new IllegalArgumentException(reason + " is not a conditionally exiting instruction");
        };
        if (exit) {
            if (reason == ExitReason.RDRAND || reason == ExitReason.RDSEED) {
                exitInstructionInformation = state.instructionInformation; // SDM 28.2.5 Table 28-12
            }
            exit(reason, 0, length);
        }
    }

    /** SDM 26.2: the exception bitmap, with the page-fault error-code mask/match rule for #PF. */
    boolean exceptionExits(int vector, int errorCode) {
        if (vector == 14) {
            boolean match = (errorCode & pfecMask) == pfecMatch;
            boolean bit = (exceptionBitmap & (1 << 14)) != 0;
            return match ? bit : !bit;
        }
        return vector < 32 && (exceptionBitmap & (1 << vector)) != 0;
    }

    @Override
    public void exception(int vector, int errorCode, boolean software, int length) {
        if (vector == 2) {
            // NMIs cause VM exits per "NMI exiting", not the exception bitmap (SDM 26.2).
            if ((pin & PinBasedControls.NMI_EXITING) == 0) {
                noteEventDelivered();
                return;
            }
        } else if (!exceptionExits(vector, errorCode)) {
            noteEventDelivered();
            return;
        }
        InterruptionType type = vector == 2 ? InterruptionType.NMI
                : !software ? InterruptionType.HARDWARE_EXCEPTION
                : vector == 1 ? InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION : InterruptionType.SOFTWARE_EXCEPTION;
        boolean hasErrorCode = errorCode >= 0;
        exitInterruptionInformation = new InterruptionInfo(vector, type, hasErrorCode, false, true).encode();
        exitInterruptionErrorCode = hasErrorCode ? errorCode : 0;
        // SDM 28.2.1: a #PF exit's qualification is the faulting linear address (CR2 is not written); a #DB exit's
        // the debug conditions that DR6 would have reported (DR6 is not written).
        long qualification = vector == 14 ? state.faultingLinearAddress : vector == 1 ? state.debugQualification : 0;
        exit(ExitReason.EXCEPTION_OR_NMI, qualification, software ? length : 0);
    }

    private void noteEventDelivered() {
        if (primary(PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG)) {
            pendingMtf = true; // SDM 26.7.2: MTF exit after delivery of a fault the guest handles
        }
    }

    @Override
    public void tripleFault() {
        exit(ExitReason.TRIPLE_FAULT, 0, 0);
    }

    @Override
    public void taskSwitch(int tssSelector, int source, int length) {
        // SDM 28.2.1 Table 28-2: bits 15:0 the new TSS's selector, bits 31:30 the source
        exit(ExitReason.TASK_SWITCH, (tssSelector & 0xFFFFL) | ((long) source << 30), length);
    }

    /** The MTF condition {@link #instructionBoundary()} tests first. */
    @Override
    public boolean monitorTrapExitPending() {
        return pendingMtf || (primary(PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG)
                && state.instructionsRetired != retiredAtLastBoundary);
    }

    /**
     * Events at an instruction boundary, highest priority first (SDM Vol. 3A 6.9 with 26.7.2-26.7.6): a pending MTF
     * exit, the VMX-preemption timer, the NMI window, the interrupt window, then the external interrupt a kick stands
     * for. While the guest is HLT'd it skips ahead to the timer's expiry, or waits for a kick.
     */
    @Override
    public void instructionBoundary() {
        if (pendingMtf || (primary(PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG)
                && state.instructionsRetired != retiredAtLastBoundary)) {
            pendingMtf = false;
            retiredAtLastBoundary = state.instructionsRetired;
            exit(ExitReason.MONITOR_TRAP_FLAG, 0, 0);
        }
        retiredAtLastBoundary = state.instructionsRetired;
        if (timerActive && timerRemaining() == 0) {
            exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0);
        }
        int interruptibility = state.interruptibility;
        boolean movSs = (interruptibility & CpuState.INTERRUPTIBILITY_MOV_SS) != 0;
        boolean sti = (interruptibility & CpuState.INTERRUPTIBILITY_STI) != 0;
        if (primary(PrimaryProcessorBasedControls.NMI_WINDOW_EXITING)
                && (interruptibility & CpuState.INTERRUPTIBILITY_NMI) == 0 && !movSs) {
            exit(ExitReason.NMI_WINDOW, 0, 0);
        }
        if (primary(PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) && (state.rflags() & Rflags.IF) != 0
                && !sti && !movSs) {
            exit(ExitReason.INTERRUPT_WINDOW, 0, 0);
        }
        boolean externalExits = (pin & PinBasedControls.EXTERNAL_INTERRUPT_EXITING) != 0;
        if (kickPending && externalExits && !sti && !movSs) {
            // SDM 26.2: with external-interrupt exiting the interrupt exits whatever RFLAGS.IF is.
            kickPending = false;
            if ((exitControls & VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT) != 0) {
                // SDM 28.2.2: acknowledged on exit, the vector is reported in the interruption information.
                exitInterruptionInformation = InterruptionInfo.VALID | KICK_VECTOR;
            }
            exit(ExitReason.EXTERNAL_INTERRUPT, 0, 0);
        }
        if (state.activityState == CpuState.ACTIVITY_HLT) {
            whileHalted();
        }
    }

    /** At most this many instructions between two looks at the kick flag (about 20-100 us of guest code). */
    static final long KICK_POLL_INSTRUCTIONS = 4096;

    @Override
    public long instructionBudget() {
        if (pendingMtf || primary(PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG)) {
            return 1;
        }
        long budget = KICK_POLL_INSTRUCTIONS;
        if (timerActive) {
            // the timer counts down by 1 each time TSC bit PREEMPTION_TIMER_RATE changes (SDM 26.7.4)
            long expiry = ((timerStartTsc >>> VmxCapabilities.PREEMPTION_TIMER_RATE) + timerValue)
                    << VmxCapabilities.PREEMPTION_TIMER_RATE;
            budget = Math.min(budget, Math.max(1, expiry - state.tsc));
        }
        return budget;
    }

    /**
     * In the HLT state the TSC keeps counting and so does the preemption timer (SDM 26.7.4): with a deterministic TSC
     * nothing happens until the timer expires, so the TSC jumps to the expiry. Without an armed timer only a kick can
     * wake the guest: wait for one without spinning.
     */
    private void whileHalted() {
        if (timerActive) {
            long expiry = ((timerStartTsc >>> VmxCapabilities.PREEMPTION_TIMER_RATE) + timerValue)
                    << VmxCapabilities.PREEMPTION_TIMER_RATE;
            if (state.tsc < expiry) {
                state.tsc = expiry;
            }
            exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0);
        }
        boolean externalExits = (pin & PinBasedControls.EXTERNAL_INTERRUPT_EXITING) != 0;
        synchronized (kickLock) {
            if (!(kickPending && externalExits)) {
                try {
                    kickLock.wait(HALT_WAIT_MILLIS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }
}
