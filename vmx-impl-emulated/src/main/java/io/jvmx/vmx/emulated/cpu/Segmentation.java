package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;

/**
 * Segment-descriptor loads with their protection checks (SDM Vol. 3A, 3.4 and 5.5-5.8) and the far transfers that
 * use them: far JMP/CALL/RET to code segments and IRET (SDM Vol. 2 JMP, CALL, RET, IRET). Call gates in far JMP/CALL are not
 * implemented and raise #GP with the selector. Task switches (far JMP/CALL to a TSS or task gate, IRET with NT = 1)
 * are checked and then cause a VM exit, as they always do in VMX non-root operation (SDM Vol. 3C, 26.4.2).
 */
final class Segmentation {
    private final Executor x;
    private final CpuState s;
    private final Mmu m;
    private final CpuFault fault;

    /** Scratch descriptors for loads that must be validated completely before they are committed. */
    final Segment tmpCs = new Segment();
    final Segment tmpSs = new Segment();

    Segmentation(Executor x) {
        this.x = x;
        this.s = x.s;
        this.m = x.m;
        this.fault = x.fault;
    }

    // ============================================================================== descriptor format (SDM 3.4.5)

    /** Access rights in the VMCS format (Table 25-2) from a raw 8-byte descriptor. */
    static int ar(long d) {
        return (int) ((d >>> 40) & 0xF0FF);
    }

    static long base(long d) {
        return ((d >>> 16) & 0xFF_FFFFL) | ((d >>> 32) & 0xFF00_0000L);
    }

    static int limit(long d) {
        int raw = (int) ((d & 0xFFFF) | ((d >>> 32) & 0xF_0000));
        return (d & (1L << 55)) != 0 ? (raw << 12) | 0xFFF : raw;
    }

    static int dpl(int ar) {
        return (ar >>> 5) & 3;
    }

    static boolean present(int ar) {
        return (ar & 0x80) != 0;
    }

    static boolean isCode(int ar) {
        return (ar & 0x18) == 0x18;
    }

    static boolean isData(int ar) {
        return (ar & 0x18) == 0x10;
    }

    /** The linear address of a selector's descriptor; #GP(error) if it lies beyond the GDT/LDT limit. */
    long descriptorLinear(int sel, int error) {
        int index = sel & 0xFFF8;
        long base;
        long lim;
        if ((sel & 4) != 0) {
            if (s.ldtr.unusable()) {
                throw fault.set(Exceptions.GP, error);
            }
            base = s.ldtr.base;
            lim = s.ldtr.limit & 0xFFFF_FFFFL;
        } else {
            base = s.gdtrBase;
            lim = s.gdtrLimit & 0xFFFF;
        }
        if (index + 7L > lim) {
            throw fault.set(Exceptions.GP, error);
        }
        long l = base + index;
        return s.longModeActive() ? l : l & 0xFFFF_FFFFL;
    }

    long readDescriptor(long linear) {
        return m.read(linear, 8, x.sysPriv);
    }

    /** Sets the accessed bit of a code/data descriptor (SDM 3.4.5.1); idempotent, so done before the commit. */
    void setAccessed(long linear, long d) {
        if ((d & (1L << 40)) == 0) {
            m.write(linear + 5, 1, ((d >>> 40) | 1) & 0xFF, x.sysPriv);
        }
    }

    // ============================================================================== data segments

