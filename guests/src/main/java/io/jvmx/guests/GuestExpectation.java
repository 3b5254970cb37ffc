package io.jvmx.guests;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * How a bundled guest ends when the platform behaves as the SDM says: what its serial output contains and either
 * the exit code it writes to the debug-exit port (0xF4) or the VM-exit reason its run stops with. Each image's
 * source states the same in its header comment.
 *
 * @param name          the image name
 * @param serialOutput  substrings the serial output contains, in this order
 * @param exitCode      the debug-exit code, when the guest ends through port 0xF4
 * @param exitReason    the name of the {@code ExitReason} the run stops with otherwise (e.g. "EPT_VIOLATION")
 */
public record GuestExpectation(String name, List<String> serialOutput, OptionalLong exitCode,
                               Optional<String> exitReason) {

    public GuestExpectation {
        Objects.requireNonNull(name, "name");
        serialOutput = List.copyOf(serialOutput);
        Objects.requireNonNull(exitCode, "exitCode");
        Objects.requireNonNull(exitReason, "exitReason");
        if (exitCode.isPresent() == exitReason.isPresent()) {
            throw new IllegalArgumentException(
                    "guest " + name + " must end with either an exit code or an exit reason, not both or neither");
        }
    }

    /**
     * Whether {@code output} contains every expected substring, each after the previous one.
     */
    public boolean matchesSerialOutput(String output) {
        int from = 0;
        for (String expected : serialOutput) {
            int at = output.indexOf(expected, from);
            if (at < 0) {
                return false;
            }
            from = at + expected.length();
        }
        return true;
    }
}
