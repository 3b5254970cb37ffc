package io.jvmx.vmx.api.event;

import io.jvmx.vmx.api.exit.InterruptionType;

/**
 * An event queued for injection at a later VM entry (SDM Vol. 3C 27.6).
 *
 * @param vector    0-255; at most 31 for a hardware exception
 * @param type      how it is delivered (not the reserved type 1, nor "other event", which is not delivered through the
 *                  IDT)
 * @param errorCode the error code to deliver, or -1 for none; delivered only for the exceptions that push one, in
 *                  protected mode (27.6.1.2)
 */
public record PendingEvent(int vector, InterruptionType type, int errorCode) {
    public PendingEvent {
        if (vector < 0 || vector > 255) {
            throw new IllegalArgumentException("interrupt vector must be 0-255: " + vector);
        }
        if (type == null) {
            throw new IllegalArgumentException("no interruption type");
        }
        if (type == InterruptionType.RESERVED_1 || type == InterruptionType.OTHER_EVENT) {
            throw new IllegalArgumentException("cannot inject an event of type " + type + " (SDM 27.6.1)");
        }
        if (type == InterruptionType.HARDWARE_EXCEPTION && vector > 31) {
            throw new IllegalArgumentException("hardware exceptions have vectors 0-31, not " + vector);
        }
    }
}
