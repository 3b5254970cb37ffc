package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.fail;

import io.jvmx.vmx.emulated.differential.DifferentialRunner.FormResult;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

import org.junit.Assume;
import org.junit.Test;

/**
 * The software processor against the processor of this machine: every form of the {@link FormTable}, each with
 * seeded random operands and flags, executed natively ({@link NativeCpu}) and as a guest ({@link InterpreterCpu}),
 * in 64-bit mode or compatibility mode at CPL 3. The native result is the oracle; the test passes when exactly the forms of
 * {@link KnownGaps} differ.
 *
 * <p>x87, MMX and SSE forms set and compare the x87 and SSE state too, as an FXSAVE image that both processors load
 * with FXRSTOR64 before the instruction and store with FXSAVE64 after it (see {@link FxsaveImage}); some SIMD forms
 * run in 32-bit code (compatibility mode); some unmask SIMD floating-point exceptions, which natively a signal handler
 * in the stub and in the guest the #XM exit turn into a record and a resumption after the instruction (see
 * {@link NativeCpu}).
 *
 * <p>Two kinds of difference are not failures. The x87 transcendental instructions promise their result within one
 * unit in the last place (SDM Vol. 1, 8.3.10): a case that differs only in the last bit of such a result is counted
 * and listed in the report. And where the SDM defines something that this machine's processor (an AMD) does
 * otherwise, a case marks it to be compared on a GenuineIntel host only (see {@link TestCase.X87Check}).
 *
 * <p>System properties: {@code jvmx.differential.cases} (cases per form, default {@value #DEFAULT_CASES}, times the
 * form's factor: 10 for the x87 forms and the SIMD floating-point forms, 5 for the compiled SSE code),
 * {@code jvmx.differential.seed}, {@code jvmx.differential.forms} (a regular expression: run only the matching
 * forms), {@code jvmx.differential.compareUndefined} (compare undefined flags and results on a non-Intel host too: to
 * see where this processor's undefined behaviour differs from the software processor's),
 * {@code jvmx.differential.lastBitLog} (a file to which every last-bit difference is appended). A report of every
 * form that differs, with its first differing case, is written to {@code target/differential-report.txt}.
 */
public class DifferentialTest {
    static final int DEFAULT_CASES = 200;
    static final long DEFAULT_SEED = 20_260_601L;
    private static final Path REPORT = Path.of("target", "differential-report.txt");

