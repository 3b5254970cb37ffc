package io.jvmx.vmx.api.exit;

/**
 * The interruption-information format shared by the VM-entry interruption-information field (SDM 25.8.3,
 * Table 25-17), the VM-exit interruption-information field (25.9.2, Table 25-19) and the IDT-vectoring
 * information field (25.9.3, Table 25-20).
 *
 * @param vector         bits 7:0
 * @param type           bits 10:8
 * @param errorCodeValid bit 11: deliver (entry) / valid (exit) error code
 * @param nmiUnblocking  bit 12: NMI unblocking due to IRET (exit formats only)
 * @param valid          bit 31
 */
public record InterruptionInfo(int vector, InterruptionType type, boolean errorCodeValid, boolean nmiUnblocking,
                               boolean valid) {

    public static final int VALID = 1 << 31;

    public static InterruptionInfo decode(long raw) {
        int v = (int) raw;
        return new InterruptionInfo(v & 0xFF, InterruptionType.of(v >>> 8), ((v >>> 11) & 1) != 0,
                ((v >>> 12) & 1) != 0, (v & VALID) != 0);
    }

    public int encode() {
        return (vector & 0xFF) | (type.code() << 8) | (errorCodeValid ? 1 << 11 : 0) | (nmiUnblocking ? 1 << 12 : 0)
                | (valid ? VALID : 0);
    }

    /** A valid event to inject at VM entry. */
    public static InterruptionInfo injection(int vector, InterruptionType type, boolean deliverErrorCode) {
        return new InterruptionInfo(vector, type, deliverErrorCode, false, true);
    }

    /**
     * Exceptions that push an error code in protected mode (SDM Vol. 3A, 6.15 / Table 6-1): #DF, #TS, #NP, #SS,
     * #GP, #PF, #AC, #CP. Used to decide bit 11 when an exception is queued.
     */
    public static boolean exceptionHasErrorCode(int vector) {
        return switch (vector) {
            case 8, 10, 11, 12, 13, 14, 17, 21 -> true;
            default -> false;
        };
    }
}
