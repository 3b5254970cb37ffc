package io.jvmx.vmx.api.arch;

/** XCR0 state-component bits (SDM Vol. 1, 13.3, Figure 13-1). */
public final class Xcr0 {
    private Xcr0() {
    }

    public static final long X87 = 1L << 0;
    public static final long SSE = 1L << 1;
    public static final long AVX = 1L << 2;
    public static final long BNDREGS = 1L << 3;
    public static final long BNDCSR = 1L << 4;
    public static final long OPMASK = 1L << 5;
    public static final long ZMM_HI256 = 1L << 6;
    public static final long HI16_ZMM = 1L << 7;
    public static final long PKRU = 1L << 9;
    public static final long TILECFG = 1L << 17;
    public static final long TILEDATA = 1L << 18;
    /** The three AVX-512 components, which XSETBV requires set or clear together (SDM Vol. 1, 13.3). */
    public static final long AVX512 = OPMASK | ZMM_HI256 | HI16_ZMM;
}
