package io.jvmx.vmx.vmcs;

import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Before;
import org.junit.Test;

import java.util.SortedMap;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * VMREAD/VMWRITE through {@link Vmcs}: SDM Vol. 3C 25.11.2 (field encodings, access type "high"), 31.3 (VMREAD,
 * VMWRITE), 31.4 (VM-instruction error numbers), 32.5.1 and Vol. 3D A.1-A.3 (capability MSRs, TRUE controls).
 */
public class VmcsTest {
    private FakeVmcsProcessor cpu;
    private Vmcs vmcs;

    @Before
    public void setUp() {
        cpu = new FakeVmcsProcessor();
        vmcs = new Vmcs(cpu);
    }

    private void basic(boolean trueControls) {
        cpu.msrs.put(Msr.IA32_VMX_BASIC, new VmxBasic(1, 4096, false, false, 6, true, trueControls, false).encode());
    }

    private static long cap(int allowed0, int allowed1) {
        return (allowed0 & 0xFFFF_FFFFL) | ((long) allowed1 << 32);
    }

    @Test
    public void readMasksToTheFieldWidth() {
        cpu.poke(VmcsField.GUEST_CS_SELECTOR, 0xDEAD_0008L);
        cpu.poke(VmcsField.GUEST_CS_LIMIT, 0x1_FFFF_FFFFL);
        cpu.poke(VmcsField.GUEST_RIP, 0xFFFF_8000_0000_8000L);
        assertEquals(0x0008, vmcs.read(VmcsField.GUEST_CS_SELECTOR));
        assertEquals(0xFFFF_FFFFL, vmcs.read(VmcsField.GUEST_CS_LIMIT));
        assertEquals(0xFFFF_8000_0000_8000L, vmcs.read(VmcsField.GUEST_RIP));
    }

