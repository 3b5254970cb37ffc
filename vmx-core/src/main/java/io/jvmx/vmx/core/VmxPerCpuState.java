package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.msr.FixedBits;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.spi.VmxProcessor;

/**
 * VMX operation on one logical processor (x86_vcpu's {@code VmxPerCpuState}): checks and enables VMX, owns the
 * VMXON region, and executes VMXON/VMXOFF (SDM Vol. 3C, 24.7 "Enabling and Entering VMX Operation" and 24.8
 * "Restrictions on VMX Operation").
 *
 * <p>Driven by the processor's own thread.
 */
public final class VmxPerCpuState {
    /** CPUID.1:ECX bit 5: VMX (SDM Vol. 3C, 24.6 "Discovering Support for VMX"). */
    static final int CPUID1_ECX_VMX = 1 << 5;
    /** CPUID.1:ECX bit 26: XSAVE/XRSTOR/XSETBV/XGETBV (SDM Vol. 1, 13.2). */
    static final int CPUID1_ECX_XSAVE = 1 << 26;

    private final VmxProcessor processor;
    private long vmxonRegion; // 0: none
    private int revisionId;

    public VmxPerCpuState(VmxProcessor processor) {
        this.processor = processor;
    }

    public VmxProcessor processor() {
        return processor;
    }

    /** CPUID.1:ECX.VMX[bit 5] (SDM 24.6). */
    public boolean hasHardwareSupport() {
        return (processor.cpuid(1, 0).ecx() & CPUID1_ECX_VMX) != 0;
    }

    /** Bits 30:0 of IA32_VMX_BASIC: the revision identifier VMXON and VMCS regions must carry (SDM Vol. 3D, A.1). */
    public int vmcsRevisionId() {
        return (int) (processor.rdmsr(Msr.IA32_VMX_BASIC) & 0x7FFF_FFFFL);
    }

    /** As x86_vcpu: VMX is on when CR4.VMXE is set. */
    public boolean isEnabled() {
        return (processor.readCr(4) & Cr4.VMXE) != 0;
    }

    /** Host-physical address of the VMXON region, or 0 when VMX is off. */
    public long vmxonRegion() {
        return vmxonRegion;
    }

    /**
     * Enters VMX operation: IA32_FEATURE_CONTROL, CR0/CR4 fixed bits, CR4.VMXE, VMXON region, VMXON.
     *
     * @throws IllegalStateException with one line saying what stands in the way (and the SDM section)
     */
    public void hardwareEnable() {
        if (!hasHardwareSupport()) {
            throw new IllegalStateException("the processor does not support VMX (CPUID.1:ECX.VMX[bit 5] = 0, SDM Vol. 3C 24.6)");
        }
        if (isEnabled()) {
            throw new IllegalStateException("VMX is already turned on (CR4.VMXE = 1)");
        }
        // x86_vcpu turns on XSAVE/XGETBV for the host so that guest XCR0 can be switched at VM entry.
        if ((processor.cpuid(1, 0).ecx() & CPUID1_ECX_XSAVE) != 0) {
            processor.writeCr(4, processor.readCr(4) | Cr4.OSXSAVE);
        }

        // SDM 24.7: VMXON is allowed outside SMX only if IA32_FEATURE_CONTROL bit 2 is set; bit 0 locks the MSR
        // (firmware normally sets it; if it is still unlocked the VMM may set the bits and lock it).
        long fc = processor.rdmsr(Msr.IA32_FEATURE_CONTROL);
        boolean locked = (fc & Msr.FEATURE_CONTROL_LOCK) != 0;
        if (!locked) {
            processor.wrmsr(Msr.IA32_FEATURE_CONTROL,
                    fc | Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        } else if ((fc & Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX) == 0) {
            throw new IllegalStateException(String.format(
                    "VMX is disabled by firmware: IA32_FEATURE_CONTROL = %#x is locked (bit 0) without "
                            + "'enable VMX outside SMX' (bit 2), so VMXON would #GP (SDM Vol. 3C 24.7)", fc));
        }

        // SDM 24.8 / Vol. 3D A.7-A.8: CR0 and CR4 must respect the fixed bits in VMX operation (CR4 with VMXE set).
        FixedBits cr0Fixed = new FixedBits("CR0", processor.rdmsr(Msr.IA32_VMX_CR0_FIXED0),
                processor.rdmsr(Msr.IA32_VMX_CR0_FIXED1));
        String bad = cr0Fixed.violation(processor.readCr(0));
        if (bad != null) {
            throw new IllegalStateException("host CR0 is not valid in VMX operation (SDM Vol. 3C 24.8, Vol. 3D A.7): " + bad);
        }
        long cr4 = processor.readCr(4) | Cr4.VMXE;
        FixedBits cr4Fixed = new FixedBits("CR4", processor.rdmsr(Msr.IA32_VMX_CR4_FIXED0),
                processor.rdmsr(Msr.IA32_VMX_CR4_FIXED1));
        bad = cr4Fixed.violation(cr4);
        if (bad != null) {
            throw new IllegalStateException("host CR4 is not valid in VMX operation (SDM Vol. 3C 24.8, Vol. 3D A.8): " + bad);
        }

        // SDM Vol. 3D A.1: the VMXON region is at most 4 KiB and is accessed write-back.
        VmxBasic basic = VmxBasic.decode(processor.rdmsr(Msr.IA32_VMX_BASIC));
        if (basic.regionSize() <= 0 || basic.regionSize() > 4096) {
            throw new IllegalStateException("IA32_VMX_BASIC reports a VMXON/VMCS region of " + basic.regionSize()
                    + " bytes; jvmx needs one 4-KiB frame (SDM Vol. 3D A.1)");
        }
        if (basic.memoryType() != VmxBasic.MEMORY_TYPE_WRITE_BACK) {
            throw new IllegalStateException("IA32_VMX_BASIC reports VMCS memory type " + basic.memoryType()
                    + "; jvmx needs write-back (6) (SDM Vol. 3D A.1)");
        }
        revisionId = basic.revisionId();
        long region = processor.memory().allocateFrame();
        // SDM 25.11.5: bits 30:0 of the first 4 bytes of the VMXON region hold the revision identifier; bit 31 is 0.
        processor.memory().write32(region, revisionId & 0x7FFF_FFFF);

        processor.writeCr(4, cr4);
        try {
            processor.vmxon(region);
        } catch (VmxInstructionException | ProcessorFault e) {
            processor.writeCr(4, processor.readCr(4) & ~Cr4.VMXE);
            processor.memory().freeFrames(region, 1);
            throw new IllegalStateException("VMXON failed: " + e.getMessage(), e);
        }
        vmxonRegion = region;
    }

    /** Leaves VMX operation: VMXOFF, CR4.VMXE cleared, VMXON region freed. */
    public void hardwareDisable() {
        if (!isEnabled() || vmxonRegion == 0) {
            throw new IllegalStateException("VMX is not enabled");
        }
        try {
            processor.vmxoff();
        } catch (VmxInstructionException | ProcessorFault e) {
            throw new IllegalStateException("VMXOFF failed: " + e.getMessage(), e);
        }
        processor.writeCr(4, processor.readCr(4) & ~Cr4.VMXE);
        processor.memory().freeFrames(vmxonRegion, 1);
        vmxonRegion = 0;
    }
}
