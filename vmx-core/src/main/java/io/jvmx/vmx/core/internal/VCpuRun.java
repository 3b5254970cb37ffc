package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.VmxPerCpuState;
import io.jvmx.vmx.core.VmxVcpu;
import io.jvmx.vmx.core.dispatch.ExitDispatcher;
import io.jvmx.vmx.core.dispatch.HandlerRegistration;
import io.jvmx.vmx.core.memory.GuestMemory;
import io.jvmx.vmx.core.runtime.GuestBoot;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuStats;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * One launched vCPU and its platform thread: opens the processor, enables VMX, builds guest memory, sets the vCPU
 * up and runs it until it stops, fails, or is stopped; then tears everything down (always).
 */
final class VCpuRun implements VCpuHandle {
    private static final int REASONS = 80;

    /** A query waiting for the vCPU's next exit. */
    private static final class Inspection {
        final Function<VCpu, ?> query;
        final CompletableFuture<Object> result = new CompletableFuture<>();

        Inspection(Function<VCpu, ?> query) {
            this.query = query;
        }

        void runOn(VCpu vcpu) {
            try {
                result.complete(query.apply(vcpu));
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        }
    }

    private final int id;
    private final LaunchRequest request;
    private final VmxProcessorProvider provider;
    private final ExitDispatcher dispatcher;
    private final Thread thread;
    private final CountDownLatch settled = new CountDownLatch(1);
    private final CompletableFuture<RunOutcome> outcome = new CompletableFuture<>();
    private final ConcurrentLinkedQueue<Inspection> inspections = new ConcurrentLinkedQueue<>();
    /**
     * A kick of ours is outstanding: the next EXTERNAL_INTERRUPT exit is it, not a guest interrupt. While one is
     * outstanding no second kick is sent: kicks are pending requests that coalesce until the guest takes them (the
     * VmxProcessor contract), so one exit answers every request made before it, and a request made after the exit
     * sends a kick of its own.
     */
    private final AtomicBoolean kickOutstanding = new AtomicBoolean();
    private volatile boolean stopRequested;
    private volatile VCpuState state = VCpuState.CREATED;
    private volatile VmxProcessor processor;
    private volatile VmxVcpu vcpu;

    // counters: written only by the vCPU thread; totalExits is written last, so a reader that reads it first sees
    // counts at least as new as that total
    private final long[] exits = new long[REASONS];
    private final List<Map<String, LongAdder>> handledBy = new ArrayList<>(REASONS);
    private volatile long totalExits;
    private volatile long unhandledExits;
    private volatile long instructions = -1;
    private volatile long startNanos;
    private volatile long endNanos;

    VCpuRun(int id, LaunchRequest request, VmxProcessorProvider provider, ExitDispatcher dispatcher) {
        this.id = id;
        this.request = request;
        this.provider = provider;
        this.dispatcher = dispatcher;
        for (int i = 0; i < REASONS; i++) {
            handledBy.add(new ConcurrentHashMap<>());
        }
        this.thread = new Thread(this::body, "vcpu-" + id);
        thread.setDaemon(true);
    }