    /** MOV/POP to DS, ES, FS, GS or SS and LDS..LSS: checks and commits (SDM Vol. 2B MOV, 3.4.3 in real mode). */
    void loadData(int sg, int sel) {
        Segment sd = s.seg[sg];
        if (x.realMode) {
            sd.selector = sel;
            sd.base = (long) sel << 4;
            sd.accessRights &= ~Segment.AR_UNUSABLE;
            return;
        }
        int rpl = sel & 3;
        int cpl = x.cpl;
        int err = sel & 0xFFFC;
        if (err == 0) {
            if (sg == CpuState.SS) {
                // a null SS is allowed only in 64-bit mode at CPL < 3 with RPL = CPL
                if (!(x.mode64 && cpl != 3 && rpl == cpl)) {
                    throw fault.set(Exceptions.GP, 0);
                }
                sd.set(sel, 0, 0, Segment.AR_UNUSABLE | (cpl << 5));
            } else {
                sd.set(sel, 0, 0, Segment.AR_UNUSABLE);
            }
            return;
        }
        long lin = descriptorLinear(sel, err);
        long d = readDescriptor(lin);
        int ar = ar(d);
        int dpl = dpl(ar);
        if (sg == CpuState.SS) {
            if (rpl != cpl || !isData(ar) || (ar & 2) == 0 || dpl != cpl) {
                throw fault.set(Exceptions.GP, err);
            }
            if (!present(ar)) {
                throw fault.set(Exceptions.SS, err);
            }
        } else {
            if (!(isData(ar) || (isCode(ar) && (ar & 2) != 0))) {
                throw fault.set(Exceptions.GP, err);
            }
            if ((isData(ar) || (ar & 4) == 0) && (rpl > dpl || cpl > dpl)) {
                throw fault.set(Exceptions.GP, err);
            }
            if (!present(ar)) {
                throw fault.set(Exceptions.NP, err);
            }
        }
        setAccessed(lin, d);
        sd.set(sel, base(d), limit(d), ar | 1);
    }

    /** Checks an SS for a privilege-changing return (RET far, IRET); fills {@link #tmpSs}. */
    private void prepareReturnSs(int ssSel, int rpl, boolean target64) {
        int err = ssSel & 0xFFFC;
        if (err == 0) {
            if (target64 && rpl != 3 && (ssSel & 3) == rpl) {
                tmpSs.set(ssSel, 0, 0, Segment.AR_UNUSABLE | (rpl << 5));
                return;
            }
            throw fault.set(Exceptions.GP, 0);
        }
        if ((ssSel & 3) != rpl) {
            throw fault.set(Exceptions.GP, err);
        }
        long lin = descriptorLinear(ssSel, err);
        long d = readDescriptor(lin);
        int ar = ar(d);
        if (!isData(ar) || (ar & 2) == 0 || dpl(ar) != rpl) {
            throw fault.set(Exceptions.GP, err);
        }
        if (!present(ar)) {
            throw fault.set(Exceptions.SS, err);
        }
        setAccessed(lin, d);
        tmpSs.set(ssSel, base(d), limit(d), ar | 1);
    }

    // ============================================================================== far transfers

    /**
     * Checks a far JMP/CALL target (same privilege only) and fills {@link #tmpCs}; {@code source} is that of a task
     * switch's exit qualification (0 CALL, 2 JMP).
     */
    private void prepareFarTarget(int sel, int source) {
        int err = sel & 0xFFFC;
        if (err == 0) {
            throw fault.set(Exceptions.GP, 0);
        }
        long lin = descriptorLinear(sel, err);
        long d = readDescriptor(lin);
        int ar = ar(d);
        int cpl = x.cpl;
        if (!isCode(ar)) {
            int type = ar & 0x1F;
            if (!s.longModeActive() && (type == 0x01 || type == 0x09 || type == 0x05)) {
                farTaskSwitch(sel, ar, d, source);
            }
            // a data segment, a call gate (not implemented), or a TSS or task gate in IA-32e mode
            throw fault.set(Exceptions.GP, err);
        }
        int dpl = dpl(ar);
        if ((ar & 4) != 0 ? dpl > cpl : (sel & 3) > cpl || dpl != cpl) {
            throw fault.set(Exceptions.GP, err);
        }
        if (!present(ar)) {
            throw fault.set(Exceptions.NP, err);
        }
        if (s.longModeActive() && (ar & 0x6000) == 0x6000) {
            throw fault.set(Exceptions.GP, err); // L and D both set
        }
        setAccessed(lin, d);
        tmpCs.set((sel & 0xFFFC) | cpl, base(d), limit(d), ar | 1);
    }

