package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;

/** A view of one VMCS region in host-physical memory (layout: {@link VmcsRegion}). */
final class Vmcs {
    final PhysicalMemory memory;
    final long address;

    /**
     * The guest segment registers ES..GS as VM entry reads them for its checks (SDM 27.3.1.2): kept here and reused,
     * because VM entry is on the exit path, which allocates nothing.
     */
    final int[] entrySelectors = new int[6];
    final long[] entryBases = new long[6];
    final long[] entryLimits = new long[6];
    final int[] entryAccessRights = new int[6];

    Vmcs(PhysicalMemory memory, long address) {
        this.memory = memory;
        this.address = address;
    }

    long get(VmcsField field) {
        return memory.read64(address + VmcsRegion.slot(field));
    }

    int get32(VmcsField field) {
        return (int) get(field);
    }

    /** Stores {@code value} truncated to the field's width. */
    void put(VmcsField field, long value) {
        memory.write64(address + VmcsRegion.slot(field), value & field.width().mask());
    }

    boolean launched() {
        return VmcsRegion.launchState(memory, address) == VmcsRegion.LAUNCH_STATE_LAUNCHED;
    }

    void setLaunchState(int state) {
        VmcsRegion.setLaunchState(memory, address, state);
    }
}
