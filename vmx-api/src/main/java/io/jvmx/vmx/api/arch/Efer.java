package io.jvmx.vmx.api.arch;

/** IA32_EFER bits (SDM Vol. 3A, 2.2.1, Figure 2-4). */
public final class Efer {
    private Efer() {
    }

    public static final long SCE = 1L << 0;
    public static final long LME = 1L << 8;
    public static final long LMA = 1L << 10;
    public static final long NXE = 1L << 11;
}
