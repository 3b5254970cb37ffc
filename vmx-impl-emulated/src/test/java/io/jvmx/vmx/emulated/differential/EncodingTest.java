package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.Assume;
import org.junit.Test;

/**
 * The encodings the forms generate are the instructions their names say: a few cases of every form go through GNU
 * objdump, which must decode each one at its length, with the form's mnemonic, and with a memory operand exactly
 * when the form is a memory form. Without this, a wrong encoding would still agree natively and in the interpreter
 * and the form would silently test something else. Skipped where objdump is not installed; the tests themselves
 * never need it.
 */
public class EncodingTest {
    private static final int CASES_PER_FORM = 3;
    private static final Pattern LINE = Pattern.compile("^\\s*([0-9a-f]+):\\t([0-9a-f ]+?)\\s*(?:\\t(.*))?$");

    /** An MMX or XMM register operand in a form's name ("mm", "mm/m64", "xmm1", "xmm2/m128"). */
    private static final Pattern MMX_OR_XMM_OPERAND = Pattern.compile("\\bx?mm\\d*\\b");

    private record Sample(InstructionForm form, byte[] code, int offset) {
    }

    /** Where the cases' pages would be: objdump only decodes the bytes, so any addresses do. */
    private static final Layout LAYOUT = new Layout(0x4000_0000L, 0x4000_2000L, 0x4000_4000L, 0x7000_0000L, 0);

    @Test
    public void objdumpDecodesEveryFormAsNamed() throws IOException, InterruptedException {
        Assume.assumeTrue("GNU objdump is not installed", objdumpAvailable());
        List<String> wrong = new ArrayList<>();
        for (InstructionForm.Mode mode : InstructionForm.Mode.NATIVE) {
            wrong.addAll(check(mode));
        }
        assertTrue(wrong.size() + " encodings are not what their forms say:\n" + String.join("\n", wrong),
                wrong.isEmpty());
    }

