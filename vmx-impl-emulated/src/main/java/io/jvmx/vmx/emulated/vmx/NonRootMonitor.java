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
 *
 * <p>Instruction exits come from the hooks the interpreter calls after the checks that have priority (26.1.1);
 * events at instruction boundaries from {@link #instructionBoundary()}, once per block of instructions, in the
 * order of SDM Vol. 3A 6.9 with the VMX events placed as 26.7 says: a pending MTF exit, the VMX-preemption timer,
 * the NMI window, the interrupt window, then external interrupts (the kick).
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
    long pleGap;
    long pleWindow;

    // ---- PAUSE-loop exiting (SDM 26.1.3 PAUSE): TSC of the last PAUSE at CPL 0 and of the first one of its loop
    private boolean pauseSeen;
    private long lastPauseTsc;
    private long pauseLoopStartTsc;

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
        pleGap = vmcs.get(VmcsField.PLE_GAP) & 0xFFFF_FFFFL;
        pleWindow = vmcs.get(VmcsField.PLE_WINDOW) & 0xFFFF_FFFFL;
        // "the first execution of PAUSE at CPL 0 after VM entry" starts a loop (SDM 26.1.3 PAUSE)
        pauseSeen = false;
        // SDM 27.7.4: VM entry starts the timer with the value in the VMCS; it counts from this TSC on.
        timerActive = (pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0;
        timerValue = vmcs.get(VmcsField.VMX_PREEMPTION_TIMER_VALUE) & 0xFFFF_FFFFL;
        timerStartTsc = state.tsc;
        retiredAtLastBoundary = state.instructionsRetired;
        pendingMtf = false;
        state.vectoringInfo = 0;
        state.iretUnblockingNmi = false;
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
            if (instructionLength == 0 && softwareEvent(state.vectoringInfo)) {
                // 28.2.5: an exit during delivery of a software interrupt or exception reports its length
                exitInstructionLength = state.vectoringInstructionLength;
            }
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

    /**
     * The exit of an instruction that exits unconditionally or by a VM-execution control: RFLAGS.RF is saved as 0
     * (SDM 28.3.3).
     */
    private void instructionExit(ExitReason reason, long qualification, int instructionLength) {
        long rflags = state.rflags();
        if ((rflags & Rflags.RF) != 0) {
            state.setRflags(rflags & ~Rflags.RF);
        }
        exit(reason, qualification, instructionLength);
    }

    /**
     * Fault-class exceptions (SDM Vol. 3A, Table 6-1): #DE, #BR, #UD, #NM, #TS, #NP, #SS, #GP, #PF, #MF, #AC, #XM,
     * #VE, #CP. Delivered through a gate they push RFLAGS with RF = 1, so an exit for one saves RF = 1 (28.3.3).
     */
    private static boolean faultClass(int vector) {
        return switch (vector) {
            case 0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19, 20, 21 -> true;
            default -> false;
        };
    }

    /** Interruption types 4, 5 and 6: software interrupt, privileged software exception, software exception. */
    private static boolean softwareEvent(int interruptionInformation) {
        int type = (interruptionInformation >>> 8) & 7;
        return type >= 4 && type <= 6;
    }

    /**
     * SDM 28.2.2 and 28.2.1 (Table 28-7) bit 12, "NMI unblocking due to IRET": for an exit due to a fault (or EPT
     * violation) of an IRET that started with (virtual-)NMI blocking; undefined, and reported as 0, when the exit
     * happens during event delivery. Such an IRET has removed the blocking: it is saved as removed (28.3.4), and a
     * VMM that re-executes the IRET re-establishes it.
     */
    long nmiUnblockingDueToIret() {
        if (!state.iretUnblockingNmi || (state.vectoringInfo & InterruptionInfo.VALID) != 0) {
            return 0;
        }
        state.interruptibility &= ~CpuState.INTERRUPTIBILITY_NMI;
        return 1L << 12;
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
        instructionExit(ExitReason.CPUID, 0, length);
    }

    @Override
    public void xsetbv(int length) {
        instructionExit(ExitReason.XSETBV, 0, length);
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
        instructionExit(reason, qualification, length);
    }

    @Override
    public void hlt(int length) {
        if (primary(PrimaryProcessorBasedControls.HLT_EXITING)) {
            instructionExit(ExitReason.HLT, 0, length);
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
        long qualification = IoQualification.encode(size, in, string, rep, immediate, port & 0xFFFF);
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
        instructionExit(ExitReason.IO_INSTRUCTION, qualification, length);
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
            instructionExit(ExitReason.RDMSR, 0, length);
        }
    }

    @Override
    public void wrmsr(int msr, long value, int length) {
        if (msrIntercepted(msr, true)) {
            instructionExit(ExitReason.WRMSR, 0, length);
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
            instructionExit(ExitReason.CR_ACCESS, crQualification(cr, CrAccessQualification.AccessType.MOV_TO_CR, gpr), length);
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
            instructionExit(ExitReason.CR_ACCESS, crQualification(cr, CrAccessQualification.AccessType.MOV_FROM_CR, gpr),
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
    public long crFixedOnes(int cr) {
        return switch (cr) {
            case 0 -> VmxCapabilities.CR0_FIXED0
                    & (secondary(SecondaryProcessorBasedControls.UNRESTRICTED_GUEST) ? ~(Cr0.PE | Cr0.PG) : -1L);
            case 4 -> VmxCapabilities.CR4_FIXED0;
            default -> 0;
        };
    }

    @Override
    public void clts(int length) {
        if ((cr0Mask & Cr0.TS) != 0 && (cr0Shadow & Cr0.TS) != 0) {
            instructionExit(ExitReason.CR_ACCESS, crQualification(0, CrAccessQualification.AccessType.CLTS, 0), length);
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
            instructionExit(ExitReason.CR_ACCESS, q, length);
        }
    }

    @Override
    public void movDr(int dr, int gpr, boolean toDr, int length) {
        if (primary(PrimaryProcessorBasedControls.MOV_DR_EXITING)) {
            // SDM Table 28-4: bits 2:0 DR number, bit 4 direction (0 = MOV to DR), bits 11:8 the register.
            long q = (dr & 7) | (toDr ? 0 : 1L << 4) | ((long) (gpr & 0xF) << 8);
            instructionExit(ExitReason.MOV_DR, q, length);
        }
    }

    @Override
    public void invlpg(long linear, int length) {
        if (primary(PrimaryProcessorBasedControls.INVLPG_EXITING)) {
            instructionExit(ExitReason.INVLPG, linear, length);
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
            instructionExit(ExitReason.RDTSC, 0, length);
        }
    }

    @Override
    public void rdtscp(int length) {
        if (primary(PrimaryProcessorBasedControls.RDTSC_EXITING)) {
            instructionExit(ExitReason.RDTSCP, 0, length);
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
        long qualification = 0;
        boolean exit = switch (reason) {
            case RDPMC -> primary(PrimaryProcessorBasedControls.RDPMC_EXITING);
            case PAUSE -> pauseExits();
            case MWAIT -> {
                // SDM 28.2.1: 1 if the address-range monitoring hardware is armed, else 0
                qualification = state.monitorArmed ? 1 : 0;
                yield primary(PrimaryProcessorBasedControls.MWAIT_EXITING);
            }
            case MONITOR -> primary(PrimaryProcessorBasedControls.MONITOR_EXITING);
            case WBINVD_OR_WBNOINVD -> secondary(SecondaryProcessorBasedControls.WBINVD_EXITING);
            case RDRAND -> secondary(SecondaryProcessorBasedControls.RDRAND_EXITING);
            case RDSEED -> secondary(SecondaryProcessorBasedControls.RDSEED_EXITING);
            case ACCESS_TO_GDTR_OR_IDTR, ACCESS_TO_LDTR_OR_TR -> {
                // SDM 28.2.1: the displacement of a memory operand (undefined for a register operand)
                qualification = state.instructionDisplacement;
                yield secondary(SecondaryProcessorBasedControls.DESCRIPTOR_TABLE_EXITING);
            }
            case RDTSC -> primary(PrimaryProcessorBasedControls.RDTSC_EXITING);
            case RDTSCP -> primary(PrimaryProcessorBasedControls.RDTSC_EXITING);
            case INVLPG -> primary(PrimaryProcessorBasedControls.INVLPG_EXITING);
            case HLT -> primary(PrimaryProcessorBasedControls.HLT_EXITING);
            default -> throw new IllegalArgumentException(reason + " is not a conditionally exiting instruction");
        };
        if (exit) {
            switch (reason) {
                // SDM 28.2.5: Table 28-12 (RDRAND/RDSEED), Tables 28-10/28-11 (descriptor-table instructions)
                case RDRAND, RDSEED, ACCESS_TO_GDTR_OR_IDTR, ACCESS_TO_LDTR_OR_TR ->
                        exitInstructionInformation = state.instructionInformation;
                default -> { }
            }
            instructionExit(reason, qualification, length);
        }
    }

    /**
     * SDM 26.1.3 PAUSE: with "PAUSE exiting" every PAUSE exits. Otherwise, with "PAUSE-loop exiting" and CPL 0, a
     * PAUSE more than PLE_Gap TSC ticks after the previous PAUSE at CPL 0 (or the first after VM entry) starts a
     * loop, and a PAUSE more than PLE_Window ticks after the start of its loop exits. The control is ignored at
     * CPL > 0.
     */
    private boolean pauseExits() {
        if (primary(PrimaryProcessorBasedControls.PAUSE_EXITING)) {
            return true;
        }
        boolean cpl0 = (state.cr0 & Cr0.PE) == 0 || state.cpl() == 0;
        if (!secondary(SecondaryProcessorBasedControls.PAUSE_LOOP_EXITING) || !cpl0) {
            return false;
        }
        long now = state.tsc;
        boolean exits = false;
        if (!pauseSeen || Long.compareUnsigned(now - lastPauseTsc, pleGap) > 0) {
            pauseLoopStartTsc = now;
        } else if (Long.compareUnsigned(now - pauseLoopStartTsc, pleWindow) > 0) {
            exits = true;
        }
        pauseSeen = true;
        lastPauseTsc = now;
        return exits;
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
        exitInterruptionInformation = new InterruptionInfo(vector, type, hasErrorCode, false, true).encode()
                | (vector != 8 ? (int) nmiUnblockingDueToIret() : 0); // undefined for #DF (28.2.2)
        exitInterruptionErrorCode = hasErrorCode ? errorCode : 0;
        // SDM 28.2.1: a #PF exit's qualification is the faulting linear address (CR2 is not written); a #DB exit's
        // the debug conditions that DR6 would have reported (DR6 is not written).
        long qualification = vector == 14 ? state.faultingLinearAddress
                : vector == 1 && !software ? state.debugQualification : 0;
        if (type == InterruptionType.HARDWARE_EXCEPTION && faultClass(vector)) {
            state.setRflags(state.rflags() | Rflags.RF); // 28.3.3: RF as the pushed image would have it
        }
        exit(ExitReason.EXCEPTION_OR_NMI, qualification, software ? length : 0);
    }

    private void noteEventDelivered() {
        if (primary(PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG)) {
            pendingMtf = true; // SDM 26.7.2: MTF exit after delivery of a fault the guest handles
        }
    }

    @Override
    public boolean iretUnblocksNmi() {
        return (pin & PinBasedControls.NMI_EXITING) == 0 || (pin & PinBasedControls.VIRTUAL_NMIS) != 0;
    }

    /** SDM 26.2; 28.2.4: an exit due to a triple fault is not one during event delivery (no IDT-vectoring). */
    @Override
    public void tripleFault() {
        state.vectoringInfo = 0;
        injectingInformation = 0;
        exit(ExitReason.TRIPLE_FAULT, 0, 0);
    }

    /**
     * SDM 26.4.2: every task switch exits; the qualification (Table 28-2) holds the new TSS selector in bits 15:0
     * and the source in bits 31:30. Through a task gate in the IDT the exit happens during event delivery and
     * reports the event as IDT-vectoring information (28.2.4), with the length of a software interrupt (28.2.5).
     */
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
        state.iretUnblockingNmi = false; // the IRET that set it has completed or its fault has been delivered
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
