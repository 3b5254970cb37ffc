package io.jvmx.launcher;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.framework.wiring.BundleWiring;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Starts jvmx: a Felix framework through the standard launch API with every bundle of {@code <home>/bundle}.
 *
 * <ul>
 *   <li>{@code jvmx} — the interactive Gogo shell on the terminal; returns when the framework stops.</li>
 *   <li>{@code jvmx <command...>} — batch: runs one Gogo command line through the {@code CommandProcessor} service
 *       and exits with its result when that is a number (0 otherwise; 1 with one line if the command failed).
 *       Felix's own Main always exits 0, which is why this launcher exists.</li>
 * </ul>
 *
 * <p>Start levels: everything at 1, the user-facing shell bundles (gogo.jline and io.jvmx.shell) at 2, so that the
 * DS components they use are active before a command can run (osgi-stack.md pitfall 7).
 */
public final class Main {

    static final String GOGO_JLINE = "org.apache.felix.gogo.jline";
    static final String GOGO_RUNTIME = "org.apache.felix.gogo.runtime";
    static final String JLINE = "org.jline";
    static final String JVMX_SHELL = "io.jvmx.shell";
    /** The service the batch mode waits for: it exists once the vCPU runtime, handlers and guests are satisfied. */
    static final String RUN_COMMAND_FILTER = "(&(osgi.command.scope=vcpu)(osgi.command.function=run))";
    static final int SHELL_START_LEVEL = 2;

    /*
     * The process's own streams, taken before gogo.runtime replaces System.out/err with its per-thread
     * multiplexers: a session created on those would write into itself.
     */
    private static final InputStream STDIN = System.in;
    private static final PrintStream STDOUT = System.out;
    private static final PrintStream STDERR = System.err;

    private Main() {
    }

    public static void main(String[] args) {
        int code;
        try {
            code = new Launch(args).run();
        } catch (LaunchException e) {
            STDERR.println("jvmx: " + e.getMessage());
            code = 1;
        }
        STDOUT.flush();
        STDERR.flush();
        // vCPU threads started in the background must not keep the JVM alive once the framework is gone
        System.exit(code);
    }

    /** One line for people; the launcher prints it and exits 1. */
    static final class LaunchException extends Exception {
        private static final long serialVersionUID = 1L;

        LaunchException(String message) {
            super(message);
        }

        LaunchException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    static final class Launch {
        private final String[] args;
        private final boolean batch;
        private Framework framework;
        private Path storage;

        Launch(String[] args) {
            this.args = args;
            this.batch = args.length > 0;
        }

        int run() throws LaunchException {
            if (batch && (args[0].equals("-h") || args[0].equals("--help"))) {
                usage(STDOUT);
                return 0;
            }
            Path home = home();
            List<Path> jars = bundleJars(home.resolve("bundle"));
            Thread cleanup = new Thread(this::shutdown, "jvmx shutdown");
            Runtime.getRuntime().addShutdownHook(cleanup);
            try {
                startFramework(home, jars);
                return batch ? runBatch(String.join(" ", args)) : runInteractive();
            } finally {
                shutdown();
                try {
                    Runtime.getRuntime().removeShutdownHook(cleanup);
                } catch (IllegalStateException alreadyShuttingDown) {
                    // the hook runs anyway
                }
            }
        }

        private static void usage(PrintStream out) {
            out.println("usage: jvmx                 interactive Gogo shell (try: help, vcpu:run, vcpu:handlers, vmx:info)");
            out.println("       jvmx <command...>    run one Gogo command line and exit with its result,");
            out.println("                            e.g. jvmx vcpu:run (exits with the guest's exit code)");
            out.println("system properties: -Djvmx.home=<dir> (default: the launcher jar's folder),");
            out.println("                   -Djvmx.wait.seconds=<n> (batch: how long to wait for the vcpu commands, default 30)");
        }

        /** The distribution folder: -Djvmx.home, else the folder of the launcher jar. */
        private static Path home() throws LaunchException {
            String prop = System.getProperty("jvmx.home");
            if (prop != null && !prop.isBlank()) {
                return Path.of(prop).toAbsolutePath();
            }
            try {
                Path jar = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
                return jar.getParent();
            } catch (URISyntaxException | SecurityException | NullPointerException e) {
                throw new LaunchException("cannot tell where the launcher lives; set -Djvmx.home=<distribution folder>", e);
            }
        }

        private static List<Path> bundleJars(Path dir) throws LaunchException {
            if (!Files.isDirectory(dir)) {
                throw new LaunchException("no bundle folder " + dir + " (build the distribution: mvn -B -ntp install)");
            }
            try (Stream<Path> files = Files.list(dir)) {
                List<Path> jars = files.filter(p -> p.getFileName().toString().endsWith(".jar"))
                        .sorted(Comparator.comparing(p -> p.getFileName().toString())).toList();
                if (jars.isEmpty()) {
                    throw new LaunchException("no bundles in " + dir);
                }
                return jars;
            } catch (IOException e) {
                throw new LaunchException("cannot list " + dir + ": " + e.getMessage(), e);
            }
        }

        private void startFramework(Path home, List<Path> jars) throws LaunchException {
            try {
                storage = Files.createTempDirectory("jvmx-felix-");
            } catch (IOException e) {
                throw new LaunchException("cannot create the framework storage folder: " + e.getMessage(), e);
            }
            Map<String, String> config = new HashMap<>();
            config.put(Constants.FRAMEWORK_STORAGE, storage.toString());
            config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
            config.put(Constants.FRAMEWORK_BEGINNING_STARTLEVEL, "1");
            // gogo.jline reads etc/gosh_profile under gosh.home: ours works without a line reader too (pitfall 7)
            config.put("gosh.home", home.toString());
            // the interactive shell: a login shell that stops the framework when it ends (exit / Ctrl-D)
            config.put("gosh.args", "");
            config.put("felix.log.level", "1");

            FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class, Main.class.getClassLoader())
                    .findFirst()
                    .orElseThrow(() -> new LaunchException("no OSGi framework on the class path (lib/org.apache.felix.framework.jar)"));
            framework = factory.newFramework(config);
            try {
                framework.init();
                framework.getBundleContext().addFrameworkListener(e -> {
                    if (e.getType() == FrameworkEvent.ERROR) {
                        STDERR.println("jvmx: " + describe(e.getBundle()) + ": " + oneLine(e.getThrowable()));
                    }
                });
                List<Bundle> bundles = install(jars);
                framework.start();
                for (Bundle b : bundles) {
                    if (isFragment(b) || GOGO_JLINE.equals(b.getSymbolicName())) {
                        continue; // gogo.jline is started by hand, below, with the right TCCL
                    }
                    try {
                        b.start();
                    } catch (BundleException e) {
                        STDERR.println("jvmx: cannot start " + describe(b) + ": " + oneLine(e));
                    }
                }
                raiseStartLevel(SHELL_START_LEVEL);
            } catch (BundleException e) {
                throw new LaunchException("the OSGi framework did not start: " + oneLine(e), e);
            }
        }

