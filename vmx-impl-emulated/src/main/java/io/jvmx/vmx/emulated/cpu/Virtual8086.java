package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;

/**
 * Virtual-8086 mode (SDM Vol. 3A, chapter 20 "8086 Emulation") and the virtual interrupt flag: the IOPL-sensitive
 * instructions CLI, STI, PUSHF, POPF, INT n and IRET as they behave with EFLAGS.VM = 1, with IOPL = 3 and IOPL &lt; 3,
 * with and without the virtual-8086 mode extensions (CR4.VME: VIF, VIP and the software interrupt redirection bit map
 * in the TSS, 20.3), and CLI/STI under protected-mode virtual interrupts (CR4.PVI, 20.4); the IRET that enters
 * virtual-8086 mode from CPL 0; 8086-style segment loads.
 *
 * <p>What is elsewhere: the interrupt and exception delivery from virtual-8086 mode to a protected-mode handler, with
 * the stack switch to ring 0 that saves and then nulls the data segment registers, is {@link EventDelivery}'s; the
 * I/O permission bit map, always consulted in this mode (SDM Vol. 1, 19.5.2 and Vol. 3A 20.2.8.1), is
 * {@code SystemOps.ioPermission}; the instructions that are #UD here (LAR, LSL, VERR, VERW, ARPL, SLDT, STR, LLDT,
 * LTR, the VMX instructions, INVPCID) check {@link Executor#vm86} themselves.
 *
 * <p>Every method validates all it reads and writes before it changes anything (staged pushes, peeks before pops),
 * as every instruction does here.
 */
final class Virtual8086 {
    /** Access rights of every segment register in virtual-8086 mode: present, DPL 3, read/write accessed data. */
    static final int SEGMENT_AR = 0xF3;

    private final Executor x;
    private final CpuState s;
    private final Mmu m;

    Virtual8086(Executor x) {
        this.x = x;
        this.s = x.s;
        this.m = x.m;
    }

    /**
     * A segment register load as the 8086 does it: base = selector &lt;&lt; 4. In virtual-8086 mode the whole hidden
     * part is set (limit FFFFH, a 16-bit present writable data segment of DPL 3: SDM 20.1.1, what VM entry requires
     * of such a guest in SDM Vol. 3C 27.3.1.2); in real-address mode only the base changes, the limit and attributes
     * stay as they were (SDM Vol. 3A 9.1.1, which is what lets "unreal" mode work).
     */
    static void load(Segment sd, int sel, boolean vm86) {
        sel &= 0xFFFF;
        if (vm86) {
            sd.set(sel, (long) sel << 4, 0xFFFF, SEGMENT_AR);
        } else {
            sd.selector = sel;
            sd.base = (long) sel << 4;
            sd.accessRights &= ~Segment.AR_UNUSABLE;
        }
    }

    /** IOPL &lt; 3 with CR4.VME = 1 in virtual-8086 mode: IF of the 8086 program is VIF (SDM 20.3.2). */
    private boolean virtualFlags() {
        return x.iopl() < 3 && (s.cr4 & Cr4.VME) != 0;
    }

    // ========================================================================================== CLI, STI

    /**
     * CLI (SDM Vol. 2A CLI): IF := 0 where CPL &lt;= IOPL (always in real-address mode); otherwise VIF := 0 in
     * virtual-8086 mode with CR4.VME = 1, and at CPL 3 in protected mode with CR4.PVI = 1; otherwise #GP(0).
     */
    void cli() {
        if (!x.realMode && x.cpl > x.iopl()) {
            if (x.vm86 ? (s.cr4 & Cr4.VME) != 0 : x.cpl == 3 && (s.cr4 & Cr4.PVI) != 0) {
                s.setRflagsControl(s.rflagsControl() & ~Rflags.VIF);
                x.done();
                return;
            }
            throw x.gp(0);
        }
        s.setRflagsControl(s.rflagsControl() & ~Rflags.IF);
        x.done();
    }

