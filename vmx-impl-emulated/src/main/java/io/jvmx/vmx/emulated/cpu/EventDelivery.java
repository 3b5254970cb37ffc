package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;

/**
 * Delivers interrupts and exceptions through the IVT (real mode, SDM Vol. 3A, 20.1.4) or the IDT (protected mode
 * 6.12, IA-32e mode 6.14), including the stack switch on a privilege change and the IST, and handles exceptions
 * during delivery as SDM 6.15 Table 6-5 prescribes (#DF, then triple fault / shutdown). Each attempt validates
 * everything and translates every stack page before it writes anything, so a fault or a VM exit (EPT violation)
 * during delivery leaves the state as it was before the attempt.
 */
final class EventDelivery {
    static final int EXTERNAL_INTERRUPT = 0, NMI = 2, HARDWARE_EXCEPTION = 3, SOFTWARE_INTERRUPT = 4,
            PRIVILEGED_SOFTWARE_EXCEPTION = 5, SOFTWARE_EXCEPTION = 6;

    private final Executor x;
    private final CpuState s;
    private final Mmu m;
    private final NonRootHooks hooks;
    private final CpuFault fault;
    private final Segmentation segs;

    EventDelivery(Executor x, Segmentation segs) {
        this.x = x;
        this.s = x.s;
        this.m = x.m;
        this.hooks = x.hooks;
        this.fault = x.fault;
        this.segs = segs;
    }

    void clearDelivering() {
        s.vectoringInfo = 0;
    }

    /** An exception raised by the current instruction (a fault: RIP stays on the instruction). */
    void deliverFault(CpuFault f) {
        int vector = f.vector;
        int error = f.errorCode;
        long cr2 = f.cr2;
        x.discardStaged();
        if (vector != Exceptions.DB) {
            dr6Report = -1;
            debugFault = false;
        }
        deliver(vector, HARDWARE_EXCEPTION, error, 0, true, cr2);
        dr6Report = -1;
        debugFault = false;
    }

    /**
     * The DR6 bits the #DB being delivered reports (SDM Vol. 3B 18.2.3: B0-B3, BD, BS), -1 for a #DB that reports
     * none (INT1, an injected #DB). DR6 is written only when the #DB does not cause a VM exit (SDM Vol. 3C 28.1); the
     * exit qualification carries them instead (28.2.1).
     */
    private int dr6Report = -1;
    /** The #DB being delivered is a fault (instruction breakpoint, general detect): RF = 1 in its image (18.3.1.1). */
    private boolean debugFault;

    /**
     * A #DB fault of the current instruction: an instruction breakpoint ({@code bits} = B0-B3) or general detect
     * (BD), SDM Vol. 3B 18.2.4 and 18.3.1.1. Returned for throwing, as any fault.
     */
    CpuFault debugFault(int bits) {
        dr6Report = bits;
        debugFault = true;
        return fault.set(Exceptions.DB, -1);
    }

    /**
     * A #DB trap after the instruction that completed (single step, data or I/O breakpoint; SDM Vol. 3B 18.3.1.3,
     * 18.3.1.4): delivered with RIP at the next instruction. A HLT that was single-stepped does not halt: the trap's
     * delivery wakes it, as any event's does.
     */
    void debugTrap(int bits) {
        x.refreshMode();
        x.discardStaged();
        dr6Report = bits;
        debugFault = false;
        if (s.activityState == CpuState.ACTIVITY_HLT) {
            s.activityState = CpuState.ACTIVITY_ACTIVE;
        }
        deliver(Exceptions.DB, HARDWARE_EXCEPTION, -1, 0, true, 0);
        dr6Report = -1;
    }

    /** INT n, INT3, INTO, INT1: delivered with the return address after the instruction; then it retires. */
    void instructionEvent(int vector, int type) {
        if (deliver(vector, type, -1, x.i.len, type != SOFTWARE_INTERRUPT, 0)) {
            x.retire();
        }
    }

