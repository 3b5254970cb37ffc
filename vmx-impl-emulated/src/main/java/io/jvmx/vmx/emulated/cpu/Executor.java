package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;
import static io.jvmx.vmx.emulated.cpu.Alu.signExtend;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.memory.PhysicalMemory;

/**
 * Fetches, decodes and executes one instruction (SDM Vol. 2, chapter 2 "Instruction Format" and the instruction
 * pages). Decoder state lives in fields reused for every instruction (no allocation on this path). Every instruction
 * computes and validates first and commits last: a fault ({@link CpuFault}) or a VM exit ({@link VmExitSignal})
 * leaves registers, flags, RIP and memory as they were before the instruction.
 */
final class Executor {
    static final int ES = CpuState.ES, CS = CpuState.CS, SS = CpuState.SS, DS = CpuState.DS, FS = CpuState.FS,
            GS = CpuState.GS;
    static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;

    final CpuState s;
    final Mmu m;
    final PhysicalMemory mem;
    final NonRootHooks hooks;
    final CpuFault fault;
    final Alu alu = new Alu();
    /** The x87's extended-precision arithmetic (its working registers; the x87 state is in CpuState). */
    final ExtendedPrecision fp = new ExtendedPrecision();
    /** The x87 transcendental functions (their working registers). */
    final X87Transcendentals transcendentals = new X87Transcendentals(fp);
    Segmentation segs;
    EventDelivery events;
    SystemOps sys;
    /** Virtual-8086 mode and the virtual interrupt flag: the IOPL-sensitive instructions' other forms. */
    Virtual8086 v86;
    /** Operands, checks and scratch of the MMX and SSE instructions. */
    final SimdOperands simd;
    /** DR0-DR3, DR6 and what DR7 arms. */
    final DebugRegisters debug;

    // ---- the mode at the start of the instruction
    boolean realMode;
    /**
     * Virtual-8086 mode (SDM Vol. 3A, 20.2): CR0.PE = 1, EFLAGS.VM = 1, outside IA-32e mode. CPL is 3, segment
     * registers are loaded 8086-style (base = selector << 4, limit FFFFH), and the IOPL-sensitive instructions (CLI,
     * STI, PUSHF, POPF, INT n, IRET) follow IOPL and CR4.VME.
     */
    boolean vm86;
    /** Segment registers are loaded as in the 8086 (real-address or virtual-8086 mode, SDM 20.1.1 and 20.2.1). */
    boolean segments8086;
    boolean mode64;
    int cpl;
    /** Paging privilege of explicit data accesses, of implicit supervisor accesses, and of fetches. */
    int dataPriv, sysPriv, fetchPriv;

    // ---- the instruction being executed (decoded once, see Decoder and CodeCache)
    Insn i;
    /** RIP of the instruction's first byte. */
    long startRip;
    /** Linear address of the memory operand of a read-modify-write, between readEW and writeEW. */
    long rmwLin;
    /** Scratch for the whole-page-range REP MOVS/STOS of StringOps. */
    final byte[] bulk = new byte[4096];

    // ---- retirement
    /**
     * How many instructions the current block may still retire, the current one included: a REP string instruction
     * may run further iterations while more than one is left, each retiring on its own as on the processor (SDM
     * Vol. 2B REP), and each taking one from here.
     */
    long budgetLeft;
    /** Blocking by STI or MOV SS that the current instruction sets (only block-ending instructions set it). */
    int newShadow;
    /** The current instruction keeps RF (IRET, which loads it: block-ending). */
    boolean keepRf;
    /** The last retired instruction was a REP iteration that left more iterations (RF for interrupts, SDM 18.3.1.1). */
    boolean repIncomplete;

    private long fetchPage = -1, fetchHost;
    /** Decoded instructions by host-physical address. */
    final CodeCache cache;

    // ---- staged writes: validated (all pages translated) before the first one is performed
    private final long[] stLin = new long[48];
    private final int[] stSize = new int[48];
    private final long[] stVal = new long[48];
    private final int[] stPriv = new int[48];
    private int stCount;

    Executor(CpuState s, Mmu m, NonRootHooks hooks, CpuFault fault) {
        this.s = s;
        this.m = m;
        this.mem = m.memory();
        this.hooks = hooks;
        this.fault = fault;
        this.cache = new CodeCache(mem);
        this.simd = new SimdOperands(this);
        this.debug = new DebugRegisters(s);
        m.debug = debug;
        debug.attach(m, this);
    }

    // =========================================================================================== the cycle

