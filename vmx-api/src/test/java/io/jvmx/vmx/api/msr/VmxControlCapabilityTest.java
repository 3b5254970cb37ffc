package io.jvmx.vmx.api.msr;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * Control-capability MSRs and the adjustment of a control word: SDM Vol. 3D A.3-A.5 (bits 31:0 allowed 0-settings,
 * bits 63:32 allowed 1-settings) and Vol. 3C 32.5.1 (software must respect both).
 */
public class VmxControlCapabilityTest {
    /** A pin-based MSR as a processor reports it: bits 1, 2, 4 must be 1; bits 0-7 may be 1. */
    private final VmxControlCapability pin = VmxControlCapability.decode("IA32_VMX_PINBASED_CTLS",
            0x0000_00FF_0000_0016L);

    @Test
    public void decodeSplitsAllowed0AndAllowed1() {
        assertEquals(0x16, pin.allowed0());
        assertEquals(0xFF, pin.allowed1());
        assertEquals(0x16, pin.mustBeOne());
        assertEquals(0xFF, pin.mayBeOne());
        assertEquals(0x0000_00FF_0000_0016L, pin.encode());
        VmxControlCapability high = VmxControlCapability.decode("IA32_VMX_TRUE_PROCBASED_CTLS",
                0xFFF9_FFFE_0400_6172L);
        assertEquals(0x0400_6172, high.allowed0());
        assertEquals(0xFFF9_FFFE, high.allowed1());
        assertEquals(0xFFF9_FFFE_0400_6172L, high.encode());
    }

    @Test
    public void allowed0ControlsAreForcedTo1() {
        assertEquals(0x1E, pin.adjust(0x08, 0)); // NMI exiting + the required bits
        assertEquals(0x16, pin.adjust(0, 0));
        assertEquals(0x56, pin.adjust(0x40, 0x01));
    }

    @Test
    public void allowed1RefusalNamesTheBits() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pin.adjust(0x108, 0));
        assertTrue(e.getMessage(), e.getMessage().startsWith("IA32_VMX_PINBASED_CTLS: "));
        assertTrue(e.getMessage(), e.getMessage().contains("0x100") && e.getMessage().contains("allowed-1"));
        assertTrue(e.getMessage(), e.getMessage().contains("0xff"));
    }

    @Test
    public void clearingARequiredControlIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pin.adjust(0, 0x04));
        assertTrue(e.getMessage(), e.getMessage().contains("requires bits 0x4") && e.getMessage().contains("allowed-0"));
    }

    @Test
    public void bothSetAndClearIsAnError() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> pin.adjust(0x09, 0x08));
        assertTrue(e.getMessage(), e.getMessage().contains("0x8") && e.getMessage().contains("both set and clear"));
    }

    @Test
    public void bit31Controls() {
        VmxControlCapability cap = VmxControlCapability.decode("IA32_VMX_PROCBASED_CTLS", 0xFFFF_FFFF_0000_0000L);
        assertEquals(1 << 31, cap.adjust(1 << 31, 0));
        assertTrue(cap.isValid(1 << 31));
    }

    @Test
    public void isValidChecksBothHalves() {
        assertTrue(pin.isValid(0x16));
        assertTrue(pin.isValid(0xFF));
        assertFalse("bit 1 must be 1", pin.isValid(0x14));
        assertFalse("bit 8 may not be 1", pin.isValid(0x116));
    }
}
