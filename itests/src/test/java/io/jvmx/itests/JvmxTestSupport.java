package io.jvmx.itests;

import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;
import org.ops4j.pax.exam.Configuration;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.options.UrlProvisionOption;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

import javax.inject.Inject;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.fail;
import static org.ops4j.pax.exam.CoreOptions.bundle;
import static org.ops4j.pax.exam.CoreOptions.cleanCaches;
import static org.ops4j.pax.exam.CoreOptions.frameworkProperty;
import static org.ops4j.pax.exam.CoreOptions.junitBundles;
import static org.ops4j.pax.exam.CoreOptions.options;

/**
 * The configuration every integration test shares: a Felix framework with the bundles that the build copied from
 * the reactor into target/bundles (system property jvmx.itest.bundles), provisioned as file: URLs
 * (osgi-stack.md pitfall 2). Plus helpers to run Gogo commands through the {@link CommandProcessor} service
 * (gogo.jline is not installed: it would take the test JVM's stdin/stdout, pitfall 5) and to wait for services.
 */
public abstract class JvmxTestSupport {

    /** Every bundle of the platform, by symbolic name. */
    public static final List<String> JVMX_BUNDLES = List.of(
            "io.jvmx.vmx-api", "io.jvmx.vmx-vmcs", "io.jvmx.vmx-bitmaps", "io.jvmx.vmx-core",
            "io.jvmx.vmx-impl-emulated", "io.jvmx.vmx-impl-native", "io.jvmx.handler-interrupt-window", "io.jvmx.handler-preemption-timer",
            "io.jvmx.handler-xsetbv", "io.jvmx.handler-cr-access", "io.jvmx.handler-cpuid", "io.jvmx.handler-msr",
            "io.jvmx.handler-task-switch", "io.jvmx.handler-exception", "io.jvmx.local-apic", "io.jvmx.devices",
            "io.jvmx.guests", "io.jvmx.linux-boot", "io.jvmx.shell");

    public static final long TIMEOUT_MS = 20_000;

    @Inject
    protected BundleContext context;

    @Configuration
    public Option[] config() {
        List<Option> options = new ArrayList<>();
        for (File jar : testBundles()) {
            UrlProvisionOption b = bundle(jar.toURI().toString());
            options.add(b.start(true));
        }
        options.add(junitBundles());
        options.add(frameworkProperty("felix.log.level").value("1"));
        options.add(cleanCaches(true));
        return options(options.toArray(new Option[0]));
    }

    /** The jars the build copied for the tests; fails loudly if the folder is missing or empty. */
    static List<File> testBundles() {
        String dir = System.getProperty("jvmx.itest.bundles");
        if (dir == null) {
            throw new IllegalStateException("system property jvmx.itest.bundles is not set (run the tests with mvn verify)");
        }
        File[] jars = new File(dir).listFiles((d, name) -> name.endsWith(".jar"));
        if (jars == null || jars.length == 0) {
            throw new IllegalStateException("no bundles in " + dir + " (run the tests with mvn verify)");
        }
        Arrays.sort(jars, Comparator.comparing(File::getName));
        return Arrays.asList(jars);
    }

    // ---- Gogo commands ----

    /** What one command line printed and returned. */
    public record CommandResult(Object value, String out, String err, Exception failure) {
        /** Output and error output together, as a person at the terminal would see them. */
        public String all() {
            return out + err;
        }
    }

    /** Runs a Gogo command line in a fresh session, capturing its output; never throws for a failing command. */
    protected CommandResult execute(String commandLine) throws Exception {
        ServiceReference<CommandProcessor> ref = context.getServiceReference(CommandProcessor.class);
        assertNotNull("no Gogo CommandProcessor service", ref);
        CommandProcessor processor = context.getService(ref);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        try (PrintStream pout = new PrintStream(out, true, StandardCharsets.UTF_8);
             PrintStream perr = new PrintStream(err, true, StandardCharsets.UTF_8);
             CommandSession session = processor.createSession(new ByteArrayInputStream(new byte[0]), pout, perr)) {
            Object value = null;
            Exception failure = null;
            try {
                value = session.execute(commandLine);
            } catch (Exception e) {
                failure = e;
            }
            pout.flush();
            perr.flush();
            return new CommandResult(value, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                    failure);
        } finally {
            context.ungetService(ref);
        }
    }

