package io.jvmx.vmx.bitmaps;

import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import org.junit.Before;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * The MSR bitmaps: SDM Vol. 3C 25.6.9 (four 1-KiB bitmaps in one frame) and 26.1.3 (RDMSR/WRMSR exit when the
 * bit is set, and always for an ECX outside 00000000H-00001FFFH and C0000000H-C0001FFFH).
 */
public class MsrBitmapTest {
    private PhysicalMemory memory;
    private MsrBitmap msrs;

    @Before
    public void setUp() {
        memory = ByteBufferPhysicalMemory.allocate(8 * PhysicalMemory.PAGE_SIZE);
        msrs = MsrBitmap.allocate(memory, false);
    }

    private int byteAt(int offset) {
        return memory.read8(msrs.address() + offset);
    }

    private int nonZeroBytes() {
        int n = 0;
        for (int i = 0; i < PhysicalMemory.PAGE_SIZE; i++) {
            n += byteAt(i) != 0 ? 1 : 0;
        }
        return n;
    }

    @Test
    public void bitPositionsFollowSdm2569() {
        msrs.setWriteIntercept(Msr.IA32_EFER, true); // write-high @3072, 0x80 / 8 = 16, bit 0
        assertEquals(0x01, byteAt(3072 + 0x80 / 8));
        assertEquals(1, nonZeroBytes());
        msrs.setReadIntercept(Msr.IA32_EFER, true); // read-high @1024
        assertEquals(0x01, byteAt(1024 + 16));
        msrs.setReadIntercept(Msr.IA32_PAT, true); // read-low: 0x277 / 8 = 0x4E, bit 7
        assertEquals(0x80, byteAt(0x4E));
        msrs.setWriteIntercept(Msr.IA32_SYSENTER_CS, true); // write-low @2048: 0x174 / 8 = 0x2E, bit 4
        assertEquals(0x10, byteAt(2048 + 0x2E));
        msrs.setWriteIntercept(0x1FFF, true); // last bit of write-low
        assertEquals(0x80, byteAt(3071));
        msrs.setReadIntercept(0xC0001FFF, true); // last bit of read-high
        assertEquals(0x80, byteAt(2047));
        msrs.setWriteIntercept(0xC0001FFF, true); // last bit of the frame
        assertEquals(0x80, byteAt(4095));
        msrs.setReadIntercept(0, true);
        assertEquals(0x01, byteAt(0));
        assertEquals(8, nonZeroBytes());
    }

    @Test
    public void readAndWriteAreIndependent() {
        msrs.setWriteIntercept(Msr.IA32_EFER, true);
        assertTrue(msrs.isWriteIntercepted(Msr.IA32_EFER));
        assertFalse(msrs.isReadIntercepted(Msr.IA32_EFER));
        msrs.setReadIntercept(Msr.IA32_FS_BASE, true);
        assertTrue(msrs.isReadIntercepted(Msr.IA32_FS_BASE));
        assertFalse(msrs.isWriteIntercepted(Msr.IA32_FS_BASE));
        msrs.setWriteIntercept(Msr.IA32_EFER, false);
        assertFalse(msrs.isWriteIntercepted(Msr.IA32_EFER));
        assertEquals(1, nonZeroBytes());
    }

    @Test
    public void everyCoveredMsrRoundTripsForReadAndWrite() {
        int[] bases = {0, 0xC000_0000};
        for (int base : bases) {
            for (int i = 0; i < 0x2000; i++) {
                int msr = base + i;
                msrs.setReadIntercept(msr, true);
                msrs.setWriteIntercept(msr, true);
                assertTrue(Integer.toHexString(msr), msrs.isReadIntercepted(msr) && msrs.isWriteIntercepted(msr));
                int read = (base == 0 ? 0 : 1024) + i / 8;
                assertEquals(Integer.toHexString(msr), 1 << (i & 7), byteAt(read));
                assertEquals(Integer.toHexString(msr), 1 << (i & 7), byteAt(read + 2048));
                msrs.setReadIntercept(msr, false);
                msrs.setWriteIntercept(msr, false);
                assertFalse(Integer.toHexString(msr), msrs.isReadIntercepted(msr) || msrs.isWriteIntercepted(msr));
            }
        }
        assertEquals(0, nonZeroBytes());
    }

