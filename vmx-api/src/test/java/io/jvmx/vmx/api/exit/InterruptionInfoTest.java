package io.jvmx.vmx.api.exit;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Interruption-information format: SDM Vol. 3C 25.8.3, Table 25-17 (VM entry: bits 7:0 vector, 10:8 type, 11 deliver
 * error code, 31 valid), 25.9.2 Table 25-19 (VM exit: bit 12 NMI unblocking due to IRET); error-code exceptions:
 * SDM Vol. 3A 6.15.
 */
public class InterruptionInfoTest {

    private static void roundTrip(int raw, InterruptionInfo expected) {
        assertEquals(expected, InterruptionInfo.decode(raw));
        assertEquals(expected, InterruptionInfo.decode(raw & 0xFFFF_FFFFL)); // as a zero-extended VMREAD value
        assertEquals(raw, expected.encode());
    }

    @Test
    public void injectionsOfEachType() {
        roundTrip(0x8000_0B0D, InterruptionInfo.injection(13, InterruptionType.HARDWARE_EXCEPTION, true)); // #GP(e)
        roundTrip(0x8000_0020, InterruptionInfo.injection(0x20, InterruptionType.EXTERNAL_INTERRUPT, false));
        roundTrip(0x8000_0202, InterruptionInfo.injection(2, InterruptionType.NMI, false));
        roundTrip(0x8000_0306, InterruptionInfo.injection(6, InterruptionType.HARDWARE_EXCEPTION, false)); // #UD
        roundTrip(0x8000_0480, InterruptionInfo.injection(0x80, InterruptionType.SOFTWARE_INTERRUPT, false));
        roundTrip(0x8000_0501, InterruptionInfo.injection(1, InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION, false));
        roundTrip(0x8000_0603, InterruptionInfo.injection(3, InterruptionType.SOFTWARE_EXCEPTION, false)); // INT3
        roundTrip(0x8000_0700, InterruptionInfo.injection(0, InterruptionType.OTHER_EVENT, false)); // MTF
    }

    @Test
    public void exitInformationWithNmiUnblocking() {
        roundTrip(0x8000_1B0E, new InterruptionInfo(14, InterruptionType.HARDWARE_EXCEPTION, true, true, true));
    }

    @Test
    public void invalidFieldDecodes() {
        InterruptionInfo none = InterruptionInfo.decode(0);
        assertFalse(none.valid());
        assertEquals(0, none.encode());
        assertEquals(0x8000_0000, InterruptionInfo.VALID);
    }

    @Test
    public void typeCodesAndInstructionLength() {
        for (InterruptionType t : InterruptionType.values()) {
            assertEquals(t.ordinal(), t.code());
            assertEquals(t, InterruptionType.of(t.code()));
        }
        // 25.8.3: the VM-entry instruction length is used for software interrupts and software exceptions
        assertTrue(InterruptionType.SOFTWARE_INTERRUPT.usesInstructionLength());
        assertTrue(InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION.usesInstructionLength());
        assertTrue(InterruptionType.SOFTWARE_EXCEPTION.usesInstructionLength());
        assertFalse(InterruptionType.HARDWARE_EXCEPTION.usesInstructionLength());
        assertFalse(InterruptionType.EXTERNAL_INTERRUPT.usesInstructionLength());
        assertFalse(InterruptionType.NMI.usesInstructionLength());
    }

    @Test
    public void exceptionsWithErrorCode() {
        // Vol. 3A Table 6-1: #DF(8), #TS(10), #NP(11), #SS(12), #GP(13), #PF(14), #AC(17), #CP(21)
        for (int v = 0; v < 32; v++) {
            boolean expected = v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21;
            assertEquals("vector " + v, expected, InterruptionInfo.exceptionHasErrorCode(v));
        }
    }
}
