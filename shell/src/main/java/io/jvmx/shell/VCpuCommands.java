package io.jvmx.shell;

import io.jvmx.guests.GuestCatalog;
import io.jvmx.guests.GuestImage;
import io.jvmx.linux.boot.KernelImageException;
import io.jvmx.linux.boot.LinuxLoader;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.core.runtime.HandlerDirectory;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import io.jvmx.vmx.core.runtime.VCpuStats;
import io.jvmx.vmx.vmcs.VmcsDump;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The {@code vcpu:*} Gogo commands. Every command prints for people and returns an Integer status, so that the
 * batch launcher ({@code jvmx vcpu:run}) exits with it: 0 = done, 1 = the operation failed, 2 = bad input (one
 * line on the error stream, never a stack trace); {@code vcpu:run} returns the guest's exit code.
 */
@Component(service = Object.class, property = {
        "osgi.command.scope=vcpu",
        "osgi.command.function=run",
        "osgi.command.function=list",
        "osgi.command.function=regs",
        "osgi.command.function=vmcs",
        "osgi.command.function=stats",
        "osgi.command.function=stop",
        "osgi.command.function=handlers"})
public final class VCpuCommands {

    static final int OK = 0;
    static final int FAILED = 1;
    static final int BAD_INPUT = 2;

    /** How long vcpu:regs/vmcs wait for the vCPU to reach an exit, and vcpu:stop for it to end. */
    static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(5);
    /** How often a foreground vcpu:run copies the guest's output to the session. */
    private static final Duration POLL = Duration.ofMillis(20);

    private final VCpuManager manager;
    private final HandlerDirectory handlers;
    private final GuestCatalog guests;

    /** The processor kinds, for what their vCPUs cannot reach (vcpu:handlers). They come and go with bundles. */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile List<VmxProcessorProvider> providers = List.of();

    @Activate
    public VCpuCommands(@Reference VCpuManager manager, @Reference HandlerDirectory handlers,
                        @Reference GuestCatalog guests) {
        this.manager = manager;
        this.handlers = handlers;
        this.guests = guests;
    }

    // ---- Gogo entry points: thin, so that the logic below can be tested with any streams ----

    @Descriptor("run a guest image on a new vCPU: vcpu:run [image|file] [--processor kind] [--memory MiB] "
            + "[--slice ticks] [--timeout s] [--load hex] [--entry hex] [--background]; no image: the demo")
    public Object run(CommandSession session, @Descriptor("image and options (vcpu:run --help)") String... args) {
        OutputStream background = session != null ? session.getConsole() : System.out;
        Path cwd = session != null ? session.currentDir() : null;
        return CommandStatus.of(session, run(System.out, System.err, background, cwd, args));
    }

    @Descriptor("list the vCPUs")
    public Object list(CommandSession session, String... args) {
        return CommandStatus.of(session, list(System.out, System.err, args));
    }

    @Descriptor("show a vCPU's registers: vcpu:regs <id>")
    public Object regs(CommandSession session, @Descriptor("vCPU id") String... args) {
        return CommandStatus.of(session, regs(System.out, System.err, args));
    }

    @Descriptor("show a vCPU's VMCS grouped by field type, or one field by its SDM name: vcpu:vmcs <id> [FIELD]")
    public Object vmcs(CommandSession session, @Descriptor("vCPU id [FIELD]") String... args) {
        return CommandStatus.of(session, vmcs(System.out, System.err, args));
    }

    @Descriptor("show a vCPU's exit counters: vcpu:stats <id>")
    public Object stats(CommandSession session, @Descriptor("vCPU id") String... args) {
        return CommandStatus.of(session, stats(System.out, System.err, args));
    }

    @Descriptor("stop a running vCPU: vcpu:stop <id>")
    public Object stop(CommandSession session, @Descriptor("vCPU id") String... args) {
        return CommandStatus.of(session, stop(System.out, System.err, args));
    }

    @Descriptor("show the VM-exit handler chain of each exit reason (highest ranking first)")
    public Object handlers(CommandSession session, String... args) {
        return CommandStatus.of(session, handlers(System.out, System.err, args));
    }

    // ---- vcpu:run ----

