package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.spi.VmxProcessor;
import org.junit.Before;
import org.junit.Test;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Every descriptor and mapping a KVM processor takes is given back: on close, on a whole run through the vCPU runtime,
 * and when the provider is deactivated (bundle stop) with processors still open. Counted in /proc/self/fd and
 * /proc/self/maps.
 */
public class KvmResourcesTest {

    @Before
    public void kvm() {
        KvmTests.assumeKvm();
    }

    private static int openDescriptors() {
        String[] fds = new File("/proc/self/fd").list();
        return fds == null ? -1 : fds.length;
    }

    private static long mappings() throws IOException {
        try (var lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.count();
        }
    }

    @Test(timeout = 120_000)
    public void aThousandVmsLeaveNoDescriptorOrMappingBehind() throws IOException {
        KvmVmxProcessorProvider provider = new KvmVmxProcessorProvider();
        // one first, so that class loading and JNA's own files are not counted
        provider.open(64 << 10).close();
        int fds = openDescriptors();
        long maps = mappings();
        for (int i = 0; i < 1000; i++) {
            VmxProcessor p = provider.open(64 << 10);
            p.memory().write64(4096, i); // the memory is there
            p.close();
            p.close(); // idempotent
        }
        assertEquals("open descriptors after 1000 VMs", fds, openDescriptors());
        long after = mappings();
        assertTrue("mappings after 1000 VMs: " + maps + " before, " + after + " after", after <= maps + 4);
    }

    @Test(timeout = 120_000)
    public void runsThroughTheRuntimeLeaveNothingBehind() throws Exception {
        Platform platform = new Platform();
        platform.run("hello", "kvm", 30); // warm-up
        int fds = openDescriptors();
        for (int i = 0; i < 20; i++) {
            Platform.Run r = platform.run("hello", "kvm", 30);
            assertEquals(r.outcome().reason(), Integer.valueOf(0), r.outcome().exitCode());
        }
        assertEquals("open descriptors after 20 runs", fds, openDescriptors());
    }

    @Test(timeout = 60_000)
    public void bundleStopClosesTheProcessorsStillOpen() {
        KvmVmxProcessorProvider provider = new KvmVmxProcessorProvider();
        provider.open(64 << 10).close();
        int fds = openDescriptors();
        VmxProcessor a = provider.open(64 << 10);
        VmxProcessor b = provider.open(64 << 10);
        assertTrue(openDescriptors() >= fds + 6); // /dev/kvm, VM and vCPU each
        provider.deactivate();
        assertEquals(fds, openDescriptors());
        try {
            a.memory().read64(4096);
            fail("memory of a closed processor answered");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage(), expected.getMessage().contains("closed"));
        }
        b.close(); // closing again is harmless
    }
}
