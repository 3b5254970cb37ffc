package io.jvmx.vmx.api.msr;

import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/** IA32_VMX_CR0_FIXED0/1 and IA32_VMX_CR4_FIXED0/1: SDM Vol. 3D A.7 and A.8 (checked at VMXON, 24.8, and VM entry). */
public class FixedBitsTest {
    /** PG, NE, PE must be 1; everything may be 1 (values a processor reports without unrestricted guest). */
    private final FixedBits cr0 = new FixedBits("CR0", 0x8000_0021L, 0xFFFF_FFFFL);
    /** VMXE must be 1; every bit that is 0 in FIXED1 (bit 23 among them) must be 0. */
    private final FixedBits cr4 = new FixedBits("CR4", 0x2000L, 0x3727FFL);

    @Test
    public void accepts() {
        assertTrue(cr0.accepts(0x8000_0031L));
        assertFalse("PG missing", cr0.accepts(0x31L));
        assertFalse("bit 32 beyond FIXED1", cr0.accepts(0x1_8000_0021L));
        assertTrue(cr4.accepts(0x2020L));
        assertFalse("VMXE missing", cr4.accepts(0x20L));
        assertFalse("bit 23 must be 0", cr4.accepts(0x80_2020L));
    }

    @Test
    public void violationNamesTheBits() {
        assertNull(cr0.violation(0x8000_0021L));
        assertEquals("CR0 = 0x31: bits 0x80000000 must be 1 (FIXED0 0x80000021)", cr0.violation(0x31L));
        assertEquals("CR4 = 0x800020: bits 0x2000 must be 1 (FIXED0 0x2000) bits 0x800000 must be 0 (FIXED1 0x3727ff)",
                cr4.violation(0x80_0020L));
    }

    @Test
    public void applyForcesTheFixedBits() {
        assertEquals(0x8000_0021L, cr0.apply(0));
        assertEquals(0x2020L, cr4.apply(0x80_0020L));
        assertTrue(cr4.accepts(cr4.apply(-1L)));
        assertTrue(cr0.accepts(cr0.apply(0x1234_5678_9ABC_DEF0L)));
    }
}