    /**
     * Executes a block of instructions: at least one and at most {@code budget}. The block ends early after an
     * instruction that may change what the next instruction boundary decides or how instructions are fetched and
     * checked (see {@link Insn#endsBlock}), after the instruction that follows STI or MOV SS (its end is when an
     * interrupt window can open, SDM 25.4.2), and when an exception was raised (delivered here). The mode-dependent
     * attributes ({@link #refreshMode}) are computed once per block: nothing inside a block changes them.
     */
    void runBlock(long budget) {
        refreshMode();
        events.clearDelivering();
        if (vm86 && virtualInterruptPending()) {
            // SDM Vol. 3A 20.3.2: VIF and VIP both set at the start of an instruction in virtual-8086 mode with the
            // virtual interrupt mechanism in use is #GP(0), so that the monitor delivers the pending interrupt. Only a
            // task switch, an IRET from CPL 0 or a VM entry can leave them so (POPF, IRET and STI in the mode fault
            // themselves instead), and each of those ends a block: checking at the start of a block is enough.
            events.deliverFault(gp(0));
            s.tsc++;
            return;
        }
        debug.hits = 0; // only what instructions match traps, not the pushes of an event delivered before
        if ((s.rflagsControl() & Rflags.TF) != 0 || debug.instructionBreakpoints || s.pendingDebugExceptions != 0) {
            runDebugBlock();
            return;
        }
        int mode = decodeMode();
        // CS cannot change inside a block: the next instruction in the same linear page is found in the decodings of
        // the page the last full fetch translated it to (a block's translations are stable, as a TLB's are); once
        // found it is linked to its predecessor, so that the next time no lookup is needed at all
        Segment cs = s.seg[CS];
        long csBase = mode64 ? 0 : cs.base;
        long csLimit = cs.limit & 0xFFFF_FFFFL;
        try {
            startRip = s.rip;
            Insn insn = fetchInstruction(mode);
            CodeCache.Page page = cachedPage;
            long linPage = page != null ? linearRip(csBase, startRip) >>> 12 : -1;
            // in an STI or MOV SS shadow only one instruction: its end may open an interrupt window (SDM 25.4.2);
            // the instructions that set a shadow end their block, so only a block's first one can be in one
            budgetLeft = (s.interruptibility & 3) != 0 ? 1 : budget;
            newShadow = 0;
            keepRf = false;
            repIncomplete = false;
            stCount = 0;
            // compiled blocks leave out the CS limit checks: only where the limit cannot be reached; and they check
            // their budget once, on entry, so not while a data or I/O breakpoint can end a block after any access
            boolean compiledOk = translate && (mode64 || (csBase == 0 && csLimit == 0xFFFF_FFFFL))
                    && !debug.watching && !debug.ioBreakpoints;
            for (;;) {
                CompiledBlock compiled = insn.compiled;
                if (compiled != null && compiledOk && compiled.run(this)) {
                    if (budgetLeft <= 0) {
                        return;
                    }
                    long rip = s.rip;
                    startRip = rip;
                    long lin = linearRip(csBase, rip);
                    Insn c = (lin >>> 12) == linPage && page.valid ? page.at[(int) lin & 0xFFF] : null;
                    if (c == null || c.mode != mode) {
                        c = fetchInstruction(mode);
                        page = cachedPage;
                        linPage = page != null ? lin >>> 12 : -1;
                    }
                    if (page != null && ++c.heat == HOT_BLOCK) {
                        c.compiled = translate(c, page, (int) lin & 0xFFF);
                    }
                    insn = c;
                    continue;
                }
                i = insn;
                insn.op.run(this, insn);
                if (--budgetLeft <= 0 || insn.endsBlock) {
                    if (debug.hits != 0) {
                        debugTrapAfterInstruction();
                    }
                    return;
                }
                long rip = s.rip;
                long last = startRip;
                startRip = rip;
                Insn next;
                if (rip == last + insn.len) {
                    next = insn.next;
                } else if (rip == last) {
                    next = insn; // a REP string iteration
                } else if (rip == insn.jumpRip) {
                    next = insn.jump;
                } else {
                    next = null;
                }
                if (next == null || !page.valid || next.mode != mode || (!mode64 && rip + next.len - 1 > csLimit)) {
                    long lin = linearRip(csBase, rip);
                    next = null;
                    if ((lin >>> 12) == linPage && page.valid) {
                        Insn c = page.at[(int) lin & 0xFFF];
                        if (c != null && c.mode == mode && (mode64 || rip + c.len - 1 <= csLimit)) {
                            next = c;
                            if (rip == last + insn.len) {
                                insn.next = c;
                            } else if (rip != last) {
                                insn.jumpRip = rip;
                                insn.jump = c;
                            }
                        }
                    }
                    if (next == null) {
                        next = fetchInstruction(mode);
                        page = cachedPage;
                        linPage = page != null ? lin >>> 12 : -1;
                    }
                }
                // a block starts at a jump target, and where execution enters a page without a jump: a block ends at
                // its page's end, and an instruction that crosses into the next page has no decoding to start one
                // (code falling through from one page into the next would otherwise run here until the next jump)
                if ((rip == last + insn.len ? ((linearRip(csBase, rip) ^ linearRip(csBase, last)) >>> 12) != 0
                        : rip != last) && page != null && ++next.heat == HOT_BLOCK && translate) {
                    // a hot block start: translate the block from here
                    next.compiled = translate(next, page, (int) linearRip(csBase, rip) & 0xFFF);
                }
                insn = next;
            }
        } catch (CpuFault f) {
            debug.hits = 0; // the instruction did not complete: no trap for what it matched
            events.deliverFault(f);
            // delivering an exception takes time as an instruction does: the deterministic TSC, and with it the
            // VMX-preemption timer (SDM Vol. 3C, 26.7.4), counts it. Else a guest whose handler faults again at once
            // (an exception loop, endless on the processor too) would never let the timer expire.
            s.tsc++;
        }
    }

    private CompiledBlock translate(Insn head, CodeCache.Page page, int pageOffset) {
        CompiledBlock b = BlockCompiler.compile(head, page, pageOffset);
        if (b != null) {
            translatedBlocks++;
        }
        return b;
    }

    /** After how many arrivals by a jump (or from another page) the block from an instruction is translated (see BlockCompiler). */
    static final int HOT_BLOCK = 500;
    /**
     * Translate hot blocks to bytecode (see BlockCompiler); off, every instruction runs through its op. On unless
     * -Djvmx.translate=false; per processor through X86Interpreter#setBlockTranslation.
     */
    boolean translate = !"false".equals(System.getProperty("jvmx.translate"));
    /** Blocks translated so far (a statistic). */
    long translatedBlocks;

    /**
     * A block of one instruction with the debug checks of SDM Vol. 3B 18.3.1 around it, for code that single-steps
     * (RFLAGS.TF = 1 when the instruction starts), has instruction breakpoints enabled, or has a debug trap pending
     * (held by MOV SS, or loaded by VM entry). In priority order (SDM Vol. 3A 6.9, Table 6-2): an instruction
     * breakpoint is a fault before the fetch (suppressed by RF = 1); the instruction; then its traps (single step,
     * data and I/O breakpoints) are delivered, unless blocking by MOV SS holds them for one more instruction (6.8.3)
     * or an MTF VM exit comes first (SDM Vol. 3C 26.7.2). A REP string instruction runs one iteration per block, so
     * each iteration traps (18.3.1.4). An instruction that faults has no trap.
     */
    private void runDebugBlock() {
        if (s.pendingDebugExceptions != 0 && (s.interruptibility & CpuState.INTERRUPTIBILITY_MOV_SS) == 0
                && !hooks.monitorTrapExitPending()) {
            deliverPendingDebugTrap(); // traps of the previous instruction come first (priority 4)
            return;
        }
        int mode = decodeMode();
        boolean singleStep = (s.rflagsControl() & Rflags.TF) != 0;
        try {
            startRip = s.rip;
            budgetLeft = 1;
            newShadow = 0;
            keepRf = false;
            repIncomplete = false;
            stCount = 0;
            if (debug.instructionBreakpoints && (s.rflagsControl() & Rflags.RF) == 0) {
                int matched = debug.instructionMatch(linearRip(mode64 ? 0 : s.seg[CS].base, startRip));
                if (matched != 0) {
                    throw events.debugFault(matched);
                }
            }
            Insn insn = fetchInstruction(mode);
            i = insn;
            insn.op.run(this, insn);
            if (singleStep) {
                s.pendingDebugExceptions |= DebugRegisters.PENDING_BS;
            }
            debugTrapAfterInstruction();
        } catch (CpuFault f) {
            debug.hits = 0;
            events.deliverFault(f);
        }
    }

