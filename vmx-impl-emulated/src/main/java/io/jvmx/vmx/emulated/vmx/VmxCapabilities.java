package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.msr.EptVpidCap;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.vmcs.region.VmcsRegion;

/**
 * The VMX capability MSRs of the software processor (SDM Vol. 3D, Appendix A). They describe exactly what this
 * processor implements: a control is allowed to be 1 only if non-root operation honours it.
 *
 * <p>Not implemented, so allowed-0 only: "process posted interrupts", "use TPR shadow" and all APIC virtualization
 * (there is no local APIC), the tertiary controls, "enable INVPCID" (no INVPCID: CPUID.7.0:EBX[10] = 0), "enable VM
 * functions", VMCS shadowing, PML, EPT-violation #VE, "enable XSAVES/XRSTORS" (no XSAVES), ENCLS/ENCLV exiting (no
 * SGX), TSC scaling, mode-based execute control, sub-page permissions, and the exit/entry controls of
 * IA32_PERF_GLOBAL_CTRL, BNDCFGS, RTIT, CET, PKRS, LBR and SMM. Of the activity states only HLT: nothing here
 * sends NMIs, INITs or SIPIs, which are what end the shutdown and wait-for-SIPI states.
 */
final class VmxCapabilities {
    private VmxCapabilities() {
    }

    /** "JVMX" in ASCII, bit 31 clear. */
    static final int VMCS_REVISION_ID = 0x4A56_4D58;

    /**
     * Bit 54 (INS/OUTS instruction information): set because I/O exits for INS/OUTS fill the instruction-information
     * field (SDM 28.2.5, Table 28-8). Bit 55: TRUE control MSRs exist. Bit 56 clear: VM entry checks the
     * deliver-error-code bit of injected hardware exceptions.
     */
    static final long BASIC = new VmxBasic(VMCS_REVISION_ID, VmcsRegion.SIZE, false, false,
            VmxBasic.MEMORY_TYPE_WRITE_BACK, true, true, false).encode();

    // ---- default1 classes (SDM A.3.1, A.3.2, A.4.1, A.5) -----------------------------------------------------------
    static final int PIN_DEFAULT1 = 0x0000_0016;
    static final int PRIMARY_DEFAULT1 = 0x0401_E172;
    static final int EXIT_DEFAULT1 = 0x0003_6DFF;
    static final int ENTRY_DEFAULT1 = 0x0000_11FF;

    // ---- what non-root operation implements -------------------------------------------------------------------------
    static final int PIN_SUPPORTED = PinBasedControls.EXTERNAL_INTERRUPT_EXITING | PinBasedControls.NMI_EXITING
            | PinBasedControls.VIRTUAL_NMIS | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER;

    static final int PRIMARY_SUPPORTED = PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING
            | PrimaryProcessorBasedControls.USE_TSC_OFFSETTING | PrimaryProcessorBasedControls.HLT_EXITING
            | PrimaryProcessorBasedControls.INVLPG_EXITING | PrimaryProcessorBasedControls.MWAIT_EXITING
            | PrimaryProcessorBasedControls.RDPMC_EXITING | PrimaryProcessorBasedControls.RDTSC_EXITING
            | PrimaryProcessorBasedControls.CR3_LOAD_EXITING | PrimaryProcessorBasedControls.CR3_STORE_EXITING
            | PrimaryProcessorBasedControls.CR8_LOAD_EXITING | PrimaryProcessorBasedControls.CR8_STORE_EXITING
            | PrimaryProcessorBasedControls.NMI_WINDOW_EXITING | PrimaryProcessorBasedControls.MOV_DR_EXITING
            | PrimaryProcessorBasedControls.UNCONDITIONAL_IO_EXITING | PrimaryProcessorBasedControls.USE_IO_BITMAPS
            | PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG | PrimaryProcessorBasedControls.USE_MSR_BITMAPS
            | PrimaryProcessorBasedControls.MONITOR_EXITING | PrimaryProcessorBasedControls.PAUSE_EXITING
            | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS;

