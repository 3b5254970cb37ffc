package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.ExitObserver;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.core.dispatch.HandlerFailureException;
import io.jvmx.vmx.core.dispatch.HandlerRegistration;
import io.jvmx.vmx.core.runtime.HandlerDirectory;
import org.junit.Before;
import org.junit.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/**
 * The exit whiteboard without OSGi: DS bind/unbind/updated methods called with fake service references
 * (DESIGN.md "Contracts": ranking order, PASS, hot swap, handler failure; basic exit reasons of SDM Vol. 3D Table C-1).
 */
public class WhiteboardExitDispatcherTest {

    private static final VmExitInfo CPUID = VmExitInfo.of(ExitReason.CPUID.number(), 2, 0x8012, 0);
    private static final VmExitInfo HLT = VmExitInfo.of(ExitReason.HLT.number(), 1, 0x8020, 0);

    private WhiteboardExitDispatcher d;
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());

    @Before
    public void setUp() {
        d = new WhiteboardExitDispatcher();
        d.setLog(log::add);
    }

    /** A handler that records its name and answers with a fixed action. */
    private static VmExitHandler recording(List<String> calls, String name, ExitAction action) {
        return (v, e) -> {
            calls.add(name);
            return action;
        };
    }

    private FakeServiceReference<VmExitHandler> bind(String bundle, Object reasons, int ranking, long id,
                                                     VmExitHandler h) {
        FakeServiceReference<VmExitHandler> ref = new FakeServiceReference<>(bundle, reasons, ranking, id);
        d.bindHandler(ref, h);
        return ref;
    }

    @Test
    public void chainRunsHighestRankingFirstThenLowestServiceId() {
        List<String> calls = new ArrayList<>();
        bind("b.low5", "CPUID", 0, 5, recording(calls, "rank0-id5", ExitAction.PASS));
        bind("b.high", "CPUID", 10, 7, recording(calls, "rank10-id7", ExitAction.PASS));
        bind("b.low3", "CPUID", 0, 3, recording(calls, "rank0-id3", ExitAction.PASS));
        bind("b.neg", "CPUID", -5, 1, recording(calls, "rank-5-id1", ExitAction.PASS));
        assertNull("every handler passed: unhandled", d.dispatch(null, CPUID));
        assertEquals(List.of("rank10-id7", "rank0-id3", "rank0-id5", "rank-5-id1"), calls);

        List<HandlerDirectory.Entry> chain = d.chain(ExitReason.CPUID);
        assertEquals(List.of(7L, 3L, 5L, 1L), chain.stream().map(HandlerDirectory.Entry::serviceId).toList());
        assertEquals("b.high", chain.get(0).bundle());
        assertEquals(10, chain.get(0).ranking());
        assertEquals(List.of(ExitReason.CPUID), new ArrayList<>(d.chains().keySet()));
    }

    @Test
    public void passLetsTheNextHandlerTryAndHandledEndsTheChain() {
        List<String> calls = new ArrayList<>();
        bind("first", "CPUID", 20, 1, recording(calls, "first", ExitAction.PASS));
        bind("second", "CPUID", 10, 2, recording(calls, "second", ExitAction.HANDLED));
        bind("third", "CPUID", 0, 3, recording(calls, "third", ExitAction.HANDLED));
        HandlerRegistration took = d.dispatch(null, CPUID);
        assertEquals("second", took.bundle());
        assertEquals(List.of("first", "second"), calls);
        assertEquals(1, took.handledCount());
        assertEquals(List.of(0L, 1L, 0L), d.chain(ExitReason.CPUID).stream().map(HandlerDirectory.Entry::handled).toList());
        assertNull("other reasons have no chain", d.dispatch(null, HLT));
    }

    @Test
    public void updatedRankingReordersTheChain() {
        List<String> calls = new ArrayList<>();
        FakeServiceReference<VmExitHandler> a = bind("a", "CPUID", 0, 1, recording(calls, "a", ExitAction.HANDLED));
        VmExitHandler bh = recording(calls, "b", ExitAction.HANDLED);
        FakeServiceReference<VmExitHandler> b = bind("b", "CPUID", 0, 2, bh);
        assertEquals("a", d.dispatch(null, CPUID).bundle());
        b.props.put("service.ranking", 5);
        d.updatedHandler(b, bh);
        assertEquals("b", d.dispatch(null, CPUID).bundle());
        d.unbindHandler(b, bh);
        assertEquals("a", d.dispatch(null, CPUID).bundle());
        assertEquals(1, d.chain(ExitReason.CPUID).size());
        d.unbindHandler(a, null);
        assertTrue(d.chains().isEmpty());
    }

    @Test
    public void hotReplacementBetweenTwoExitsLosesAndDoublesNothing() {
        AtomicLong a = new AtomicLong();
        AtomicLong b = new AtomicLong();
        VmExitHandler ha = (v, e) -> {
            a.incrementAndGet();
            return ExitAction.HANDLED;
        };
        FakeServiceReference<VmExitHandler> ra = bind("v1", "CPUID", 0, 1, ha);
        assertEquals("v1", d.dispatch(null, CPUID).bundle());
        d.unbindHandler(ra, ha);
        bind("v2", "CPUID", 0, 2, (v, e) -> {
            b.incrementAndGet();
            return ExitAction.HANDLED;
        });
        assertEquals("v2", d.dispatch(null, CPUID).bundle());
        assertEquals(1, a.get());
        assertEquals(1, b.get());
    }

    @Test
    public void concurrentBundleUpdatesWhileExitsFlowLoseAndDoubleNothing() throws Exception {
        d.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 2000));
        AtomicLong handled = new AtomicLong();
        VmExitHandler h = (v, e) -> {
            handled.incrementAndGet();
            return ExitAction.HANDLED;
        };
        FakeServiceReference<VmExitHandler> first = bind("gen0", "CPUID", 0, 1, h);
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong updates = new AtomicLong();
        Thread updater = new Thread(() -> {
            long id = 2;
            FakeServiceReference<VmExitHandler> current = first;
            while (!done.get()) {
                // a bundle update: the old service goes away, then the new one arrives
                FakeServiceReference<VmExitHandler> next = new FakeServiceReference<>("gen" + id, "CPUID", 0, id++);
                if (current != null) {
                    d.unbindHandler(current, h);
                }
                Thread.yield();
                d.bindHandler(next, h);
                current = next;
                updates.incrementAndGet();
            }
        });
        updater.start();
        long exits = 0;
        long deadline = System.nanoTime() + 10_000_000_000L;
        // keep the exits flowing until the handler has been replaced many times (and at least 20,000 exits)
        while ((exits < 20_000 || updates.get() < 200) && System.nanoTime() < deadline) {
            assertNotNull("exit " + exits + " was lost", d.dispatch(null, CPUID));
            exits++;
        }
        done.set(true);
        updater.join();
        assertEquals("each exit handled exactly once", exits, handled.get());
        assertTrue("the handler was replaced while exits flowed", updates.get() >= 200);
    }

    @Test
    public void anExitOfAnExpectedReasonWaitsForAHandlerThatArrivesLater() throws Exception {
        VmExitHandler h = (v, e) -> ExitAction.HANDLED;
        FakeServiceReference<VmExitHandler> old = bind("old", "CPUID", 0, 1, h);
        d.unbindHandler(old, h); // CPUID has had a handler: it is expected now
        assertTrue(d.isExpected(ExitReason.CPUID));
        CountDownLatch waiting = new CountDownLatch(1);
        Thread late = new Thread(() -> {
            try {
                waiting.await();
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            bind("new", "CPUID", 0, 2, h);
        });
        late.start();
        long t0 = System.nanoTime();
        waiting.countDown();
        HandlerRegistration took = d.dispatch(null, CPUID);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        late.join();
        assertNotNull("the handler registered 100 ms later took the exit", took);
        assertEquals("new", took.bundle());
        assertTrue("waited for it: " + ms + " ms", ms >= 90 && ms < 1500);
        assertEquals(1, d.handlerWaits());
    }

    @Test
    public void withNoHandlerTheExitReturnsUnhandledAfterTheWait() {
        d.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, "200"));
        VmExitHandler h = (v, e) -> ExitAction.HANDLED;
        d.unbindHandler(bind("gone", "CPUID", 0, 1, h), h);
        long t0 = System.nanoTime();
        assertNull(d.dispatch(null, CPUID));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue("waited " + ms + " ms", ms >= 190 && ms < 1500);

        // a reason that never had a handler and is not configured does not wait
        t0 = System.nanoTime();
        assertNull(d.dispatch(null, HLT));
        assertTrue((System.nanoTime() - t0) / 1_000_000 < 150);
    }

    @Test
    public void configuredExpectedReasonsWait() {
        d.configure(Map.of(WhiteboardExitDispatcher.EXPECTED_REASONS, "HLT, 30",
                WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 50));
        assertTrue(d.isExpected(ExitReason.HLT));
        assertTrue(d.isExpected(ExitReason.IO_INSTRUCTION));
        assertFalse(d.isExpected(ExitReason.CPUID));
        long t0 = System.nanoTime();
        assertNull(d.dispatch(null, HLT));
        assertTrue((System.nanoTime() - t0) / 1_000_000 >= 45);
        d.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, "soon"));
        assertEquals(WhiteboardExitDispatcher.DEFAULT_HANDLER_WAIT_MILLIS, d.handlerWaitMillis());
        assertTrue(log.toString(), log.get(0).contains("'soon' is not a number"));
    }

    /** A named handler class, so that the failure message can be checked exactly. */
    public static final class ExplodingHandler implements VmExitHandler {
        @Override
        public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
            throw new IllegalStateException("boom");
        }
    }

    @Test
    public void aHandlerExceptionNamesBundleClassAndExit() {
        bind("com.acme.handlers", "CPUID", 0, 1, new ExplodingHandler());
        try {
            d.dispatch(null, CPUID);
            fail();
        } catch (HandlerFailureException e) {
            assertEquals("handler io.jvmx.vmx.core.internal.WhiteboardExitDispatcherTest$ExplodingHandler from bundle "
                    + "com.acme.handlers failed on CPUID at RIP 0x8012: java.lang.IllegalStateException: boom",
                    e.getMessage());
            assertEquals("com.acme.handlers", e.bundle());
            assertSame(CPUID, e.exit());
            assertEquals("boom", e.getCause().getMessage());
        }
    }

    @Test
    public void aHandlerReturningNullIsAFailure() {
        bind("lazy", "HLT", 0, 1, (v, e) -> null);
        try {
            d.dispatch(null, HLT);
            fail();
        } catch (HandlerFailureException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("from bundle lazy failed on HLT at RIP 0x8020: returned null"));
        }
    }

    @Test
    public void reasonPropertyTakesNamesNumbersArraysAndCollections() {
        VmExitHandler h = (v, e) -> ExitAction.HANDLED;
        assertEquals(EnumSet.of(ExitReason.CPUID), reasons(h, "cpuid"));
        assertEquals(EnumSet.of(ExitReason.CPUID), reasons(h, "10"));
        assertEquals(EnumSet.of(ExitReason.HLT), reasons(h, 12));
        assertEquals(EnumSet.of(ExitReason.HLT, ExitReason.IO_INSTRUCTION),
                reasons(h, new String[] {"HLT", "io-instruction"}));
        assertEquals(EnumSet.of(ExitReason.CR_ACCESS, ExitReason.XSETBV), reasons(h, new Integer[] {28, 55}));
        assertEquals(EnumSet.of(ExitReason.XSETBV, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED),
                reasons(h, List.of("XSETBV", 52)));
        assertTrue(log.isEmpty());
    }

    private EnumSet<ExitReason> reasons(VmExitHandler h, Object value) {
        FakeServiceReference<VmExitHandler> ref = new FakeServiceReference<>("forms", value, 0);
        d.bindHandler(ref, h);
        EnumSet<ExitReason> out = EnumSet.noneOf(ExitReason.class);
        out.addAll(d.chains().keySet());
        d.unbindHandler(ref, h);
        return out;
    }

    @Test
    public void badReasonValuesAreReportedAndTheRegistrationIgnored() {
        VmExitHandler h = (v, e) -> ExitAction.HANDLED;
        bind("bad.name", "NOT_A_REASON", 0, 1, h);
        bind("bad.number", 35, 0, 2, h); // 35 is not defined in Table C-1
        bind("bad.type", Boolean.TRUE, 0, 3, h);
        bind("missing", null, 0, 4, h);
        bind("bad.element", new Object[] {"CPUID", 3.5}, 0, 5, h);
        assertTrue(d.chains().isEmpty());
        assertEquals(5, log.size());
        assertTrue(log.get(0), log.get(0).contains("ignoring handler") && log.get(0).contains("bundle bad.name")
                && log.get(0).contains("'NOT_A_REASON' is not a basic exit reason"));
        assertTrue(log.get(1), log.get(1).contains("35 is not a basic exit reason"));
        assertTrue(log.get(2), log.get(2).contains("neither a String nor an Integer"));
        assertTrue(log.get(3), log.get(3).contains("missing"));

        // an update to a bad value drops the earlier good registration
        FakeServiceReference<VmExitHandler> ref = bind("was.good", "CPUID", 0, 6, h);
        assertEquals(1, d.chain(ExitReason.CPUID).size());
        ref.props.put("vmx.exit.reason", "CPUIDX");
        d.updatedHandler(ref, h);
        assertTrue(d.chain(ExitReason.CPUID).isEmpty());
    }

    @Test
    public void observersSeeEveryExitBeforeHandlersAndTheirFailuresDoNotStopIt() {
        List<String> calls = new ArrayList<>();
        long[] seen = new long[1];
        ExitObserver o = (v, e, t) -> {
            calls.add("observer " + e.reason());
            seen[0] = t;
        };
        ExitObserver broken = (v, e, t) -> {
            throw new IllegalStateException("observer bug");
        };
        FakeServiceReference<ExitObserver> ro = new FakeServiceReference<>("obs", null, 0);
        d.bindObserver(ro, o);
        d.bindObserver(new FakeServiceReference<>("obs.broken", null, 0), broken);
        bind("h", "CPUID", 0, 1, recording(calls, "handler", ExitAction.HANDLED));
        long before = System.nanoTime();
        assertNotNull(d.dispatch(null, CPUID));
        assertNull(d.dispatch(null, HLT));
        assertEquals(List.of("observer CPUID", "handler", "observer HLT"), calls);
        assertTrue(seen[0] >= before && seen[0] <= System.nanoTime());
        assertEquals("reported once, not per exit", 1, log.size());
        assertTrue(log.get(0), log.get(0).contains("bundle obs.broken") && log.get(0).contains("observer bug"));
        d.unbindObserver(ro, o);
        calls.clear();
        d.dispatch(null, CPUID);
        assertEquals(List.of("handler"), calls);
    }
}