    @Test
    public void read32OnlyFor16And32BitFields() {
        cpu.poke(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, 0x8000_0320L);
        assertEquals(0x8000_0320, vmcs.read32(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION));
        cpu.poke(VmcsField.GUEST_TR_SELECTOR, 0x28);
        assertEquals(0x28, vmcs.read32(VmcsField.GUEST_TR_SELECTOR));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.read32(VmcsField.GUEST_RIP));
        assertTrue(e.getMessage(), e.getMessage().contains("GUEST_RIP"));
        assertThrows(IllegalArgumentException.class, () -> vmcs.read32(VmcsField.EPT_POINTER));
    }

    @Test
    public void writeRejectsValuesThatDoNotFitAndNamesTheField() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.write(VmcsField.GUEST_CS_SELECTOR, 0x1_0000L));
        assertTrue(e.getMessage(), e.getMessage().contains("GUEST_CS_SELECTOR"));
        e = assertThrows(IllegalArgumentException.class, () -> vmcs.write(VmcsField.GUEST_CS_LIMIT, 0x1_0000_0000L));
        assertTrue(e.getMessage(), e.getMessage().contains("GUEST_CS_LIMIT"));
        assertTrue("nothing reached the processor", cpu.writes.isEmpty());
    }

    @Test
    public void writeAcceptsFullWidthAndSignExtendedValues() {
        vmcs.write(VmcsField.GUEST_CS_SELECTOR, 0xFFFF);
        assertEquals(0xFFFF, cpu.peek(VmcsField.GUEST_CS_SELECTOR));
        vmcs.write(VmcsField.HOST_TR_SELECTOR, (short) 0x8010); // a Java short with bit 15 set
        assertEquals(0x8010, cpu.peek(VmcsField.HOST_TR_SELECTOR));
        // An int with bit 31 set (interruption information, Table 25-17) arrives sign-extended: it fits.
        vmcs.write(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, 0x8000_0B0D);
        assertEquals(0x8000_0B0DL, cpu.peek(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION));
        long[] last = cpu.writes.get(cpu.writes.size() - 1);
        assertEquals(0x4016, last[0]);
        assertEquals("the processor sees the zero-extended value", 0x8000_0B0DL, last[1]);
        vmcs.write(VmcsField.EPT_POINTER, -1L);
        assertEquals(-1L, vmcs.read(VmcsField.EPT_POINTER));
        vmcs.write(VmcsField.GUEST_RSP, 0xFFFF_FFFF_FFFF_FFF0L);
        assertEquals(0xFFFF_FFFF_FFFF_FFF0L, vmcs.read(VmcsField.GUEST_RSP));
    }

    @Test
    public void vmfailValidPropagatesWithItsErrorNumber() {
        // SDM 25.9: the VM-exit information fields are read-only; VMWRITE fails with error 13 (Table 31-1).
        VmxInstructionException e = assertThrows(VmxInstructionException.class,
                () -> vmcs.write(VmcsField.EXIT_REASON, 1));
        assertTrue(e.isFailValid());
        assertEquals(VmInstructionError.VMWRITE_READ_ONLY_COMPONENT, e.error());
        assertEquals(13, e.error().number());
        assertEquals(VmInstructionError.VMWRITE_READ_ONLY_COMPONENT, vmcs.instructionError().orElseThrow());

        cpu.supported.remove(VmcsField.GUEST_IA32_PKRS);
        e = assertThrows(VmxInstructionException.class, () -> vmcs.read(VmcsField.GUEST_IA32_PKRS));
        assertEquals(VmInstructionError.UNSUPPORTED_VMCS_COMPONENT, e.error());
    }

    @Test
    public void vmfailInvalidPropagatesWithoutCurrentVmcs() {
        cpu.noCurrentVmcs();
        VmxInstructionException e = assertThrows(VmxInstructionException.class,
                () -> vmcs.read(VmcsField.GUEST_RIP));
        assertFalse(e.isFailValid());
        assertNull(e.error());
        assertThrows(VmxInstructionException.class, () -> vmcs.readAll());
    }

    @Test
    public void highAccessReachesBits63To32OfA64BitField() {
        // SDM 25.11.2: access type "high" (bit 0 of the encoding) reads/writes bits 63:32 only.
        vmcs.write(VmcsField.EPT_POINTER, 0x1234_5678_9ABC_DEF0L);
        assertEquals(0x1234_5678L, vmcs.readHigh(VmcsField.EPT_POINTER));
        vmcs.writeHigh(VmcsField.EPT_POINTER, 0xCAFE_BABEL);
        long[] last = cpu.writes.get(cpu.writes.size() - 1);
        assertEquals(0x201B, last[0]);
        assertEquals(0xCAFE_BABEL, last[1]);
        assertEquals(0xCAFE_BABE_9ABC_DEF0L, vmcs.read(VmcsField.EPT_POINTER));
        vmcs.writeHigh(VmcsField.GUEST_IA32_EFER, 0x8000_0000); // an int with bit 31 set fits
        assertEquals(0x8000_0000L, vmcs.readHigh(VmcsField.GUEST_IA32_EFER));
    }

    @Test
    public void highAccessOnlyFor64BitFieldsAnd32BitValues() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.readHigh(VmcsField.GUEST_RIP));
        assertTrue(e.getMessage(), e.getMessage().contains("GUEST_RIP") && e.getMessage().contains("natural-width"));
        assertThrows(IllegalArgumentException.class, () -> vmcs.writeHigh(VmcsField.EXCEPTION_BITMAP, 0));
        e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.writeHigh(VmcsField.TSC_OFFSET, 0x1_0000_0000L));
        assertTrue(e.getMessage(), e.getMessage().contains("TSC_OFFSET") && e.getMessage().contains("0x2011"));
    }

    @Test
    public void setControlUsesTheTrueMsrWhenBasicBit55IsSet() {
        // Vol. 3D A.3.1: bits 1, 2, 4 are default1 (1 in the plain MSR's allowed-0, 0 in the TRUE MSR's).
        cpu.msrs.put(Msr.IA32_VMX_PINBASED_CTLS, cap(0x16, 0xFF));
        cpu.msrs.put(Msr.IA32_VMX_TRUE_PINBASED_CTLS, cap(0x00, 0xFF));
        basic(true);
        int v = vmcs.setControl(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PINBASED_CTLS,
                Msr.IA32_VMX_TRUE_PINBASED_CTLS, PinBasedControls.NMI_EXITING, 0);
        assertEquals(PinBasedControls.NMI_EXITING, v);
        assertEquals(v, vmcs.read32(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS));
    }

    @Test
    public void setControlUsesThePlainMsrWithoutTrueControls() {
        cpu.msrs.put(Msr.IA32_VMX_PINBASED_CTLS, cap(0x16, 0xFF));
        // no TRUE MSR at all: reading it would be a #GP in the fake
        basic(false);
        int v = vmcs.setControl(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PINBASED_CTLS,
                Msr.IA32_VMX_TRUE_PINBASED_CTLS, PinBasedControls.NMI_EXITING, 0);
        assertEquals(0x16 | PinBasedControls.NMI_EXITING, v);
        assertEquals(0x1E, vmcs.read(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS));
    }

    /** allowsOne asks the MSR setControl would use: the TRUE one with bit 55, the plain one (never read) without. */
    @Test
    public void allowsOneConsultsTheSameCapabilityMsrAsSetControl() {
        cpu.msrs.put(Msr.IA32_VMX_PINBASED_CTLS, cap(0x16, 0x1F));
        cpu.msrs.put(Msr.IA32_VMX_TRUE_PINBASED_CTLS, cap(0x00, 0xFF));
        basic(true);
        assertTrue(vmcs.allowsOne(Msr.IA32_VMX_PINBASED_CTLS, Msr.IA32_VMX_TRUE_PINBASED_CTLS,
                PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER | PinBasedControls.NMI_EXITING));
        cpu.msrs.remove(Msr.IA32_VMX_TRUE_PINBASED_CTLS);
        basic(false);
        assertTrue(vmcs.allowsOne(Msr.IA32_VMX_PINBASED_CTLS, Msr.IA32_VMX_TRUE_PINBASED_CTLS,
                PinBasedControls.NMI_EXITING));
        assertFalse(vmcs.allowsOne(Msr.IA32_VMX_PINBASED_CTLS, Msr.IA32_VMX_TRUE_PINBASED_CTLS,
                PinBasedControls.NMI_EXITING | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER));
    }

    @Test
    public void setControlRefusesImpossibleRequestsNamingTheControlField() {
        cpu.msrs.put(Msr.IA32_VMX_TRUE_PINBASED_CTLS, cap(0x16, 0x1F));
        basic(true);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.setControl(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PINBASED_CTLS,
                        Msr.IA32_VMX_TRUE_PINBASED_CTLS, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER, 0));
        assertTrue(e.getMessage(), e.getMessage().contains("PIN_BASED_VM_EXECUTION_CONTROLS"));
        assertTrue(e.getMessage(), e.getMessage().contains("IA32_VMX_TRUE_PINBASED_CTLS"));
        assertTrue(e.getMessage(), e.getMessage().contains("0x40"));
        e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.setControl(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PINBASED_CTLS,
                        Msr.IA32_VMX_TRUE_PINBASED_CTLS, 0, 0x2));
        assertTrue(e.getMessage(), e.getMessage().contains("requires bits 0x2"));
        assertThrows(IllegalArgumentException.class,
                () -> vmcs.setControl(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, Msr.IA32_VMX_PINBASED_CTLS,
                        Msr.IA32_VMX_TRUE_PINBASED_CTLS, 0x8, 0x8));
        assertTrue("a refused request writes nothing", cpu.writes.isEmpty());
        e = assertThrows(IllegalArgumentException.class,
                () -> vmcs.setControl(VmcsField.GUEST_RIP, Msr.IA32_VMX_PINBASED_CTLS, 0, 0));
        assertTrue(e.getMessage(), e.getMessage().contains("GUEST_RIP"));
    }

    @Test
    public void setControlKeepsUntouchedFlexibleControls() {
        // As x86_vcpu passes the field's old value: toggling interrupt-window exiting leaves the rest alone.
        cpu.msrs.put(Msr.IA32_VMX_TRUE_PROCBASED_CTLS, cap(0x0400_6172, 0xFFFF_FFFE));
        basic(true);
        int setup = PrimaryProcessorBasedControls.USE_IO_BITMAPS | PrimaryProcessorBasedControls.USE_MSR_BITMAPS
                | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS;
        int v0 = vmcs.setControl(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS, setup,
                PrimaryProcessorBasedControls.CR3_LOAD_EXITING | PrimaryProcessorBasedControls.CR3_STORE_EXITING);
        assertEquals(setup | 0x0400_6172, v0);
        assertEquals(v0 & 0xFFFF_FFFFL, vmcs.read(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS));

        int v1 = vmcs.setControl(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS,
                PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING, 0);
        assertEquals(v0 | PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING, v1);
        int v2 = vmcs.setControl(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS, 0,
                PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
        assertEquals(v0, v2);
    }

    @Test
    public void setControlDropsOldBitsTheProcessorDoesNotAllow() {
        cpu.msrs.put(Msr.IA32_VMX_PROCBASED_CTLS2, cap(0, 0x8B));
        vmcs.write(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, 0xFF);
        int v = vmcs.setControl(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                Msr.IA32_VMX_PROCBASED_CTLS2, SecondaryProcessorBasedControls.ENABLE_EPT,
                SecondaryProcessorBasedControls.ENABLE_RDTSCP);
        assertEquals(0x83, v); // EPT set, RDTSCP cleared, bits 0 and 7 kept, bits 2, 4-6 not allowed
    }

    @Test
    public void setControlRefusesAnInconsistentCapabilityMsr() {
        cpu.msrs.put(Msr.IA32_VMX_PROCBASED_CTLS2, cap(0x3, 0x1));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> vmcs.setControl(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                        Msr.IA32_VMX_PROCBASED_CTLS2, 0, 0));
        assertTrue(e.getMessage(), e.getMessage().contains("IA32_VMX_PROCBASED_CTLS2"));
    }

    @Test
    public void setControlWithBit31() {
        cpu.msrs.put(Msr.IA32_VMX_TRUE_PROCBASED_CTLS, cap(0, -1));
        basic(true);
        int v = vmcs.setControl(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                Msr.IA32_VMX_PROCBASED_CTLS, Msr.IA32_VMX_TRUE_PROCBASED_CTLS,
                PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS, 0);
        assertEquals(1 << 31, v);
        assertEquals(0x8000_0000L, vmcs.read(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS));
    }

    @Test
    public void readAllSkipsUnsupportedFieldsInEncodingOrder() {
        cpu.supported.remove(VmcsField.HLAT_PREFIX_SIZE);
        cpu.supported.remove(VmcsField.GUEST_IA32_PKRS);
        cpu.supported.remove(VmcsField.HOST_IA32_INTERRUPT_SSP_TABLE_ADDR);
        vmcs.write(VmcsField.GUEST_RIP, 0x8000);
        SortedMap<VmcsField, Long> all = vmcs.readAll();
        assertEquals(VmcsField.values().length - 3, all.size());
        assertFalse(all.containsKey(VmcsField.GUEST_IA32_PKRS));
        assertEquals(Long.valueOf(0x8000), all.get(VmcsField.GUEST_RIP));
        int previous = -1;
        for (VmcsField f : all.keySet()) {
            assertTrue(f + " after " + Integer.toHexString(previous), f.encoding() > previous);
            previous = f.encoding();
        }
        assertEquals(VmcsField.VIRTUAL_PROCESSOR_ID, all.firstKey());
        assertEquals(VmcsField.HOST_SSP, all.lastKey());
    }

    @Test
    public void exitInfoReadsReasonLengthRipAndQualification() {
        // SDM 25.9.1 (exit reason), 28.2.1 (qualification), 28.2.5 (instruction length)
        cpu.poke(VmcsField.EXIT_REASON, ExitReason.IO_INSTRUCTION.number());
        cpu.poke(VmcsField.VM_EXIT_INSTRUCTION_LENGTH, 1);
        cpu.poke(VmcsField.GUEST_RIP, 0x8010);
        cpu.poke(VmcsField.EXIT_QUALIFICATION, 0x03F8_0000L);
        VmExitInfo info = vmcs.exitInfo();
        assertFalse(info.entryFailure());
        assertEquals(ExitReason.IO_INSTRUCTION, info.reason());
        assertEquals(1, info.instructionLength());
        assertEquals(0x8010, info.guestRip());
        assertEquals(0x03F8_0000L, info.qualification());

        cpu.poke(VmcsField.EXIT_REASON, 0x8000_0021L); // Table 25-18: bit 31 = VM-entry failure
        info = vmcs.exitInfo();
        assertTrue(info.entryFailure());
        assertEquals(ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE, info.reason());
    }

    @Test
    public void instructionErrorIsEmptyForZero() {
        assertTrue(vmcs.instructionError().isEmpty());
    }
}
