package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.cpu.CpuState;
import io.jvmx.vmx.emulated.cpu.Segment;

/**
 * Moving processor state between the VMCS and the logical processor: loading guest state at VM entry (SDM 27.3.2),
 * recording exit information (28.2), saving guest state (28.3) and loading host state (28.5).
 */
final class VmTransitions {
    private VmTransitions() {
    }

    /** CR0 bits that VM entry and VM exit do not modify: 28:19, 17, 15:6 and ET (SDM 27.3.2.1, 28.5.1). */
    static final long CR0_UNCHANGED = 0x1FF8_0000L | (1L << 17) | 0xFFC0L | Cr0.ET;
    /** VM exits also leave CD and NW alone (SDM 28.5.1). */
    static final long CR0_UNCHANGED_BY_EXIT = CR0_UNCHANGED | Cr0.CD | Cr0.NW;

    private static final VmcsField[] G_SEL = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR,
            GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
    private static final VmcsField[] G_BASE = {GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE,
            GUEST_FS_BASE, GUEST_GS_BASE};
    private static final VmcsField[] G_LIMIT = {GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT,
            GUEST_FS_LIMIT, GUEST_GS_LIMIT};
    private static final VmcsField[] G_AR = {GUEST_ES_ACCESS_RIGHTS, GUEST_CS_ACCESS_RIGHTS, GUEST_SS_ACCESS_RIGHTS,
            GUEST_DS_ACCESS_RIGHTS, GUEST_FS_ACCESS_RIGHTS, GUEST_GS_ACCESS_RIGHTS};
    private static final VmcsField[] H_SEL = {HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR, HOST_DS_SELECTOR,
            HOST_FS_SELECTOR, HOST_GS_SELECTOR};

    /** SDM 27.3.2: loads the guest-state area into the processor (after the checks of 27.3.1 passed). */
    static void loadGuestState(Vmcs v, CpuState s) {
        int entry = v.get32(VM_ENTRY_CONTROLS);
        boolean ia32e = (entry & VmEntryControls.IA32E_MODE_GUEST) != 0;
        s.cr0 = (v.get(GUEST_CR0) & ~CR0_UNCHANGED) | (s.cr0 & CR0_UNCHANGED);
        s.cr3 = v.get(GUEST_CR3);
        s.cr4 = v.get(GUEST_CR4);
        if ((entry & VmEntryControls.LOAD_DEBUG_CONTROLS) != 0) {
            s.dr7 = v.get(GUEST_DR7);
            s.debugctl = v.get(GUEST_IA32_DEBUGCTL);
        }
        s.sysenterCs = v.get(GUEST_IA32_SYSENTER_CS) & 0xFFFF_FFFFL;
        s.sysenterEsp = v.get(GUEST_IA32_SYSENTER_ESP);
        s.sysenterEip = v.get(GUEST_IA32_SYSENTER_EIP);
        if ((entry & VmEntryControls.LOAD_IA32_PAT) != 0) {
            s.pat = v.get(GUEST_IA32_PAT);
        }
        if ((entry & VmEntryControls.LOAD_IA32_EFER) != 0) {
            s.efer = v.get(GUEST_IA32_EFER);
        } else {
            // 27.3.2.1: LMA follows "IA-32e mode guest"; so does LME when CR0.PG = 1.
            s.efer = ia32e ? s.efer | Efer.LMA : s.efer & ~Efer.LMA;
            if ((s.cr0 & Cr0.PG) != 0) {
                s.efer = ia32e ? s.efer | Efer.LME : s.efer & ~Efer.LME;
            }
        }
        for (int i = 0; i < 6; i++) {
            s.seg[i].set((int) v.get(G_SEL[i]), v.get(G_BASE[i]), (int) v.get(G_LIMIT[i]), (int) v.get(G_AR[i]));
        }
        s.ldtr.set((int) v.get(GUEST_LDTR_SELECTOR), v.get(GUEST_LDTR_BASE), (int) v.get(GUEST_LDTR_LIMIT),
                (int) v.get(GUEST_LDTR_ACCESS_RIGHTS));
        s.tr.set((int) v.get(GUEST_TR_SELECTOR), v.get(GUEST_TR_BASE), (int) v.get(GUEST_TR_LIMIT),
                (int) v.get(GUEST_TR_ACCESS_RIGHTS));
        s.gdtrBase = v.get(GUEST_GDTR_BASE);
        s.gdtrLimit = (int) v.get(GUEST_GDTR_LIMIT);
        s.idtrBase = v.get(GUEST_IDTR_BASE);
        s.idtrLimit = (int) v.get(GUEST_IDTR_LIMIT);
        s.rip = v.get(GUEST_RIP);
        s.gpr[4] = v.get(GUEST_RSP);
        s.setRflags(v.get(GUEST_RFLAGS));
        s.interruptibility = (int) v.get(GUEST_INTERRUPTIBILITY_STATE);
        s.activityState = (int) v.get(GUEST_ACTIVITY_STATE);
        s.pendingDebugExceptions = v.get(GUEST_PENDING_DEBUG_EXCEPTIONS);
        if (paePaging(s)) {
            // 27.3.2.4: with EPT the PDPTEs come from the VMCS, otherwise from the table CR3 points to.
            if (eptEnabled(v)) {
                s.pdpte[0] = v.get(GUEST_PDPTE0);
                s.pdpte[1] = v.get(GUEST_PDPTE1);
                s.pdpte[2] = v.get(GUEST_PDPTE2);
                s.pdpte[3] = v.get(GUEST_PDPTE3);
            } else {
                long table = s.cr3 & 0xFFFF_FFE0L;
                for (int i = 0; i < 4; i++) {
                    long pa = table + 8L * i;
                    s.pdpte[i] = pa + 8 <= v.memory().size() ? v.memory().read64(pa) : 0;
                }
            }
        }
    }

