package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.dispatch.ExitDispatcher;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The vCPU runtime: launches vCPUs on processors of the registered kinds, each on its own platform thread
 * ("vcpu-N"), and keeps track of them.
 *
 * <p>Processor providers are tracked by their {@value VmxProcessorProvider#KIND} service property (or, without it,
 * by what {@link VmxProcessorProvider#kind()} says); when two providers offer one kind, the first registered is used.
 */
@Component(name = "io.jvmx.vmx.core.runtime", service = VCpuManager.class, immediate = true)
public final class VCpuRuntime implements VCpuManager {
    /** Host-physical memory a processor gets on top of the guest's RAM: VMXON region, VMCS, bitmaps, EPT. */
    public static final long PROCESSOR_OVERHEAD = 8L << 20;

    private final Map<VmxProcessorProvider, String> providers = Collections.synchronizedMap(new IdentityHashMap<>());
    private final ConcurrentSkipListMap<Integer, VCpuRun> vcpus = new ConcurrentSkipListMap<>();
    private final AtomicInteger nextId = new AtomicInteger();

    @Reference(name = "dispatcher")
    private volatile ExitDispatcher dispatcher;

    /** For DS. */
    public VCpuRuntime() {
    }

    /** Without OSGi (tests, embedding). */
    public VCpuRuntime(ExitDispatcher dispatcher) {
        this.dispatcher = dispatcher;
    }

    @Reference(name = "provider", service = VmxProcessorProvider.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, unbind = "removeProvider")
    public void addProvider(VmxProcessorProvider provider, Map<String, Object> properties) {
        Object kind = properties == null ? null : properties.get(VmxProcessorProvider.KIND);
        providers.put(provider, kind instanceof String s && !s.isBlank() ? s : provider.kind());
    }

    public void removeProvider(VmxProcessorProvider provider, Map<String, Object> properties) {
        providers.remove(provider);
    }

    @Deactivate
    void deactivate() throws InterruptedException {
        for (VCpuRun r : vcpus.values()) {
            r.stop();
        }
        for (VCpuRun r : vcpus.values()) {
            r.awaitOutcome(Duration.ofSeconds(5));
        }
    }

    @Override
    public VCpuHandle launch(LaunchRequest request) {
        ExitDispatcher d = dispatcher;
        if (d == null) {
            throw new IllegalStateException("the exit dispatcher is not available");
        }
        VmxProcessorProvider provider = provider(request.processorKind());
        String why;
        try {
            why = provider.unavailableReason();
        } catch (RuntimeException e) {
            why = String.valueOf(e.getMessage());
        }
        if (why != null) {
            throw new IllegalArgumentException("processor kind '" + request.processorKind() + "' is unavailable: " + why);
        }
        VCpuRun run = new VCpuRun(nextId.getAndIncrement(), request, provider, d);
        vcpus.put(run.id(), run);
        run.start();
        return run;
    }

    private VmxProcessorProvider provider(String kind) {
        List<String> known = new ArrayList<>();
        synchronized (providers) {
            for (Map.Entry<VmxProcessorProvider, String> e : providers.entrySet()) {
                if (e.getValue().equals(kind)) {
                    return e.getKey();
                }
                known.add(e.getValue());
            }
        }
        Collections.sort(known);
        throw new IllegalArgumentException("unknown processor kind '" + kind + "' (registered: "
                + (known.isEmpty() ? "none" : String.join(", ", known)) + ")");
    }

    @Override
    public List<VCpuHandle> list() {
        return List.copyOf(vcpus.values());
    }

    @Override
    public Optional<VCpuHandle> get(int id) {
        return Optional.ofNullable(vcpus.get(id));
    }

    @Override
    public Map<String, String> processorKinds() {
        Map<String, String> out = new TreeMap<>();
        synchronized (providers) {
            for (Map.Entry<VmxProcessorProvider, String> e : providers.entrySet()) {
                String why;
                try {
                    why = e.getKey().unavailableReason();
                } catch (RuntimeException ex) {
                    why = String.valueOf(ex.getMessage());
                }
                out.putIfAbsent(e.getValue(), why);
            }
        }
        return Collections.unmodifiableMap(out);
    }

    @Override
    public void prune() {
        vcpus.values().removeIf(VCpuRun::hasEnded);
    }

    /** The outcome of every vCPU that has ended (for tests and the shell). */
    List<RunOutcome> outcomes() {
        List<RunOutcome> l = new ArrayList<>();
        for (VCpuRun r : vcpus.values()) {
            r.outcomeNow().ifPresent(l::add);
        }
        return l;
    }
}
