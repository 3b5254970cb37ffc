package io.jvmx.benchmarks;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.jvmx.benchmarks.SoftwareGuestRunner.GuestRun;
import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestExpectation;
import java.time.Duration;
import java.util.Locale;
import java.util.zip.CRC32;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Correctness before speed: each benchmark guest, run once on the software processor as the benchmarks run it,
 * prints what its catalog entry and an independent model in Java say (the JDK's CRC32 for bench-crc32), at its
 * default iteration count and at a patched one. Each default run is a few million guest instructions; the whole
 * class takes a few seconds.
 */
public class BenchGuestsTest {

    private static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static SoftwareGuestRunner runner;

    @BeforeClass
    public static void createRunner() {
        runner = new SoftwareGuestRunner();
    }

    private static GuestRun run(String guest, long iterations) {
        byte[] image = BenchGuests.image(guest);
        if (iterations > 0) {
            image = BenchGuests.withIterations(image, iterations);
        }
        return runner.run(guest, image, TIMEOUT);
    }

    /** At the committed iteration count: the catalog's expectation, the model's line, and a 2-10 million run. */
    @Test(timeout = 120_000)
    public void everyBenchmarkGuestPrintsWhatItsCatalogEntryAndItsModelSay() {
        for (String guest : BenchGuests.NAMES) {
            long n = BenchGuests.iterations(BenchGuests.image(guest));
            GuestRun r = run(guest, 0);
            GuestExpectation expected = BundledGuests.expectation(guest).orElseThrow();
            assertEquals(guest + ": " + r.reason() + "\n" + r.serialOutput(), expected.exitCode().getAsLong(),
                    (long) r.exitCode());
            assertTrue(guest + " printed:\n" + r.serialOutput(), expected.matchesSerialOutput(r.serialOutput()));
            assertEquals(modelLine(guest, n) + "\n", r.serialOutput());
            assertTrue(guest + " ran " + r.instructions() + " instructions; the default should take 2-10 million",
                    r.instructions() >= 2_000_000 && r.instructions() <= 10_000_000);
        }
    }

    /** A patched count changes the work and the result as the model says (the guests really read N). */
    @Test(timeout = 120_000)
    public void aPatchedIterationCountIsWhatTheGuestsRun() {
        for (String guest : BenchGuests.NAMES) {
            assertEquals(modelLine(guest, 3) + "\n", run(guest, 3).requireSuccess().serialOutput());
        }
    }

    @Test
    public void theIterationCountIsPatchedInPlaceAndOnlyThere() {
        byte[] image = BenchGuests.image("bench-crc32");
        assertEquals(100, BenchGuests.iterations(image));
        byte[] patched = BenchGuests.withIterations(image, 0xFFFF_FFFFL);
        assertEquals(0xFFFF_FFFFL, BenchGuests.iterations(patched));
        assertEquals("the original is untouched", 100, BenchGuests.iterations(image));
        for (int i = 0; i < 4; i++) {
            patched[BenchGuests.ITERATIONS_OFFSET + i] = image[BenchGuests.ITERATIONS_OFFSET + i];
        }
        assertArrayEquals(image, patched);
        assertEquals((byte) 0xFA, image[0]);
        assertThrows(IllegalArgumentException.class, () -> BenchGuests.withIterations(image, 0));
        assertThrows(IllegalArgumentException.class, () -> BenchGuests.withIterations(image, 1L << 32));
        assertThrows("the demo has no parameter block", IllegalArgumentException.class,
                () -> BenchGuests.iterations(BenchGuests.image("demo")));
    }

    // ---- the models: what the guests compute, written again in Java ----

    static String modelLine(String guest, long passes) {
        switch (guest) {
            case "bench-sieve": return sieveLine(passes);
            case "bench-crc32": return crc32Line(passes);
            case "bench-memcpy": return memcpyLine(passes);
            default: throw new IllegalArgumentException(guest);
        }
    }

    static String sieveLine(long passes) {
        boolean[] composite = new boolean[8192];
        int primes = 0;
        for (int i = 2; i < 8192; i++) {
            if (!composite[i]) {
                primes++;
                for (int j = i * i; j < 8192; j += i) {
                    composite[j] = true;
                }
            }
        }
        return "bench-sieve: " + passes + " passes, " + primes + " primes below 8192 per pass, " + passes * primes
                + " in total";
    }

    static String crc32Line(long passes) {
        byte[] buffer = new byte[4096];
        int x = 1;
        for (int k = 0; k < buffer.length; k++) {
            x = x * 1664525 + 1013904223;
            buffer[k] = (byte) (x >>> 24);
        }
        CRC32 crc = new CRC32();
        for (long p = 0; p < passes; p++) {
            crc.update(buffer);
        }
        return String.format(Locale.ROOT, "bench-crc32: %d passes over 4096 bytes, crc32 = 0x%08x", passes,
                crc.getValue());
    }

    static String memcpyLine(long passes) {
        long[] a = new long[1024];
        for (int i = 0; i < a.length; i++) {
            a[i] = i * 0x9E3779B97F4A7C15L;
        }
        for (long p = 1; p <= passes; p++) {
            a[(int) (p & 1023)] += p;
            long[] b = a.clone();
            b[(int) ((7 * p) & 1023)] ^= p;
            a = b.clone(); // C <- B, A <- C
        }
        long h = 0;
        for (long v : a) {
            h = Long.rotateLeft(h, 5) ^ v;
        }
        return String.format(Locale.ROOT, "bench-memcpy: %d passes over 8192 bytes, checksum = 0x%016x", passes, h);
    }
}
