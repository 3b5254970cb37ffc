package io.jvmx.handlers.testkit;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/** The fake must keep the VmxVcpu semantics handlers rely on; these tests pin them down. */
public class FakeVCpuTest {

    /** RSP is not in GeneralRegisters: GPR 4 is GUEST_RSP (SDM Vol. 3C, 25.4.1). */
    @Test
    public void gpr4IsGuestRsp() {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RSP, 0x7000);
        assertEquals(0x7000, v.vmread(VmcsField.GUEST_RSP));
        assertEquals(0x7000, v.readGpr(4));
    }

    /** Host-owned CR0 bits read from the read shadow (SDM 25.6.6): the guest sees NW|CD although CR0 has them off. */
    @Test
    public void guestCr0ComposesShadowUnderMask() {
        FakeVCpu v = new FakeVCpu();
        assertEquals(Cr0.NW | Cr0.CD | Cr0.ET, v.guestCr(0));
        assertEquals(Cr0.NE | Cr0.ET, v.vmread(VmcsField.GUEST_CR0));
        long mask = v.vmread(VmcsField.CR0_GUEST_HOST_MASK);
        assertTrue((mask & (Cr0.PE | Cr0.PG | Cr0.NE | Cr0.NW | Cr0.CD)) == (Cr0.PE | Cr0.PG | Cr0.NE | Cr0.NW | Cr0.CD));
    }

    /** CR4.VMXE is forced in the real CR4 (IA32_VMX_CR4_FIXED0, SDM App. A.8) but the guest reads what it wrote. */
    @Test
    public void guestCr4HidesVmxe() {
        FakeVCpu v = new FakeVCpu();
        v.setGuestCr(4, Cr4.PAE);
        assertEquals(Cr4.PAE | Cr4.VMXE, v.vmread(VmcsField.GUEST_CR4));
        assertEquals(Cr4.PAE, v.guestCr(4));
    }

    /** SDM Vol. 3A 9.8.5: CR0.PG with EFER.LME activates IA-32e mode (LMA and the entry control follow). */
    @Test
    public void pagingWithLmeSetsLmaAndEntryControl() {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        assertTrue((v.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0);
        assertTrue((v.vmread(VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST) != 0);
        v.setGuestCr(0, v.guestCr(0) & ~Cr0.PG);
        assertEquals(0, v.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA);
        assertEquals(0, v.vmread(VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST);
    }

    /** VMWRITE to a VM-exit information field fails with VM-instruction error 13 (SDM 31.4). */
    @Test
    public void vmwriteToReadOnlyFieldFails() {
        FakeVCpu v = new FakeVCpu();
        VmxInstructionException e = assertThrows(VmxInstructionException.class,
                () -> v.vmwrite(VmcsField.EXIT_QUALIFICATION, 1));
        assertEquals(13, e.error().number());
    }

    /** Exceptions go first; an interrupt waits for RFLAGS.IF and turns interrupt-window exiting on (SDM 27.6). */
    @Test
    public void exceptionFirstThenInterruptWhenIfSet() {
        FakeVCpu v = new FakeVCpu();
        v.queueEvent(0x20, InterruptionType.EXTERNAL_INTERRUPT, -1);
        v.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
        assertTrue(v.injectPendingEvent());
        InterruptionInfo info = v.entryInterruptionInfo();
        assertEquals(Exceptions.GP, info.vector());
        assertFalse("real mode: no error code (SDM 27.2.1.3)", info.errorCodeValid());
        assertTrue(v.interruptWindowExiting());

        v.exit(ExitReason.INTERRUPT_WINDOW, 0, 0);
        assertFalse("IF = 0", v.injectPendingEvent());
        v.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF);
        assertTrue(v.injectPendingEvent());
        assertEquals(0x20, v.entryInterruptionInfo().vector());
        assertFalse(v.interruptWindowExiting());
    }

    /** In protected mode #GP delivers its error code (SDM 27.2.1.3). */
    @Test
    public void gpErrorCodeInProtectedMode() {
        FakeVCpu v = new FakeVCpu();
        v.setGuestCr(0, v.guestCr(0) | Cr0.PE);
        v.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
        v.injectPendingEvent();
        assertTrue(v.entryInterruptionInfo().errorCodeValid());
        assertEquals(0, v.vmread(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE));
    }

    /** Emulating an instruction ends blocking by STI / MOV SS (SDM 25.4.2, Table 25-3), as VmxVcpu.advanceRip does. */
    @Test
    public void advanceRipEndsStiBlocking() {
        FakeVCpu v = new FakeVCpu();
        v.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 1 | 8);
        v.advanceRip(2);
        assertEquals(0x8002, v.rip());
        assertEquals("NMI blocking (bit 3) stays", 8, v.vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE));
    }

    /** A hardware exception has a vector below 32 (SDM Vol. 3A 6.2); types 1 and 7 cannot be injected (27.6.1). */
    @Test
    public void queueEventRejectsImpossibleEvents() {
        FakeVCpu v = new FakeVCpu();
        assertThrows(IllegalArgumentException.class, () -> v.queueEvent(40, InterruptionType.HARDWARE_EXCEPTION, -1));
        assertThrows(IllegalArgumentException.class, () -> v.queueEvent(40, InterruptionType.OTHER_EVENT, -1));
        assertThrows(IllegalArgumentException.class, () -> v.queueEvent(256, InterruptionType.EXTERNAL_INTERRUPT, -1));
    }
}