    /** VM-entry event injection (SDM Vol. 3C, 27.6.1): no exception-bitmap check for the injected event itself. */
    void inject(int vector, int type, int error, int length) {
        x.refreshMode();
        x.discardStaged();
        s.vectoringInfo = 0;
        if (s.activityState == CpuState.ACTIVITY_HLT) {
            s.activityState = CpuState.ACTIVITY_ACTIVE;
        }
        injecting = true;
        try {
            deliver(vector, type, error, length, false, 0);
        } finally {
            injecting = false;
        }
    }

    /** VM entry injects the event being delivered ({@link #inject}). */
    private boolean injecting;

    static boolean contributory(int v) {
        return v == Exceptions.DE || v == Exceptions.TS || v == Exceptions.NP || v == Exceptions.SS
                || v == Exceptions.GP;
    }

    /** Fault-class exceptions push RF = 1 (SDM Vol. 3A, 18.3.1.1). */
    static boolean faultClass(int v) {
        switch (v) {
            case 0: case 5: case 6: case 7: case 10: case 11: case 12: case 13: case 14: case 16: case 17: case 19:
            case 20: case 21:
                return true;
            default:
                return false;
        }
    }

    /**
     * Delivers an event; exceptions during its delivery are handled per SDM 6.15 Table 6-5, each one first offered to
     * {@link NonRootHooks#exception} (SDM 26.2: the exception bitmap applies to them, with this event as the
     * IDT-vectoring information). Returns whether the original event was delivered.
     */
    private boolean deliver(int vector, int type, int error, int length, boolean hook, long cr2) {
        boolean original = true;
        for (;;) {
            if ((s.cr0 & Cr0.PE) == 0) {
                error = -1; // real mode: no error codes (SDM Vol. 3A, 20.1.4)
            }
            if (hook) {
                s.vectoringInfo = 0;
                boolean sw = type == SOFTWARE_EXCEPTION || type == PRIVILEGED_SOFTWARE_EXCEPTION;
                offer(vector, error, sw, sw ? length : 0, cr2);
            }
            s.vectoringInfo = 0x8000_0000 | vector | (type << 8) | (error >= 0 ? 1 << 11 : 0);
            s.vectoringErrorCode = error >= 0 ? error : 0;
            s.vectoringInstructionLength = length;
            try {
                deliverOnce(vector, type, error, length);
                s.vectoringInfo = 0;
                return original;
            } catch (CpuFault f) {
                int v2 = f.vector;
                int e2 = (s.cr0 & Cr0.PE) == 0 ? -1 : f.errorCode;
                long c2 = f.cr2;
                x.discardStaged();
                // the second exception meets the exception bitmap, with this event as IDT-vectoring information,
                // before it is combined with it (SDM Vol. 3C, 26.2 and 28.2.4)
                offer(v2, e2, false, 0, c2);
                original = false;
                if (type == HARDWARE_EXCEPTION && vector == Exceptions.DF) {
                    // an exception while delivering #DF: shutdown (SDM 6.15 "Interrupt 8")
                    hooks.tripleFault();
                    s.vectoringInfo = 0;
                    s.activityState = CpuState.ACTIVITY_SHUTDOWN;
                    return false;
                }
                int first = type == HARDWARE_EXCEPTION ? vector : -1;
                boolean df = (contributory(first) && contributory(v2))
                        || (first == Exceptions.PF && (v2 == Exceptions.PF || contributory(v2)));
                type = HARDWARE_EXCEPTION;
                length = 0;
                if (df) {
                    vector = Exceptions.DF;
                    error = 0;
                    hook = true;
                    cr2 = 0;
                } else {
                    vector = v2;
                    error = e2;
                    hook = false; // already offered above
                }
            }
        }
    }