    /**
     * The traps of the instruction that just completed: its data and I/O breakpoint matches join the pending debug
     * exceptions (SDM Vol. 3C 25.4.2 format: B0-B3, enabled breakpoint, BS), which are then delivered as one #DB.
     */
    private void debugTrapAfterInstruction() {
        int matched = debug.hits;
        debug.hits = 0;
        if (matched != 0) {
            s.pendingDebugExceptions |= matched | DebugRegisters.PENDING_ENABLED_BREAKPOINT;
        }
        deliverPendingDebugTrap();
    }

    /**
     * Delivers the pending debug exceptions as a #DB trap (SDM 18.3.1) now, unless blocking by MOV SS holds them until
     * the next instruction completes (6.8.3), or an MTF VM exit has priority at this boundary (SDM Vol. 3C 26.7.2:
     * the VM exit saves them in the pending-debug-exceptions field).
     */
    void deliverPendingDebugTrap() {
        long pending = s.pendingDebugExceptions;
        if (pending == 0 || (s.interruptibility & CpuState.INTERRUPTIBILITY_MOV_SS) != 0
                || hooks.monitorTrapExitPending()) {
            return;
        }
        s.pendingDebugExceptions = 0;
        events.debugTrap((int) (pending & DebugRegisters.B0_B3)
                | ((pending & DebugRegisters.PENDING_BS) != 0 ? DebugRegisters.BS : 0));
    }

    private long linearRip(long csBase, long rip) {
        return mode64 ? rip : (csBase + rip) & 0xFFFF_FFFFL;
    }

    /**
     * Virtual-8086 mode with the virtual interrupt mechanism in use (CR4.VME = 1, IOPL < 3) and both VIF and VIP set
     * (SDM Vol. 3A 20.3.2).
     */
    private boolean virtualInterruptPending() {
        long f = s.rflagsControl();
        return (f & (Rflags.VIF | Rflags.VIP)) == (Rflags.VIF | Rflags.VIP) && iopl() < 3
                && (s.cr4 & Cr4.VME) != 0;
    }

    /** Computes the mode-dependent attributes of the current state (also used by event delivery). */
    void refreshMode() {
        realMode = (s.cr0 & Cr0.PE) == 0;
        vm86 = !realMode && (s.rflagsControl() & Rflags.VM) != 0 && !s.longModeActive();
        segments8086 = realMode || vm86;
        Segment cs = s.seg[CS];
        mode64 = s.longModeActive() && cs.longMode();
        cpl = realMode ? 0 : vm86 ? 3 : s.cpl(); // virtual-8086 mode always runs at CPL 3 (SDM 20.2.1)
        boolean ac = (s.rflagsControl() & Rflags.AC) != 0;
        // EFLAGS.AC is SMAP's override at CPL < 3 (SDM Vol. 3A 4.6) and, with CR0.AM, alignment checking at CPL 3
        // (6.15 "Interrupt 17")
        dataPriv = cpl == 3 ? (ac && (s.cr0 & Cr0.AM) != 0 ? Mmu.USER_AC : Mmu.USER)
                : ac ? Mmu.SUP_NOSMAP : Mmu.SUP;
        sysPriv = cpl == 3 || !ac ? Mmu.SUP : Mmu.SUP_NOSMAP;
        fetchPriv = cpl == 3 ? Mmu.USER : Mmu.SUP;
    }

    /** Completes the instruction: RIP to the next instruction, retire. */
    void done() {
        finish(startRip + i.len);
    }

    void finish(long newRip) {
        s.rip = mode64 ? newRip : newRip & 0xFFFF_FFFFL;
        retire();
    }

    /** Retirement (one per instruction, or per REP iteration): deterministic TSC, interrupt shadow, RF. */
    void retire() {
        s.instructionsRetired++;
        s.tsc++;
        // blocking by STI / MOV SS lasts until the instruction after the one that set it retires (SDM 25.4.2)
        if (((s.interruptibility & 3) | newShadow) != 0) {
            s.interruptibility = (s.interruptibility & ~3) | newShadow;
        }
        if (!keepRf && (s.rflagsControl() & Rflags.RF) != 0) {
            s.setRflagsControl(s.rflagsControl() & ~Rflags.RF);
        }
    }

    // ========================================================================================== fetching

    /** The decode mode of the current code segment (CS.L, CS.D; real mode decodes as 16-bit code). */
    private int decodeMode() {
        return mode64 ? Insn.MODE64 : !realMode && s.seg[CS].defaultBig() ? Insn.MODE32 : Insn.MODE16;
    }

    /**
     * The instruction at CS:RIP, from the code cache or decoded now. The fetch checks (CS limit or canonical RIP,
     * paging, EPT) are made for every execution, cached or not: only the decoding is saved.
     */
    private Insn fetchInstruction(int mode) {
        fetchPage = -1;
        long lin = fetchLinear(0);
        long h = m.fetch(lin, fetchPriv);
        fetchPage = lin >>> 12;
        fetchHost = h < 0 ? -1 : h - (lin & 0xFFF);
        cachedPage = null;
        if (h >= 0) {
            Insn cached = cache.get(h, mode);
            if (cached != null) {
                if (!mode64) {
                    fetchLinear(cached.len - 1); // the whole instruction must lie within the CS limit
                }
                cachedPage = cache.page(h);
                return cached;
            }
        }
        Decoder.decode(scratch, mode, codeBytes, fault);
        if (h >= 0 && ((int) h & 0xFFF) + scratch.len <= 4096) {
            Insn kept = cache.put(h, scratch);
            cachedPage = cache.page(h);
            return kept;
        }
        return scratch; // crosses a page boundary, or no memory behind it: decoded again next time
    }

