package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Runs the cases of one form on both processors and compares: every register (in compatibility mode the low 32 bits
 * of RAX..RDI, the only ones there), RIP (the landing site reached), the segment selectors, the data page, the stack
 * page, and the flags — those the SDM defines for the case, or all observed flags when undefined results are compared
 * too (see {@link DifferentialTest}). A form stops at its first mismatch, which is kept for the report.
 */
final class DifferentialRunner {
    /** What happened to one form: cases run, and the first mismatch (null if none). */
    record FormResult(InstructionForm form, int cases, String mismatch) {
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
    private final long seed;
    private final int casesPerForm;

    DifferentialRunner(NativeCpu nativeCpu, InterpreterCpu interpreter, boolean compareUndefined, long seed,
                       int casesPerForm) {
        this.nativeCpu = nativeCpu;
        this.interpreter = interpreter;
        this.layout = Layout.of(nativeCpu);
        this.compareUndefined = compareUndefined;
        this.seed = seed;
        this.casesPerForm = casesPerForm;
    }

    FormResult run(InstructionForm form) {
        // one stream per form, so a form's cases do not depend on which other forms run
        Random random = new Random(seed * 0x9E37_79B9L + form.name().hashCode());
        for (int i = 0; i < casesPerForm; i++) {
            TestCase c = generate(form, random, layout);
            if (TRACE) {
                System.err.printf("%s case %d: %s [%s] rsp=stack+%#x%n", form.name(), i + 1, hex(c.code()),
                        c.operands(), c.input().gpr[MachineState.RSP] - layout.stack());
                System.err.flush();
            }
            MachineState expected = nativeCpu.execute(c.mode(), c.code(), c.landingSites(), c.input());
            InterpreterCpu.Outcome actual = runInterpreter(form.mode(), c);
            String difference = compare(form.mode(), c, expected, actual);
            if (difference != null) {
                return new FormResult(form, i + 1, describe(form, i + 1, c, expected, actual, difference));
            }
        }
        return new FormResult(form, casesPerForm, null);
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
        long flags = (expected.rflags ^ actual.rflags) & compared;
        if (flags != 0) {
            differences.add("flags " + Flags.names(flags));
        }
        int skipFrom = compareUndefined ? 0 : c.undefinedDataFrom();
        int skipTo = compareUndefined ? 0 : c.undefinedDataTo();
        int length = expected.data.length;
        if (!Arrays.equals(expected.data, 0, skipFrom, actual.data, 0, skipFrom)
                || !Arrays.equals(expected.data, skipTo, length, actual.data, skipTo, length)) {
            differences.add("memory");
        }
        int stackSkipFrom = compareUndefined ? 0 : c.undefinedStackFrom();
        int stackSkipTo = compareUndefined ? 0 : c.undefinedStackTo();
        int stackLength = expected.stack.length;
        if (!Arrays.equals(expected.stack, 0, stackSkipFrom, actual.stack, 0, stackSkipFrom)
                || !Arrays.equals(expected.stack, stackSkipTo, stackLength, actual.stack, stackSkipTo, stackLength)) {
            differences.add("stack");
        }
        if (differences.isEmpty()) {
            return null;
        }
        String text = String.join(", ", differences);
        boolean onlyUndefinedFlags = compareUndefined && flags != 0 && differences.size() == 1
                && (flags & c.definedFlags()) == 0;
        return onlyUndefinedFlags ? text + " (only flags the SDM leaves undefined)" : text;
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
        if (actual != null) {
            pageDifferences(sb, "data", in.data, expected.data, actual.data);
            pageDifferences(sb, "stack", in.stack, expected.stack, actual.stack);
        }
        return sb.toString();
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

    private static void pageDifferences(StringBuilder sb, String page, byte[] in, byte[] expected, byte[] actual) {
        int shown = 0;
        for (int i = 0; i < in.length && shown < 8; i++) {
            if (expected[i] != actual[i]) {
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