    /** Offers an exception to the exception bitmap; CR2 is loaded only if that causes no VM exit (SDM 28.1). */
    private void offer(int vector, int error, boolean software, int length, long cr2) {
        if (vector == Exceptions.PF) {
            s.faultingLinearAddress = cr2;
        } else if (vector == Exceptions.DB) {
            s.debugQualification = dr6Report > 0 ? dr6Report : 0;
        }
        hooks.exception(vector, error, software, length);
        if (vector == Exceptions.PF) {
            s.cr2 = cr2;
        } else if (vector == Exceptions.DB && dr6Report >= 0) {
            x.debug.report(dr6Report);
            if ((dr6Report & DebugRegisters.BD) != 0) {
                s.dr7 &= ~DebugRegisters.DR7_GD; // so that the handler can use the debug registers (18.2.4)
            }
            dr6Report = -1;
        }
    }

    private void deliverOnce(int vector, int type, int error, int length) {
        x.refreshMode();
        boolean soft = type == SOFTWARE_INTERRUPT || type == SOFTWARE_EXCEPTION;
        boolean software = soft || type == PRIVILEGED_SOFTWARE_EXCEPTION;
        long ret = software ? s.rip + length : s.rip;
        if (!s.longModeActive() || !s.seg[CpuState.CS].longMode()) {
            ret &= 0xFFFF_FFFFL;
        }
        long image = s.rflags();
        if (software) {
            image &= ~Rflags.RF; // cleared at the start of the instruction
        } else if (type == HARDWARE_EXCEPTION && (faultClass(vector) || (vector == Exceptions.DB && debugFault))) {
            image |= Rflags.RF;
        } else if ((type == EXTERNAL_INTERRUPT || type == NMI) && x.repIncomplete) {
            image |= Rflags.RF;
        }
        int ext = soft ? 0 : 1;
        if (x.realMode) {
            realMode(vector, ret, image);
        } else if (injecting && type == SOFTWARE_INTERRUPT && x.vm86 && x.v86.redirectedToProgram(vector)) {
            // a software interrupt injected into virtual-8086 mode with CR4.VME is redirected as INT n would be, to
            // the 8086 program's handler, if its bit in the redirection bit map is clear; otherwise it goes to the
            // protected-mode handler whatever IOPL is (SDM Vol. 3C 27.6.1.1)
            x.v86.redirect(vector, ret, image);
        } else if (s.longModeActive()) {
            longMode(vector, soft, ext, error, ret, image);
        } else {
            protectedMode(vector, soft, ext, error, ret, image, software ? length : 0);
        }
        if (type == NMI) {
            s.interruptibility |= CpuState.INTERRUPTIBILITY_NMI;
        }
        s.interruptibility &= ~(CpuState.INTERRUPTIBILITY_STI | CpuState.INTERRUPTIBILITY_MOV_SS);
    }

    // ============================================================================================ real mode

    private void realMode(int vector, long ret, long image) {
        long off = vector * 4L;
        if (off + 3 > (s.idtrLimit & 0xFFFF)) {
            throw fault.set(Exceptions.GP, vector * 8 + 2);
        }
        long ivt = (s.idtrBase + off) & 0xFFFF_FFFFL;
        int ip = (int) m.read(ivt, 2, x.sysPriv);
        int cs = (int) m.read(ivt + 2, 2, x.sysPriv);
        x.stagePush(2, 2, image & 0xFFFF);
        x.stagePush(4, 2, s.seg[CpuState.CS].selector & 0xFFFF);
        x.stagePush(6, 2, ret & 0xFFFF);
        x.commitStaged();
        x.addSp(-6);
        s.setRflags(s.rflags() & (~(Rflags.IF | Rflags.TF | Rflags.AC | Rflags.RF)));
        Segment c = s.seg[CpuState.CS];
        c.selector = cs;
        c.base = (long) cs << 4;
        c.accessRights &= ~Segment.AR_UNUSABLE;
        s.rip = ip;
    }

    // ============================================================================================ protected mode

