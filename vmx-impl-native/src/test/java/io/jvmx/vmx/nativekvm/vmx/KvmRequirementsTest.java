package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import io.jvmx.vmx.nativekvm.kvm.KvmAbi;
import io.jvmx.vmx.nativekvm.kvm.KvmException;
import org.junit.Test;

/** A KVM without a capability the processor needs is refused in one line that names it and what it is for. */
public class KvmRequirementsTest {

    @Test
    public void aMissingCapabilityIsNamedWithWhatItIsFor() {
        try {
            KvmRequirements.check(cap -> cap == KvmAbi.KVM_CAP_X86_MSR_FILTER ? 0 : 7);
            fail("accepted a KVM without an MSR filter");
        } catch (KvmException e) {
            assertEquals("/dev/kvm lacks KVM_CAP_X86_MSR_FILTER (needed for the MSR bitmap)", e.getMessage());
        }
    }

    @Test
    public void registersThatKvmRunDoesNotCarryAreRefused() {
        try {
            KvmRequirements.check(cap -> cap == KvmAbi.KVM_CAP_SYNC_REGS ? KvmAbi.KVM_SYNC_X86_REGS : 1);
            fail("accepted a KVM that synchronizes only the GPRs");
        } catch (KvmException e) {
            assertEquals("/dev/kvm synchronizes register sets 1 in kvm_run; jvmx needs 7 (registers, segment "
                    + "registers, events)", e.getMessage());
        }
    }

    @Test
    public void everythingThereIsAccepted() {
        KvmRequirements.check(cap -> 7);
    }
}
