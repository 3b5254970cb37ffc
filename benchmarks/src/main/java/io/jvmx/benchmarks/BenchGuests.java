package io.jvmx.benchmarks;

import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestImage;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * The CPU-bound benchmark guests of the catalog (guests/src/main/asm/bench-*.S) and their parameter block: the
 * magic "ITER" at image offset 0x04 and the iteration count N, a little-endian unsigned 32-bit value, at offset
 * 0x08 (include/bench.inc). Changing N there changes how long a guest runs without reassembling it.
 */
public final class BenchGuests {

    /** The benchmark guests, in the order the reports list them. */
    public static final List<String> NAMES = List.of("bench-sieve", "bench-crc32", "bench-memcpy");

    static final int MAGIC_OFFSET = 0x04;
    static final int ITERATIONS_OFFSET = 0x08;
    private static final byte[] MAGIC = "ITER".getBytes(StandardCharsets.US_ASCII);

    private BenchGuests() {
    }

    /** The bundled image of a guest (any catalog name). */
    public static byte[] image(String name) {
        GuestImage image = BundledGuests.catalog().find(name).orElseThrow(() -> new IllegalArgumentException(
                "no guest image '" + name + "' in the catalog (benchmark guests: " + String.join(", ", NAMES) + ")"));
        return image.bytes();
    }

    /** The iteration count an image carries. */
    public static long iterations(byte[] image) {
        requireParameterBlock(image);
        return (image[ITERATIONS_OFFSET] & 0xFFL) | (image[ITERATIONS_OFFSET + 1] & 0xFFL) << 8
                | (image[ITERATIONS_OFFSET + 2] & 0xFFL) << 16 | (image[ITERATIONS_OFFSET + 3] & 0xFFL) << 24;
    }

    /** A copy of {@code image} that runs {@code iterations} times (1 .. 2^32 - 1). */
    public static byte[] withIterations(byte[] image, long iterations) {
        requireParameterBlock(image);
        if (iterations < 1 || iterations > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("iterations must be 1 .. 4294967295, not " + iterations);
        }
        byte[] copy = image.clone();
        for (int i = 0; i < 4; i++) {
            copy[ITERATIONS_OFFSET + i] = (byte) (iterations >>> (8 * i));
        }
        return copy;
    }

    private static void requireParameterBlock(byte[] image) {
        if (image.length < ITERATIONS_OFFSET + 4
                || !Arrays.equals(image, MAGIC_OFFSET, MAGIC_OFFSET + MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw new IllegalArgumentException("the image has no benchmark parameter block (\"ITER\" at offset 4)");
        }
    }
}
