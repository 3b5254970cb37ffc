package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.vmcs.region.VmcsRegion;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.vmcs.VmcsField;

import org.junit.Test;

/** The VMX instructions' checks and error numbers: SDM Vol. 3C, 31.3 (instruction reference) and 31.4 (errors). */
public class VmxInstructionsTest {

    private static void expectFault(int vector, Runnable r) {
        try {
            r.run();
            fail("expected fault vector " + vector);
        } catch (ProcessorFault f) {
            assertEquals(f.getMessage(), vector, f.vector());
        }
    }

    private static void expectFailInvalid(Runnable r) {
        try {
            r.run();
            fail("expected VMfailInvalid");
        } catch (VmxInstructionException e) {
            assertFalse(e.getMessage(), e.isFailValid());
        }
    }

    private static void expectFailValid(VmxFixture fx, VmInstructionError error, Runnable r) {
        try {
            r.run();
            fail("expected VMfailValid " + error);
        } catch (VmxInstructionException e) {
            assertTrue(e.getMessage(), e.isFailValid());
            assertEquals(error, e.error());
            // SDM 31.2: VMfailValid stores the error number in the current VMCS.
            assertEquals(error.number(), fx.read32(VmcsField.VM_INSTRUCTION_ERROR));
        }
    }

    private static SoftwareVmxProcessor fresh() {
        return new SoftwareVmxProcessor(ByteBufferPhysicalMemory.allocate(1 << 20));
    }

    private static long revisionRegion(SoftwareVmxProcessor cpu) {
        long pa = cpu.memory().allocateFrame();
        cpu.memory().write32(pa, VmxCapabilities.VMCS_REVISION_ID);
        return pa;
    }

    /** SDM 31.3 VMXON: #UD when CR4.VMXE = 0. */
    @Test
    public void vmxonWithoutCr4VmxeIsUd() {
        SoftwareVmxProcessor cpu = fresh();
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        long region = revisionRegion(cpu);
        expectFault(ProcessorFault.UD, () -> cpu.vmxon(region));
    }