    /** The forms of one mode, disassembled together as that mode's code. */
    private static List<String> check(InstructionForm.Mode mode) throws IOException, InterruptedException {
        List<Sample> samples = new ArrayList<>();
        ByteArrayOutputStream blob = new ByteArrayOutputStream();
        for (InstructionForm form : FormTable.all()) {
            if (form.mode() != mode) {
                continue;
            }
            Random random = new Random(form.name().hashCode());
            for (int i = 0; i < CASES_PER_FORM; i++) {
                TestCase c = DifferentialRunner.generate(form, random, LAYOUT);
                samples.add(new Sample(form, c.code(), blob.size()));
                blob.writeBytes(c.code());
            }
        }
        if (samples.isEmpty()) {
            return List.of();
        }
        Path file = Files.createTempFile("jvmx-forms", ".bin");
        try {
            Files.write(file, blob.toByteArray());
            Map<Integer, String> decoded = disassemble(file, mode == InstructionForm.Mode.LONG_64 ? "i386:x86-64"
                    : "i386");
            List<String> wrong = new ArrayList<>();
            for (Sample s : samples) {
                String text = decoded.get(s.offset());
                if (text != null && text.matches("rex(\\.\\w+)?") && decoded.containsKey(s.offset() + 1)) {
                    // a REX that a later legacy prefix cancels: objdump shows it as an instruction of its own
                    text = text + " " + decoded.get(s.offset() + 1);
                }
                String problem = text == null ? "objdump did not decode an instruction at its start"
                        : check(s.form().name(), text);
                if (problem == null && !decoded.containsKey(s.offset() + s.code().length)
                        && s.offset() + s.code().length < blob.size()) {
                    problem = "objdump decoded a different length";
                }
                if (problem != null) {
                    wrong.add(s.form().name() + ": " + DifferentialRunner.hex(s.code()) + " -> " + text + ": "
                            + problem);
                }
            }
            return wrong;
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Null if the disassembly fits the form's name, else why not. */
    private static String check(String formName, String disassembly) {
        if (disassembly.contains("(bad)")) {
            // the x87 aliases the processor executes and the opcode tables leave blank (X87Ops): objdump does not
            // know them; that it calls exactly these two bytes undefined still shows they are the encodings meant
            boolean alias = formName.matches("(FSTP1|FCOM2|FCOMP3|FXCH4|FCOMP5|FXCH7|FSTP8|FSTP9) .*");
            // SALC: an opcode the SDM leaves reserved, so objdump does not know it; processors execute it
            boolean reserved = formName.startsWith("SALC (D6)");
            return alias && disassembly.trim().equals("(bad)") || reserved ? null : "objdump cannot decode it";
        }
        // a segment override ("FS: ADD ...") or LOCK comes first in the name and in the bytes
        String[] words = formName.replaceFirst("^[CDEFGS]S: ", "").replaceFirst("^LOCK ", "").split(" ");
        String expected = words[0].toLowerCase(Locale.ROOT);
        List<String> tokens = new ArrayList<>(List.of(disassembly.trim().split("\\s+")));
        String repeat = switch (expected) {
            case "rep" -> "rep";
            case "repe" -> "repz";
            case "repne" -> "repnz";
            default -> null;
        };
        if (repeat != null) {
            if (!tokens.get(0).equals(repeat)) {
                return "the repeat prefix should be " + repeat;
            }
            expected = words[1].toLowerCase(Locale.ROOT);
        }
        boolean simd = formName.contains("xmm");
        if (!simd && expected.matches("(movs|cmps|stos|lods|scas)[bwdq]")) {
            expected = expected.substring(0, 4); // objdump names the size in the operands
        }
        while (!tokens.isEmpty()
                && tokens.get(0).matches("rex(\\.\\w+)?|rep|repz|repnz|data16|data32|addr16|addr32|[cdefgs]s|lock|xacquire|xrelease")) {
            tokens.remove(0);
        }
        String mnemonic = tokens.isEmpty() ? "" : tokens.get(0);
        // x87: objdump marks the 16-bit environment layouts with a w, and the 8087/287 instructions with their chip
        mnemonic = mnemonic.replaceFirst("^(fnstenv|fldenv|fnsave|frstor)w$", "$1").replaceFirst("\\(.*$", "");
        if (mnemonic.equals("movabs")) {
            mnemonic = "mov"; // objdump's name for MOV r64, imm64
        }
        if (simd && expected.matches("cmp(ps|pd|ss|sd)")
                && mnemonic.matches("cmp(eq|lt|le|unord|neq|nlt|nle|ord)" + expected.substring(3))) {
            mnemonic = expected; // objdump names CMPPS and relatives by their predicate (imm8[2:0], SDM Table 3-1)
        }
        if (simd && expected.startsWith("pcmpestr") && mnemonic.equals(expected + "q")) {
            mnemonic = expected; // objdump's name for the REX.W form (64-bit lengths in RAX and RDX)
        }
        if (expected.equals("nop") && disassembly.trim().matches("xchg\\s+ax,ax")) {
            return null; // 66 90: the SDM's two-byte NOP, named by objdump after what it encodes
        }
        // the x87, MMX, SSE and XSAVE mnemonics must match exactly: there a size letter is part of the name (MOVQ is
        // not MOV, FLDS not FLD)
        boolean exact = expected.startsWith("f") || MMX_OR_XMM_OPERAND.matcher(formName).find()
                || formName.matches("((LD|ST)MXCSR|XSAVE|XRSTOR|MOVNTI)\\w* .*");
        if (exact ? !mnemonic.equals(expected) : !sameMnemonic(mnemonic, expected)) {
            return "the mnemonic should be " + expected;
        }
        boolean memoryOperand = disassembly.contains("[");
        if (formName.endsWith(", memory") && !memoryOperand) {
            return "a memory form without a memory operand";
        }
        if (formName.endsWith(", register") && memoryOperand) {
            return "a register form with a memory operand";
        }
        return null;
    }

    /**
     * The SDM's mnemonic and objdump's are the same but for an operand-size suffix one of them may add (PUSHFQ /
     * pushf, PUSH with 66H / pushw, ENTER with 66H / enterw).
     */
    private static boolean sameMnemonic(String objdump, String sdm) {
        if (objdump.equals(sdm)) {
            return true;
        }
        String longer = objdump.length() > sdm.length() ? objdump : sdm;
        String shorter = longer == objdump ? sdm : objdump;
        return longer.length() == shorter.length() + 1 && longer.startsWith(shorter)
                && "wdq".indexOf(longer.charAt(longer.length() - 1)) >= 0;
    }

    /** Offset of each decoded instruction -> its text (continuation lines of long instructions have none). */
    private static Map<Integer, String> disassemble(Path file, String machine) throws IOException,
            InterruptedException {
        Process p = new ProcessBuilder("objdump", "-D", "-b", "binary", "-m", machine, "-M", "intel",
                file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("objdump failed: " + out);
        }
        Map<Integer, String> decoded = new HashMap<>();
        for (String line : out.split("\n")) {
            Matcher m = LINE.matcher(line);
            if (m.matches() && m.group(3) != null) {
                decoded.put(Integer.parseInt(m.group(1), 16), m.group(3).trim());
            }
        }
        return decoded;
    }

    private static boolean objdumpAvailable() {
        try {
            Process p = new ProcessBuilder("objdump", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException | InterruptedException e) {
            return false;
        }
    }
}
