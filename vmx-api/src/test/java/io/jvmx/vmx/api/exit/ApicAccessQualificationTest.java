package io.jvmx.vmx.api.exit;

import io.jvmx.vmx.api.exit.ApicAccessQualification.AccessType;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * Exit qualification for APIC-access VM exits: SDM Vol. 3C 28.2.1, Table 28-6 (bits 11:0 offset, 15:12 access type,
 * bit 16 asynchronous).
 */
public class ApicAccessQualificationTest {

    private static void roundTrip(long q, ApicAccessQualification expected) {
        assertEquals(expected, ApicAccessQualification.decode(q));
        assertEquals(q, expected.encode());
    }

    @Test
    public void linearAccesses() {
        roundTrip(0x0300L, new ApicAccessQualification(0x300, AccessType.LINEAR_READ, false)); // ICR low read
        roundTrip(0x10B0L, new ApicAccessQualification(0x0B0, AccessType.LINEAR_WRITE, false)); // EOI write
        roundTrip(0x2000L, new ApicAccessQualification(0, AccessType.LINEAR_FETCH, false));
        roundTrip(0x3FF0L, new ApicAccessQualification(0xFF0, AccessType.LINEAR_DURING_EVENT_DELIVERY, false));
    }

    @Test
    public void guestPhysicalAccesses() {
        roundTrip(0xA000L, new ApicAccessQualification(0, AccessType.GUEST_PHYSICAL_DURING_EVENT_DELIVERY, false));
        roundTrip(0x1_F000L, new ApicAccessQualification(0, AccessType.GUEST_PHYSICAL_FETCH_OR_EXECUTION, true));
    }

    @Test
    public void accessTypeCodes() {
        int[] codes = {0, 1, 2, 3, 10, 15};
        AccessType[] types = AccessType.values();
        for (int i = 0; i < codes.length; i++) {
            assertEquals(codes[i], types[i].code());
            assertEquals(types[i], AccessType.of(codes[i]));
        }
    }

    @Test
    public void reservedAccessTypesAreRefused() {
        for (int code : new int[] {4, 5, 9, 11, 14}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ApicAccessQualification.decode((long) code << 12));
            assertTrue(e.getMessage(), e.getMessage().contains("Table 28-6") && e.getMessage().contains("" + code));
        }
    }
}