    static final int SECONDARY_SUPPORTED = SecondaryProcessorBasedControls.ENABLE_EPT
            | SecondaryProcessorBasedControls.DESCRIPTOR_TABLE_EXITING
            | (ProcessorModel.RDTSCP ? SecondaryProcessorBasedControls.ENABLE_RDTSCP : 0)
            | SecondaryProcessorBasedControls.ENABLE_VPID
            | SecondaryProcessorBasedControls.WBINVD_EXITING | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST
            | SecondaryProcessorBasedControls.PAUSE_LOOP_EXITING
            | (ProcessorModel.INVPCID ? SecondaryProcessorBasedControls.ENABLE_INVPCID : 0)
            | (ProcessorModel.RDRAND ? SecondaryProcessorBasedControls.RDRAND_EXITING : 0)
            | (ProcessorModel.RDSEED ? SecondaryProcessorBasedControls.RDSEED_EXITING : 0);

    static final int EXIT_SUPPORTED = VmExitControls.SAVE_DEBUG_CONTROLS | VmExitControls.HOST_ADDRESS_SPACE_SIZE
            | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT | VmExitControls.SAVE_IA32_PAT
            | VmExitControls.LOAD_IA32_PAT | VmExitControls.SAVE_IA32_EFER | VmExitControls.LOAD_IA32_EFER
            | VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE;

    static final int ENTRY_SUPPORTED = VmEntryControls.LOAD_DEBUG_CONTROLS | VmEntryControls.IA32E_MODE_GUEST
            | VmEntryControls.LOAD_IA32_PAT | VmEntryControls.LOAD_IA32_EFER;

    // ---- the MSRs: non-TRUE ones report the default1 class as must-be-1, TRUE ones let it be 0 (SDM A.2) ----------
    static final VmxControlCapability PINBASED = new VmxControlCapability("IA32_VMX_PINBASED_CTLS", PIN_DEFAULT1,
            PIN_DEFAULT1 | PIN_SUPPORTED);
    static final VmxControlCapability TRUE_PINBASED = new VmxControlCapability("IA32_VMX_TRUE_PINBASED_CTLS", 0,
            PIN_DEFAULT1 | PIN_SUPPORTED);
    static final VmxControlCapability PROCBASED = new VmxControlCapability("IA32_VMX_PROCBASED_CTLS",
            PRIMARY_DEFAULT1, PRIMARY_DEFAULT1 | PRIMARY_SUPPORTED);
    static final VmxControlCapability TRUE_PROCBASED = new VmxControlCapability("IA32_VMX_TRUE_PROCBASED_CTLS", 0,
            PRIMARY_DEFAULT1 | PRIMARY_SUPPORTED);
    static final VmxControlCapability PROCBASED2 = new VmxControlCapability("IA32_VMX_PROCBASED_CTLS2", 0,
            SECONDARY_SUPPORTED);
    static final VmxControlCapability EXIT = new VmxControlCapability("IA32_VMX_EXIT_CTLS", EXIT_DEFAULT1,
            EXIT_DEFAULT1 | EXIT_SUPPORTED);
    static final VmxControlCapability TRUE_EXIT = new VmxControlCapability("IA32_VMX_TRUE_EXIT_CTLS", 0,
            EXIT_DEFAULT1 | EXIT_SUPPORTED);
    static final VmxControlCapability ENTRY = new VmxControlCapability("IA32_VMX_ENTRY_CTLS", ENTRY_DEFAULT1,
            ENTRY_DEFAULT1 | ENTRY_SUPPORTED);
    static final VmxControlCapability TRUE_ENTRY = new VmxControlCapability("IA32_VMX_TRUE_ENTRY_CTLS", 0,
            ENTRY_DEFAULT1 | ENTRY_SUPPORTED);