    /**
     * A far JMP or CALL to a TSS descriptor or a task gate outside IA-32e mode (SDM Vol. 3C 26.4.2, checks 1-4 with
     * the faults of Vol. 2A JMP/CALL): the privilege of the descriptor or gate, its P bit, then the new TSS; then
     * the VM exit.
     */
    private void farTaskSwitch(int sel, int ar, long d, int source) {
        int err = sel & 0xFFFC;
        int dpl = dpl(ar);
        if (dpl < x.cpl || dpl < (sel & 3)) {
            throw fault.set(Exceptions.GP, err);
        }
        int tss = sel;
        if ((ar & 0x1F) == 0x05) {
            if (!present(ar)) {
                throw fault.set(Exceptions.NP, err);
            }
            tss = (int) (d >>> 16) & 0xFFFF;
        }
        checkNewTss(tss, false, Exceptions.GP, 0); // an available TSS: not busy, present, large enough
        x.hooks.taskSwitch(tss & 0xFFFF, source, x.i.len);
        throw new IllegalStateException("a task switch returned from NonRootHooks.taskSwitch");
    }

    /**
     * The checks on the new TSS of a task switch before the VM exit (SDM Vol. 3C 26.4.2 items 2-4): a GDT selector
     * within the limit ({@code selectorVector} otherwise), the type (an available TSS, or a busy one for IRET;
     * {@code selectorVector}), present (#NP), and a limit of at least 67H for a 32-bit TSS or 2BH for a 16-bit one
     * (#TS).
     */
    void checkNewTss(int sel, boolean busy, int selectorVector, int ext) {
        int err = (sel & 0xFFFC) | ext;
        if ((sel & 4) != 0 || (sel | 7) > (s.gdtrLimit & 0xFFFF)) {
            throw fault.set(selectorVector, err);
        }
        long d = readDescriptor(descriptorLinear(sel, err)); // within the GDT limit: checked above
        int type = ar(d) & 0x1F;
        boolean ok = busy ? type == 0x03 || type == 0x0B : type == 0x01 || type == 0x09;
        if (!ok) {
            throw fault.set(selectorVector, err);
        }
        if (!present(ar(d))) {
            throw fault.set(Exceptions.NP, err);
        }
        if ((limit(d) & 0xFFFF_FFFFL) < ((type & 8) != 0 ? 0x67 : 0x2B)) {
            throw fault.set(Exceptions.TS, err);
        }
    }

    /** The offset check of a far transfer against the new CS: canonical for 64-bit code, else its limit. */
    private long checkTargetOffset(Segment cs, long off) {
        if (s.longModeActive() && cs.longMode()) {
            if (!Executor.canonical(off)) {
                throw fault.set(Exceptions.GP, 0);
            }
            return off;
        }
        off &= 0xFFFF_FFFFL;
        if (off > (cs.limit & 0xFFFF_FFFFL)) {
            throw fault.set(Exceptions.GP, 0);
        }
        return off;
    }

    private void realModeCs(int sel) {
        Segment cs = s.seg[CpuState.CS];
        cs.selector = sel;
        cs.base = (long) sel << 4;
        cs.accessRights &= ~Segment.AR_UNUSABLE;
    }

    void farJump(int sel, long off) {
        off &= mask(x.i.opSize);
        if (x.realMode) {
            if (off > (s.seg[CpuState.CS].limit & 0xFFFF_FFFFL)) {
                throw fault.set(Exceptions.GP, 0);
            }
            realModeCs(sel);
            s.rip = off;
            x.retire();
            return;
        }
        prepareFarTarget(sel, 2);
        long target = checkTargetOffset(tmpCs, off);
        copy(tmpCs, s.seg[CpuState.CS]);
        s.rip = target;
        x.retire();
    }

