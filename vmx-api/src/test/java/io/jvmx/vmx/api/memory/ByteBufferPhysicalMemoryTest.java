package io.jvmx.vmx.api.memory;

import org.junit.Before;
import org.junit.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.Set;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * Host-physical memory: little-endian byte order as the processor stores multi-byte values (SDM Vol. 1, 1.3.1), 4-KiB
 * frames (SDM Vol. 3A 4.3; VMXON region, VMCS and bitmaps are 4-KiB aligned, Vol. 3C 25.2 and 25.6.4), and the
 * platform rule that frame 0 is never handed out so that a physical address of 0 means "none".
 */
public class ByteBufferPhysicalMemoryTest {
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;
    private ByteBufferPhysicalMemory memory;

    @Before
    public void setUp() {
        memory = ByteBufferPhysicalMemory.allocate(8 * PAGE);
    }

    @Test
    public void littleEndianAccesses() {
        memory.write32(0x1000, 0x1122_3344);
        assertEquals(0x44, memory.read8(0x1000));
        assertEquals(0x33, memory.read8(0x1001));
        assertEquals(0x22, memory.read8(0x1002));
        assertEquals(0x11, memory.read8(0x1003));
        assertEquals(0x3344, memory.read16(0x1000));
        memory.write64(0x2000, 0x8877_6655_4433_2211L);
        assertEquals(0x4433_2211, memory.read32(0x2000));
        assertEquals(0x8877_6655, memory.read32(0x2004));
        assertEquals(0x8877, memory.read16(0x2006));
        memory.write16(0x2001, 0xBEEF);
        assertEquals(0x8877_6655_44BE_EF11L, memory.read64(0x2000));
        memory.write8(0x2007, 0x1FF); // only the low byte is stored
        assertEquals(0xFF, memory.read8(0x2007));
        assertEquals(ByteOrder.LITTLE_ENDIAN, memory.buffer().order());
    }

    @Test
    public void readsAreUnsignedWhereTheyFit() {
        memory.write8(0x100, 0x80);
        assertEquals(0x80, memory.read8(0x100));
        memory.write16(0x102, 0x8000);
        assertEquals(0x8000, memory.read16(0x102));
        memory.write32(0x104, 0x8000_0000);
        assertEquals(0x8000_0000, memory.read32(0x104)); // an int: the caller masks if it wants unsigned
    }

    @Test
    public void bulkReadAndWrite() {
        byte[] src = {1, 2, 3, 4, 5, 6};
        memory.write(0x3FFE, src, 1, 4); // crosses a frame boundary
        assertEquals(0x0504_0302, memory.read32(0x3FFE));
        byte[] dst = new byte[6];
        memory.read(0x3FFE, dst, 2, 4);
        assertArrayEquals(new byte[] {0, 0, 2, 3, 4, 5}, dst);
    }

    @Test
    public void frameZeroIsNeverHandedOut() {
        assertEquals(7, memory.freeFrameCount());
        Set<Long> frames = new HashSet<>();
        for (int i = 0; i < 7; i++) {
            long pa = memory.allocateFrame();
            assertNotEquals(0L, pa);
            assertEquals(0, pa % PAGE);
            assertTrue(frames.add(pa));
        }
        assertEquals(0, memory.freeFrameCount());
        assertThrows(OutOfMemoryError.class, memory::allocateFrame);
        assertThrows(IllegalArgumentException.class, () -> memory.freeFrames(0, 1));
    }

    @Test
    public void allocationIsContiguousFirstFit() {
        long a = memory.allocateFrames(3);
        assertEquals(0x1000, a);
        long b = memory.allocateFrame();
        assertEquals(0x4000, b);
        long c = memory.allocateFrame();
        memory.freeFrames(b, 1); // a 1-frame hole at 0x4000
        long d = memory.allocateFrames(2);
        assertEquals("skips the hole that is too small", c + PAGE, d);
        assertEquals("fills the hole later", 0x4000, memory.allocateFrame());
        assertEquals(0, memory.freeFrameCount());
        memory.freeFrames(c, 1);
        assertEquals(1, memory.freeFrameCount());
        assertThrows(OutOfMemoryError.class, () -> memory.allocateFrames(2));
        assertEquals("a failed allocation takes nothing", 1, memory.freeFrameCount());
    }

