package io.jvmx.handlers.taskswitch;

import io.jvmx.handlers.taskswitch.GuestLinearMemory.GuestPageFault;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.vmcs.VmcsField;

/**
 * One task switch (SDM Vol. 3A 7.3), performed on the guest's state in the VMCS and its memory after the TASK_SWITCH
 * VM exit, which tells the new TSS's selector and what started the switch (SDM Vol. 3C 28.2.1 Table 28-2): CALL, JMP,
 * IRET (NT = 1) or a task gate in the IDT (the event in the IDT-vectoring information, 28.2.4). The processor has
 * already made the checks of 26.4.2 (gate DPL and P, the TSS descriptor's type, busy bit, P and limit); the switch
 * itself follows the steps of 7.3:
 * <ol>
 *   <li>the old task's dynamic state (EIP after the instruction, or the event's return address; EFLAGS with NT
 *       cleared for IRET; the general registers; the segment selectors) is saved in the old TSS;</li>
 *   <li>JMP and IRET clear the old TSS descriptor's busy bit; CALL and interrupts keep it and store the old TSS
 *       selector in the new TSS's previous-task link, with NT = 1 in the new task's EFLAGS; every switch but IRET sets
 *       the new descriptor's busy bit;</li>
 *   <li>TR is loaded, CR0.TS set, the local breakpoint enables of DR7 cleared (18.2.4), and the new task's state
 *       loaded: CR3 (32-bit TSS; with PAE paging the PDPTEs, 4.4.1), EFLAGS, EIP, the general registers, the LDTR and
 *       the segment registers, each checked as Table 7-1 says; a check that fails is an exception in the context of
 *       the new task (#TS, #NP or #SS with the selector);</li>
 *   <li>an exception's error code is pushed on the new task's stack; EIP must lie within the new CS (#GP(0)).</li>
 * </ol>
 * A 16-bit TSS loads the low 16 bits of the general registers; their upper halves keep their values (the SDM does not
 * say). Not supported, each stopping the vCPU with an error that says so: a page fault on the TSSs or the GDT (the VCpu API
 * cannot set the guest's CR2, so the #PF could not be delivered right), a new task in virtual-8086 mode, and the
 * TSS's T flag (its #DB trap must report DR6.BT, which no VMCS field carries).
 */
final class TaskSwitch {
    static final int SOURCE_CALL = 0, SOURCE_IRET = 1, SOURCE_JMP = 2, SOURCE_IDT = 3;

    private static final VmcsField[] SELECTOR = {VmcsField.GUEST_ES_SELECTOR, VmcsField.GUEST_CS_SELECTOR,
            VmcsField.GUEST_SS_SELECTOR, VmcsField.GUEST_DS_SELECTOR, VmcsField.GUEST_FS_SELECTOR,
            VmcsField.GUEST_GS_SELECTOR};
    private static final VmcsField[] BASE = {VmcsField.GUEST_ES_BASE, VmcsField.GUEST_CS_BASE,
            VmcsField.GUEST_SS_BASE, VmcsField.GUEST_DS_BASE, VmcsField.GUEST_FS_BASE, VmcsField.GUEST_GS_BASE};
    private static final VmcsField[] LIMIT = {VmcsField.GUEST_ES_LIMIT, VmcsField.GUEST_CS_LIMIT,
            VmcsField.GUEST_SS_LIMIT, VmcsField.GUEST_DS_LIMIT, VmcsField.GUEST_FS_LIMIT, VmcsField.GUEST_GS_LIMIT};
    private static final VmcsField[] RIGHTS = {VmcsField.GUEST_ES_ACCESS_RIGHTS, VmcsField.GUEST_CS_ACCESS_RIGHTS,
            VmcsField.GUEST_SS_ACCESS_RIGHTS, VmcsField.GUEST_DS_ACCESS_RIGHTS, VmcsField.GUEST_FS_ACCESS_RIGHTS,
            VmcsField.GUEST_GS_ACCESS_RIGHTS};
    private static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    /** Where each segment selector is in a 32-bit TSS, by the order above (Figure 7-2); a 16-bit TSS has ES-DS. */
    private static final int[] TSS32_SELECTOR = {0x48, 0x4C, 0x50, 0x54, 0x58, 0x5C};
    private static final int[] TSS16_SELECTOR = {0x22, 0x24, 0x26, 0x28, -1, -1};
    private static final int UNUSABLE = 1 << 16;

