package io.jvmx.vmx.emulated.fuzz;

import java.util.Random;

/**
 * One fuzz case, all of it derived from (seed, index), so that {@code -Djvmx.fuzz.replay=seed:index} runs it again:
 * the mode and CPL it starts in, the exception bitmap (all ones: every exception is a VM exit; 0: every exception is
 * delivered through the guest's IDT to a HLT; or random), a page of code, random bytes or random instructions, and
 * where in it the guest starts ({@code entry}, an offset in the page).
 * The rest of the guest (registers, flags, control registers, paging, VMX controls) comes from {@link #random()} in
 * {@link FuzzGuest#setUp}.
 */
record FuzzCase(long seed, int index, FuzzMode mode, int cpl, long exceptionBitmap, byte[] code, int entry) {

    static FuzzCase of(long seed, int index) {
        Random r = new Random(mix(seed, index));
        FuzzMode[] modes = FuzzMode.values();
        FuzzMode mode = modes[r.nextInt(modes.length)];
        int cpl = mode.virtual8086() ? 3 : mode.real() || r.nextBoolean() ? 0 : 3;
        long bitmap = switch (r.nextInt(3)) {
            case 0 -> 0xFFFF_FFFFL;
            case 1 -> 0;
            default -> r.nextLong() & 0xFFFF_FFFFL;
        };
        byte[] code;
        if (r.nextInt(3) == 0) {
            code = new byte[4096];
            r.nextBytes(code);
        } else {
            code = RandomCode.generate(r, mode.bits, 4096);
        }
        return new FuzzCase(seed, index, mode, cpl, bitmap, code, r.nextInt(0x100));
    }

    /** The source of the rest of the case's set-up. */
    Random random() {
        return new Random(mix(seed, index) ^ 0x5DEE_CE66DL);
    }

    private static long mix(long seed, int index) {
        long z = seed * 0x9E37_79B9_7F4A_7C15L + index;
        z = (z ^ (z >>> 30)) * 0xBF58_476D_1CE4_E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D0_49BB_1331_11EBL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        StringBuilder hex = new StringBuilder();
        for (int k = entry; k < entry + 48; k++) {
            hex.append(String.format("%02x ", code[k] & 0xFF));
        }
        return String.format("case %d:%d (replay with -Djvmx.fuzz.replay=%d:%d): %s at CPL %d, exception bitmap %#x,"
                + " code from offset %#x of the code page: %s...", seed, index, seed, index, mode, cpl,
                exceptionBitmap, entry, hex.toString().trim());
    }
}
