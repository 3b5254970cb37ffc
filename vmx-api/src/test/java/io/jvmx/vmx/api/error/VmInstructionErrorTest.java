package io.jvmx.vmx.api.error;

import org.junit.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/** VM-instruction error numbers: SDM Vol. 3C 31.4, Table 31-1; VMfailInvalid / VMfailValid: SDM 31.2. */
public class VmInstructionErrorTest {

    @Test
    public void numbersAndTextsFollowTable31_1() {
        Map<Integer, String> t = new LinkedHashMap<>();
        t.put(1, "VMCALL executed in VMX root operation");
        t.put(2, "VMCLEAR with invalid physical address");
        t.put(3, "VMCLEAR with VMXON pointer");
        t.put(4, "VMLAUNCH with non-clear VMCS");
        t.put(5, "VMRESUME with non-launched VMCS");
        t.put(6, "VMRESUME after VMXOFF (VMXOFF and VMXON between VMLAUNCH and VMRESUME)");
        t.put(7, "VM entry with invalid control field(s)");
        t.put(8, "VM entry with invalid host-state field(s)");
        t.put(9, "VMPTRLD with invalid physical address");
        t.put(10, "VMPTRLD with VMXON pointer");
        t.put(11, "VMPTRLD with incorrect VMCS revision identifier");
        t.put(12, "VMREAD/VMWRITE from/to unsupported VMCS component");
        t.put(13, "VMWRITE to read-only VMCS component");
        t.put(15, "VMXON executed in VMX root operation");
        t.put(16, "VM entry with invalid executive-VMCS pointer");
        t.put(17, "VM entry with non-launched executive VMCS");
        t.put(18, "VM entry with executive-VMCS pointer not VMXON pointer");
        t.put(19, "VMCALL with non-clear VMCS");
        t.put(20, "VMCALL with invalid VM-exit control fields");
        t.put(22, "VMCALL with incorrect MSEG revision identifier");
        t.put(23, "VMXOFF under dual-monitor treatment of SMIs and SMM");
        t.put(24, "VMCALL with invalid SMM-monitor features");
        t.put(25, "VM entry with invalid VM-execution control fields in executive VMCS");
        t.put(26, "VM entry with events blocked by MOV SS");
        t.put(28, "Invalid operand to INVEPT/INVVPID");
        assertEquals(t.size(), VmInstructionError.values().length);
        for (Map.Entry<Integer, String> e : t.entrySet()) {
            VmInstructionError err = VmInstructionError.of(e.getKey()).orElseThrow();
            assertEquals(e.getKey().intValue(), err.number());
            assertTrue(err + " should start with " + e.getValue(), err.text().startsWith(e.getValue()));
        }
        assertEquals(7, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS.number());
        assertEquals(8, VmInstructionError.ENTRY_INVALID_HOST_STATE.number());
        assertEquals(12, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT.number());
    }

    @Test
    public void unusedNumbersHaveNoError() {
        for (int n : new int[] {0, 14, 21, 27, 29, -1}) {
            assertTrue(String.valueOf(n), VmInstructionError.of(n).isEmpty());
        }
    }

    @Test
    public void toStringShowsNumberAndText() {
        assertEquals("12 (VMREAD/VMWRITE from/to unsupported VMCS component)",
                VmInstructionError.UNSUPPORTED_VMCS_COMPONENT.toString());
    }

    @Test
    public void failValidCarriesTheErrorAndFailInvalidNone() {
        VmxInstructionException valid = VmxInstructionException.failValid("VMLAUNCH",
                VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
        assertTrue(valid.isFailValid());
        assertEquals(VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, valid.error());
        assertEquals("VMLAUNCH", valid.instruction());
        assertEquals("VMLAUNCH: VMfailValid, VM-instruction error 7 (VM entry with invalid control field(s))",
                valid.getMessage());
        VmxInstructionException invalid = VmxInstructionException.failInvalid("VMREAD", "no current VMCS");
        assertFalse(invalid.isFailValid());
        assertNull(invalid.error());
        assertEquals("VMREAD: VMfailInvalid (no current VMCS)", invalid.getMessage());
    }

    @Test
    public void processorFaults() {
        // SDM Vol. 3A Table 6-1: #UD is vector 6 without error code, #GP vector 13 with error code 0 here
        ProcessorFault gp = ProcessorFault.gp("WRMSR of a reserved bit");
        assertEquals(13, gp.vector());
        assertEquals(0, gp.errorCode());
        assertEquals("#GP(0): WRMSR of a reserved bit", gp.getMessage());
        ProcessorFault ud = ProcessorFault.ud("VMXON with CR4.VMXE = 0");
        assertEquals(6, ud.vector());
        assertEquals(-1, ud.errorCode());
    }
}
