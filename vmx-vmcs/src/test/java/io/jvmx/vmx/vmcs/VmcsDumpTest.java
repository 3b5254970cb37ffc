package io.jvmx.vmx.vmcs;

import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldType;
import io.jvmx.vmx.api.vmcs.VmcsFieldWidth;
import org.junit.Test;

import java.util.HashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

/** Dump text: widths from bits 14:13 and types from bits 11:10 of the encoding (SDM Vol. 3C 25.11.2, Table 25-21). */
public class VmcsDumpTest {

    @Test
    public void formatOneShowsEncodingWidthTypeAndWidthPaddedHex() {
        assertEquals("GUEST_RIP (0x681e, natural-width guest-state) = 0x0000000000008000",
                VmcsDump.formatOne(VmcsField.GUEST_RIP, 0x8000));
        assertEquals("VIRTUAL_PROCESSOR_ID (0x0000, 16-bit control) = 0x0001",
                VmcsDump.formatOne(VmcsField.VIRTUAL_PROCESSOR_ID, 1));
        assertEquals("EXIT_REASON (0x4402, 32-bit VM-exit information) = 0x8000001e",
                VmcsDump.formatOne(VmcsField.EXIT_REASON, 0x8000_001EL));
        assertEquals("HOST_IA32_EFER (0x2c02, 64-bit host-state) = 0x0000000000000d01",
                VmcsDump.formatOne(VmcsField.HOST_IA32_EFER, 0xD01));
        assertEquals("the value is masked to the field", "GUEST_CS_SELECTOR (0x0802, 16-bit guest-state) = 0x2345",
                VmcsDump.formatOne(VmcsField.GUEST_CS_SELECTOR, 0x1_2345));
    }

    @Test
    public void formatGroupsByTypeInEncodingOrder() {
        Map<VmcsField, Long> fields = new HashMap<>();
        fields.put(VmcsField.HOST_RIP, 0xFFFF_8000_0010_0000L);
        fields.put(VmcsField.GUEST_RIP, 0x8000L);
        fields.put(VmcsField.GUEST_CS_SELECTOR, 0L);
        fields.put(VmcsField.EXCEPTION_BITMAP, 0x40L);
        fields.put(VmcsField.VIRTUAL_PROCESSOR_ID, 1L);
        fields.put(VmcsField.IO_BITMAP_A, 0x5000L);
        String expected = ""
                + "control fields:\n"
                + "  VIRTUAL_PROCESSOR_ID = 0x0001\n"
                + "  IO_BITMAP_A = 0x0000000000005000\n"
                + "  EXCEPTION_BITMAP = 0x00000040\n"
                + "guest-state fields:\n"
                + "  GUEST_CS_SELECTOR = 0x0000\n"
                + "  GUEST_RIP = 0x0000000000008000\n"
                + "host-state fields:\n"
                + "  HOST_RIP = 0xffff800000100000\n";
        assertEquals(expected, VmcsDump.format(fields));
    }

    @Test
    public void formatShowsTheExitInformationGroup() {
        Map<VmcsField, Long> fields = new HashMap<>();
        fields.put(VmcsField.EXIT_QUALIFICATION, 0x3F80000L);
        fields.put(VmcsField.EXIT_REASON, 30L);
        assertEquals("VM-exit information fields:\n  EXIT_REASON = 0x0000001e\n"
                + "  EXIT_QUALIFICATION = 0x0000000003f80000\n", VmcsDump.format(fields));
        assertEquals("", VmcsDump.format(new HashMap<>()));
    }

    @Test
    public void formatRefusesAMissingValue() {
        Map<VmcsField, Long> fields = new HashMap<>();
        fields.put(VmcsField.GUEST_RIP, null);
        assertThrows(IllegalArgumentException.class, () -> VmcsDump.format(fields));
    }

    @Test
    public void labels() {
        assertEquals("0x00ff", VmcsDump.hex(VmcsFieldWidth.BITS_16, 0xFF));
        assertEquals("0xffffffff", VmcsDump.hex(VmcsFieldWidth.BITS_32, -1));
        assertEquals("VM-exit information", VmcsDump.typeLabel(VmcsFieldType.VM_EXIT_INFORMATION));
    }
}
