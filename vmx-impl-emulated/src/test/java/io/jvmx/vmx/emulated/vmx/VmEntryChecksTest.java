package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.vmcs.region.VmcsRegion;
import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.vmcs.VmcsField;

import org.junit.Test;

/** VM-entry checks: SDM Vol. 3C 27.2 (VMfailValid 7 and 8) and 27.3.1 / 27.4 / 27.8 (exit reasons 33 and 34). */
public class VmEntryChecksTest {

    private static void expectVmfail(VmxFixture fx, VmInstructionError error, String detailPart) {
        long rip = fx.read(GUEST_RIP);
        try {
            fx.cpu.vmlaunch(fx.guestRegisters);
            fail("expected VMfailValid " + error);
        } catch (VmxInstructionException e) {
            assertEquals(error, e.error());
            assertEquals(error.number(), fx.read32(VM_INSTRUCTION_ERROR));
            String detail = fx.cpu.lastEntryFailure();
            assertTrue(detail, detail.contains(detailPart));
        }
        // SDM 27.2: nothing is loaded or launched
        assertEquals(rip, fx.read(GUEST_RIP));
        assertEquals(VmcsRegion.LAUNCH_STATE_CLEAR, VmcsRegion.launchState(fx.memory, fx.vmcs));
    }

    private static void expectGuestStateFailure(VmxFixture fx, int qualification, String detailPart) {
        long hostRip = fx.read(HOST_RIP);
        fx.cpu.vmlaunch(fx.guestRegisters); // SDM 27.8: returns normally, the failure is in the VMCS
        assertEquals(ExitReason.ENTRY_FAILURE_BIT | ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE.number(),
                fx.exitReason());
        assertEquals(qualification, fx.read(EXIT_QUALIFICATION));
        String detail = fx.cpu.lastEntryFailure();
        assertTrue(detail, detail.contains(detailPart));
        // SDM 27.8: host state is loaded as on a VM exit, and the VMCS stays "clear" (not launched).
        assertEquals(hostRip, fx.cpu.state().rip);
        assertEquals(0x2, fx.cpu.state().rflags());
        try {
            fx.cpu.vmresume(fx.guestRegisters);
            fail("a failed VM entry must not launch the VMCS");
        } catch (VmxInstructionException e) {
            assertEquals(VmInstructionError.VMRESUME_NON_LAUNCHED_VMCS, e.error());
        }
    }

    /** The fixture's VMCS passes every check (so each test below fails for the one thing it changes). */
    @Test
    public void fixturePassesAllChecks() {
        VmxFixture fx = new VmxFixture();
        Vmcs v = new Vmcs(fx.memory, fx.vmcs);
        assertNull(VmEntryChecks.checkControls(v, fx.memory.size()));
        assertNull(VmEntryChecks.checkHostState(v, fx.cpu.state()));
        assertNull(VmEntryChecks.checkGuestState(v, fx.memory.size()));
    }

    /** SDM 27.2.1.1: a pin-based control the TRUE capability MSR does not allow -> VMfailValid 7. */
    @Test
    public void unsupportedPinBasedControlIsError7() {
        VmxFixture fx = new VmxFixture();
        fx.write(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.PROCESS_POSTED_INTERRUPTS);
        expectVmfail(fx, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "pin-based");
    }

    /** SDM 27.2.1.1: CR3-target count above 4, misaligned I/O bitmap, unrestricted guest without EPT -> 7. */
    @Test
    public void executionControlChecksAreError7() {
        VmxFixture fx = new VmxFixture();
        fx.write(CR3_TARGET_COUNT, 5);
        expectVmfail(fx, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "CR3-target count");

        VmxFixture fx2 = new VmxFixture();
        fx2.write(IO_BITMAP_B, fx2.ioBitmapB + 0x10);
        expectVmfail(fx2, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "I/O-bitmap");

        VmxFixture fx3 = new VmxFixture();
        fx3.write(MSR_BITMAPS, fx3.memory.size()); // aligned but outside physical memory
        expectVmfail(fx3, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "MSR-bitmap");

        VmxFixture fx4 = new VmxFixture();
        fx4.write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.UNRESTRICTED_GUEST);
        expectVmfail(fx4, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "unrestricted guest");

        VmxFixture fx5 = new VmxFixture();
        fx5.write(EPT_POINTER, fx5.eptPointer & ~0x38L | (4L << 3)); // 5-level walk
        expectVmfail(fx5, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "page-walk length");

