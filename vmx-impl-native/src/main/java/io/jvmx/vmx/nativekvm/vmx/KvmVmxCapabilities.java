package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.vmcs.region.VmcsRegion;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The VMX capability MSRs of the KVM processor (SDM Vol. 3D, Appendix A): a control is allowed to be 1 only where
 * the processor can make KVM honour it, and every control is allowed to be 0 (the TRUE and the plain MSRs agree:
 * nothing is in a default1 class here).
 *
 * <ul>
 *   <li>Pin-based: external-interrupt exiting (a {@link io.jvmx.vmx.api.spi.VmxProcessor#kick} ends KVM_RUN and is
 *       an EXTERNAL_INTERRUPT exit), NMI exiting (no NMI source exists, so it always holds), the VMX-preemption
 *       timer (a POSIX timer signal ends KVM_RUN at the deadline).</li>
 *   <li>Primary: interrupt-window exiting (KVM's request_interrupt_window), HLT exiting (KVM exits on HLT anyway;
 *       with the control 0 the processor keeps the guest halted itself), unconditional I/O exiting and the I/O
 *       bitmaps (every port access reaches user space), the MSR bitmaps (an MSR filter), the monitor trap flag
 *       (single-stepping through KVM_SET_GUEST_DEBUG), the secondary controls.</li>
 *   <li>Secondary: EPT (memory slots), unrestricted guest (KVM runs real mode and unpaged protected mode).</li>
 *   <li>Exit and entry controls: the host and guest state the processor itself loads and saves.</li>
 * </ul>
 * Not honourable, so allowed-0 only: CR3/CR8 load and store exiting, MOV-DR, INVLPG, RDTSC, RDPMC, MWAIT/MONITOR and
 * PAUSE exiting, TSC offsetting, the NMI window, descriptor-table and WBINVD exiting, VPID: KVM handles these in the
 * kernel and never tells user space.
 */
final class KvmVmxCapabilities {
    private KvmVmxCapabilities() {
    }

    /** "KVMX" in ASCII, bit 31 clear: another processor's VMCS regions are not ours. */
    static final int VMCS_REVISION_ID = 0x4B56_4D58;

    static final long BASIC = new VmxBasic(VMCS_REVISION_ID, VmcsRegion.SIZE, false, false,
            VmxBasic.MEMORY_TYPE_WRITE_BACK, true, true, false).encode();

    static final int PIN = PinBasedControls.EXTERNAL_INTERRUPT_EXITING | PinBasedControls.NMI_EXITING
            | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER;
    static final int PRIMARY = PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING
            | PrimaryProcessorBasedControls.HLT_EXITING | PrimaryProcessorBasedControls.UNCONDITIONAL_IO_EXITING
            | PrimaryProcessorBasedControls.USE_IO_BITMAPS | PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG
            | PrimaryProcessorBasedControls.USE_MSR_BITMAPS | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS;
    static final int SECONDARY = SecondaryProcessorBasedControls.ENABLE_EPT
            | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST;
    static final int EXIT = VmExitControls.HOST_ADDRESS_SPACE_SIZE | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT
            | VmExitControls.SAVE_IA32_PAT | VmExitControls.LOAD_IA32_PAT | VmExitControls.SAVE_IA32_EFER
            | VmExitControls.LOAD_IA32_EFER | VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE;
    static final int ENTRY = VmEntryControls.IA32E_MODE_GUEST | VmEntryControls.LOAD_IA32_PAT
            | VmEntryControls.LOAD_IA32_EFER;

    /** The preemption timer counts once per 2^5 TSC ticks, as on the software processor. */
    static final int PREEMPTION_TIMER_RATE = 5;
    static final long MISC = new VmxMisc(PREEMPTION_TIMER_RATE, true, 1, 0, 0, false, false, 0).encode();

    /** EPT: 4-level walks (bit 6), WB (14), 2-MiB and 1-GiB pages (16, 17), INVEPT single and all context (20, 25, 26). */
    static final long EPT_VPID_CAP = (1L << 6) | (1L << 14) | (1L << 16) | (1L << 17) | (1L << 20) | (1L << 25)
            | (1L << 26);

    static final long CR0_FIXED0 = Cr0.PE | Cr0.NE | Cr0.PG;
    static final long CR0_FIXED1 = 0xFFFF_FFFFL;
    static final long CR4_FIXED0 = Cr4.VMXE;

    static final long VMCS_ENUM = (long) VmcsRegion.HIGHEST_INDEX << 1;

    /** The exit reasons this processor can deliver: what KVM reports to user space, mapped (see the class doc). */
    static final Set<ExitReason> DELIVERABLE = Collections.unmodifiableSet(EnumSet.of(ExitReason.EXTERNAL_INTERRUPT,
            ExitReason.TRIPLE_FAULT, ExitReason.INTERRUPT_WINDOW, ExitReason.HLT, ExitReason.IO_INSTRUCTION,
            ExitReason.RDMSR, ExitReason.WRMSR, ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE,
            ExitReason.MONITOR_TRAP_FLAG, ExitReason.EPT_VIOLATION, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED));

    static long controls(int allowed1) {
        return new VmxControlCapability("", 0, allowed1).encode();
    }

    /** The value of a VMX capability MSR, or null if {@code msr} is not one. */
    static Long read(int msr, long cr4Fixed1) {
        return switch (msr) {
            case Msr.IA32_VMX_BASIC -> BASIC;
            case Msr.IA32_VMX_PINBASED_CTLS, Msr.IA32_VMX_TRUE_PINBASED_CTLS -> controls(PIN);
            case Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS -> controls(PRIMARY);
            case Msr.IA32_VMX_EXIT_CTLS, Msr.IA32_VMX_TRUE_EXIT_CTLS -> controls(EXIT);
            case Msr.IA32_VMX_ENTRY_CTLS, Msr.IA32_VMX_TRUE_ENTRY_CTLS -> controls(ENTRY);
            case Msr.IA32_VMX_PROCBASED_CTLS2 -> controls(SECONDARY);
            case Msr.IA32_VMX_MISC -> MISC;
            case Msr.IA32_VMX_CR0_FIXED0 -> CR0_FIXED0;
            case Msr.IA32_VMX_CR0_FIXED1 -> CR0_FIXED1;
            case Msr.IA32_VMX_CR4_FIXED0 -> CR4_FIXED0;
            case Msr.IA32_VMX_CR4_FIXED1 -> cr4Fixed1;
            case Msr.IA32_VMX_VMCS_ENUM -> VMCS_ENUM;
            case Msr.IA32_VMX_EPT_VPID_CAP -> EPT_VPID_CAP;
            default -> null;
        };
    }

    /** Why {@code value} of a control field cannot be honoured (bits outside allowed-1), or null. */
    static String unsupported(String field, int value, int allowed1) {
        int bad = value & ~allowed1;
        return bad == 0 ? null : String.format("%s %#010x sets %#x, which KVM cannot honour (allowed-1 %#x)", field,
                value, bad, allowed1);
    }
}
