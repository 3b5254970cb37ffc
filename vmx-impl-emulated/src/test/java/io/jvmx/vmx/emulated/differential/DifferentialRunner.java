package io.jvmx.vmx.emulated.differential;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Runs the cases of one form on both processors and compares: every register (RSP: its change), the data page, and
 * the flags — those the SDM defines for the case, or all observed flags when undefined results are compared too
 * (see {@link DifferentialTest}). A form stops at its first mismatch, which is kept for the report.
 */
final class DifferentialRunner {
    /** What happened to one form: cases run, and the first mismatch (null if none). */
    record FormResult(InstructionForm form, int cases, String mismatch) {
        boolean differs() {
            return mismatch != null;
        }
    }

    private static final int MAX_REJECTED_IN_A_ROW = 10_000;

    private final NativeCpu nativeCpu;
    private final InterpreterCpu interpreter;
    private final boolean compareUndefined;
    private final long seed;
    private final int casesPerForm;

    DifferentialRunner(NativeCpu nativeCpu, InterpreterCpu interpreter, boolean compareUndefined, long seed,
                       int casesPerForm) {
        this.nativeCpu = nativeCpu;
        this.interpreter = interpreter;
        this.compareUndefined = compareUndefined;
        this.seed = seed;
        this.casesPerForm = casesPerForm;
    }

    FormResult run(InstructionForm form) {
        // one stream per form, so a form's cases do not depend on which other forms run
        Random random = new Random(seed * 0x9E37_79B9L + form.name().hashCode());
        int cases = casesPerForm * form.caseFactor();
        for (int i = 0; i < cases; i++) {
            TestCase c = generate(form, random);
            MachineState expected = nativeCpu.execute(c.code(), c.input());
            InterpreterCpu.Outcome actual = interpreter.execute(c.code(), c.input());
            String difference = compare(c, expected, actual);
            if (difference != null) {
                return new FormResult(form, i + 1, describe(form, i + 1, c, expected, actual, difference));
            }
        }
        return new FormResult(form, cases, null);
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
        long flags = (expected.rflags ^ actual.rflags) & compared;
        if (flags != 0) {
            differences.add("flags " + Flags.names(flags));
        }
        if (c.input().simd != SimdState.NONE) {
            for (int r = 0; r < (compat ? 8 : 16); r++) {
                long el = expected.xmm[2 * r], eh = expected.xmm[2 * r + 1];
                long al = actual.xmm[2 * r], ah = actual.xmm[2 * r + 1];
                boolean same = (c.approximateXmm() & 1 << r) != 0
                        ? Approximate.close(el, al) && Approximate.close(eh, ah) : el == al && eh == ah;
                if (!same) {
                    differences.add("xmm" + r);
                }
            }
            if (expected.mxcsr != actual.mxcsr) {
                differences.add("mxcsr");
            }
            if (expected.exception != actual.exception) {
                differences.add(String.format("the exception (native %s, interpreter %s)",
                        expected.exception < 0 ? "none" : InterpreterCpu.exceptionName(expected.exception),
                        actual.exception < 0 ? "none" : InterpreterCpu.exceptionName(actual.exception)));
            }
            if (SimdState.mmx(c.input().simd)) {
                for (int r = 0; r < 8; r++) {
                    if (expected.mm[r] != actual.mm[r]) {
                        differences.add("mm" + r);
                    }
                }
            }
        }
        int skipFrom = compareUndefined ? 0 : c.undefinedDataFrom();
        int skipTo = compareUndefined ? 0 : c.undefinedDataTo();
        int length = expected.data.length;
        if (!Arrays.equals(expected.data, 0, skipFrom, actual.data, 0, skipFrom)
                || !Arrays.equals(expected.data, skipTo, length, actual.data, skipTo, length)) {
            differences.add("memory");
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
        if (in.simd != SimdState.NONE) {
            sb.append(String.format("  mxcsr: input %#06x, native %#06x", in.mxcsr, expected.mxcsr));
            if (actual != null) {
                sb.append(String.format(", interpreter %#06x", actual.mxcsr));
            }
            sb.append('\n');
            for (int r = 0; r < 16; r++) {
                boolean changed = expected.xmm[2 * r] != in.xmm[2 * r] || expected.xmm[2 * r + 1] != in.xmm[2 * r + 1]
                        || (actual != null && (actual.xmm[2 * r] != expected.xmm[2 * r]
                        || actual.xmm[2 * r + 1] != expected.xmm[2 * r + 1]));
                if (changed || c.operands().contains("xmm" + r + ",") || c.operands().endsWith("xmm" + r)) {
                    sb.append(String.format("  xmm%-2d input %016x_%016x  native %016x_%016x", r, in.xmm[2 * r + 1],
                            in.xmm[2 * r], expected.xmm[2 * r + 1], expected.xmm[2 * r]));
                    if (actual != null) {
                        sb.append(String.format("  interpreter %016x_%016x", actual.xmm[2 * r + 1], actual.xmm[2 * r]));
                    }
                    sb.append('\n');
                }
            }
            if (SimdState.mmx(in.simd)) {
                for (int r = 0; r < 8; r++) {
                    if (expected.mm[r] != in.mm[r] || (actual != null && actual.mm[r] != expected.mm[r])
                            || c.operands().contains("mm" + r)) {
                        sb.append(String.format("  mm%d   input %016x  native %016x", r, in.mm[r], expected.mm[r]));
                        if (actual != null) {
                            sb.append(String.format("  interpreter %016x", actual.mm[r]));
                        }
                        sb.append('\n');
                    }
                }
            }
        }
        sb.append("  differs:     ").append(difference);
        long compared = compareUndefined ? Flags.OBSERVED : c.definedFlags();
        if (compared != Flags.OBSERVED) {
            sb.append("  (flags compared: ").append(Flags.names(compared)).append(')');
        }
        sb.append('\n');
        if (actual != null) {
            int shown = 0;
            for (int i = 0; i < in.data.length && shown < 8; i++) {
                if (expected.data[i] != actual.data[i]) {
                    sb.append(String.format("  data+%#05x:  input %02x, native %02x, interpreter %02x%n", i,
                            in.data[i] & 0xFF, expected.data[i] & 0xFF, actual.data[i] & 0xFF));
                    shown++;
                }
            }
        }
        return sb.toString();
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
