package io.jvmx.vmx.api.exit;

/**
 * Exit qualification for EPT violations: SDM Vol. 3C, 28.2.1, Table 28-7 (the bits this platform sets and reads).
 *
 * @param read             bit 0: the access was a data read
 * @param write            bit 1: the access was a data write
 * @param fetch            bit 2: the access was an instruction fetch
 * @param readable         bit 3: the guest-physical address was readable (AND of the EPT entries' bit 0)
 * @param writable         bit 4: ... writable (bit 1)
 * @param executable       bit 5: ... executable (bit 2, supervisor-mode executable with mode-based control)
 * @param linearValid      bit 7: the guest linear-address field is valid
 * @param linearTranslation bit 8: (with bit 7) the access was to the translated linear address, not to a
 *                          paging-structure entry
 * @param nmiUnblocking    bit 12: NMI unblocking due to IRET
 */
public record EptViolationQualification(boolean read, boolean write, boolean fetch, boolean readable,
                                        boolean writable, boolean executable, boolean linearValid,
                                        boolean linearTranslation, boolean nmiUnblocking) {

    public static EptViolationQualification decode(long q) {
        return new EptViolationQualification(bit(q, 0), bit(q, 1), bit(q, 2), bit(q, 3), bit(q, 4), bit(q, 5),
                bit(q, 7), bit(q, 8), bit(q, 12));
    }

    public long encode() {
        return b(read, 0) | b(write, 1) | b(fetch, 2) | b(readable, 3) | b(writable, 4) | b(executable, 5)
                | b(linearValid, 7) | b(linearTranslation, 8) | b(nmiUnblocking, 12);
    }

    private static boolean bit(long q, int n) {
        return ((q >>> n) & 1) != 0;
    }

    private static long b(boolean v, int n) {
        return v ? 1L << n : 0;
    }
}
