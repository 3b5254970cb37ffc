package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.ExitObserver;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.core.dispatch.ExitDispatcher;
import io.jvmx.vmx.core.dispatch.HandlerFailureException;
import io.jvmx.vmx.core.dispatch.HandlerRegistration;
import io.jvmx.vmx.core.runtime.HandlerDirectory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The exit whiteboard: tracks {@link VmExitHandler} and {@link ExitObserver} services and delivers each VM exit to
 * them (DESIGN.md, "Contracts").
 *
 * <p>The chains live in one volatile field, an array indexed by basic exit reason whose elements are immutable
 * arrays in chain order. The exit path reads that field once, takes no lock and allocates nothing. A registration
 * change rebuilds the arrays under a lock and publishes them with one volatile write, so a hot swap takes effect at
 * the next exit and an exit is never lost or handled twice.
 *
 * <p>Handler waits: when the chain of a reason is empty but the reason is expected (it has had a handler since this
 * dispatcher started, or it is listed in {@value #EXPECTED_REASONS}), the exit waits up to
 * {@value #HANDLER_WAIT_MILLIS} ms (default 2000) for a handler to appear: a bundle being updated unregisters its
 * handler and registers the new one a moment later, and the exit in between must not be lost.
 */
@Component(name = "io.jvmx.vmx.core.dispatcher", immediate = true,
        service = {ExitDispatcher.class, HandlerDirectory.class}, configurationPid = "io.jvmx.vmx.core.dispatcher")
public final class WhiteboardExitDispatcher implements ExitDispatcher, HandlerDirectory {

    /** Configuration or framework property: how long an exit of an expected reason waits for a handler. */
    public static final String HANDLER_WAIT_MILLIS = "jvmx.dispatch.handlerWaitMillis";
    /** Configuration or framework property: reasons that always wait for a handler (names or numbers, comma list). */
    public static final String EXPECTED_REASONS = "jvmx.dispatch.expectedReasons";
    public static final long DEFAULT_HANDLER_WAIT_MILLIS = 2000;

    private static final int REASONS = 80; // basic exit reasons 0..79 (SDM Vol. 3D, Table C-1)
    private static final HandlerRegistration[] NO_HANDLERS = new HandlerRegistration[0];
    private static final ObserverEntry[] NO_OBSERVERS = new ObserverEntry[0];

    /** One observer service. */
    private record ObserverEntry(ExitObserver observer, String bundle, long serviceId, int ranking,
                                 AtomicLong failures) {
    }

    private final Object lock = new Object();
    // ---- guarded by lock ----
    private final Map<Object, HandlerRegistration> handlers = new HashMap<>(); // key: ServiceReference (equal per registration) or a token
    private final Map<Object, ObserverEntry> observerMap = new HashMap<>();
    private final boolean[] everHadHandler = new boolean[REASONS];
    // ---- published ----
    private volatile HandlerRegistration[][] chains = emptyChains();
    private volatile ObserverEntry[] observers = NO_OBSERVERS;
    private volatile boolean[] expected = new boolean[REASONS];
    private volatile boolean[] configuredExpected = new boolean[REASONS];
    private volatile long handlerWaitMillis = DEFAULT_HANDLER_WAIT_MILLIS;
    private volatile Consumer<String> log = msg -> System.err.println("[io.jvmx.vmx.core.dispatcher] " + msg);
    private final AtomicLong handlerWaits = new AtomicLong();

    public WhiteboardExitDispatcher() {
    }

    private static HandlerRegistration[][] emptyChains() {
        HandlerRegistration[][] c = new HandlerRegistration[REASONS][];
        Arrays.fill(c, NO_HANDLERS);
        return c;
    }

    // ------------------------------------------------------------------ configuration

    private volatile BundleContext context;

    @Activate
    void activate(BundleContext context, Map<String, Object> config) {
        this.context = context;
        modified(config);
    }

    @Modified
    void modified(Map<String, Object> config) {
        Map<String, Object> merged = new LinkedHashMap<>();
        for (String key : List.of(HANDLER_WAIT_MILLIS, EXPECTED_REASONS)) {
            Object v = config == null ? null : config.get(key);
            if (v == null && context != null) {
                v = context.getProperty(key);
            }
            if (v != null) {
                merged.put(key, v);
            }
        }
        configure(merged);
    }

    /** Applies {@value #HANDLER_WAIT_MILLIS} and {@value #EXPECTED_REASONS}; unusable values are reported and ignored. */
    public void configure(Map<String, ?> config) {
        long wait = DEFAULT_HANDLER_WAIT_MILLIS;
        Object w = config.get(HANDLER_WAIT_MILLIS);
        if (w != null) {
            try {
                wait = w instanceof Number n ? n.longValue() : Long.parseLong(w.toString().trim());
                if (wait < 0) {
                    throw new NumberFormatException("negative");
                }
            } catch (NumberFormatException e) {
                log.accept(HANDLER_WAIT_MILLIS + " = '" + w + "' is not a number of milliseconds >= 0; using "
                        + DEFAULT_HANDLER_WAIT_MILLIS);
                wait = DEFAULT_HANDLER_WAIT_MILLIS;
            }
        }
        boolean[] conf = new boolean[REASONS];
        Object e = config.get(EXPECTED_REASONS);
        if (e != null) {
            Object value = e instanceof String s ? s.split(",") : e;
            try {
                for (ExitReason r : parseReasons(value)) {
                    conf[r.number()] = true;
                }
            } catch (IllegalArgumentException bad) {
                log.accept(EXPECTED_REASONS + " ignored: " + bad.getMessage());
            }
        }
        synchronized (lock) {
            handlerWaitMillis = wait;
            configuredExpected = conf;
            publishExpected();
        }
    }

    /** Where problems (bad registrations, failing observers) are reported; System.err by default. */
    public void setLog(Consumer<String> log) {
        this.log = log;
    }

    public long handlerWaitMillis() {
        return handlerWaitMillis;
    }

    /** How many exits had to wait for a handler of an expected reason. */
    public long handlerWaits() {
        return handlerWaits.get();
    }

    // ------------------------------------------------------------------ handler services

    @Reference(name = "handler", service = VmExitHandler.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindHandler", updated = "updatedHandler")
    public void bindHandler(ServiceReference<VmExitHandler> ref, VmExitHandler handler) {
        addHandler(ref, handler, propertiesOf(ref), bundleOf(ref));
    }

    public void updatedHandler(ServiceReference<VmExitHandler> ref, VmExitHandler handler) {
        addHandler(ref, handler, propertiesOf(ref), bundleOf(ref)); // replaces the entry under the same key
    }

    public void unbindHandler(ServiceReference<VmExitHandler> ref, VmExitHandler handler) {
        removeHandler(ref);
    }

    /**
     * Adds (or replaces, for the same {@code key}) a handler registration without OSGi: {@code properties} holds
     * {@value VmExitHandler#EXIT_REASON}, {@code service.id} and {@code service.ranking}. A registration with an
     * unusable reason property is reported and ignored (any earlier registration under the key is removed).
     *
     * @return the registration, or null if it was ignored
     */
    public HandlerRegistration addHandler(Object key, VmExitHandler handler, Map<String, ?> properties,
                                          String bundle) {
        Set<ExitReason> reasons;
        try {
            reasons = parseReasons(properties.get(VmExitHandler.EXIT_REASON));
            if (reasons.isEmpty()) {
                throw new IllegalArgumentException("no exit reason given");
            }
        } catch (IllegalArgumentException bad) {
            log.accept(String.format("ignoring handler %s from bundle %s (service.id %s): bad %s property %s: %s",
                    handler.getClass().getName(), bundle, properties.get(Constants.SERVICE_ID),
                    VmExitHandler.EXIT_REASON, describe(properties.get(VmExitHandler.EXIT_REASON)),
                    bad.getMessage()));
            removeHandler(key);
            return null;
        }
        HandlerRegistration reg = new HandlerRegistration(handler, reasons, bundle,
                longProperty(properties.get(Constants.SERVICE_ID)), ranking(properties.get(Constants.SERVICE_RANKING)));
        synchronized (lock) {
            HandlerRegistration old = handlers.put(key, reg);
            if (old != null) {
                reg.inheritCount(old); // a property update of the same service keeps its count
            }
            for (ExitReason r : reasons) {
                everHadHandler[r.number()] = true;
            }
            rebuild();
        }
        return reg;
    }

    public void removeHandler(Object key) {
        synchronized (lock) {
            if (handlers.remove(key) != null) {
                rebuild();
            }
        }
    }

    // ------------------------------------------------------------------ observer services

    @Reference(name = "observer", service = ExitObserver.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindObserver", updated = "updatedObserver")
    public void bindObserver(ServiceReference<ExitObserver> ref, ExitObserver observer) {
        addObserver(ref, observer, propertiesOf(ref), bundleOf(ref));
    }

    public void updatedObserver(ServiceReference<ExitObserver> ref, ExitObserver observer) {
        addObserver(ref, observer, propertiesOf(ref), bundleOf(ref));
    }

    public void unbindObserver(ServiceReference<ExitObserver> ref, ExitObserver observer) {
        removeObserver(ref);
    }

    public void addObserver(Object key, ExitObserver observer, Map<String, ?> properties, String bundle) {
        synchronized (lock) {
            observerMap.put(key, new ObserverEntry(observer, bundle, longProperty(properties.get(Constants.SERVICE_ID)),
                    ranking(properties.get(Constants.SERVICE_RANKING)), new AtomicLong()));
            publishObservers();
        }
    }

    public void removeObserver(Object key) {
        synchronized (lock) {
            if (observerMap.remove(key) != null) {
                publishObservers();
            }
        }
    }

    private void publishObservers() {
        ObserverEntry[] arr = observerMap.values().toArray(new ObserverEntry[0]);
        Arrays.sort(arr, (a, b) -> a.ranking() != b.ranking() ? Integer.compare(b.ranking(), a.ranking())
                : Long.compare(a.serviceId(), b.serviceId()));
        observers = arr;
    }

    // ------------------------------------------------------------------ the exit path

    @Override
    public HandlerRegistration dispatch(VCpu vcpu, VmExitInfo exit) {
        ObserverEntry[] obs = observers;
        long now = obs.length == 0 ? 0 : System.nanoTime(); // the time is for observers only: none, no clock read
        for (ObserverEntry o : obs) {
            try {
                o.observer().onExit(vcpu, exit, now);
            } catch (Throwable t) {
                observerFailed(o, exit, t);
            }
        }
        return runChain(vcpu, exit, true);
    }

    @Override
    public HandlerRegistration consult(VCpu vcpu, VmExitInfo exit) {
        return runChain(vcpu, exit, false);
    }

    /** The chain of the exit's reason until a handler returns HANDLED; {@code count}: a real exit, counted. */
    private HandlerRegistration runChain(VCpu vcpu, VmExitInfo exit, boolean count) {
        int reason = exit.reason().number();
        HandlerRegistration[] chain = chains[reason];
        if (chain.length == 0 && expected[reason]) {
            chain = awaitHandler(reason);
        }
        for (HandlerRegistration h : chain) {
            ExitAction action;
            try {
                action = h.handler().handle(vcpu, exit);
            } catch (Throwable t) {
                throw new HandlerFailureException(h.bundle(), h.handlerClass(), exit, String.valueOf(t), t);
            }
            if (action == ExitAction.HANDLED) {
                if (count) {
                    h.countHandled();
                }
                return h;
            }
            if (action == null) {
                throw new HandlerFailureException(h.bundle(), h.handlerClass(), exit,
                        "returned null instead of HANDLED or PASS", null);
            }
        }
        return null;
    }

    private HandlerRegistration[] awaitHandler(int reason) {
        handlerWaits.incrementAndGet();
        long deadline = System.nanoTime() + handlerWaitMillis * 1_000_000L;
        synchronized (lock) {
            while (true) {
                HandlerRegistration[] chain = chains[reason];
                long left = deadline - System.nanoTime();
                if (chain.length > 0 || left <= 0) {
                    return chain;
                }
                try {
                    lock.wait(Math.max(1, left / 1_000_000L));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt(); // a stopping vCPU: give up waiting, keep the flag
                    return chains[reason];
                }
            }
        }
    }

    private void observerFailed(ObserverEntry o, VmExitInfo exit, Throwable t) {
        long n = o.failures().incrementAndGet();
        if (n == 1 || n % 10_000 == 0) {
            log.accept(String.format("observer %s from bundle %s failed on %s (%d failure%s so far): %s",
                    o.observer().getClass().getName(), o.bundle(), exit, n, n == 1 ? "" : "s", t));
        }
    }

    // ------------------------------------------------------------------ publication

    private void rebuild() {
        List<List<HandlerRegistration>> lists = new ArrayList<>(REASONS);
        for (int i = 0; i < REASONS; i++) {
            lists.add(new ArrayList<>());
        }
        for (HandlerRegistration h : handlers.values()) {
            for (ExitReason r : h.reasons()) {
                lists.get(r.number()).add(h);
            }
        }
        HandlerRegistration[][] next = new HandlerRegistration[REASONS][];
        for (int i = 0; i < REASONS; i++) {
            List<HandlerRegistration> l = lists.get(i);
            if (l.isEmpty()) {
                next[i] = NO_HANDLERS;
            } else {
                HandlerRegistration[] a = l.toArray(new HandlerRegistration[0]);
                Arrays.sort(a, HandlerRegistration::chainOrder);
                next[i] = a;
            }
        }
        chains = next;
        publishExpected();
        lock.notifyAll();
    }

    private void publishExpected() {
        boolean[] e = new boolean[REASONS];
        boolean[] conf = configuredExpected;
        for (int i = 0; i < REASONS; i++) {
            e[i] = everHadHandler[i] || conf[i];
        }
        expected = e;
    }

    // ------------------------------------------------------------------ HandlerDirectory

    @Override
    public Map<ExitReason, List<Entry>> chains() {
        HandlerRegistration[][] c = chains;
        Map<ExitReason, List<Entry>> out = new EnumMap<>(ExitReason.class);
        for (ExitReason r : ExitReason.values()) {
            if (c[r.number()].length > 0) {
                out.put(r, entries(r, c[r.number()]));
            }
        }
        return Collections.unmodifiableMap(out);
    }

    @Override
    public List<Entry> chain(ExitReason reason) {
        return entries(reason, chains[reason.number()]);
    }

    private static List<Entry> entries(ExitReason r, HandlerRegistration[] chain) {
        List<Entry> l = new ArrayList<>(chain.length);
        for (HandlerRegistration h : chain) {
            l.add(new Entry(r, h.bundle(), h.serviceId(), h.ranking(), h.handlerClass(), h.handledCount()));
        }
        return Collections.unmodifiableList(l);
    }

    /** The registrations of one reason in chain order (with their counts). */
    public List<HandlerRegistration> registrations(ExitReason reason) {
        return List.of(chains[reason.number()]);
    }

    /** Whether an empty chain of this reason makes the exit wait for a handler. */
    public boolean isExpected(ExitReason reason) {
        return expected[reason.number()];
    }

    // ------------------------------------------------------------------ properties

    /**
     * The reasons of a {@value VmExitHandler#EXIT_REASON} value: a String (SDM name or number), String[], Integer,
     * Integer[]/int[], or a Collection of those.
     *
     * @throws IllegalArgumentException naming the element that is not a basic exit reason
     */
    public static Set<ExitReason> parseReasons(Object value) {
        Set<ExitReason> out = EnumSet.noneOf(ExitReason.class);
        if (value == null) {
            throw new IllegalArgumentException("missing");
        }
        if (value instanceof Collection<?> c) {
            for (Object o : c) {
                out.add(parseOne(o));
            }
        } else if (value instanceof Object[] a) {
            for (Object o : a) {
                out.add(parseOne(o));
            }
        } else if (value instanceof int[] a) {
            for (int o : a) {
                out.add(parseOne(o));
            }
        } else {
            out.add(parseOne(value));
        }
        return out;
    }

    private static ExitReason parseOne(Object o) {
        if (o instanceof Integer || o instanceof Long || o instanceof Short || o instanceof Byte) {
            long n = ((Number) o).longValue();
            return ExitReason.of((int) n).filter(r -> r.number() == n).orElseThrow(
                    () -> new IllegalArgumentException(n + " is not a basic exit reason (SDM Vol. 3D, Table C-1)"));
        }
        if (o instanceof String s) {
            return ExitReason.parse(s).orElseThrow(() -> new IllegalArgumentException(
                    "'" + s + "' is not a basic exit reason name or number (SDM Vol. 3D, Table C-1)"));
        }
        throw new IllegalArgumentException("an element of type " + (o == null ? "null" : o.getClass().getName())
                + " is neither a String nor an Integer");
    }

    private static String describe(Object v) {
        if (v instanceof Object[] a) {
            return Arrays.toString(a);
        }
        if (v instanceof int[] a) {
            return Arrays.toString(a);
        }
        return v instanceof String ? "'" + v + "'" : String.valueOf(v);
    }

    private static int ranking(Object v) {
        return v instanceof Integer i ? i : 0; // OSGi: a non-Integer service.ranking counts as 0
    }

    private static long longProperty(Object v) {
        return v instanceof Number n ? n.longValue() : -1;
    }

    private static Map<String, Object> propertiesOf(ServiceReference<?> ref) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (String k : ref.getPropertyKeys()) {
            m.put(k, ref.getProperty(k));
        }
        return m;
    }

    private static String bundleOf(ServiceReference<?> ref) {
        Bundle b = ref.getBundle();
        String bsn = b == null ? null : b.getSymbolicName();
        return bsn == null ? "(unregistered)" : bsn;
    }
}
