package io.jvmx.vmx.emulated.cpu;

/**
 * What the interpreter asks the VMX layer while executing a guest in VMX non-root operation (SDM Vol. 3C, ch. 26
 * "VMX Non-Root Operation"). Each method either returns (the instruction proceeds with native behaviour, or with
 * the value the method returns where it says so) or records a VM exit and throws {@link VmExitSignal}.
 *
 * <p>The interpreter calls these after the checks that have priority over VM exits (SDM 26.1.1: #UD for invalid
 * opcodes and modes, CPL checks of privileged instructions, #GP of real/virtual-8086 mode, and so on) and before
 * the instruction changes any state. {@code length} is always the instruction's length in bytes (for the VM-exit
 * instruction-length field, SDM 28.2.5).
 */
public interface NonRootHooks {

    /** CPUID: exits unconditionally (SDM 26.1.2). */
    void cpuid(int length);

    /** XSETBV: exits unconditionally (SDM 26.1.2). */
    void xsetbv(int length);

    /** GETSEC, INVD, VMCALL, VMCLEAR, VMLAUNCH, VMPTRLD, VMPTRST, VMREAD, VMRESUME, VMWRITE, VMXOFF, VMXON,
     *  INVEPT, INVVPID, VMFUNC...: exit unconditionally. {@code exitReason} is the basic exit reason number. */
    void unconditional(int exitReason, int length);

    /** HLT: exits if "HLT exiting" is 1; otherwise returns and the interpreter enters the HLT activity state. */
    void hlt(int length);

    /**
     * IN, INS, OUT, OUTS (SDM 26.1.3 "unconditional I/O exiting" / "use I/O bitmaps"). Returns normally if the
     * access is not intercepted; then the interpreter performs it on the platform's port space, which in this
     * processor has no devices: reads return all ones, writes are dropped.
     *
     * @param size       1, 2 or 4 bytes
     * @param linear     for INS/OUTS: the linear address of the first access (SDM 28.2.5 guest-linear address)
     */
    void io(int port, int size, boolean in, boolean string, boolean rep, boolean immediate, long linear, int length);

    /** RDMSR: exits per the MSR bitmap (SDM 26.1.3); returns if the access is not intercepted. */
    void rdmsr(int msr, int length);

    /** WRMSR: as {@link #rdmsr}. */
    void wrmsr(int msr, long value, int length);

    /**
     * MOV to CR0, CR3, CR4 or CR8 (SDM 26.1.3): exits if the CR0/CR4 guest/host mask owns a bit whose new value
     * differs from the read shadow, for CR3 per CR3-load exiting and the CR3-target values, for CR8 per CR8-load
     * exiting. Returns normally if there is no exit; the interpreter then writes the value (for CR0/CR4 the
     * processor's own value: host-owned bits keep their value, SDM 26.3).
     */
    void movToCr(int cr, int gpr, long value, int length);

    /**
     * MOV from CR3 or CR8: exits per CR3-store / CR8-store exiting (reads of CR0 and CR4 never exit; the
     * interpreter composes them with {@link #readShadowedCr}).
     */
    void movFromCr(int cr, int gpr, int length);

    /**
     * CR0 or CR4 as a guest read sees it (MOV from CR0/CR4, SMSW): bits owned by the host come from the read
     * shadow (SDM 26.3 "Changes to Instruction Behavior in VMX Non-Root Operation").
     */
    long readShadowedCr(int cr, long actual);

    /**
     * The bits of CR0 or CR4 that VMX operation fixes to 1 (IA32_VMX_CR0_FIXED0 / CR4_FIXED0, SDM Vol. 3C 24.8;
     * CR0.PE and CR0.PG are free under "unrestricted guest", 26.3.1.1): MOV to CR0/CR4 that would clear one the
     * guest owns is #GP(0).
     */
    long crFixedOnes(int cr);

    /** CLTS: exits if CR0.TS is owned by the host and the read shadow has TS = 1 (SDM 26.1.3). */
    void clts(int length);

    /**
     * LMSW: exits if the mask owns PE and the source has PE = 1 while the shadow has PE = 0, or the mask owns any of
     * bits 3:0 and the source differs from the shadow there (SDM 26.1.3).
     *
     * @param memory   the operand is in memory, at {@code linear}
     */
    void lmsw(int source, boolean memory, long linear, int length);

    /** MOV to/from DR: exits if "MOV-DR exiting" is 1. */
    void movDr(int dr, int gpr, boolean toDr, int length);

    /** INVLPG (INVLPG exiting), with the linear address for the exit qualification. */
    void invlpg(long linear, int length);

