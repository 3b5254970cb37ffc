package io.jvmx.vmx.emulated.fuzz;

/**
 * The processor modes a fuzz case starts in (SDM Vol. 3A, 2.2 and 9.8-9.9; Vol. 1, 3.1): the code-segment size, and
 * for protected mode the kind of paging. Compatibility and 64-bit mode run with IA-32e (4-level) paging.
 */
enum FuzzMode {
    /** Real-address mode (CR0.PE = 0), under "unrestricted guest". */
    REAL(16, false, Paging.NONE),
    /** Protected mode, a 16-bit code segment, no paging. */
    PROTECTED_16(16, false, Paging.NONE),
    /** Protected mode, a 32-bit code segment, no paging. */
    PROTECTED_32(32, false, Paging.NONE),
    /** Protected mode, 32-bit paging with 4-KiB and 4-MiB pages (SDM 4.3). */
    PROTECTED_32_PAGING(32, false, Paging.BITS_32),
    /** Protected mode, PAE paging (SDM 4.4). */
    PROTECTED_32_PAE(32, false, Paging.PAE),
    /** IA-32e mode, a 16-bit compatibility-mode code segment. */
    COMPATIBILITY_16(16, true, Paging.LEVEL_4),
    /** IA-32e mode, a 32-bit compatibility-mode code segment. */
    COMPATIBILITY_32(32, true, Paging.LEVEL_4),
    /** 64-bit mode. */
    LONG_64(64, true, Paging.LEVEL_4),
    /** Virtual-8086 mode (EFLAGS.VM = 1, SDM Vol. 3A ch. 20), no paging. */
    VIRTUAL_8086(16, false, Paging.NONE),
    /** Virtual-8086 mode under 32-bit paging. */
    VIRTUAL_8086_PAGING(16, false, Paging.BITS_32);

    enum Paging { NONE, BITS_32, PAE, LEVEL_4 }

    /** The code-segment size: 16, 32, or 64. */
    final int bits;
    final boolean ia32e;
    final Paging paging;

    FuzzMode(int bits, boolean ia32e, Paging paging) {
        this.bits = bits;
        this.ia32e = ia32e;
        this.paging = paging;
    }

    boolean real() {
        return this == REAL;
    }

    /** Virtual-8086 mode: always CPL 3. */
    boolean virtual8086() {
        return this == VIRTUAL_8086 || this == VIRTUAL_8086_PAGING;
    }
}