    /** PAE paging: CR0.PG = 1, CR4.PAE = 1, IA32_EFER.LMA = 0 (SDM Vol. 3A 4.1.1). */
    static boolean paePaging(CpuState s) {
        return (s.cr0 & Cr0.PG) != 0 && (s.cr4 & Cr4.PAE) != 0 && (s.efer & Efer.LMA) == 0;
    }

    static boolean eptEnabled(Vmcs v) {
        int primary = v.get32(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        return (primary & PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS) != 0
                && (v.get32(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & SecondaryProcessorBasedControls.ENABLE_EPT) != 0;
    }

    /** SDM 28.2: the VM-exit information fields of a normal VM exit. */
    static void recordExit(Vmcs v, NonRootMonitor m) {
        v.put(EXIT_REASON, m.exitReason & 0xFFFF);
        v.put(EXIT_QUALIFICATION, m.exitQualification);
        v.put(GUEST_LINEAR_ADDRESS, m.guestLinearAddress);
        v.put(GUEST_PHYSICAL_ADDRESS, m.guestPhysicalAddress);
        // 28.2.2: valid only for exception/NMI exits and acknowledged external interrupts; cleared otherwise.
        v.put(VM_EXIT_INTERRUPTION_INFORMATION, m.exitInterruptionInformation);
        if ((m.exitInterruptionInformation & (1 << 11)) != 0) {
            v.put(VM_EXIT_INTERRUPTION_ERROR_CODE, m.exitInterruptionErrorCode);
        }
        // 28.2.4
        v.put(IDT_VECTORING_INFORMATION, m.idtVectoringInformation);
        if ((m.idtVectoringInformation & (1 << 11)) != 0) {
            v.put(IDT_VECTORING_ERROR_CODE, m.idtVectoringErrorCode);
        }
        // 28.2.5
        v.put(VM_EXIT_INSTRUCTION_LENGTH, m.exitInstructionLength);
        v.put(VM_EXIT_INSTRUCTION_INFORMATION, m.exitInstructionInformation);
        if (m.ioRegistersValid) {
            v.put(IO_RCX, m.ioRcx);
            v.put(IO_RSI, m.ioRsi);
            v.put(IO_RDI, m.ioRdi);
            v.put(IO_RIP, m.ioRip);
        }
        // "the valid bit in the VM-entry interruption-information field is cleared on every VM exit" (28.2)
        v.put(VM_ENTRY_INTERRUPTION_INFORMATION,
                v.get(VM_ENTRY_INTERRUPTION_INFORMATION) & ~(long) InterruptionInfo.VALID);
    }

    /** SDM 28.3: saves the guest's state into the guest-state area. */
    static void saveGuestState(Vmcs v, CpuState s, NonRootMonitor m) {
        int exit = v.get32(PRIMARY_VM_EXIT_CONTROLS);
        v.put(GUEST_CR0, s.cr0);
        v.put(GUEST_CR3, s.cr3);
        v.put(GUEST_CR4, s.cr4);
        if ((exit & VmExitControls.SAVE_DEBUG_CONTROLS) != 0) {
            v.put(GUEST_DR7, s.dr7);
            v.put(GUEST_IA32_DEBUGCTL, s.debugctl);
        }
        v.put(GUEST_IA32_SYSENTER_CS, s.sysenterCs);
        v.put(GUEST_IA32_SYSENTER_ESP, s.sysenterEsp);
        v.put(GUEST_IA32_SYSENTER_EIP, s.sysenterEip);
        if ((exit & VmExitControls.SAVE_IA32_PAT) != 0) {
            v.put(GUEST_IA32_PAT, s.pat);
        }
        if ((exit & VmExitControls.SAVE_IA32_EFER) != 0) {
            v.put(GUEST_IA32_EFER, s.efer);
        }
        for (int i = 0; i < 6; i++) {
            Segment g = s.seg[i];
            v.put(G_SEL[i], g.selector);
            v.put(G_BASE[i], g.base);
            v.put(G_LIMIT[i], g.limit);
            v.put(G_AR[i], g.accessRights);
        }
        v.put(GUEST_LDTR_SELECTOR, s.ldtr.selector);
        v.put(GUEST_LDTR_BASE, s.ldtr.base);
        v.put(GUEST_LDTR_LIMIT, s.ldtr.limit);
        v.put(GUEST_LDTR_ACCESS_RIGHTS, s.ldtr.accessRights);
        v.put(GUEST_TR_SELECTOR, s.tr.selector);
        v.put(GUEST_TR_BASE, s.tr.base);
        v.put(GUEST_TR_LIMIT, s.tr.limit);
        v.put(GUEST_TR_ACCESS_RIGHTS, s.tr.accessRights);
        v.put(GUEST_GDTR_BASE, s.gdtrBase);
        v.put(GUEST_GDTR_LIMIT, s.gdtrLimit);
        v.put(GUEST_IDTR_BASE, s.idtrBase);
        v.put(GUEST_IDTR_LIMIT, s.idtrLimit);
        v.put(GUEST_RIP, s.rip);
        v.put(GUEST_RSP, s.gpr[4]);
        v.put(GUEST_RFLAGS, s.rflags());
        v.put(GUEST_INTERRUPTIBILITY_STATE, s.interruptibility);
        v.put(GUEST_ACTIVITY_STATE, s.activityState);
        // 28.3.4: the debug exceptions still pending are saved for an MTF exit, and for an exit other than a #DB's
        // while blocking by MOV SS holds them (the MOV SS's single step or breakpoint traps); otherwise 0
        boolean debugException = m.exitReason == ExitReason.EXCEPTION_OR_NMI.number()
                && (m.exitInterruptionInformation & 0x7FF) == (InterruptionType.HARDWARE_EXCEPTION.code() << 8 | 1);
        boolean keep = m.exitReason == ExitReason.MONITOR_TRAP_FLAG.number()
                || (s.interruptibility & CpuState.INTERRUPTIBILITY_MOV_SS) != 0 && !debugException;
        v.put(GUEST_PENDING_DEBUG_EXCEPTIONS, keep ? s.pendingDebugExceptions : 0);
        if (paePaging(s) && eptEnabled(v)) {
            // 28.3.4: with EPT, the PDPTE registers of a PAE guest are saved.
            v.put(GUEST_PDPTE0, s.pdpte[0]);
            v.put(GUEST_PDPTE1, s.pdpte[1]);
            v.put(GUEST_PDPTE2, s.pdpte[2]);
            v.put(GUEST_PDPTE3, s.pdpte[3]);
        }
        if ((exit & VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE) != 0
                && (v.get32(PIN_BASED_VM_EXECUTION_CONTROLS) & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0) {
            v.put(VMX_PREEMPTION_TIMER_VALUE, m.timerRemaining());
        }
        // 28.3 / IA32_VMX_MISC bit 5: EFER.LMA goes into the "IA-32e mode guest" entry control.
        int entry = v.get32(VM_ENTRY_CONTROLS);
        v.put(VM_ENTRY_CONTROLS, (s.efer & Efer.LMA) != 0 ? entry | VmEntryControls.IA32E_MODE_GUEST
                : entry & ~VmEntryControls.IA32E_MODE_GUEST);
    }

    /** SDM 28.5: loads the host-state area (also after a VM-entry failure, 27.8). */
    static void loadHostState(Vmcs v, CpuState s) {
        int exit = v.get32(PRIMARY_VM_EXIT_CONTROLS);
        boolean hostLong = (exit & VmExitControls.HOST_ADDRESS_SPACE_SIZE) != 0;
        // 28.5.1 control registers, debug registers, MSRs
        s.cr0 = (v.get(HOST_CR0) & ~CR0_UNCHANGED_BY_EXIT) | (s.cr0 & CR0_UNCHANGED_BY_EXIT);
        s.cr3 = v.get(HOST_CR3);
        long cr4 = v.get(HOST_CR4);
        cr4 = hostLong ? cr4 | Cr4.PAE : cr4 & ~Cr4.PCIDE;
        s.cr4 = cr4;
        s.dr7 = 0x400;
        s.debugctl = 0;
        s.sysenterCs = v.get(HOST_IA32_SYSENTER_CS) & 0xFFFF_FFFFL;
        s.sysenterEsp = v.get(HOST_IA32_SYSENTER_ESP);
        s.sysenterEip = v.get(HOST_IA32_SYSENTER_EIP);
        if ((exit & VmExitControls.LOAD_IA32_PAT) != 0) {
            s.pat = v.get(HOST_IA32_PAT);
        }
        if ((exit & VmExitControls.LOAD_IA32_EFER) != 0) {
            s.efer = v.get(HOST_IA32_EFER);
        } else {
            s.efer = hostLong ? s.efer | Efer.LMA | Efer.LME : s.efer & ~(Efer.LMA | Efer.LME);
        }
        // 28.5.2 segment and descriptor-table registers
        for (int i = 0; i < 6; i++) {
            int selector = (int) v.get(H_SEL[i]);
            Segment seg = s.seg[i];
            if (i == CpuState.CS) {
                // type 11 (execute/read, accessed), S, P, L = host address-space size, D = !L, G
                int ar = 0xB | (1 << 4) | (1 << 7) | (1 << 15) | (hostLong ? 1 << 13 : 1 << 14);
                seg.set(selector, 0, 0xFFFF_FFFF, ar);
            } else if (selector == 0 && (i != CpuState.SS || hostLong)) {
                seg.set(0, 0, 0xFFFF_FFFF, Segment.AR_UNUSABLE | (1 << 14) | (1 << 15) | 0x93);
            } else {
                seg.set(selector, 0, 0xFFFF_FFFF, 0x3 | (1 << 4) | (1 << 7) | (1 << 14) | (1 << 15));
            }
        }
        s.seg[CpuState.FS].base = v.get(HOST_FS_BASE);
        s.seg[CpuState.GS].base = v.get(HOST_GS_BASE);
        s.tr.set((int) v.get(HOST_TR_SELECTOR), v.get(HOST_TR_BASE), 0x67, 0xB | (1 << 7));
        s.ldtr.set(0, 0, 0, Segment.AR_UNUSABLE);
        s.gdtrBase = v.get(HOST_GDTR_BASE);
        s.gdtrLimit = 0xFFFF;
        s.idtrBase = v.get(HOST_IDTR_BASE);
        s.idtrLimit = 0xFFFF;
        // 28.5.3 RIP, RSP, RFLAGS
        s.rip = v.get(HOST_RIP);
        s.gpr[4] = v.get(HOST_RSP);
        s.setRflags(2);
        s.interruptibility = 0;
        s.activityState = CpuState.ACTIVITY_ACTIVE;
        s.pendingDebugExceptions = 0;
    }
}
