package io.jvmx.itests;

import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * The KVM processor as a bundle: its provider service appears next to the software one and vmx:info describes it,
 * whether or not /dev/kvm can be used here ({@link KvmShellIT} runs a guest on it where it can).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KvmProcessorIT extends JvmxTestSupport {

    @Test
    public void theKvmProviderIsAServiceOfTheNativeBundle() throws Exception {
        VmxProcessorProvider p = kvmProvider();
        assertEquals("kvm", p.kind());
        assertEquals(Bundle.ACTIVE, installedBundle("io.jvmx.vmx-impl-native").getState());
        assertTrue(p.deliverableExits().contains(io.jvmx.vmx.api.exit.ExitReason.IO_INSTRUCTION));
        assertTrue(!p.deliverableExits().contains(io.jvmx.vmx.api.exit.ExitReason.CPUID));
        awaitCommand("vmx", "info");
        CommandResult r = execute("vmx:info");
        assertNull(r.all(), r.failure());
        assertTrue(r.all(), r.out().contains("  kvm        " + (p.unavailableReason() == null ? "available"
                : "unavailable: " + p.unavailableReason())));
    }
}