    /** The VMX-preemption timer counts down once per 2^5 TSC ticks (brief: platform convention). */
    static final int PREEMPTION_TIMER_RATE = 5;
    static final int CR3_TARGET_COUNT = 4;
    /** Activity states beyond active: HLT only (bit 6). */
    static final int ACTIVITY_STATES = 1;
    /** 512 * (0 + 1) entries in each MSR list. */
    static final int MAX_MSR_LIST_ENTRIES = 512;

    static final long MISC = new VmxMisc(PREEMPTION_TIMER_RATE, true, ACTIVITY_STATES, CR3_TARGET_COUNT, 0, false,
            false, 0).encode();

    /**
     * EPT: 4-level walks (bit 6), UC and WB paging structures (8, 14), 2-MiB and 1-GiB pages (16, 17), INVEPT (20)
     * single- and all-context (25, 26), accessed and dirty flags (21). VPID: INVVPID (32) of the individual-address,
     * single-context, all-context and single-context-retaining-globals types (40-43). No execute-only translations,
     * no advanced EPT-violation information, no 5-level walks.
     */
    static final long EPT_VPID_CAP = (1L << 6) | (1L << 8) | (1L << 14) | (1L << 16) | (1L << 17) | (1L << 20)
            | (1L << 21) | (1L << 25) | (1L << 26) | (1L << 32) | (1L << 40) | (1L << 41) | (1L << 42) | (1L << 43);
    static final EptVpidCap EPT_CAP = new EptVpidCap(EPT_VPID_CAP);

    static final long CR0_FIXED0 = Cr0.PE | Cr0.NE | Cr0.PG;
    static final long CR0_FIXED1 = 0xFFFF_FFFFL;
    static final long CR4_FIXED0 = Cr4.VMXE;
    static final long CR4_FIXED1 = ProcessorModel.CR4_IMPLEMENTED;

    static final long VMCS_ENUM = (long) VmcsRegion.HIGHEST_INDEX << 1;

    /** The value of a VMX capability MSR, or null if {@code msr} is not one this processor has. */
    static Long read(int msr) {
        return switch (msr) {
            case Msr.IA32_VMX_BASIC -> BASIC;
            case Msr.IA32_VMX_PINBASED_CTLS -> PINBASED.encode();
            case Msr.IA32_VMX_PROCBASED_CTLS -> PROCBASED.encode();
            case Msr.IA32_VMX_EXIT_CTLS -> EXIT.encode();
            case Msr.IA32_VMX_ENTRY_CTLS -> ENTRY.encode();
            case Msr.IA32_VMX_MISC -> MISC;
            case Msr.IA32_VMX_CR0_FIXED0 -> CR0_FIXED0;
            case Msr.IA32_VMX_CR0_FIXED1 -> CR0_FIXED1;
            case Msr.IA32_VMX_CR4_FIXED0 -> CR4_FIXED0;
            case Msr.IA32_VMX_CR4_FIXED1 -> CR4_FIXED1;
            case Msr.IA32_VMX_VMCS_ENUM -> VMCS_ENUM;
            case Msr.IA32_VMX_PROCBASED_CTLS2 -> PROCBASED2.encode();
            case Msr.IA32_VMX_EPT_VPID_CAP -> EPT_VPID_CAP;
            case Msr.IA32_VMX_TRUE_PINBASED_CTLS -> TRUE_PINBASED.encode();
            case Msr.IA32_VMX_TRUE_PROCBASED_CTLS -> TRUE_PROCBASED.encode();
            case Msr.IA32_VMX_TRUE_EXIT_CTLS -> TRUE_EXIT.encode();
            case Msr.IA32_VMX_TRUE_ENTRY_CTLS -> TRUE_ENTRY.encode();
            // IA32_VMX_VMFUNC needs "enable VM functions", IA32_VMX_PROCBASED_CTLS3 "activate tertiary controls",
            // IA32_VMX_EXIT_CTLS2 "activate secondary controls" of the exit controls: none is allowed-1 here.
            default -> null;
        };
    }
}
