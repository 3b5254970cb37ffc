package io.jvmx.shell;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/**
 * The guest's console for a foreground {@code vcpu:run}: the vCPU thread writes its serial output here and the
 * command's thread copies it to its own {@code System.out}. Gogo gives each command thread its own streams (a
 * session's terminal, or a pipe as in {@code vcpu:run | grep long}); the vCPU's thread has none, so it cannot write
 * there itself. Nothing is dropped: bytes wait here until the command thread takes them.
 */
final class ConsoleRelay extends OutputStream {

    private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
    private int lastByte = '\n';

    @Override
    public synchronized void write(int b) {
        pending.write(b);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) {
        pending.write(b, off, len);
    }

    /** Copies what is pending to {@code out} and flushes it. */
    void drainTo(OutputStream out) throws IOException {
        byte[] bytes;
        synchronized (this) {
            if (pending.size() == 0) {
                return;
            }
            bytes = pending.toByteArray();
            pending.reset();
            lastByte = bytes[bytes.length - 1];
        }
        out.write(bytes);
        out.flush();
    }

    /** Whether everything drained so far ended a line (or nothing was written): the summary starts on its own line. */
    synchronized boolean atLineStart() {
        return pending.size() == 0 && lastByte == '\n';
    }
}
