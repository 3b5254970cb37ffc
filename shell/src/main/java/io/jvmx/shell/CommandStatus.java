package io.jvmx.shell;

import org.apache.felix.service.command.CommandSession;

/**
 * What a jvmx command gives back to Gogo: its status (0 ok, 1 failed, 2 bad input; vcpu:run the guest's exit code)
 * as the result for scripts, the batch launcher ({@code ./jvmx vcpu:run} exits with it) and tests, but nothing at an
 * interactive prompt, where the interactive shell would echo the bare number under the report that already says it.
 * Returning nothing there, rather than switching off Gogo's result echo, keeps {@code lb}, {@code bundle 3} and the
 * other commands that answer with a value readable.
 */
final class CommandStatus {

    /** gogo.jline puts its line reader into the session under this name; batch sessions have none. */
    static final String LINE_READER = ".reader";

    private CommandStatus() {
    }

    static Object of(CommandSession session, int status) {
        return session != null && session.get(LINE_READER) != null ? null : status;
    }
}