    /**
     * Delivery through a protected-mode IDT (SDM 6.10-6.12): interrupt and trap gates (16- and 32-bit, 6.11), with the
     * stack switch of 6.12.1 for a more privileged handler; a task gate means a task switch, which exits (26.4.2)
     * after the gate's checks and the new TSS's ({@code length}: the exit's instruction length).
     */
    private void protectedMode(int vector, boolean soft, int ext, int error, long ret, long image, int length) {
        int idtErr = vector * 8 + 2 + ext;
        long off = vector * 8L;
        if (off + 7 > (s.idtrLimit & 0xFFFF)) {
            throw fault.set(Exceptions.GP, idtErr);
        }
        long g = m.read((s.idtrBase + off) & 0xFFFF_FFFFL, 8, x.sysPriv);
        int gtype = (int) (g >>> 40) & 0x1F;
        if (gtype != 0x06 && gtype != 0x07 && gtype != 0x0E && gtype != 0x0F && gtype != Segmentation.TASK_GATE) {
            throw fault.set(Exceptions.GP, idtErr); // not a valid IDT gate
        }
        int cpl = x.cpl;
        if (soft && ((g >>> 45) & 3) < cpl) {
            throw fault.set(Exceptions.GP, vector * 8 + 2);
        }
        if ((g & (1L << 47)) == 0) {
            throw fault.set(Exceptions.NP, idtErr);
        }
        if (gtype == Segmentation.TASK_GATE) {
            int tssSel = (int) (g >>> 16) & 0xFFFF;
            segs.checkGateTss(tssSel, ext);
            hooks.taskSwitch(tssSel, NonRootHooks.TASK_SWITCH_IDT, length);
            throw new IllegalStateException(Segmentation.TASK_SWITCH_RETURNED);
        }
        boolean gate32 = (gtype & 8) != 0;
        boolean trap = (gtype & 1) != 0;
        int sel = (int) (g >>> 16) & 0xFFFF;
        long target = (g & 0xFFFF) | ((g >>> 32) & 0xFFFF_0000L);
        if (!gate32) {
            target &= 0xFFFF;
        }
        int newCpl = prepareHandlerCs(sel, ext, false);
        Segment cs = segs.tmpCs;
        if (target > (cs.limit & 0xFFFF_FFFFL)) {
            throw fault.set(Exceptions.GP, ext);
        }
        int w = gate32 ? 4 : 2;
        int pushes = error >= 0 ? 1 : 0;
        int oldCs = s.seg[CpuState.CS].selector & 0xFFFF;
        if (x.vm86) {
            // INTERRUPT-FROM-VIRTUAL-8086-MODE (SDM Vol. 2A INT n; Vol. 3A 20.3.1.1): only to a non-conforming ring-0
            // handler, else #GP(selector)
            if ((cs.accessRights & 4) != 0 || cs.dpl() != 0) {
                throw fault.set(Exceptions.GP, (sel & 0xFFFC) | ext);
            }
            fromVirtual8086(cs, w, error, ext, ret, image);
        } else if (newCpl < cpl) {
            // inner privilege: the new stack comes from the TSS (SDM 6.12.1, Figure 6-4)
            long newSp = segs.innerStackLegacy(newCpl, ext);
            Segment ss = segs.tmpSs;
            int ssErr = (ss.selector & 0xFFFC) | ext;
            long sm = ss.defaultBig() ? 0xFFFF_FFFFL : 0xFFFF;
            long sp = newSp & sm;
            long oldSp = x.getSp();
            int priv = newCpl == 3 ? Mmu.USER : Mmu.SUP;
            sp = pushLegacy(ss, sp, sm, w, s.seg[CpuState.SS].selector & 0xFFFF, ssErr, priv);
            sp = pushLegacy(ss, sp, sm, w, oldSp, ssErr, priv);
            sp = pushLegacy(ss, sp, sm, w, image, ssErr, priv);
            sp = pushLegacy(ss, sp, sm, w, oldCs, ssErr, priv);
            sp = pushLegacy(ss, sp, sm, w, ret, ssErr, priv);
            if (pushes != 0) {
                sp = pushLegacy(ss, sp, sm, w, error, ssErr, priv);
            }
            x.commitStaged();
            Segmentation.copy(ss, s.seg[CpuState.SS]);
            x.setReg(Executor.RSP, ss.defaultBig() ? 4 : 2, sp);
        } else {
            Segment ss = s.seg[CpuState.SS];
            long sm = mask(x.stackAddrSize());
            long sp = x.getSp();
            int priv = x.dataPriv;
            sp = pushLegacy(ss, sp, sm, w, image, ext, priv);
            sp = pushLegacy(ss, sp, sm, w, oldCs, ext, priv);
            sp = pushLegacy(ss, sp, sm, w, ret, ext, priv);
            if (pushes != 0) {
                sp = pushLegacy(ss, sp, sm, w, error, ext, priv);
            }
            x.commitStaged();
            x.setSp(sp);
        }
        cs.selector = (cs.selector & 0xFFFC) | newCpl;
        Segmentation.copy(cs, s.seg[CpuState.CS]);
        s.rip = target;
        s.setRflags(s.rflags() & (~(Rflags.TF | Rflags.NT | Rflags.RF | Rflags.VM | (trap ? 0 : Rflags.IF))));
    }

