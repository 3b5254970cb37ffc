package io.jvmx.vmx.api.vmcs;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Every VMCS component of SDM Vol. 3D Appendix B ("Field Encoding in VMCS"), by the SDM's name.
 * The width and type follow from the encoding (SDM Vol. 3C, 25.11.2); a 64-bit field's high half is
 * reached with {@code encoding | 1} (access type "high"), which {@link #byEncoding} does not list as a
 * field of its own.
 */
public enum VmcsField {
    // B.1.1 16-bit control fields
    VIRTUAL_PROCESSOR_ID(0x0000),
    POSTED_INTERRUPT_NOTIFICATION_VECTOR(0x0002),
    EPTP_INDEX(0x0004),
    HLAT_PREFIX_SIZE(0x0006),
    LAST_PID_POINTER_INDEX(0x0008),
    // B.1.2 16-bit guest-state fields
    GUEST_ES_SELECTOR(0x0800),
    GUEST_CS_SELECTOR(0x0802),
    GUEST_SS_SELECTOR(0x0804),
    GUEST_DS_SELECTOR(0x0806),
    GUEST_FS_SELECTOR(0x0808),
    GUEST_GS_SELECTOR(0x080A),
    GUEST_LDTR_SELECTOR(0x080C),
    GUEST_TR_SELECTOR(0x080E),
    GUEST_INTERRUPT_STATUS(0x0810),
    PML_INDEX(0x0812),
    GUEST_UINV(0x0814),
    // B.1.3 16-bit host-state fields
    HOST_ES_SELECTOR(0x0C00),
    HOST_CS_SELECTOR(0x0C02),
    HOST_SS_SELECTOR(0x0C04),
    HOST_DS_SELECTOR(0x0C06),
    HOST_FS_SELECTOR(0x0C08),
    HOST_GS_SELECTOR(0x0C0A),
    HOST_TR_SELECTOR(0x0C0C),
    // B.2.1 64-bit control fields
    IO_BITMAP_A(0x2000),
    IO_BITMAP_B(0x2002),
    MSR_BITMAPS(0x2004),
    VM_EXIT_MSR_STORE_ADDRESS(0x2006),
    VM_EXIT_MSR_LOAD_ADDRESS(0x2008),
    VM_ENTRY_MSR_LOAD_ADDRESS(0x200A),
    EXECUTIVE_VMCS_POINTER(0x200C),
    PML_ADDRESS(0x200E),
    TSC_OFFSET(0x2010),
    VIRTUAL_APIC_ADDRESS(0x2012),
    APIC_ACCESS_ADDRESS(0x2014),
    POSTED_INTERRUPT_DESCRIPTOR_ADDRESS(0x2016),
    VM_FUNCTION_CONTROLS(0x2018),
    EPT_POINTER(0x201A),
    EOI_EXIT_BITMAP_0(0x201C),
    EOI_EXIT_BITMAP_1(0x201E),
    EOI_EXIT_BITMAP_2(0x2020),
    EOI_EXIT_BITMAP_3(0x2022),
    EPTP_LIST_ADDRESS(0x2024),
    VMREAD_BITMAP_ADDRESS(0x2026),
    VMWRITE_BITMAP_ADDRESS(0x2028),
    VIRTUALIZATION_EXCEPTION_INFORMATION_ADDRESS(0x202A),
    XSS_EXITING_BITMAP(0x202C),
    ENCLS_EXITING_BITMAP(0x202E),
    SUB_PAGE_PERMISSION_TABLE_POINTER(0x2030),
    TSC_MULTIPLIER(0x2032),
    TERTIARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS(0x2034),
    ENCLV_EXITING_BITMAP(0x2036),
    LOW_PASID_DIRECTORY_ADDRESS(0x2038),
    HIGH_PASID_DIRECTORY_ADDRESS(0x203A),
    SHARED_EPT_POINTER(0x203C),
    PCONFIG_EXITING_BITMAP(0x203E),
    HYPERVISOR_MANAGED_LINEAR_ADDRESS_TRANSLATION_POINTER(0x2040),
    PID_POINTER_TABLE_ADDRESS(0x2042),
    SECONDARY_VM_EXIT_CONTROLS(0x2044),
    IA32_SPEC_CTRL_MASK(0x204A),
    IA32_SPEC_CTRL_SHADOW(0x204C),
    // B.2.2 64-bit read-only data field
    GUEST_PHYSICAL_ADDRESS(0x2400),
    // B.2.3 64-bit guest-state fields
    VMCS_LINK_POINTER(0x2800),
    GUEST_IA32_DEBUGCTL(0x2802),
    GUEST_IA32_PAT(0x2804),
    GUEST_IA32_EFER(0x2806),
    GUEST_IA32_PERF_GLOBAL_CTRL(0x2808),
    GUEST_PDPTE0(0x280A),
    GUEST_PDPTE1(0x280C),
    GUEST_PDPTE2(0x280E),
    GUEST_PDPTE3(0x2810),
    GUEST_IA32_BNDCFGS(0x2812),
    GUEST_IA32_RTIT_CTL(0x2814),
    GUEST_IA32_LBR_CTL(0x2816),
    GUEST_IA32_PKRS(0x2818),
    // B.2.4 64-bit host-state fields
    HOST_IA32_PAT(0x2C00),
    HOST_IA32_EFER(0x2C02),
    HOST_IA32_PERF_GLOBAL_CTRL(0x2C04),
    HOST_IA32_PKRS(0x2C06),
    // B.3.1 32-bit control fields
    PIN_BASED_VM_EXECUTION_CONTROLS(0x4000),
    PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS(0x4002),
    EXCEPTION_BITMAP(0x4004),
    PAGE_FAULT_ERROR_CODE_MASK(0x4006),
    PAGE_FAULT_ERROR_CODE_MATCH(0x4008),
    CR3_TARGET_COUNT(0x400A),
    PRIMARY_VM_EXIT_CONTROLS(0x400C),
    VM_EXIT_MSR_STORE_COUNT(0x400E),
    VM_EXIT_MSR_LOAD_COUNT(0x4010),
    VM_ENTRY_CONTROLS(0x4012),
    VM_ENTRY_MSR_LOAD_COUNT(0x4014),
    VM_ENTRY_INTERRUPTION_INFORMATION(0x4016),
    VM_ENTRY_EXCEPTION_ERROR_CODE(0x4018),
    VM_ENTRY_INSTRUCTION_LENGTH(0x401A),
    TPR_THRESHOLD(0x401C),
    SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS(0x401E),
    PLE_GAP(0x4020),
    PLE_WINDOW(0x4022),
    INSTRUCTION_TIMEOUT_CONTROL(0x4024),
    // B.3.2 32-bit read-only data fields
    VM_INSTRUCTION_ERROR(0x4400),
    EXIT_REASON(0x4402),
    VM_EXIT_INTERRUPTION_INFORMATION(0x4404),
    VM_EXIT_INTERRUPTION_ERROR_CODE(0x4406),
    IDT_VECTORING_INFORMATION(0x4408),
    IDT_VECTORING_ERROR_CODE(0x440A),
    VM_EXIT_INSTRUCTION_LENGTH(0x440C),
    VM_EXIT_INSTRUCTION_INFORMATION(0x440E),
    // B.3.3 32-bit guest-state fields
    GUEST_ES_LIMIT(0x4800),
    GUEST_CS_LIMIT(0x4802),
    GUEST_SS_LIMIT(0x4804),
    GUEST_DS_LIMIT(0x4806),
    GUEST_FS_LIMIT(0x4808),
    GUEST_GS_LIMIT(0x480A),
    GUEST_LDTR_LIMIT(0x480C),
    GUEST_TR_LIMIT(0x480E),
    GUEST_GDTR_LIMIT(0x4810),
    GUEST_IDTR_LIMIT(0x4812),
    GUEST_ES_ACCESS_RIGHTS(0x4814),
    GUEST_CS_ACCESS_RIGHTS(0x4816),
    GUEST_SS_ACCESS_RIGHTS(0x4818),
    GUEST_DS_ACCESS_RIGHTS(0x481A),
    GUEST_FS_ACCESS_RIGHTS(0x481C),
    GUEST_GS_ACCESS_RIGHTS(0x481E),
    GUEST_LDTR_ACCESS_RIGHTS(0x4820),
    GUEST_TR_ACCESS_RIGHTS(0x4822),
    GUEST_INTERRUPTIBILITY_STATE(0x4824),
    GUEST_ACTIVITY_STATE(0x4826),
    GUEST_SMBASE(0x4828),
    GUEST_IA32_SYSENTER_CS(0x482A),
    VMX_PREEMPTION_TIMER_VALUE(0x482E),
    // B.3.4 32-bit host-state field
    HOST_IA32_SYSENTER_CS(0x4C00),
    // B.4.1 natural-width control fields
    CR0_GUEST_HOST_MASK(0x6000),
    CR4_GUEST_HOST_MASK(0x6002),
    CR0_READ_SHADOW(0x6004),
    CR4_READ_SHADOW(0x6006),
    CR3_TARGET_VALUE_0(0x6008),
    CR3_TARGET_VALUE_1(0x600A),
    CR3_TARGET_VALUE_2(0x600C),
    CR3_TARGET_VALUE_3(0x600E),
    // B.4.2 natural-width read-only data fields
    EXIT_QUALIFICATION(0x6400),
    IO_RCX(0x6402),
    IO_RSI(0x6404),
    IO_RDI(0x6406),
    IO_RIP(0x6408),
    GUEST_LINEAR_ADDRESS(0x640A),
    // B.4.3 natural-width guest-state fields
    GUEST_CR0(0x6800),
    GUEST_CR3(0x6802),
    GUEST_CR4(0x6804),
    GUEST_ES_BASE(0x6806),
    GUEST_CS_BASE(0x6808),
    GUEST_SS_BASE(0x680A),
    GUEST_DS_BASE(0x680C),
    GUEST_FS_BASE(0x680E),
    GUEST_GS_BASE(0x6810),
    GUEST_LDTR_BASE(0x6812),
    GUEST_TR_BASE(0x6814),
    GUEST_GDTR_BASE(0x6816),
    GUEST_IDTR_BASE(0x6818),
    GUEST_DR7(0x681A),
    GUEST_RSP(0x681C),
    GUEST_RIP(0x681E),
    GUEST_RFLAGS(0x6820),
    GUEST_PENDING_DEBUG_EXCEPTIONS(0x6822),
    GUEST_IA32_SYSENTER_ESP(0x6824),
    GUEST_IA32_SYSENTER_EIP(0x6826),
    GUEST_IA32_S_CET(0x6828),
    GUEST_SSP(0x682A),
    GUEST_IA32_INTERRUPT_SSP_TABLE_ADDR(0x682C),
    // B.4.4 natural-width host-state fields
    HOST_CR0(0x6C00),
    HOST_CR3(0x6C02),
    HOST_CR4(0x6C04),
    HOST_FS_BASE(0x6C06),
    HOST_GS_BASE(0x6C08),
    HOST_TR_BASE(0x6C0A),
    HOST_GDTR_BASE(0x6C0C),
    HOST_IDTR_BASE(0x6C0E),
    HOST_IA32_SYSENTER_ESP(0x6C10),
    HOST_IA32_SYSENTER_EIP(0x6C12),
    HOST_RSP(0x6C14),
    HOST_RIP(0x6C16),
    HOST_IA32_S_CET(0x6C18),
    HOST_SSP(0x6C1A),
    HOST_IA32_INTERRUPT_SSP_TABLE_ADDR(0x6C1C);

    /**
     * Fields by encoding: every encoding (access type, index, type, width: bits 14:0, SDM 25.11.2) is below 2^15, so
     * a table looks them up without boxing (VMREAD and VMWRITE are on the VM-exit path, which allocates nothing).
     */
    private static final VmcsField[] BY_ENCODING = new VmcsField[1 << 15];
    private static final Map<String, VmcsField> BY_NAME = new HashMap<>();

    static {
        for (VmcsField f : values()) {
            BY_ENCODING[f.encoding] = f;
            BY_NAME.put(f.name(), f);
        }
    }

    /** The field with this encoding (access type "full"), or null: {@link #byEncoding} without the Optional. */
    public static VmcsField forEncoding(int encoding) {
        return encoding >= 0 && encoding < BY_ENCODING.length ? BY_ENCODING[encoding] : null;
    }

    private final int encoding;
    private final VmcsFieldWidth width;
    private final VmcsFieldType type;

    VmcsField(int encoding) {
        this.encoding = encoding;
        this.width = VmcsFieldWidth.ofEncoding(encoding);
        this.type = VmcsFieldType.ofEncoding(encoding);
    }

    public int encoding() {
        return encoding;
    }

    public VmcsFieldWidth width() {
        return width;
    }

    public VmcsFieldType type() {
        return type;
    }

    /** VM-exit information fields are read-only to VMWRITE (SDM 25.9) unless IA32_VMX_MISC bit 29 is 1. */
    public boolean isReadOnly() {
        return type == VmcsFieldType.VM_EXIT_INFORMATION;
    }

    /** The field with this full encoding; a "high" access encoding (bit 0 set) is not a field of its own. */
    public static Optional<VmcsField> byEncoding(int encoding) {
        return Optional.ofNullable(forEncoding(encoding));
    }

    /** The field with this SDM name, case-insensitive, with or without separators ("guest-rip", "GUEST_RIP"). */
    public static Optional<VmcsField> byName(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String key = name.trim().toUpperCase(Locale.ROOT).replace('-', '_').replace(' ', '_');
        return Optional.ofNullable(BY_NAME.get(key));
    }

    /**
     * Whether an encoding names a component that exists: a listed field, or the high half of a listed 64-bit
     * field. Bits 31:15 and bit 12 of an encoding are reserved (SDM 25.11.2).
     */
    public static boolean isSupportedEncoding(int encoding) {
        if (forEncoding(encoding) != null) {
            return true;
        }
        if ((encoding & 1) == 1) {
            VmcsField full = forEncoding(encoding & ~1);
            return full != null && full.width == VmcsFieldWidth.BITS_64;
        }
        return false;
    }
}
