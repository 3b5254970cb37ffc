package io.jvmx.itests;

import io.jvmx.guests.GuestCatalog;
import io.jvmx.guests.GuestImage;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import io.jvmx.vmx.core.runtime.VCpuStats;
import org.junit.After;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceRegistration;

import javax.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;

/**
 * Hot swap of the CPUID handler while a guest runs (DESIGN.md, "Contracts": a new or changed registration replaces
 * the chain at the next exit; hot swap never stops the vCPU and never loses or doubles an exit).
 *
 * <p>The guest "cpuid-loop" executes CPUID leaf 4000_0000H 1000 times and reports each EBX on port 0xE0. This test
 * takes those reports with its own I/O handler (ranked above the devices bundle) and, after {@link #K} of them,
 * holds the vCPU inside that handler until the test has changed the CPUID handlers: so the swap happens exactly
 * between CPUID number K and K+1, and every report says which handler answered its CPUID.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class CpuidHotSwapIT extends JvmxTestSupport {

    static final int ITERATIONS = 1000;
    static final int K = 400;
    static final int REPORT_PORT = 0xE0;
    static final int LEAF_HYPERVISOR = 0x4000_0000;
    /** EBX of CPUID.4000_0000H with the cpuid bundle's default signature "RVMRVMRVMRVM". */
    static final int DEFAULT_EBX = CpuidResult.ascii4("RVMRVMRVMRVM", 0);
    static final String TEST_SIGNATURE = "JVMXHOTSWAP!";
    static final int TEST_EBX = CpuidResult.ascii4(TEST_SIGNATURE, 0);
    static final String CPUID_BUNDLE = "io.jvmx.handler-cpuid";

    @Inject
    private VCpuManager manager;
    @Inject
    private GuestCatalog guests;

    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();

    @Override
    @Configuration
    public Option[] config() {
        Option[] base = super.config();
        Option[] all = Arrays.copyOf(base, base.length + 1);
        // scenario (c) holds a CPUID exit while the bundle is away: give the dispatcher's wait ample room on a
        // slow machine (the default is 2 s)
        all[base.length] = frameworkProperty("jvmx.dispatch.handlerWaitMillis").value("20000");
        return all;
    }

    @After
    public void unregister() {
        for (ServiceRegistration<?> r : registrations) {
            try {
                r.unregister();
            } catch (IllegalStateException alreadyGone) {
                // unregistered by the test itself
            }
        }
        registrations.clear();
    }

    /** (a) A higher-ranked CPUID handler registered mid-run answers every CPUID after the swap point. */
    @Test
    public void registeringAHigherRankedHandlerTakesOverAtTheNextExit() throws Exception {
        ReportCapture capture = captureReports();
        Run run = start(capture);
        capture.awaitPause();
        ServiceRegistration<VmExitHandler> swapped = registerTestCpuidHandler();
        capture.resume();
        RunOutcome outcome = run.await();

        assertCompleteRun(run, outcome, capture);
        for (int i = 0; i < ITERATIONS; i++) {
            assertEquals("report " + i, i < K ? DEFAULT_EBX : TEST_EBX, capture.values[i]);
        }
        assertEquals(Map.of(CPUID_BUNDLE, (long) K, probe().getSymbolicName(), (long) (ITERATIONS - K)),
                run.handle.stats().handledBy().get(ExitReason.CPUID));
        swapped.unregister();
    }

    /** (b) Unregistering the higher-ranked handler mid-run hands the next exit back to the bundle's handler. */
    @Test
    public void unregisteringTheHigherRankedHandlerHandsBackAtTheNextExit() throws Exception {
        ServiceRegistration<VmExitHandler> testHandler = registerTestCpuidHandler();
        ReportCapture capture = captureReports();
        Run run = start(capture);
        capture.awaitPause();
        testHandler.unregister();
        capture.resume();
        RunOutcome outcome = run.await();

        assertCompleteRun(run, outcome, capture);
        for (int i = 0; i < ITERATIONS; i++) {
            assertEquals("report " + i, i < K ? TEST_EBX : DEFAULT_EBX, capture.values[i]);
        }
        assertEquals(Map.of(probe().getSymbolicName(), (long) K, CPUID_BUNDLE, (long) (ITERATIONS - K)),
                run.handle.stats().handledBy().get(ExitReason.CPUID));
    }

    /**
     * (c) Updating the cpuid bundle mid-run: while it is away, the next CPUID exit waits for its handler to come
     * back (the dispatcher's handler wait) instead of being lost; every answer is the bundle's.
     */
    @Test
    public void updatingTheCpuidBundleLosesNoExit() throws Exception {
        Bundle cpuid = installedBundle(CPUID_BUNDLE);
        ReportCapture capture = captureReports();
        Run run = start(capture);
        capture.awaitPause();
        try {
            cpuid.stop();
            capture.resume();
            // let the vCPU reach CPUID number K+1 and find no handler there
            Thread.sleep(300);
            assertTrue("the vCPU must wait for the CPUID handler, not end: " + run.handle.state(),
                    run.handle.awaitOutcome(Duration.ZERO).isEmpty());
            cpuid.update();
        } finally {
            cpuid.start();
        }
        RunOutcome outcome = run.await();

        assertCompleteRun(run, outcome, capture);
        for (int i = 0; i < ITERATIONS; i++) {
            assertEquals("report " + i, DEFAULT_EBX, capture.values[i]);
        }
        assertEquals(Map.of(CPUID_BUNDLE, (long) ITERATIONS), run.handle.stats().handledBy().get(ExitReason.CPUID));
    }

    // ---- the run ----

    private record Run(VCpuHandle handle, ByteArrayOutputStream console) {
        RunOutcome await() throws InterruptedException {
            return handle.awaitOutcome(Duration.ofSeconds(60)).orElseThrow(() -> new AssertionError(
                    "cpuid-loop did not end within 60 s; state " + handle.state()));
        }
    }

    private Run start(ReportCapture capture) {
        GuestImage image = guests.find("cpuid-loop").orElseThrow(() -> new AssertionError("no guest image cpuid-loop"));
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        OutputStream synced = synchronizedOn(console);
        VCpuHandle handle = manager.launch(LaunchRequest.of(image.name(), image.bytes(), image.loadAddress(),
                image.entry(), synced));
        capture.handle = handle;
        return new Run(handle, console);
    }

    private static void assertCompleteRun(Run run, RunOutcome outcome, ReportCapture capture) {
        String console;
        synchronized (run.console()) {
            console = run.console().toString(StandardCharsets.US_ASCII);
        }
        assertNull("failure: " + outcome.failure(), outcome.failure());
        assertNull("unhandled exit: " + outcome.unhandledExit(), outcome.unhandledExit());
        assertEquals(outcome.reason(), Integer.valueOf(0), outcome.exitCode());
        assertTrue(console, console.contains("cpuid-loop done"));
        assertEquals("reports", ITERATIONS, capture.count);
        VCpuStats stats = run.handle().stats();
        assertEquals("CPUID exits: none lost, none doubled", Long.valueOf(ITERATIONS),
                stats.exitsByReason().get(ExitReason.CPUID));
        assertEquals(0, stats.unhandledExits());
    }

    // ---- the test's handlers ----

    /** Takes the guest's reports on port 0xE0 (32-bit OUT of EAX); holds the vCPU after report number K. */
    final class ReportCapture implements VmExitHandler {
        final int[] values = new int[ITERATIONS];
        volatile int count;
        volatile VCpuHandle handle;
        private final CountDownLatch paused = new CountDownLatch(1);
        private final CountDownLatch resume = new CountDownLatch(1);

        @Override
        public ExitAction handle(VCpu vcpu, VmExitInfo exit) throws InterruptedException {
            IoQualification q = IoQualification.decode(exit.qualification());
            if (q.port() != REPORT_PORT || q.in()) {
                return ExitAction.PASS; // serial, debug-exit: the devices bundle
            }
            if (count >= ITERATIONS) {
                throw new IllegalStateException("more than " + ITERATIONS + " reports");
            }
            values[count] = (int) vcpu.readGpr(GeneralRegisters.RAX);
            count++;
            vcpu.advanceRip(exit.instructionLength());
            if (count == K) {
                paused.countDown();
                if (!resume.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the test never resumed the vCPU");
                }
            }
            return ExitAction.HANDLED;
        }

        void awaitPause() throws InterruptedException {
            if (!paused.await(30, TimeUnit.SECONDS)) {
                throw new AssertionError("the guest did not make " + K + " reports within 30 s (made " + count
                        + "; vCPU " + (handle == null ? "?" : handle.state()) + ")");
            }
        }

        void resume() {
            resume.countDown();
        }
    }

    private ReportCapture captureReports() {
        ReportCapture capture = new ReportCapture();
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(VmExitHandler.EXIT_REASON, "IO_INSTRUCTION");
        props.put(Constants.SERVICE_RANKING, 10_000);
        registrations.add(context.registerService(VmExitHandler.class, capture, props));
        return capture;
    }

    /** This test's CPUID handler: its own signature for leaf 4000_0000H, the next handler for everything else. */
    private ServiceRegistration<VmExitHandler> registerTestCpuidHandler() {
        VmExitHandler handler = (vcpu, exit) -> {
            int leaf = (int) vcpu.readGpr(GeneralRegisters.RAX);
            if (leaf != LEAF_HYPERVISOR) {
                return ExitAction.PASS;
            }
            // CPUID writes EAX, EBX, ECX, EDX and clears bits 63:32 of RAX..RDX (SDM Vol. 2A, CPUID)
            vcpu.writeGpr(GeneralRegisters.RAX, 0x4000_0001L);
            vcpu.writeGpr(GeneralRegisters.RBX, TEST_EBX & 0xFFFF_FFFFL);
            vcpu.writeGpr(GeneralRegisters.RCX, CpuidResult.ascii4(TEST_SIGNATURE, 4) & 0xFFFF_FFFFL);
            vcpu.writeGpr(GeneralRegisters.RDX, CpuidResult.ascii4(TEST_SIGNATURE, 8) & 0xFFFF_FFFFL);
            vcpu.advanceRip(exit.instructionLength());
            return ExitAction.HANDLED;
        };
        Hashtable<String, Object> props = new Hashtable<>();
        props.put(VmExitHandler.EXIT_REASON, "CPUID");
        props.put(Constants.SERVICE_RANKING, 100);
        ServiceRegistration<VmExitHandler> reg = context.registerService(VmExitHandler.class, handler, props);
        registrations.add(reg);
        return reg;
    }
}