    int run(PrintStream out, PrintStream err, OutputStream backgroundConsole, Path cwd, String... args) {
        ConsoleRelay relay = new ConsoleRelay();
        RunOptions opts;
        VCpuHandle handle;
        try {
            opts = RunOptions.parse(args);
            if (opts.help()) {
                out.println(RunOptions.USAGE);
                out.println("images: " + imageNames());
                return OK;
            }
            OutputStream console = opts.background() ? new FlushingStream(backgroundConsole) : relay;
            LaunchRequest request;
            if (opts.kernel() != null) {
                LinuxLoader.LoadedKernel kernel = loadKernel(opts, cwd);
                out.println("vcpu:run: " + kernel.describe());
                request = LaunchRequest.of(Path.of(opts.kernel()).getFileName().toString(), kernel.boot(),
                        opts.memoryMiB() << 20, console).withProcessor(opts.processor())
                        .withTimeSlice(opts.sliceTicks());
            } else {
                request = request(opts, cwd, console);
            }
            // the manager says what is wrong with a request in one line: unknown or unavailable processor,
            // an image that does not fit, an entry point out of real-mode reach
            handle = manager.launch(request);
        } catch (UsageException | IllegalArgumentException | IllegalStateException e) {
            err.println("vcpu:run: " + Reports.describe(e));
            return BAD_INPUT;
        }
        if (opts.background()) {
            out.printf("vCPU %d running %s on %s in the background (vcpu:stats %d, vcpu:stop %d)%n", handle.id(),
                    handle.name(), handle.processorKind(), handle.id(), handle.id());
            return handle.id();
        }
        return followToEnd(out, err, handle, relay, opts.timeoutSeconds());
    }

    /** Copies the guest's output until the vCPU ends (or the timeout / an interrupt stops it), then summarises. */
    private int followToEnd(PrintStream out, PrintStream err, VCpuHandle handle, ConsoleRelay relay,
                            long timeoutSeconds) {
        long deadline = timeoutSeconds > 0 ? System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds) : Long.MAX_VALUE;
        String stopNote = null;
        boolean interrupted = false;
        Optional<RunOutcome> outcome = Optional.empty();
        try {
            while (outcome.isEmpty()) {
                try {
                    outcome = handle.awaitOutcome(POLL);
                } catch (InterruptedException e) {
                    // Ctrl-C in the shell interrupts the command: stop the guest and report what it did
                    interrupted = true;
                    stopNote = "interrupted: stopping vCPU " + handle.id();
                    handle.stop();
                    break;
                }
                relay.drainTo(out);
                if (outcome.isEmpty() && stopNote == null && timeoutSeconds > 0 && System.nanoTime() - deadline > 0) {
                    stopNote = "timed out after " + timeoutSeconds + " s: stopping vCPU " + handle.id();
                    handle.stop();
                }
            }
            if (outcome.isEmpty()) {
                outcome = awaitUninterruptibly(handle, ANSWER_TIMEOUT.multipliedBy(2));
            }
            relay.drainTo(out);
        } catch (IOException e) {
            err.println("vcpu:run: cannot write the guest's output: " + Reports.describe(e));
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (!relay.atLineStart()) {
            out.println();
        }
        if (stopNote != null) {
            out.println("vcpu:run: " + stopNote);
        }
        if (outcome.isEmpty()) {
            err.printf("vcpu:run: vCPU %d did not stop within %d s (see vcpu:list)%n", handle.id(),
                    ANSWER_TIMEOUT.multipliedBy(2).toSeconds());
            return FAILED;
        }
        for (String line : Reports.summary(handle.id(), handle.name(), handle.processorKind(), outcome.get(),
                handle.stats())) {
            out.println(line);
        }
        for (VmxProcessorProvider p : providers) {
            if (p.kind().equals(handle.processorKind())) {
                String note = Reports.undeliverable(p.kind(), p.deliverableExits(), handlers.chains().keySet());
                if (note != null) {
                    out.println(note);
                }
            }
        }
        out.flush();
        return Reports.exitStatus(outcome.get());
    }