    @Test
    public void allocatedFramesAreZeroed() {
        long a = memory.allocateFrames(2);
        for (int i = 0; i < 2 * PAGE; i += 8) {
            memory.write64(a + i, -1L);
        }
        memory.freeFrames(a, 2);
        long again = memory.allocateFrames(2);
        assertEquals(a, again);
        for (int i = 0; i < 2 * PAGE; i++) {
            assertEquals("byte " + i, 0, memory.read8(again + i));
        }
    }

    @Test
    public void accessesOutsideMemoryAreRefused() {
        long size = memory.size();
        assertEquals(8 * PAGE, size);
        memory.write8(size - 1, 1);
        assertEquals(1, memory.read8(size - 1));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.read8(size));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.read16(size - 1));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.read32(size - 3));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.read64(size - 4));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.write64(size - 7, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.write8(-1, 0));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.read(size - 2, new byte[4], 0, 4));
        assertThrows(IndexOutOfBoundsException.class, () -> memory.write(1L << 40, new byte[1], 0, 1));
        IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> memory.read32(size));
        assertTrue(e.getMessage(), e.getMessage().contains("0x8000"));
    }

    @Test
    public void badFrameArgumentsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> memory.allocateFrames(0));
        assertThrows(IllegalArgumentException.class, () -> memory.allocateFrames(-1));
        assertThrows(IllegalArgumentException.class, () -> memory.freeFrames(0x1001, 1));
        assertThrows(IllegalArgumentException.class, () -> memory.freeFrames(0x7000, 2));
        assertThrows(IllegalArgumentException.class, () -> memory.freeFrames(-PAGE, 1));
        // a double free, or freeing frames never allocated, would give a frame two owners later
        long f = memory.allocateFrame();
        memory.freeFrames(f, 1);
        assertThrows(IllegalArgumentException.class, () -> memory.freeFrames(f, 1));
        assertThrows(IllegalArgumentException.class, () -> memory.freeFrames(f, 0));
    }

    @Test
    public void constructorRefusesBadSizes() {
        assertThrows(IllegalArgumentException.class, () -> new ByteBufferPhysicalMemory(ByteBuffer.allocate(PAGE)));
        assertThrows(IllegalArgumentException.class,
                () -> new ByteBufferPhysicalMemory(ByteBuffer.allocate(3 * PAGE + 1)));
        assertThrows(IllegalArgumentException.class, () -> ByteBufferPhysicalMemory.allocate(1L << 31));
        ByteBuffer heap = ByteBuffer.allocate(2 * PAGE);
        ByteBufferPhysicalMemory two = new ByteBufferPhysicalMemory(heap);
        assertSame("the backing buffer is shared", heap, two.buffer());
        assertEquals(1, two.freeFrameCount());
        two.write32(PAGE, 0x0102_0304);
        assertEquals(0x04, heap.get(PAGE));
    }

    /** The write watch behind decoded-instruction caches: one shot per arming, every kind of write, whole frames. */
    @Test
    public void writeWatchFiresOnceForAnyWriteToTheFrame() {
        java.util.List<Long> told = new java.util.ArrayList<>();
        memory.setWriteWatcher(told::add);
        memory.watchFrame(0x2123);
        memory.write8(0x1FFF, 1);                 // the frame before: nothing
        memory.write64(0x1FFC, -1L);              // crosses into frame 2
        assertEquals(java.util.List.of(2L), told);
        memory.write8(0x2000, 1);                 // the watch is off now
        assertEquals(1, told.size());

        memory.watchFrame(0x3000);
        memory.write(0x2FFE, new byte[4], 0, 4);  // a bulk write ending in frame 3
        assertEquals(java.util.List.of(2L, 3L), told);

        long frame = memory.allocateFrame();
        memory.watchFrame(frame);
        memory.freeFrames(frame, 1);
        assertEquals(frame, memory.allocateFrame()); // zeroed for the new owner: the old contents are gone
        assertEquals(java.util.List.of(2L, 3L, frame / PAGE), told);

        memory.watchFrame(0x4000);
        memory.write16(0x4FFF, 0xFFFF);
        memory.write32(0x5000, 0);
        assertEquals(java.util.List.of(2L, 3L, frame / PAGE, 4L), told); // frame 5 was never watched
        assertThrows(IllegalStateException.class, () -> memory.setWriteWatcher(f -> { }));
        memory.setWriteWatcher(null);
        memory.watchFrame(0x4000);
        memory.write8(0x4000, 0); // no watcher: nobody to tell, and no failure
    }
}