    /**
     * STI (SDM Vol. 2B STI): IF := 1 where CPL &lt;= IOPL, with the interrupt shadow if IF was 0; otherwise, under
     * CR4.VME in virtual-8086 mode or CR4.PVI at CPL 3, VIF := 1 if no virtual interrupt is pending (VIP = 0) and
     * #GP(0) if one is, so that the monitor delivers it (SDM 20.3.2, 20.4); otherwise #GP(0). Setting VIF blocks
     * nothing: it is no interrupt flag of the processor's.
     */
    void sti() {
        if (!x.realMode && x.cpl > x.iopl()) {
            long f = s.rflagsControl();
            if ((x.vm86 ? (s.cr4 & Cr4.VME) != 0 : x.cpl == 3 && (s.cr4 & Cr4.PVI) != 0) && (f & Rflags.VIP) == 0) {
                s.setRflagsControl(f | Rflags.VIF);
                x.done();
                return;
            }
            throw x.gp(0);
        }
        if ((s.rflagsControl() & Rflags.IF) == 0) {
            x.newShadow |= CpuState.INTERRUPTIBILITY_STI;
        }
        s.setRflagsControl(s.rflagsControl() | Rflags.IF);
        x.done();
    }

    // ========================================================================================== PUSHF, POPF

    /**
     * PUSHF/PUSHFD in virtual-8086 mode (SDM Vol. 2B PUSHF): with IOPL = 3 as elsewhere (VM and RF cleared in the
     * image); with IOPL &lt; 3 a 32-bit PUSHFD is #GP(0), and so is a 16-bit PUSHF unless CR4.VME = 1, which pushes
     * FLAGS with VIF in the IF position and 3 in the IOPL field (what the 8086 program expects to see, SDM 20.3.2).
     */
    void pushf(int size) {
        long image = s.rflags() & ~(Rflags.VM | Rflags.RF);
        if (x.iopl() < 3) {
            if (size != 2 || (s.cr4 & Cr4.VME) == 0) {
                throw x.gp(0);
            }
            image = (image & ~Rflags.IF) | Rflags.IOPL | ((image & Rflags.VIF) != 0 ? Rflags.IF : 0);
        }
        x.push(image & (size == 2 ? 0xFFFF : 0xFFFF_FFFFL), size);
        x.done();
    }

    /**
     * POPF/POPFD in virtual-8086 mode (SDM Vol. 2B POPF): with IOPL = 3 the status flags, TF, IF, DF, NT (and AC, ID
     * for POPFD), never IOPL, VM, VIF or VIP; RF cleared. With IOPL &lt; 3 POPFD is #GP(0), and so is POPF unless
     * CR4.VME = 1: then a popped TF = 1, or IF = 1 while VIP = 1, is #GP(0); otherwise the popped IF goes to VIF and
     * IF and IOPL keep their values.
     */
    void popf(int size) {
        long v = x.peek(0, size);
        long changeable = Alu.STATUS | Rflags.TF | Rflags.DF | Rflags.NT;
        long f = s.rflags();
        if (x.iopl() < 3) {
            if (size != 2 || (s.cr4 & Cr4.VME) == 0) {
                throw x.gp(0);
            }
            if ((v & Rflags.TF) != 0 || ((v & Rflags.IF) != 0 && (f & Rflags.VIP) != 0)) {
                throw x.gp(0);
            }
            v = (v & ~Rflags.VIF) | ((v & Rflags.IF) != 0 ? Rflags.VIF : 0);
            changeable |= Rflags.VIF;
        } else {
            changeable |= Rflags.IF | (size == 2 ? 0 : Rflags.AC | Rflags.ID);
        }
        x.addSp(size);
        s.setRflags(((f & ~changeable) | (v & changeable) | Rflags.FIXED_1) & ~Rflags.RF);
        x.done();
    }

    // ========================================================================================== INT n