    /** Waits until a Gogo command {@code scope:function} is registered. */
    protected void awaitCommand(String scope, String function) throws Exception {
        awaitService(null, "(&(" + CommandProcessor.COMMAND_SCOPE + "=" + scope + ")("
                + CommandProcessor.COMMAND_FUNCTION + "=" + function + "))");
    }

    // ---- services and bundles ----

    /** The KVM processor's provider service, which the native bundle registers whether or not KVM is usable. */
    protected io.jvmx.vmx.api.spi.VmxProcessorProvider kvmProvider() throws InterruptedException {
        ServiceReference<io.jvmx.vmx.api.spi.VmxProcessorProvider> ref = awaitService(
                io.jvmx.vmx.api.spi.VmxProcessorProvider.class,
                "(" + io.jvmx.vmx.api.spi.VmxProcessorProvider.KIND + "=kvm)");
        org.junit.Assert.assertEquals("io.jvmx.vmx-impl-native", bundleOf(ref));
        return context.getService(ref);
    }

    /** Waits (bounded) for a service of {@code type} (null: any) matching {@code filter} (null: any). */
    protected <T> ServiceReference<T> awaitService(Class<T> type, String filter) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS);
        while (true) {
            try {
                Collection<ServiceReference<T>> refs = type != null
                        ? context.getServiceReferences(type, filter)
                        : castRefs(context.getServiceReferences((String) null, filter));
                if (!refs.isEmpty()) {
                    return refs.iterator().next();
                }
            } catch (InvalidSyntaxException e) {
                throw new IllegalArgumentException(e);
            }
            if (System.nanoTime() > deadline) {
                fail("no service " + (type == null ? "" : type.getName() + " ") + (filter == null ? "" : filter)
                        + " within " + TIMEOUT_MS + " ms");
            }
            Thread.sleep(20);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> Collection<ServiceReference<T>> castRefs(ServiceReference<?>[] refs) {
        List<ServiceReference<T>> list = new ArrayList<>();
        if (refs != null) {
            for (ServiceReference<?> r : refs) {
                list.add((ServiceReference<T>) r);
            }
        }
        return list;
    }

    protected <T> T awaitServiceObject(Class<T> type, String filter) throws InterruptedException {
        ServiceReference<T> ref = awaitService(type, filter);
        T service = context.getService(ref);
        assertNotNull("service " + type.getName() + " went away", service);
        return service;
    }

    /**
     * A guest console that writes into {@code console} under its lock: the vCPU thread writes while the test reads
     * (read it in {@code synchronized (console)}).
     */
    protected static OutputStream synchronizedOn(ByteArrayOutputStream console) {
        return new OutputStream() {
            @Override
            public void write(int b) {
                synchronized (console) {
                    console.write(b);
                }
            }
        };
    }

    protected Bundle installedBundle(String symbolicName) {
        for (Bundle b : context.getBundles()) {
            if (symbolicName.equals(b.getSymbolicName())) {
                return b;
            }
        }
        fail("bundle " + symbolicName + " is not installed");
        return null;
    }

    /** The symbolic name of the bundle that registered a service. */
    protected static String bundleOf(ServiceReference<?> ref) {
        return ref.getBundle().getSymbolicName();
    }

    /** The bundle of this test probe (for registering test services). */
    protected Bundle probe() {
        return FrameworkUtil.getBundle(getClass());
    }

    protected static int ranking(ServiceReference<?> ref) {
        Object r = ref.getProperty(Constants.SERVICE_RANKING);
        return r instanceof Integer i ? i : 0;
    }
}