    /** The code-cache page of the instruction {@link #fetchInstruction} returned last, null if it is not cached. */
    private CodeCache.Page cachedPage;

    private final Insn scratch = new Insn();
    private final Decoder.CodeBytes codeBytes = this::fetchByte;

    /** The linear address of the instruction byte at {@code offset}: CS limit check, or canonical check (#GP(0)). */
    private long fetchLinear(int offset) {
        long off = startRip + offset;
        if (mode64) {
            if (!canonical(off)) {
                throw gp(0);
            }
            return off;
        }
        Segment cs = s.seg[CS];
        off &= 0xFFFF_FFFFL;
        if (off > (cs.limit & 0xFFFF_FFFFL)) {
            throw gp(0);
        }
        return (cs.base + off) & 0xFFFF_FFFFL;
    }

    private int fetchByte(int offset) {
        long lin = fetchLinear(offset);
        long page = lin >>> 12;
        if (page != fetchPage) {
            long h = m.fetch(lin, fetchPriv);
            fetchHost = h < 0 ? -1 : h - (lin & 0xFFF);
            fetchPage = page;
        }
        return fetchHost < 0 ? 0xFF : mem.read8(fetchHost + (lin & 0xFFF)); // no memory: the bus reads all ones
    }

    /** The displacement of the memory operand (plus the next RIP for RIP-relative addressing). */
    long displacement() {
        return i.ripRel ? i.disp + startRip + i.len : i.disp;
    }

    /**
     * The VM-exit instruction-information field for an instruction with a ModRM operand (SDM 28.2.5, Tables 28-13 to
     * 28-15): scaling, address size, segment, index, base; with {@code reg2} also register 1 (r/m), the
     * memory/register bit and register 2 (the reg field).
     */
    int instructionInformation(boolean reg2) {
        Insn d = i;
        int asz = d.addrSize == 2 ? 0 : d.addrSize == 4 ? 1 : 2;
        int info = asz << 7;
        if (d.mod == 3) {
            info |= ((d.rm & 15) << 3) | (1 << 10);
        } else {
            info |= d.scale | (d.eaSeg << 15);
            info |= d.index >= 0 ? d.index << 18 : 1 << 22;
            info |= d.base >= 0 ? d.base << 23 : 1 << 27;
        }
        if (reg2) {
            info |= (d.reg & 15) << 28;
        }
        return info;
    }

    /** The effective address of the memory operand, from the registers as they are now. */
    long ea() {
        Insn d = i;
        long e = d.disp;
        if (d.base >= 0) {
            e += s.gpr[d.base];
        }
        if (d.index >= 0) {
            e += s.gpr[d.index] << d.scale;
        }
        if (d.ripRel) {
            e += startRip + d.len;
        }
        int a = d.addrSize;
        return a == 8 ? e : a == 4 ? e & 0xFFFF_FFFFL : e & 0xFFFF;
    }

    long addrMask() {
        int a = i.addrSize;
        return a == 8 ? -1L : a == 4 ? 0xFFFF_FFFFL : 0xFFFF;
    }

    // ========================================================================================== registers

    long getReg(int r, int size) {
        switch (size) {
            case 1:
                return i.rex == 0 && r >= 4 && r < 8 ? (s.gpr[r - 4] >>> 8) & 0xFF : s.gpr[r] & 0xFF;
            case 2:
                return s.gpr[r] & 0xFFFF;
            case 4:
                return s.gpr[r] & 0xFFFF_FFFFL;
            default:
                return s.gpr[r];
        }
    }

    /** Writes a register; 32-bit writes zero-extend (SDM Vol. 1, 3.4.1.1), 8/16-bit writes merge. */
    void setReg(int r, int size, long v) {
        long[] g = s.gpr;
        switch (size) {
            case 1:
                if (i.rex == 0 && r >= 4 && r < 8) {
                    g[r - 4] = (g[r - 4] & ~0xFF00L) | ((v & 0xFF) << 8);
                } else {
                    g[r] = (g[r] & ~0xFFL) | (v & 0xFF);
                }
                break;
            case 2:
                g[r] = (g[r] & ~0xFFFFL) | (v & 0xFFFF);
                break;
            case 4:
                g[r] = v & 0xFFFF_FFFFL;
                break;
            default:
                g[r] = v;
                break;
        }
    }

    // ========================================================================================== memory

    static boolean canonical(long a) {
        return (a << 16 >> 16) == a;
    }

    /** Linear address of seg:offset with the segmentation checks of SDM Vol. 3A, 5.3 (or 3.3.7.1 in 64-bit mode). */
    long lin(int sg, long off, int size, boolean write) {
        if (mode64) {
            long l = sg >= FS ? s.seg[sg].base + off : off;
            if (!canonical(l)) {
                throw fault.set(sg == SS ? Exceptions.SS : Exceptions.GP, 0);
            }
            return l;
        }
        return legacyLinear(s.seg[sg], sg == SS, off, size, write, 0);
    }

    long legacyLinear(Segment sd, boolean stack, long off, int size, boolean write, int err) {
        int vec = stack ? Exceptions.SS : Exceptions.GP;
        int ar = sd.accessRights;
        long lim = sd.limit & 0xFFFF_FFFFL;
        long last = off + size - 1;
        if (!realMode) {
            if ((ar & Segment.AR_UNUSABLE) != 0) {
                throw fault.set(vec, err);
            }
            if (write ? (ar & 0xA) != 0x2 : (ar & 0xA) == 0x8) {
                throw fault.set(vec, err); // not writable data / execute-only code
            }
            if ((ar & 0x1C) == 0x14) {
                // expand-down data segment: valid offsets are limit+1 .. 0xFFFF or 0xFFFFFFFF
                long upper = sd.defaultBig() ? 0xFFFF_FFFFL : 0xFFFF;
                if (off <= lim || last > upper) {
                    throw fault.set(vec, err);
                }
                return (sd.base + off) & 0xFFFF_FFFFL;
            }
        }
        if (last > lim) {
            throw fault.set(vec, err);
        }
        return (sd.base + off) & 0xFFFF_FFFFL;
    }