    /**
     * INT n in virtual-8086 mode (SDM Vol. 2A INT n, Vol. 3A 20.3.3 Table 20-2). Without CR4.VME: IOPL = 3 goes to
     * the protected-mode handler (method 1), IOPL &lt; 3 is #GP(0) (method 2). With CR4.VME the bit for n in the
     * software interrupt redirection bit map (the 32 bytes below the I/O map base of the 32-bit TSS) decides: set,
     * the protected-mode handler if IOPL = 3 (method 4), else #GP(0) (method 3); clear, the interrupt is redirected to
     * the 8086 program's own handler through its interrupt vector table at linear address 0 (methods 5 and 6).
     * INT3, INTO and INT1 are not INT n: they always go to the protected-mode handler.
     */
    void softwareInterrupt(int vector) {
        if (redirectedToProgram(vector)) {
            redirect(vector, x.startRip + x.i.len, s.rflags() & ~Rflags.RF);
            x.retire();
            return;
        }
        if (x.iopl() < 3) {
            throw x.gp(0);
        }
        x.events.instructionEvent(vector, EventDelivery.SOFTWARE_INTERRUPT);
    }

    /**
     * Whether a software interrupt goes to the 8086 program's own handler: CR4.VME = 1 and the bit for {@code vector}
     * in the redirection bit map clear (SDM 20.3.3, methods 5 and 6). Also for a software interrupt that VM entry
     * injects into virtual-8086 mode (SDM Vol. 3C 27.6.1.1).
     */
    boolean redirectedToProgram(int vector) {
        return (s.cr4 & Cr4.VME) != 0 && !redirectionBit(vector);
    }

    /**
     * The bit for {@code vector} in the software interrupt redirection bit map (SDM 20.3.3, Figure 20-5): bit 0 of
     * the map is at the I/O map base minus 32 bytes in the TSS. A TSS that cannot hold the map's base field (limit
     * below 67H) or the map's byte is #GP(0), as the processor cannot tell where the interrupt belongs.
     */
    private boolean redirectionBit(int vector) {
        Segment tr = s.tr;
        long limit = tr.limit & 0xFFFF_FFFFL;
        if (tr.unusable() || limit < 0x67) {
            throw x.gp(0);
        }
        long ioBase = m.read((tr.base + 0x66) & 0xFFFF_FFFFL, 2, x.sysPriv);
        long offset = ioBase - 32 + (vector >>> 3);
        if (offset < 0 || offset > limit) {
            throw x.gp(0);
        }
        int bits = (int) m.read((tr.base + offset) & 0xFFFF_FFFFL, 1, x.sysPriv);
        return (bits & (1 << (vector & 7))) != 0;
    }

    /**
     * A software interrupt redirected to the 8086 program (SDM 20.3.3.4 method 5, 20.3.3.5 method 6): FLAGS (from
     * {@code flags}; with IOPL &lt; 3: VIF in the IF position and IOPL 3), CS and the return IP {@code ret} are pushed
     * on the program's stack as words, CS:IP come from entry n of its interrupt vector table at linear address 0, TF
     * and RF are cleared, and IF (IOPL = 3) or VIF (IOPL &lt; 3) too. The caller retires the instruction, if any.
     */
    void redirect(int vector, long ret, long flags) {
        long f = s.rflags();
        long image = flags & 0xFFFF;
        boolean iopl3 = x.iopl() == 3;
        if (!iopl3) {
            image = (image & ~Rflags.IF) | Rflags.IOPL | ((flags & Rflags.VIF) != 0 ? Rflags.IF : 0);
        }
        // the vector table is the 8086 program's own, read as the program would (its linear address 0, CPL 3)
        int ip = (int) m.read(vector * 4L, 2, x.dataPriv);
        int cs = (int) m.read(vector * 4L + 2, 2, x.dataPriv);
        x.stagePush(2, 2, image);
        x.stagePush(4, 2, s.seg[CpuState.CS].selector & 0xFFFF);
        x.stagePush(6, 2, ret & 0xFFFF);
        x.commitStaged();
        x.addSp(-6);
        load(s.seg[CpuState.CS], cs, true);
        s.setRflags(f & ~(Rflags.TF | Rflags.RF | (iopl3 ? Rflags.IF : Rflags.VIF)));
        s.rip = ip;
    }

