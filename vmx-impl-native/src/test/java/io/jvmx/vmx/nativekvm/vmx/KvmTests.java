package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assume.assumeTrue;

/** The KVM tests' common precondition: a usable /dev/kvm, or a skip that says why not. */
final class KvmTests {
    private static final String WHY_NOT = new KvmVmxProcessorProvider().unavailableReason();

    private KvmTests() {
    }

    static void assumeKvm() {
        assumeTrue("KVM is not usable here: " + WHY_NOT, WHY_NOT == null);
    }
}