        private List<Bundle> install(List<Path> jars) throws LaunchException {
            BundleContext ctx = framework.getBundleContext();
            List<Bundle> bundles = new ArrayList<>();
            for (Path jar : jars) {
                try {
                    Bundle b = ctx.installBundle(jar.toUri().toString());
                    String bsn = b.getSymbolicName();
                    int level = GOGO_JLINE.equals(bsn) || JVMX_SHELL.equals(bsn) ? SHELL_START_LEVEL : 1;
                    b.adapt(BundleStartLevel.class).setStartLevel(level);
                    bundles.add(b);
                } catch (BundleException e) {
                    throw new LaunchException("cannot install " + jar.getFileName() + ": " + oneLine(e), e);
                }
            }
            return bundles;
        }

        /** Start-level changes run on the framework's own thread: wait until it says it is done. */
        private void raiseStartLevel(int level) throws LaunchException {
            CountDownLatch done = new CountDownLatch(1);
            framework.adapt(FrameworkStartLevel.class).setStartLevel(level, e -> done.countDown());
            try {
                if (!done.await(60, TimeUnit.SECONDS)) {
                    throw new LaunchException("the framework did not reach start level " + level + " within 60 s");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LaunchException("interrupted while starting", e);
            }
        }

        private int runInteractive() throws LaunchException {
            Bundle jline = bundle(JLINE);
            Bundle gogo = bundle(GOGO_JLINE);
            if (gogo == null || jline == null) {
                throw new LaunchException("the interactive shell needs " + GOGO_JLINE + " and " + JLINE
                        + " in the bundle folder");
            }
            // JLine looks its terminal providers up through the thread context class loader (JLine >= 3.22);
            // gogo.jline builds its terminal while it starts, on this thread, so this thread's TCCL must see
            // the jline bundle's META-INF/services, or it falls back to a dumb terminal (pitfall 6).
            Thread me = Thread.currentThread();
            ClassLoader before = me.getContextClassLoader();
            try {
                BundleWiring wiring = jline.adapt(BundleWiring.class);
                if (wiring != null) {
                    me.setContextClassLoader(wiring.getClassLoader());
                }
                gogo.start();
            } catch (BundleException e) {
                throw new LaunchException("cannot start the shell: " + oneLine(e), e);
            } finally {
                me.setContextClassLoader(before);
            }
            try {
                framework.waitForStop(0); // the shell stops the framework when it ends
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return 0;
        }

        private int runBatch(String commandLine) throws LaunchException {
            BundleContext ctx = framework.getBundleContext();
            long waitSeconds = Long.getLong("jvmx.wait.seconds", 30);
            ServiceReference<?> processorRef = await(ctx, "(objectClass=org.apache.felix.service.command.CommandProcessor)",
                    waitSeconds);
            if (processorRef == null) {
                throw new LaunchException("no Gogo CommandProcessor service (is " + GOGO_RUNTIME + " in the bundle folder?)");
            }
            if (await(ctx, RUN_COMMAND_FILTER, waitSeconds) == null) {
                // the command may not need them (e.g. lb); say why vcpu:* would be missing and go on
                STDERR.println("jvmx: the vcpu commands did not appear within " + waitSeconds
                        + " s (io.jvmx.shell or one of the services it needs is missing: try 'jvmx lb')");
            }
            Object processor = ctx.getService(processorRef);
            try {
                return execute(processor, commandLine);
            } finally {
                ctx.ungetService(processorRef);
            }
        }

        /**
         * Runs one command line in a new Gogo session. The Gogo API lives in a bundle, not on this class path, so
         * it is called reflectively through the interfaces the service implements.
         */
        private int execute(Object processor, String commandLine) throws LaunchException {
            Object session = null;
            try {
                ClassLoader api = processor.getClass().getClassLoader();
                Class<?> processorType = Class.forName("org.apache.felix.service.command.CommandProcessor", false, api);
                Class<?> sessionType = Class.forName("org.apache.felix.service.command.CommandSession", false, api);
                Method create = processorType.getMethod("createSession", InputStream.class, OutputStream.class,
                        OutputStream.class);
                session = create.invoke(processor, STDIN, STDOUT, STDERR);
                Object result = sessionType.getMethod("execute", CharSequence.class).invoke(session, commandLine);
                if (result instanceof Number n) {
                    return n.intValue();
                }
                if (result != null) {
                    // as the interactive shell would show it
                    Object text = sessionType.getMethod("format", Object.class, int.class).invoke(session, result, 0);
                    STDOUT.println(text);
                }
                return 0;
            } catch (InvocationTargetException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                STDOUT.flush();
                STDERR.println("jvmx: " + oneLine(cause));
                return 1;
            } catch (ReflectiveOperationException e) {
                throw new LaunchException("the Gogo runtime does not have the expected API: " + e, e);
            } finally {
                STDOUT.flush();
                if (session != null) {
                    try {
                        session.getClass().getMethod("close").invoke(session);
                    } catch (ReflectiveOperationException ignored) {
                        // closing a finished session: nothing left to lose
                    }
                }
            }
        }

        /** Waits for a service matching {@code filter}; null if none came within the time. */
        private static ServiceReference<?> await(BundleContext ctx, String filter, long seconds) throws LaunchException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            try {
                while (true) {
                    // "all": this class's loader never shares the services' API classes (they are used
                    // reflectively), so the framework's class-space check must not hide them
                    ServiceReference<?>[] refs = ctx.getAllServiceReferences(null, filter);
                    if (refs != null && refs.length > 0) {
                        return refs[0];
                    }
                    if (System.nanoTime() > deadline) {
                        return null;
                    }
                    Thread.sleep(20);
                }
            } catch (InvalidSyntaxException e) {
                throw new LaunchException("bad filter " + filter, e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new LaunchException("interrupted while waiting for " + filter, e);
            }
        }

        private Bundle bundle(String bsn) {
            for (Bundle b : framework.getBundleContext().getBundles()) {
                if (bsn.equals(b.getSymbolicName())) {
                    return b;
                }
            }
            return null;
        }

        /** Stops the framework (waiting a bounded time) and deletes its storage folder; safe to call twice. */
        private synchronized void shutdown() {
            if (framework != null) {
                try {
                    framework.stop();
                    framework.waitForStop(10_000);
                } catch (BundleException | InterruptedException | IllegalStateException e) {
                    STDERR.println("jvmx: stopping the framework: " + oneLine(e));
                }
                framework = null;
            }
            if (storage != null) {
                deleteTree(storage.toFile());
                storage = null;
            }
        }

        private static void deleteTree(File f) {
            File[] children = f.listFiles();
            if (children != null) {
                for (File c : children) {
                    deleteTree(c);
                }
            }
            if (!f.delete() && f.exists()) {
                STDERR.println("jvmx: could not delete " + f);
            }
        }

        private static boolean isFragment(Bundle b) {
            return b.getHeaders().get(Constants.FRAGMENT_HOST) != null;
        }

        private static String describe(Bundle b) {
            return b == null ? "framework" : b.getSymbolicName() + " [" + b.getBundleId() + "]";
        }
    }

    /** The message of an exception on one line (its type when it has none). */
    static String oneLine(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        return m.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
