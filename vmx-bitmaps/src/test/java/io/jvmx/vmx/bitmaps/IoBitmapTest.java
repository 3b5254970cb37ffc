package io.jvmx.vmx.bitmaps;

import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import org.junit.Before;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** I/O bitmaps A and B: SDM Vol. 3C 25.6.4 (layout) and 26.1.3 (a set bit makes the I/O instruction exit). */
public class IoBitmapTest {
    private PhysicalMemory memory;

    @Before
    public void setUp() {
        memory = ByteBufferPhysicalMemory.allocate(16 * PhysicalMemory.PAGE_SIZE);
    }

    private void assertFrame(long frame, int expectedByte) {
        for (int i = 0; i < PhysicalMemory.PAGE_SIZE; i++) {
            assertEquals("byte " + i, expectedByte, memory.read8(frame + i));
        }
    }

    @Test
    public void allocatesTwoAlignedFramesClearOrAllSet() {
        IoBitmap clear = IoBitmap.allocate(memory, false);
        assertNotEquals(clear.addressA(), clear.addressB());
        assertEquals(0, clear.addressA() % PhysicalMemory.PAGE_SIZE);
        assertEquals(0, clear.addressB() % PhysicalMemory.PAGE_SIZE);
        assertTrue("frame 0 means none", clear.addressA() != 0 && clear.addressB() != 0);
        assertFrame(clear.addressA(), 0);
        assertFrame(clear.addressB(), 0);
        IoBitmap all = IoBitmap.allocate(memory, true);
        assertFrame(all.addressA(), 0xFF);
        assertFrame(all.addressB(), 0xFF);
        assertTrue(all.isIntercepted(0) && all.isIntercepted(0xFFFF) && all.isIntercepted(0x3F8));
    }

    @Test
    public void bitPositionsFollowSdm2564() {
        IoBitmap io = IoBitmap.allocate(memory, false);
        io.setIntercept(0x8001, true); // bitmap B, byte 0, bit 1
        assertEquals(0x02, memory.read8(io.addressB()));
        io.setIntercept(0x3F8, true); // bitmap A, byte 0x3F8 / 8 = 0x7F, bit 0
        assertEquals(0x01, memory.read8(io.addressA() + 0x7F));
        io.setIntercept(0x3FD, true); // same byte, bit 5
        assertEquals(0x21, memory.read8(io.addressA() + 0x7F));
        io.setIntercept(0x7FFF, true); // last bit of A
        assertEquals(0x80, memory.read8(io.addressA() + 4095));
        io.setIntercept(0xFFFF, true); // last bit of B
        assertEquals(0x80, memory.read8(io.addressB() + 4095));
        io.setIntercept(0x0000, true);
        assertEquals(0x01, memory.read8(io.addressA()));
        io.setIntercept(0x3F8, false);
        assertEquals("releasing one port keeps its neighbours", 0x20, memory.read8(io.addressA() + 0x7F));
    }

    @Test
    public void portsThatX86VcpuIoBitmapCannotHoldCanBeInterceptedAndReleased() {
        // x86_vcpu's IOBitmap cannot hold ports 0x2000-0x7FFF and 0xA000-0xFFFF; SDM 25.6.4 gives every port a bit.
        IoBitmap io = IoBitmap.allocate(memory, false);
        io.setInterceptRange(0x2000, 0x6000, true);
        io.setInterceptRange(0xA000, 0x6000, true);
        for (int p = 0; p < IoBitmap.PORT_COUNT; p++) {
            boolean expected = (p >= 0x2000 && p <= 0x7FFF) || p >= 0xA000;
            assertEquals(String.format("port %#x", p), expected, io.isIntercepted(p));
        }
        assertEquals(0xFF, memory.read8(io.addressA() + 0x2000 / 8));
        assertEquals(0xFF, memory.read8(io.addressB() + (0xA000 - 0x8000) / 8));
        assertEquals(0, memory.read8(io.addressB() + (0x9FFF - 0x8000) / 8));
        io.setInterceptRange(0x2000, 0x6000, false);
        io.setInterceptRange(0xA000, 0x6000, false);
        assertFrame(io.addressA(), 0);
        assertFrame(io.addressB(), 0);
    }

