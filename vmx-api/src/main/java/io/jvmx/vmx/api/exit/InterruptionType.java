package io.jvmx.vmx.api.exit;

/** Bits 10:8 of the interruption-information formats (SDM Vol. 3C, 25.8.3 Table 25-17 and 25.9.2 Table 25-19). */
public enum InterruptionType {
    EXTERNAL_INTERRUPT(0),
    /** Reserved in the formats, kept so that ordinal == code. */
    RESERVED_1(1),
    NMI(2),
    HARDWARE_EXCEPTION(3),
    SOFTWARE_INTERRUPT(4),
    PRIVILEGED_SOFTWARE_EXCEPTION(5),
    SOFTWARE_EXCEPTION(6),
    OTHER_EVENT(7);

    private final int code;

    InterruptionType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static InterruptionType of(int code) {
        return values()[code & 7];
    }

    /** Software interrupts and software/privileged-software exceptions use the VM-entry instruction length. */
    public boolean usesInstructionLength() {
        return this == SOFTWARE_INTERRUPT || this == PRIVILEGED_SOFTWARE_EXCEPTION || this == SOFTWARE_EXCEPTION;
    }
}
