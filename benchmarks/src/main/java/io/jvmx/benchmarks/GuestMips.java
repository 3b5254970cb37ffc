package io.jvmx.benchmarks;

import io.jvmx.benchmarks.SoftwareGuestRunner.GuestRun;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Guest MIPS of the software VMX processor: runs each benchmark guest a few times to warm the JIT up, then several
 * measured times, and prints per guest the guest instructions, the wall time of a run and the guest MIPS, each the
 * median of the measured runs (the machines this runs on are shared and noisy; a median ignores the odd slow run).
 *
 * <pre>
 * GuestMips [--warmup W] [--runs R] [--iterations N] [guest ...]
 *   --warmup W      unmeasured runs per guest first (default 5)
 *   --runs R        measured runs per guest (default 7)
 *   --iterations N  patch the guests' iteration count (default: chosen per guest after the warm-up so that a run
 *                   takes about --seconds; the images' own counts make runs of 20-90 ms, where the vCPU's set-up
 *                   and the JIT's last compilations are a large part of the time)
 *   --seconds S     the length of a measured run when --iterations is not given (default 0.5)
 *   guest           catalog names (default: bench-sieve bench-crc32 bench-memcpy)
 * </pre>
 * Exit status: 0; 1 if a guest did not end with exit code 0 or printed different results in different runs;
 * 2 for bad arguments.
 */
public final class GuestMips {

    static final Duration RUN_TIMEOUT = Duration.ofMinutes(5);

    private GuestMips() {
    }

    public static void main(String[] args) {
        int warmup = 5;
        int runs = 7;
        long iterations = 0;
        double seconds = 0.5;
        List<String> guests = new ArrayList<>();
        try {
            for (int i = 0; i < args.length; i++) {
                switch (args[i]) {
                    case "--warmup" -> warmup = Integer.parseInt(value(args, ++i, "--warmup"));
                    case "--runs" -> runs = Integer.parseInt(value(args, ++i, "--runs"));
                    case "--iterations" -> iterations = Long.parseLong(value(args, ++i, "--iterations"));
                    case "--seconds" -> seconds = Double.parseDouble(value(args, ++i, "--seconds"));
                    case "-h", "--help" -> {
                        System.out.println("usage: GuestMips [--warmup W] [--runs R] [--iterations N | --seconds S]"
                                + " [guest ...]");
                        return;
                    }
                    default -> {
                        if (args[i].startsWith("-")) {
                            throw new IllegalArgumentException("unknown option " + args[i]);
                        }
                        guests.add(args[i]);
                    }
                }
            }
            if (warmup < 0 || runs < 1) {
                throw new IllegalArgumentException("--warmup must be >= 0 and --runs >= 1");
            }
        } catch (IllegalArgumentException e) { // NumberFormatException too
            System.err.println("GuestMips: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (guests.isEmpty()) {
            guests.addAll(BenchGuests.NAMES);
        }
        System.exit(measure(guests, warmup, runs, iterations, seconds) ? 0 : 1);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }

    private static boolean measure(List<String> guests, int warmup, int runs, long iterations, double seconds) {
        System.out.println("jvmx GuestMips: guest MIPS of the software VMX processor (vmx-impl-emulated)");
        System.out.println(environment());
        System.out.printf("each guest: %d warm-up runs, then %d measured runs; instructions, wall time and MIPS are "
                + "medians of the measured runs (wall time: the vCPU's run loop, as vcpu:run reports it)%n%n",
                warmup, runs);
        System.out.printf("%-13s %10s %13s %10s %8s %15s  %s%n", "guest", "iterations", "instructions",
                "wall ms", "MIPS", "MIPS min..max", "result");
        SoftwareGuestRunner runner = new SoftwareGuestRunner();
        boolean allOk = true;
        for (String guest : guests) {
            byte[] image;
            try {
                image = BenchGuests.image(guest);
                if (iterations > 0) {
                    image = BenchGuests.withIterations(image, iterations);
                }
            } catch (IllegalArgumentException e) {
                System.out.println(guest + ": " + e.getMessage());
                allOk = false;
                continue;
            }
            try {
                GuestRun last = null;
                for (int i = 0; i < warmup; i++) {
                    last = runner.run(guest, image, RUN_TIMEOUT).requireSuccess();
                }
                if (iterations == 0) {
                    // scale the count so that a run takes about `seconds`, warming up at the new count
                    if (last == null) {
                        last = runner.run(guest, image, RUN_TIMEOUT).requireSuccess();
                    }
                    // twice: the first estimate comes from short runs, whose set-up cost makes it too small
                    for (int round = 0; round < 2; round++) {
                        long count = BenchGuests.iterations(image);
                        long scaled = (long) Math.ceil(count * seconds * 1e9 / Math.max(1, last.wallNanos()));
                        image = BenchGuests.withIterations(image, Math.max(count, scaled));
                        last = runner.run(guest, image, RUN_TIMEOUT).requireSuccess();
                    }
                }
                String n = Long.toString(BenchGuests.iterations(image));
                long[] instructions = new long[runs];
                long[] wall = new long[runs];
                double[] mips = new double[runs];
                String result = null;
                for (int i = 0; i < runs; i++) {
                    GuestRun r = runner.run(guest, image, RUN_TIMEOUT).requireSuccess();
                    if (result != null && !result.equals(r.serialOutput())) {
                        throw new IllegalStateException("printed different results in two runs:\n" + result
                                + r.serialOutput());
                    }
                    result = r.serialOutput();
                    instructions[i] = r.instructions();
                    wall[i] = r.wallNanos();
                    mips[i] = r.mips();
                }
                double[] sortedMips = mips.clone();
                Arrays.sort(sortedMips);
                System.out.printf(Locale.ROOT, "%-13s %10s %13d %10.1f %8.2f %15s  %s%n", guest, n,
                        median(instructions), median(wall) / 1e6, median(mips),
                        String.format(Locale.ROOT, "%.2f..%.2f", sortedMips[0], sortedMips[runs - 1]),
                        result.strip());
            } catch (RuntimeException e) {
                System.out.println(guest + ": FAILED: " + e.getMessage());
                allOk = false;
            }
        }
        System.out.printf(Locale.ROOT, "%nload average at the end: %s%n", loadAverage());
        return allOk;
    }

    /** The 1-minute load average; above the number of cores, other processes took part of the time measured. */
    static String loadAverage() {
        double load = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        return load < 0 ? "n/a" : String.format(Locale.ROOT, "%.2f (1 min)", load);
    }

    /** The JVM, the machine and the date, so that a pasted report says where and when it was measured. */
    static String environment() {
        Runtime rt = Runtime.getRuntime();
        return String.format(Locale.ROOT,
                "date: %s  JVM: %s %s (%s)  os: %s %s  cores: %d  max heap: %d MiB  load average: %s",
                Instant.now().truncatedTo(ChronoUnit.SECONDS), System.getProperty("java.vm.name"),
                System.getProperty("java.vm.version"), System.getProperty("java.vm.vendor"),
                System.getProperty("os.name"), System.getProperty("os.arch"), rt.availableProcessors(),
                rt.maxMemory() >> 20, loadAverage());
    }

    static long median(long[] values) {
        long[] s = values.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }

    static double median(double[] values) {
        double[] s = values.clone();
        Arrays.sort(s);
        int m = s.length / 2;
        return s.length % 2 == 1 ? s[m] : (s[m - 1] + s[m]) / 2;
    }
}
