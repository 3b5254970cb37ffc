package io.jvmx.vmx.emulated.differential;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Runs the cases of one form on both processors and compares: every register (RSP: its change), the data page, the
 * flags — those the SDM defines for the case, or all observed flags when undefined results are compared too (see
 * {@link DifferentialTest}) — and for cases with an x87/SSE state that state and the exception the instruction
 * raised. A form stops at its first mismatch, which is kept for the report.
 */
final class DifferentialRunner {
    /**
     * What happened to one form: cases run, and the first mismatch (null if none); for transcendental forms also how
     * many cases differed only in the last bit of the result, with the first of them (null if none).
     */
    record FormResult(InstructionForm form, int cases, String mismatch, int lastBitCases, String firstLastBit) {
        boolean differs() {
            return mismatch != null;
        }
    }

    private static final int MAX_REJECTED_IN_A_ROW = 10_000;

    private final NativeCpu nativeCpu;
    private final InterpreterCpu interpreter;
    private final boolean compareUndefined;
    /** The native processor is an Intel one: what the SDM defines and this AMD does otherwise is compared too. */
    private final boolean intel;
    private final long seed;
    private final int casesPerForm;

    DifferentialRunner(NativeCpu nativeCpu, InterpreterCpu interpreter, boolean compareUndefined, boolean intel,
                       long seed, int casesPerForm) {
        this.nativeCpu = nativeCpu;
        this.interpreter = interpreter;
        this.compareUndefined = compareUndefined;
        this.intel = intel;
        this.seed = seed;
        this.casesPerForm = casesPerForm;
    }

    /** Set by {@link #compare}: the case differed only in a last bit it tolerates (a transcendental result). */
    private boolean lastBitOnly;

    FormResult run(InstructionForm form) {
        // one stream per form, so a form's cases do not depend on which other forms run
        Random random = new Random(seed * 0x9E37_79B9L + form.name().hashCode());
        int lastBitCases = 0;
        String firstLastBit = null;
        int cases = casesPerForm * form.caseFactor();
        for (int i = 0; i < cases; i++) {
            TestCase c = generate(form, random);
            MachineState expected = nativeCpu.execute(c.code(), c.input());
            InterpreterCpu.Outcome actual = interpreter.execute(c.code(), c.input());
            lastBitOnly = false;
            String difference = compare(c, expected, actual);
            if (difference != null) {
                return new FormResult(form, i + 1, describe(form, i + 1, c, expected, actual, difference),
                        lastBitCases, firstLastBit);
            }
            if (lastBitOnly) {
                logLastBit(form, c, expected, actual.state());
                lastBitCases++;
                if (firstLastBit == null) {
                    firstLastBit = describe(form, i + 1, c, expected, actual, "the last bit of the result");
                }
            }
        }
        return new FormResult(form, cases, null, lastBitCases, firstLastBit);
    }


