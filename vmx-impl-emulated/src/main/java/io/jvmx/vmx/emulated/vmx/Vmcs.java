package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.vmcs.region.VmcsRegion;

/** The current VMCS of the software processor: a {@link VmcsRegion} plus what its VM entry reuses. */
final class Vmcs extends VmcsRegion {

    /**
     * The guest segment registers ES..GS as VM entry reads them for its checks (SDM 27.3.1.2): kept here and reused,
     * because VM entry is on the exit path, which allocates nothing.
     */
    final int[] entrySelectors = new int[6];
    final long[] entryBases = new long[6];
    final long[] entryLimits = new long[6];
    final int[] entryAccessRights = new int[6];

    Vmcs(PhysicalMemory memory, long address) {
        super(memory, address);
    }
}
