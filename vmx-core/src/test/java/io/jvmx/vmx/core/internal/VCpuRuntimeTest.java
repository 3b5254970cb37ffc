package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.FakeVmxProcessor;
import io.jvmx.vmx.core.dispatch.HandlerFailureException;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuStats;
import org.junit.Before;
import org.junit.Test;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** The vCPU runtime on the fake processor: the state machine of DESIGN.md, stop, inspect, limits, teardown. */
public class VCpuRuntimeTest {

    /** Opens fake processors, letting each test script them. */
    private static final class FakeProvider implements VmxProcessorProvider {
        final List<FakeVmxProcessor> opened = new ArrayList<>();
        volatile Consumer<FakeVmxProcessor> configure = c -> { };
        volatile String unavailable;

        @Override
        public String kind() {
            return "fake";
        }

        @Override
        public String unavailableReason() {
            return unavailable;
        }

        @Override
        public VmxProcessor open(long memoryBytes) {
            FakeVmxProcessor cpu = new FakeVmxProcessor(memoryBytes);
            configure.accept(cpu);
            synchronized (opened) {
                opened.add(cpu);
            }
            return cpu;
        }

        FakeVmxProcessor last() {
            synchronized (opened) {
                return opened.get(opened.size() - 1);
            }
        }
    }

    private WhiteboardExitDispatcher dispatcher;
    private VCpuRuntime runtime;
    private FakeProvider provider;
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();

