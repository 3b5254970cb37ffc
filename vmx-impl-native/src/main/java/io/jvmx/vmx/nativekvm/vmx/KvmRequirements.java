package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.nativekvm.kvm.Kvm;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi;
import io.jvmx.vmx.nativekvm.kvm.KvmException;

/** The KVM capabilities the processor cannot work without, each with what it is needed for. */
final class KvmRequirements {
    private static final Object[][] REQUIRED = {
            {KvmAbi.KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY", "guest RAM in memory slots"},
            {KvmAbi.KVM_CAP_SYNC_REGS, "KVM_CAP_SYNC_REGS", "registers in kvm_run (one ioctl per exit)"},
            {KvmAbi.KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT", "kicks and completing exits"},
            {KvmAbi.KVM_CAP_X86_USER_SPACE_MSR, "KVM_CAP_X86_USER_SPACE_MSR", "RDMSR/WRMSR exits"},
            {KvmAbi.KVM_CAP_X86_MSR_FILTER, "KVM_CAP_X86_MSR_FILTER", "the MSR bitmap"},
            {KvmAbi.KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID", "the guest's CPUID table"},
            {KvmAbi.KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS", "event injection"},
    };

    private KvmRequirements() {
    }

    /** Throws a {@link KvmException} naming the first missing capability and what it is for. */
    static void check(Kvm kvm) {
        check(kvm::checkExtension);
    }

    /** As {@link #check(Kvm)} with KVM_CHECK_EXTENSION as a function (capability -> value). */
    static void check(java.util.function.IntUnaryOperator checkExtension) {
        for (Object[] r : REQUIRED) {
            if (checkExtension.applyAsInt((Integer) r[0]) <= 0) {
                throw new KvmException(Kvm.DEVICE + " lacks " + r[1] + " (needed for " + r[2] + ")", 0);
            }
        }
        int sync = checkExtension.applyAsInt(KvmAbi.KVM_CAP_SYNC_REGS);
        int needed = KvmAbi.KVM_SYNC_X86_REGS | KvmAbi.KVM_SYNC_X86_SREGS | KvmAbi.KVM_SYNC_X86_EVENTS;
        if ((sync & needed) != needed) {
            throw new KvmException(Kvm.DEVICE + " synchronizes register sets " + sync + " in kvm_run; jvmx needs "
                    + needed + " (registers, segment registers, events)", 0);
        }
    }
}