    /** SDM 31.3 VMXON and 24.7: #GP unless IA32_FEATURE_CONTROL is locked with "VMX outside SMX" set. */
    @Test
    public void vmxonNeedsLockedFeatureControl() {
        SoftwareVmxProcessor cpu = fresh();
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE);
        long region = revisionRegion(cpu);
        expectFault(ProcessorFault.GP, () -> cpu.vmxon(region)); // unlocked, disabled (the reset value 0)
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK); // locked but VMX disabled
        expectFault(ProcessorFault.GP, () -> cpu.vmxon(region));
        // SDM 24.7: a locked IA32_FEATURE_CONTROL cannot be written until reset.
        expectFault(ProcessorFault.GP, () -> cpu.wrmsr(Msr.IA32_FEATURE_CONTROL,
                Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX));
    }

    /** SDM 31.3 VMXON: #GP if CR0 is not supported in VMX operation (IA32_VMX_CR0_FIXED0 has NE). */
    @Test
    public void vmxonChecksCr0FixedBits() {
        SoftwareVmxProcessor cpu = fresh();
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE);
        cpu.writeCr(0, cpu.readCr(0) & ~Cr0.NE);
        long region = revisionRegion(cpu);
        expectFault(ProcessorFault.GP, () -> cpu.vmxon(region));
        cpu.writeCr(0, cpu.readCr(0) | Cr0.NE);
        cpu.vmxon(region);
    }

    /** SDM 31.3 VMXON: VMfailInvalid for a misaligned pointer, one outside memory, or a wrong revision. */
    @Test
    public void vmxonRegionChecksFailInvalid() {
        SoftwareVmxProcessor cpu = fresh();
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE);
        long region = revisionRegion(cpu);
        expectFailInvalid(() -> cpu.vmxon(region + 8));
        expectFailInvalid(() -> cpu.vmxon(1L << 40)); // beyond MAXPHYADDR
        expectFailInvalid(() -> cpu.vmxon(cpu.memory().size()));
        long wrong = cpu.memory().allocateFrame();
        cpu.memory().write32(wrong, VmxCapabilities.VMCS_REVISION_ID + 1);
        expectFailInvalid(() -> cpu.vmxon(wrong));
        cpu.vmxon(region);
    }

    /** SDM 31.3 VMXON in VMX root operation: VMfail(15); VMfailInvalid while there is no current VMCS. */
    @Test
    public void vmxonInRootOperation() {
        VmxFixture fx = new VmxFixture();
        expectFailValid(fx, VmInstructionError.VMXON_IN_VMX_ROOT, () -> fx.cpu.vmxon(fx.vmxonRegion));
        fx.cpu.vmclear(fx.vmcs);
        expectFailInvalid(() -> fx.cpu.vmxon(fx.vmxonRegion));
    }

    /** SDM 24.8: in VMX operation CR4.VMXE cannot be cleared and CR0 must respect the fixed bits (#GP). */
    @Test
    public void vmxOperationPinsCr4VmxeAndCr0() {
        VmxFixture fx = new VmxFixture();
        expectFault(ProcessorFault.GP, () -> fx.cpu.writeCr(4, fx.cpu.readCr(4) & ~Cr4.VMXE));
        expectFault(ProcessorFault.GP, () -> fx.cpu.writeCr(0, fx.cpu.readCr(0) & ~Cr0.NE));
        fx.cpu.vmxoff();
        fx.cpu.writeCr(4, fx.cpu.readCr(4) & ~Cr4.VMXE);
        assertEquals(0, fx.cpu.readCr(4) & Cr4.VMXE);
    }

    /** SDM 31.3: VMX instructions other than VMXON are #UD outside VMX operation. */
    @Test
    public void instructionsOutsideVmxOperationAreUd() {
        SoftwareVmxProcessor cpu = fresh();
        expectFault(ProcessorFault.UD, cpu::vmxoff);
        expectFault(ProcessorFault.UD, () -> cpu.vmclear(0x1000));
        expectFault(ProcessorFault.UD, () -> cpu.vmptrld(0x1000));
        expectFault(ProcessorFault.UD, cpu::vmptrst);
        expectFault(ProcessorFault.UD, () -> cpu.vmread(VmcsField.GUEST_RIP.encoding()));
        expectFault(ProcessorFault.UD, () -> cpu.vmwrite(VmcsField.GUEST_RIP.encoding(), 0));
        expectFault(ProcessorFault.UD, () -> cpu.invept(2, 0));
    }

    /** SDM 31.3 VMCLEAR: error 2 (invalid address), error 3 (VMXON pointer); clears the current-VMCS pointer. */
    @Test
    public void vmclearErrors() {
        VmxFixture fx = new VmxFixture();
        expectFailValid(fx, VmInstructionError.VMCLEAR_INVALID_ADDRESS, () -> fx.cpu.vmclear(fx.vmcs + 0x10));
        expectFailValid(fx, VmInstructionError.VMCLEAR_INVALID_ADDRESS, () -> fx.cpu.vmclear(1L << 45));
        expectFailValid(fx, VmInstructionError.VMCLEAR_VMXON_POINTER, () -> fx.cpu.vmclear(fx.vmxonRegion));
        assertEquals(fx.vmcs, fx.cpu.vmptrst());
        fx.cpu.vmclear(fx.vmcs);
        assertEquals("SDM 31.3 VMPTRST: all ones without a current VMCS", -1L, fx.cpu.vmptrst());
        expectFailInvalid(() -> fx.cpu.vmread(VmcsField.GUEST_RIP.encoding()));
    }

    /** SDM 31.3 VMPTRLD: error 9 (invalid address), 10 (VMXON pointer), 11 (revision). */
    @Test
    public void vmptrldErrors() {
        VmxFixture fx = new VmxFixture();
        expectFailValid(fx, VmInstructionError.VMPTRLD_INVALID_ADDRESS, () -> fx.cpu.vmptrld(fx.vmcs | 0x800));
        expectFailValid(fx, VmInstructionError.VMPTRLD_VMXON_POINTER, () -> fx.cpu.vmptrld(fx.vmxonRegion));
        long other = fx.memory.allocateFrame();
        fx.memory.write32(other, 0x1234);
        expectFailValid(fx, VmInstructionError.VMPTRLD_INCORRECT_REVISION, () -> fx.cpu.vmptrld(other));
        // Bit 31 set (shadow VMCS) is refused too: VMCS shadowing is not supported.
        fx.memory.write32(other, VmxCapabilities.VMCS_REVISION_ID | 0x8000_0000);
        expectFailValid(fx, VmInstructionError.VMPTRLD_INCORRECT_REVISION, () -> fx.cpu.vmptrld(other));
        assertEquals(fx.vmcs, fx.cpu.vmptrst());
        fx.memory.write32(other, VmxCapabilities.VMCS_REVISION_ID);
        fx.cpu.vmptrld(other);
        assertEquals(other, fx.cpu.vmptrst());
    }

    /** SDM 31.3 VMREAD/VMWRITE: error 12 for unsupported components, including reserved encoding bits. */
    @Test
    public void unsupportedComponentsAreError12() {
        VmxFixture fx = new VmxFixture();
        int[] bad = {
                0x0001, // "high" access of a 16-bit field
                0x4803, // "high" access of a 32-bit field
                0x681F, // "high" access of a natural-width field
                0x1000 | VmcsField.GUEST_RIP.encoding(), // reserved bit 12
                0x8000 | VmcsField.GUEST_RIP.encoding(), // bits 31:15 must be 0
                0x6C40, // no such host-state field
        };
        for (int e : bad) {
            expectFailValid(fx, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT, () -> fx.cpu.vmread(e));
            expectFailValid(fx, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT, () -> fx.cpu.vmwrite(e, 1));
        }
    }

    /** SDM 31.3 VMWRITE: error 13 for a VM-exit information field (IA32_VMX_MISC bit 29 = 0). */
    @Test
    public void vmwriteReadOnlyIsError13() {
        VmxFixture fx = new VmxFixture();
        assertEquals(0, (fx.cpu.rdmsr(Msr.IA32_VMX_MISC) >>> 29) & 1);
        expectFailValid(fx, VmInstructionError.VMWRITE_READ_ONLY_COMPONENT,
                () -> fx.cpu.vmwrite(VmcsField.EXIT_REASON.encoding(), 1));
        expectFailValid(fx, VmInstructionError.VMWRITE_READ_ONLY_COMPONENT,
                () -> fx.cpu.vmwrite(VmcsField.GUEST_PHYSICAL_ADDRESS.encoding() | 1, 1));
        // reading them is fine
        fx.cpu.vmread(VmcsField.EXIT_QUALIFICATION.encoding());
    }

    /** SDM 31.3 VMLAUNCH/VMRESUME: error 4 for a launched VMCS, error 5 for a clear one. */
    @Test
    public void launchStateErrors() {
        VmxFixture fx = new VmxFixture();
        expectFailValid(fx, VmInstructionError.VMRESUME_NON_LAUNCHED_VMCS, () -> fx.cpu.vmresume(fx.guestRegisters));
        VmcsRegion.setLaunchState(fx.memory, fx.vmcs, VmcsRegion.LAUNCH_STATE_LAUNCHED);
        expectFailValid(fx, VmInstructionError.VMLAUNCH_NON_CLEAR_VMCS, () -> fx.cpu.vmlaunch(fx.guestRegisters));
        // SDM 31.3 VMCLEAR: the launch state becomes "clear".
        fx.cpu.vmclear(fx.vmcs);
        fx.cpu.vmptrld(fx.vmcs);
        expectFailValid(fx, VmInstructionError.VMRESUME_NON_LAUNCHED_VMCS, () -> fx.cpu.vmresume(fx.guestRegisters));
    }

    /** SDM 31.3 VMLAUNCH without a current VMCS: VMfailInvalid. */
    @Test
    public void launchWithoutCurrentVmcsFailsInvalid() {
        VmxFixture fx = new VmxFixture();
        fx.cpu.vmclear(fx.vmcs);
        expectFailInvalid(() -> fx.cpu.vmlaunch(fx.guestRegisters));
    }

    /** SDM 31.3 INVEPT: error 28 for an unsupported type or, for single-context, an invalid EPTP. */
    @Test
    public void inveptErrors() {
        VmxFixture fx = new VmxFixture();
        expectFailValid(fx, VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND, () -> fx.cpu.invept(0, fx.eptPointer));
        expectFailValid(fx, VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND, () -> fx.cpu.invept(3, fx.eptPointer));
        expectFailValid(fx, VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND,
                () -> fx.cpu.invept(1, fx.eptPointer | 0x80)); // reserved EPTP bit 7
        expectFailValid(fx, VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND,
                () -> fx.cpu.invept(1, (fx.eptPointer & ~7L) | 1)); // memory type 1 (WC) unsupported
        fx.cpu.invept(1, fx.eptPointer);
        fx.cpu.invept(2, 0);
    }

    /**
     * SDM 31.3 INVVPID: error 28 for a type IA32_VMX_EPT_VPID_CAP does not allow, reserved bits 63:16 of the
     * descriptor, VPID 0 for any type but all-context, a non-canonical individual address; the four types of
     * capability bits 40-43 succeed; #UD outside VMX operation.
     */
    @Test
    public void invvpidTypesAndErrors() {
        VmxFixture fx = new VmxFixture();
        long cap = fx.cpu.rdmsr(Msr.IA32_VMX_EPT_VPID_CAP);
        assertEquals(0xFL, (cap >>> 40) & 0xF);
        assertEquals(1, (cap >>> 32) & 1);
        VmInstructionError e = VmInstructionError.INVALID_INVEPT_INVVPID_OPERAND;
        expectFailValid(fx, e, () -> fx.cpu.invvpid(4, 1, 0));
        expectFailValid(fx, e, () -> fx.cpu.invvpid(1, 1L << 16, 0));
        expectFailValid(fx, e, () -> fx.cpu.invvpid(0, 0, 0x1000));
        expectFailValid(fx, e, () -> fx.cpu.invvpid(1, 0, 0));
        expectFailValid(fx, e, () -> fx.cpu.invvpid(3, 0, 0));
        expectFailValid(fx, e, () -> fx.cpu.invvpid(0, 1, 0x0000_8000_0000_0000L));
        fx.cpu.invvpid(0, 1, 0xFFFF_8000_0000_0000L);
        fx.cpu.invvpid(1, 0xFFFF, 0);
        fx.cpu.invvpid(2, 0, 0);
        fx.cpu.invvpid(3, 7, 0);
        fx.cpu.vmxoff();
        expectFault(ProcessorFault.UD, () -> fx.cpu.invvpid(2, 0, 0));
    }
}