    long readMem(int sg, long off, int size) {
        return m.read(lin(sg, off, size, false), size, dataPriv);
    }

    void writeMem(int sg, long off, int size, long v) {
        m.write(lin(sg, off, size, true), size, v, dataPriv);
    }

    /**
     * The alignment check of an operand whose data type sets its alignment, not the size of each access that makes it
     * up (SDM Vol. 3A 6.15 "Interrupt 17", Table 6-7: the FSTENV/FSAVE areas, 4 or 2 by operand size; GDTR, IDTR,
     * LDTR and TR contents, 4): #AC(0) if alignment checking is on (CR0.AM, EFLAGS.AC, CPL 3) and {@code linear} is
     * not a multiple of {@code alignment}. Returns the privilege for the accesses within the operand, which are then
     * not checked again.
     */
    int checkAlignment(long linear, int alignment) {
        if (dataPriv != Mmu.USER_AC) {
            return dataPriv;
        }
        if ((linear & (alignment - 1)) != 0) {
            throw fault.set(Exceptions.AC, 0);
        }
        return Mmu.USER;
    }

    /** Reads the r/m operand. */
    long readE(int size) {
        return i.mod == 3 ? getReg(i.rm, size) : readMem(i.eaSeg, ea(), size);
    }

    /** Reads the r/m operand of a read-modify-write (the segment is checked for writing). */
    long readEW(int size) {
        if (i.mod == 3) {
            return getReg(i.rm, size);
        }
        rmwLin = lin(i.eaSeg, ea(), size, true);
        return m.read(rmwLin, size, dataPriv);
    }

    /** Writes back the r/m operand read by {@link #readEW}. */
    void writeEW(int size, long v) {
        if (i.mod == 3) {
            setReg(i.rm, size, v);
        } else {
            m.write(rmwLin, size, v, dataPriv);
        }
    }

    /**
     * A shift or rotate whose masked count is 0 changes neither the operand nor the flags, but a 32-bit register
     * operand is still written: its bits 63:32 become 0, as for every 32-bit result (SDM Vol. 1, 3.4.1.1; seen on
     * the processor by the differential tests).
     */
    void zeroExtendOnCountZero(int size, long value) {
        if (size == 4 && i.mod == 3) {
            setReg(i.rm, 4, value);
        }
    }

    /** Writes the r/m operand (no prior read). */
    void storeE(int size, long v) {
        if (i.mod == 3) {
            setReg(i.rm, size, v);
        } else {
            writeMem(i.eaSeg, ea(), size, v);
        }
    }

    /** Stages a write: all its pages are translated now; {@link #commitStaged} performs the staged writes. */
    void stage(long linear, int size, long value, int priv) {
        m.probe(linear, size, Mmu.WRITE, priv);
        stLin[stCount] = linear;
        stSize[stCount] = size;
        stVal[stCount] = value;
        stPriv[stCount] = priv;
        stCount++;
    }

    void commitStaged() {
        for (int i = 0; i < stCount; i++) {
            m.write(stLin[i], stSize[i], stVal[i], stPriv[i]);
        }
        stCount = 0;
    }

    void discardStaged() {
        stCount = 0;
    }

    // ========================================================================================== stack

    /** Stack address size: 64 in 64-bit mode, else SS.B (SDM Vol. 1, 6.2.3). */
    int stackAddrSize() {
        return mode64 ? 8 : s.seg[SS].defaultBig() ? 4 : 2;
    }

    long getSp() {
        return getReg(RSP, stackAddrSize());
    }

    void setSp(long v) {
        setReg(RSP, stackAddrSize(), v);
    }

    /** Operand size of PUSH/POP and other stack instructions: 64 by default in 64-bit mode (SDM Vol. 1, 3.6.1). */
    int stackOpSize() {
        return mode64 ? (i.opPrefix && (i.rex & 8) == 0 ? 2 : 8) : i.opSize;
    }

    long stackLin(long sp, int size, boolean write) {
        return lin(SS, sp, size, write);
    }

    void push(long v, int size) {
        long sp = (getSp() - size) & mask(stackAddrSize());
        m.write(stackLin(sp, size, true), size, v, dataPriv);
        setSp(sp);
    }

    /** Reads the stack at RSP + {@code offset} without popping. */
    long peek(int offset, int size) {
        long sp = (getSp() + offset) & mask(stackAddrSize());
        return m.read(stackLin(sp, size, false), size, dataPriv);
    }

    /** Stages a push of {@code size} bytes at RSP - {@code below}; returns nothing, commit with commitStaged. */
    void stagePush(long below, int size, long v) {
        long sp = (getSp() - below) & mask(stackAddrSize());
        stage(stackLin(sp, size, true), size, v, dataPriv);
    }

    void addSp(long delta) {
        setSp((getSp() + delta) & mask(stackAddrSize()));
    }

    // ========================================================================================== faults

    CpuFault ud() {
        return fault.set(Exceptions.UD, -1);
    }

    CpuFault gp(int code) {
        return fault.set(Exceptions.GP, code);
    }

    CpuFault exc(int vector, int code) {
        return fault.set(vector, code);
    }

    /** The near-branch target check: CS limit outside 64-bit mode, canonical form in it (#GP(0)). */
    long nearTarget(long t, int size) {
        if (mode64) {
            if (!canonical(t)) {
                throw gp(0);
            }
            return t;
        }
        t &= size == 2 ? 0xFFFF : 0xFFFF_FFFFL;
        if (t > (s.seg[CS].limit & 0xFFFF_FFFFL)) {
            throw gp(0);
        }
        return t;
    }

    /** Operand size of near branches: 64 in 64-bit mode (Intel ignores 66H there), else the operand size. */
    int branchSize() {
        return mode64 ? 8 : i.opSize;
    }

    boolean cond(int cc) {
        return s.condition(cc);
    }

    /** IOPL from RFLAGS. */
    int iopl() {
        return (int) (s.rflagsControl() >>> 12) & 3;
    }

