package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import org.junit.Test;

import java.util.List;

/** Memory slots from 4-level EPTs (SDM Vol. 3C, 29.3.2): coalescing, read-only leaves, large pages, holes. */
public class EptSlotsTest {
    private final ByteBufferPhysicalMemory memory = ByteBufferPhysicalMemory.allocate(8 << 20);
    private final long pml4 = memory.allocateFrame();
    private final long eptp = Ept.eptPointer(pml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, false);

    private long table(long entryAddress) {
        long e = memory.read64(entryAddress);
        if (e != 0) {
            return e & Ept.ADDRESS_MASK;
        }
        long t = memory.allocateFrame();
        memory.write64(entryAddress, t | Ept.READ | Ept.WRITE | Ept.EXECUTE);
        return t;
    }

    private void map4k(long gpa, long hpa, long rights) {
        long pdpt = table(pml4 + 8 * ((gpa >>> 39) & 511));
        long pd = table(pdpt + 8 * ((gpa >>> 30) & 511));
        long pt = table(pd + 8 * ((gpa >>> 21) & 511));
        memory.write64(pt + 8 * ((gpa >>> 12) & 511), hpa | rights);
    }

    @Test
    public void contiguousPagesWithTheSameRightsBecomeOneSlot() {
        long ram = memory.allocateFrames(8);
        for (int i = 0; i < 4; i++) {
            map4k(0x1000L * i, ram + 0x1000L * i, Ept.READ | Ept.WRITE | Ept.EXECUTE);
        }
        map4k(0x4000, ram + 0x4000, Ept.READ | Ept.EXECUTE); // read-only
        map4k(0x6000, ram + 0x7000, Ept.READ | Ept.WRITE); // after a hole, not contiguous on the host side
        map4k(0x8000, ram + 0x6000, Ept.WRITE); // not readable: no slot (an access is an EPT violation)
        assertEquals(List.of(new EptSlots.Slot(0, ram, 0x4000, false), new EptSlots.Slot(0x4000, ram + 0x4000, 0x1000,
                true), new EptSlots.Slot(0x6000, ram + 0x7000, 0x1000, false)), EptSlots.of(memory, eptp));
        assertEquals(ram + 0x4123, EptSlots.translate(memory, eptp, 0x4123));
        assertEquals(-1, EptSlots.translate(memory, eptp, 0x5000));
        assertEquals(-1, EptSlots.translate(memory, eptp, 0x8000));
        assertEquals(Ept.WRITE, EptSlots.access(memory, eptp, 0x8000));
        assertEquals(0, EptSlots.access(memory, eptp, 0x5000));
    }

    @Test
    public void aTwoMegabytePageIsOneSlot() {
        long ram = memory.allocateFrames(1024);
        long aligned = (ram + 0x1F_FFFF) & ~0x1F_FFFFL;
        long pdpt = table(pml4);
        long pd = table(pdpt + 8 * 1); // guest-physical 1 GiB
        memory.write64(pd, aligned | Ept.READ | Ept.WRITE | Ept.EXECUTE | Ept.LARGE_PAGE);
        assertEquals(List.of(new EptSlots.Slot(1L << 30, aligned, 2 << 20, false)), EptSlots.of(memory, eptp));
        assertEquals(aligned + 0x12345, EptSlots.translate(memory, eptp, (1L << 30) + 0x12345));
    }
}
