package io.jvmx.vmx.emulated.cpu;

import static org.junit.Assert.assertTrue;

import org.junit.Assume;
import org.junit.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Instruction lengths against a decoder nobody here wrote: GNU objdump. Thousands of random instructions (random
 * prefixes, opcodes from every map, VEX, random ModRM/SIB/displacement/immediate bytes) are decoded by our
 * {@link Decoder} and by {@code objdump -M intel64} (Intel's rules for operand sizes, e.g. rel32 branches in 64-bit
 * mode) in 16-, 32- and 64-bit mode; every instruction objdump accepts must have the same length.
 *
 * <p>Each instruction sits in its own 16-byte slot padded with NOPs (90H), so that a disagreement cannot shift the
 * instructions after it. Excluded: encodings where the SDM and objdump describe different processors (EVEX, AMD's
 * XOP and SSE4a, the 386's MOV to/from test registers 0F 24/0F 26), and what objdump calls (bad). Needs GNU binutils; {@code -Djvmx.decoder.cases=N} per mode (default 4000).
 */
public class DecoderObjdumpTest {
    private static final int SLOT = 16;
    private static final int CASES = Integer.getInteger("jvmx.decoder.cases", 4000);
    private static final Pattern LINE = Pattern.compile("^\\s*([0-9a-f]+):\\t((?:[0-9a-f]{2} )+)\\s*\\t?(.*)$");
    /** objdump lines that hold only prefixes (it prints a prefix it considers unused on a line of its own). */
    private static final Pattern PREFIX_ONLY = Pattern.compile(
            "^(rex(\\.[WRXB]+)?|data16|data32|addr16|addr32|lock|repz|repnz|rep|cs|ds|es|ss|fs|gs|bnd|notrack|xacquire|xrelease)$");

    @Test
    public void lengthsAgreeWithObjdumpInEveryMode() throws Exception {
        Assume.assumeTrue("GNU objdump is not on the PATH: the decoder's lengths cannot be compared with it "
                + "(install binutils)", objdumpAvailable());
        List<String> problems = new ArrayList<>();
        int compared = 0;
        for (int mode : new int[] {Insn.MODE16, Insn.MODE32, Insn.MODE64}) {
            compared += compare(mode, new Random(0x5EED + mode), problems);
        }
        assertTrue(problems.size() + " of " + compared + " lengths differ from objdump, e.g.:\n"
                + String.join("\n", problems.subList(0, Math.min(25, problems.size()))), problems.isEmpty());
        assertTrue("too few instructions were comparable: " + compared, compared > CASES);
    }

    private static int compare(int mode, Random rnd, List<String> problems) throws Exception {
        byte[] image = new byte[CASES * SLOT];
        java.util.Arrays.fill(image, (byte) 0x90);
        int[] ours = new int[CASES];
        byte[][] candidates = new byte[CASES][];
        for (int k = 0; k < CASES; k++) {
            byte[] c = candidate(mode, rnd);
            Insn insn = new Insn();
            final byte[] bytes = c;
            Decoder.decode(insn, mode, off -> bytes[off] & 0xFF, new CpuFault());
            ours[k] = insn.len;
            candidates[k] = c;
            System.arraycopy(c, 0, image, k * SLOT, insn.len);
        }
        int[] theirs = objdumpLengths(image, mode);
        int compared = 0;
        for (int k = 0; k < CASES; k++) {
            if (theirs[k] < 0) {
                continue; // objdump: (bad), or an encoding it decodes for another vendor
            }
            compared++;
            if (theirs[k] != ours[k]) {
                StringBuilder hex = new StringBuilder();
                for (int b = 0; b < 15; b++) {
                    hex.append(String.format("%02x ", candidates[k][b] & 0xFF));
                }
                problems.add(String.format("mode %d: %s: ours %d, objdump %d", 16 << mode, hex.toString().trim(),
                        ours[k], theirs[k]));
            }
        }
        return compared;
    }

    /** 15 bytes that start with a plausible instruction: prefixes in the usual order, an opcode, then random bytes. */
    private static byte[] candidate(int mode, Random rnd) {
        byte[] b = new byte[15];
        for (int k = 0; k < b.length; k++) {
            b[k] = (byte) rnd.nextInt(256);
        }
        int n = 0;
        if (rnd.nextInt(8) == 0) {
            b[n++] = (byte) new int[] {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65}[rnd.nextInt(6)];
        }
        if (rnd.nextInt(4) == 0) {
            b[n++] = 0x66;
        }
        if (rnd.nextInt(6) == 0) {
            b[n++] = 0x67;
        }
        if (rnd.nextInt(6) == 0) {
            b[n++] = (byte) (rnd.nextBoolean() ? 0xF2 : 0xF3);
        }
        boolean mode64 = mode == Insn.MODE64;
        int kind = rnd.nextInt(10);
        if (kind < 5) { // one-byte map
            int op;
            do {
                op = rnd.nextInt(256);
            } while (isPrefix(op, mode64) || op == 0x0F || op == 0x62 || op == 0x8F || op == 0xC4 || op == 0xC5);
            if (mode64 && rnd.nextBoolean()) {
                b[n++] = (byte) (0x40 | rnd.nextInt(16));
            }
            b[n] = (byte) op;
        } else if (kind < 8) { // 0F map
            int op;
            do {
                op = rnd.nextInt(256);
            } while (op == 0x38 || op == 0x3A || op == 0x78 || op == 0x79 || op == 0x0F || op == 0x24 || op == 0x26);
            if (mode64 && rnd.nextBoolean()) {
                b[n++] = (byte) (0x40 | rnd.nextInt(16));
            }
            b[n++] = 0x0F;
            b[n] = (byte) op;
        } else if (kind == 8) { // 0F 38 / 0F 3A
            if (mode64 && rnd.nextBoolean()) {
                b[n++] = (byte) (0x40 | rnd.nextInt(16));
            }
            b[n++] = 0x0F;
            b[n++] = (byte) (rnd.nextBoolean() ? 0x38 : 0x3A);
            b[n] = (byte) rnd.nextInt(256);
        } else { // VEX: no legacy prefixes before it (2.3.2)
            n = 0;
            if (rnd.nextBoolean()) {
                b[n++] = (byte) 0xC5;
                b[n++] = (byte) (mode64 ? rnd.nextInt(256) : 0x80 | 0x40 | rnd.nextInt(64)); // mod = 11b outside 64-bit
            } else {
                b[n++] = (byte) 0xC4;
                b[n++] = (byte) ((mode64 ? rnd.nextInt(8) << 5 : 0xE0) | (1 + rnd.nextInt(3)));
                b[n++] = (byte) rnd.nextInt(256);
            }
            b[n] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    private static boolean isPrefix(int op, boolean mode64) {
        return op == 0x26 || op == 0x2E || op == 0x36 || op == 0x3E || op == 0x64 || op == 0x65 || op == 0x66
                || op == 0x67 || op == 0xF0 || op == 0xF2 || op == 0xF3 || (mode64 && (op & 0xF0) == 0x40);
    }

    /** objdump's length of the instruction at the start of each slot; -1 where it is not comparable. */
    private static int[] objdumpLengths(byte[] image, int mode) throws IOException, InterruptedException {
        Path bin = Files.createTempFile("decoder", ".bin");
        try {
            Files.write(bin, image);
            String machine = mode == Insn.MODE64 ? "i386:x86-64" : mode == Insn.MODE32 ? "i386" : "i8086";
            String text = run("objdump", "-D", "--insn-width=15", "-b", "binary", "-m", machine, "-M",
                    mode == Insn.MODE64 ? "intel,intel64" : "intel", bin.toString());
            int[] len = new int[image.length / SLOT];
            java.util.Arrays.fill(len, -1);
            boolean[] bad = new boolean[len.length];
            int pendingStart = -1;
            int pendingLen = 0;
            for (String line : text.split("\n")) {
                Matcher m = LINE.matcher(line);
                if (!m.matches()) {
                    continue;
                }
                int off = Integer.parseInt(m.group(1), 16);
                int n = m.group(2).trim().split(" ").length;
                String asm = m.group(3).trim();
                if (pendingStart < 0) {
                    if (off % SLOT != 0) {
                        continue; // padding, or the tail of a long byte dump
                    }
                    pendingStart = off;
                    pendingLen = 0;
                }
                pendingLen += n;
                String mnemonic = asm.split("\\s+")[0];
                if (java.util.Arrays.stream(asm.split("\\s+")).allMatch(w -> PREFIX_ONLY.matcher(w).matches())) {
                    continue; // a line of prefixes only: the instruction goes on in the next line
                }
                int slot = pendingStart / SLOT;
                if (asm.contains("(bad)") || asm.startsWith(".byte") || asm.contains("{") || mnemonic.startsWith("xop")) {
                    bad[slot] = true;
                }
                len[slot] = bad[slot] ? -1 : pendingLen;
                pendingStart = -1;
            }
            return len;
        } finally {
            Files.deleteIfExists(bin);
        }
    }

    private static boolean objdumpAvailable() {
        try {
            return run("objdump", "--version").contains("GNU objdump");
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }

    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", cmd) + " did not finish");
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
