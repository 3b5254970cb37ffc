package io.jvmx.apic;

/**
 * An access the local APIC refuses with a general-protection exception, #GP(0): RDMSR/WRMSR of an x2APIC register that
 * does not exist or is write-/read-only, a reserved bit written in x2APIC mode (SDM Vol. 3A 11.12.1.3), an x2APIC MSR
 * outside x2APIC mode (11.12.2), or an IA32_APIC_BASE write the state diagram forbids (11.12.5). Whoever emulated the
 * access delivers the #GP to the guest; the message says why, for people.
 */
public final class ApicFault extends Exception {
    private static final long serialVersionUID = 1L;

    ApicFault(String message) {
        super(message, null, false, false); // an expected outcome of guest behaviour: no stack trace
    }
}
