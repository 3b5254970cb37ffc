package io.jvmx.itests;

import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

/**
 * The KVM processor as a bundle: its provider service appears next to the software one, vmx:info describes it, and
 * {@code vcpu:run --processor kvm} runs a guest from the shell where /dev/kvm can be used (skipped, with the reason,
 * where it cannot).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KvmProcessorIT extends JvmxTestSupport {

    private VmxProcessorProvider kvm() throws InterruptedException {
        ServiceReference<VmxProcessorProvider> ref = awaitService(VmxProcessorProvider.class,
                "(" + VmxProcessorProvider.KIND + "=kvm)");
        assertEquals("io.jvmx.vmx-impl-native", bundleOf(ref));
        return context.getService(ref);
    }

    @Test
    public void theKvmProviderIsAServiceOfTheNativeBundle() throws Exception {
        VmxProcessorProvider p = kvm();
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

    @Test
    public void vcpuRunWithTheKvmProcessorRunsAGuestFromTheShell() throws Exception {
        VmxProcessorProvider p = kvm();
        assumeTrue("KVM is not usable here: " + p.unavailableReason(), p.unavailableReason() == null);
        awaitCommand("vcpu", "run");
        CommandResult r = execute("vcpu:run hello --processor kvm");
        assertNull(r.all(), r.failure());
        assertEquals(r.all(), 0, r.value());
        assertTrue(r.all(), r.all().contains("hello from jvmx"));
        assertTrue(r.all(), r.out().contains("(hello on kvm): guest exited with code 0"));
        assertTrue(r.all(), r.out().contains("not deliverable on kvm: EXCEPTION_OR_NMI, TASK_SWITCH, CPUID, CR_ACCESS, XSETBV"));

        CommandResult h = execute("vcpu:handlers");
        assertTrue(h.all(), h.out().contains("  kvm vCPUs cannot reach these handlers: the processor never delivers "
                + "CR_ACCESS exits"));
    }
}