    /**
     * The stack switch of an interrupt or exception from virtual-8086 mode (SDM Vol. 3A 20.3.1.1, Figure 20-4; Vol. 2A
     * INT n, INTERRUPT-FROM-VIRTUAL-8086-MODE): the ring-0 stack SS0:ESP0 from the TSS (its checks: #TS, #SS), then
     * GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP and the error code are pushed with the gate's size (selectors padded
     * to doublewords by a 32-bit gate), and GS, FS, DS and ES become null: the handler runs in protected mode, where
     * their 8086-style contents mean nothing. Everything is checked and staged before the first register changes.
     */
    private void fromVirtual8086(Segment cs, int w, int error, int ext, long ret, long image) {
        long newSp = segs.innerStackLegacy(0, ext);
        Segment ss = segs.tmpSs;
        int ssErr = (ss.selector & 0xFFFC) | ext;
        long sm = ss.defaultBig() ? 0xFFFF_FFFFL : 0xFFFF;
        long sp = newSp & sm;
        Segment[] seg = s.seg;
        sp = pushLegacy(ss, sp, sm, w, seg[CpuState.GS].selector & 0xFFFF, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, seg[CpuState.FS].selector & 0xFFFF, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, seg[CpuState.DS].selector & 0xFFFF, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, seg[CpuState.ES].selector & 0xFFFF, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, seg[CpuState.SS].selector & 0xFFFF, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, s.gpr[Executor.RSP], ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, image, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, seg[CpuState.CS].selector & 0xFFFF, ssErr, Mmu.SUP);
        sp = pushLegacy(ss, sp, sm, w, ret, ssErr, Mmu.SUP);
        if (error >= 0) {
            sp = pushLegacy(ss, sp, sm, w, error, ssErr, Mmu.SUP);
        }
        x.commitStaged();
        for (int sg : NULLED_BY_VIRTUAL_8086_INTERRUPT) {
            seg[sg].set(0, 0, 0, Segment.AR_UNUSABLE);
        }
        Segmentation.copy(ss, seg[CpuState.SS]);
        x.setReg(Executor.RSP, ss.defaultBig() ? 4 : 2, sp);
    }

    private static final int[] NULLED_BY_VIRTUAL_8086_INTERRUPT = {CpuState.ES, CpuState.DS, CpuState.FS,
            CpuState.GS};

    private long pushLegacy(Segment ss, long sp, long sm, int w, long value, int err, int priv) {
        return segs.pushLegacy(ss, sp, sm, w, value, err, priv);
    }

    /**
     * Checks the code segment of an interrupt/trap gate (SDM 6.12.1.1 and 6.14.1); fills tmpCs; returns the handler's
     * CPL.
     */
    private int prepareHandlerCs(int sel, int ext, boolean ia32e) {
        int err = (sel & 0xFFFC) | ext;
        if ((sel & 0xFFFC) == 0) {
            throw fault.set(Exceptions.GP, ext);
        }
        long lin = segs.descriptorLinear(sel, err);
        long d = segs.readDescriptor(lin);
        int ar = Segmentation.ar(d);
        int dpl = Segmentation.dpl(ar);
        int cpl = x.cpl;
        if (!Segmentation.isCode(ar) || dpl > cpl) {
            throw fault.set(Exceptions.GP, err);
        }
        if (ia32e && (ar & 0x6000) != 0x2000) {
            throw fault.set(Exceptions.GP, err); // must be a 64-bit code segment (L=1, D=0)
        }
        if (!Segmentation.present(ar)) {
            throw fault.set(Exceptions.NP, err);
        }
        segs.setAccessed(lin, d);
        segs.tmpCs.set(sel, Segmentation.base(d), Segmentation.limit(d), ar | 1);
        return (ar & 4) != 0 ? cpl : dpl; // conforming code keeps the CPL
    }