    /** Starts the thread and waits until the vCPU is READY (or FAILED while being set up). */
    void start() {
        thread.start();
        try {
            settled.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ================================================================== the vCPU thread

    private void body() {
        VmxProcessor p = null;
        VmxPerCpuState perCpu = null;
        boolean vmxOn = false;
        GuestMemory memory = null;
        VmxVcpu v = null;
        RunOutcome result;
        try {
            p = provider.open(request.memoryBytes() + VCpuRuntime.PROCESSOR_OVERHEAD);
            processor = p;
            perCpu = new VmxPerCpuState(p);
            perCpu.hardwareEnable();
            vmxOn = true;
            memory = GuestMemory.allocate(p.memory(), request.memoryBytes());
            GuestBoot boot = request.guestBoot();
            for (GuestBoot.Region r : boot.regions()) {
                memory.load(r.bytes(), r.address());
            }
            v = VmxVcpu.create(perCpu, id, memory, dispatcher, request.console(), request.timeSliceTicks());
            vcpu = v;
            v.setExitFilter(this::isOurKick);
            v.setup(memory.eptPointer(), boot.entry());
            state = VCpuState.READY;
            settled.countDown();
            v.bindToCurrentProcessor();
            v.setState(VCpuState.RUNNING);
            state = VCpuState.RUNNING;
            startNanos = System.nanoTime();
            result = loop(v, p);
        } catch (Throwable t) {
            result = new RunOutcome(VCpuState.FAILED, null, oneLine(t), null, t);
        }
        endNanos = System.nanoTime();
        result = teardown(result, p, perCpu, vmxOn, memory, v);
        if (v != null && v.state() != result.state()) {
            v.setState(result.state());
        }
        state = result.state();
        settled.countDown();
        outcome.complete(result);
        for (Inspection i; (i = inspections.poll()) != null; ) {
            runEnded(i);
        }
    }

    private RunOutcome loop(VmxVcpu v, VmxProcessor p) {
        long max = request.maxExits();
        long n = 0;
        while (true) {
            for (Inspection i; (i = inspections.poll()) != null; ) {
                i.runOn(v);
            }
            if (stopRequested) {
                return new RunOutcome(VCpuState.STOPPED, null, "stopped by request", null, null);
            }
            VmExitInfo unhandled = v.run();
            VmExitInfo exit = v.lastExit();
            int reason = exit.reason().number();
            exits[reason]++;
            HandlerRegistration h = v.lastHandler();
            if (h != null) {
                Map<String, LongAdder> m = handledBy.get(reason);
                LongAdder a = m.get(h.bundle());
                if (a == null) {
                    a = m.computeIfAbsent(h.bundle(), k -> new LongAdder());
                }
                a.increment();
            }
            instructions = p.guestInstructionsRetired();
            totalExits = ++n;
            if (v.isTerminated()) {
                String why = v.terminationReason();
                return new RunOutcome(VCpuState.STOPPED, v.exitCode(), "guest exited with code " + v.exitCode()
                        + (why == null || why.isBlank() ? "" : " (" + why + ")"), null, null);
            }
            if (unhandled != null) {
                unhandledExits++;
                if (unhandled.entryFailure()) {
                    String msg = String.format("VM entry failed: %s at RIP %#x (exit reason field %#x, SDM 27.8)",
                            unhandled.reason(), unhandled.guestRip(), unhandled.exitReasonField());
                    return new RunOutcome(VCpuState.FAILED, null, msg, unhandled, new IllegalStateException(msg));
                }
                return new RunOutcome(VCpuState.STOPPED, null, String.format("unhandled exit %s at RIP %#x",
                        unhandled.reason(), unhandled.guestRip()), unhandled, null);
            }
            if (max > 0 && n >= max) {
                return new RunOutcome(VCpuState.STOPPED, null, "stopped after " + n + " exits (exit limit)", null,
                        null);
            }
        }
    }

    private boolean isOurKick(VmExitInfo exit) {
        return exit.reason() == ExitReason.EXTERNAL_INTERRUPT && kickOutstanding.compareAndSet(true, false);
    }

    /** Unbind, VMXOFF, free and close, whatever happened; a failure here turns a STOPPED outcome into FAILED. */
    private RunOutcome teardown(RunOutcome result, VmxProcessor p, VmxPerCpuState perCpu, boolean vmxOn,
                                GuestMemory memory, VmxVcpu v) {
        Throwable problem = null;
        if (v != null) {
            try {
                if (v.isBound()) {
                    v.freeze(); // keeps the guest state for inspection after the end
                    v.unbindFromCurrentProcessor();
                }
            } catch (Throwable t) {
                problem = t;
            }
            try {
                v.free();
            } catch (Throwable t) {
                problem = problem == null ? t : problem;
            }
        }
        if (memory != null) {
            try {
                memory.free();
            } catch (Throwable t) {
                problem = problem == null ? t : problem;
            }
        }
        if (vmxOn) {
            try {
                perCpu.hardwareDisable();
            } catch (Throwable t) {
                problem = problem == null ? t : problem;
            }
        }
        if (p != null) {
            try {
                p.close();
            } catch (Throwable t) {
                problem = problem == null ? t : problem;
            }
        }
        if (problem == null) {
            return result;
        }
        if (result.failure() != null) {
            result.failure().addSuppressed(problem);
            return result;
        }
        return new RunOutcome(VCpuState.FAILED, result.exitCode(), result.reason() + "; then teardown failed: "
                + oneLine(problem), result.unhandledExit(), problem);
    }

    private static String oneLine(Throwable t) {
        String m = t.getMessage();
        return m == null || m.isBlank() ? t.getClass().getName() : m;
    }

    // ================================================================== VCpuHandle

    @Override
    public int id() {
        return id;
    }

    @Override
    public String name() {
        return request.name();
    }

    @Override
    public String processorKind() {
        return request.processorKind();
    }

    @Override
    public VCpuState state() {
        return state;
    }

    LaunchRequest request() {
        return request;
    }

    boolean hasEnded() {
        return outcome.isDone();
    }

    Optional<RunOutcome> outcomeNow() {
        return Optional.ofNullable(outcome.getNow(null));
    }

    @Override
    public VCpuStats stats() {
        long total = totalExits; // read first: see the counters at least up to this exit
        Map<ExitReason, Long> byReason = new EnumMap<>(ExitReason.class);
        Map<ExitReason, Map<String, Long>> by = new EnumMap<>(ExitReason.class);
        for (ExitReason r : ExitReason.values()) {
            long c = exits[r.number()];
            if (c != 0) {
                byReason.put(r, c);
                Map<String, Long> bundles = new TreeMap<>();
                handledBy.get(r.number()).forEach((b, a) -> bundles.put(b, a.sum()));
                by.put(r, Collections.unmodifiableMap(bundles));
            }
        }
        long start = startNanos;
        long end = hasEnded() ? endNanos : System.nanoTime();
        return new VCpuStats(Collections.unmodifiableMap(byReason), Collections.unmodifiableMap(by), unhandledExits,
                instructions, start == 0 ? 0 : end - start);
    }

    @Override
    public void stop() {
        stopRequested = true;
        kick();
    }

    private void kick() {
        VmxProcessor p = processor;
        // the request (stop flag, inspection) is published before this, so the exit that ends an outstanding kick
        // is followed by a loop pass that sees it
        if (p != null && !hasEnded() && kickOutstanding.compareAndSet(false, true)) {
            p.kick();
        }
    }

    @Override
    public Optional<RunOutcome> awaitOutcome(Duration timeout) throws InterruptedException {
        try {
            return Optional.of(outcome.get(timeout.toNanos(), TimeUnit.NANOSECONDS));
        } catch (TimeoutException e) {
            return Optional.empty();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause()); // never: the outcome is only completed normally
        }
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T inspect(Function<VCpu, T> query, Duration timeout) throws TimeoutException, InterruptedException {
        Inspection i = new Inspection(query);
        if (!hasEnded()) {
            inspections.add(i);
            kick();
            if (hasEnded() && inspections.remove(i)) {
                runEnded(i); // the thread finished before it saw the request
            }
        } else {
            runEnded(i);
        }
        try {
            return (T) i.result.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            inspections.remove(i);
            throw new TimeoutException("vCPU " + id + " did not reach an exit within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                throw re;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        }
    }

    /** After the end: against the guest state captured at teardown. */
    private void runEnded(Inspection i) {
        VmxVcpu v = vcpu;
        if (v == null || !v.isFrozen()) {
            i.result.completeExceptionally(new IllegalStateException(
                    "vCPU " + id + " ended before its guest state could be captured"));
        } else {
            i.runOn(v);
        }
    }

    @Override
    public String toString() {
        return "vcpu " + id + " (" + request.name() + ", " + request.processorKind() + ") " + state;
    }
}
