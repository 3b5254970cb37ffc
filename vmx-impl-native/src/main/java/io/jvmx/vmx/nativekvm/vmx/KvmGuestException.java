package io.jvmx.vmx.nativekvm.vmx;

/**
 * KVM stopped the guest in a way VMX has no exit for (KVM_EXIT_INTERNAL_ERROR above all: the host's KVM could not
 * emulate an instruction). The message is one line with what happened, the guest's RIP and instruction bytes; the
 * guest state is saved in the VMCS before this is thrown, so the VMM can still show it.
 */
public final class KvmGuestException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public KvmGuestException(String message) {
        super(message);
    }
}