    void farCall(int sel, long off) {
        int size = x.i.opSize;
        off &= mask(size);
        long ret = x.startRip + x.i.len;
        int oldCs = s.seg[CpuState.CS].selector & 0xFFFF;
        if (x.realMode) {
            if (off > (s.seg[CpuState.CS].limit & 0xFFFF_FFFFL)) {
                throw fault.set(Exceptions.GP, 0);
            }
            x.stagePush(size, size, oldCs);
            x.stagePush(2L * size, size, ret);
            x.commitStaged();
            x.addSp(-2L * size);
            realModeCs(sel);
            s.rip = off;
            x.retire();
            return;
        }
        prepareFarTarget(sel, 0);
        long target = checkTargetOffset(tmpCs, off);
        x.stagePush(size, size, oldCs);
        x.stagePush(2L * size, size, ret);
        x.commitStaged();
        x.addSp(-2L * size);
        copy(tmpCs, s.seg[CpuState.CS]);
        s.rip = target;
        x.retire();
    }

    /** RET far (CB, CA iw), same or outer privilege (SDM Vol. 2B RET). */
    void farReturn(int extra) {
        int size = x.i.opSize;
        long ip = x.peek(0, size);
        int csSel = (int) x.peek(size, size) & 0xFFFF;
        if (x.realMode) {
            ip &= mask(size);
            if (ip > (s.seg[CpuState.CS].limit & 0xFFFF_FFFFL)) {
                throw fault.set(Exceptions.GP, 0);
            }
            x.addSp(2L * size + extra);
            realModeCs(csSel);
            s.rip = ip;
            x.retire();
            return;
        }
        int rpl = prepareReturnCs(csSel);
        boolean target64 = s.longModeActive() && tmpCs.longMode();
        if (rpl == x.cpl) {
            long target = checkTargetOffset(tmpCs, target64 ? ip : ip & mask(size));
            x.addSp(2L * size + extra);
            copy(tmpCs, s.seg[CpuState.CS]);
            s.rip = target;
            x.retire();
            return;
        }
        long newSp = x.peek(2 * size + extra, size);
        int ssSel = (int) x.peek(3 * size + extra, size) & 0xFFFF;
        prepareReturnSs(ssSel, rpl, target64);
        long target = checkTargetOffset(tmpCs, target64 ? ip : ip & mask(size));
        commitOuterReturn(newSp + extra, size, rpl);
        s.rip = target;
        x.retire();
    }

    /** CS checks of RET far / IRET (SDM Vol. 2B): returns the RPL; fills {@link #tmpCs}. */
    private int prepareReturnCs(int csSel) {
        int err = csSel & 0xFFFC;
        if (err == 0) {
            throw fault.set(Exceptions.GP, 0);
        }
        long lin = descriptorLinear(csSel, err);
        long d = readDescriptor(lin);
        int ar = ar(d);
        int rpl = csSel & 3;
        if (!isCode(ar) || rpl < x.cpl) {
            throw fault.set(Exceptions.GP, err);
        }
        int dpl = dpl(ar);
        if ((ar & 4) != 0 ? dpl > rpl : dpl != rpl) {
            throw fault.set(Exceptions.GP, err);
        }
        if (!present(ar)) {
            throw fault.set(Exceptions.NP, err);
        }
        if (s.longModeActive() && (ar & 0x6000) == 0x6000) {
            throw fault.set(Exceptions.GP, err);
        }
        setAccessed(lin, d);
        tmpCs.set(csSel, base(d), limit(d), ar | 1);
        return rpl;
    }

    /** Commits CS, SS and RSP of a return to an outer privilege level, then nulls data segments it may not use. */
    private void commitOuterReturn(long newSp, int size, int rpl) {
        copy(tmpCs, s.seg[CpuState.CS]);
        copy(tmpSs, s.seg[CpuState.SS]);
        int sas = s.longModeActive() && tmpCs.longMode() ? 8 : tmpSs.defaultBig() ? 4 : 2;
        x.setReg(Executor.RSP, sas, newSp & mask(Math.min(size, 8)));
        for (int sg : DATA_SEGMENTS) {
            Segment sd = s.seg[sg];
            int ar = sd.accessRights;
            if (!sd.unusable() && (isData(ar) || (ar & 4) == 0) && dpl(ar) < rpl) {
                sd.set(0, 0, 0, Segment.AR_UNUSABLE);
            }
        }
    }

    private static final int[] DATA_SEGMENTS = {CpuState.ES, CpuState.DS, CpuState.FS, CpuState.GS};

