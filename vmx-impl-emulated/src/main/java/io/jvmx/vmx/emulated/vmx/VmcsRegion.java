package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;

/**
 * The layout of a VMCS region in host-physical memory (SDM Vol. 3C, 25.2 "Format of the VMCS Region"): bytes 0-3
 * hold the VMCS revision identifier (bit 31: shadow-VMCS indicator), bytes 4-7 the VMX-abort indicator, and the rest
 * is implementation-specific. This processor keeps the launch state at byte 8 and one 8-byte slot per component from
 * byte 16 on, in the order of {@link VmcsField}. Every VMREAD and VMWRITE goes to memory, so VMCLEAR has nothing to
 * flush and a VMCLEAR/VMPTRLD round trip preserves every field.
 */
final class VmcsRegion {
    static final int REVISION_OFFSET = 0;
    static final int ABORT_INDICATOR_OFFSET = 4;
    static final int LAUNCH_STATE_OFFSET = 8;
    static final int FIELDS_OFFSET = 16;

    static final int LAUNCH_STATE_CLEAR = 0;
    static final int LAUNCH_STATE_LAUNCHED = 1;

    /** Slot offset by full encoding; 0 where the encoding names no component. Encodings are below 0x7000. */
    private static final short[] SLOT = new short[0x7000];
    /** The highest index (bits 9:1 of an encoding) of any supported component: IA32_VMX_VMCS_ENUM (SDM A.9). */
    static final int HIGHEST_INDEX;

    static {
        int highest = 0;
        VmcsField[] fields = VmcsField.values();
        for (int i = 0; i < fields.length; i++) {
            SLOT[fields[i].encoding()] = (short) (FIELDS_OFFSET + 8 * i);
            highest = Math.max(highest, (fields[i].encoding() >>> 1) & 0x1FF);
        }
        HIGHEST_INDEX = highest;
        if (FIELDS_OFFSET + 8 * fields.length > VmxCapabilities.VMCS_REGION_SIZE) {
            throw new AssertionError("VMCS layout does not fit the region size");
        }
    }

    private VmcsRegion() {
    }

    /** The slot of a full-access encoding, or -1. */
    static int slot(int fullEncoding) {
        return fullEncoding >= 0 && fullEncoding < SLOT.length && SLOT[fullEncoding] != 0 ? SLOT[fullEncoding] : -1;
    }

    static int slot(VmcsField field) {
        return SLOT[field.encoding()];
    }

    static int revision(PhysicalMemory memory, long region) {
        return memory.read32(region + REVISION_OFFSET);
    }

    static int launchState(PhysicalMemory memory, long region) {
        return memory.read32(region + LAUNCH_STATE_OFFSET);
    }

    static void setLaunchState(PhysicalMemory memory, long region, int state) {
        memory.write32(region + LAUNCH_STATE_OFFSET, state);
    }

    static void setAbortIndicator(PhysicalMemory memory, long region, int indicator) {
        memory.write32(region + ABORT_INDICATOR_OFFSET, indicator);
    }

}
