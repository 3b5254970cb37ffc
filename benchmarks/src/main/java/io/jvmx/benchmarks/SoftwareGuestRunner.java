package io.jvmx.benchmarks;

import io.jvmx.devices.debugexit.DebugExitPort;
import io.jvmx.devices.doorbell.InterruptDoorbell;
import io.jvmx.devices.report.ReportPort;
import io.jvmx.devices.serial.SerialPort;
import io.jvmx.handlers.cpuid.CpuidHandler;
import io.jvmx.handlers.craccess.CrAccessHandler;
import io.jvmx.handlers.interruptwindow.InterruptWindowHandler;
import io.jvmx.handlers.msr.MsrHandler;
import io.jvmx.handlers.preemptiontimer.PreemptionTimerHandler;
import io.jvmx.handlers.xsetbv.XsetbvHandler;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.internal.VCpuRuntime;
import io.jvmx.vmx.core.internal.WhiteboardExitDispatcher;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuStats;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessorProvider;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * Runs guest images on jvmx's software VMX processor as {@code vcpu:run} does, without OSGi: the same vCPU runtime
 * ({@link io.jvmx.vmx.core.runtime.VCpuManager#launch}), the same exit dispatcher, the same launch defaults (16 MiB,
 * the 20,000-tick VMX-preemption time slice), and the handler and device classes of the platform's bundles,
 * registered by hand where Declarative Services registers them in Felix. So what is measured is the path a guest
 * takes in the shell, minus the shell's output relay.
 *
 * <p>One runner may run any number of guests, one after the other (each on a new vCPU and processor).
 */
public final class SoftwareGuestRunner {

    /** Guest-physical load address and real-mode entry of every jvmx image (x86_vcpu's setup_vmcs_guest). */
    public static final long LOAD_ADDRESS = 0x8000;

    private final VCpuRuntime runtime;

    public SoftwareGuestRunner() {
        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        // a missing handler is a wiring mistake here, never a bundle being updated: do not wait for one
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        long serviceId = 1;
        // the platform's handler bundles (exit-handlers/*) and devices bundle, under their symbolic names
        serviceId = register(dispatcher, serviceId, "io.jvmx.handler-interrupt-window", new InterruptWindowHandler(),
                ExitReason.INTERRUPT_WINDOW);
        serviceId = register(dispatcher, serviceId, "io.jvmx.handler-preemption-timer", new PreemptionTimerHandler(),
                ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        serviceId = register(dispatcher, serviceId, "io.jvmx.handler-xsetbv", new XsetbvHandler(), ExitReason.XSETBV);
        serviceId = register(dispatcher, serviceId, "io.jvmx.handler-cr-access", new CrAccessHandler(),
                ExitReason.CR_ACCESS);
        serviceId = register(dispatcher, serviceId, "io.jvmx.handler-cpuid", new CpuidHandler(), ExitReason.CPUID);
        serviceId = register(dispatcher, serviceId, "io.jvmx.handler-msr", new MsrHandler(), ExitReason.RDMSR,
                ExitReason.WRMSR);
        for (VmExitHandler device : new VmExitHandler[] {new SerialPort(), new DebugExitPort(), new InterruptDoorbell(),
                new ReportPort()}) {
            serviceId = register(dispatcher, serviceId, "io.jvmx.devices", device, ExitReason.IO_INSTRUCTION);
        }
        runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));
    }

    private static long register(WhiteboardExitDispatcher dispatcher, long serviceId, String bundle,
                                 VmExitHandler handler, ExitReason... reasons) {
        String[] names = new String[reasons.length];
        for (int i = 0; i < reasons.length; i++) {
            names[i] = reasons[i].name();
        }
        if (dispatcher.addHandler(handler, handler, Map.of(VmExitHandler.EXIT_REASON, names, "service.id", serviceId),
                bundle) == null) {
            throw new IllegalStateException("the dispatcher refused " + handler.getClass().getName());
        }
        return serviceId + 1;
    }

    /**
     * Runs a flat image loaded and entered at 0x8000 in real mode until the guest ends (or {@code timeout} passes,
     * when the vCPU is stopped), and returns what it did.
     */
    public GuestRun run(String name, byte[] image, Duration timeout) {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VCpuHandle handle = runtime.launch(LaunchRequest.of(name, image, LOAD_ADDRESS, LOAD_ADDRESS, console));
        try {
            Optional<RunOutcome> outcome = handle.awaitOutcome(timeout);
            if (outcome.isEmpty()) {
                handle.stop();
                outcome = handle.awaitOutcome(Duration.ofSeconds(10));
            }
            RunOutcome end = outcome.orElseThrow(() -> new IllegalStateException(
                    "vCPU running " + name + " did not stop within " + timeout.plusSeconds(10).toSeconds() + " s"));
            VCpuStats stats = handle.stats();
            return new GuestRun(name, end.exitCode(), end.reason(), console.toString(StandardCharsets.ISO_8859_1),
                    stats.guestInstructions(), stats.wallNanos(), stats.totalExits());
        } catch (InterruptedException e) {
            handle.stop();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while " + name + " ran", e);
        } finally {
            runtime.prune(); // forget ended vCPUs: a benchmark launches thousands
        }
    }

    /**
     * What one run did.
     *
     * @param exitCode      the guest's debug-exit code, or null if it did not end itself
     * @param reason        how the vCPU ended, for people
     * @param serialOutput  everything the guest wrote to COM1
     * @param instructions  guest instructions retired
     * @param wallNanos     wall time of the vCPU's run loop (what {@code vcpu:run} reports: setup and teardown
     *                      excluded)
     * @param exits         VM exits
     */
    public record GuestRun(String name, Integer exitCode, String reason, String serialOutput, long instructions,
                           long wallNanos, long exits) {

        /** Millions of guest instructions per second of wall time. */
        public double mips() {
            return wallNanos <= 0 ? Double.NaN : instructions / (wallNanos / 1e3);
        }

        /** The first line of the serial output (the benchmark guests print one result line), without "\n". */
        public String firstLine() {
            int nl = serialOutput.indexOf('\n');
            return nl < 0 ? serialOutput : serialOutput.substring(0, nl);
        }

        public boolean exitedWith(int code) {
            return exitCode != null && exitCode == code;
        }

        /** Throws unless the guest wrote exit code 0, with what it printed and how it ended. */
        public GuestRun requireSuccess() {
            if (!exitedWith(0)) {
                throw new IllegalStateException(name + " did not end with exit code 0: " + reason
                        + (serialOutput.isEmpty() ? " (no serial output)" : "; serial output:\n" + serialOutput));
            }
            return this;
        }
    }
}
