package io.jvmx.vmx.api.exit;

/**
 * Exit qualification for APIC-access VM exits: SDM Vol. 3C, 28.2.1, Table 28-6.
 *
 * @param offset     bits 11:0: page offset of a linear access (undefined for guest-physical accesses)
 * @param accessType bits 15:12
 * @param asynchronous bit 16: the exit occurred asynchronously to instruction execution
 */
public record ApicAccessQualification(int offset, AccessType accessType, boolean asynchronous) {

    /** Bits 15:12 (values 0-4 and 10, 15 are defined). */
    public enum AccessType {
        LINEAR_READ(0), LINEAR_WRITE(1), LINEAR_FETCH(2), LINEAR_DURING_EVENT_DELIVERY(3),
        GUEST_PHYSICAL_DURING_EVENT_DELIVERY(10), GUEST_PHYSICAL_FETCH_OR_EXECUTION(15);

        private final int code;

        AccessType(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        static AccessType of(int code) {
            for (AccessType t : values()) {
                if (t.code == code) {
                    return t;
                }
            }
            throw new IllegalArgumentException("reserved APIC-access type " + code + " (SDM Table 28-6)");
        }
    }

    public static ApicAccessQualification decode(long q) {
        return new ApicAccessQualification((int) (q & 0xFFF), AccessType.of((int) ((q >>> 12) & 0xF)),
                ((q >>> 16) & 1) != 0);
    }

    public long encode() {
        return (offset & 0xFFF) | ((long) accessType.code() << 12) | (asynchronous ? 1L << 16 : 0);
    }
}
