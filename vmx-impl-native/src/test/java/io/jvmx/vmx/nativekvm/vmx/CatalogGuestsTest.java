package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestExpectation;
import io.jvmx.vmx.core.runtime.RunOutcome;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;

/**
 * Same guests, same answers: every catalog guest through the whole vCPU runtime (dispatcher, handler bundles,
 * devices) on the software processor and on the KVM processor. Where KVM on this kind of machine cannot give the
 * catalog's answer, kvm-expectations.properties says how it ends and why; the test checks that it ends exactly so
 * and then skips with that reason. Skipped as a whole, with the reason, where KVM is not usable.
 */
@RunWith(Parameterized.class)
public class CatalogGuestsTest {
    private static final long SECONDS = 60;
    private static final Properties KVM = new Properties();
    private static Platform platform;

    private final GuestExpectation expected;

    public CatalogGuestsTest(String name, GuestExpectation expected) {
        this.expected = expected;
    }

    @Parameterized.Parameters(name = "{0}")
    public static Collection<Object[]> guests() {
        List<Object[]> l = new ArrayList<>();
        for (GuestExpectation e : BundledGuests.expectations()) {
            l.add(new Object[] {e.name(), e});
        }
        return l;
    }

    @BeforeClass
    public static void platform() throws IOException {
        try (InputStream in = CatalogGuestsTest.class.getResourceAsStream("kvm-expectations.properties")) {
            KVM.load(in);
        }
        platform = new Platform();
    }

    @AfterClass
    public static void noVcpuLeft() {
        platform = null;
    }

    private boolean meetsCatalog(Platform.Run r) {
        RunOutcome o = r.outcome();
        if (!expected.matchesSerialOutput(r.serial())) {
            return false;
        }
        if (expected.exitCode().isPresent()) {
            return o.exitCode() != null && o.exitCode() == expected.exitCode().getAsLong();
        }
        return o.unhandledExit() != null && o.unhandledExit().reason().name().equals(expected.exitReason().get());
    }

    @Test(timeout = 4 * SECONDS * 1000)
    public void sameAnswerOnBothProcessors() throws InterruptedException {
        String name = expected.name();
        Platform.Run soft = platform.run(name, "software", SECONDS);
        String marker = KVM.getProperty(name + ".marker");
        String reason = KVM.getProperty(name + ".reason");
        if (marker == null) {
            assertTrue(name + " on the software processor: " + soft.outcome().reason() + "\n" + soft.serial(),
                    meetsCatalog(soft));
        }
        KvmTests.assumeKvm();
        Platform.Run kvm = platform.run(name, "kvm", SECONDS);
        String kvmSays = name + " on KVM: " + kvm.outcome().reason() + "\n" + kvm.serial();
        if (marker == null) {
            assertTrue(kvmSays, meetsCatalog(kvm));
            assertEquals("exit code on both processors", soft.outcome().exitCode(), kvm.outcome().exitCode());
            assertEquals("serial output on both processors", soft.serial(), kvm.serial());
            return;
        }
        assertNotNull(name + ".reason missing in kvm-expectations.properties", reason);
        if (meetsCatalog(kvm)) {
            return; // this host's KVM can do it
        }
        // the documented difference: in the guest's output or in how the run ended
        assertTrue(kvmSays + "\nexpected the documented difference '" + marker + "'",
                kvm.serial().contains(marker) || kvm.outcome().reason().contains(marker));
        String skip = name + " does not give the catalog's answer on KVM here: " + reason;
        System.out.println("skipped: " + skip); // in the build's output too, not only in the report
        assumeTrue(skip, false);
    }
}