    @Test
    public void msrsOutsideTheRangesAlwaysExitAndCannotBeSet() {
        int[] outside = {0x2000, 0x4000_0000, 0xBFFF_FFFF, 0xC000_2000, 0xC001_0000, 0xFFFF_FFFF};
        for (int msr : outside) {
            assertTrue(Integer.toHexString(msr), msrs.isReadIntercepted(msr));
            assertTrue(Integer.toHexString(msr), msrs.isWriteIntercepted(msr));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> msrs.setReadIntercept(msr, false));
            assertTrue(e.getMessage(), e.getMessage().contains(String.format("%#x", Integer.toUnsignedLong(msr)))
                    && e.getMessage().contains("always cause VM exits"));
            assertThrows(IllegalArgumentException.class, () -> msrs.setWriteIntercept(msr, true));
        }
        assertEquals(0, nonZeroBytes());
    }

    @Test
    public void rangesStayInsideOneCoveredRange() {
        msrs.setInterceptRange(0xC000_0080, 4, false, true, true); // EFER, STAR, LSTAR, CSTAR writes
        assertEquals(0x0F, byteAt(3072 + 16));
        assertEquals(1, nonZeroBytes());
        msrs.setInterceptRange(0, 0x2000, true, true, true);
        for (int i = 0; i < 1024; i++) {
            assertEquals(0xFF, byteAt(i));
            assertEquals(0xFF, byteAt(2048 + i));
        }
        msrs.setInterceptRange(0, 0x2000, true, false, false);
        assertFalse(msrs.isReadIntercepted(0x10));
        assertTrue(msrs.isWriteIntercepted(0x10));

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> msrs.setInterceptRange(0x1FF0, 0x20, true, true, true));
        assertTrue(e.getMessage(), e.getMessage().contains("0x1ff0"));
        assertThrows(IllegalArgumentException.class,
                () -> msrs.setInterceptRange(0xC000_1FFF, 2, true, true, false));
        assertThrows(IllegalArgumentException.class,
                () -> msrs.setInterceptRange(0x1000, 0xC000_0000 - 0x1000, true, true, false));
        assertThrows(IllegalArgumentException.class, () -> msrs.setInterceptRange(0, -1, true, true, false));
        assertFalse("a refused range changes nothing", msrs.isReadIntercepted(0x1FF0));
        assertFalse(msrs.isReadIntercepted(0xC000_1FFF));
    }

    @Test
    public void interceptAllSetsTheWholeFrame() {
        MsrBitmap all = MsrBitmap.allocate(memory, true);
        for (int i = 0; i < PhysicalMemory.PAGE_SIZE; i++) {
            assertEquals(0xFF, memory.read8(all.address() + i));
        }
        assertTrue(all.isReadIntercepted(Msr.IA32_EFER) && all.isWriteIntercepted(0));
        all.setReadIntercept(Msr.IA32_TSC_AUX, false);
        assertFalse(all.isReadIntercepted(Msr.IA32_TSC_AUX));
        assertTrue(all.isWriteIntercepted(Msr.IA32_TSC_AUX));
    }

    @Test
    public void freeReturnsTheFrameAndEndsUse() {
        long before = memory.freeFrameCount();
        msrs.free();
        assertEquals(before + 1, memory.freeFrameCount());
        assertThrows(IllegalStateException.class, () -> msrs.isReadIntercepted(0));
        assertThrows(IllegalStateException.class, () -> msrs.setWriteIntercept(0, true));
        assertThrows(IllegalStateException.class, msrs::free);
    }
}