    // ============================================================================================ IA-32e mode

    private void longMode(int vector, boolean soft, int ext, int error, long ret, long image) {
        int idtErr = vector * 8 + 2 + ext;
        long off = vector * 16L;
        if (off + 15 > (s.idtrLimit & 0xFFFF)) {
            throw fault.set(Exceptions.GP, idtErr);
        }
        long lo = m.read(s.idtrBase + off, 8, x.sysPriv);
        long hi = m.read(s.idtrBase + off + 8, 8, x.sysPriv);
        int gtype = (int) (lo >>> 40) & 0x1F;
        if (gtype != 0x0E && gtype != 0x0F) {
            throw fault.set(Exceptions.GP, idtErr);
        }
        int cpl = x.cpl;
        if (soft && ((lo >>> 45) & 3) < cpl) {
            throw fault.set(Exceptions.GP, vector * 8 + 2);
        }
        if ((lo & (1L << 47)) == 0) {
            throw fault.set(Exceptions.NP, idtErr);
        }
        boolean trap = (gtype & 1) != 0;
        int sel = (int) (lo >>> 16) & 0xFFFF;
        long target = (lo & 0xFFFF) | ((lo >>> 32) & 0xFFFF_0000L) | (hi << 32);
        int ist = (int) (lo >>> 32) & 7;
        int newCpl = prepareHandlerCs(sel, ext, true);
        if (!Executor.canonical(target)) {
            throw fault.set(Exceptions.GP, ext);
        }
        long rsp;
        if (ist != 0) {
            rsp = segs.tssRsp64(0x24 + (ist - 1) * 8L, ext);
        } else if (newCpl < cpl) {
            rsp = segs.tssRsp64(4 + newCpl * 8L, ext);
        } else {
            rsp = s.gpr[Executor.RSP];
        }
        if (!Executor.canonical(rsp)) {
            throw fault.set(Exceptions.SS, ext);
        }
        rsp &= ~0xFL; // SDM 6.14.2: the new RSP is aligned to 16 bytes
        int priv = newCpl == 3 ? Mmu.USER : Mmu.SUP;
        long sp = rsp;
        sp = push64(sp, s.seg[CpuState.SS].selector & 0xFFFF, ext, priv);
        sp = push64(sp, s.gpr[Executor.RSP], ext, priv);
        sp = push64(sp, image, ext, priv);
        sp = push64(sp, s.seg[CpuState.CS].selector & 0xFFFF, ext, priv);
        sp = push64(sp, ret, ext, priv);
        if (error >= 0) {
            sp = push64(sp, error & 0xFFFF_FFFFL, ext, priv);
        }
        x.commitStaged();
        if (newCpl < cpl) {
            // SS is loaded with a null selector whose RPL is the new CPL (SDM 6.14.4)
            s.seg[CpuState.SS].set(newCpl, 0, 0, Segment.AR_UNUSABLE | (newCpl << 5));
        }
        Segment cs = segs.tmpCs;
        cs.selector = (cs.selector & 0xFFFC) | newCpl;
        Segmentation.copy(cs, s.seg[CpuState.CS]);
        s.gpr[Executor.RSP] = sp;
        s.rip = target;
        s.setRflags(s.rflags() & (~(Rflags.TF | Rflags.NT | Rflags.RF | Rflags.VM | (trap ? 0 : Rflags.IF))));
    }

    private long push64(long sp, long value, int ext, int priv) {
        return segs.push64(sp, value, ext, priv);
    }
}
