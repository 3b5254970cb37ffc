package io.jvmx.vmx.emulated.fuzz;

import java.io.ByteArrayOutputStream;
import java.util.Random;

/**
 * Code for the fuzzer: a mix of raw random bytes and random but well-formed-looking instructions (SDM Vol. 2,
 * chapter 2: legacy prefixes, REX in 64-bit mode, VEX, an opcode of one of the maps, ModRM, SIB, displacement and
 * immediate bytes), so that decoding gets past the first byte and the instructions' own checks are reached. The
 * immediate's length is random rather than the opcode's: an instruction that reads it differently just ends
 * somewhere else, which is more random code.
 */
final class RandomCode {
    private RandomCode() {
    }

    private static final int[] LEGACY_PREFIXES = {0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65};

    /** {@code length} bytes of code for a code segment of {@code bits} (16, 32, 64). */
    static byte[] generate(Random r, int bits, int length) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(length + 16);
        while (out.size() < length) {
            if (r.nextInt(4) == 0) {
                int n = 1 + r.nextInt(6);
                for (int k = 0; k < n; k++) {
                    out.write(r.nextInt(256));
                }
            } else {
                instruction(r, bits, out);
            }
        }
        byte[] code = out.toByteArray();
        return java.util.Arrays.copyOf(code, length);
    }

    private static void instruction(Random r, int bits, ByteArrayOutputStream out) {
        int prefixes = r.nextInt(8) == 0 ? r.nextInt(4) : r.nextInt(2);
        for (int k = 0; k < prefixes; k++) {
            int p = LEGACY_PREFIXES[r.nextInt(LEGACY_PREFIXES.length)];
            if (p == 0xF0 && r.nextInt(4) != 0) {
                p = 0x66; // LOCK mostly faults: less of it
            }
            out.write(p);
        }
        int kind = r.nextInt(100);
        if (kind < 8) {
            vex(r, bits, out);
            modrm(r, out);
            immediate(r, out);
            return;
        }
        if (bits == 64 && r.nextInt(3) == 0) {
            out.write(0x40 | r.nextInt(16));
        }
        if (kind < 60) {
            out.write(r.nextInt(256));
        } else if (kind < 88) {
            out.write(0x0F);
            out.write(r.nextInt(256));
        } else if (kind < 95) {
            out.write(0x0F);
            out.write(0x38);
            out.write(r.nextBoolean() ? 0xF0 + r.nextInt(16) : r.nextInt(256));
        } else {
            out.write(0x0F);
            out.write(0x3A);
            out.write(r.nextInt(256));
        }
        if (r.nextInt(5) != 0) {
            modrm(r, out);
        }
        immediate(r, out);
    }

    /** A 3- or 2-byte VEX prefix and an opcode, mostly in the 0F38/0F3A maps where the GPR instructions are. */
    private static void vex(Random r, int bits, ByteArrayOutputStream out) {
        // outside 64-bit mode the two bits after C4/C5 must be 1 for VEX (else LES/LDS): mostly so
        int rxb = bits == 64 || r.nextInt(4) == 0 ? r.nextInt(8) : 7;
        if (r.nextInt(4) == 0) {
            out.write(0xC5);
            out.write((rxb >>> 2) << 7 | r.nextInt(128));
            out.write(r.nextInt(256));
            return;
        }
        out.write(0xC4);
        out.write(rxb << 5 | (r.nextInt(6) == 0 ? r.nextInt(32) : 2 + r.nextInt(2)));
        out.write(r.nextInt(256) & (r.nextInt(3) == 0 ? 0xFF : 0xFB)); // VEX.L = 0 most of the time
        out.write(r.nextBoolean() ? 0xF0 + r.nextInt(8) : r.nextInt(256));
    }

    private static void modrm(Random r, ByteArrayOutputStream out) {
        int mod = r.nextInt(4);
        int rm = r.nextInt(8);
        out.write(mod << 6 | r.nextInt(8) << 3 | rm);
        if (mod != 3 && rm == 4) {
            out.write(r.nextInt(256));
        }
        int disp = mod == 1 ? 1 : mod == 2 ? 4 : rm == 5 && mod == 0 ? 4 : 0;
        for (int k = 0; k < disp; k++) {
            out.write(r.nextInt(4) == 0 ? r.nextInt(256) : 0);
        }
    }

    private static void immediate(Random r, ByteArrayOutputStream out) {
        int n = new int[] {0, 0, 1, 1, 2, 4}[r.nextInt(6)];
        for (int k = 0; k < n; k++) {
            out.write(r.nextInt(256));
        }
    }
}
