package io.jvmx.vmx.vmcs.region;

import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldWidth;

/**
 * One VMCS region in host-physical memory and its layout (SDM Vol. 3C, 25.2 "Format of the VMCS Region"): bytes 0-3
 * hold the VMCS revision identifier (bit 31: shadow-VMCS indicator), bytes 4-7 the VMX-abort indicator, and the rest
 * is implementation-specific. jvmx's processors keep the launch state at byte 8 and one 8-byte slot per component
 * from byte 16 on, in the order of {@link VmcsField}. Every VMREAD and VMWRITE goes to memory, so VMCLEAR has nothing
 * to flush and a VMCLEAR/VMPTRLD round trip preserves every field.
 *
 * <p>Shared by the software and the KVM processor, so that both hold the VMCS the same way and VMREAD/VMWRITE fail
 * with the same VM-instruction errors.
 */
public class VmcsRegion {
    /** The size of a VMXON or VMCS region: one frame (IA32_VMX_BASIC bits 44:32, SDM Vol. 3D A.1). */
    public static final int SIZE = PhysicalMemory.PAGE_SIZE;
    public static final int REVISION_OFFSET = 0;
    public static final int ABORT_INDICATOR_OFFSET = 4;
    public static final int LAUNCH_STATE_OFFSET = 8;
    public static final int FIELDS_OFFSET = 16;

    public static final int LAUNCH_STATE_CLEAR = 0;
    public static final int LAUNCH_STATE_LAUNCHED = 1;

    /** Slot offset by full encoding; 0 where the encoding names no component. Encodings are below 0x7000. */
    private static final short[] SLOT = new short[0x7000];
    /** The highest index (bits 9:1 of an encoding) of any supported component: IA32_VMX_VMCS_ENUM (SDM A.9). */
    public static final int HIGHEST_INDEX;

    static {
        int highest = 0;
        VmcsField[] fields = VmcsField.values();
        for (int i = 0; i < fields.length; i++) {
            SLOT[fields[i].encoding()] = (short) (FIELDS_OFFSET + 8 * i);
            highest = Math.max(highest, (fields[i].encoding() >>> 1) & 0x1FF);
        }
        HIGHEST_INDEX = highest;
        if (FIELDS_OFFSET + 8 * fields.length > SIZE) {
            throw new AssertionError("VMCS layout does not fit the region size");
        }
    }

    private final PhysicalMemory memory;
    private final long address;

    public VmcsRegion(PhysicalMemory memory, long address) {
        this.memory = memory;
        this.address = address;
    }

    public final PhysicalMemory memory() {
        return memory;
    }

    /** Host-physical address of the region. */
    public final long address() {
        return address;
    }

    public final long get(VmcsField field) {
        return memory.read64(address + slot(field));
    }

    public final int get32(VmcsField field) {
        return (int) get(field);
    }

    /** Stores {@code value} truncated to the field's width. */
    public final void put(VmcsField field, long value) {
        memory.write64(address + slot(field), value & field.width().mask());
    }

    public final boolean launched() {
        return launchState(memory, address) == LAUNCH_STATE_LAUNCHED;
    }

    public final void setLaunchState(int state) {
        setLaunchState(memory, address, state);
    }

    /**
     * Why VMREAD ({@code write} false) or VMWRITE of {@code encoding} fails with VMfailValid, or null if it may go
     * ahead (SDM 31.3): an encoding that names no component (error 12), or, for VMWRITE, a VM-exit information field
     * (error 13; IA32_VMX_MISC bit 29 is 0 on jvmx's processors).
     */
    public static VmInstructionError accessError(int encoding, boolean write) {
        if (!VmcsField.isSupportedEncoding(encoding)) {
            return VmInstructionError.UNSUPPORTED_VMCS_COMPONENT;
        }
        if (write && VmcsField.forEncoding(encoding & ~1).isReadOnly()) {
            return VmInstructionError.VMWRITE_READ_ONLY_COMPONENT;
        }
        return null;
    }

    /** VMREAD of a supported encoding: full access masked to the width, high access bits 63:32 (SDM 25.11.2). */
    public final long vmread(int encoding) {
        long raw = memory.read64(address + slot(encoding & ~1));
        if ((encoding & 1) != 0) {
            return raw >>> 32;
        }
        return raw & VmcsFieldWidth.ofEncoding(encoding).mask();
    }

    /** VMWRITE of a supported, writable encoding: high access replaces bits 63:32 only. */
    public final void vmwrite(int encoding, long value) {
        VmcsField field = VmcsField.forEncoding(encoding & ~1);
        long slot = address + slot(field);
        if ((encoding & 1) != 0) {
            memory.write64(slot, (memory.read64(slot) & 0xFFFF_FFFFL) | (value << 32));
        } else {
            memory.write64(slot, value & field.width().mask());
        }
    }

    /** The slot of a full-access encoding, or -1. */
    public static int slot(int fullEncoding) {
        return fullEncoding >= 0 && fullEncoding < SLOT.length && SLOT[fullEncoding] != 0 ? SLOT[fullEncoding] : -1;
    }

    public static int slot(VmcsField field) {
        return SLOT[field.encoding()];
    }

    public static int revision(PhysicalMemory memory, long region) {
        return memory.read32(region + REVISION_OFFSET);
    }

    public static int launchState(PhysicalMemory memory, long region) {
        return memory.read32(region + LAUNCH_STATE_OFFSET);
    }

    public static void setLaunchState(PhysicalMemory memory, long region, int state) {
        memory.write32(region + LAUNCH_STATE_OFFSET, state);
    }

    public static void setAbortIndicator(PhysicalMemory memory, long region, int indicator) {
        memory.write32(region + ABORT_INDICATOR_OFFSET, indicator);
    }
}
