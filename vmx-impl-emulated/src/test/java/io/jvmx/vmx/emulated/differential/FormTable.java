package io.jvmx.vmx.emulated.differential;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** Every instruction form the differential tests run, in SDM groups. */
final class FormTable {
    private static final List<InstructionForm> ALL = build();

    private FormTable() {
    }

    static List<InstructionForm> all() {
        return ALL;
    }

    private static List<InstructionForm> build() {
        List<InstructionForm> forms = new ArrayList<>();
        ArithmeticForms.addTo(forms);
        ShiftForms.addTo(forms);
        BitForms.addTo(forms);
        DataMovementForms.addTo(forms);
        StringForms.addTo(forms);
        // the groups above are written for 64-bit mode; most of their forms are also 32-bit code
        List<InstructionForm> twins = new ArrayList<>();
        CompatibilityForms.twinsOf(forms, twins);
        forms.addAll(twins);
        // these have their modes built in
        StackForms.addTo(forms);
        ControlTransferForms.addTo(forms);
        SegmentForms.addTo(forms);
        HintForms.addTo(forms);
        CompatibilityForms.addTo(forms);
        // and prefixes on the forms of all of them
        SegmentForms.withOverrides(forms);
        LockForms.withLock(forms);
        // and 32-bit code once more as 16-bit code, with the native 32-bit run as the oracle
        SixteenBitForms.addTo(forms);
        // and the one-byte-map forms with prefixes that change nothing
        PrefixForms.addTo(forms);
        // the x87, MMX, SSE and XSAVE forms and the compiled kernel, with their modes (and FXSAVE-image state) built
        // in: none of the derivations above applies to them (no LOCK, no redundant prefixes: 66/F2/F3 select SIMD
        // instructions)
        X87Forms.addTo(forms);
        SimdForms.addTo(forms);
        XsaveForms.addTo(forms);
        CompiledKernelForms.addTo(forms);
        Set<String> names = new HashSet<>();
        for (InstructionForm f : forms) {
            if (!names.add(f.name())) {
                throw new IllegalStateException("two forms are named " + f.name());
            }
        }
        return Collections.unmodifiableList(forms);
    }
}