    @Test
    public void everyOneOfThe65536PortsRoundTrips() {
        IoBitmap io = IoBitmap.allocate(memory, false);
        for (int p = 0; p < IoBitmap.PORT_COUNT; p++) {
            io.setIntercept(p, true);
            assertTrue(String.format("port %#x", p), io.isIntercepted(p));
            long frame = p < 0x8000 ? io.addressA() : io.addressB();
            assertEquals(String.format("port %#x alone in its byte", p), 1 << (p & 7),
                    memory.read8(frame + ((p & 0x7FFF) >>> 3)));
            io.setIntercept(p, false);
            assertFalse(String.format("port %#x", p), io.isIntercepted(p));
        }
        assertFrame(io.addressA(), 0);
        assertFrame(io.addressB(), 0);
        IoBitmap all = IoBitmap.allocate(memory, true);
        for (int p = 0; p < IoBitmap.PORT_COUNT; p++) {
            all.setIntercept(p, false);
            assertFalse(String.format("port %#x", p), all.isIntercepted(p));
        }
        assertFrame(all.addressA(), 0);
        assertFrame(all.addressB(), 0);
    }

    @Test
    public void unalignedRangesAcrossTheTwoBitmaps() {
        IoBitmap io = IoBitmap.allocate(memory, false);
        io.setInterceptRange(0x7FFD, 5, true); // 0x7FFD-0x7FFF in A, 0x8000-0x8001 in B
        assertEquals(0xE0, memory.read8(io.addressA() + 4095));
        assertEquals(0x03, memory.read8(io.addressB()));
        io.setInterceptRange(0x3F8, 8, true);
        assertEquals(0xFF, memory.read8(io.addressA() + 0x7F));
        io.setInterceptRange(0x3F9, 0, false); // empty range: nothing
        assertTrue(io.isIntercepted(0x3F9));
        io.setInterceptRange(0x3F9, 6, false);
        assertEquals(0x81, memory.read8(io.addressA() + 0x7F));
    }

    @Test
    public void rangesLeavingThePortSpaceAreRefusedWithoutChange() {
        IoBitmap io = IoBitmap.allocate(memory, false);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> io.setInterceptRange(0xFFF0, 0x11, true));
        assertTrue(e.getMessage(), e.getMessage().contains("0xfff0"));
        assertFalse("nothing was set", io.isIntercepted(0xFFF0));
        assertThrows(IllegalArgumentException.class, () -> io.setInterceptRange(-1, 2, true));
        assertThrows(IllegalArgumentException.class, () -> io.setInterceptRange(0, -1, true));
        assertThrows(IllegalArgumentException.class, () -> io.setIntercept(0x10000, true));
        assertThrows(IllegalArgumentException.class, () -> io.isIntercepted(-1));
        io.setInterceptRange(0xFFF0, 0x10, true); // up to 0xFFFF exactly is fine
        assertTrue(io.isIntercepted(0xFFFF));
    }

    @Test
    public void freeReturnsTheFramesAndEndsUse() {
        long before = memory.freeFrameCount();
        IoBitmap io = IoBitmap.allocate(memory, true);
        assertEquals(before - 2, memory.freeFrameCount());
        io.free();
        assertEquals(before, memory.freeFrameCount());
        assertThrows(IllegalStateException.class, () -> io.isIntercepted(0));
        assertThrows(IllegalStateException.class, () -> io.setIntercept(0, true));
        assertThrows(IllegalStateException.class, io::free);
        assertEquals(before, memory.freeFrameCount());
    }

    @Test
    public void allocationFailureLeavesNoFrameBehind() {
        PhysicalMemory small = ByteBufferPhysicalMemory.allocate(2 * PhysicalMemory.PAGE_SIZE); // one usable frame
        assertThrows(OutOfMemoryError.class, () -> IoBitmap.allocate(small, true));
        assertEquals(1, small.freeFrameCount());
    }
}
