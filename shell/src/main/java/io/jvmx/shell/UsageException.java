package io.jvmx.shell;

/**
 * Bad input from a person: the command prints the message as one line (prefixed with the command's name) and
 * returns a non-zero status, never a stack trace (DESIGN.md, "Errors").
 */
final class UsageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
        super(message, null, false, false);
    }
}