    /** IRET / IRETD / IRETQ (SDM Vol. 2A IRET): real mode, protected mode and IA-32e mode; same or outer privilege. */
    void iret() {
        // SDM Vol. 3C 26.3 and 28.2.2: whether this IRET removes (virtual-)NMI blocking, for finishIret and the exits
        s.iretUnblockingNmi = (s.interruptibility & CpuState.INTERRUPTIBILITY_NMI) != 0 && x.hooks.iretUnblocksNmi();
        int size = x.i.opSize;
        long ip = x.peek(0, size);
        int csSel = (int) x.peek(size, size) & 0xFFFF;
        long fl = x.peek(2 * size, size);
        long old = s.rflags();
        if (x.realMode) {
            ip &= mask(size);
            if (ip > (s.seg[CpuState.CS].limit & 0xFFFF_FFFFL)) {
                throw fault.set(Exceptions.GP, 0);
            }
            long changeable = size == 2 ? 0x7FD5L : 0x25_7FD5L; // VM, VIF, VIP unchanged in real mode
            x.addSp(3L * size);
            realModeCs(csSel);
            s.setRflags((old & ~changeable) | (fl & changeable) | Rflags.FIXED_1);
            finishIret(ip);
            return;
        }
        if ((old & Rflags.NT) != 0) {
            if (s.longModeActive()) {
                throw fault.set(Exceptions.GP, 0); // no task return in IA-32e mode
            }
            // a task return to the TSS in the previous-task link (SDM Vol. 2A IRET: #TS for a bad link or a TSS
            // that is not busy); then the VM exit of SDM Vol. 3C 26.4.2
            Segment tr = s.tr;
            int link = (int) m.read(tr.base & 0xFFFF_FFFFL, 2, x.sysPriv);
            checkNewTss(link, true, Exceptions.TS, 0);
            x.hooks.taskSwitch(link, 1, x.i.len);
            throw new IllegalStateException("a task switch returned from NonRootHooks.taskSwitch");
        }
        boolean lma = s.longModeActive();
        if (!lma && (fl & Rflags.VM) != 0 && x.cpl == 0) {
            throw new IllegalStateException("IRET to virtual-8086 mode is not implemented by the interpreter");
        }
        int cpl = x.cpl;
        int rpl = prepareReturnCs(csSel);
        boolean target64 = lma && tmpCs.longMode();
        boolean popStack = x.mode64 || rpl > cpl;
        long newSp = 0;
        if (popStack) {
            newSp = x.peek(3 * size, size);
            int ssSel = (int) x.peek(4 * size, size) & 0xFFFF;
            prepareReturnSs(ssSel, rpl, target64);
        }
        long target = checkTargetOffset(tmpCs, target64 ? ip : ip & mask(size));
        long changeable = Alu.STATUS | Rflags.TF | Rflags.DF | Rflags.NT | Rflags.RF | Rflags.AC | Rflags.ID;
        if (cpl == 0) {
            changeable |= Rflags.IOPL | Rflags.IF | Rflags.VIF | Rflags.VIP;
        } else if (cpl <= x.iopl()) {
            changeable |= Rflags.IF;
        }
        if (size == 2) {
            changeable &= 0xFFFF;
        }
        long newFlags = (old & ~changeable) | (fl & changeable) | Rflags.FIXED_1;
        if (popStack) {
            commitOuterReturn(newSp, size, rpl);
        } else {
            x.addSp(3L * size);
            copy(tmpCs, s.seg[CpuState.CS]);
        }
        s.setRflags(newFlags);
        finishIret(target);
    }

    private void finishIret(long target) {
        // IRET ends blocking by NMI (SDM Vol. 3A, 6.7.1) unless the host owns NMIs (Vol. 3C, 26.3)
        if (s.iretUnblockingNmi) {
            s.interruptibility &= ~CpuState.INTERRUPTIBILITY_NMI;
        }
        s.rip = target;
        x.keepRf = true; // RF comes from the image
        x.retire();
    }

    static void copy(Segment from, Segment to) {
        to.set(from.selector, from.base, from.limit, from.accessRights);
    }
}