        VmxFixture fx6 = new VmxFixture();
        fx6.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx6.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                | PrimaryProcessorBasedControls.NMI_WINDOW_EXITING);
        expectVmfail(fx6, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "NMI-window");

        VmxFixture fx7 = new VmxFixture();
        fx7.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx7.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                | PrimaryProcessorBasedControls.USE_TPR_SHADOW); // not implemented here
        expectVmfail(fx7, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "primary");

        // 27.2.1.1: with "enable VPID" the VPID must not be 0000H
        VmxFixture fx8 = new VmxFixture();
        fx8.write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx8.read(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | SecondaryProcessorBasedControls.ENABLE_VPID);
        fx8.write(VIRTUAL_PROCESSOR_ID, 0);
        expectVmfail(fx8, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "VPID");
        fx8.write(VIRTUAL_PROCESSOR_ID, 1);
        fx8.load(VmxFixture.GUEST_ENTRY, VmxFixture.bytes(0x0F, 0xA2)); // cpuid
        fx8.cpu.vmlaunch(fx8.guestRegisters);
        assertEquals(10, fx8.exitReason());
    }

    /** SDM 27.2.1.2: "save VMX-preemption timer value" requires the timer to be active -> 7. */
    @Test
    public void saveTimerWithoutTimerIsError7() {
        VmxFixture fx = new VmxFixture();
        fx.write(PRIMARY_VM_EXIT_CONTROLS, fx.read(PRIMARY_VM_EXIT_CONTROLS)
                | VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE);
        expectVmfail(fx, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "preemption timer");
    }

    /** SDM 27.2.1.3: event-injection field checks -> 7. */
    @Test
    public void badEventInjectionIsError7() {
        VmxFixture fx = new VmxFixture();
        // #GP in real mode under unrestricted guest: deliver-error-code must be 0 (CR0.PE = 0)
        fx.write(VM_ENTRY_INTERRUPTION_INFORMATION, InterruptionInfo.injection(13,
                InterruptionType.HARDWARE_EXCEPTION, true).encode());
        expectVmfail(fx, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "deliver-error-code");

        VmxFixture fx2 = new VmxFixture();
        fx2.write(VM_ENTRY_INTERRUPTION_INFORMATION, InterruptionInfo.injection(0x80,
                InterruptionType.SOFTWARE_INTERRUPT, false).encode());
        fx2.write(VM_ENTRY_INSTRUCTION_LENGTH, 0); // IA32_VMX_MISC bit 30 = 0
        expectVmfail(fx2, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "instruction length");

        VmxFixture fx3 = new VmxFixture();
        fx3.write(VM_ENTRY_INTERRUPTION_INFORMATION, InterruptionInfo.VALID | (1 << 8) | 0x20);
        expectVmfail(fx3, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, "reserved");
    }

    /**
     * SDM 27.2.1.3, each rule of the VM-entry interruption-information field once: the vector of an NMI is 2, of a
     * hardware exception at most 31, of "other event" 0; a protected-mode #PF must deliver its error code and #UD
     * must not; bits 30:12 are reserved; a software event's length is 1-15.
     */
    @Test
    public void eventInjectionRules() {
        Object[][] cases = {
                {InterruptionInfo.VALID | (2 << 8) | 3, 0, "vector 3 is invalid for type 2"},
                {InterruptionInfo.VALID | (3 << 8) | 32, 0, "vector 32 is invalid for type 3"},
                {InterruptionInfo.VALID | (7 << 8) | 1, 0, "vector 1 is invalid for type 7"},
                {InterruptionInfo.VALID | (3 << 8) | 14, 0, "deliver-error-code must be 1"},
                {InterruptionInfo.VALID | (3 << 8) | (1 << 11) | 6, 0, "deliver-error-code must be 0"},
                {InterruptionInfo.VALID | (1 << 12) | 0x20, 0, "reserved bits 30:12"},
                {InterruptionInfo.VALID | (4 << 8) | 0x80, 16, "instruction length 16"},
                {InterruptionInfo.VALID | (6 << 8) | 3, 16, "instruction length 16"}};
        for (Object[] c : cases) {
            VmxFixture fx = new VmxFixture();
            fx.longModeGuest(0); // protected mode: the error-code rules apply
            fx.write(VM_ENTRY_INTERRUPTION_INFORMATION, (int) c[0]);
            fx.write(VM_ENTRY_INSTRUCTION_LENGTH, (int) c[1]);
            expectVmfail(fx, VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS, (String) c[2]);
        }
    }

    /** SDM 27.2.2: host CR4 without VMXE (IA32_VMX_CR4_FIXED0) -> VMfailValid 8. */
    @Test
    public void badHostCr4IsError8() {
        VmxFixture fx = new VmxFixture();
        fx.write(HOST_CR4, fx.read(HOST_CR4) & ~Cr4.VMXE);
        expectVmfail(fx, VmInstructionError.ENTRY_INVALID_HOST_STATE, "host CR4");
    }

    /** SDM 27.2.3 / 27.2.4: host selectors with RPL, TR = 0, non-canonical RIP, address-space size -> 8. */
    @Test
    public void hostStateChecksAreError8() {
        VmxFixture fx = new VmxFixture();
        fx.write(HOST_SS_SELECTOR, 0x13);
        expectVmfail(fx, VmInstructionError.ENTRY_INVALID_HOST_STATE, "RPL");

        VmxFixture fx2 = new VmxFixture();
        fx2.write(HOST_TR_SELECTOR, 0);
        expectVmfail(fx2, VmInstructionError.ENTRY_INVALID_HOST_STATE, "TR");

        VmxFixture fx3 = new VmxFixture();
        fx3.write(HOST_RIP, 0x0000_8000_0000_0000L);
        expectVmfail(fx3, VmInstructionError.ENTRY_INVALID_HOST_STATE, "canonical");

        VmxFixture fx4 = new VmxFixture();
        fx4.write(PRIMARY_VM_EXIT_CONTROLS, fx4.read(PRIMARY_VM_EXIT_CONTROLS)
                & ~VmExitControls.HOST_ADDRESS_SPACE_SIZE);
        expectVmfail(fx4, VmInstructionError.ENTRY_INVALID_HOST_STATE, "address-space size");

        VmxFixture fx5 = new VmxFixture();
        fx5.write(PRIMARY_VM_EXIT_CONTROLS, fx5.read(PRIMARY_VM_EXIT_CONTROLS) | VmExitControls.LOAD_IA32_EFER);
        fx5.write(HOST_IA32_EFER, 0);
        expectVmfail(fx5, VmInstructionError.ENTRY_INVALID_HOST_STATE, "EFER");
    }

    /** SDM 27.3.1.2: a guest CS that is not a code segment -> exit 33 with bit 31, qualification 0. */
    @Test
    public void badGuestSegmentIsExit33() {
        VmxFixture fx = new VmxFixture();
        fx.write(GUEST_CS_ACCESS_RIGHTS, 0x91); // data, read-only: not a valid CS even for unrestricted guests
        expectGuestStateFailure(fx, 0, "CS type");
    }

    /** SDM 27.3.1.2: SS type, DS accessed bit, G vs limit, TR type, LDTR type. */
    @Test
    public void guestSegmentRules() {
        String[][] cases = {
                {"GUEST_SS_ACCESS_RIGHTS", "0x9B", "SS type"},
                {"GUEST_DS_ACCESS_RIGHTS", "0x92", "accessed"},
                {"GUEST_ES_LIMIT", "0x100000", "limit"},
                {"GUEST_TR_ACCESS_RIGHTS", "0x89", "TR type"},
                {"GUEST_LDTR_ACCESS_RIGHTS", "0x83", "LDTR"},
                {"GUEST_GDTR_LIMIT", "0x10000", "GDTR"},
                {"GUEST_RFLAGS", "0x8", "RFLAGS"},
                {"GUEST_ACTIVITY_STATE", "2", "activity"},
                {"GUEST_INTERRUPTIBILITY_STATE", "1", "STI"}, // STI blocking with IF = 0
        };
        for (String[] c : cases) {
            VmxFixture fx = new VmxFixture();
            fx.write(VmcsField.valueOf(c[0]), Long.decode(c[1]));
            expectGuestStateFailure(fx, 0, c[2]);
        }
    }

    /** SDM 27.3.1.1: without "unrestricted guest", CR0.PE and PG are fixed to 1 -> exit 33. */
    @Test
    public void realModeNeedsUnrestrictedGuest() {
        VmxFixture fx = new VmxFixture();
        fx.write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.ENABLE_EPT);
        expectGuestStateFailure(fx, 0, "CR0");
    }

    /** SDM 27.3.1.1: "IA-32e mode guest" requires CR0.PG and CR4.PAE -> exit 33. */
    @Test
    public void ia32eGuestNeedsPaging() {
        VmxFixture fx = new VmxFixture();
        fx.write(VM_ENTRY_CONTROLS, fx.read(VM_ENTRY_CONTROLS) | VmEntryControls.IA32E_MODE_GUEST);
        expectGuestStateFailure(fx, 0, "IA-32e");
        VmxFixture fx2 = new VmxFixture();
        fx2.write(GUEST_CR0, Cr0.PG | Cr0.NE | Cr0.ET); // PG without PE
        expectGuestStateFailure(fx2, 0, "PG requires PE");
    }

    /** SDM 27.3.1.5 and 27.8: a VMCS link pointer other than all ones and not a VMCS -> exit 33, qualification 4. */
    @Test
    public void badLinkPointerIsQualification4() {
        VmxFixture fx = new VmxFixture();
        fx.write(VMCS_LINK_POINTER, fx.memory.allocateFrame()); // revision 0
        expectGuestStateFailure(fx, 4, "link pointer");
    }

    /** SDM 27.3.1.6 and 27.8: a PAE guest whose PDPTE fields set reserved bits -> exit 33, qualification 2. */
    @Test
    public void badPdpteIsQualification2() {
        VmxFixture fx = new VmxFixture();
        fx.write(GUEST_CR0, Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET);
        fx.write(GUEST_CR4, Cr4.VMXE | Cr4.PAE);
        fx.write(GUEST_CS_ACCESS_RIGHTS, 0xC09B);
        fx.write(GUEST_CS_LIMIT, 0xFFFF_FFFFL);
        fx.write(GUEST_PDPTE2, 1 | (1L << 5)); // present, reserved bit 5
        expectGuestStateFailure(fx, 2, "PDPTE2");
    }

    /** SDM 27.4 and 27.8: an MSR-load entry that cannot be loaded -> exit 34, qualification = its 1-based index. */
    @Test
    public void msrLoadFailureIsExit34() {
        VmxFixture fx = new VmxFixture();
        long area = fx.memory.allocateFrame();
        fx.memory.write32(area, Msr.IA32_PAT); // entry 1: fine
        fx.memory.write64(area + 8, 0x0007_0406_0007_0406L);
        fx.memory.write32(area + 16, Msr.IA32_FS_BASE); // entry 2: FS base may not be loaded this way
        fx.write(VM_ENTRY_MSR_LOAD_ADDRESS, area);
        fx.write(VM_ENTRY_MSR_LOAD_COUNT, 2);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.ENTRY_FAILURE_BIT | 34, fx.exitReason());
        assertEquals(2, fx.read(EXIT_QUALIFICATION));

        VmxFixture fx2 = new VmxFixture();
        long area2 = fx2.memory.allocateFrame();
        fx2.memory.write32(area2, Msr.IA32_VMX_BASIC); // read-only: WRMSR would #GP
        fx2.write(VM_ENTRY_MSR_LOAD_ADDRESS, area2);
        fx2.write(VM_ENTRY_MSR_LOAD_COUNT, 1);
        fx2.cpu.vmlaunch(fx2.guestRegisters);
        assertEquals(ExitReason.ENTRY_FAILURE_BIT | 34, fx2.exitReason());
        assertEquals(1, fx2.read(EXIT_QUALIFICATION));
    }

    /** SDM 27.8: an entry failure leaves the VM-entry interruption-information valid bit set. */
    @Test
    public void entryFailureKeepsInjectionValid() {
        VmxFixture fx = new VmxFixture();
        int info = InterruptionInfo.injection(0x20, InterruptionType.EXTERNAL_INTERRUPT, false).encode();
        fx.write(VM_ENTRY_INTERRUPTION_INFORMATION, info);
        fx.write(GUEST_RFLAGS, 0x202);
        fx.write(GUEST_CS_ACCESS_RIGHTS, 0x91);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.ENTRY_FAILURE_BIT | 33, fx.exitReason());
        assertEquals(info, fx.read32(VM_ENTRY_INTERRUPTION_INFORMATION));
    }
}
