package io.jvmx.handlers.testkit;

import io.jvmx.vmx.api.exit.InterruptionType;

/** An event queued with {@link io.jvmx.vmx.api.handler.VCpu#queueEvent} and not yet injected. */
public record PendingEvent(int vector, InterruptionType type, int errorCode) {
}
