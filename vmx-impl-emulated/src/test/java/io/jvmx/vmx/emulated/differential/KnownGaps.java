package io.jvmx.vmx.emulated.differential;

import java.util.Map;
import java.util.TreeMap;

/**
 * THE INTERPRETER'S TO-DO LIST: the forms on which the software processor currently differs from the processor of
 * the machine that runs the tests (a wrong result or flag, or an instruction it does not implement), each with what
 * was seen. {@link DifferentialTest} asserts that exactly these forms differ: when the interpreter is fixed, the test
 * says "remove X from the known gaps"; a form that starts differing and is not here fails the test with its first
 * differing case (bytes, inputs, native and interpreter registers and flags). The first mismatch of every entry is
 * in target/differential-report.txt after a run.
 *
 * <p>Recorded on an AMD EPYC host (flags the SDM leaves undefined not compared), default seed and case count.
 */
final class KnownGaps {
    private KnownGaps() {
    }

    private static final String UD_ADX = "#UD: not implemented (its CPUID does not report ADX)";

    /** Form name (as in {@link FormTable}) -> what differs. */
    static final Map<String, String> FORMS = new TreeMap<>(Map.ofEntries(
            // ADX
            Map.entry("ADCX r32, r/m32 (66 0F 38 F6 /r), register", UD_ADX),
            Map.entry("ADCX r32, r/m32 (66 0F 38 F6 /r), memory", UD_ADX),
            Map.entry("ADCX r64, r/m64 (66 REX.W 0F 38 F6 /r), register", UD_ADX),
            Map.entry("ADCX r64, r/m64 (66 REX.W 0F 38 F6 /r), memory", UD_ADX),
            Map.entry("ADOX r32, r/m32 (F3 0F 38 F6 /r), register", UD_ADX),
            Map.entry("ADOX r32, r/m32 (F3 0F 38 F6 /r), memory", UD_ADX),
            Map.entry("ADOX r64, r/m64 (F3 REX.W 0F 38 F6 /r), register", UD_ADX),
            Map.entry("ADOX r64, r/m64 (F3 REX.W 0F 38 F6 /r), memory", UD_ADX)
    ));
}
