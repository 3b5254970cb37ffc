package io.jvmx.vmx.api.msr;

/** Model-specific register addresses the VMX engine uses (SDM Vol. 4, Table 2-2 "IA-32 Architectural MSRs"). */
public final class Msr {
    private Msr() {
    }

    public static final int IA32_TIME_STAMP_COUNTER = 0x10;
    /** The local APIC's base address, enable and x2APIC-mode bits (SDM Vol. 3A 11.4.4, 11.12.1). */
    public static final int IA32_APIC_BASE = 0x1B;
    public static final int IA32_FEATURE_CONTROL = 0x3A;
    /** The MTRRs (SDM Vol. 3A 12.11): capabilities, default type, variable ranges (base/mask pairs), fixed ranges. */
    public static final int IA32_MTRRCAP = 0xFE;
    public static final int IA32_MTRR_PHYSBASE0 = 0x200;
    public static final int IA32_MTRR_FIX64K_00000 = 0x250;
    public static final int IA32_MTRR_FIX16K_80000 = 0x258;
    public static final int IA32_MTRR_FIX16K_A0000 = 0x259;
    public static final int IA32_MTRR_FIX4K_C0000 = 0x268;
    public static final int IA32_MTRR_FIX4K_F8000 = 0x26F;
    public static final int IA32_MTRR_DEF_TYPE = 0x2FF;
    public static final int IA32_MISC_ENABLE = 0x1A0;
    /** The local APIC timer's deadline in TSC-deadline mode (SDM Vol. 3A 11.5.4.1). */
    public static final int IA32_TSC_DEADLINE = 0x6E0;
    /** The x2APIC registers: MSR 800H + (xAPIC offset >> 4), up to 8FFH (SDM Vol. 3A 11.12.1.2). */
    public static final int X2APIC_FIRST = 0x800;
    public static final int X2APIC_LAST = 0x8FF;
    public static final int IA32_SYSENTER_CS = 0x174;
    public static final int IA32_SYSENTER_ESP = 0x175;
    public static final int IA32_SYSENTER_EIP = 0x176;
    public static final int IA32_DEBUGCTL = 0x1D9;
    public static final int IA32_PAT = 0x277;
    public static final int IA32_PERF_GLOBAL_CTRL = 0x38F;

    // VMX capability reporting MSRs (SDM Vol. 3D, Appendix A)
    public static final int IA32_VMX_BASIC = 0x480;
    public static final int IA32_VMX_PINBASED_CTLS = 0x481;
    public static final int IA32_VMX_PROCBASED_CTLS = 0x482;
    public static final int IA32_VMX_EXIT_CTLS = 0x483;
    public static final int IA32_VMX_ENTRY_CTLS = 0x484;
    public static final int IA32_VMX_MISC = 0x485;
    public static final int IA32_VMX_CR0_FIXED0 = 0x486;
    public static final int IA32_VMX_CR0_FIXED1 = 0x487;
    public static final int IA32_VMX_CR4_FIXED0 = 0x488;
    public static final int IA32_VMX_CR4_FIXED1 = 0x489;
    public static final int IA32_VMX_VMCS_ENUM = 0x48A;
    public static final int IA32_VMX_PROCBASED_CTLS2 = 0x48B;
    public static final int IA32_VMX_EPT_VPID_CAP = 0x48C;
    public static final int IA32_VMX_TRUE_PINBASED_CTLS = 0x48D;
    public static final int IA32_VMX_TRUE_PROCBASED_CTLS = 0x48E;
    public static final int IA32_VMX_TRUE_EXIT_CTLS = 0x48F;
    public static final int IA32_VMX_TRUE_ENTRY_CTLS = 0x490;
    public static final int IA32_VMX_VMFUNC = 0x491;
    public static final int IA32_VMX_PROCBASED_CTLS3 = 0x492;
    public static final int IA32_VMX_EXIT_CTLS2 = 0x493;

    public static final int IA32_XSS = 0xDA0;
    public static final int IA32_EFER = 0xC0000080;
    public static final int IA32_STAR = 0xC0000081;
    public static final int IA32_LSTAR = 0xC0000082;
    public static final int IA32_CSTAR = 0xC0000083;
    public static final int IA32_FMASK = 0xC0000084;
    public static final int IA32_FS_BASE = 0xC0000100;
    public static final int IA32_GS_BASE = 0xC0000101;
    public static final int IA32_KERNEL_GS_BASE = 0xC0000102;
    public static final int IA32_TSC_AUX = 0xC0000103;

    /** IA32_FEATURE_CONTROL bits (SDM Vol. 3C, 24.7 "Enabling and Entering VMX Operation"). */
    public static final long FEATURE_CONTROL_LOCK = 1L;
    public static final long FEATURE_CONTROL_VMX_INSIDE_SMX = 1L << 1;
    public static final long FEATURE_CONTROL_VMX_OUTSIDE_SMX = 1L << 2;
}
