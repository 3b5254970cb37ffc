package io.jvmx.vmx.api.arch;

/**
 * DR7, the debug control register (SDM Vol. 3B, 18.2.4, Figure 18-1): for each breakpoint n (0-3) the enable bits
 * Ln/Gn, the condition R/Wn and the length LENn.
 */
public final class Dr7 {
    private Dr7() {
    }

    /** R/W = 00: instruction execution. */
    public static final int RW_EXECUTE = 0;
    /** R/W = 01: data writes. */
    public static final int RW_WRITE = 1;
    /** R/W = 10: I/O reads or writes, with CR4.DE = 1 (undefined without it). */
    public static final int RW_IO = 2;
    /** R/W = 11: data reads or writes. */
    public static final int RW_READ_WRITE = 3;

    /** Ln or Gn is set: breakpoint {@code n} is enabled. */
    public static boolean enabled(long dr7, int n) {
        return ((dr7 >>> (2 * n)) & 3) != 0;
    }

    /** R/Wn: what breakpoint {@code n} watches ({@link #RW_EXECUTE} ...). */
    public static int condition(long dr7, int n) {
        return (int) (dr7 >>> (16 + 4 * n)) & 3;
    }

    /** LENn in bytes: 00 one byte, 01 two, 10 eight, 11 four. */
    public static int lengthBytes(long dr7, int n) {
        return switch ((int) (dr7 >>> (18 + 4 * n)) & 3) {
            case 0 -> 1;
            case 1 -> 2;
            case 2 -> 8;
            default -> 4;
        };
    }

    /** The first port of an I/O breakpoint at DRn: its low 16 bits, aligned down to the length (18.2.5). */
    public static long ioFirstPort(long address, int lengthBytes) {
        return address & 0xFFFF & -lengthBytes;
    }

    /**
     * The I/O breakpoints (B0-B3 bits) that an access of {@code size} bytes at {@code port} meets: enabled, R/W = 10,
     * CR4.DE = 1, and the port range overlaps the breakpoint's, whose address DRn is aligned down to its length
     * (18.2.5: the low address bits are ignored).
     *
     * @param dr DR0-DR3
     */
    public static int ioBreakpoints(long dr7, long cr4, long[] dr, int port, int size) {
        if ((cr4 & Cr4.DE) == 0) {
            return 0;
        }
        int matched = 0;
        int end = port + size - 1;
        for (int n = 0; n < 4; n++) {
            if (enabled(dr7, n) && condition(dr7, n) == RW_IO) {
                int len = lengthBytes(dr7, n);
                long first = ioFirstPort(dr[n], len);
                if (port <= first + len - 1 && end >= first) {
                    matched |= 1 << n;
                }
            }
        }
        return matched;
    }
}
