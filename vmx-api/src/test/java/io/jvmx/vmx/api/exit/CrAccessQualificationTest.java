package io.jvmx.vmx.api.exit;

import io.jvmx.vmx.api.exit.CrAccessQualification.AccessType;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Exit qualification for control-register accesses: SDM Vol. 3C 28.2.1, Table 28-3 (bits 3:0 CR number, 5:4 access
 * type, 6 LMSW operand type, 11:8 register, 31:16 LMSW source data). x86_vcpu decodes only MOV to CR and panics on
 * CLTS, LMSW and MOV from CR: all four access types are decoded here.
 */
public class CrAccessQualificationTest {

    private static void roundTrip(long q, CrAccessQualification expected) {
        assertEquals(expected, CrAccessQualification.decode(q));
        assertEquals(q, expected.encode());
    }

    @Test
    public void movToCr() {
        roundTrip(0x104, new CrAccessQualification(4, AccessType.MOV_TO_CR, false, 1, 0)); // MOV CR4, RCX
        roundTrip(0x000, new CrAccessQualification(0, AccessType.MOV_TO_CR, false, 0, 0)); // MOV CR0, RAX
        roundTrip(0xF08, new CrAccessQualification(8, AccessType.MOV_TO_CR, false, 15, 0)); // MOV CR8, R15
        roundTrip(0x403, new CrAccessQualification(3, AccessType.MOV_TO_CR, false, 4, 0)); // MOV CR3, RSP
    }

    @Test
    public void movFromCr() {
        roundTrip(0x313, new CrAccessQualification(3, AccessType.MOV_FROM_CR, false, 3, 0)); // MOV RBX, CR3
        roundTrip(0x918, new CrAccessQualification(8, AccessType.MOV_FROM_CR, false, 9, 0)); // MOV R9, CR8
    }

    @Test
    public void clts() {
        // CR number 0, access type 2, register and LMSW fields cleared
        CrAccessQualification q = CrAccessQualification.decode(0x20);
        assertEquals(AccessType.CLTS, q.accessType());
        assertEquals(0, q.crNumber());
        roundTrip(0x20, new CrAccessQualification(0, AccessType.CLTS, false, 0, 0));
    }

    @Test
    public void lmswWithSourceData() {
        // LMSW AX with AX = 0x0001 (sets PE): access type 3, operand type register, source in bits 31:16
        CrAccessQualification reg = CrAccessQualification.decode(0x0001_0030L);
        assertEquals(AccessType.LMSW, reg.accessType());
        assertFalse(reg.lmswMemory());
        assertEquals(0x0001, reg.lmswSource());
        roundTrip(0x0001_0030L, new CrAccessQualification(0, AccessType.LMSW, false, 0, 0x0001));
        // LMSW m16 with 0xFFFF: operand type memory (bit 6); all 16 source bits survive (x86_vcpu keeps only 8)
        CrAccessQualification mem = CrAccessQualification.decode(0xFFFF_0070L);
        assertTrue(mem.lmswMemory());
        assertEquals(0xFFFF, mem.lmswSource());
        roundTrip(0xFFFF_0070L, new CrAccessQualification(0, AccessType.LMSW, true, 0, 0xFFFF));
    }

    @Test
    public void reservedBitsAreIgnored() {
        // bit 7, bits 15:12 and bits 63:32 are reserved (cleared to 0 by the processor)
        long withReserved = 0xFFFF_FFFF_0000_F080L | 0x104;
        assertEquals(CrAccessQualification.decode(0x104), CrAccessQualification.decode(withReserved));
        assertEquals(0x104, CrAccessQualification.decode(withReserved).encode());
    }
}
