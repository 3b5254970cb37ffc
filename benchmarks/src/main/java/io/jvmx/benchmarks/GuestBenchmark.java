package io.jvmx.benchmarks;

import io.jvmx.benchmarks.SoftwareGuestRunner.GuestRun;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.concurrent.TimeUnit;

/**
 * JMH: one benchmark operation is one whole run of a benchmark guest on the software processor (launch, real mode to
 * long mode, the guest's loop, the result on COM1, the debug-exit), as {@code vcpu:run} would do it. Divide the guest
 * instructions GuestMips prints by the time per operation for MIPS. Every operation checks the guest's exit code,
 * so a broken interpreter cannot look fast.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = "-Xmx1g")
@State(Scope.Benchmark)
public class GuestBenchmark {

    @Param({"bench-sieve", "bench-crc32", "bench-memcpy"})
    public String guest;

    private SoftwareGuestRunner runner;
    private byte[] image;

    @Setup(Level.Trial)
    public void setUp() {
        runner = new SoftwareGuestRunner();
        image = BenchGuests.image(guest);
    }

    @Benchmark
    public long runGuest() {
        GuestRun run = runner.run(guest, image, GuestMips.RUN_TIMEOUT).requireSuccess();
        return run.instructions();
    }
}
