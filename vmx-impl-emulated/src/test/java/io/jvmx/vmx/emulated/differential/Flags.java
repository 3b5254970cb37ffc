package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.arch.Rflags;

/** The RFLAGS bits the differential tests set and compare (SDM Vol. 1, 3.4.3.1 status flags, 3.4.3.2 DF). */
final class Flags {
    static final long CF = Rflags.CF;
    static final long PF = Rflags.PF;
    static final long AF = Rflags.AF;
    static final long ZF = Rflags.ZF;
    static final long SF = Rflags.SF;
    static final long OF = Rflags.OF;
    static final long DF = Rflags.DF;
    static final long FIXED_1 = Rflags.FIXED_1;
    /** The six status flags. */
    static final long STATUS = CF | PF | AF | ZF | SF | OF;
    /** Every flag a case can observe: an instruction that does not change DF must leave it alone too. */
    static final long OBSERVED = STATUS | DF;

    private static final long[] BITS = {CF, PF, AF, ZF, SF, OF, DF};
    private static final String[] NAMES = {"CF", "PF", "AF", "ZF", "SF", "OF", "DF"};

    private Flags() {
    }

    /** "CF ZF" for the observed flags that are set in {@code flags}, or "-" if none. */
    static String names(long flags) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < BITS.length; i++) {
            if ((flags & BITS[i]) != 0) {
                sb.append(sb.length() == 0 ? "" : " ").append(NAMES[i]);
            }
        }
        return sb.length() == 0 ? "-" : sb.toString();
    }
}
