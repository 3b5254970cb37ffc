package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.vmcs.region.VmcsRegion;
import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.cpu.ConfigurationMsrs;
import io.jvmx.vmx.emulated.cpu.CpuState;

/**
 * The checks VM entry performs before it loads anything (SDM Vol. 3C, 27.2 and 27.3.1). Each method returns null if
 * the checks pass, otherwise a one-line description of the first failed check (the SDM does not say which of
 * several failed checks is reported; this processor reports the first in the order of the SDM's lists).
 */
final class VmEntryChecks {
    private VmEntryChecks() {
    }

    /** What a guest-state check failure reports (SDM 27.8): the exit qualification and why. */
    record GuestStateFailure(int qualification, String detail) {
    }

    static final int QUALIFICATION_DEFAULT = 0;
    static final int QUALIFICATION_PDPTE = 2;
    static final int QUALIFICATION_NMI_BLOCKED = 3;
    static final int QUALIFICATION_LINK_POINTER = 4;

    /** IA32_DEBUGCTL bits the processor implements: none (no LBR, no BTF). */
    static final long DEBUGCTL_SUPPORTED = 0;

    private static String controls(String what, VmxControlCapability cap, int value) {
        if (cap.isValid(value)) {
            return null;
        }
        return String.format("%s %#010x: bits %#x must be 1 and bits %#x must be 0 (%s)", what, value,
                cap.mustBeOne() & ~value, value & ~cap.mayBeOne(), cap.name());
    }

    private static boolean page4kInMemory(long address, long memorySize) {
        return (address & 0xFFF) == 0 && ProcessorModel.physicalAddressValid(address) && address >= 0
                && address + 4096 <= memorySize;
    }

    private static String msrArea(String what, long address, int count, long memorySize) {
        if (count == 0) {
            return null;
        }
        long last = address + 16L * (count & 0xFFFF_FFFFL) - 1;
        if ((address & 0xF) != 0 || !ProcessorModel.physicalAddressValid(address)
                || !ProcessorModel.physicalAddressValid(last) || last >= memorySize) {
            return String.format("%s address %#x for %d entries: must be 16-byte aligned and inside physical memory",
                    what, address, count & 0xFFFF_FFFFL);
        }
        return null;
    }

