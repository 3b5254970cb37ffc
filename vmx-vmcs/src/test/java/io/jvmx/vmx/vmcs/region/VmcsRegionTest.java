package io.jvmx.vmx.vmcs.region;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

public class VmcsRegionTest {
    private final ByteBufferPhysicalMemory memory = ByteBufferPhysicalMemory.allocate(4 * 4096);
    private final VmcsRegion region = new VmcsRegion(memory, memory.allocateFrame());

    @Test
    public void everyFieldHasItsOwnSlotInsideTheRegion() {
        java.util.Set<Integer> slots = new java.util.HashSet<>();
        for (VmcsField f : VmcsField.values()) {
            int slot = VmcsRegion.slot(f);
            assertTrue(f + " slot " + slot, slot >= VmcsRegion.FIELDS_OFFSET && slot + 8 <= VmcsRegion.SIZE);
            assertTrue(f + " shares a slot", slots.add(slot));
        }
        assertEquals(-1, VmcsRegion.slot(0x6FFE)); // no such component
    }

    @Test
    public void highAccessReadsAndWritesBits63To32Only() {
        region.vmwrite(VmcsField.EPT_POINTER.encoding(), 0x1111_2222_3333_4444L);
        region.vmwrite(VmcsField.EPT_POINTER.encoding() | 1, 0xAAAA_BBBBL);
        assertEquals(0xAAAA_BBBB_3333_4444L, region.vmread(VmcsField.EPT_POINTER.encoding()));
        assertEquals(0xAAAA_BBBBL, region.vmread(VmcsField.EPT_POINTER.encoding() | 1));
    }

    @Test
    public void fullAccessIsTruncatedToTheFieldWidth() {
        region.vmwrite(VmcsField.GUEST_CS_SELECTOR.encoding(), 0x12345);
        assertEquals(0x2345, region.vmread(VmcsField.GUEST_CS_SELECTOR.encoding()));
        region.put(VmcsField.GUEST_RIP, 0x8000);
        assertEquals(0x8000, region.get(VmcsField.GUEST_RIP));
    }

    @Test
    public void accessErrorsAreTheSdmVmInstructionErrors() {
        assertEquals(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT, VmcsRegion.accessError(0x6FFE, false));
        assertEquals(VmInstructionError.VMWRITE_READ_ONLY_COMPONENT,
                VmcsRegion.accessError(VmcsField.EXIT_REASON.encoding(), true));
        assertNull(VmcsRegion.accessError(VmcsField.EXIT_REASON.encoding(), false));
        assertNull(VmcsRegion.accessError(VmcsField.GUEST_RIP.encoding(), true));
    }

    @Test
    public void launchStateLivesInTheRegion() {
        assertFalse(region.launched());
        region.setLaunchState(VmcsRegion.LAUNCH_STATE_LAUNCHED);
        assertTrue(new VmcsRegion(memory, region.address()).launched());
    }
}
