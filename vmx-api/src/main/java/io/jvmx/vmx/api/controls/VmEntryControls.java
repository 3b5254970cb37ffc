package io.jvmx.vmx.api.controls;

/** VM-entry controls: SDM Vol. 3C, 25.8.1, Table 25-15. */
public final class VmEntryControls {
    private VmEntryControls() {
    }

    public static final int LOAD_DEBUG_CONTROLS = 1 << 2;
    public static final int IA32E_MODE_GUEST = 1 << 9;
    public static final int ENTRY_TO_SMM = 1 << 10;
    public static final int DEACTIVATE_DUAL_MONITOR_TREATMENT = 1 << 11;
    public static final int LOAD_IA32_PERF_GLOBAL_CTRL = 1 << 13;
    public static final int LOAD_IA32_PAT = 1 << 14;
    public static final int LOAD_IA32_EFER = 1 << 15;
    public static final int LOAD_IA32_BNDCFGS = 1 << 16;
    public static final int CONCEAL_VMX_FROM_PT = 1 << 17;
    public static final int LOAD_IA32_RTIT_CTL = 1 << 18;
    public static final int LOAD_UINV = 1 << 19;
    public static final int LOAD_CET_STATE = 1 << 20;
    public static final int LOAD_GUEST_IA32_LBR_CTL = 1 << 21;
    public static final int LOAD_PKRS = 1 << 22;
}
