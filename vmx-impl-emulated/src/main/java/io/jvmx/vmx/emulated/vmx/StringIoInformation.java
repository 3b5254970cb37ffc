package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.emulated.cpu.CpuState;

/**
 * The VM-exit instruction-information field for INS and OUTS (SDM 28.2.5, Table 28-8): bits 9:7 address size
 * (0 = 16-bit, 1 = 32-bit, 2 = 64-bit), bits 17:15 segment register (0-5 = ES..GS; undefined for INS, reported as
 * ES). IA32_VMX_BASIC bit 54 promises this field.
 */
final class StringIoInformation {
    private StringIoInformation() {
    }

    static int of(CpuState state, boolean in) {
        int segment = in ? CpuState.ES : state.stringIoSegment;
        return ((state.stringIoAddressSize & 7) << 7) | ((segment & 7) << 15);
    }
}
