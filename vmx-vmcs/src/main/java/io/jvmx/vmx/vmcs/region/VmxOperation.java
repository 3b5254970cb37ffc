package io.jvmx.vmx.vmcs.region;

import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.function.BiFunction;
import java.util.function.LongPredicate;

/**
 * The part of VMX operation every jvmx processor keeps the same way (SDM Vol. 3C, 31.2-31.3): whether the processor
 * is in VMX operation, the VMXON pointer, the current VMCS, VMfail, and the VMCS-pointer instructions with their
 * VMfailInvalid / VMfailValid checks. The checks a processor makes before these (#UD and #GP for its mode, CPL,
 * control registers and IA32_FEATURE_CONTROL) stay with the processor.
 *
 * @param <R> the processor's view of a VMCS region
 */
public final class VmxOperation<R extends VmcsRegion> {
    private final PhysicalMemory memory;
    private final int revisionId;
    private final LongPredicate addressValid;
    private final BiFunction<PhysicalMemory, Long, R> regions;
    private boolean on;
    private long vmxonPointer = -1;
    private R current;

    /**
     * @param revisionId   the VMCS revision identifier of IA32_VMX_BASIC
     * @param addressValid whether a physical address is within the processor's MAXPHYADDR
     * @param regions      makes the processor's view of a VMCS region (VMPTRLD)
     */
    public VmxOperation(PhysicalMemory memory, int revisionId, LongPredicate addressValid,
                        BiFunction<PhysicalMemory, Long, R> regions) {
        this.memory = memory;
        this.revisionId = revisionId;
        this.addressValid = addressValid;
        this.regions = regions;
    }

    /** In VMX operation (between VMXON and VMXOFF). */
    public boolean isOn() {
        return on;
    }

    /** The current VMCS, or null. */
    public R current() {
        return current;
    }

    /** VMfail (SDM 31.2): VMfailValid with the error stored in the current VMCS, or VMfailInvalid if there is none. */
    public VmxInstructionException fail(String instruction, VmInstructionError error) {
        if (current == null) {
            return VmxInstructionException.failInvalid(instruction, "no current VMCS to hold error " + error);
        }
        current.put(VmcsField.VM_INSTRUCTION_ERROR, error.number());
        return VmxInstructionException.failValid(instruction, error);
    }

    /** The current VMCS; VMfailInvalid if there is none. */
    public R currentVmcs(String instruction) {
        if (current == null) {
            throw VmxInstructionException.failInvalid(instruction, "the current-VMCS pointer is invalid");
        }
        return current;
    }

    /** A VMXON or VMCS pointer: 4-KiB aligned, within MAXPHYADDR, and backed by memory. */
    public boolean validRegionPointer(long pa) {
        return (pa & 0xFFF) == 0 && pa >= 0 && addressValid.test(pa) && pa + VmcsRegion.SIZE <= memory.size();
    }

    /**
     * VMXON once the processor's own checks passed: VMfailValid in VMX operation already, VMfailInvalid for a bad
     * pointer or revision identifier.
     */
    public void vmxon(long region) {
        if (on) {
            throw fail("VMXON", VmInstructionError.VMXON_IN_VMX_ROOT);
        }
        if (!validRegionPointer(region)) {
            throw VmxInstructionException.failInvalid("VMXON",
                    String.format("VMXON pointer %#x is not 4-KiB aligned inside physical memory", region));
        }
        int revision = VmcsRegion.revision(memory, region);
        if (revision != revisionId) {
            throw VmxInstructionException.failInvalid("VMXON", String.format(
                    "VMXON region revision %#x, expected %#x", revision, revisionId));
        }
        on = true;
        vmxonPointer = region;
        current = null;
    }

    public void vmxoff() {
        on = false;
        vmxonPointer = -1;
        current = null;
    }

    /** VMCLEAR: all VMCS data lives in the region already; the launch state becomes clear. */
    public void vmclear(long vmcs) {
        if (!validRegionPointer(vmcs)) {
            throw fail("VMCLEAR", VmInstructionError.VMCLEAR_INVALID_ADDRESS);
        }
        if (vmcs == vmxonPointer) {
            throw fail("VMCLEAR", VmInstructionError.VMCLEAR_VMXON_POINTER);
        }
        VmcsRegion.setLaunchState(memory, vmcs, VmcsRegion.LAUNCH_STATE_CLEAR);
        if (current != null && current.address() == vmcs) {
            current = null;
        }
    }

    /** VMPTRLD; bit 31 of the revision (shadow VMCS) must be 0: VMCS shadowing is not supported. */
    public void vmptrld(long vmcs) {
        if (!validRegionPointer(vmcs)) {
            throw fail("VMPTRLD", VmInstructionError.VMPTRLD_INVALID_ADDRESS);
        }
        if (vmcs == vmxonPointer) {
            throw fail("VMPTRLD", VmInstructionError.VMPTRLD_VMXON_POINTER);
        }
        if (VmcsRegion.revision(memory, vmcs) != revisionId) {
            throw fail("VMPTRLD", VmInstructionError.VMPTRLD_INCORRECT_REVISION);
        }
        if (current == null || current.address() != vmcs) {
            current = regions.apply(memory, vmcs);
        }
    }

    public long vmptrst() {
        return current == null ? -1L : current.address();
    }

    public long vmread(int encoding) {
        R v = currentVmcs("VMREAD");
        VmInstructionError error = VmcsRegion.accessError(encoding, false);
        if (error != null) {
            throw fail("VMREAD", error);
        }
        return v.vmread(encoding);
    }

    public void vmwrite(int encoding, long value) {
        R v = currentVmcs("VMWRITE");
        VmInstructionError error = VmcsRegion.accessError(encoding, true);
        if (error != null) {
            throw fail("VMWRITE", error);
        }
        v.vmwrite(encoding, value);
    }
}
