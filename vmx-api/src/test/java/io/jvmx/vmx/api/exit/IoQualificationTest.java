package io.jvmx.vmx.api.exit;

import org.junit.Test;

import static org.junit.Assert.assertEquals;

/**
 * Exit qualification for I/O instructions: SDM Vol. 3C 28.2.1, Table 28-5 (bits 2:0 size - 1, 3 direction, 4 string,
 * 5 REP, 6 operand encoding, 31:16 port).
 */
public class IoQualificationTest {

    private static void roundTrip(long q, IoQualification expected) {
        assertEquals(expected, IoQualification.decode(q));
        assertEquals(q, expected.encode());
    }

    @Test
    public void outDxAlToCom1() {
        roundTrip(0x03F8_0000L, new IoQualification(1, false, false, false, false, 0x3F8));
    }

    @Test
    public void inAlImmediate() {
        roundTrip(0x0060_0048L, new IoQualification(1, true, false, false, true, 0x60));
    }

    @Test
    public void repOutswDx() {
        roundTrip(0x01F0_0031L, new IoQualification(2, false, true, true, false, 0x1F0));
    }

    @Test
    public void inEaxDxAndOutEaxImmediate() {
        roundTrip(0x0CFC_000BL, new IoQualification(4, true, false, false, false, 0xCFC));
        roundTrip(0x00E0_0043L, new IoQualification(4, false, false, false, true, 0xE0)); // OUT 0xE0, EAX
    }

    @Test
    public void highestPort() {
        roundTrip(0xFFFF_0008L, new IoQualification(1, true, false, false, false, 0xFFFF));
    }

    @Test
    public void reservedBitsAreIgnored() {
        // bits 15:7 and 63:32 are reserved
        assertEquals(IoQualification.decode(0x03F8_0000L), IoQualification.decode(0xFFFF_0000_03F8_FF80L));
    }
}
