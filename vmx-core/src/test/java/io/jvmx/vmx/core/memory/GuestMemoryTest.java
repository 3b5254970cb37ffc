package io.jvmx.vmx.core.memory;

import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import org.junit.Test;

import java.util.HashSet;
import java.util.Set;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** Guest RAM and its EPT: SDM Vol. 3C 29.3.2 (Tables 29-1 to 29-6 entry formats), 25.6.11 (EPTP, Table 25-9). */
public class GuestMemoryTest {

    /** Walks the 4-level EPT by hand, checking each entry's bits; returns the leaf entry (0 if not present). */
    private static long walk(PhysicalMemory host, long eptp, long gpa) {
        long table = eptp & 0x000F_FFFF_FFFF_F000L;
        for (int level = 4; level >= 1; level--) {
            int index = (int) ((gpa >>> (12 + 9 * (level - 1))) & 511);
            long entry = host.read64(table + 8L * index);
            if ((entry & 7) == 0) {
                return 0; // not present (Table 29-1: bits 2:0 all 0)
            }
            if (level > 1) {
                // Tables 29-2, 29-4, 29-6: R/W/X in bits 2:0, bits 7:3 of a PML4E reserved, bit 7 (page size) 0 for
                // a PDPTE/PDE that references a table
                assertEquals("non-leaf R/W/X", 7, entry & 7);
                assertEquals("non-leaf bits 7:3 clear", 0, entry & 0xF8);
                table = entry & 0x000F_FFFF_FFFF_F000L;
            } else {
                return entry;
            }
        }
        throw new AssertionError();
    }

    @Test
    public void eptMapsEveryPageReadWriteExecuteWriteBackAndNothingBeyond() {
        PhysicalMemory host = ByteBufferPhysicalMemory.allocate(8L << 20);
        GuestMemory m = GuestMemory.allocate(host, 2L << 20);
        long eptp = m.eptPointer();
        // Table 25-9: bits 2:0 memory type 6 (WB), bits 5:3 walk length - 1 = 3, bit 6 A/D off
        assertEquals(6, eptp & 7);
        assertEquals(3, (eptp >>> 3) & 7);
        assertEquals(0, eptp & (1 << 6));
        assertEquals(m.pml4(), eptp & ~0xFFFL);

        Set<Long> frames = new HashSet<>();
        for (long gpa = 0; gpa < m.size(); gpa += 4096) {
            long pte = walk(host, eptp, gpa);
            // Table 29-6: bits 2:0 R/W/X, bits 5:3 EPT memory type (6 = WB), bit 6 ignore PAT = 0
            assertEquals("R/W/X at " + Long.toHexString(gpa), 7, pte & 7);
            assertEquals("WB", 6, (pte >>> 3) & 7);
            assertEquals(0, pte & (1 << 6));
            long hpa = pte & 0x000F_FFFF_FFFF_F000L;
            assertEquals(m.translate(gpa), hpa);
            assertTrue("each guest page has its own frame", frames.add(hpa));
        }
        // beyond RAM: no entry, so the guest gets an EPT violation (SDM 29.3.3)
        assertEquals(0, walk(host, eptp, m.size()));
        assertEquals(0, walk(host, eptp, 0x1_0000_0000L));
        assertEquals(-1, m.translate(m.size()));
        assertEquals(-1, m.translate(-1));
        assertEquals(0x1234 % 4096 + m.translate(0x1000), m.translate(0x1234));
    }

    @Test
    public void readsAndWritesCrossPageBoundariesAndLoadPlacesImages() {
        PhysicalMemory host = ByteBufferPhysicalMemory.allocate(4L << 20);
        GuestMemory m = GuestMemory.allocate(host, 64 * 1024);
        byte[] data = new byte[6000];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7);
        }
        m.write(0x0F00, data, 0, data.length);
        byte[] back = new byte[data.length];
        m.read(0x0F00, back, 0, back.length);
        assertArrayEquals(data, back);
        assertEquals(data[0x100] & 0xFF, host.read8(m.translate(0x1000)));

        m.load(new byte[] {(byte) 0x0F, (byte) 0xA2}, 0x8000);
        assertEquals(0x0F, m.read8(0x8000));
        assertEquals(0xA2, m.read8(0x8001));
        m.write8(0xFFFF, 0x5A);
        assertEquals(0x5A, m.read8(0xFFFF));
    }

    @Test
    public void accessesBeyondRamFailNamingTheAddress() {
        GuestMemory m = GuestMemory.allocate(ByteBufferPhysicalMemory.allocate(4L << 20), 64 * 1024);
        try {
            m.read8(0x10000);
            fail();
        } catch (IllegalArgumentException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("0x10000") && e.getMessage().contains("not mapped"));
        }
        try {
            m.write(0xFFFF, new byte[2], 0, 2);
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("0xffff"));
        }
        try {
            m.load(new byte[16], 0xFFF8);
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("does not fit"));
        }
    }

    @Test
    public void fragmentedHostMemoryStillWorksAndFreeReturnsEveryFrame() {
        PhysicalMemory host = ByteBufferPhysicalMemory.allocate(4L << 20);
        long before = host.freeFrameCount();
        // fragment the host: take every other frame of a region
        long[] holes = new long[64];
        for (int i = 0; i < holes.length; i++) {
            holes[i] = host.allocateFrame();
            host.allocateFrame();
        }
        for (long h : holes) {
            host.freeFrames(h, 1);
        }
        long fragmented = host.freeFrameCount();
        GuestMemory m = GuestMemory.allocate(host, 3L << 20);
        assertEquals(fragmented - m.frameCount(), host.freeFrameCount());
        m.write8(0x2F_FFFF, 9);
        assertEquals(9, m.read8(0x2F_FFFF));
        m.free();
        m.free(); // idempotent
        assertEquals(fragmented, host.freeFrameCount());
        assertTrue(before > fragmented);
    }

    @Test
    public void runningOutOfHostMemoryReturnsWhatWasTaken() {
        PhysicalMemory host = ByteBufferPhysicalMemory.allocate(1L << 20);
        long before = host.freeFrameCount();
        try {
            GuestMemory.allocate(host, 2L << 20);
            fail();
        } catch (OutOfMemoryError expected) {
            assertTrue(expected.getMessage().contains("exhausted"));
        }
        assertEquals(before, host.freeFrameCount());
    }
}
