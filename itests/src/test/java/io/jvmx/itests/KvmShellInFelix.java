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
 * {@code vcpu:run --processor kvm} from the shell of the real distribution, and what vcpu:handlers says of the
 * handlers a KVM vCPU cannot reach. Run by {@link KvmShellIT} where /dev/kvm can be used.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class KvmShellInFelix extends JvmxTestSupport {

    @Test
    public void vcpuRunWithTheKvmProcessorRunsAGuestFromTheShell() throws Exception {
        VmxProcessorProvider p = kvmProvider();
        assertNull("KVM became unusable: " + p.unavailableReason(), p.unavailableReason());
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