    /**
     * With {@code -Djvmx.differential.lastBitLog=file}, every last-bit difference is appended to the file, one line
     * each: the form, the control word, ST(0) and ST(1) before, and ST(0), ST(1) and the status word after, natively
     * and in the interpreter (sign and exponent:significand in hex), to check them against a reference.
     */
    private void logLastBit(InstructionForm form, TestCase c, MachineState expected, MachineState actual) {
        String file = System.getProperty("jvmx.differential.lastBitLog");
        if (file == null || file.isBlank()) {
            return;
        }
        byte[] in = c.input().fxsave;
        String line = String.format("%s|%04x|%s|%s|%s|%n", form.name(), FxsaveImage.get16(in, FxsaveImage.FCW),
                registers(in), registers(expected.fxsave), registers(actual.fxsave));
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of(file), line, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String registers(byte[] image) {
        return String.format("%04x:%016x %04x:%016x %04x", FxsaveImage.exponent(image, 0), FxsaveImage.significand(image, 0),
                FxsaveImage.exponent(image, 1), FxsaveImage.significand(image, 1), FxsaveImage.get16(image, FxsaveImage.FSW));
    }

    private TestCase generate(InstructionForm form, Random random) {
        for (int attempt = 0; attempt < MAX_REJECTED_IN_A_ROW; attempt++) {
            CaseBuilder b = new CaseBuilder(random, nativeCpu.dataAddress());
            byte[] code = form.generator().generate(b);
            if (code != null) {
                return b.build(code);
            }
        }
        throw new IllegalStateException(form.name() + ": the generator rejected " + MAX_REJECTED_IN_A_ROW
                + " cases in a row");
    }

    /** Null if the interpreter agrees with the native result on everything compared; else what differs. */
    private String compare(TestCase c, MachineState expected, InterpreterCpu.Outcome outcome) {
        if (!outcome.halted()) {
            return "the interpreter did not complete the instruction: " + outcome.failure();
        }
        MachineState actual = outcome.state();
        List<String> differences = new ArrayList<>();
        boolean compat = c.input().compat;
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            boolean undefined = (c.undefinedRegisters() & 1 << i) != 0 && !compareUndefined;
            if (compat && i != MachineState.RSP) {
                // 32-bit code: bits 63:32 and R8-R15 are not the case's (see MachineState#compat)
                if (i < 8 && !undefined && (int) expected.gpr[i] != (int) actual.gpr[i]) {
                    differences.add(MachineState.registerName(i));
                }
                continue;
            }
            if (!undefined && expected.gpr[i] != actual.gpr[i]) {
                differences.add(i == MachineState.RSP ? "the change of rsp" : MachineState.registerName(i));
            }
        }
        long compared = compareUndefined ? Flags.OBSERVED : c.definedFlags();
        if (!intel) {
            compared &= ~c.x87().intelOnlyFlags();
        }
        long flags = (expected.rflags ^ actual.rflags) & compared;
        if (flags != 0) {
            differences.add("flags " + Flags.names(flags));
        }
        for (int i = 0; i < expected.data.length; i++) {
            if (expected.data[i] != actual.data[i] && !skipped(c, i)) {
                differences.add("memory");
                break;
            }
        }
        if (c.input().fxsave != null) {
            compareState(c, expected.fxsave, actual.fxsave, differences);
            if (expected.exception != actual.exception) {
                differences.add(String.format("the exception (native %s, interpreter %s)",
                        expected.exception < 0 ? "none" : InterpreterCpu.exceptionName(expected.exception),
                        actual.exception < 0 ? "none" : InterpreterCpu.exceptionName(actual.exception)));
            }
        }
        if (differences.isEmpty()) {
            return null;
        }
        String text = String.join(", ", differences);
        boolean onlyUndefinedFlags = compareUndefined && flags != 0 && differences.size() == 1
                && (flags & c.definedFlags()) == 0;
        return onlyUndefinedFlags ? text + " (only flags the SDM leaves undefined)" : text;
    }

    /**
     * Data-page byte {@code i} is not compared: the SDM leaves it undefined for this case, or it is the MXCSR_MASK of
     * an FXSAVE image or XSAVE legacy region (the implementation's own value, see {@link TestCase#legacyRegion}).
     */
    private boolean skipped(TestCase c, int i) {
        if (!compareUndefined && i >= c.undefinedDataFrom() && i < c.undefinedDataTo()) {
            return true;
        }
        int region = c.legacyRegion();
        return region >= 0 && i >= region + FxsaveImage.MXCSR_MASK && i < region + FxsaveImage.MXCSR_MASK + 4;
    }

    /**
     * The x87 and SSE state after the case (FXSAVE64 images, {@link FxsaveImage}). The x87 part: control, status
     * (less the bits the SDM leaves undefined for the case) and tag words, the registers ST(0)-ST(7) (and so
     * MM0-MM7) with their slots' reserved bytes; the opcode and the instruction pointer, and for a memory operand the
     * data pointer, when a non-control instruction raised an unmasked exception: only then does every processor define
     * them (Vol. 1, 8.1.8, 8.1.9: an Intel processor may update the data pointer and opcode only then; this one, an
     * AMD, does the same with the instruction pointer, keeps pointers it loaded in fewer bits, and without a memory
     * operand the data pointer is undefined). The SSE part: MXCSR and XMM0-15 (XMM0-7 in 32-bit code, where FXSAVE
     * writes no others; RCPPS/RSQRTPS results within their error bound). And that neither wrote bytes 416-511. The
     * MXCSR_MASK is the implementation's (this processor's allows more bits).
     */
    private void compareState(TestCase c, byte[] e, byte[] a, List<String> differences) {
        TestCase.X87Check check = c.x87();
        boolean tolerated = false;
        if (intel || !check.intelOnlyState()) {
            tolerated = compareX87(c, e, a, differences);
        }
        if (!Arrays.equals(e, FxsaveImage.MXCSR, FxsaveImage.MXCSR_MASK, a, FxsaveImage.MXCSR,
                FxsaveImage.MXCSR_MASK)) {
            differences.add("MXCSR");
        }
        int registers = c.input().compat ? 8 : 16;
        for (int r = 0; r < registers; r++) {
            long el = FxsaveImage.xmm(e, 2 * r), eh = FxsaveImage.xmm(e, 2 * r + 1);
            long al = FxsaveImage.xmm(a, 2 * r), ah = FxsaveImage.xmm(a, 2 * r + 1);
            boolean same = (c.approximateXmm() & 1 << r) != 0
                    ? Approximate.close(el, al) && Approximate.close(eh, ah) : el == al && eh == ah;
            if (!same) {
                differences.add("XMM" + r);
            }
        }
        if (!Arrays.equals(e, FxsaveImage.WRITTEN_END, e.length, a, FxsaveImage.WRITTEN_END, a.length)) {
            differences.add("FXSAVE bytes 416-511");
        }
        lastBitOnly = tolerated;
    }

