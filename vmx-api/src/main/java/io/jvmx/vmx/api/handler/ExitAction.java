package io.jvmx.vmx.api.handler;

/** What a handler did with an exit (Bareflank's model): HANDLED ends the chain; PASS lets the next handler try. */
public enum ExitAction {
    HANDLED,
    PASS
}