    @Before
    public void setUp() {
        dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 100));
        runtime = new VCpuRuntime(dispatcher);
        provider = new FakeProvider();
        runtime.addProvider(provider, Map.of(VmxProcessorProvider.KIND, "fake"));
    }

    private LaunchRequest request() {
        // cpuid; out 0xF4, al (the image's bytes only need to be in guest memory: the fake's script is the guest)
        byte[] image = {0x0F, (byte) 0xA2, (byte) 0xE6, (byte) 0xF4};
        return new LaunchRequest("test-image", image, 0x8000, 0x8000, 1 << 20, "fake", console, 0, 0);
    }

    private void handler(String bundle, ExitReason reason, VmExitHandler h) {
        dispatcher.addHandler(bundle + reason, h, Map.of("vmx.exit.reason", reason.name(), "service.id", 1L), bundle);
    }

    private static final VmExitHandler ADVANCE = (v, e) -> {
        v.advanceRip(e.instructionLength());
        return ExitAction.HANDLED;
    };

    private static RunOutcome await(VCpuHandle h) throws InterruptedException {
        return h.awaitOutcome(Duration.ofSeconds(10)).orElseThrow(() -> new AssertionError("vCPU did not end"));
    }

    @Test
    public void guestRunsToItsExitCodeAndEverythingIsTornDown() throws Exception {
        List<VCpuState> seenByHandler = new ArrayList<>();
        handler("io.test.cpuid", ExitReason.CPUID, (v, e) -> {
            seenByHandler.add(v.state());
            seenByHandler.add(v.guestMemory().read8(0x8000) == 0x0F ? VCpuState.READY : VCpuState.FAILED);
            v.regs().set(GeneralRegisters.RAX, 3);
            return ADVANCE.handle(v, e);
        });
        handler("io.test.debugexit", ExitReason.IO_INSTRUCTION, (v, e) -> {
            v.terminate((int) v.regs().get(GeneralRegisters.RAX), "debug-exit port 0xf4");
            return ADVANCE.handle(v, e);
        });
        provider.configure = c -> c.script((cpu, r) -> cpu.exit(ExitReason.CPUID, 0, 2),
                (cpu, r) -> cpu.exit(ExitReason.IO_INSTRUCTION, 0x00F4_0040L, 2));

        VCpuHandle h = runtime.launch(request());
        assertTrue("launch returns once the vCPU is set up: " + h.state(),
                h.state() != VCpuState.CREATED);
        RunOutcome out = await(h);
        assertEquals(VCpuState.STOPPED, out.state());
        assertEquals(Integer.valueOf(3), out.exitCode());
        assertEquals("guest exited with code 3 (debug-exit port 0xf4)", out.reason());
        assertNull(out.failure());
        assertEquals(VCpuState.STOPPED, h.state());
        assertEquals("handlers see a RUNNING vCPU, and the image at 0x8000",
                List.of(VCpuState.RUNNING, VCpuState.READY), seenByHandler);

        VCpuStats s = h.stats();
        assertEquals(Map.of(ExitReason.CPUID, 1L, ExitReason.IO_INSTRUCTION, 1L), s.exitsByReason());
        assertEquals(Map.of("io.test.cpuid", 1L), s.handledBy().get(ExitReason.CPUID));
        assertEquals(Map.of("io.test.debugexit", 1L), s.handledBy().get(ExitReason.IO_INSTRUCTION));
        assertEquals(0, s.unhandledExits());
        assertEquals(2, s.totalExits());
        assertEquals("the fake retires one 'instruction' per entry", 2, s.guestInstructions());
        assertTrue(s.wallNanos() > 0);

        FakeVmxProcessor cpu = provider.last();
        assertEquals("VMXOFF at the end", 1, cpu.vmxoffCount);
        assertEquals(0, cpu.cr4 & Cr4.VMXE);
        assertTrue("processor closed", cpu.closed);
        assertEquals("every frame returned: VMXON region, VMCS, bitmaps, guest RAM, EPT",
                cpu.memory().size() / 4096 - 1, cpu.memory().freeFrameCount());
        assertEquals("guest RAM + overhead", (1L << 20) + VCpuRuntime.PROCESSOR_OVERHEAD, cpu.memory().size());
    }

    @Test
    public void anUnhandledExitStopsTheVcpuAndIsReported() throws Exception {
        RunOutcome out = await(runtime.launch(request())); // the fake's idle guest exits with HLT; no handler
        assertEquals(VCpuState.STOPPED, out.state());
        assertEquals("unhandled exit HLT at RIP 0x8000", out.reason());
        assertEquals(ExitReason.HLT, out.unhandledExit().reason());
        assertEquals(1, runtime.list().get(0).stats().unhandledExits());
    }

    @Test
    public void aVmEntryFailureFailsTheVcpu() throws Exception {
        provider.configure = c -> c.script((cpu, r) -> cpu.exitRaw(ExitReason.ENTRY_FAILURE_BIT | 33, 0, 0));
        RunOutcome out = await(runtime.launch(request()));
        assertEquals(VCpuState.FAILED, out.state());
        assertTrue(out.reason(), out.reason().startsWith("VM entry failed: VM_ENTRY_FAILURE_INVALID_GUEST_STATE"));
        assertTrue(out.unhandledExit().entryFailure());
    }

    @Test
    public void stopKicksTheGuestOutAndTheKickIsNotDispatched() throws Exception {
        handler("io.test.cpuid", ExitReason.CPUID, ADVANCE);
        AtomicLong observedInterrupts = new AtomicLong();
        dispatcher.addObserver("obs", (v, e, t) -> {
            if (e.reason() == ExitReason.EXTERNAL_INTERRUPT) {
                observedInterrupts.incrementAndGet();
            }
        }, Map.of(), "io.test.observer");
        provider.configure = c -> c.idle = (cpu, r) -> {
            sleepQuietly();
            cpu.exit(ExitReason.CPUID, 0, 2);
        };
        VCpuHandle h = runtime.launch(request());
        waitForExits(h, 5);
        assertEquals(VCpuState.RUNNING, h.state());
        h.stop();
        RunOutcome out = await(h);
        assertEquals(VCpuState.STOPPED, out.state());
        assertEquals("stopped by request", out.reason());
        assertNull(out.exitCode());
        assertEquals("the kick's EXTERNAL_INTERRUPT exit was consumed by the run loop", 0, observedInterrupts.get());
        assertEquals(0, h.stats().unhandledExits());
        assertTrue(provider.last().kicks >= 1);
        assertTrue(provider.last().closed);
    }

    @Test
    public void inspectRunsOnTheVcpuThreadWhileRunningAndOnTheCapturedStateAfter() throws Exception {
        handler("io.test.cpuid", ExitReason.CPUID, ADVANCE);
        provider.configure = c -> c.idle = (cpu, r) -> {
            sleepQuietly();
            cpu.exit(ExitReason.CPUID, 0, 2);
        };
        VCpuHandle h = runtime.launch(request());
        waitForExits(h, 3);
        String thread = h.inspect(v -> Thread.currentThread().getName(), Duration.ofSeconds(5));
        assertEquals("vcpu-" + h.id(), thread);
        long rip = h.inspect(VCpu::rip, Duration.ofSeconds(5));
        assertTrue("RIP moves by 2 per handled CPUID: " + Long.toHexString(rip), rip > 0x8000 && (rip - 0x8000) % 2 == 0);
        try {
            h.inspect(v -> {
                throw new IllegalArgumentException("bad query");
            }, Duration.ofSeconds(5));
            fail();
        } catch (IllegalArgumentException e) {
            assertEquals("bad query", e.getMessage());
        }
        assertEquals("a failing query does not hurt the vCPU", VCpuState.RUNNING, h.state());
        h.stop();
        await(h);
        long total = h.stats().exitsByReason().get(ExitReason.CPUID);
        long after = h.inspect(VCpu::rip, Duration.ofSeconds(1));
        assertEquals(0x8000 + 2 * total, after);
        assertEquals(Thread.currentThread().getName(), h.inspect(v -> Thread.currentThread().getName(), Duration.ofSeconds(1)));
    }

    @Test
    public void maxExitsBoundsTheRun() throws Exception {
        handler("io.test.cpuid", ExitReason.CPUID, ADVANCE);
        provider.configure = c -> c.idle = (cpu, r) -> cpu.exit(ExitReason.CPUID, 0, 2);
        VCpuHandle h = runtime.launch(request().withMaxExits(5));
        RunOutcome out = await(h);
        assertEquals(VCpuState.STOPPED, out.state());
        assertEquals("stopped after 5 exits (exit limit)", out.reason());
        assertEquals(5, h.stats().totalExits());
    }

    @Test
    public void aHandlerExceptionFailsTheVcpuNamingHandlerBundleAndExit() throws Exception {
        handler("com.acme.handlers", ExitReason.CPUID, new WhiteboardExitDispatcherTest.ExplodingHandler());
        provider.configure = c -> c.script((cpu, r) -> cpu.exit(ExitReason.CPUID, 0, 2));
        VCpuHandle h = runtime.launch(request());
        RunOutcome out = await(h);
        assertEquals(VCpuState.FAILED, out.state());
        assertTrue(out.failure() instanceof HandlerFailureException);
        assertEquals("handler io.jvmx.vmx.core.internal.WhiteboardExitDispatcherTest$ExplodingHandler from bundle "
                + "com.acme.handlers failed on CPUID at RIP 0x8000: java.lang.IllegalStateException: boom", out.reason());
        assertEquals(VCpuState.FAILED, h.state());
        assertTrue("teardown after a failure too", provider.last().closed);
        assertEquals(1, provider.last().vmxoffCount);
    }

    @Test
    public void aSetupFailureFailsTheVcpuWithTheReason() throws Exception {
        provider.configure = c -> c.msrs.put(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK);
        VCpuHandle h = runtime.launch(request());
        RunOutcome out = await(h);
        assertEquals(VCpuState.FAILED, out.state());
        assertTrue(out.reason(), out.reason().contains("IA32_FEATURE_CONTROL"));
        assertEquals(VCpuState.FAILED, h.state());
        assertTrue(provider.last().closed);
        assertEquals(0, provider.last().vmxoffCount);
        try {
            h.inspect(VCpu::rip, Duration.ofSeconds(1));
            fail();
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage().contains("before its guest state could be captured"));
        }
    }

    @Test
    public void unknownAndUnavailableKindsAreOneLineErrors() {
        try {
            runtime.launch(request().withProcessor("nope"));
            fail();
        } catch (IllegalArgumentException e) {
            assertEquals("unknown processor kind 'nope' (registered: fake)", e.getMessage());
        }
        provider.unavailable = "no /dev/kvm";
        try {
            runtime.launch(request());
            fail();
        } catch (IllegalArgumentException e) {
            assertEquals("processor kind 'fake' is unavailable: no /dev/kvm", e.getMessage());
        }
        assertEquals(java.util.Collections.singletonMap("fake", "no /dev/kvm"), runtime.processorKinds());
        runtime.removeProvider(provider, Map.of());
        assertTrue(runtime.processorKinds().isEmpty());
        assertTrue(runtime.list().isEmpty());
    }

    @Test
    public void listGetAndPrune() throws Exception {
        VCpuHandle a = runtime.launch(request());
        VCpuHandle b = runtime.launch(request());
        assertFalse(a.id() == b.id());
        assertEquals(2, runtime.list().size());
        assertEquals(b, runtime.get(b.id()).orElseThrow());
        assertEquals("test-image", a.name());
        assertEquals("fake", a.processorKind());
        await(a);
        await(b);
        runtime.prune();
        assertTrue(runtime.list().isEmpty());
    }

    private static void waitForExits(VCpuHandle h, long n) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (h.stats().totalExits() < n) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("no exits: " + h.state());
            }
            Thread.sleep(2);
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
