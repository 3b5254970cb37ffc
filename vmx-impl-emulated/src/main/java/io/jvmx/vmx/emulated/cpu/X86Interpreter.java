package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import java.util.Objects;

/**
 * The x86-64 interpreter of the software VMX processor: executes the guest described by a {@link CpuState} in real
 * mode, protected mode, compatibility mode and 64-bit mode, with guest paging, asking the VMX layer through
 * {@link NonRootHooks} wherever VMX non-root operation may exit (SDM Vol. 3C, chapter 26) and through the
 * {@link GuestPhysicalBus} for every guest-physical access (EPT).
 *
 * <p>Not thread-safe: one thread runs one processor. Executing allocates nothing; an instruction seen for the first
 * time is decoded once into its cached form (see CodeCache).
 */
public final class X86Interpreter {
    /** CR4 bits the interpreter implements (anything else is #GP on MOV to CR4): a basis for IA32_VMX_CR4_FIXED1. */
    public static final long CR4_SUPPORTED = SystemOps.CR4_SUPPORTED;
    /** IA32_EFER bits the interpreter implements (SCE, LME, LMA, NXE). */
    public static final long EFER_SUPPORTED = SystemOps.EFER_SUPPORTED;
    /** XCR0 bits XSETBV accepts in the native path. */
    public static final long XCR0_SUPPORTED = SystemOps.XCR0_SUPPORTED;
    /** The physical-address width the guest paging checks use (reserved bits above it, SDM Vol. 3A 4.1.4). */
    public static final int MAXPHYADDR = Mmu.MAXPHYADDR;

    private final CpuState state;
    private final NonRootHooks hooks;
    private final Mmu mmu;
    private final Executor exec;
    private final EventDelivery events;

    public X86Interpreter(CpuState state, PhysicalMemory hostMemory, GuestPhysicalBus bus, NonRootHooks hooks) {
        this.state = Objects.requireNonNull(state, "state");
        this.hooks = Objects.requireNonNull(hooks, "hooks");
        CpuFault fault = new CpuFault();
        this.mmu = new Mmu(state, Objects.requireNonNull(hostMemory, "hostMemory"), Objects.requireNonNull(bus, "bus"),
                fault);
        this.exec = new Executor(state, mmu, hooks, fault);
        Segmentation segs = new Segmentation(exec);
        this.events = new EventDelivery(exec, segs);
        exec.segs = segs;
        exec.events = events;
        exec.sys = new SystemOps(exec, segs);
        exec.v86 = new Virtual8086(exec);
    }

    /**
     * Executes instructions until a hook throws {@link VmExitSignal}; then returns. Instructions run in blocks of
     * at most {@link NonRootHooks#instructionBudget()}: {@link NonRootHooks#instructionBoundary()} is called before
     * each block (so before every instruction whose boundary can matter, see Executor#runBlock), and repeatedly while
     * the processor is not active (HLT, shutdown): such a processor leaves that state only when an event is
     * delivered.
     *
     * @throws IllegalStateException for internal errors; never for guest faults, which are delivered to the guest
     */
    public void run() {
        try {
            // VM entry may have loaded DR7 and pending debug exceptions (SDM Vol. 3C 27.3.2.1, 27.7.3): decode the
            // former, deliver the latter first (priority of traps on the previous instruction, SDM Vol. 3A 6.9)
            exec.debug.reload();
            exec.debug.hits = 0;
            exec.refreshMode();
            exec.deliverPendingDebugTrap();
            for (;;) {
                hooks.instructionBoundary();
                if (state.activityState != CpuState.ACTIVITY_ACTIVE) {
                    continue;
                }
                exec.runBlock(hooks.instructionBudget());
            }
        } catch (VmExitSignal exit) {
            // the VMX layer has recorded the exit
        }
    }

    /**
     * Delivers an event as VM-entry event injection does (SDM Vol. 3C, 27.6.1): through the IVT in real mode, through
     * 32-bit or 64-bit IDT gates otherwise. For software interrupts and software/privileged-software exceptions the
     * return address is RIP + {@code instructionLength}. Exceptions during delivery become #DF or a triple fault (SDM
     * Vol. 3A, 6.15), each offered to {@link NonRootHooks#exception} first. Wakes the processor from HLT.
     *
     * @param errorCode -1 if the event has no error code
     */
    public void deliverEvent(int vector, InterruptionType type, int errorCode, int instructionLength) {
        if (vector < 0 || vector > 255) {
            throw new IllegalArgumentException("vector out of range: " + vector);
        }
        switch (type) {
            case EXTERNAL_INTERRUPT:
            case NMI:
            case HARDWARE_EXCEPTION:
            case SOFTWARE_INTERRUPT:
            case PRIVILEGED_SOFTWARE_EXCEPTION:
            case SOFTWARE_EXCEPTION:
                break;
            default:
                throw new IllegalArgumentException("not an event delivered through the IDT: " + type);
        }
        events.inject(vector, type.code(), errorCode, instructionLength);
    }

    /** Drops all cached translations (CR3 write by the VMX layer, INVEPT, INVLPG-all, mode changes). */
    public void invalidateTranslations() {
        mmu.flush();
    }

    /**
     * Whether hot blocks of guest code are translated to JVM bytecode (the default) or every instruction runs through
     * the interpreter; both give the same results, the first faster. For comparing the two, and for debugging.
     */
    public void setBlockTranslation(boolean enabled) {
        exec.translate = enabled;
    }

    /** How many blocks have been translated to bytecode so far. */
    public long translatedBlocks() {
        return exec.translatedBlocks;
    }

    /** Releases the memory's write watch (the decoded-instruction cache): the processor is closed. */
    public void close() {
        exec.cache.clear();
        exec.mem.setWriteWatcher(null);
    }

    /**
     * Sets DR6 as a debug exception does (SDM Vol. 3A, 18.2.3): for the VMX layer's delivery of the pending debug
     * exceptions of a VM entry (SDM Vol. 3C, 27.7.3). Bits that are fixed to 1 stay 1.
     */
    public void setDebugStatus(long dr6) {
        exec.debug.dr6 = (dr6 | DebugRegisters.DR6_FIXED_1) & 0xFFFF_FFFFL;
    }

    /** The debug registers DR0-DR3 and DR6, which the VMCS does not hold (index 0-3, 6). */
    public long debugRegister(int n) {
        switch (n) {
            case 0: case 1: case 2: case 3: return exec.debug.dr[n];
            case 6: return exec.debug.dr6;
            case 7: return state.dr7;
            default: throw new IllegalArgumentException("no debug register DR" + n);
        }
    }
}
