package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Runs the cases of one form on both processors and compares: every register (in compatibility mode the low 32 bits
 * of RAX..RDI, the only ones there), RIP (the landing site reached), the segment selectors, the data page, the stack
 * page, the flags — those the SDM defines for the case, or all observed flags when undefined results are compared
 * too (see {@link DifferentialTest}) — and for cases with an x87/SSE state that state and the exception the
 * instruction raised. A form stops at its first mismatch, which is kept for the report.
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
    /**
     * {@code -Djvmx.differential.trace=true}: every case is printed before it runs natively, so that a case that
     * crashes the JVM (a fault natively is a signal) can be found from the last line before the crash.
     */
    private static final boolean TRACE = Boolean.getBoolean("jvmx.differential.trace");

    private final NativeCpu nativeCpu;
    private final InterpreterCpu interpreter;
    private final Layout layout;
    private final boolean compareUndefined;
    /** The native processor is an Intel one: what the SDM defines and this AMD does otherwise is compared too. */
    private final boolean intel;
    private final long seed;
    private final int casesPerForm;

    DifferentialRunner(NativeCpu nativeCpu, InterpreterCpu interpreter, boolean compareUndefined, boolean intel,
                       long seed, int casesPerForm) {
        this.nativeCpu = nativeCpu;
        this.interpreter = interpreter;
        this.layout = Layout.of(nativeCpu);
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
            TestCase c = generate(form, random, layout);
            if (TRACE) {
                System.err.printf("%s case %d: %s [%s] rsp=stack+%#x%n", form.name(), i + 1, hex(c.code()),
                        c.operands(), c.input().gpr[MachineState.RSP] - layout.stack());
                System.err.flush();
            }
            MachineState expected = nativeCpu.execute(c.mode(), c.code(), c.landingSites(), c.input());
            InterpreterCpu.Outcome actual = runInterpreter(form.mode(), c);
            lastBitOnly = false;
            String difference = compare(form.mode(), c, expected, actual);
            if (difference != null) {
                difference = confirmNatively(form, c, actual, difference);
            }
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
     * A difference is confirmed by running the case natively twice more: the native side is a user process that the
     * kernel may interrupt between the instruction and the harness saving its result (seen here: a timer interrupt's
     * return to user mode left ES holding 0 where POP ES had loaded the null selector 3). If the native runs do not
     * agree among themselves and one of them agrees with the interpreter, the first was disturbed and the case
     * passes; a difference the native processor repeats stands. Null if the case passes.
     */
    private String confirmNatively(InstructionForm form, TestCase c, InterpreterCpu.Outcome actual,
                                   String difference) {
        for (int run = 0; run < 2; run++) {
            MachineState again = nativeCpu.execute(c.mode(), c.code(), c.landingSites(), c.input());
            lastBitOnly = false;
            if (compare(form.mode(), c, again, actual) == null) {
                System.err.printf("%s: a native run differed from the interpreter, the next native run of the same "
                        + "case agreed with it (the first was disturbed)%n", form.name());
                return null;
            }
        }
        return difference;
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
                x87Registers(in), x87Registers(expected.fxsave), x87Registers(actual.fxsave));
        try {
            java.nio.file.Files.writeString(java.nio.file.Path.of(file), line, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String x87Registers(byte[] image) {
        return String.format("%04x:%016x %04x:%016x %04x", FxsaveImage.exponent(image, 0),
                FxsaveImage.significand(image, 0), FxsaveImage.exponent(image, 1), FxsaveImage.significand(image, 1),
                FxsaveImage.get16(image, FxsaveImage.FSW));
    }

    /**
     * The guest run of case {@code c} in {@code mode}: the case's instruction, or for 16-bit code its
     * size-toggled twin, placed so that it ends where the native one ends (see {@link SixteenBitForms}).
     */
    private InterpreterCpu.Outcome runInterpreter(Mode mode, TestCase c) {
        if (!mode.sixteenBit()) {
            return interpreter.execute(mode, c.code(), c.landingSites(), c.input());
        }
        byte[] code = SixteenBitForms.toggleSizes(c.code());
        int offset = NativeCpu.INSTRUCTION_OFFSET + c.code().length - code.length;
        return interpreter.execute(mode, code, c.landingSites(), c.input(), offset);
    }

    /** A case of {@code form}: generated until the generator and the landing-site check accept one. */
    static TestCase generate(InstructionForm form, Random random, Layout layout) {
        for (int attempt = 0; attempt < MAX_REJECTED_IN_A_ROW; attempt++) {
            CaseBuilder b = new CaseBuilder(random, layout, form.mode());
            byte[] code = form.generator().generate(b);
            TestCase c = code == null ? null : b.build(code);
            if (c != null && form.mode().sixteenBit() && SixteenBitForms.toggleSizes(code).length > 15) {
                c = null; // its 16-bit twin would be too long to be an instruction
            }
            if (c != null) {
                return c;
            }
        }
        throw new IllegalStateException(form.name() + ": the generator rejected " + MAX_REJECTED_IN_A_ROW
                + " cases in a row");
    }

    /** Register {@code i} as the case's mode has it: all 64 bits, or the low 32 of RAX..RDI in 32-bit code. */
    private static long register(TestCase c, MachineState s, int i) {
        return c.mode() == Mode.LONG_64 ? s.gpr[i] : s.gpr[i] & 0xFFFF_FFFFL;
    }

    private static int registers(TestCase c) {
        return c.mode() == Mode.LONG_64 ? MachineState.REGISTERS : 8;
    }

    /** Null if the interpreter agrees with the native result on everything compared; else what differs. */
    private String compare(Mode mode, TestCase c, MachineState expected, InterpreterCpu.Outcome outcome) {
        if (!outcome.landed()) {
            return "the interpreter did not complete the instruction: " + outcome.failure();
        }
        MachineState actual = outcome.state();
        List<String> differences = new ArrayList<>();
        for (int i = 0; i < registers(c); i++) {
            boolean undefined = (c.undefinedRegisters() & 1 << i) != 0 && !compareUndefined;
            if (!undefined && register(c, expected, i) != register(c, actual, i)) {
                differences.add(MachineState.registerName(i));
            }
        }
        if (expected.rip != actual.rip) {
            differences.add("rip");
        }
        for (int k = 0; k < 6; k++) {
            // 16-bit code has its own CS; real-address mode its own selectors, which are not descriptors' there
            boolean compared = mode == Mode.REAL_ADDRESS ? false : mode == Mode.CODE_16 ? k != 1 : true;
            if (compared && expected.selectors[k] != actual.selectors[k]) {
                differences.add(MachineState.SEGMENTS[k]);
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
        if (differsOutside(c, expected.data, actual.data)) {
            differences.add("memory");
        }
        int stackSkipFrom = compareUndefined ? 0 : c.undefinedStackFrom();
        int stackSkipTo = compareUndefined ? 0 : c.undefinedStackTo();
        int stackLength = expected.stack.length;
        if (!Arrays.equals(expected.stack, 0, stackSkipFrom, actual.stack, 0, stackSkipFrom)
                || !Arrays.equals(expected.stack, stackSkipTo, stackLength, actual.stack, stackSkipTo, stackLength)) {
            differences.add("stack");
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
     * Whether the data pages differ in a byte that is compared: not one the SDM leaves undefined for this case, nor
     * the MXCSR_MASK of an FXSAVE image or XSAVE legacy region (the implementation's own value, see
     * {@link TestCase#legacyRegion}).
     */
    private boolean differsOutside(TestCase c, byte[] expected, byte[] actual) {
        int skipFrom = compareUndefined ? 0 : c.undefinedDataFrom();
        int skipTo = compareUndefined ? 0 : c.undefinedDataTo();
        int length = expected.length;
        if (c.legacyRegion() < 0) {
            return !Arrays.equals(expected, 0, skipFrom, actual, 0, skipFrom)
                    || !Arrays.equals(expected, skipTo, length, actual, skipTo, length);
        }
        for (int i = 0; i < length; i++) {
            if (expected[i] != actual[i] && !skipped(c, i)) {
                return true;
            }
        }
        return false;
    }

    /** Data-page byte {@code i} is not compared (see {@link #differsOutside}). */
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
        int registers = c.mode() == Mode.LONG_64 ? 16 : 8;
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
        sb.append(String.format("  case %d (seed %d): bytes %s  [%s]%s%n", caseNumber, seed, hex(c.code()),
                c.operands(), c.landingSites().length == 0 ? ""
                        : "  landing sites " + Arrays.toString(Arrays.stream(c.landingSites())
                                .map(site -> site - NativeCpu.INSTRUCTION_OFFSET).toArray()) + " from the instruction"));
        MachineState in = c.input();
        sb.append("  input:       ").append(registers(c, in, null, null, true)).append("  flags ")
                .append(Flags.names(in.rflags));
        if (c.memoryOffset() >= 0) {
            sb.append(String.format("  data+%#x: %s", c.memoryOffset(), hex(Arrays.copyOfRange(in.data,
                    c.memoryOffset(), Math.min(c.memoryOffset() + 8, in.data.length)))));
        }
        sb.append('\n');
        MachineState actual = outcome.landed() ? outcome.state() : null;
        sb.append("  native:      ").append(registers(c, in, expected, actual, false)).append("  flags ")
                .append(Flags.names(expected.rflags)).append(where(expected)).append('\n');
        if (actual != null) {
            sb.append("  interpreter: ").append(registers(c, in, actual, expected, false)).append("  flags ")
                    .append(Flags.names(actual.rflags)).append(where(actual)).append('\n');
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
            pageDifferences(sb, "data", in.data, expected.data, actual.data, c);
            pageDifferences(sb, "stack", in.stack, expected.stack, actual.stack, null);
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

    /** RIP from the instruction, and the selectors. */
    private String where(MachineState s) {
        StringBuilder sb = new StringBuilder(String.format("  rip %s",
                s.rip < 0 ? "-" : String.format("%+d", s.rip - layout.instruction())));
        for (int k = 0; k < 6; k++) {
            sb.append(' ').append(MachineState.SEGMENTS[k]).append('=').append(Integer.toHexString(s.selectors[k]));
        }
        return sb.toString();
    }

    /** The first bytes of a page that differ ({@code c}: of the data page, not those that are not compared). */
    private void pageDifferences(StringBuilder sb, String page, byte[] in, byte[] expected, byte[] actual,
                                 TestCase c) {
        int shown = 0;
        for (int i = 0; i < in.length && shown < 8; i++) {
            if (expected[i] != actual[i] && (c == null || !skipped(c, i))) {
                sb.append(String.format("  %s+%#05x:  input %02x, native %02x, interpreter %02x%n", page, i,
                        in[i] & 0xFF, expected[i] & 0xFF, actual[i] & 0xFF));
                shown++;
            }
        }
    }

    /**
     * All registers of {@code state} ({@code all}), or those that {@code state} changed or that differ from
     * {@code other}.
     */
    private static String registers(TestCase c, MachineState in, MachineState state, MachineState other,
                                    boolean all) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < registers(c); i++) {
            long v = register(c, all ? in : state, i);
            if (all || v != register(c, in, i) || (other != null && register(c, other, i) != v)) {
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
