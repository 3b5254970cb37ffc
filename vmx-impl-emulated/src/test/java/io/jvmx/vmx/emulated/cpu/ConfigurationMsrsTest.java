package io.jvmx.vmx.emulated.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.msr.Msr;

import org.junit.Test;

/**
 * The MTRRs (SDM Vol. 3A 12.11), PAT's memory types (12.12.2) and IA32_MISC_ENABLE (Vol. 4 Table 2-2): which MSRs
 * exist, what they read after reset, and which writes are #GP(0) ({@code write} returns why, null when written).
 */
public class ConfigurationMsrsTest {
    private final ConfigurationMsrs msrs = new ConfigurationMsrs();

    @Test
    public void theMtrrMsrsThatExist() {
        for (int m : new int[] {0xFE, 0x2FF, 0x250, 0x258, 0x259, 0x268, 0x26F, 0x200, 0x20F, 0x1A0}) {
            assertTrue(String.format("%#x", m), ConfigurationMsrs.has(m));
        }
        for (int m : new int[] {0x210, 0x251, 0x257, 0x25A, 0x267, 0x270, 0x2FE, 0x1F}) {
            assertFalse(String.format("%#x", m), ConfigurationMsrs.has(m));
        }
    }

    @Test
    public void mtrrcapIsReadOnlyAndSaysEightVariableRangesFixedRangesAndWc() {
        assertEquals(0x508, msrs.read(Msr.IA32_MTRRCAP));
        assertNotNull(msrs.write(Msr.IA32_MTRRCAP, 0x508));
    }

    @Test
    public void afterResetTheMtrrsAreDisabled() {
        assertEquals(0, msrs.read(Msr.IA32_MTRR_DEF_TYPE));
        assertEquals(0, msrs.read(Msr.IA32_MTRR_FIX4K_F8000));
        assertEquals(0, msrs.read(Msr.IA32_MTRR_PHYSBASE0 + 1));
    }

    /** 12.11.2.1: type 7:0, FE 10, E 11; the rest is reserved; the type must be one of Table 12-8. */
    @Test
    public void defaultTypeChecksReservedBitsAndTheType() {
        assertNull(msrs.write(Msr.IA32_MTRR_DEF_TYPE, 0xC06));
        assertEquals(0xC06, msrs.read(Msr.IA32_MTRR_DEF_TYPE));
        for (long bad : new long[] {0x1C06, 0xD06, 1L << 63, 0xC02, 0xC03, 0xC07, 0xCFF}) {
            assertNotNull(Long.toHexString(bad), msrs.write(Msr.IA32_MTRR_DEF_TYPE, bad));
        }
        assertEquals("a refused write changes nothing", 0xC06, msrs.read(Msr.IA32_MTRR_DEF_TYPE));
        for (int type : new int[] {0, 1, 4, 5, 6}) {
            assertNull(msrs.write(Msr.IA32_MTRR_DEF_TYPE, type));
        }
    }

    @Test
    public void fixedRangesHoldOneValidTypePerByte() {
        for (int m : new int[] {0x250, 0x258, 0x259, 0x268, 0x26B, 0x26F}) {
            assertNull(msrs.write(m, 0x0605_0401_0006_0504L));
            assertEquals(0x0605_0401_0006_0504L, msrs.read(m));
        }
        assertNotNull("type 2 in byte 7", msrs.write(0x259, 0x0206_0606_0606_0606L));
        assertNotNull("type 7 (UC- is PAT's only)", msrs.write(0x268, 0x07));
    }

    /** 12.11.2.3: PHYSBASE 11:8 and PHYSMASK 10:0 reserved, and everything from MAXPHYADDR (46) up. */
    @Test
    public void variableRangesCheckReservedBitsAndTheType() {
        assertNull(msrs.write(0x200, 0x3FFF_FFFF_F000L | 6));
        assertNull(msrs.write(0x201, 0x3FFF_FFF0_0800L));
        assertEquals(0x3FFF_FFF0_0800L, msrs.read(0x201));
        assertNotNull(msrs.write(0x200, 0x106));
        assertNotNull(msrs.write(0x200, 1L << 46 | 6));
        assertNotNull("bit 11 of PHYSBASE is reserved", msrs.write(0x200, 0x800));
        assertNotNull(msrs.write(0x201, 0x801));
        assertNotNull(msrs.write(0x20F, 1L << 46));
        assertNull(msrs.write(0x20E, 0x0010_0001));
    }

    @Test
    public void patTakesTheMtrrTypesAndUcMinus() {
        assertTrue(ConfigurationMsrs.validPat(0x0007_0406_0007_0406L));
        assertTrue(ConfigurationMsrs.validPat(0x0706_0504_0100_0706L));
        assertFalse(ConfigurationMsrs.validPat(0x0007_0406_0007_0402L));
        assertFalse(ConfigurationMsrs.validPat(0x0803_0406_0007_0406L));
        assertFalse(ConfigurationMsrs.validMtrrType(7));
    }

    @Test
    public void miscEnableReportsWhatExistsAndKeepsItsReadOnlyBits() {
        assertEquals(ConfigurationMsrs.MISC_ENABLE_RESET, msrs.read(Msr.IA32_MISC_ENABLE));
        assertEquals("fast strings, BTS and PEBS unavailable, MONITOR FSM", 0x41801, msrs.read(Msr.IA32_MISC_ENABLE));
        assertNull("clear fast strings, set automatic thermal control; try to clear MONITOR FSM",
                msrs.write(Msr.IA32_MISC_ENABLE, 0x8 | 0x1800));
        assertEquals("MONITOR FSM stays: MONITOR/MWAIT exist", 0x41808, msrs.read(Msr.IA32_MISC_ENABLE));
        assertNotNull("a reserved bit", msrs.write(Msr.IA32_MISC_ENABLE, 0x41808 | 1L << 1));
        assertNotNull("limit CPUID maxval is not modelled", msrs.write(Msr.IA32_MISC_ENABLE, 0x41808 | 1L << 22));
        assertNotNull("XD bit disable is not modelled", msrs.write(Msr.IA32_MISC_ENABLE, 0x41808 | 1L << 34));
        assertEquals(0x41808, msrs.read(Msr.IA32_MISC_ENABLE));
    }
}