    /** SDM 27.2.1: VM-execution, VM-exit and VM-entry control fields (failure: VM-instruction error 7). */
    static String checkControls(Vmcs v, long memorySize) {
        int pin = v.get32(PIN_BASED_VM_EXECUTION_CONTROLS);
        int primary = v.get32(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        boolean secondaryActive = (primary & PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS) != 0;
        int secondary = secondaryActive ? v.get32(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) : 0;
        int exit = v.get32(PRIMARY_VM_EXIT_CONTROLS);
        int entry = v.get32(VM_ENTRY_CONTROLS);
        String f;
        // 27.2.1.1 VM-execution control fields
        if ((f = controls("pin-based VM-execution controls", VmxCapabilities.TRUE_PINBASED, pin)) != null) {
            return f;
        }
        if ((f = controls("primary processor-based VM-execution controls", VmxCapabilities.TRUE_PROCBASED,
                primary)) != null) {
            return f;
        }
        if (secondaryActive && (f = controls("secondary processor-based VM-execution controls",
                VmxCapabilities.PROCBASED2, secondary)) != null) {
            return f;
        }
        long cr3Count = v.get(CR3_TARGET_COUNT);
        if (cr3Count > VmxCapabilities.CR3_TARGET_COUNT) {
            return "CR3-target count " + cr3Count + " exceeds " + VmxCapabilities.CR3_TARGET_COUNT;
        }
        if ((primary & PrimaryProcessorBasedControls.USE_IO_BITMAPS) != 0) {
            long a = v.get(IO_BITMAP_A);
            long b = v.get(IO_BITMAP_B);
            if (!page4kInMemory(a, memorySize) || !page4kInMemory(b, memorySize)) {
                return String.format("I/O-bitmap addresses %#x / %#x must be 4-KiB aligned and inside physical memory",
                        a, b);
            }
        }
        if ((primary & PrimaryProcessorBasedControls.USE_MSR_BITMAPS) != 0) {
            long m = v.get(MSR_BITMAPS);
            if (!page4kInMemory(m, memorySize)) {
                return String.format("MSR-bitmap address %#x must be 4-KiB aligned and inside physical memory", m);
            }
        }
        if ((pin & PinBasedControls.NMI_EXITING) == 0 && (pin & PinBasedControls.VIRTUAL_NMIS) != 0) {
            return "\"virtual NMIs\" requires \"NMI exiting\"";
        }
        if ((pin & PinBasedControls.VIRTUAL_NMIS) == 0
                && (primary & PrimaryProcessorBasedControls.NMI_WINDOW_EXITING) != 0) {
            return "\"NMI-window exiting\" requires \"virtual NMIs\"";
        }
        if ((secondary & SecondaryProcessorBasedControls.ENABLE_VPID) != 0 && v.get(VIRTUAL_PROCESSOR_ID) == 0) {
            return "\"enable VPID\" requires a VPID other than 0000H";
        }
        if ((secondary & SecondaryProcessorBasedControls.ENABLE_EPT) != 0) {
            String e = eptPointer(v.get(EPT_POINTER));
            if (e != null) {
                return e;
            }
        }
        if ((secondary & SecondaryProcessorBasedControls.UNRESTRICTED_GUEST) != 0
                && (secondary & SecondaryProcessorBasedControls.ENABLE_EPT) == 0) {
            return "\"unrestricted guest\" requires \"enable EPT\"";
        }
        // 27.2.1.2 VM-exit control fields
        if ((f = controls("VM-exit controls", VmxCapabilities.TRUE_EXIT, exit)) != null) {
            return f;
        }
        if ((pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) == 0
                && (exit & VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE) != 0) {
            return "\"save VMX-preemption timer value\" requires \"activate VMX-preemption timer\"";
        }
        if ((f = msrArea("VM-exit MSR-store", v.get(VM_EXIT_MSR_STORE_ADDRESS), v.get32(VM_EXIT_MSR_STORE_COUNT),
                memorySize)) != null) {
            return f;
        }
        if ((f = msrArea("VM-exit MSR-load", v.get(VM_EXIT_MSR_LOAD_ADDRESS), v.get32(VM_EXIT_MSR_LOAD_COUNT),
                memorySize)) != null) {
            return f;
        }
        // 27.2.1.3 VM-entry control fields
        if ((f = controls("VM-entry controls", VmxCapabilities.TRUE_ENTRY, entry)) != null) {
            return f;
        }
        if ((f = eventInjection(v, secondary)) != null) {
            return f;
        }
        return msrArea("VM-entry MSR-load", v.get(VM_ENTRY_MSR_LOAD_ADDRESS), v.get32(VM_ENTRY_MSR_LOAD_COUNT),
                memorySize);
    }

    /** SDM 27.2.1.1, EPT pointer: a supported memory type, a 4-level walk, A/D only if supported, no reserved bits. */
    static String eptPointer(long eptp) {
        int type = Ept.memoryTypeOfPointer(eptp);
        boolean typeOk = (type == Ept.MEMORY_TYPE_UNCACHEABLE && VmxCapabilities.EPT_CAP.memoryTypeUncacheable())
                || (type == Ept.MEMORY_TYPE_WRITE_BACK && VmxCapabilities.EPT_CAP.memoryTypeWriteBack());
        if (!typeOk) {
            return String.format("EPTP %#x: memory type %d is not supported", eptp, type);
        }
        if (Ept.walkLengthOfPointer(eptp) != 4) {
            return String.format("EPTP %#x: page-walk length %d is not supported (4 only)", eptp,
                    Ept.walkLengthOfPointer(eptp));
        }
        if (Ept.accessedDirtyOfPointer(eptp) && !VmxCapabilities.EPT_CAP.accessedDirtyFlags()) {
            return String.format("EPTP %#x: accessed/dirty flags are not supported", eptp);
        }
        if ((eptp & 0xF80) != 0 || !ProcessorModel.physicalAddressValid(eptp)) {
            return String.format("EPTP %#x: reserved bits 11:7 or bits above MAXPHYADDR are set", eptp);
        }
        return null;
    }

    private static boolean errorCodeVector(int vector) {
        return switch (vector) {
            case 8, 10, 11, 12, 13, 14, 17 -> true;
            default -> false;
        };
    }

    /** SDM 27.2.1.3, VM-entry control fields for event injection. */
    private static String eventInjection(Vmcs v, int secondary) {
        int info = v.get32(VM_ENTRY_INTERRUPTION_INFORMATION);
        if ((info & InterruptionInfo.VALID) == 0) {
            return null;
        }
        int vector = info & 0xFF;
        int type = (info >>> 8) & 7;
        boolean deliverErrorCode = (info & (1 << 11)) != 0;
        if (type == 1) {
            return String.format("VM-entry interruption information %#x: interruption type 1 is reserved", info);
        }
        if ((type == 2 && vector != 2) || (type == 3 && vector > 31) || (type == 7 && vector != 0)) {
            return String.format("VM-entry interruption information %#x: vector %d is invalid for type %d", info,
                    vector, type);
        }
        boolean unrestricted = (secondary & SecondaryProcessorBasedControls.UNRESTRICTED_GUEST) != 0;
        boolean protectedMode = !unrestricted || (v.get(GUEST_CR0) & Cr0.PE) != 0;
        boolean required = protectedMode && type == 3 && errorCodeVector(vector);
        if (deliverErrorCode != required) {
            return String.format("VM-entry interruption information %#x: deliver-error-code must be %d", info,
                    required ? 1 : 0);
        }
        if ((info & 0x7FFF_F000) != 0) {
            return String.format("VM-entry interruption information %#x: reserved bits 30:12 are set", info);
        }
        if (deliverErrorCode && (v.get32(VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xFFFF_0000) != 0) {
            return "VM-entry exception error code: bits 31:16 must be 0";
        }
        if (type == 4 || type == 5 || type == 6) {
            long length = v.get(VM_ENTRY_INSTRUCTION_LENGTH);
            // IA32_VMX_MISC bit 30 is 0: a length of 0 is not allowed.
            if (length < 1 || length > 15) {
                return "VM-entry instruction length " + length + " must be 1-15 for a software event";
            }
        }
        return null;
    }

    static boolean validPat(long pat) {
        return ConfigurationMsrs.validPat(pat);
    }

    /** SDM 27.2.2-27.2.4: host-state area (failure: VM-instruction error 8). */
    static String checkHostState(Vmcs v, CpuState cpu) {
        int exit = v.get32(PRIMARY_VM_EXIT_CONTROLS);
        int entry = v.get32(VM_ENTRY_CONTROLS);
        boolean hostLong = (exit & VmExitControls.HOST_ADDRESS_SPACE_SIZE) != 0;
        long cr0 = v.get(HOST_CR0);
        long cr4 = v.get(HOST_CR4);
        if ((cr0 & VmxCapabilities.CR0_FIXED0) != VmxCapabilities.CR0_FIXED0
                || (cr0 & ~VmxCapabilities.CR0_FIXED1) != 0) {
            return String.format("host CR0 %#x violates IA32_VMX_CR0_FIXED0/1", cr0);
        }
        if ((cr4 & VmxCapabilities.CR4_FIXED0) != VmxCapabilities.CR4_FIXED0
                || (cr4 & ~VmxCapabilities.CR4_FIXED1) != 0) {
            return String.format("host CR4 %#x violates IA32_VMX_CR4_FIXED0/1", cr4);
        }
        if (!ProcessorModel.physicalAddressValid(v.get(HOST_CR3))) {
            return String.format("host CR3 %#x sets bits above MAXPHYADDR", v.get(HOST_CR3));
        }
        if (!ProcessorModel.canonical(v.get(HOST_IA32_SYSENTER_ESP))
                || !ProcessorModel.canonical(v.get(HOST_IA32_SYSENTER_EIP))) {
            return "host IA32_SYSENTER_ESP/EIP must be canonical";
        }
        if ((exit & VmExitControls.LOAD_IA32_PAT) != 0 && !validPat(v.get(HOST_IA32_PAT))) {
            return String.format("host IA32_PAT %#x holds an invalid memory type", v.get(HOST_IA32_PAT));
        }
        if ((exit & VmExitControls.LOAD_IA32_EFER) != 0) {
            long efer = v.get(HOST_IA32_EFER);
            if ((efer & ~ProcessorModel.EFER_IMPLEMENTED) != 0) {
                return String.format("host IA32_EFER %#x sets reserved bits", efer);
            }
            if (((efer & Efer.LMA) != 0) != hostLong || ((efer & Efer.LME) != 0) != hostLong) {
                return String.format("host IA32_EFER %#x: LMA and LME must equal \"host address-space size\"", efer);
            }
        }
        // 27.2.3 selector, base and descriptor-table fields
        for (VmcsField s : HOST_SELECTORS) {
            if ((v.get(s) & 7) != 0) {
                return String.format("%s %#x: RPL and TI must be 0", s, v.get(s));
            }
        }
        if (v.get(HOST_CS_SELECTOR) == 0) {
            return "host CS selector must not be 0";
        }
        if (v.get(HOST_TR_SELECTOR) == 0) {
            return "host TR selector must not be 0";
        }
        if (!hostLong && v.get(HOST_SS_SELECTOR) == 0) {
            return "host SS selector must not be 0 when \"host address-space size\" is 0";
        }
        for (VmcsField b : HOST_BASES) {
            if (!ProcessorModel.canonical(v.get(b))) {
                return String.format("%s %#x is not canonical", b, v.get(b));
            }
        }
        // 27.2.4 address-space size
        boolean ia32e = (cpu.efer & Efer.LMA) != 0;
        if (!ia32e && (hostLong || (entry & VmEntryControls.IA32E_MODE_GUEST) != 0)) {
            return "outside IA-32e mode, \"host address-space size\" and \"IA-32e mode guest\" must be 0";
        }
        if (ia32e && !hostLong) {
            return "in IA-32e mode, \"host address-space size\" must be 1";
        }
        long rip = v.get(HOST_RIP);
        if (!hostLong) {
            if ((cr4 & Cr4.PCIDE) != 0) {
                return "host CR4.PCIDE must be 0 when \"host address-space size\" is 0";
            }
            if ((rip >>> 32) != 0) {
                return String.format("host RIP %#x: bits 63:32 must be 0", rip);
            }
        } else {
            if ((cr4 & Cr4.PAE) == 0) {
                return "host CR4.PAE must be 1 when \"host address-space size\" is 1";
            }
            if (!ProcessorModel.canonical(rip)) {
                return String.format("host RIP %#x is not canonical", rip);
            }
        }
        return null;
    }

    private static GuestStateFailure fail(String format, Object... args) {
        return new GuestStateFailure(QUALIFICATION_DEFAULT, String.format(format, args));
    }

    private static final VmcsField[] HOST_SELECTORS = {HOST_ES_SELECTOR, HOST_CS_SELECTOR, HOST_SS_SELECTOR,
            HOST_DS_SELECTOR, HOST_FS_SELECTOR, HOST_GS_SELECTOR, HOST_TR_SELECTOR};
    private static final VmcsField[] HOST_BASES = {HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE, HOST_IDTR_BASE,
            HOST_TR_BASE};
    private static final VmcsField[] SELECTOR = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR,
            GUEST_DS_SELECTOR, GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
    private static final VmcsField[] BASE = {GUEST_ES_BASE, GUEST_CS_BASE, GUEST_SS_BASE, GUEST_DS_BASE,
            GUEST_FS_BASE, GUEST_GS_BASE};
    private static final VmcsField[] LIMIT = {GUEST_ES_LIMIT, GUEST_CS_LIMIT, GUEST_SS_LIMIT, GUEST_DS_LIMIT,
            GUEST_FS_LIMIT, GUEST_GS_LIMIT};
    private static final VmcsField[] ACCESS = {GUEST_ES_ACCESS_RIGHTS, GUEST_CS_ACCESS_RIGHTS,
            GUEST_SS_ACCESS_RIGHTS, GUEST_DS_ACCESS_RIGHTS, GUEST_FS_ACCESS_RIGHTS, GUEST_GS_ACCESS_RIGHTS};
    private static final String[] NAME = {"ES", "CS", "SS", "DS", "FS", "GS"};

    private static boolean granularityOk(long limit, int ar) {
        boolean g = (ar & (1 << 15)) != 0;
        if ((limit & 0xFFF) != 0xFFF && g) {
            return false;
        }
        return (limit >>> 20) == 0 || g;
    }

    /** SDM 27.3.1 (and 27.3.1.6 for PDPTEs): the guest-state area. Failure: VM-entry failure exit 33. */
    static GuestStateFailure checkGuestState(Vmcs v, long memorySize) {
        int primary = v.get32(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        int secondary = (primary & PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS) != 0
                ? v.get32(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) : 0;
        int pin = v.get32(PIN_BASED_VM_EXECUTION_CONTROLS);
        int entry = v.get32(VM_ENTRY_CONTROLS);
        boolean unrestricted = (secondary & SecondaryProcessorBasedControls.UNRESTRICTED_GUEST) != 0;
        boolean ept = (secondary & SecondaryProcessorBasedControls.ENABLE_EPT) != 0;
        boolean ia32e = (entry & VmEntryControls.IA32E_MODE_GUEST) != 0;

        // 27.3.1.1 control registers, debug registers and MSRs
        long cr0 = v.get(GUEST_CR0);
        long cr4 = v.get(GUEST_CR4);
        long fixed0 = VmxCapabilities.CR0_FIXED0 & (unrestricted ? ~(Cr0.PE | Cr0.PG) : -1L);
        if ((cr0 & fixed0) != fixed0 || (cr0 & ~VmxCapabilities.CR0_FIXED1) != 0) {
            return fail("guest CR0 %#x violates IA32_VMX_CR0_FIXED0/1%s", cr0,
                    unrestricted ? " (PE and PG relaxed by \"unrestricted guest\")" : "");
        }
        if ((cr0 & Cr0.PG) != 0 && (cr0 & Cr0.PE) == 0) {
            return fail("guest CR0 %#x: PG requires PE", cr0);
        }
        if ((cr4 & VmxCapabilities.CR4_FIXED0) != VmxCapabilities.CR4_FIXED0
                || (cr4 & ~VmxCapabilities.CR4_FIXED1) != 0) {
            return fail("guest CR4 %#x violates IA32_VMX_CR4_FIXED0/1", cr4);
        }
        if ((entry & VmEntryControls.LOAD_DEBUG_CONTROLS) != 0) {
            if ((v.get(GUEST_IA32_DEBUGCTL) & ~DEBUGCTL_SUPPORTED) != 0) {
                return fail("guest IA32_DEBUGCTL %#x sets bits this processor does not implement",
                        v.get(GUEST_IA32_DEBUGCTL));
            }
            if ((v.get(GUEST_DR7) >>> 32) != 0) {
                return fail("guest DR7 %#x: bits 63:32 must be 0", v.get(GUEST_DR7));
            }
        }
        if (ia32e && ((cr0 & Cr0.PG) == 0 || (cr4 & Cr4.PAE) == 0)) {
            return fail("\"IA-32e mode guest\" requires CR0.PG and CR4.PAE (CR0 %#x, CR4 %#x)", cr0, cr4);
        }
        if (!ia32e && (cr4 & Cr4.PCIDE) != 0) {
            return fail("CR4.PCIDE requires \"IA-32e mode guest\"");
        }
        if (!ProcessorModel.physicalAddressValid(v.get(GUEST_CR3))) {
            return fail("guest CR3 %#x sets bits above MAXPHYADDR", v.get(GUEST_CR3));
        }
        if (!ProcessorModel.canonical(v.get(GUEST_IA32_SYSENTER_ESP))
                || !ProcessorModel.canonical(v.get(GUEST_IA32_SYSENTER_EIP))) {
            return fail("guest IA32_SYSENTER_ESP/EIP must be canonical");
        }
        if ((entry & VmEntryControls.LOAD_IA32_PAT) != 0 && !validPat(v.get(GUEST_IA32_PAT))) {
            return fail("guest IA32_PAT %#x holds an invalid memory type", v.get(GUEST_IA32_PAT));
        }
        if ((entry & VmEntryControls.LOAD_IA32_EFER) != 0) {
            long efer = v.get(GUEST_IA32_EFER);
            if ((efer & ~ProcessorModel.EFER_IMPLEMENTED) != 0) {
                return fail("guest IA32_EFER %#x sets reserved bits", efer);
            }
            if (((efer & Efer.LMA) != 0) != ia32e) {
                return fail("guest IA32_EFER.LMA (%#x) must equal \"IA-32e mode guest\"", efer);
            }
            if ((cr0 & Cr0.PG) != 0 && ((efer & Efer.LME) != 0) != ia32e) {
                return fail("guest IA32_EFER.LME (%#x) must equal \"IA-32e mode guest\" when CR0.PG = 1", efer);
            }
        }

        // 27.3.1.2 segment registers
        long rflags = v.get(GUEST_RFLAGS);
        boolean v86 = (rflags & Rflags.VM) != 0;
        int[] sel = v.entrySelectors;
        long[] base = v.entryBases;
        long[] limit = v.entryLimits;
        int[] ar = v.entryAccessRights;
        for (int i = 0; i < 6; i++) {
            sel[i] = (int) v.get(SELECTOR[i]);
            base[i] = v.get(BASE[i]);
            limit[i] = v.get(LIMIT[i]);
            ar[i] = (int) v.get(ACCESS[i]);
        }
        int trSel = (int) v.get(GUEST_TR_SELECTOR);
        int ldtrSel = (int) v.get(GUEST_LDTR_SELECTOR);
        int trAr = (int) v.get(GUEST_TR_ACCESS_RIGHTS);
        int ldtrAr = (int) v.get(GUEST_LDTR_ACCESS_RIGHTS);
        boolean ldtrUsable = (ldtrAr & (1 << 16)) == 0;
        final int cs = CpuState.CS;
        final int ss = CpuState.SS;
        if ((trSel & 4) != 0) {
            return fail("guest TR selector %#x: TI must be 0", trSel);
        }
        if (ldtrUsable && (ldtrSel & 4) != 0) {
            return fail("guest LDTR selector %#x: TI must be 0", ldtrSel);
        }
        if (!v86 && !unrestricted && (sel[ss] & 3) != (sel[cs] & 3)) {
            return fail("guest SS.RPL (%d) must equal CS.RPL (%d)", sel[ss] & 3, sel[cs] & 3);
        }
        for (int i = 0; i < 6; i++) {
            boolean usable = (ar[i] & (1 << 16)) == 0;
            if (v86) {
                if (base[i] != ((long) sel[i] << 4)) {
                    return fail("virtual-8086 guest %s base %#x must be selector << 4", NAME[i], base[i]);
                }
                if (limit[i] != 0xFFFF) {
                    return fail("virtual-8086 guest %s limit %#x must be 0xFFFF", NAME[i], limit[i]);
                }
                if (ar[i] != 0xF3) {
                    return fail("virtual-8086 guest %s access rights %#x must be 0xF3", NAME[i], ar[i]);
                }
                continue;
            }
            if ((i == cs || (usable && i != CpuState.FS && i != CpuState.GS)) && (base[i] >>> 32) != 0) {
                return fail("guest %s base %#x: bits 63:32 must be 0", NAME[i], base[i]);
            }
            if ((i == CpuState.FS || i == CpuState.GS) && !ProcessorModel.canonical(base[i])) {
                return fail("guest %s base %#x is not canonical", NAME[i], base[i]);
            }
            if (i != cs && !usable) {
                continue;
            }
            int type = ar[i] & 0xF;
            int dpl = (ar[i] >>> 5) & 3;
            if (i == cs) {
                if (!(type == 9 || type == 11 || type == 13 || type == 15 || (unrestricted && type == 3))) {
                    return fail("guest CS type %d is not an accessed code segment%s", type,
                            unrestricted ? " or an accessed read/write data segment" : "");
                }
            } else if (i == ss) {
                if (type != 3 && type != 7) {
                    return fail("guest SS type %d must be 3 or 7 (read/write accessed data)", type);
                }
            } else {
                if ((type & 1) == 0) {
                    return fail("guest %s type %d must be accessed", NAME[i], type);
                }
                if ((type & 8) != 0 && (type & 2) == 0) {
                    return fail("guest %s type %d: a code segment must be readable", NAME[i], type);
                }
            }
            if ((ar[i] & (1 << 4)) == 0) {
                return fail("guest %s access rights %#x: S must be 1", NAME[i], ar[i]);
            }
            if (i == cs) {
                int ssDpl = (ar[ss] >>> 5) & 3;
                if (type == 3 && dpl != 0) {
                    return fail("guest CS DPL %d must be 0 for a data-type CS", dpl);
                }
                if ((type == 9 || type == 11) && dpl != ssDpl) {
                    return fail("guest CS DPL %d must equal SS DPL %d (non-conforming code)", dpl, ssDpl);
                }
                if ((type == 13 || type == 15) && dpl > ssDpl) {
                    return fail("guest CS DPL %d must not exceed SS DPL %d (conforming code)", dpl, ssDpl);
                }
            } else if (i == ss) {
                if (!unrestricted && dpl != (sel[ss] & 3)) {
                    return fail("guest SS DPL %d must equal SS.RPL %d", dpl, sel[ss] & 3);
                }
                if (((ar[cs] & 0xF) == 3 || (cr0 & Cr0.PE) == 0) && dpl != 0) {
                    return fail("guest SS DPL %d must be 0 in real mode or with a data-type CS", dpl);
                }
            } else if (!unrestricted && type <= 11 && dpl < (sel[i] & 3)) {
                return fail("guest %s DPL %d must not be below its RPL %d", NAME[i], dpl, sel[i] & 3);
            }
            if ((ar[i] & (1 << 7)) == 0) {
                return fail("guest %s access rights %#x: P must be 1", NAME[i], ar[i]);
            }
            if ((ar[i] & 0xF00) != 0 || (ar[i] & 0xFFFE_0000) != 0) {
                return fail("guest %s access rights %#x: reserved bits 11:8 / 31:17 must be 0", NAME[i], ar[i]);
            }
            if (i == cs && ia32e && (ar[i] & (1 << 13)) != 0 && (ar[i] & (1 << 14)) != 0) {
                return fail("guest CS access rights %#x: D/B must be 0 when L = 1 in IA-32e mode", ar[i]);
            }
            if (!granularityOk(limit[i], ar[i])) {
                return fail("guest %s limit %#x is inconsistent with G in access rights %#x", NAME[i], limit[i],
                        ar[i]);
            }
        }
        long trBase = v.get(GUEST_TR_BASE);
        long trLimit = v.get(GUEST_TR_LIMIT);
        if (!ProcessorModel.canonical(trBase)) {
            return fail("guest TR base %#x is not canonical", trBase);
        }
        int trType = trAr & 0xF;
        if (ia32e ? trType != 11 : (trType != 3 && trType != 11)) {
            return fail("guest TR type %d must be a busy TSS (%s)", trType, ia32e ? "11" : "3 or 11");
        }
        if ((trAr & (1 << 4)) != 0 || (trAr & (1 << 7)) == 0 || (trAr & 0xF00) != 0 || (trAr & 0xFFFE_0000) != 0
                || (trAr & (1 << 16)) != 0) {
            return fail("guest TR access rights %#x: S 0, P 1, usable and reserved bits 0 required", trAr);
        }
        if (!granularityOk(trLimit, trAr)) {
            return fail("guest TR limit %#x is inconsistent with G", trLimit);
        }
        if (ldtrUsable) {
            long ldtrBase = v.get(GUEST_LDTR_BASE);
            if (!ProcessorModel.canonical(ldtrBase)) {
                return fail("guest LDTR base %#x is not canonical", ldtrBase);
            }
            if ((ldtrAr & 0xF) != 2 || (ldtrAr & (1 << 4)) != 0 || (ldtrAr & (1 << 7)) == 0
                    || (ldtrAr & 0xF00) != 0 || (ldtrAr & 0xFFFE_0000) != 0) {
                return fail("guest LDTR access rights %#x: type 2, S 0, P 1, reserved bits 0 required", ldtrAr);
            }
            if (!granularityOk(v.get(GUEST_LDTR_LIMIT), ldtrAr)) {
                return fail("guest LDTR limit %#x is inconsistent with G", v.get(GUEST_LDTR_LIMIT));
            }
        }

        // 27.3.1.3 descriptor-table registers
        if (!ProcessorModel.canonical(v.get(GUEST_GDTR_BASE)) || !ProcessorModel.canonical(v.get(GUEST_IDTR_BASE))) {
            return fail("guest GDTR/IDTR bases must be canonical");
        }
        if ((v.get(GUEST_GDTR_LIMIT) >>> 16) != 0 || (v.get(GUEST_IDTR_LIMIT) >>> 16) != 0) {
            return fail("guest GDTR/IDTR limits %#x / %#x: bits 31:16 must be 0", v.get(GUEST_GDTR_LIMIT),
                    v.get(GUEST_IDTR_LIMIT));
        }

        // 27.3.1.4 RIP and RFLAGS
        long rip = v.get(GUEST_RIP);
        boolean csL = (ar[cs] & (1 << 13)) != 0;
        if ((!ia32e || !csL) && (rip >>> 32) != 0) {
            return fail("guest RIP %#x: bits 63:32 must be 0 outside 64-bit mode", rip);
        }
        if (ia32e && csL && !ProcessorModel.canonical(rip)) {
            return fail("guest RIP %#x is not canonical", rip);
        }
        if ((rflags & ~0x3F_FFFFL) != 0 || (rflags & ((1L << 15) | (1L << 5) | (1L << 3))) != 0
                || (rflags & Rflags.FIXED_1) == 0) {
            return fail("guest RFLAGS %#x: reserved bits must be 0 and bit 1 must be 1", rflags);
        }
        if (v86 && (ia32e || (cr0 & Cr0.PE) == 0)) {
            return fail("guest RFLAGS.VM must be 0 in IA-32e mode or with CR0.PE = 0");
        }
        int injection = v.get32(VM_ENTRY_INTERRUPTION_INFORMATION);
        boolean injecting = (injection & InterruptionInfo.VALID) != 0;
        int injType = (injection >>> 8) & 7;
        int injVector = injection & 0xFF;
        if (injecting && injType == 0 && (rflags & Rflags.IF) == 0) {
            return fail("injecting an external interrupt requires RFLAGS.IF = 1");
        }

        // 27.3.1.5 non-register state
        long activity = v.get(GUEST_ACTIVITY_STATE);
        if (activity != CpuState.ACTIVITY_ACTIVE && activity != CpuState.ACTIVITY_HLT) {
            return fail("guest activity state %d is not supported (active and HLT only)", activity);
        }
        if (activity == CpuState.ACTIVITY_HLT && ((ar[ss] >>> 5) & 3) != 0) {
            return fail("the HLT activity state requires SS.DPL = 0");
        }
        long interruptibility = v.get(GUEST_INTERRUPTIBILITY_STATE);
        boolean sti = (interruptibility & 1) != 0;
        boolean movSs = (interruptibility & 2) != 0;
        if ((sti || movSs) && activity != CpuState.ACTIVITY_ACTIVE) {
            return fail("blocking by STI or MOV SS requires the active activity state");
        }
        if (injecting && activity == CpuState.ACTIVITY_HLT) {
            boolean allowed = injType == 0 || injType == 2 || injType == 7
                    || (injType == 3 && (injVector == 1 || injVector == 18));
            if (!allowed) {
                return fail("an event of type %d vector %d cannot be injected into the HLT state", injType,
                        injVector);
            }
        }
        if ((interruptibility & ~0xFL) != 0) {
            return fail("guest interruptibility state %#x: reserved bits 31:4 must be 0", interruptibility);
        }
        if (sti && movSs) {
            return fail("blocking by STI and by MOV SS cannot both be set");
        }
        if (sti && (rflags & Rflags.IF) == 0) {
            return fail("blocking by STI requires RFLAGS.IF = 1");
        }
        if (injecting && injType == 0 && (sti || movSs)) {
            return fail("injecting an external interrupt requires no blocking by STI or MOV SS");
        }
        if (injecting && injType == 2 && movSs) {
            return fail("injecting an NMI requires no blocking by MOV SS");
        }
        if ((interruptibility & 4) != 0) {
            return fail("blocking by SMI requires SMM");
        }
        if (injecting && injType == 2 && (pin & PinBasedControls.VIRTUAL_NMIS) != 0 && (interruptibility & 8) != 0) {
            return fail("injecting an NMI requires no virtual-NMI blocking");
        }
        if (injecting && injType == 2 && sti) {
            // Implementation-specific in the SDM (27.3.1.5); this processor refuses it, with qualification 3 (27.8).
            return new GuestStateFailure(QUALIFICATION_NMI_BLOCKED, "injecting an NMI while blocking by STI");
        }
        long pending = v.get(GUEST_PENDING_DEBUG_EXCEPTIONS);
        if ((pending & ~0x500FL) != 0) {
            return fail("guest pending debug exceptions %#x: reserved bits must be 0", pending);
        }
        if (sti || movSs || activity == CpuState.ACTIVITY_HLT) {
            boolean tf = (rflags & Rflags.TF) != 0;
            boolean btf = (v.get(GUEST_IA32_DEBUGCTL) & 2) != 0;
            boolean bs = (pending & (1L << 14)) != 0;
            if (tf && !btf && !bs) {
                return fail("pending debug exceptions: BS must be 1 when RFLAGS.TF = 1 and events are blocked");
            }
            if ((!tf || btf) && bs) {
                return fail("pending debug exceptions: BS must be 0 when RFLAGS.TF = 0 or DEBUGCTL.BTF = 1");
            }
        }
        long link = v.get(VMCS_LINK_POINTER);
        if (link != -1L) {
            boolean ok = (link & 0xFFF) == 0 && ProcessorModel.physicalAddressValid(link) && link >= 0
                    && link + 4096 <= memorySize
                    && VmcsRegion.revision(v.memory(), link) == VmxCapabilities.VMCS_REVISION_ID;
            if (!ok) {
                return new GuestStateFailure(QUALIFICATION_LINK_POINTER, String.format(
                        "VMCS link pointer %#x is neither all ones nor a VMCS of this revision", link));
            }
        }

        // 27.3.1.6 PDPTEs for PAE paging
        if ((cr0 & Cr0.PG) != 0 && (cr4 & Cr4.PAE) != 0 && !ia32e) {
            long[] pdpte = new long[4];
            if (ept) {
                pdpte[0] = v.get(GUEST_PDPTE0);
                pdpte[1] = v.get(GUEST_PDPTE1);
                pdpte[2] = v.get(GUEST_PDPTE2);
                pdpte[3] = v.get(GUEST_PDPTE3);
            } else {
                long table = v.get(GUEST_CR3) & 0xFFFF_FFE0L;
                for (int i = 0; i < 4; i++) {
                    long pa = table + 8L * i;
                    pdpte[i] = pa + 8 <= memorySize ? v.memory().read64(pa) : -1L;
                }
            }
            for (int i = 0; i < 4; i++) {
                if ((pdpte[i] & 1) != 0 && ((pdpte[i] & 0x1E6L) != 0
                        || (pdpte[i] & ProcessorModel.PHYSICAL_ADDRESS_RESERVED) != 0)) {
                    return new GuestStateFailure(QUALIFICATION_PDPTE,
                            String.format("guest PDPTE%d %#x sets reserved bits", i, pdpte[i]));
                }
            }
        }
        return null;
    }
}
