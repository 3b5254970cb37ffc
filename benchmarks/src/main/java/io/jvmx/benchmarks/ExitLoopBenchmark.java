package io.jvmx.benchmarks;

import io.jvmx.devices.debugexit.DebugExitPort;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.internal.VCpuRuntime;
import io.jvmx.vmx.core.internal.WhiteboardExitDispatcher;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessorProvider;
import io.jvmx.vmx.nativekvm.vmx.KvmVmxProcessorProvider;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * The jvmx side of benchmarks/kvm/run: the exit-loop guest (N exits on port 0x80, then the debug-exit port) through
 * the vCPU runtime and exit dispatcher, as {@code vcpu:run} runs guests, on one processor kind. The port-0x80 exit
 * is taken by a handler that only completes the OUT (advances RIP), what a POST-code port does without printing.
 * No time slice: the C program has none either.
 *
 * <p>Usage: {@code ExitLoopBenchmark IMAGE KIND ITERATIONS WARMUP RUNS}; prints one line per measured run,
 * {@code KIND ITERATIONS NANOS EXITS}, NANOS being the vCPU's run loop from its first entry to its end.
 */
public final class ExitLoopBenchmark {
    static final int PORT = 0x80;

    private ExitLoopBenchmark() {
    }

    /** Completes an OUT to port 0x80 and nothing else. */
    static final class PortSink implements VmExitHandler {
        @Override
        public ExitAction handle(io.jvmx.vmx.api.handler.VCpu vcpu, io.jvmx.vmx.api.exit.VmExitInfo exit) {
            IoQualification q = IoQualification.decode(exit.qualification());
            if (q.port() != PORT || q.in() || q.string()) {
                return ExitAction.PASS;
            }
            vcpu.advanceRip(exit.instructionLength());
            return ExitAction.HANDLED;
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: ExitLoopBenchmark IMAGE KIND ITERATIONS WARMUP RUNS");
            System.exit(2);
        }
        byte[] image = Files.readAllBytes(Path.of(args[0]));
        String kind = args[1];
        int iterations = Integer.parseInt(args[2]);
        int warmup = Integer.parseInt(args[3]);
        int runs = Integer.parseInt(args[4]);
        ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN).putInt(8, iterations);

        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        String[] io = {ExitReason.IO_INSTRUCTION.name()};
        dispatcher.addHandler("sink", new PortSink(), Map.of(VmExitHandler.EXIT_REASON, io, "service.id", 1L,
                "service.ranking", 10), "benchmarks.port-sink");
        DebugExitPort debugExit = new DebugExitPort();
        dispatcher.addHandler(debugExit, debugExit, Map.of(VmExitHandler.EXIT_REASON, io, "service.id", 2L),
                "io.jvmx.devices");
        VCpuRuntime runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));
        runtime.addProvider(new KvmVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "kvm"));

        for (int r = 0; r < warmup + runs; r++) {
            LaunchRequest req = LaunchRequest.of("exit-loop", image, SoftwareGuestRunner.LOAD_ADDRESS,
                    SoftwareGuestRunner.LOAD_ADDRESS, new ByteArrayOutputStream()).withProcessor(kind).withTimeSlice(0);
            VCpuHandle h = runtime.launch(req);
            RunOutcome o = h.awaitOutcome(Duration.ofMinutes(5)).orElseThrow(
                    () -> new IllegalStateException("exit-loop on " + kind + " did not end within 5 minutes"));
            if (o.exitCode() == null || o.exitCode() != 0) {
                System.err.println("exit-loop on " + kind + " failed: " + o.reason());
                System.exit(1);
            }
            runtime.prune();
            if (r >= warmup) {
                System.out.printf("%s %d %d %d%n", kind, iterations, h.stats().wallNanos(), h.stats().totalExits());
                System.out.flush();
            }
        }
    }
}