    /** The x87 part of {@link #compareState}; true if a last-bit difference was tolerated. */
    private boolean compareX87(TestCase c, byte[] e, byte[] a, List<String> differences) {
        TestCase.X87Check check = c.x87();
        int ew = FxsaveImage.get16(e, FxsaveImage.FSW), aw = FxsaveImage.get16(a, FxsaveImage.FSW);
        int statusCompared = compareUndefined ? 0xFFFF : ~check.undefinedStatus() & 0xFFFF;
        if (!intel) {
            statusCompared &= ~check.intelOnlyStatus();
        }
        if (FxsaveImage.get16(e, FxsaveImage.FCW) != FxsaveImage.get16(a, FxsaveImage.FCW)) {
            differences.add("FCW");
        }
        boolean tolerated = false;
        int statusDiffers = (ew ^ aw) & statusCompared;
        boolean lastBitRegister = false;
        for (int i = 0; i < 8 && check.lastBit(); i++) {
            int at = FxsaveImage.ST0 + 16 * i;
            lastBitRegister |= !Arrays.equals(e, at, at + 16, a, at, at + 16) && lastBitApart(e, a, i);
        }
        // C1 says whether the result was rounded up: relative to the processor's own approximation of the function,
        // so it may differ with the same result too, wherever a result was rounded (PE set, or sticky from before)
        boolean rounded = (ew & FxsaveImage.PE) != 0;
        if ((lastBitRegister || rounded) && check.lastBit() && statusDiffers == FxsaveImage.C1) {
            statusDiffers = 0;
            tolerated = true;
        }
        if (statusDiffers != 0) {
            differences.add("FSW");
        }
        if (e[FxsaveImage.FTW] != a[FxsaveImage.FTW] || e[FxsaveImage.FTW + 1] != a[FxsaveImage.FTW + 1]) {
            differences.add("FTW");
        }
        if (check.setsPointers() && (ew & FxsaveImage.ES) != 0) {
            if (!Arrays.equals(e, FxsaveImage.FOP, FxsaveImage.FDP, a, FxsaveImage.FOP, FxsaveImage.FDP)) {
                differences.add("FOP/FIP after an unmasked exception");
            }
            if (c.memoryOffset() >= 0 && !Arrays.equals(e, FxsaveImage.FDP, FxsaveImage.MXCSR, a, FxsaveImage.FDP,
                    FxsaveImage.MXCSR)) {
                differences.add("FDP after an unmasked exception");
            }
        }
        for (int i = 0; i < 8; i++) {
            int at = FxsaveImage.ST0 + 16 * i;
            if (!Arrays.equals(e, at, at + 16, a, at, at + 16)) {
                if (check.lastBit() && lastBitApart(e, a, i)) {
                    tolerated = true;
                } else {
                    differences.add("ST(" + i + ")");
                }
            }
        }
        return tolerated;
    }

    /** ST(i) differs by one unit in the last place: same sign, 80-bit encodings one apart, slot padding equal. */
    private static boolean lastBitApart(byte[] e, byte[] a, int i) {
        int at = FxsaveImage.ST0 + 16 * i;
        if (!Arrays.equals(e, at + 10, at + 16, a, at + 10, at + 16)) {
            return false;
        }
        int es = FxsaveImage.exponent(e, i), as = FxsaveImage.exponent(a, i);
        if ((es & 0x8000) != (as & 0x8000)) {
            return false;
        }
        BigInteger ev = BigInteger.valueOf(es & 0x7FFF).shiftLeft(64)
                .add(new BigInteger(Long.toUnsignedString(FxsaveImage.significand(e, i))));
        BigInteger av = BigInteger.valueOf(as & 0x7FFF).shiftLeft(64)
                .add(new BigInteger(Long.toUnsignedString(FxsaveImage.significand(a, i))));
        BigInteger d = ev.subtract(av).abs();
        // within a binade the encodings differ by one; across a power of two (J set both sides) by 2^63 + 1
        return d.equals(BigInteger.ONE)
                || (d.equals(BigInteger.ONE.shiftLeft(63).add(BigInteger.ONE))
                && Math.abs((es & 0x7FFF) - (as & 0x7FFF)) == 1);
    }