    /** Whether INVPCID exists for the guest ("enable INVPCID", SDM 26.3: otherwise INVPCID is #UD). */
    boolean invpcidEnabled();

    /**
     * INVPCID: exits if "INVLPG exiting" is 1 (SDM 26.1.3), with {@link CpuState#instructionInformation} and the
     * displacement in {@link CpuState#instructionDisplacement} (the exit qualification, SDM 28.2.1).
     */
    void invpcid(int length);

    /** RDTSC (RDTSC exiting); if it returns, the interpreter reads {@link #guestTsc()}. */
    void rdtsc(int length);

    /** RDTSCP: #UD unless "enable RDTSCP" (the interpreter asks {@link #rdtscpEnabled()}), exits with RDTSC exiting. */
    void rdtscp(int length);

    boolean rdtscpEnabled();

    /** The TSC as the guest reads it: the processor's TSC plus the TSC offset when "use TSC offsetting" is 1. */
    long guestTsc();

    /**
     * RDPMC, PAUSE (PAUSE exiting and PAUSE-loop exiting), MWAIT, MONITOR, WBINVD, RDRAND, RDSEED, the
     * descriptor-table instructions (exit reasons 46 and 47) and the other conditionally exiting instructions (SDM
     * 26.1.3). RDRAND/RDSEED and the descriptor-table instructions set {@link CpuState#instructionInformation} (and
     * the latter {@link CpuState#instructionDisplacement}) first.
     */
    void conditional(int exitReason, int length);

    /**
     * An exception (fault or trap) about to be delivered through the guest IDT (SDM 26.2 and 28.2.2): exits if its
     * bit in the exception bitmap is 1 (for #PF with the error-code mask/match), and handles double and triple
     * fault. Returns normally if the guest delivers it.
     *
     * @param errorCode the error code, or -1 if the exception has none
     * @param length    for software exceptions (INT3, INTO) the instruction length; 0 otherwise
     * @param software  INT3/INTO/INT1 (for the interruption type of the exit)
     */
    void exception(int vector, int errorCode, boolean software, int length);

    /**
     * Whether IRET removes blocking by NMI (SDM 26.3 IRET): it does unless "NMI exiting" is 1 and "virtual NMIs" is
     * 0 (then NMI blocking belongs to the host); with "virtual NMIs" the blocking is virtual-NMI blocking.
     */
    boolean iretUnblocksNmi();

    /** A triple fault (SDM 26.2): exits unconditionally with reason TRIPLE_FAULT. */
    void tripleFault();

    /** {@link #taskSwitch} sources: bits 31:30 of the exit qualification (SDM 28.2.1, Table 28-2). */
    int TASK_SWITCH_CALL = 0, TASK_SWITCH_IRET = 1, TASK_SWITCH_JMP = 2, TASK_SWITCH_IDT = 3;

    /**
     * A task switch (SDM 26.4.2): exits unconditionally (reason TASK_SWITCH), after the interpreter's checks of the
     * gate and the new TSS descriptor; never returns. {@code length}: the instruction's, for CALL, JMP, IRET and a
     * software interrupt or exception through a task gate; 0 for other events through the IDT.
     */
    void taskSwitch(int tssSelector, int source, int length);

    /**
     * Whether the coming instruction boundary has an MTF VM exit pending (SDM 26.7.2): such an exit has priority over
     * the debug traps of the instruction that just completed, which then stay pending (and are saved in the VMCS's
     * pending-debug-exceptions field, SDM 28.3.4) instead of being delivered.
     */
    boolean monitorTrapExitPending();

    /**
     * At each instruction boundary, before the next instruction executes (and while the processor is in the HLT
     * state): the VMX layer checks, in the SDM's priority order (26.2 and 26.7), the pending kick as an external
     * interrupt, the VMX-preemption timer, the NMI window, the interrupt window (RFLAGS.IF = 1 and no blocking by
     * STI or MOV SS) and the monitor trap flag. Throws {@link VmExitSignal} if one of them exits.
     */
    void instructionBoundary();

    /**
     * How many instructions may retire, from this boundary, before {@link #instructionBoundary()} must be asked again
     * (at least 1): 1 while the monitor trap flag is set, the instructions left until the VMX-preemption timer expires
     * (the TSC advances once per instruction), and a bound so that a kick from another thread is seen soon. Events
     * that only an instruction can enable (STI, POPF, IRET, MOV SS, a CR or MSR write, ...) need no budget: such
     * instructions end their block, and the boundary after them is checked.
     */
    long instructionBudget();
}
