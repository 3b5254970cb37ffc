package io.jvmx.itests;

import io.jvmx.guests.GuestCatalog;
import io.jvmx.guests.GuestImage;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.CpuidContribution;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

import javax.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * The local-apic bundle in a real Felix: it registers its exit handler (EPT_VIOLATION, RDMSR, WRMSR, CR_ACCESS,
 * VMX_PREEMPTION_TIMER_EXPIRED) and its CPUID contribution; {@code vcpu:run sys-apic} passes all of the kernel's
 * checks; and the bundle can be stopped and started while that guest runs, between its xAPIC and its x2APIC checks,
 * with the APIC's state (a vCPU attachment) intact, so the guest goes on as if nothing happened.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LocalApicIT extends JvmxTestSupport {

    static final String APIC_BUNDLE = "io.jvmx.local-apic";
    static final String SUMMARY = "sys-apic: all 88 checks passed";
    /** The last line of the xAPIC checks: the guest is held there while the bundle is stopped and started. */
    static final String HOLD_AFTER = "ok   ... not before 50000 TSC ticks";

    @Inject
    private VCpuManager manager;
    @Inject
    private GuestCatalog guests;

    @Test
    public void theBundleRegistersItsHandlerAndItsCpuidContribution() throws Exception {
        ServiceReference<VmExitHandler> handler = awaitApicHandler();
        Object reasons = handler.getProperty(VmExitHandler.EXIT_REASON);
        Set<String> names = new HashSet<>(reasons instanceof String[] a ? Arrays.asList(a) : List.of(reasons.toString()));
        assertEquals(Set.of("EPT_VIOLATION", "RDMSR", "WRMSR", "CR_ACCESS", "VMX_PREEMPTION_TIMER_EXPIRED"), names);
        assertEquals(100, handler.getProperty(Constants.SERVICE_RANKING));
        Collection<ServiceReference<CpuidContribution>> contributions =
                context.getServiceReferences(CpuidContribution.class, null);
        assertTrue("a CPUID contribution from " + APIC_BUNDLE,
                contributions.stream().anyMatch(r -> APIC_BUNDLE.equals(bundleOf(r))));
    }

    @Test
    public void vcpuRunSysApicPassesEveryCheck() throws Exception {
        awaitCommand("vcpu", "run");
        awaitApicHandler();
        CommandResult r = execute("vcpu:run sys-apic");
        assertNull(r.all(), r.failure());
        assertEquals(r.all(), 0, r.value());
        assertFalse(r.out(), r.out().contains("FAIL "));
        assertTrue(r.out(), r.out().contains(SUMMARY));
    }

    @Test
    public void stoppingAndStartingTheBundleWhileTheGuestRunsLosesNothing() throws Exception {
        awaitApicHandler();
        Bundle apic = installedBundle(APIC_BUNDLE);
        SerialHold hold = new SerialHold();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(VmExitHandler.EXIT_REASON, "IO_INSTRUCTION");
        props.put(Constants.SERVICE_RANKING, 10_000);
        ServiceRegistration<VmExitHandler> reg = context.registerService(VmExitHandler.class, hold, props);
        try {
            GuestImage image = guests.find("sys-apic").orElseThrow(() -> new AssertionError("no image sys-apic"));
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            OutputStream synced = synchronizedOn(console);
            VCpuHandle handle = manager.launch(LaunchRequest.of(image.name(), image.bytes(), image.loadAddress(),
                    image.entry(), synced));
            assertTrue("the guest reached the end of its xAPIC checks; state " + handle.state(),
                    hold.held.await(60, TimeUnit.SECONDS));
            try {
                apic.stop();
                assertEquals(Bundle.RESOLVED, apic.getState());
                assertTrue("its handler is gone", apicHandlers().isEmpty());
            } finally {
                apic.start();
            }
            awaitApicHandler();
            hold.release.countDown();
            RunOutcome outcome = handle.awaitOutcome(Duration.ofSeconds(60))
                    .orElseThrow(() -> new AssertionError("sys-apic did not end within 60 s"));
            String out;
            synchronized (console) {
                out = console.toString(StandardCharsets.ISO_8859_1);
            }
            assertNull(outcome.reason() + "\n" + out, outcome.unhandledExit());
            assertEquals(outcome.reason() + "\n" + out, Integer.valueOf(0), outcome.exitCode());
            assertFalse(out, out.contains("FAIL "));
            assertTrue(out, out.contains(SUMMARY));
            assertTrue("the APIC's MSR exits went to its bundle: " + handle.stats().handledBy(),
                    handle.stats().handledBy().get(ExitReason.RDMSR).containsKey(APIC_BUNDLE));
        } finally {
            hold.release.countDown();
            reg.unregister();
        }
    }

    private ServiceReference<VmExitHandler> awaitApicHandler() throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (System.nanoTime() < end) {
            List<ServiceReference<VmExitHandler>> refs = apicHandlers();
            if (!refs.isEmpty()) {
                return refs.get(0);
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no VmExitHandler from " + APIC_BUNDLE + " within " + TIMEOUT_MS + " ms");
    }

    private List<ServiceReference<VmExitHandler>> apicHandlers() {
        try {
            return context.getServiceReferences(VmExitHandler.class, null).stream()
                    .filter(r -> APIC_BUNDLE.equals(bundleOf(r))).toList();
        } catch (org.osgi.framework.InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Watches the guest's COM1 output (OUT to 3F8H) and holds the vCPU after the line {@link #HOLD_AFTER}. */
    static final class SerialHold implements VmExitHandler {
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        private final StringBuilder line = new StringBuilder();

        @Override
        public ExitAction handle(VCpu vcpu, VmExitInfo exit) throws InterruptedException {
            IoQualification q = IoQualification.decode(exit.qualification());
            if (q.port() == 0x3F8 && !q.in() && !q.string()) {
                char c = (char) (vcpu.readGpr(GeneralRegisters.RAX) & 0xFF);
                if (c == '\n') {
                    if (line.toString().equals(HOLD_AFTER)) {
                        held.countDown();
                        if (!release.await(60, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("the test never released the vCPU");
                        }
                    }
                    line.setLength(0);
                } else {
                    line.append(c);
                }
            }
            return ExitAction.PASS; // the devices bundle prints it
        }
    }
}
