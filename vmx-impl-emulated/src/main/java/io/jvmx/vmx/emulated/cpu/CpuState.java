package io.jvmx.vmx.emulated.cpu;

/**
 * The architectural state of one logical processor that the interpreter executes on. The VMX layer loads it from
 * the VMCS guest-state area at VM entry and stores it back at VM exit (SDM Vol. 3C, 27.3.2 and 28.3); in root
 * operation it holds the host's state. Plain fields: one thread owns a processor.
 */
public final class CpuState {
    /** Segment register indices, in the SDM's order (also the order of the VMCS guest selector fields). */
    public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

    /** RAX..R15 by SDM register number; index 4 is RSP. */
    public final long[] gpr = new long[16];
    public long rip;
    public long rflags = 2;

    /** ES, CS, SS, DS, FS, GS by the indices above. */
    public final Segment[] seg = {new Segment(), new Segment(), new Segment(), new Segment(), new Segment(),
            new Segment()};
    public final Segment ldtr = new Segment();
    public final Segment tr = new Segment();
    public long gdtrBase;
    public int gdtrLimit;
    public long idtrBase;
    public int idtrLimit;

    public long cr0 = 0x6000_0010L;
    public long cr2;
    public long cr3;
    public long cr4;
    /** CR8: the task-priority register (bits 3:0). */
    public long cr8;
    public long dr7 = 0x400;
    public long efer;
    public long pat = 0x0007_0406_0007_0406L;
    public long debugctl;
    public long sysenterCs;
    public long sysenterEsp;
    public long sysenterEip;
    public long star;
    public long lstar;
    public long cstar;
    public long fmask;
    public long kernelGsBase;
    public long tscAux;
    public long xcr0 = 1;
    public long xss;

    /** Guest interruptibility state, VMCS format (SDM 25.4.2 Table 25-3): bit 0 STI, 1 MOV SS, 2 SMI, 3 NMI. */
    public int interruptibility;
    /** Activity state (SDM 25.4.2): 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI. */
    public int activityState;
    public long pendingDebugExceptions;

    /** Time-stamp counter. Deterministic by default: it advances by a fixed amount per retired instruction. */
    public long tsc;
    /** Instructions retired since reset. */
    public long instructionsRetired;

    /**
     * PAE paging's four PDPTE registers (SDM Vol. 3A, 4.4.1): loaded by MOV to CR0/CR3/CR4 when the result is PAE
     * paging, and by VM entry from GUEST_PDPTE0-3 when EPT is on (SDM Vol. 3C, 27.3.2.4); the PAE walk uses them.
     */
    public final long[] pdpte = new long[4];

    // ---- information the interpreter leaves for the VMX layer's VM-exit information fields (SDM Vol. 3C, 28.2)

    /**
     * While an event is being delivered through the IDT: its interruption information (vector | type << 8 | error
     * code valid << 11 | 1 << 31, SDM 25.9.3) and error code, for the IDT-vectoring information of an exit that
     * happens during the delivery (SDM 28.2.4); 0 at all other times.
     */
    public int vectoringInfo;
    public int vectoringErrorCode;
    /** Set before an exception hook for #PF: the faulting linear address (exit qualification, SDM 28.2.1). */
    public long faultingLinearAddress;
    /** Set before the I/O hook for INS/OUTS: address size (0 = 16, 1 = 32, 2 = 64 bits) and segment (SDM 28.2.5). */
    public int stringIoAddressSize;
    public int stringIoSegment;
    /**
     * Set before the hook of RDRAND/RDSEED and of the VMX instructions, INVEPT and INVVPID: the VM-exit
     * instruction-information field (SDM 28.2.5, Tables 28-12 to 28-15).
     */
    public int instructionInformation;
    /**
     * Set with {@link #instructionInformation} for memory operands: the displacement (sign-extended; for
     * RIP-relative addressing plus the RIP of the next instruction), the exit qualification of those VM exits
     * (SDM 28.2.1).
     */
    public long instructionDisplacement;

    public static final int INTERRUPTIBILITY_STI = 1;
    public static final int INTERRUPTIBILITY_MOV_SS = 2;
    public static final int INTERRUPTIBILITY_NMI = 8;

    public static final int ACTIVITY_ACTIVE = 0;
    public static final int ACTIVITY_HLT = 1;
    public static final int ACTIVITY_SHUTDOWN = 2;

    public Segment cs() {
        return seg[CS];
    }

    public Segment ss() {
        return seg[SS];
    }

    /** IA-32e mode active (EFER.LMA). */
    public boolean longModeActive() {
        return (efer & (1L << 10)) != 0;
    }

    /** CPL: the DPL of SS (SDM 25.4.1 note: the processor takes CPL from SS.DPL in the VMCS). */
    public int cpl() {
        return seg[SS].dpl();
    }
}
