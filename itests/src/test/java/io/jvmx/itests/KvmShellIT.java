package io.jvmx.itests;

import static org.junit.Assume.assumeTrue;

import io.jvmx.vmx.nativekvm.vmx.KvmVmxProcessorProvider;
import org.junit.Test;

/**
 * A guest on the KVM processor from the shell ({@link KvmShellInFelix}), where /dev/kvm can be used; skipped with
 * KVM's reason (no device, no permission, a capability missing) where it cannot.
 */
public class KvmShellIT {

    @Test
    public void vcpuRunWithTheKvmProcessorRunsAGuestFromTheShell() {
        String unavailable = new KvmVmxProcessorProvider().unavailableReason();
        if (unavailable != null) {
            String reason = "KvmShellIT skipped: KVM is not usable here: " + unavailable;
            System.out.println(reason);
            assumeTrue(reason, false);
        }
        InFelix.run(KvmShellInFelix.class);
    }
}