    private String describe(InstructionForm form, int caseNumber, TestCase c, MachineState expected,
                            InterpreterCpu.Outcome outcome, String difference) {
        StringBuilder sb = new StringBuilder();
        sb.append(form.name()).append('\n');
        sb.append(String.format("  case %d (seed %d): bytes %s  [%s]%n", caseNumber, seed, hex(c.code()),
                c.operands()));
        MachineState in = c.input();
        sb.append("  input:       ").append(registers(in, null, null, true)).append("  flags ")
                .append(Flags.names(in.rflags));
        if (c.memoryOffset() >= 0) {
            sb.append(String.format("  data+%#x: %s", c.memoryOffset(), hex(Arrays.copyOfRange(in.data,
                    c.memoryOffset(), Math.min(c.memoryOffset() + 8, in.data.length)))));
        }
        sb.append('\n');
        MachineState actual = outcome.halted() ? outcome.state() : null;
        sb.append("  native:      ").append(registers(in, expected, actual, false)).append("  flags ")
                .append(Flags.names(expected.rflags)).append('\n');
        if (actual != null) {
            sb.append("  interpreter: ").append(registers(in, actual, expected, false)).append("  flags ")
                    .append(Flags.names(actual.rflags)).append('\n');
        }
        sb.append("  differs:     ").append(difference);
        long compared = compareUndefined ? Flags.OBSERVED : c.definedFlags();
        if (compared != Flags.OBSERVED) {
            sb.append("  (flags compared: ").append(Flags.names(compared)).append(')');
        }
        sb.append('\n');
        if (in.fxsave != null) {
            describeState(sb, c, expected.fxsave, actual == null ? null : actual.fxsave);
        }
        if (actual != null) {
            int shown = 0;
            for (int i = 0; i < in.data.length && shown < 8; i++) {
                if (expected.data[i] != actual.data[i] && !skipped(c, i)) {
                    sb.append(String.format("  data+%#05x:  input %02x, native %02x, interpreter %02x%n", i,
                            in.data[i] & 0xFF, expected.data[i] & 0xFF, actual.data[i] & 0xFF));
                    shown++;
                }
            }
        }
        return sb.toString();
    }

    /** The x87 state in, natively and in the interpreter; MXCSR; the XMM registers that changed or are operands. */
    private static void describeState(StringBuilder sb, TestCase c, byte[] expected, byte[] actual) {
        byte[] in = c.input().fxsave;
        sb.append("  x87 input:       ").append(FxsaveImage.describe(in)).append('\n');
        sb.append("  x87 native:      ").append(FxsaveImage.describe(expected)).append('\n');
        if (actual != null) {
            sb.append("  x87 interpreter: ").append(FxsaveImage.describe(actual)).append('\n');
        }
        sb.append(String.format("  mxcsr: input %#06x, native %#06x", FxsaveImage.mxcsr(in),
                FxsaveImage.mxcsr(expected)));
        if (actual != null) {
            sb.append(String.format(", interpreter %#06x", FxsaveImage.mxcsr(actual)));
        }
        sb.append('\n');
        for (int r = 0; r < 16; r++) {
            long il = FxsaveImage.xmm(in, 2 * r), ih = FxsaveImage.xmm(in, 2 * r + 1);
            long el = FxsaveImage.xmm(expected, 2 * r), eh = FxsaveImage.xmm(expected, 2 * r + 1);
            boolean changed = el != il || eh != ih || (actual != null
                    && (FxsaveImage.xmm(actual, 2 * r) != el || FxsaveImage.xmm(actual, 2 * r + 1) != eh));
            if (changed || c.operands().contains("xmm" + r + ",") || c.operands().endsWith("xmm" + r)) {
                sb.append(String.format("  xmm%-2d input %016x_%016x  native %016x_%016x", r, ih, il, eh, el));
                if (actual != null) {
                    sb.append(String.format("  interpreter %016x_%016x", FxsaveImage.xmm(actual, 2 * r + 1),
                            FxsaveImage.xmm(actual, 2 * r)));
                }
                sb.append('\n');
            }
        }
    }

    /**
     * All registers of {@code state} ({@code all}), or those that {@code state} changed or that differ from
     * {@code other}.
     */
    private static String registers(MachineState in, MachineState state, MachineState other, boolean all) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            if (i == MachineState.RSP) {
                if (!all && (state.gpr[i] != 0 || (other != null && other.gpr[i] != 0))) {
                    sb.append(String.format("rsp%+d ", state.gpr[i]));
                }
                continue;
            }
            long v = all ? in.gpr[i] : state.gpr[i];
            if (all || v != in.gpr[i] || (other != null && other.gpr[i] != v)) {
                sb.append(String.format("%s=%x ", MachineState.registerName(i), v));
            }
        }
        return sb.length() == 0 ? "(no register changed)" : sb.toString().trim();
    }

    static String hex(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        for (byte b : bytes) {
            sb.append(sb.length() == 0 ? "" : " ").append(String.format("%02x", b & 0xFF));
        }
        return sb.toString();
    }
}