    private final VCpu v;
    private final GuestLinearMemory memory;
    private final long gdtBase;
    private final long gdtLimit;

    TaskSwitch(VCpu vcpu) {
        this.v = vcpu;
        this.memory = new GuestLinearMemory(vcpu);
        this.gdtBase = vcpu.vmread(VmcsField.GUEST_GDTR_BASE) & 0xFFFF_FFFFL;
        this.gdtLimit = vcpu.vmread(VmcsField.GUEST_GDTR_LIMIT) & 0xFFFF;
    }

    /** Performs the switch an exit reported; exceptions it meets are queued for the guest. */
    void perform(VmExitInfo exit) {
        try {
            doSwitch(exit);
        } catch (GuestPageFault pf) {
            throw new IllegalStateException("task switch: " + pf.getMessage() + " on a TSS or the GDT; a #PF cannot "
                    + "be delivered for it because the VCpu API cannot set the guest's CR2", pf);
        }
    }

    private void doSwitch(VmExitInfo exit) {
        long qualification = exit.qualification();
        int newSel = (int) qualification & 0xFFFF;
        int source = (int) (qualification >>> 30) & 3;
        InterruptionInfo event = InterruptionInfo.decode(v.vmread(VmcsField.IDT_VECTORING_INFORMATION));
        boolean throughIdt = source == SOURCE_IDT && event.valid();
        boolean softwareEvent = throughIdt && (event.type() == InterruptionType.SOFTWARE_INTERRUPT
                || event.type() == InterruptionType.SOFTWARE_EXCEPTION
                || event.type() == InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION);
        int ext = throughIdt && !softwareEvent ? 1 : 0;

        // the descriptors (SDM 7.2.2): the processor checked them before the exit; read them again
        int oldSel = (int) v.vmread(VmcsField.GUEST_TR_SELECTOR) & 0xFFFF;
        long oldBase = v.vmread(VmcsField.GUEST_TR_BASE) & 0xFFFF_FFFFL;
        boolean old32 = (v.vmread(VmcsField.GUEST_TR_ACCESS_RIGHTS) & 8) != 0;
        long newDescriptor = gdtDescriptor(newSel);
        int newType = (int) (newDescriptor >>> 40) & 0x1F;
        boolean new32 = (newType & 8) != 0;
        long newBase = base(newDescriptor);
        long newLimit = limit(newDescriptor);
        if (newLimit < (new32 ? 0x67 : 0x2B)) {
            fault(Exceptions.TS, (newSel & 0xFFFC) | ext);
            return;
        }

        // everything the new task needs, read before anything changes
        long[] regs = new long[8];
        int[] selectors = new int[6];
        long newEip, newFlags, newCr3 = 0;
        int ldtSel;
        boolean trap;
        if (new32) {
            newCr3 = memory.read(newBase + 0x1C, 4);
            newEip = memory.read(newBase + 0x20, 4);
            newFlags = memory.read(newBase + 0x24, 4);
            for (int r = 0; r < 8; r++) {
                regs[r] = memory.read(newBase + 0x28 + 4L * r, 4);
            }
            for (int sg = 0; sg < 6; sg++) {
                selectors[sg] = (int) memory.read(newBase + TSS32_SELECTOR[sg], 2);
            }
            ldtSel = (int) memory.read(newBase + 0x60, 2);
            trap = (memory.read(newBase + 0x64, 2) & 1) != 0;
        } else {
            newEip = memory.read(newBase + 0x0E, 2);
            newFlags = memory.read(newBase + 0x10, 2);
            for (int r = 0; r < 8; r++) {
                regs[r] = memory.read(newBase + 0x12 + 2L * r, 2);
            }
            for (int sg = 0; sg < 4; sg++) {
                selectors[sg] = (int) memory.read(newBase + TSS16_SELECTOR[sg], 2);
            }
            ldtSel = (int) memory.read(newBase + 0x2A, 2);
            trap = false;
        }
        if (trap) {
            throw new UnsupportedOperationException("task switch to a TSS with the T flag set: its debug trap must "
                    + "report DR6.BT, which the VMCS cannot carry (SDM 7.2.1, 18.3.1.5)");
        }
        if ((newFlags & Rflags.VM) != 0 && new32) {
            throw new UnsupportedOperationException("task switch to a virtual-8086 task (EFLAGS.VM = 1 in the new "
                    + "TSS): virtual-8086 mode is not supported");
        }

        // the old task's state (7.3 step 8), then the busy bits and the link (steps 6, 9, 10)
        long eip = v.rip() + (source == SOURCE_IDT && !softwareEvent ? 0 : exit.instructionLength());
        long flags = v.vmread(VmcsField.GUEST_RFLAGS);
        if (source == SOURCE_IRET) {
            flags &= ~Rflags.NT;
        }
        saveOldTask(old32, oldBase, eip, flags);
        if (source == SOURCE_JMP || source == SOURCE_IRET) {
            setBusy(oldSel, false);
        }
        if (source == SOURCE_CALL || source == SOURCE_IDT) {
            memory.write(newBase, 2, oldSel);
            newFlags |= Rflags.NT;
        }
        if (source != SOURCE_IRET) {
            setBusy(newSel, true);
        }

        // the commit point: TR, CR0.TS, DR7's local enables, then the new task's state (step 11, 12)
        v.vmwrite(VmcsField.GUEST_TR_SELECTOR, newSel);
        v.vmwrite(VmcsField.GUEST_TR_BASE, newBase);
        v.vmwrite(VmcsField.GUEST_TR_LIMIT, newLimit);
        v.vmwrite(VmcsField.GUEST_TR_ACCESS_RIGHTS, rights(newDescriptor) | 2);
        v.setGuestCr(0, v.guestCr(0) | Cr0.TS);
        v.vmwrite(VmcsField.GUEST_DR7, v.vmread(VmcsField.GUEST_DR7) & ~0x155L);
        if (new32 && (v.vmread(VmcsField.GUEST_CR0) & Cr0.PG) != 0 && !loadCr3(newCr3)) {
            fault(Exceptions.GP, 0);
            return;
        }
        v.vmwrite(VmcsField.GUEST_RFLAGS, (newFlags & 0x3F_7FD7L) | Rflags.FIXED_1);
        v.vmwrite(VmcsField.GUEST_RIP, newEip);
        for (int r = 0; r < 8; r++) {
            long value = new32 ? regs[r] : (v.readGpr(r) & ~0xFFFFL) | regs[r];
            v.writeGpr(r, value);
        }
        // blocking by STI or MOV SS ends with the instruction; an NMI through a task gate blocks NMIs (6.7.1)
        long interruptibility = v.vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE) & ~3L;
        if (throughIdt && event.type() == InterruptionType.NMI) {
            interruptibility |= 8;
        }
        v.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, interruptibility);
        // the selectors are loaded first, then the descriptors, each checked (Table 7-1)
        for (int sg = 0; sg < 6; sg++) {
            v.vmwrite(SELECTOR[sg], selectors[sg]);
        }
        v.vmwrite(VmcsField.GUEST_LDTR_SELECTOR, ldtSel);
        if (!loadLdt(ldtSel, ext) || !loadSegments(selectors, ext)) {
            return;
        }

        // the error code of an exception delivered through the task gate goes on the new stack (INT n "TASK-GATE")
        if (throughIdt && event.errorCodeValid()) {
            int size = new32 ? 4 : 2;
            boolean big = (v.vmread(VmcsField.GUEST_SS_ACCESS_RIGHTS) & (1 << 14)) != 0;
            long mask = big ? 0xFFFF_FFFFL : 0xFFFF;
            long sp = (v.readGpr(4) - size) & mask;
            long ssLimit = v.vmread(VmcsField.GUEST_SS_LIMIT) & 0xFFFF_FFFFL;
            if (sp + size - 1 > ssLimit) {
                fault(Exceptions.SS, ext);
                return;
            }
            memory.write(v.vmread(VmcsField.GUEST_SS_BASE) + sp, size,
                    v.vmread(VmcsField.IDT_VECTORING_ERROR_CODE));
            v.writeGpr(4, (v.readGpr(4) & ~mask) | sp);
        }
        if ((newEip & 0xFFFF_FFFFL) > (v.vmread(VmcsField.GUEST_CS_LIMIT) & 0xFFFF_FFFFL)) {
            fault(Exceptions.GP, ext);
        }
    }

    private void saveOldTask(boolean old32, long base, long eip, long flags) {
        if (old32) {
            memory.write(base + 0x20, 4, eip);
            memory.write(base + 0x24, 4, flags);
            for (int r = 0; r < 8; r++) {
                memory.write(base + 0x28 + 4L * r, 4, v.readGpr(r));
            }
            for (int sg = 0; sg < 6; sg++) {
                memory.write(base + TSS32_SELECTOR[sg], 2, v.vmread(SELECTOR[sg]));
            }
        } else {
            memory.write(base + 0x0E, 2, eip);
            memory.write(base + 0x10, 2, flags);
            for (int r = 0; r < 8; r++) {
                memory.write(base + 0x12 + 2L * r, 2, v.readGpr(r));
            }
            for (int sg = 0; sg < 4; sg++) {
                memory.write(base + TSS16_SELECTOR[sg], 2, v.vmread(SELECTOR[sg]));
            }
        }
    }

    /** Sets or clears the busy bit (type bit 1) of the TSS descriptor {@code sel} in the GDT (SDM 7.2.2). */
    private void setBusy(int sel, boolean busy) {
        long at = gdtBase + (sel & 0xFFF8) + 5;
        long type = memory.read(at, 1);
        memory.write(at, 1, busy ? type | 2 : type & ~2);
    }

    /** CR3 from a 32-bit TSS, with the PDPTEs of PAE paging (4.4.1): false if a present PDPTE has a reserved bit. */
    private boolean loadCr3(long cr3) {
        if ((v.vmread(VmcsField.GUEST_CR4) & Cr4.PAE) != 0) {
            VmcsField[] fields = {VmcsField.GUEST_PDPTE0, VmcsField.GUEST_PDPTE1, VmcsField.GUEST_PDPTE2,
                    VmcsField.GUEST_PDPTE3};
            long[] entries = new long[4];
            for (int i = 0; i < 4; i++) {
                long pa = (cr3 & 0xFFFF_FFE0L) + 8L * i;
                long e = 0;
                for (int b = 0; b < 8; b++) {
                    e |= (long) v.guestMemory().read8(pa + b) << (8 * b);
                }
                if ((e & 1) != 0 && (e & 0xFFF0_0000_0000_01E6L) != 0) {
                    return false;
                }
                entries[i] = e;
            }
            for (int i = 0; i < 4; i++) {
                v.vmwrite(fields[i], entries[i]);
            }
        }
        v.vmwrite(VmcsField.GUEST_CR3, cr3);
        return true;
    }

    /** The LDTR of the new task (Table 7-1): null, or an LDT descriptor in the GDT that is present; else #TS. */
    private boolean loadLdt(int sel, int ext) {
        if ((sel & 0xFFFC) == 0) {
            v.vmwrite(VmcsField.GUEST_LDTR_BASE, 0);
            v.vmwrite(VmcsField.GUEST_LDTR_LIMIT, 0);
            v.vmwrite(VmcsField.GUEST_LDTR_ACCESS_RIGHTS, UNUSABLE);
            return true;
        }
        int err = (sel & 0xFFFC) | ext;
        if ((sel & 4) != 0 || (sel & 0xFFF8) + 7L > gdtLimit) {
            fault(Exceptions.TS, err);
            return false;
        }
        long d = memory.read(gdtBase + (sel & 0xFFF8), 4) | (memory.read(gdtBase + (sel & 0xFFF8) + 4, 4) << 32);
        if (((d >>> 40) & 0x1F) != 0x02 || ((d >>> 47) & 1) == 0) {
            fault(Exceptions.TS, err);
            return false;
        }
        v.vmwrite(VmcsField.GUEST_LDTR_BASE, base(d));
        v.vmwrite(VmcsField.GUEST_LDTR_LIMIT, limit(d));
        v.vmwrite(VmcsField.GUEST_LDTR_ACCESS_RIGHTS, rights(d));
        return true;
    }

    /**
     * CS, SS, DS, ES, FS, GS of the new task, with the checks of Table 7-1; the new CPL is CS.RPL. A failing check
     * queues #TS (or #NP, #SS) with the selector and returns false.
     */
    private boolean loadSegments(int[] selectors, int ext) {
        int cpl = selectors[CS] & 3;
        int[] order = {CS, SS, DS, ES, FS, GS};
        for (int sg : order) {
            int sel = selectors[sg];
            int err = (sel & 0xFFFC) | ext;
            if ((sel & 0xFFFC) == 0) {
                if (sg == CS || sg == SS) {
                    fault(Exceptions.TS, err);
                    return false;
                }
                v.vmwrite(BASE[sg], 0);
                v.vmwrite(LIMIT[sg], 0);
                v.vmwrite(RIGHTS[sg], UNUSABLE);
                continue;
            }
            long at = descriptorAddress(sel);
            if (at < 0) {
                fault(Exceptions.TS, err);
                return false;
            }
            long d = memory.read(at, 4) | (memory.read(at + 4, 4) << 32);
            int ar = rights(d);
            int dpl = (ar >>> 5) & 3;
            boolean code = (ar & 0x18) == 0x18;
            boolean data = (ar & 0x18) == 0x10;
            boolean conforming = code && (ar & 4) != 0;
            boolean ok;
            int notPresent = Exceptions.NP;
            switch (sg) {
                case CS:
                    ok = code && (conforming ? dpl <= cpl : dpl == cpl);
                    break;
                case SS:
                    ok = data && (ar & 2) != 0 && (sel & 3) == cpl && dpl == cpl;
                    notPresent = Exceptions.SS;
                    break;
                default:
                    ok = (data || (code && (ar & 2) != 0)) && (conforming || (dpl >= cpl && dpl >= (sel & 3)));
                    break;
            }
            if (!ok) {
                fault(Exceptions.TS, err);
                return false;
            }
            if ((ar & 0x80) == 0) {
                fault(notPresent, err);
                return false;
            }
            if ((ar & 1) == 0) {
                memory.write(at + 5, 1, (d >>> 40) | 1); // the accessed flag (3.4.5.1)
            }
            v.vmwrite(BASE[sg], base(d));
            v.vmwrite(LIMIT[sg], limit(d));
            v.vmwrite(RIGHTS[sg], ar | 1);
        }
        return true;
    }

    /** The linear address of a selector's descriptor in the GDT or LDT, -1 if beyond the table's limit. */
    private long descriptorAddress(int sel) {
        long tableBase, tableLimit;
        if ((sel & 4) != 0) {
            if ((v.vmread(VmcsField.GUEST_LDTR_ACCESS_RIGHTS) & UNUSABLE) != 0) {
                return -1;
            }
            tableBase = v.vmread(VmcsField.GUEST_LDTR_BASE) & 0xFFFF_FFFFL;
            tableLimit = v.vmread(VmcsField.GUEST_LDTR_LIMIT) & 0xFFFF_FFFFL;
        } else {
            tableBase = gdtBase;
            tableLimit = gdtLimit;
        }
        return (sel & 0xFFF8) + 7L > tableLimit ? -1 : tableBase + (sel & 0xFFF8);
    }

    /** The new TSS's descriptor in the GDT (the processor checked that it is there before the exit). */
    private long gdtDescriptor(int sel) {
        if ((sel & 4) != 0 || (sel & 0xFFF8) + 7L > gdtLimit) {
            throw new IllegalStateException(String.format("TASK_SWITCH exit for TSS selector %#x, which is not in "
                    + "the GDT (limit %#x): the processor checks this before the exit (SDM 26.4.2)", sel, gdtLimit));
        }
        long at = gdtBase + (sel & 0xFFF8);
        return memory.read(at, 4) | (memory.read(at + 4, 4) << 32);
    }

    private void fault(int vector, int errorCode) {
        boolean hasError = InterruptionInfo.exceptionHasErrorCode(vector);
        v.queueEvent(vector, InterruptionType.HARDWARE_EXCEPTION, hasError ? errorCode : -1);
    }

    static long base(long d) {
        return ((d >>> 16) & 0xFF_FFFFL) | ((d >>> 32) & 0xFF00_0000L);
    }

    static long limit(long d) {
        long raw = (d & 0xFFFF) | ((d >>> 32) & 0xF_0000);
        return (d & (1L << 55)) != 0 ? (raw << 12) | 0xFFF : raw;
    }

    /** Access rights in the VMCS format (SDM Vol. 3C 25.4.1, Table 25-2). */
    static int rights(long d) {
        return (int) ((d >>> 40) & 0xF0FF);
    }
}
