package io.jvmx.vmx.api.vmcs;

import org.junit.Test;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * VMCS field encodings: SDM Vol. 3D Appendix B (tables B-1 to B-14, one sample or more from each) and the
 * structure of an encoding, SDM Vol. 3C 25.11.2 / Table 25-21 (bit 0 access type, bits 9:1 index, bits 11:10 type,
 * bit 12 reserved, bits 14:13 width, bits 31:15 reserved).
 */
public class VmcsFieldTest {

    private static void assertField(VmcsField f, int encoding, VmcsFieldWidth width, VmcsFieldType type) {
        assertEquals(f.name(), encoding, f.encoding());
        assertEquals(f.name(), width, f.width());
        assertEquals(f.name(), type, f.type());
    }

    @Test
    public void samplesFromEveryAppendixBTable() {
        // B.1.1 16-bit control fields
        assertField(VmcsField.VIRTUAL_PROCESSOR_ID, 0x0000, VmcsFieldWidth.BITS_16, VmcsFieldType.CONTROL);
        assertField(VmcsField.EPTP_INDEX, 0x0004, VmcsFieldWidth.BITS_16, VmcsFieldType.CONTROL);
        // B.1.2 16-bit guest-state fields
        assertField(VmcsField.GUEST_CS_SELECTOR, 0x0802, VmcsFieldWidth.BITS_16, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.PML_INDEX, 0x0812, VmcsFieldWidth.BITS_16, VmcsFieldType.GUEST_STATE);
        // B.1.3 16-bit host-state fields
        assertField(VmcsField.HOST_TR_SELECTOR, 0x0C0C, VmcsFieldWidth.BITS_16, VmcsFieldType.HOST_STATE);
        // B.2.1 64-bit control fields
        assertField(VmcsField.IO_BITMAP_A, 0x2000, VmcsFieldWidth.BITS_64, VmcsFieldType.CONTROL);
        assertField(VmcsField.IO_BITMAP_B, 0x2002, VmcsFieldWidth.BITS_64, VmcsFieldType.CONTROL);
        assertField(VmcsField.MSR_BITMAPS, 0x2004, VmcsFieldWidth.BITS_64, VmcsFieldType.CONTROL);
        assertField(VmcsField.TSC_OFFSET, 0x2010, VmcsFieldWidth.BITS_64, VmcsFieldType.CONTROL);
        assertField(VmcsField.EPT_POINTER, 0x201A, VmcsFieldWidth.BITS_64, VmcsFieldType.CONTROL);
        assertField(VmcsField.TSC_MULTIPLIER, 0x2032, VmcsFieldWidth.BITS_64, VmcsFieldType.CONTROL);
        // B.2.2 64-bit read-only data field
        assertField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0x2400, VmcsFieldWidth.BITS_64,
                VmcsFieldType.VM_EXIT_INFORMATION);
        // B.2.3 64-bit guest-state fields
        assertField(VmcsField.VMCS_LINK_POINTER, 0x2800, VmcsFieldWidth.BITS_64, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_IA32_EFER, 0x2806, VmcsFieldWidth.BITS_64, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_PDPTE3, 0x2810, VmcsFieldWidth.BITS_64, VmcsFieldType.GUEST_STATE);
        // B.2.4 64-bit host-state fields
        assertField(VmcsField.HOST_IA32_PAT, 0x2C00, VmcsFieldWidth.BITS_64, VmcsFieldType.HOST_STATE);
        assertField(VmcsField.HOST_IA32_EFER, 0x2C02, VmcsFieldWidth.BITS_64, VmcsFieldType.HOST_STATE);
        // B.3.1 32-bit control fields
        assertField(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, 0x4000, VmcsFieldWidth.BITS_32, VmcsFieldType.CONTROL);
        assertField(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, 0x4002, VmcsFieldWidth.BITS_32,
                VmcsFieldType.CONTROL);
        assertField(VmcsField.EXCEPTION_BITMAP, 0x4004, VmcsFieldWidth.BITS_32, VmcsFieldType.CONTROL);
        assertField(VmcsField.PRIMARY_VM_EXIT_CONTROLS, 0x400C, VmcsFieldWidth.BITS_32, VmcsFieldType.CONTROL);
        assertField(VmcsField.VM_ENTRY_CONTROLS, 0x4012, VmcsFieldWidth.BITS_32, VmcsFieldType.CONTROL);
        assertField(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, 0x4016, VmcsFieldWidth.BITS_32,
                VmcsFieldType.CONTROL);
        assertField(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, 0x401E, VmcsFieldWidth.BITS_32,
                VmcsFieldType.CONTROL);
        // B.3.2 32-bit read-only data fields
        assertField(VmcsField.VM_INSTRUCTION_ERROR, 0x4400, VmcsFieldWidth.BITS_32,
                VmcsFieldType.VM_EXIT_INFORMATION);
        assertField(VmcsField.EXIT_REASON, 0x4402, VmcsFieldWidth.BITS_32, VmcsFieldType.VM_EXIT_INFORMATION);
        assertField(VmcsField.VM_EXIT_INSTRUCTION_LENGTH, 0x440C, VmcsFieldWidth.BITS_32,
                VmcsFieldType.VM_EXIT_INFORMATION);
        // B.3.3 32-bit guest-state fields
        assertField(VmcsField.GUEST_CS_ACCESS_RIGHTS, 0x4816, VmcsFieldWidth.BITS_32, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 0x4824, VmcsFieldWidth.BITS_32,
                VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_ACTIVITY_STATE, 0x4826, VmcsFieldWidth.BITS_32, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 0x482E, VmcsFieldWidth.BITS_32, VmcsFieldType.GUEST_STATE);
        // B.3.4 32-bit host-state field
        assertField(VmcsField.HOST_IA32_SYSENTER_CS, 0x4C00, VmcsFieldWidth.BITS_32, VmcsFieldType.HOST_STATE);
        // B.4.1 natural-width control fields
        assertField(VmcsField.CR0_GUEST_HOST_MASK, 0x6000, VmcsFieldWidth.NATURAL, VmcsFieldType.CONTROL);
        assertField(VmcsField.CR4_READ_SHADOW, 0x6006, VmcsFieldWidth.NATURAL, VmcsFieldType.CONTROL);
        assertField(VmcsField.CR3_TARGET_VALUE_3, 0x600E, VmcsFieldWidth.NATURAL, VmcsFieldType.CONTROL);
        // B.4.2 natural-width read-only data fields
        assertField(VmcsField.EXIT_QUALIFICATION, 0x6400, VmcsFieldWidth.NATURAL, VmcsFieldType.VM_EXIT_INFORMATION);
        assertField(VmcsField.GUEST_LINEAR_ADDRESS, 0x640A, VmcsFieldWidth.NATURAL,
                VmcsFieldType.VM_EXIT_INFORMATION);
        // B.4.3 natural-width guest-state fields
        assertField(VmcsField.GUEST_CR0, 0x6800, VmcsFieldWidth.NATURAL, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_RSP, 0x681C, VmcsFieldWidth.NATURAL, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_RIP, 0x681E, VmcsFieldWidth.NATURAL, VmcsFieldType.GUEST_STATE);
        assertField(VmcsField.GUEST_RFLAGS, 0x6820, VmcsFieldWidth.NATURAL, VmcsFieldType.GUEST_STATE);
        // B.4.4 natural-width host-state fields
        assertField(VmcsField.HOST_CR3, 0x6C02, VmcsFieldWidth.NATURAL, VmcsFieldType.HOST_STATE);
        assertField(VmcsField.HOST_RSP, 0x6C14, VmcsFieldWidth.NATURAL, VmcsFieldType.HOST_STATE);
        assertField(VmcsField.HOST_RIP, 0x6C16, VmcsFieldWidth.NATURAL, VmcsFieldType.HOST_STATE);
    }

    @Test
    public void widthAndTypeAreBits14To13And11To10OfEveryEncoding() {
        for (VmcsField f : VmcsField.values()) {
            int e = f.encoding();
            assertEquals(f.name(), VmcsFieldWidth.values()[(e >> 13) & 3], f.width());
            assertEquals(f.name(), VmcsFieldType.values()[(e >> 10) & 3], f.type());
            assertEquals(f.name() + ": access type full", 0, e & 1);
            assertEquals(f.name() + ": bit 12 and bits 31:15 reserved", 0, e & ~0x6FFF);
        }
        assertEquals(16, VmcsFieldWidth.BITS_16.bits());
        assertEquals(0xFFFFL, VmcsFieldWidth.BITS_16.mask());
        assertEquals(0xFFFF_FFFFL, VmcsFieldWidth.BITS_32.mask());
        assertEquals(-1L, VmcsFieldWidth.BITS_64.mask());
        assertEquals(-1L, VmcsFieldWidth.NATURAL.mask());
        assertEquals(VmcsFieldType.HOST_STATE, VmcsFieldType.ofEncoding(0x0C00));
        assertEquals(VmcsFieldWidth.NATURAL, VmcsFieldWidth.ofEncoding(0x6000));
    }

    @Test
    public void encodingsAreUnique() {
        Map<Integer, VmcsField> seen = new HashMap<>();
        for (VmcsField f : VmcsField.values()) {
            VmcsField before = seen.put(f.encoding(), f);
            assertNull(f + " shares its encoding with " + before, before);
        }
    }

    @Test
    public void fieldCountsPerWidthMatchAppendixB() {
        Map<VmcsFieldWidth, Integer> count = new EnumMap<>(VmcsFieldWidth.class);
        for (VmcsField f : VmcsField.values()) {
            count.merge(f.width(), 1, Integer::sum);
        }
        // B.1: 5 + 11 + 7; B.2: 37 + 1 + 13 + 4; B.3: 19 + 8 + 23 + 1; B.4: 8 + 6 + 23 + 15
        assertEquals(Integer.valueOf(23), count.get(VmcsFieldWidth.BITS_16));
        assertEquals(Integer.valueOf(55), count.get(VmcsFieldWidth.BITS_64));
        assertEquals(Integer.valueOf(51), count.get(VmcsFieldWidth.BITS_32));
        assertEquals(Integer.valueOf(52), count.get(VmcsFieldWidth.NATURAL));
        assertEquals(181, VmcsField.values().length);
    }

    @Test
    public void byEncodingFindsEveryFieldAndNothingElse() {
        for (VmcsField f : VmcsField.values()) {
            assertEquals(f, VmcsField.byEncoding(f.encoding()).orElseThrow());
        }
        assertTrue("the high half is not a field of its own", VmcsField.byEncoding(0x201B).isEmpty());
        assertTrue("0x482C is not defined in B.3.3", VmcsField.byEncoding(0x482C).isEmpty());
        assertTrue(VmcsField.byEncoding(0x1000).isEmpty());
        assertTrue(VmcsField.byEncoding(-1).isEmpty());
    }

    @Test
    public void byNameIgnoresCaseAndSeparators() {
        assertEquals(VmcsField.GUEST_RIP, VmcsField.byName("GUEST_RIP").orElseThrow());
        assertEquals(VmcsField.GUEST_RIP, VmcsField.byName("guest-rip").orElseThrow());
        assertEquals(VmcsField.GUEST_RIP, VmcsField.byName(" Guest rip ").orElseThrow());
        assertEquals(VmcsField.EPT_POINTER, VmcsField.byName("ept_pointer").orElseThrow());
        for (VmcsField f : VmcsField.values()) {
            assertEquals(f, VmcsField.byName(f.name().toLowerCase()).orElseThrow());
        }
        assertTrue(VmcsField.byName("GUEST_RIPX").isEmpty());
        assertTrue(VmcsField.byName("").isEmpty());
        assertTrue(VmcsField.byName(null).isEmpty());
    }

    @Test
    public void highAccessExistsFor64BitFieldsOnly() {
        // SDM 25.11.2: access type 1 ("high") is allowed for 64-bit fields only.
        for (VmcsField f : VmcsField.values()) {
            assertTrue(f.name(), VmcsField.isSupportedEncoding(f.encoding()));
            assertEquals(f.name(), f.width() == VmcsFieldWidth.BITS_64, VmcsField.isSupportedEncoding(f.encoding() | 1));
        }
        assertTrue(VmcsField.isSupportedEncoding(0x2001)); // IO_BITMAP_A high
        assertFalse(VmcsField.isSupportedEncoding(0x681F)); // GUEST_RIP is natural width
        assertFalse(VmcsField.isSupportedEncoding(0x4003)); // 32-bit
        assertFalse(VmcsField.isSupportedEncoding(0x0803)); // 16-bit
        assertFalse(VmcsField.isSupportedEncoding(0x2047)); // high of an undefined 64-bit encoding
    }

    @Test
    public void vmExitInformationFieldsAreReadOnly() {
        // SDM 25.9: the VM-exit information fields are read-only (VMWRITE needs IA32_VMX_MISC bit 29).
        for (VmcsField f : VmcsField.values()) {
            assertEquals(f.name(), f.type() == VmcsFieldType.VM_EXIT_INFORMATION, f.isReadOnly());
        }
        assertTrue(VmcsField.EXIT_QUALIFICATION.isReadOnly());
        assertTrue(VmcsField.GUEST_PHYSICAL_ADDRESS.isReadOnly());
        assertFalse(VmcsField.GUEST_RIP.isReadOnly());
        assertFalse(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION.isReadOnly());
    }
}