    /** The reg field without REX.R: the opcode extension of group opcodes. */
    int regOp() {
        return (i.modrm >>> 3) & 7;
    }

    // ========================================================================================== one-byte map

    void execute1(int op) {
        switch (op) {
            case 0x62: noLong(); bound(); return;
            case 0x63: arpl(); return; // MOVSXD in 64-bit mode (MoveOps)
            case 0x69: case 0x6B: {
                long iv = i.imm;
                long src = readE(i.opSize);
                long r = imul(src, iv, i.opSize);
                setReg(i.reg, i.opSize, r);
                alu.commit(s);
                done();
                return;
            }
            case 0x8C: {
                int sr = regOp();
                if (sr > 5) {
                    throw ud();
                }
                long sel = s.seg[sr].selector & 0xFFFF;
                if (i.mod == 3) {
                    setReg(i.rm, i.opSize, sel); // zero-extended into 32/64-bit registers
                } else {
                    writeMem(i.eaSeg, ea(), 2, sel);
                }
                done();
                return;
            }
            case 0x8D: {
                if (i.mod == 3) {
                    throw ud();
                }
                setReg(i.reg, i.opSize, ea());
                done();
                return;
            }
            case 0x8E: {
                int sr = regOp();
                if (sr == CS || sr > 5) {
                    throw ud();
                }
                int sel = (int) readE(2);
                segs.loadData(sr, sel);
                if (sr == SS) {
                    newShadow |= CpuState.INTERRUPTIBILITY_MOV_SS;
                }
                done();
                return;
            }
            case 0x90:
                // NOP (with REX.B it is XCHG R8, rAX: ExchangeOps)
                if (i.rep == 0xF3) {
                    // PAUSE (SDM 26.1.3: PAUSE exiting / PAUSE-loop exiting)
                    hooks.conditional(40, i.len);
                }
                done();
                return;
            case 0x98: {
                long v = getReg(RAX, i.opSize / 2);
                setReg(RAX, i.opSize, signExtend(v, i.opSize / 2));
                done();
                return;
            }
            case 0x99: {
                long v = getReg(RAX, i.opSize);
                setReg(RDX, i.opSize, signExtend(v, i.opSize) < 0 ? -1L : 0);
                done();
                return;
            }
            case 0x9A: {
                noLong();
                long off = i.imm;
                int sel = (int) i.imm2;
                segs.farCall(sel, off);
                return;
            }
            case 0x9E:
                s.setRflags((s.rflags() & ~(Alu.SF | Alu.ZF | Alu.AF | Alu.PF | Alu.CF))
                        | (getReg(RAX, 8) >>> 8 & (Alu.SF | Alu.ZF | Alu.AF | Alu.PF | Alu.CF)));
                done();
                return;
            case 0x9F:
                s.gpr[RAX] = (s.gpr[RAX] & ~0xFF00L) | ((s.rflags() & 0xD5 | 2) << 8);
                done();
                return;
            case 0xA0: case 0xA1: case 0xA2: case 0xA3: {
                long off = i.imm;
                int size = (op & 1) == 0 ? 1 : i.opSize;
                int sg = i.segOv >= 0 ? i.segOv : DS;
                if (op < 0xA2) {
                    long v = readMem(sg, off, size);
                    setReg(RAX, size, v);
                } else {
                    writeMem(sg, off, size, getReg(RAX, size));
                }
                done();
                return;
            }
            case 0xC0: case 0xC1: case 0xD0: case 0xD1: case 0xD2: case 0xD3: {
                int size = (op & 1) == 0 ? 1 : i.opSize;
                int count = op <= 0xC1 ? (int) i.imm & 0xFF : op <= 0xD1 ? 1 : (int) s.gpr[RCX] & 0xFF;
                long d = readEW(size);
                long r = alu.shift(regOp(), d, count, size, s.rflags());
                if ((count & (size == 8 ? 0x3F : 0x1F)) != 0) {
                    writeEW(size, r);
                    alu.commit(s);
                } else {
                    zeroExtendOnCountZero(size, d);
                }
                done();
                return;
            }
            case 0xC4: case 0xC5:
                if (mode64) {
                    throw ud(); // VEX prefixes: no AVX
                }
                if (i.mod == 3) {
                    throw ud();
                }
                loadFarPointer(op == 0xC4 ? ES : DS);
                return;
            case 0xC6: case 0xC7: {
                int size = op == 0xC6 ? 1 : i.opSize;
                if (regOp() != 0) {
                    throw ud(); // XABORT/XBEGIN: no RTM
                }
                long iv = i.imm;
                storeE(size, iv);
                done();
                return;
            }
            case 0xCA: segs.farReturn((int) i.imm & 0xFFFF); return;
            case 0xCB: segs.farReturn(0); return;
            case 0xCC: events.instructionEvent(Exceptions.BP, EventDelivery.SOFTWARE_EXCEPTION); return;
            case 0xCD:
                if (vm86) {
                    v86.softwareInterrupt((int) i.imm & 0xFF); // IOPL, CR4.VME and the redirection bit map decide
                } else {
                    events.instructionEvent((int) i.imm & 0xFF, EventDelivery.SOFTWARE_INTERRUPT);
                }
                return;
            case 0xCE:
                noLong();
                if ((s.rflags() & Alu.OF) != 0) {
                    events.instructionEvent(Exceptions.OF, EventDelivery.SOFTWARE_EXCEPTION);
                } else {
                    done();
                }
                return;
            case 0xCF: segs.iret(); return;
            case 0xD7: {
                int sg = i.segOv >= 0 ? i.segOv : DS;
                long off = (getReg(RBX, i.addrSize) + getReg(RAX, 1)) & addrMask();
                setReg(RAX, 1, readMem(sg, off, 1));
                done();
                return;
            }
            case 0xE0: case 0xE1: case 0xE2: {
                long rel = i.imm;
                long c = (getReg(RCX, i.addrSize) - 1) & addrMask();
                boolean zf = s.condition(4); // E: ZF = 1
                boolean taken = c != 0 && (op == 0xE2 || (op == 0xE1 ? zf : !zf));
                long target = taken ? nearTarget(startRip + i.len + rel, branchSize()) : startRip + i.len;
                setReg(RCX, i.addrSize, c);
                finish(target);
                return;
            }
            case 0xE3: {
                long rel = i.imm;
                if (getReg(RCX, i.addrSize) == 0) {
                    finish(nearTarget(startRip + i.len + rel, branchSize()));
                } else {
                    done();
                }
                return;
            }
            case 0xE4: case 0xE5: { int port = (int) i.imm & 0xFF; in(port, op == 0xE4 ? 1 : ioSize(), true); return; }
            case 0xE6: case 0xE7: { int port = (int) i.imm & 0xFF; out(port, op == 0xE6 ? 1 : ioSize(), true); return; }
            case 0xEC: case 0xED: in((int) s.gpr[RDX] & 0xFFFF, op == 0xEC ? 1 : ioSize(), false); return;
            case 0xEE: case 0xEF: out((int) s.gpr[RDX] & 0xFFFF, op == 0xEE ? 1 : ioSize(), false); return;
            case 0xEA: {
                noLong();
                long off = i.imm;
                int sel = (int) i.imm2;
                segs.farJump(sel, off);
                return;
            }
            case 0xF1: events.instructionEvent(Exceptions.DB, EventDelivery.PRIVILEGED_SOFTWARE_EXCEPTION); return;
            case 0xF4: sys.hlt(); return;
            case 0xF5: s.setRflags(s.rflags() ^ (Alu.CF)); done(); return;
            case 0xF6: case 0xF7: group3(op == 0xF6 ? 1 : i.opSize); return;
            case 0xF8: s.setRflags(s.rflags() & (~Alu.CF)); done(); return;
            case 0xF9: s.setRflags(s.rflags() | (Alu.CF)); done(); return;
            case 0xFA: v86.cli(); return;
            case 0xFB: v86.sti(); return;
            case 0xFC: s.setRflagsControl(s.rflagsControl() & ~Rflags.DF); done(); return;
            case 0xFD: s.setRflagsControl(s.rflagsControl() | Rflags.DF); done(); return;
            case 0xFE: {
                int o = regOp();
                if (o > 1) {
                    throw ud();
                }
                long d = readEW(1);
                long r = alu.incDec(o == 1, d, 1);
                writeEW(1, r);
                alu.commit(s);
                done();
                return;
            }
            case 0xFF: group5(); return;
            default:
                // 0x0F, prefixes and REX are consumed before; FWAIT and the x87 escapes D8-DF are X87Ops' (with LOCK,
                // OpTable's #UD); what is left is not an instruction here
                throw ud();
        }
    }