    // ========================================================================================== IRET

    /**
     * IRET in virtual-8086 mode (SDM Vol. 2A IRET, RETURN-FROM-VIRTUAL-8086-MODE). IOPL = 3: IP, CS and FLAGS (or EIP,
     * CS and EFLAGS) are popped; VM, IOPL, VIP and VIF keep their values (the 16-bit form changes bits 15:0 only, IOPL
     * excluded). IOPL &lt; 3 is #GP(0), except for the 16-bit form with CR4.VME = 1: then a popped TF = 1, or IF = 1
     * while VIP = 1, is #GP(0), and otherwise the popped IF goes to VIF while IF and IOPL stay. The new IP must lie
     * within CS's limit of FFFFH (#GP(0)).
     */
    void iret() {
        int size = x.i.opSize;
        boolean virtual = x.iopl() < 3;
        if (virtual && (size != 2 || (s.cr4 & Cr4.VME) == 0)) {
            throw x.gp(0);
        }
        long ip = x.peek(0, size);
        int cs = (int) x.peek(size, size) & 0xFFFF;
        long fl = x.peek(2 * size, size);
        long old = s.rflags();
        if (ip > 0xFFFF) {
            throw x.gp(0);
        }
        long changeable = Alu.STATUS | Rflags.TF | Rflags.DF | Rflags.NT;
        if (virtual) {
            if ((fl & Rflags.TF) != 0 || ((fl & Rflags.IF) != 0 && (old & Rflags.VIP) != 0)) {
                throw x.gp(0);
            }
            fl = (fl & ~Rflags.VIF) | ((fl & Rflags.IF) != 0 ? Rflags.VIF : 0);
            changeable |= Rflags.VIF;
        } else {
            changeable |= Rflags.IF | (size == 2 ? 0 : Rflags.RF | Rflags.AC | Rflags.ID);
        }
        x.addSp(3L * size);
        load(s.seg[CpuState.CS], cs, true);
        s.setRflags((old & ~changeable) | (fl & changeable) | Rflags.FIXED_1);
        x.segs.finishIret(ip);
    }

    /**
     * IRET from CPL 0 to virtual-8086 mode (SDM Vol. 2A IRET, RETURN-TO-VIRTUAL-8086-MODE): the 32-bit frame EIP, CS,
     * EFLAGS (with VM = 1) popped by the caller, then ESP, SS, ES, DS, FS and GS (each a doubleword, the selectors'
     * upper words ignored); all 36 bytes must lie within the stack segment (#SS(0), checked by the reads) and EIP
     * within the new CS's limit of FFFFH (#GP(0)). EFLAGS is loaded whole, CPL becomes 3 and every segment register
     * is loaded 8086-style.
     */
    void iretToVirtual8086(long ip, int cs, long flags) {
        long sp = x.peek(12, 4);
        int ss = (int) x.peek(16, 4) & 0xFFFF;
        int es = (int) x.peek(20, 4) & 0xFFFF;
        int ds = (int) x.peek(24, 4) & 0xFFFF;
        int fs = (int) x.peek(28, 4) & 0xFFFF;
        int gs = (int) x.peek(32, 4) & 0xFFFF;
        if (ip > 0xFFFF) {
            throw x.gp(0);
        }
        Segment[] seg = s.seg;
        load(seg[CpuState.CS], cs, true);
        load(seg[CpuState.SS], ss, true);
        load(seg[CpuState.ES], es, true);
        load(seg[CpuState.DS], ds, true);
        load(seg[CpuState.FS], fs, true);
        load(seg[CpuState.GS], gs, true);
        s.gpr[Executor.RSP] = sp & 0xFFFF_FFFFL;
        s.setRflags((flags & 0x3F_7FD7L) | Rflags.FIXED_1);
        x.segs.finishIret(ip);
    }
}
