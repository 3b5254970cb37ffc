package io.jvmx.vmx.api.vmcs;

/** Width of a VMCS component: bits 14:13 of its encoding (SDM Vol. 3C, 25.11.2, Table 25-21). */
public enum VmcsFieldWidth {
    /** 16-bit field. */
    BITS_16(16),
    /** 64-bit field (accessible in full, or its high 32 bits through encoding | 1). */
    BITS_64(64),
    /** 32-bit field. */
    BITS_32(32),
    /** Natural width: 64 bits on processors that support Intel 64 architecture. */
    NATURAL(64);

    private final int bits;

    VmcsFieldWidth(int bits) {
        this.bits = bits;
    }

    public int bits() {
        return bits;
    }

    /** Mask of the bits a field of this width holds (when accessed in full). */
    public long mask() {
        return bits == 64 ? -1L : (1L << bits) - 1;
    }

    public static VmcsFieldWidth ofEncoding(int encoding) {
        return VALUES[(encoding >>> 13) & 3];
    }

    /** values() copies its array each time: VMREAD calls this. */
    private static final VmcsFieldWidth[] VALUES = values();
}