    void noLong() {
        if (mode64) {
            throw ud();
        }
    }

    int ioSize() {
        return i.opSize == 2 ? 2 : 4;
    }

    private void bound() {
        if (i.mod == 3) {
            throw ud();
        }
        long lo = signExtend(readMem(i.eaSeg, ea(), i.opSize), i.opSize);
        long hi = signExtend(readMem(i.eaSeg, (ea() + i.opSize) & addrMask(), i.opSize), i.opSize);
        long idx = signExtend(getReg(i.reg, i.opSize), i.opSize);
        if (idx < lo || idx > hi) {
            throw exc(Exceptions.BR, -1);
        }
        done();
    }

    private void arpl() {
        if (segments8086) { // "not recognized in real-address mode" nor in virtual-8086 mode (SDM Vol. 2A ARPL)
            throw ud();
        }
        long d = readEW(2);
        long src = getReg(i.reg, 2);
        if ((d & 3) < (src & 3)) {
            writeEW(2, (d & ~3L) | (src & 3));
            s.setRflags(s.rflags() | (Alu.ZF));
        } else {
            s.setRflags(s.rflags() & (~Alu.ZF));
        }
        done();
    }

    void loadFarPointer(int sg) {
        long off = readMem(i.eaSeg, ea(), i.opSize);
        int sel = (int) readMem(i.eaSeg, (ea() + i.opSize) & addrMask(), 2);
        segs.loadData(sg, sel);
        setReg(i.reg, i.opSize, off);
        done();
    }

    private void group3(int size) {
        int o = regOp();
        switch (o) {
            case 0:
            case 1: {
                long iv = i.imm;
                alu.logic(readE(size) & iv, size);
                alu.commit(s);
                break;
            }
            case 2: {
                long d = readEW(size);
                writeEW(size, ~d & mask(size));
                break;
            }
            case 3: {
                long d = readEW(size);
                long r = alu.neg(d, size);
                writeEW(size, r);
                alu.commit(s);
                break;
            }
            case 4:
            case 5:
                mul(size, readE(size), o == 5);
                break;
            default:
                div(size, readE(size), o == 7);
                break;
        }
        done();
    }

    private void group5() {
        int o = regOp();
        switch (o) {
            case 0:
            case 1: {
                long d = readEW(i.opSize);
                long r = alu.incDec(o == 1, d, i.opSize);
                writeEW(i.opSize, r);
                alu.commit(s);
                done();
                return;
            }
            case 2: {
                int size = branchSize();
                long t = nearTarget(readE(size), size);
                push(startRip + i.len, size);
                finish(t);
                return;
            }
            case 4: {
                int size = branchSize();
                finish(nearTarget(readE(size), size));
                return;
            }
            case 3:
            case 5: {
                if (i.mod == 3) {
                    throw ud();
                }
                long off = readMem(i.eaSeg, ea(), i.opSize);
                int sel = (int) readMem(i.eaSeg, (ea() + i.opSize) & addrMask(), 2);
                if (o == 3) {
                    segs.farCall(sel, off);
                } else {
                    segs.farJump(sel, off);
                }
                return;
            }
            default:
                throw ud();
        }
    }

    /** IMUL with a truncated result (2- and 3-operand forms): CF = OF = the product did not fit. */
    long imul(long a, long b, int size) {
        long r = Alu.imulProduct(a, b, size);
        alu.eager((s.rflags() & ~Alu.STATUS) | Alu.imulFlags(a, b, r, size));
        return r;
    }

