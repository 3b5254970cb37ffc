package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assume.assumeTrue;

/** The KVM tests' common precondition: a usable /dev/kvm, or a skip that says why not. */
final class KvmTests {
    private static final String WHY_NOT = new KvmVmxProcessorProvider().unavailableReason();

    private KvmTests() {
    }

    private static boolean said;

    static synchronized void assumeKvm() {
        if (WHY_NOT != null && !said) {
            said = true; // once per test JVM, so that the build's output says why the KVM tests were skipped
            System.out.println("KVM tests skipped: KVM is not usable here: " + WHY_NOT);
        }
        assumeTrue("KVM is not usable here: " + WHY_NOT, WHY_NOT == null);
    }
}
