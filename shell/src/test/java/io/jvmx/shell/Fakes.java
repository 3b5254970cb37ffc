package io.jvmx.shell;

import io.jvmx.guests.GuestCatalog;
import io.jvmx.guests.GuestImage;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.core.runtime.HandlerDirectory;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import io.jvmx.vmx.core.runtime.VCpuStats;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

/** Hand-written stand-ins for the runtime services, so the commands can be tested without a framework. */
final class Fakes {
    private Fakes() {
    }

    static final class Catalog implements GuestCatalog {
        final List<GuestImage> images = new ArrayList<>();

        Catalog add(String name, byte[] bytes) {
            images.add(new GuestImage(name, name + " image", bytes, 0x8000, 0x8000));
            return this;
        }

        @Override
        public List<GuestImage> images() {
            return images;
        }

        @Override
        public Optional<GuestImage> find(String name) {
            return images.stream().filter(i -> i.name().equals(name)).findFirst();
        }
    }

    static final class Directory implements HandlerDirectory {
        final Map<ExitReason, List<Entry>> chains = new EnumMap<>(ExitReason.class);

        @Override
        public Map<ExitReason, List<Entry>> chains() {
            return chains;
        }

        @Override
        public List<Entry> chain(ExitReason reason) {
            return chains.getOrDefault(reason, List.of());
        }
    }

    /** A vCPU whose life the test scripts: it ends when the test completes {@link #outcome}. */
    static final class Handle implements VCpuHandle {
        final int id;
        final LaunchRequest request;
        final CompletableFuture<RunOutcome> outcome = new CompletableFuture<>();
        volatile VCpuStats stats = new VCpuStats(Map.of(), Map.of(), 0, 0, 0);
        volatile boolean stopRequested;
        volatile VCpu vcpu;

        Handle(int id, LaunchRequest request) {
            this.id = id;
            this.request = request;
        }

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
            return outcome.isDone() ? outcome.join().state() : VCpuState.RUNNING;
        }

        @Override
        public VCpuStats stats() {
            return stats;
        }

        @Override
        public void stop() {
            stopRequested = true;
            outcome.complete(new RunOutcome(VCpuState.STOPPED, null, "stopped by request", null, null));
        }

        @Override
        public Optional<RunOutcome> awaitOutcome(Duration timeout) throws InterruptedException {
            try {
                return Optional.of(outcome.get(Math.max(0, timeout.toNanos()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                return Optional.empty();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public <T> T inspect(Function<VCpu, T> query, Duration timeout) throws TimeoutException {
            if (vcpu == null) {
                throw new TimeoutException("no exit");
            }
            return query.apply(vcpu);
        }
    }

    static final class Manager implements VCpuManager {
        final List<Handle> handles = new ArrayList<>();
        /** What a launched vCPU does (on its own thread); null: it just runs until stopped. */
        volatile java.util.function.Consumer<Handle> guest;

        @Override
        public synchronized VCpuHandle launch(LaunchRequest request) {
            if (!request.processorKind().equals("software")) {
                throw new IllegalArgumentException("no VMX processor of kind '" + request.processorKind() + "'");
            }
            Handle h = new Handle(handles.size() + 1, request);
            handles.add(h);
            if (guest != null) {
                Thread t = new Thread(() -> guest.accept(h), "fake vCPU " + h.id);
                t.setDaemon(true);
                t.start();
            }
            return h;
        }

        @Override
        public synchronized List<VCpuHandle> list() {
            return List.copyOf(handles);
        }

        @Override
        public synchronized Optional<VCpuHandle> get(int id) {
            return handles.stream().filter(h -> h.id == id).map(h -> (VCpuHandle) h).findFirst();
        }

        @Override
        public Map<String, String> processorKinds() {
            Map<String, String> kinds = new java.util.HashMap<>();
            kinds.put("software", null); // available
            return kinds;
        }

        @Override
        public void prune() {
            handles.removeIf(h -> h.outcome.isDone());
        }
    }

    /** A VCpu that answers register reads from a table (GPR i = 0x100 + i; VMCS field = its encoding). */
    static VCpu registerFile() {
        return (VCpu) Proxy.newProxyInstance(Fakes.class.getClassLoader(), new Class<?>[]{VCpu.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "readGpr" -> 0x100L + (Integer) args[0];
                    case "rip" -> 0x8010L;
                    case "guestCr" -> 0xC0L + (Integer) args[0];
                    case "vmread" -> {
                        VmcsField f = (VmcsField) args[0];
                        if (f.type() == io.jvmx.vmx.api.vmcs.VmcsFieldType.HOST_STATE) {
                            throw new IllegalStateException("VMREAD: unsupported component " + f);
                        }
                        yield (long) f.encoding();
                    }
                    case "toString" -> "fake vCPU";
                    default -> throw new UnsupportedOperationException(method.getName());
                });
    }
}
