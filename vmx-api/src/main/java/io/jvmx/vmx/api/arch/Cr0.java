package io.jvmx.vmx.api.arch;

/** CR0 bits (SDM Vol. 3A, 2.5, Figure 2-7). */
public final class Cr0 {
    private Cr0() {
    }

    public static final long PE = 1L << 0;
    public static final long MP = 1L << 1;
    public static final long EM = 1L << 2;
    public static final long TS = 1L << 3;
    public static final long ET = 1L << 4;
    public static final long NE = 1L << 5;
    public static final long WP = 1L << 16;
    public static final long AM = 1L << 18;
    public static final long NW = 1L << 29;
    public static final long CD = 1L << 30;
    public static final long PG = 1L << 31;
}
