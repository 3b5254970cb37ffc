package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;

/**
 * Segment-descriptor loads with their protection checks (SDM Vol. 3A, 3.4 and 5.5-5.8) and the far transfers that
 * use them (SDM Vol. 2 JMP, CALL, RET, IRET): to code segments, through call gates (16-, 32- and 64-bit, with the
 * stack switch and parameter copy of 5.8.5), returns to the same or an outer privilege level, and the TSS's stacks.
 * Task switches (far JMP/CALL to a TSS or task gate, IRET with NT = 1, task gates in the IDT) cause VM exits in VMX
 * non-root operation (SDM Vol. 3C 26.4.2): the checks the SDM makes before that exit are made here, the switch
 * itself is the VMM's. In virtual-8086 mode segment loads and far transfers are the 8086's, as in real-address
 * mode; its IRET, and the IRET that enters it, are {@link Virtual8086}'s.
 */
final class Segmentation {
    private final Executor x;
    private final CpuState s;
    private final Mmu m;
    private final NonRootHooks hooks;
    private final CpuFault fault;

    /** Scratch descriptors for loads that must be validated completely before they are committed. */
    final Segment tmpCs = new Segment();
    final Segment tmpSs = new Segment();

    Segmentation(Executor x) {
        this.x = x;
        this.s = x.s;
        this.m = x.m;
        this.hooks = x.hooks;
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

    /**
     * Bits 127:64 of a 16-byte system descriptor at {@code lin} (IA-32e mode, SDM 3.5.2): #GP(error) if they lie beyond
     * the table's limit.
     */
    long readDescriptorHigh(int sel, long lin, int error) {
        long lim = (sel & 4) != 0 ? s.ldtr.limit & 0xFFFF_FFFFL : s.gdtrLimit & 0xFFFF;
        if ((sel & 0xFFF8) + 15L > lim) {
            throw fault.set(Exceptions.GP, error);
        }
        return m.read(lin + 8, 8, x.sysPriv);
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
        if (x.segments8086) {
            Virtual8086.load(sd, sel, x.vm86);
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

    /** Descriptor types of system segments and gates (SDM Vol. 3A 3.5, Table 3-2), S = 0 included (bits 4:0). */
    static final int TSS16_AVAILABLE = 0x01, LDT = 0x02, TSS16_BUSY = 0x03, CALL_GATE16 = 0x04, TASK_GATE = 0x05,
            TSS32_AVAILABLE = 0x09, TSS32_BUSY = 0x0B, CALL_GATE32 = 0x0C;

    /**
     * Far JMP (SDM Vol. 2A JMP): to a code segment at the same privilege (conforming: DPL <= CPL; non-conforming: DPL
     * = CPL and RPL <= CPL), through a call gate to the same privilege, or to a TSS or task gate (a task switch: in
     * VMX non-root operation a VM exit, SDM Vol. 3C 26.4.2).
     */
    void farJump(int sel, long off) {
        off &= mask(x.i.opSize);
        if (x.segments8086) {
            if (off > (s.seg[CpuState.CS].limit & 0xFFFF_FFFFL)) {
                throw fault.set(Exceptions.GP, 0);
            }
            realModeCs(sel);
            s.rip = off;
            x.retire();
            return;
        }
        long d = farTargetDescriptor(sel);
        int ar = ar(d);
        if ((ar & 0x10) != 0) {
            prepareCodeTarget(sel, d);
            long target = checkTargetOffset(tmpCs, off);
            copy(tmpCs, s.seg[CpuState.CS]);
            s.rip = target;
            x.retire();
            return;
        }
        int type = ar & 0x1F;
        if (type == CALL_GATE32 || (type == CALL_GATE16 && !s.longModeActive())) {
            long target = callGate(sel, d, false);
            copy(tmpCs, s.seg[CpuState.CS]);
            s.rip = target;
            x.retire();
            return;
        }
        taskTransfer(sel, d, NonRootHooks.TASK_SWITCH_JMP);
    }

    /**
     * Far CALL (SDM Vol. 2A CALL): to a code segment at the same privilege, through a call gate (to the same or a
     * more privileged level, with the stack switch and parameter copy of SDM Vol. 3A 5.8.5), or to a TSS or task gate
     * (a task switch: a VM exit). The return address is pushed with the instruction's operand size for a code
     * segment, with the gate's size for a call gate.
     */
    void farCall(int sel, long off) {
        int size = x.i.opSize;
        off &= mask(size);
        long ret = x.startRip + x.i.len;
        int oldCs = s.seg[CpuState.CS].selector & 0xFFFF;
        if (x.segments8086) {
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
        long d = farTargetDescriptor(sel);
        int ar = ar(d);
        if ((ar & 0x10) != 0) {
            prepareCodeTarget(sel, d);
            long target = checkTargetOffset(tmpCs, off);
            x.stagePush(size, size, oldCs);
            x.stagePush(2L * size, size, ret);
            x.commitStaged();
            x.addSp(-2L * size);
            copy(tmpCs, s.seg[CpuState.CS]);
            s.rip = target;
            x.retire();
            return;
        }
        int type = ar & 0x1F;
        if (type == CALL_GATE32 || (type == CALL_GATE16 && !s.longModeActive())) {
            callThroughGate(sel, d, oldCs, ret);
            return;
        }
        taskTransfer(sel, d, NonRootHooks.TASK_SWITCH_CALL);
    }

    /** The descriptor a far JMP/CALL selector names: #GP(0) for a null selector, #GP(sel) beyond the table. */
    private long farTargetDescriptor(int sel) {
        if ((sel & 0xFFFC) == 0) {
            throw fault.set(Exceptions.GP, 0);
        }
        targetLinear = descriptorLinear(sel, sel & 0xFFFC);
        return readDescriptor(targetLinear);
    }

    /** The linear address of the descriptor {@link #farTargetDescriptor} read last. */
    private long targetLinear;

    /**
     * The checks of a far JMP/CALL to a code segment (SDM Vol. 2A JMP/CALL, Vol. 3A 5.8.1): conforming DPL <= CPL,
     * non-conforming DPL = CPL with RPL <= CPL (#GP(sel)); present (#NP(sel)); in IA-32e mode not L = D = 1. Fills
     * {@link #tmpCs} with RPL = CPL.
     */
    private void prepareCodeTarget(int sel, long d) {
        int err = sel & 0xFFFC;
        int ar = ar(d);
        int cpl = x.cpl;
        if (!isCode(ar)) {
            throw fault.set(Exceptions.GP, err); // a data segment
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
        setAccessed(targetLinear, d);
        tmpCs.set(err | cpl, base(d), limit(d), ar | 1);
    }

    /**
     * The call gate {@code d} named by {@code gateSel} (SDM Vol. 3A 5.8.3-5.8.4; in IA-32e mode the 16-byte 64-bit
     * gate of 5.8.3.1): gate DPL >= CPL and RPL (#GP(gate)), present (#NP(gate)), in IA-32e mode the upper half's
     * type 0 (#GP(gate)); its code segment: not null (#GP(0)), a code segment with DPL <= CPL (#GP(code)), for JMP
     * also DPL = CPL unless conforming (JMP does not change privilege), 64-bit code in IA-32e mode (#GP(code)),
     * present (#NP(code)). Fills {@link #tmpCs} (RPL still the selector's) and returns the entry point, checked
     * against the new CS (#GP(0)); {@link #gateSize} and {@link #gateParameters} describe the gate.
     */
    private long callGate(int gateSel, long g, boolean call) {
        int gateErr = gateSel & 0xFFFC;
        int gar = ar(g);
        int gdpl = dpl(gar);
        int cpl = x.cpl;
        if (gdpl < cpl || gdpl < (gateSel & 3)) {
            throw fault.set(Exceptions.GP, gateErr);
        }
        if (!present(gar)) {
            throw fault.set(Exceptions.NP, gateErr);
        }
        boolean lma = s.longModeActive();
        long entry;
        if (lma) {
            long hi = readDescriptorHigh(gateSel, targetLinear, gateErr);
            if (((hi >>> 40) & 0x1F) != 0) {
                throw fault.set(Exceptions.GP, gateErr);
            }
            entry = (g & 0xFFFF) | ((g >>> 32) & 0xFFFF_0000L) | (hi << 32);
            gateSize = 8;
            gateParameters = 0;
        } else {
            boolean gate32 = (gar & 0x1F) == CALL_GATE32;
            entry = (g & 0xFFFF) | (gate32 ? (g >>> 32) & 0xFFFF_0000L : 0);
            gateSize = gate32 ? 4 : 2;
            gateParameters = (int) (g >>> 32) & 0x1F;
        }
        int csSel = (int) (g >>> 16) & 0xFFFF;
        int csErr = csSel & 0xFFFC;
        if (csErr == 0) {
            throw fault.set(Exceptions.GP, 0);
        }
        long lin = descriptorLinear(csSel, csErr);
        long d = readDescriptor(lin);
        int ar = ar(d);
        int dpl = dpl(ar);
        if (!isCode(ar) || dpl > cpl || (!call && (ar & 4) == 0 && dpl != cpl)) {
            throw fault.set(Exceptions.GP, csErr);
        }
        if (lma && (ar & 0x6000) != 0x2000) {
            throw fault.set(Exceptions.GP, csErr); // a 64-bit code segment (L = 1, D = 0)
        }
        if (!present(ar)) {
            throw fault.set(Exceptions.NP, csErr);
        }
        setAccessed(lin, d);
        tmpCs.set(csSel, base(d), limit(d), ar | 1);
        long target = checkTargetOffset(tmpCs, entry);
        tmpCs.selector = csErr | cpl; // JMP and same-privilege CALL: CS.RPL = CPL
        return target;
    }

    /** The operand size of a call gate (2, 4 or 8) and its parameter count, from {@link #callGate}. */
    private int gateSize, gateParameters;

    /**
     * CALL through a call gate (SDM Vol. 2A CALL "CALL-GATE", Vol. 3A 5.8.5): to a non-conforming code segment of
     * higher privilege with a stack switch (the new SS:ESP from the TSS for the new CPL, the caller's SS:ESP pushed,
     * then the gate's parameter count of words or doublewords copied from the caller's stack; in IA-32e mode RSP from
     * the 64-bit TSS, SS null with RPL = new CPL, no parameters), else at the same privilege; then the caller's CS
     * and EIP, all with the gate's operand size.
     */
    private void callThroughGate(int gateSel, long g, int oldCs, long ret) {
        long target = callGate(gateSel, g, true);
        int cpl = x.cpl;
        int newCpl = dpl(tmpCs.accessRights);
        int w = gateSize;
        if ((tmpCs.accessRights & 4) != 0 || newCpl >= cpl) {
            // SAME-PRIVILEGE
            if (w == 8) {
                long sp = s.gpr[Executor.RSP];
                sp = push64(sp, oldCs, 0, x.dataPriv);
                sp = push64(sp, ret, 0, x.dataPriv);
                x.commitStaged();
                s.gpr[Executor.RSP] = sp;
            } else {
                x.stagePush(w, w, oldCs);
                x.stagePush(2L * w, w, ret);
                x.commitStaged();
                x.addSp(-2L * w);
            }
            copy(tmpCs, s.seg[CpuState.CS]);
            s.rip = target;
            x.retire();
            return;
        }
        // MORE-PRIVILEGE
        int priv = Mmu.SUP;
        long oldSp = x.getSp();
        int oldSs = s.seg[CpuState.SS].selector & 0xFFFF;
        if (w == 8) {
            long sp = tssRsp64(4 + newCpl * 8L, 0);
            if (!Executor.canonical(sp)) {
                throw fault.set(Exceptions.SS, 0);
            }
            sp = push64(sp, oldSs, 0, priv);
            sp = push64(sp, s.gpr[Executor.RSP], 0, priv);
            sp = push64(sp, oldCs, 0, priv);
            sp = push64(sp, ret, 0, priv);
            x.commitStaged();
            s.seg[CpuState.SS].set(newCpl, 0, 0, Segment.AR_UNUSABLE | (newCpl << 5));
            s.gpr[Executor.RSP] = sp;
        } else {
            long newSp = innerStackLegacy(newCpl, 0);
            Segment ss = tmpSs;
            int ssErr = ss.selector & 0xFFFC;
            long sm = ss.defaultBig() ? 0xFFFF_FFFFL : 0xFFFF;
            long sp = newSp & sm;
            sp = pushLegacy(ss, sp, sm, w, oldSs, ssErr, priv);
            sp = pushLegacy(ss, sp, sm, w, oldSp, ssErr, priv);
            // the parameters, in their order on the caller's stack (read with the caller's privilege)
            long osm = mask(x.stackAddrSize());
            for (int k = gateParameters - 1; k >= 0; k--) {
                long v = m.read(x.stackLin((oldSp + (long) k * w) & osm, w, false), w, x.dataPriv);
                sp = pushLegacy(ss, sp, sm, w, v, ssErr, priv);
            }
            sp = pushLegacy(ss, sp, sm, w, oldCs, ssErr, priv);
            sp = pushLegacy(ss, sp, sm, w, ret, ssErr, priv);
            x.commitStaged();
            copy(ss, s.seg[CpuState.SS]);
            x.setReg(Executor.RSP, ss.defaultBig() ? 4 : 2, sp);
        }
        tmpCs.selector = (tmpCs.selector & 0xFFFC) | newCpl;
        copy(tmpCs, s.seg[CpuState.CS]);
        s.rip = target;
        x.retire();
    }

    /** Stages a push on a legacy stack segment; a limit violation is #SS(err). */
    long pushLegacy(Segment ss, long sp, long sm, int w, long value, int err, int priv) {
        sp = (sp - w) & sm;
        long lin = x.legacyLinear(ss, true, sp, w, true, err);
        x.stage(lin, w, value & mask(w), priv);
        return sp;
    }

    /** Stages a push of 8 bytes in IA-32e mode; a non-canonical stack address is #SS(err). */
    long push64(long sp, long value, int err, int priv) {
        sp -= 8;
        if (!Executor.canonical(sp)) {
            throw fault.set(Exceptions.SS, err);
        }
        x.stage(sp, 8, value, priv);
        return sp;
    }

    // ============================================================================== the TSS's stacks

    /**
     * The stack of privilege level {@code newCpl} in the current 16- or 32-bit TSS (SDM Vol. 3A 7.2.1 and 6.12.1,
     * CALL's "MORE-PRIVILEGE"): the TSS must hold SSn:ESPn (#TS(TR)); SSn must be a non-null selector with RPL =
     * newCpl (#TS), within its table (#TS), a writable data segment with DPL = newCpl (#TS), present (#SS). Fills
     * {@link #tmpSs}; returns ESPn (SPn of a 16-bit TSS). {@code ext} goes into every error code.
     */
    long innerStackLegacy(int newCpl, int ext) {
        Segment tr = s.tr;
        boolean tss32 = (tr.accessRights & 8) != 0;
        long spOff = tss32 ? 4 + newCpl * 8L : 2 + newCpl * 4L;
        long ssOff = tss32 ? spOff + 4 : spOff + 2;
        if (tr.unusable() || ssOff + 1 > (tr.limit & 0xFFFF_FFFFL)) {
            throw fault.set(Exceptions.TS, (tr.selector & 0xFFFC) | ext);
        }
        long newSp = m.read((tr.base + spOff) & 0xFFFF_FFFFL, tss32 ? 4 : 2, x.sysPriv);
        int ssSel = (int) m.read((tr.base + ssOff) & 0xFFFF_FFFFL, 2, x.sysPriv);
        int err = (ssSel & 0xFFFC) | ext;
        if ((ssSel & 0xFFFC) == 0) {
            throw fault.set(Exceptions.TS, ext);
        }
        if ((ssSel & 3) != newCpl) {
            throw fault.set(Exceptions.TS, err);
        }
        long lin;
        try {
            lin = descriptorLinear(ssSel, err);
        } catch (CpuFault f) {
            if (f.vector == Exceptions.GP) {
                throw fault.set(Exceptions.TS, err); // beyond the table limit: #TS for a TSS stack
            }
            throw f;
        }
        long d = readDescriptor(lin);
        int ar = ar(d);
        if (!isData(ar) || (ar & 2) == 0 || dpl(ar) != newCpl) {
            throw fault.set(Exceptions.TS, err);
        }
        if (!present(ar)) {
            throw fault.set(Exceptions.SS, err);
        }
        setAccessed(lin, d);
        tmpSs.set(ssSel, base(d), limit(d), ar | 1);
        return newSp;
    }

    /** RSPn or ISTn at {@code offset} in the 64-bit TSS (SDM Vol. 3A 7.7): #TS(TR) beyond its limit. */
    long tssRsp64(long offset, int ext) {
        Segment tr = s.tr;
        if (tr.unusable() || offset + 7 > (tr.limit & 0xFFFF_FFFFL)) {
            throw fault.set(Exceptions.TS, (tr.selector & 0xFFFC) | ext);
        }
        return m.read(tr.base + offset, 8, x.sysPriv);
    }

    // ============================================================================== task switches

    /**
     * A far JMP/CALL to a TSS or a task gate: the checks SDM Vol. 3C 26.4.2 makes before the task switch's VM exit
     * (task switches are not allowed in VMX non-root operation; the VMM performs them). In IA-32e mode, and for any
     * other system descriptor, #GP(sel).
     */
    private void taskTransfer(int sel, long d, int source) {
        int err = sel & 0xFFFC;
        int ar = ar(d);
        int type = ar & 0x1F;
        if (s.longModeActive()) {
            throw fault.set(Exceptions.GP, err);
        }
        int cpl = x.cpl;
        if (type == TSS16_AVAILABLE || type == TSS32_AVAILABLE) {
            // directly to a TSS: DPL >= CPL and RPL (SDM Vol. 2A JMP/CALL "TASK-STATE-SEGMENT")
            if (dpl(ar) < cpl || dpl(ar) < (sel & 3) || (sel & 4) != 0) {
                throw fault.set(Exceptions.GP, err);
            }
            if (!present(ar)) {
                throw fault.set(Exceptions.NP, err);
            }
            checkTssLimit(sel, d, 0);
            hooks.taskSwitch(sel, source, x.i.len);
            throw new IllegalStateException(TASK_SWITCH_RETURNED);
        }
        if (type == TASK_GATE) {
            if (dpl(ar) < cpl || dpl(ar) < (sel & 3)) {
                throw fault.set(Exceptions.GP, err);
            }
            if (!present(ar)) {
                throw fault.set(Exceptions.NP, err);
            }
            int tssSel = (int) (d >>> 16) & 0xFFFF;
            checkGateTss(tssSel, 0);
            hooks.taskSwitch(tssSel, source, x.i.len);
            throw new IllegalStateException(TASK_SWITCH_RETURNED);
        }
        throw fault.set(Exceptions.GP, err); // busy TSS, LDT, interrupt/trap gate, 16-bit call gate in IA-32e
    }

    static final String TASK_SWITCH_RETURNED = "NonRootHooks.taskSwitch returned: task switches always cause a VM "
            + "exit in VMX non-root operation (SDM Vol. 3C 26.4.2), and the interpreter runs nothing else";

    /**
     * The TSS a task gate names (JMP/CALL through a task gate, or a task gate in the IDT): in the GDT (TI = 0) and
     * within its limit (#GP(TSS)), an available TSS (#GP(TSS)), present (#NP(TSS)), with a limit that holds a TSS
     * (#TS(TSS)). SDM Vol. 2A JMP "TASK-GATE", INT n "TASK-GATE".
     */
    void checkGateTss(int tssSel, int ext) {
        int err = (tssSel & 0xFFFC) | ext;
        if ((tssSel & 4) != 0) {
            throw fault.set(Exceptions.GP, err);
        }
        long d = readDescriptor(descriptorLinear(tssSel, err));
        int type = ar(d) & 0x1F;
        if (type != TSS16_AVAILABLE && type != TSS32_AVAILABLE) {
            throw fault.set(Exceptions.GP, err);
        }
        if (!present(ar(d))) {
            throw fault.set(Exceptions.NP, err);
        }
        checkTssLimit(tssSel, d, ext);
    }

    /** A TSS's limit must cover its fixed part: 67H for a 32-bit TSS, 2BH for a 16-bit one (SDM 7.2.2, 7.3). */
    private void checkTssLimit(int tssSel, long d, int ext) {
        long min = (ar(d) & 8) != 0 ? 0x67 : 0x2B;
        if ((limit(d) & 0xFFFF_FFFFL) < min) {
            throw fault.set(Exceptions.TS, (tssSel & 0xFFFC) | ext);
        }
    }

    /**
     * IRET with NT = 1 outside IA-32e mode: a task return to the TSS in the current TSS's previous-task link field,
     * which must be in the GDT and within it (#TS), a busy TSS (#TS), present (#NP), with a TSS's limit (#TS); then
     * the task switch's VM exit (SDM Vol. 2A IRET "TASK-RETURN", Vol. 3C 26.4.2).
     */
    private void taskReturn() {
        Segment tr = s.tr;
        if (tr.unusable() || (tr.limit & 0xFFFF_FFFFL) < 1) {
            throw fault.set(Exceptions.TS, tr.selector & 0xFFFC);
        }
        int link = (int) m.read(tr.base & 0xFFFF_FFFFL, 2, x.sysPriv);
        int err = link & 0xFFFC;
        if ((link & 4) != 0) {
            throw fault.set(Exceptions.TS, err);
        }
        long lin;
        try {
            lin = descriptorLinear(link, err);
        } catch (CpuFault f) {
            if (f.vector == Exceptions.GP) {
                throw fault.set(Exceptions.TS, err);
            }
            throw f;
        }
        long d = readDescriptor(lin);
        int type = ar(d) & 0x1F;
        if (type != TSS16_BUSY && type != TSS32_BUSY) {
            throw fault.set(Exceptions.TS, err);
        }
        if (!present(ar(d))) {
            throw fault.set(Exceptions.NP, err);
        }
        checkTssLimit(link, d, 0);
        hooks.taskSwitch(link, NonRootHooks.TASK_SWITCH_IRET, x.i.len);
        throw new IllegalStateException(TASK_SWITCH_RETURNED);
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
        Virtual8086.load(s.seg[CpuState.CS], sel, x.vm86);
    }

    /** RET far (CB, CA iw), same or outer privilege (SDM Vol. 2B RET). */
    void farReturn(int extra) {
        int size = x.i.opSize;
        long ip = x.peek(0, size);
        int csSel = (int) x.peek(size, size) & 0xFFFF;
        if (x.segments8086) {
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
        commitOuterReturn(newSp, extra, size, rpl);
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

    /**
     * Commits CS, SS and RSP of a return to an outer privilege level, then nulls the data segments it may not use.
     * The popped stack pointer has the operand's size (a 16-bit RET/IRET loads 16 bits, zero-extended); {@code
     * extra} (RET imm16) is then added with the new stack's address size (SDM Vol. 2B RET, "ESP <- tempESP; ESP <- ESP
     * + SRC").
     */
    private void commitOuterReturn(long poppedSp, long extra, int size, int rpl) {
        copy(tmpCs, s.seg[CpuState.CS]);
        copy(tmpSs, s.seg[CpuState.SS]);
        int sas = s.longModeActive() && tmpCs.longMode() ? 8 : tmpSs.defaultBig() ? 4 : 2;
        x.setReg(Executor.RSP, sas, ((poppedSp & mask(Math.min(size, 8))) + extra) & mask(sas));
        for (int sg : DATA_SEGMENTS) {
            Segment sd = s.seg[sg];
            int ar = sd.accessRights;
            if (!sd.unusable() && (isData(ar) || (ar & 4) == 0) && dpl(ar) < rpl) {
                sd.set(0, 0, 0, Segment.AR_UNUSABLE);
            }
        }
    }

    private static final int[] DATA_SEGMENTS = {CpuState.ES, CpuState.DS, CpuState.FS, CpuState.GS};

    /**
     * IRET / IRETD / IRETQ (SDM Vol. 2A IRET): real mode, protected mode and IA-32e mode; same or outer privilege; to
     * virtual-8086 mode from CPL 0 and within it ({@link Virtual8086}).
     */
    void iret() {
        // SDM Vol. 3C 26.3 and 28.2.2: whether this IRET removes (virtual-)NMI blocking, for finishIret and the exits
        s.iretUnblockingNmi = (s.interruptibility & CpuState.INTERRUPTIBILITY_NMI) != 0 && x.hooks.iretUnblocksNmi();
        if (x.vm86) {
            x.v86.iret(); // RETURN-FROM-VIRTUAL-8086-MODE comes before the NT check
            return;
        }
        int size = x.i.opSize;
        long old = s.rflags();
        boolean lma = s.longModeActive();
        if (!x.realMode && (old & Rflags.NT) != 0) {
            if (lma) {
                throw fault.set(Exceptions.GP, 0); // no task returns in IA-32e mode
            }
            taskReturn(); // nothing is popped
        }
        long ip = x.peek(0, size);
        int csSel = (int) x.peek(size, size) & 0xFFFF;
        long fl = x.peek(2 * size, size);
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
        if (!lma && (fl & Rflags.VM) != 0 && x.cpl == 0) {
            // only a 32-bit frame holds VM (a 16-bit one was read as 16 bits); RETURN-TO-VIRTUAL-8086-MODE
            x.v86.iretToVirtual8086(ip & 0xFFFF_FFFFL, csSel, fl);
            return;
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
            commitOuterReturn(newSp, 0, size, rpl);
        } else {
            x.addSp(3L * size);
            copy(tmpCs, s.seg[CpuState.CS]);
        }
        s.setRflags(newFlags);
        finishIret(target);
    }

    void finishIret(long target) {
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
