package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.api.arch.Rflags;

/**
 * The RFLAGS bits the differential tests set and compare (SDM Vol. 1, 3.4.3: the status flags 3.4.3.1, DF 3.4.3.2,
 * and the system flags 3.4.3.3 that CPL-3 code can see change: IF and IOPL only through POPF, which cannot change
 * them at CPL 3, and TF, NT, AC, ID, which it can).
 */
final class Flags {
    static final long CF = Rflags.CF;
    static final long PF = Rflags.PF;
    static final long AF = Rflags.AF;
    static final long ZF = Rflags.ZF;
    static final long SF = Rflags.SF;
    static final long OF = Rflags.OF;
    static final long DF = Rflags.DF;
    static final long TF = Rflags.TF;
    static final long IF = Rflags.IF;
    static final long IOPL = Rflags.IOPL;
    static final long NT = Rflags.NT;
    static final long AC = Rflags.AC;
    static final long ID = Rflags.ID;
    static final long FIXED_1 = Rflags.FIXED_1;
    /** The six status flags. */
    static final long STATUS = CF | PF | AF | ZF | SF | OF;
    /**
     * Every flag a case observes: an instruction that does not change one must leave it alone too. (RF, VM, VIF, VIP
     * are not: PUSHF never shows RF and VM, and user code cannot set the others.)
     */
    static final long OBSERVED = STATUS | DF | TF | IF | IOPL | NT | AC | ID;

    private static final long[] BITS = {CF, PF, AF, ZF, SF, OF, DF, TF, IF, Rflags.IOPL & (Rflags.IOPL >>> 1),
            Rflags.IOPL & (Rflags.IOPL << 1), NT, AC, ID};
    private static final String[] NAMES = {"CF", "PF", "AF", "ZF", "SF", "OF", "DF", "TF", "IF", "IOPL.0", "IOPL.1",
            "NT", "AC", "ID"};

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