    private static Optional<RunOutcome> awaitUninterruptibly(VCpuHandle handle, Duration timeout) {
        boolean interrupted = Thread.interrupted();
        try {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                try {
                    return handle.awaitOutcome(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Reads the kernel and initrd and lays them out through the boot protocol; what is wrong is one line. */
    LinuxLoader.LoadedKernel loadKernel(RunOptions opts, Path cwd) {
        byte[] kernel = readFile("--kernel", opts.kernel(), cwd);
        byte[] initrd = opts.initrd() == null ? null : readFile("--initrd", opts.initrd(), cwd);
        try {
            return LinuxLoader.load(kernel, initrd, opts.append(), opts.memoryMiB() << 20);
        } catch (KernelImageException e) {
            throw new UsageException(opts.kernel() + ": " + e.getMessage());
        }
    }

    private static byte[] readFile(String option, String name, Path cwd) {
        Path file;
        try {
            file = cwd != null ? cwd.resolve(name) : Path.of(name);
        } catch (InvalidPathException e) {
            throw new UsageException(option + ": not a file name: '" + name + "'");
        }
        if (!Files.isRegularFile(file)) {
            throw new UsageException(option + ": no file '" + name + "'");
        }
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UsageException(option + ": cannot read '" + name + "': " + Reports.describe(e));
        }
    }

    /** Resolves the image (catalog name or file) and builds the launch request. */
    LaunchRequest request(RunOptions opts, Path cwd, OutputStream console) {
        String name = opts.image() != null ? opts.image() : GuestCatalog.DEMO;
        Optional<GuestImage> fromCatalog = guests.find(name);
        byte[] bytes;
        long load;
        long entry;
        if (fromCatalog.isPresent()) {
            if (opts.load().isPresent() || opts.entry().isPresent()) {
                throw new UsageException("--load and --entry are for file images; '" + name
                        + "' is a catalog image with its own addresses");
            }
            GuestImage image = fromCatalog.get();
            bytes = image.bytes();
            load = image.loadAddress();
            entry = image.entry();
        } else {
            Path file = file(name, cwd);
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new UsageException("cannot read '" + name + "': " + Reports.describe(e));
            }
            if (bytes.length == 0) {
                throw new UsageException("'" + name + "' is empty");
            }
            load = opts.load().orElse(RunOptions.DEFAULT_LOAD);
            entry = opts.entry().orElse(load);
        }
        return new LaunchRequest(name, bytes, load, entry, opts.memoryMiB() << 20, opts.processor(), console,
                opts.sliceTicks(), 0);
    }

    private Path file(String name, Path cwd) {
        Path file;
        try {
            file = cwd != null ? cwd.resolve(name) : Path.of(name);
        } catch (InvalidPathException e) {
            file = null;
        }
        if (file == null || !Files.isRegularFile(file)) {
            throw new UsageException("no guest image '" + name + "' (known: " + imageNames()
                    + "; or give a file path)");
        }
        return file;
    }

    private String imageNames() {
        return guests.images().stream().map(GuestImage::name).collect(Collectors.joining(", "));
    }

    // ---- vcpu:list ----

    int list(PrintStream out, PrintStream err, String... args) {
        if (args != null && args.length > 0) {
            err.println("vcpu:list: takes no arguments");
            return BAD_INPUT;
        }
        List<VCpuHandle> all = manager.list();
        if (all.isEmpty()) {
            out.println("no vCPUs (start one with vcpu:run)");
            return OK;
        }
        out.printf("%4s  %-16s %-10s %-8s %10s %16s %12s%n", "id", "image", "processor", "state", "exits",
                "instructions", "wall time");
        for (VCpuHandle h : all) {
            VCpuStats s = h.stats();
            out.printf("%4d  %-16s %-10s %-8s %10d %16s %10.3f s%n", h.id(), h.name(), h.processorKind(), h.state(),
                    s.totalExits(), s.guestInstructions() < 0 ? "n/a" : Long.toString(s.guestInstructions()),
                    s.wallNanos() / 1e9);
        }
        return OK;
    }

    // ---- vcpu:regs ----

    int regs(PrintStream out, PrintStream err, String... args) {
        try {
            VCpuHandle h = handle("vcpu:regs", "<id>", 1, args);
            RegisterDump dump = inspect(h, RegisterDump::capture);
            out.printf("vCPU %d (%s on %s), %s:%n", h.id(), h.name(), h.processorKind(), h.state());
            dump.format().forEach(out::println);
            return OK;
        } catch (UsageException e) {
            err.println("vcpu:regs: " + e.getMessage());
            return BAD_INPUT;
        } catch (InspectionException e) {
            err.println("vcpu:regs: " + e.getMessage());
            return FAILED;
        }
    }

    // ---- vcpu:vmcs ----

    int vmcs(PrintStream out, PrintStream err, String... args) {
        try {
            if (args != null && args.length == 2) {
                VmcsField field = VmcsField.byName(args[1]).orElseThrow(() -> new UsageException(
                        "no VMCS field '" + args[1] + "' (use the SDM's names, e.g. GUEST_RIP or EXIT_REASON)"));
                VCpuHandle h = handle("vcpu:vmcs", "<id> [FIELD]", 2, args);
                long value = inspect(h, v -> v.vmread(field));
                out.println(VmcsDump.formatOne(field, value));
                return OK;
            }
            VCpuHandle h = handle("vcpu:vmcs", "<id> [FIELD]", 1, args);
            Map<VmcsField, Long> fields = inspect(h, v -> {
                Map<VmcsField, Long> all = new TreeMap<>();
                for (VmcsField f : VmcsField.values()) {
                    try {
                        all.put(f, v.vmread(f));
                    } catch (RuntimeException unsupported) {
                        // a field this processor does not implement (VMREAD fails, SDM 31.3): not shown
                    }
                }
                return all;
            });
            out.printf("vCPU %d (%s on %s), %s: %d VMCS fields%n", h.id(), h.name(), h.processorKind(), h.state(),
                    fields.size());
            out.print(VmcsDump.format(fields));
            return OK;
        } catch (UsageException e) {
            err.println("vcpu:vmcs: " + e.getMessage());
            return BAD_INPUT;
        } catch (InspectionException e) {
            err.println("vcpu:vmcs: " + e.getMessage());
            return FAILED;
        }
    }

    // ---- vcpu:stats ----

    int stats(PrintStream out, PrintStream err, String... args) {
        try {
            VCpuHandle h = handle("vcpu:stats", "<id>", 1, args);
            VCpuStats s = h.stats();
            Optional<RunOutcome> outcome = h.awaitOutcome(Duration.ZERO);
            out.printf("vCPU %d (%s on %s): %s%n", h.id(), h.name(), h.processorKind(),
                    outcome.map(Reports::outcomeLine).orElse(h.state().toString()));
            Reports.exitTable(s).forEach(out::println);
            out.println("  total: " + Reports.totals(s));
            return OK;
        } catch (UsageException e) {
            err.println("vcpu:stats: " + e.getMessage());
            return BAD_INPUT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("vcpu:stats: interrupted");
            return FAILED;
        }
    }

    // ---- vcpu:stop ----

    int stop(PrintStream out, PrintStream err, String... args) {
        try {
            VCpuHandle h = handle("vcpu:stop", "<id>", 1, args);
            Optional<RunOutcome> ended = h.awaitOutcome(Duration.ZERO);
            if (ended.isPresent()) {
                out.printf("vCPU %d has already ended: %s%n", h.id(), Reports.outcomeLine(ended.get()));
                return OK;
            }
            h.stop();
            Optional<RunOutcome> outcome = h.awaitOutcome(ANSWER_TIMEOUT);
            if (outcome.isEmpty()) {
                err.printf("vcpu:stop: vCPU %d is still running %d s after the stop request%n", h.id(),
                        ANSWER_TIMEOUT.toSeconds());
                return FAILED;
            }
            out.printf("vCPU %d: %s%n", h.id(), Reports.outcomeLine(outcome.get()));
            return OK;
        } catch (UsageException e) {
            err.println("vcpu:stop: " + e.getMessage());
            return BAD_INPUT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("vcpu:stop: interrupted");
            return FAILED;
        }
    }

    /** The processor providers (tests; DS injects them). */
    void setProviders(List<VmxProcessorProvider> providers) {
        this.providers = List.copyOf(providers);
    }

    // ---- vcpu:handlers ----

    int handlers(PrintStream out, PrintStream err, String... args) {
        if (args != null && args.length > 0) {
            err.println("vcpu:handlers: takes no arguments");
            return BAD_INPUT;
        }
        Map<String, java.util.Set<io.jvmx.vmx.api.exit.ExitReason>> deliverable = new TreeMap<>();
        for (VmxProcessorProvider p : providers) {
            deliverable.put(p.kind(), p.deliverableExits());
        }
        Reports.handlerChains(handlers.chains(), deliverable).forEach(out::println);
        return OK;
    }

    // ---- shared ----

    /** The vCPU named by args[0]; {@code count} = how many arguments the command takes. */
    private VCpuHandle handle(String command, String usage, int count, String... args) {
        if (args == null || args.length != count) {
            throw new UsageException("usage: " + command + " " + usage);
        }
        String text = args[0].trim();
        int id;
        try {
            id = Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw new UsageException("not a vCPU id: '" + args[0] + "' (see vcpu:list)");
        }
        return manager.get(id).orElseThrow(() -> new UsageException("no vCPU " + id + " (see vcpu:list)"));
    }

    /** {@link VCpuHandle#inspect} with every failure turned into one line. */
    private static <T> T inspect(VCpuHandle h, Function<VCpu, T> query) {
        try {
            return h.inspect(query, ANSWER_TIMEOUT);
        } catch (TimeoutException e) {
            throw new InspectionException("vCPU " + h.id() + " did not reach an exit within "
                    + ANSWER_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InspectionException("interrupted");
        } catch (RuntimeException e) {
            throw new InspectionException("cannot read vCPU " + h.id() + ": " + Reports.describe(e));
        }
    }

    /** An inspection that failed (not the person's fault): one line, status {@link #FAILED}. */
    static final class InspectionException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        InspectionException(String message) {
            super(message, null, false, false);
        }
    }

    /** The console of a background vCPU: the session's terminal, flushed after every write. */
    static final class FlushingStream extends OutputStream {
        private final OutputStream target;

        FlushingStream(OutputStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) throws IOException {
            target.write(b);
            target.flush();
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            target.write(b, off, len);
            target.flush();
        }
    }
}
