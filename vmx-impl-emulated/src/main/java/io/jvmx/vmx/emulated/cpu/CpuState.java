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
    /**
     * RFLAGS. The six status flags (CF PF AF ZF SF OF) are kept lazily while {@link #lazyOp} is not {@link #EAGER}:
     * then they are whatever the last arithmetic operation described by the lazy fields produces, and are computed
     * only when something reads them (SDM Vol. 1, 3.4.3.1 for each flag's definition). Read and write RFLAGS through
     * {@link #rflags()} and {@link #setRflags(long)}.
     */
    private long rflags = 2;

    // ---- lazy status flags: the last flag-setting operation, its operands and result (masked to its size)
    /** The status bits in {@link #rflags} are current. */
    static final int EAGER = 0;
    /** r = a + b (ADD, and ADC with its carry included in r). */
    static final int LAZY_ADD = 1;
    /** r = a - b (SUB, CMP, NEG with a = 0); SBB is kept eagerly. */
    static final int LAZY_SUB = 2;
    /** AND, OR, XOR, TEST: CF = OF = 0, AF = 0 (undefined by the SDM; 0 as current processors leave it). */
    static final int LAZY_LOGIC = 3;
    /** INC (r = a + 1) and DEC (r = a - 1): CF keeps the value in {@link #lazyCf}. */
    static final int LAZY_INC = 4;
    static final int LAZY_DEC = 5;
    /**
     * SHL/SAL, SHR, SAR by a masked count of at least 1 (a count of 0 changes no flag): a = the value shifted, b = the
     * count, r = the result. CF is the last bit shifted out; OF is defined for a count of 1 and computed with the
     * same formula for larger counts, as current processors do; AF = 0 (undefined). SDM Vol. 2B SAL/SAR/SHL/SHR.
     */
    static final int LAZY_SHL = 6;
    static final int LAZY_SHR = 7;
    static final int LAZY_SAR = 8;

    int lazyOp;
    int lazySize;
    long lazyA, lazyB, lazyR;
    long lazyCf;

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
    /** The MTRRs and IA32_MISC_ENABLE. */
    public final ConfigurationMsrs configurationMsrs = new ConfigurationMsrs();
    public long xcr0 = 1;
    public long xss;

    /** Guest interruptibility state, VMCS format (SDM 25.4.2 Table 25-3): bit 0 STI, 1 MOV SS, 2 SMI, 3 NMI. */
    public int interruptibility;
    /** Activity state (SDM 25.4.2): 0 active, 1 HLT, 2 shutdown, 3 wait-for-SIPI. */
    public int activityState;
    public long pendingDebugExceptions;
    /** Address-range monitoring hardware armed by MONITOR, disarmed when MWAIT completes (SDM Vol. 2B MONITOR). */
    public boolean monitorArmed;

    /** Time-stamp counter. Deterministic by default: it advances by a fixed amount per retired instruction. */
    public long tsc;
    /** Instructions retired since reset. */
    public long instructionsRetired;

    /** The x87 FPU (and MMX) state. */
    final X87State x87 = new X87State();
    /** The SSE state: XMM registers and MXCSR. */
    final SseState sse = new SseState();

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
    /** With {@link #vectoringInfo}: the instruction length of a software interrupt or exception being delivered. */
    public int vectoringInstructionLength;
    /**
     * Set by IRET when it starts with blocking by NMI (virtual-NMI blocking under "virtual NMIs") in effect: an
     * exit for a fault or EPT violation of that IRET reports "NMI unblocking due to IRET" (SDM Vol. 3C, 28.2.2 and
     * Table 28-7). The VMX layer clears it at the next instruction boundary.
     */
    public boolean iretUnblockingNmi;
    /** Set before an exception hook for #PF: the faulting linear address (exit qualification, SDM 28.2.1). */
    public long faultingLinearAddress;
    /**
     * Set before an exception hook for #DB: what the exception reports (B0-B3, BD, BS as in DR6), the exit
     * qualification of a #DB VM exit, which leaves DR6 unchanged (SDM 28.1, 28.2.1 Table 28-1).
     */
    public long debugQualification;
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

    /** RFLAGS with the status flags computed. */
    public long rflags() {
        if (lazyOp != EAGER) {
            materializeFlags();
        }
        return rflags;
    }

    /** Sets every RFLAGS bit, the status flags included. */
    public void setRflags(long value) {
        rflags = value;
        lazyOp = EAGER;
    }

    /** RFLAGS without the status flags, which may be stale: for the bits no arithmetic changes (IF, DF, TF, AC...). */
    long rflagsControl() {
        return rflags;
    }

    /** Sets the bits of RFLAGS other than the status flags (IF, DF, TF, RF, ...), keeping the status flags lazy. */
    void setRflagsControl(long value) {
        rflags = (value & ~Alu.STATUS) | (rflags & Alu.STATUS);
    }

    /** Records an operation whose status flags are computed when someone reads them. */
    void lazyFlags(int op, long a, long b, long r, int size) {
        lazyOp = op;
        lazyA = a;
        lazyB = b;
        lazyR = r;
        lazySize = size;
    }

    /** INC/DEC: CF is not affected, so its current value is kept with the lazy description. */
    void lazyIncDec(boolean dec, long a, long r, int size) {
        lazyCf = cf();
        lazyOp = dec ? LAZY_DEC : LAZY_INC;
        lazyA = a;
        lazyB = 1;
        lazyR = r;
        lazySize = size;
    }

    /** Two- and three-operand IMUL: the product (Alu.imulProduct), its flags set at once (Alu.imulFlags). */
    long imul(long a, long b, int size) {
        long r = Alu.imulProduct(a, b, size);
        rflags = (rflags & ~Alu.STATUS) | Alu.imulFlags(a, b, r, size);
        lazyOp = EAGER;
        return r;
    }

    private void materializeFlags() {
        long a = lazyA, b = lazyB, r = lazyR;
        int size = lazySize;
        long f;
        switch (lazyOp) {
            case LAZY_ADD: f = Alu.addFlags(a, b, r, size); break;
            case LAZY_SUB: f = Alu.subFlags(a, b, r, size); break;
            case LAZY_LOGIC: f = Alu.szp(r, size); break;
            case LAZY_INC: f = (Alu.addFlags(a, 1, r, size) & ~Alu.CF) | lazyCf; break;
            case LAZY_DEC: f = (Alu.subFlags(a, 1, r, size) & ~Alu.CF) | lazyCf; break;
            default: {
                long cf = shiftCarry();
                long of = lazyOp == LAZY_SHL ? ((r >>> (size * 8 - 1)) & 1) ^ cf
                        : lazyOp == LAZY_SHR ? (a >>> (size * 8 - 1)) & 1 : 0;
                f = cf | (of << 11) | Alu.szp(r, size);
                break;
            }
        }
        rflags = (rflags & ~Alu.STATUS) | f;
        lazyOp = EAGER;
    }

    /** CF as 0 or 1, without computing the other flags. */
    long cf() {
        switch (lazyOp) {
            case EAGER: return rflags & Alu.CF;
            case LAZY_ADD: return Long.compareUnsigned(lazyR, lazyA) < 0 || (lazyR == lazyA && lazyB != 0) ? 1 : 0;
            case LAZY_SUB: return Long.compareUnsigned(lazyA, lazyB) < 0 ? 1 : 0;
            case LAZY_LOGIC: return 0;
            case LAZY_INC: case LAZY_DEC: return lazyCf;
            default: return shiftCarry();
        }
    }

    /** The last bit a lazy shift shifted out. */
    private long shiftCarry() {
        int cnt = (int) lazyB;
        int bits = lazySize * 8;
        switch (lazyOp) {
            case LAZY_SHL: return cnt > bits ? 0 : (lazyA >>> (bits - cnt)) & 1;
            case LAZY_SHR: return (lazyA >>> (cnt - 1)) & 1;
            default: return (Alu.signExtend(lazyA, lazySize) >> (cnt - 1)) & 1;
        }
    }

    /**
     * Condition code {@code cc} of Jcc/SETcc/CMOVcc (SDM Vol. 1, Table B-1: O NO B AE E NE BE A S NS P NP L GE LE G),
     * straight from the lazy description for the common operations.
     */
    boolean condition(int cc) {
        boolean r;
        int op = lazyOp;
        if (op == LAZY_SUB && (cc & 0xE) != 0 && (cc & 0xE) != 0xA) {
            long a = lazyA, b = lazyB;
            int shift = 64 - lazySize * 8;
            switch (cc >>> 1) {
                case 1: r = Long.compareUnsigned(a, b) < 0; break;            // B
                case 2: r = a == b; break;                                     // E
                case 3: r = Long.compareUnsigned(a, b) <= 0; break;           // BE
                case 4: r = (lazyR << shift) < 0; break;                       // S
                case 6: r = (a << shift) < (b << shift); break;                // L
                default: r = (a << shift) <= (b << shift); break;              // LE
            }
        } else if (op == LAZY_LOGIC && (cc & 0xE) != 0xA) {
            long v = lazyR << (64 - lazySize * 8);
            switch (cc >>> 1) {
                case 0: case 1: r = false; break;                             // O, B: OF = CF = 0
                case 2: case 3: r = v == 0; break;                             // E, BE
                case 4: case 6: r = v < 0; break;                              // S, L (SF != OF with OF = 0)
                default: r = v <= 0; break;                                    // LE
            }
        } else {
            long f = rflags();
            switch (cc >>> 1) {
                case 0: r = (f & Alu.OF) != 0; break;
                case 1: r = (f & Alu.CF) != 0; break;
                case 2: r = (f & Alu.ZF) != 0; break;
                case 3: r = (f & (Alu.CF | Alu.ZF)) != 0; break;
                case 4: r = (f & Alu.SF) != 0; break;
                case 5: r = (f & Alu.PF) != 0; break;
                case 6: r = ((f & Alu.SF) != 0) != ((f & Alu.OF) != 0); break;
                default: r = (f & Alu.ZF) != 0 || ((f & Alu.SF) != 0) != ((f & Alu.OF) != 0); break;
            }
        }
        return (cc & 1) != 0 ? !r : r;
    }

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