    @Test
    public void theInterpreterAgreesWithThisProcessor() throws IOException {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        int cases = Integer.getInteger("jvmx.differential.cases", DEFAULT_CASES);
        long seed = Long.getLong("jvmx.differential.seed", DEFAULT_SEED);
        String only = System.getProperty("jvmx.differential.forms");
        Pattern selection = only == null || only.isBlank() ? null : Pattern.compile(only);

        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreter = new InterpreterCpu(Layout.of(nativeCpu))) {
            HostCpu host = HostCpu.of(nativeCpu);
            HostCpu model = HostCpu.of(interpreter);
            // Undefined flags and results differ between vendors (and models). They are compared only against an
            // Intel processor, the one the SDM describes; elsewhere only what the SDM defines is compared.
            boolean compareUndefined = host.intel() || Boolean.getBoolean("jvmx.differential.compareUndefined");
            System.out.printf("Differential tests on %s (%s): %s%n", host.brand(), host.vendor(), host.intel()
                    ? "flags and results the SDM leaves undefined are compared too"
                    : "not a GenuineIntel processor, so flags and results the SDM leaves undefined are "
                            + (compareUndefined ? "compared only because jvmx.differential.compareUndefined is set"
                                    : "not compared"));

            DifferentialRunner runner = new DifferentialRunner(nativeCpu, interpreter, compareUndefined, host.intel(),
                    seed, cases);
            List<FormResult> results = new ArrayList<>();
            Map<String, String> skipped = new TreeMap<>();
            long start = System.nanoTime();
            int totalCases = 0;
            for (InstructionForm form : FormTable.all()) {
                if (selection != null && !selection.matcher(form.name()).find()) {
                    continue;
                }
                if (form.required() != null && !host.has(form.required())) {
                    skipped.put(form.name(), "this processor's CPUID does not report " + form.required());
                    continue;
                }
                if (form.required() == HostCpu.Feature.FSGSBASE && !nativeCpu.userFsGsBase()) {
                    skipped.put(form.name(), "the kernel did not enable FSGSBASE for user code");
                    continue;
                }
                if (form.needsLowData() && !nativeCpu.dataBelow4GiB()) {
                    skipped.put(form.name(), "the data page could not be mapped below 4 GiB");
                    continue;
                }
                if (form.mode().oracle() == InstructionForm.Mode.COMPATIBILITY_32
                        && !nativeCpu.compatibilityModeAvailable()) {
                    skipped.put(form.name(), "compatibility mode cannot run here (no 32-bit user code segment 23H, "
                            + "or no pages below 4 GiB)");
                    continue;
                }
                FormResult r = runner.run(form);
                results.add(r);
                totalCases += r.cases();
            }
            double seconds = (System.nanoTime() - start) / 1e9;

            List<String> problems = new ArrayList<>();
            StringBuilder report = new StringBuilder();
            int differing = 0;
            StringBuilder lastBits = new StringBuilder();
            int lastBitForms = 0;
            for (FormResult r : results) {
                if (r.lastBitCases() > 0) {
                    lastBitForms++;
                    lastBits.append(String.format("%s: %d of %d cases differ in the last bit; the first:%n%s%n",
                            r.form().name(), r.lastBitCases(), r.cases(), r.firstLastBit()));
                }
                boolean known = KnownGaps.FORMS.containsKey(r.form().name());
                if (r.differs()) {
                    differing++;
                    String note = modelNote(r.form(), model);
                    report.append(r.mismatch()).append(note).append('\n');
                    if (!known) {
                        problems.add("a form that is not in KnownGaps differs:\n" + r.mismatch() + note);
                    }
                } else if (known && cases >= DEFAULT_CASES) {
                    // fewer cases than the default may just miss the case that differs: no verdict then
                    problems.add("remove \"" + r.form().name() + "\" from the known gaps: it passes " + r.cases()
                            + " cases now");
                }
            }
            for (String name : KnownGaps.FORMS.keySet()) {
                if (FormTable.all().stream().noneMatch(f -> f.name().equals(name))) {
                    problems.add("KnownGaps names a form the table does not have: \"" + name + "\"");
                }
            }
            Files.createDirectories(REPORT.getParent());
            Files.writeString(REPORT, String.format("%d forms run, %d differ; %d skipped%n%n", results.size(),
                    differing, skipped.size()) + report + skippedText(skipped)
                    + (lastBitForms == 0 ? "" : String.format("%nTranscendental results within one unit in the last "
                    + "place of this processor's (SDM Vol. 1, 8.3.10), in %d forms:%n%n", lastBitForms) + lastBits),
                    StandardCharsets.UTF_8);
            System.out.printf("%d forms (%d cases) in %.1f s: %d differ (first differing cases in %s), %d skipped%s%n",
                    results.size(), totalCases, seconds, differing, REPORT.toAbsolutePath(), skipped.size(),
                    skipped.isEmpty() ? "" : " (" + String.join("; ", skipped.values().stream().distinct().toList())
                            + ")");
            if (!problems.isEmpty()) {
                fail(problems.size() + " problem(s):\n\n" + String.join("\n\n", problems));
            }
        }
    }

    /** When a form needs a CPUID feature the software processor does not claim, a #UD is consistent with its model. */
    private static String modelNote(InstructionForm form, HostCpu model) {
        if (form.required() != null && !model.has(form.required())) {
            return "  (the software processor's CPUID does not report " + form.required()
                    + " either: a #UD matches what it claims)\n";
        }
        return "";
    }

    private static String skippedText(Map<String, String> skipped) {
        StringBuilder sb = new StringBuilder();
        skipped.forEach((name, why) -> sb.append("skipped: ").append(name).append(": ").append(why).append('\n'));
        return sb.toString();
    }
}
