package io.jvmx.vmx.api.exit;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Exit qualification for EPT violations: SDM Vol. 3C 28.2.1, Table 28-7 (bits 0-2 access, 3-5 permissions of the
 * translation, 7 linear address valid, 8 translated access vs paging-structure access, 12 NMI unblocking).
 */
public class EptViolationQualificationTest {

    private static void roundTrip(long q, EptViolationQualification expected) {
        assertEquals(expected, EptViolationQualification.decode(q));
        assertEquals(q, expected.encode());
    }

    @Test
    public void writeToReadOnlyPage() {
        // data write (bit 1); the page is readable (3) and executable (5); linear address valid (7), translated (8)
        roundTrip(0x1AAL, new EptViolationQualification(false, true, false, true, false, true, true, true, false));
    }

    @Test
    public void fetchFromNonExecutablePage() {
        roundTrip(0x19CL, new EptViolationQualification(false, false, true, true, true, false, true, true, false));
    }

    @Test
    public void readOfUnmappedAddressDuringPagingStructureWalk() {
        // a guest paging-structure read (bit 7 set, bit 8 clear) to a guest-physical address that is not present
        EptViolationQualification q = EptViolationQualification.decode(0x81L);
        assertTrue(q.read());
        assertFalse(q.readable() || q.writable() || q.executable());
        assertTrue(q.linearValid());
        assertFalse(q.linearTranslation());
        roundTrip(0x81L, q);
    }

    @Test
    public void nmiUnblocking() {
        roundTrip(0x1001L, new EptViolationQualification(true, false, false, false, false, false, false, false, true));
    }

    @Test
    public void eachBitAlone() {
        int[] bits = {0, 1, 2, 3, 4, 5, 7, 8, 12};
        for (int b : bits) {
            long q = 1L << b;
            assertEquals("bit " + b, q, EptViolationQualification.decode(q).encode());
        }
        assertEquals("bits not decoded here (6, 9-11, 13+) do not leak", 0L,
                EptViolationQualification.decode(0xFFFF_FFFF_FFFF_EE40L).encode());
    }
}
