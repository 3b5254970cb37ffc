package io.jvmx.vmx.api.exit;

/**
 * The basic facts of one VM exit, as x86_vcpu's {@code VmxExitInfo}: read from the VMCS right after the exit.
 *
 * @param entryFailure      bit 31 of the exit-reason field (SDM 25.9.1)
 * @param exitReasonField   the whole 32-bit exit-reason field
 * @param reason            the basic exit reason
 * @param instructionLength VM-exit instruction length (meaningful for instruction exits, SDM 28.2.5)
 * @param guestRip          guest RIP at the exit
 * @param qualification     the exit qualification (SDM 28.2.1)
 */
public record VmExitInfo(boolean entryFailure, int exitReasonField, ExitReason reason, int instructionLength,
                         long guestRip, long qualification) {

    public static VmExitInfo of(int exitReasonField, int instructionLength, long guestRip, long qualification) {
        return new VmExitInfo((exitReasonField & ExitReason.ENTRY_FAILURE_BIT) != 0, exitReasonField,
                ExitReason.fromExitReasonField(exitReasonField), instructionLength, guestRip, qualification);
    }

    @Override
    public String toString() {
        return String.format("%s%s at RIP %#x (len %d, qual %#x)", entryFailure ? "VM-entry failure: " : "",
                reason, guestRip, instructionLength, qualification);
    }
}