    /** MUL / IMUL (one operand): rDX:rAX = rAX * src (SDM Vol. 2A MUL, IMUL). */
    private void mul(int size, long src, boolean signed) {
        long a = getReg(RAX, size);
        boolean overflow;
        long low;
        switch (size) {
            case 1: {
                long p = signed ? (long) (byte) a * (byte) src : a * (src & 0xFF);
                setReg(RAX, 2, p);
                low = p & 0xFF;
                overflow = signed ? p != (byte) p : (p >>> 8) != 0;
                break;
            }
            case 2: {
                long p = signed ? (long) (short) a * (short) src : a * (src & 0xFFFF);
                setReg(RAX, 2, p);
                setReg(RDX, 2, p >>> 16);
                low = p & 0xFFFF;
                overflow = signed ? p != (short) p : (p >>> 16) != 0;
                break;
            }
            case 4: {
                long p = signed ? (long) (int) a * (int) src : a * (src & 0xFFFF_FFFFL);
                setReg(RAX, 4, p);
                setReg(RDX, 4, p >>> 32);
                low = p & 0xFFFF_FFFFL;
                overflow = signed ? p != (int) p : (p >>> 32) != 0;
                break;
            }
            default: {
                long lo = a * src;
                long hi = signed ? Math.multiplyHigh(a, src) : unsignedMultiplyHigh(a, src);
                s.gpr[RAX] = lo;
                s.gpr[RDX] = hi;
                low = lo;
                overflow = signed ? hi != (lo >> 63) : hi != 0;
                break;
            }
        }
        s.setRflags((s.rflags() & ~Alu.STATUS) | (overflow ? Alu.CF | Alu.OF : 0) | Alu.szp(low, size));
    }

    static long unsignedMultiplyHigh(long a, long b) {
        return Math.multiplyHigh(a, b) + ((a >> 63) & b) + ((b >> 63) & a);
    }

    /** DIV / IDIV: #DE on a zero divisor or a quotient that does not fit (SDM Vol. 2A DIV, IDIV). */
    private void div(int size, long src, boolean signed) {
        long d = src & mask(size);
        if (d == 0) {
            throw exc(Exceptions.DE, -1);
        }
        switch (size) {
            case 1: {
                long n = getReg(RAX, 2);
                long q, r;
                if (signed) {
                    long sn = (short) n, sd = (byte) d;
                    q = sn / sd;
                    r = sn % sd;
                    if (q != (byte) q) {
                        throw exc(Exceptions.DE, -1);
                    }
                } else {
                    q = n / d;
                    r = n % d;
                    if (q > 0xFF) {
                        throw exc(Exceptions.DE, -1);
                    }
                }
                setReg(RAX, 2, ((r & 0xFF) << 8) | (q & 0xFF));
                return;
            }
            case 2:
            case 4: {
                int bits = size * 8;
                long n = (getReg(RDX, size) << bits) | getReg(RAX, size);
                long q, r;
                if (signed) {
                    long sn = size == 2 ? (int) n : n;
                    long sd = signExtend(d, size);
                    q = sn / sd;
                    r = sn % sd;
                    if (q != signExtend(q, size)) {
                        throw exc(Exceptions.DE, -1);
                    }
                } else {
                    q = Long.divideUnsigned(n, d);
                    r = Long.remainderUnsigned(n, d);
                    if ((q & ~mask(size)) != 0) {
                        throw exc(Exceptions.DE, -1);
                    }
                }
                setReg(RAX, size, q);
                setReg(RDX, size, r);
                return;
            }
            default: {
                long hi = s.gpr[RDX], lo = s.gpr[RAX];
                long q, r;
                if (signed) {
                    boolean negN = hi < 0;
                    boolean negD = d < 0;
                    if (negN) { // negate the 128-bit dividend
                        lo = -lo;
                        hi = ~hi + (lo == 0 ? 1 : 0);
                    }
                    long ad = negD ? -d : d;
                    if (Long.compareUnsigned(hi, ad) >= 0) {
                        throw exc(Exceptions.DE, -1);
                    }
                    q = divide128(hi, lo, ad);
                    r = divRemainder;
                    if (negN != negD) {
                        if (Long.compareUnsigned(q, Long.MIN_VALUE) > 0) {
                            throw exc(Exceptions.DE, -1);
                        }
                        q = -q;
                    } else if (q < 0) {
                        throw exc(Exceptions.DE, -1);
                    }
                    if (negN) {
                        r = -r;
                    }
                } else {
                    if (Long.compareUnsigned(hi, d) >= 0) {
                        throw exc(Exceptions.DE, -1);
                    }
                    q = divide128(hi, lo, d);
                    r = divRemainder;
                }
                s.gpr[RAX] = q;
                s.gpr[RDX] = r;
            }
        }
    }

    private long divRemainder;

    /** Unsigned (hi:lo) / d with hi < d (so the quotient fits 64 bits); the remainder goes to divRemainder. */
    private long divide128(long hi, long lo, long d) {
        if (hi == 0) {
            divRemainder = Long.remainderUnsigned(lo, d);
            return Long.divideUnsigned(lo, d);
        }
        long q = 0;
        long r = hi;
        for (int i = 63; i >= 0; i--) {
            boolean carry = r < 0;
            r = (r << 1) | ((lo >>> i) & 1);
            q <<= 1;
            if (carry || Long.compareUnsigned(r, d) >= 0) {
                r -= d;
                q |= 1;
            }
        }
        divRemainder = r;
        return q;
    }

    // ========================================================================================== I/O

    /** Linear address without checks (for the VM-exit guest-linear-address field of INS/OUTS). */
    long rawLinear(int sg, long off) {
        if (mode64) {
            return sg >= FS ? s.seg[sg].base + off : off;
        }
        return (s.seg[sg].base + off) & 0xFFFF_FFFFL;
    }

    private void in(int port, int size, boolean immediate) {
        sys.ioPermission(port, size);
        hooks.io(port, size, true, false, false, immediate, 0, i.len);
        if (debug.ioBreakpoints) {
            debug.ioAccess(port, size);
        }
        // no device behind the interpreter's own port space: reads return all ones
        setReg(RAX, size, mask(size));
        done();
    }

    private void out(int port, int size, boolean immediate) {
        sys.ioPermission(port, size);
        hooks.io(port, size, false, false, false, immediate, 0, i.len);
        if (debug.ioBreakpoints) {
            debug.ioAccess(port, size);
        }
        done();
    }
}
