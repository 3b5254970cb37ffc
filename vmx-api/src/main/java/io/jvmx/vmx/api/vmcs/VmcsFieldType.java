package io.jvmx.vmx.api.vmcs;

/** Type of a VMCS component: bits 11:10 of its encoding (SDM Vol. 3C, 25.11.2, Table 25-21). */
public enum VmcsFieldType {
    CONTROL,
    /** VM-exit information; read-only unless IA32_VMX_MISC bit 29 allows VMWRITE to it. */
    VM_EXIT_INFORMATION,
    GUEST_STATE,
    HOST_STATE;

    public static VmcsFieldType ofEncoding(int encoding) {
        return values()[(encoding >>> 10) & 3];
    }
}
