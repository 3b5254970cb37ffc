package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;

/** What the small guests of these tests share: their code written as hex bytes, and their way out. */
final class TestGuests {
    private TestGuests() {
    }

    /** The debug-exit port 0xF4: an OUT ends the run with AL as the exit code. */
    static final VmExitHandler DEBUG_EXIT = (v, e) -> {
        IoQualification q = IoQualification.decode(e.qualification());
        if (q.port() != 0xF4) {
            return ExitAction.PASS;
        }
        v.advanceRip(e.instructionLength());
        v.terminate((int) v.readGpr(GeneralRegisters.RAX) & 0xFF, "debug exit");
        return ExitAction.HANDLED;
    };

    /** Machine code given as hex bytes separated by white space ("0f 01 d0"). */
    static byte[] bytes(String hex) {
        String[] parts = hex.trim().split("\\s+");
        byte[] b = new byte[parts.length];
        for (int i = 0; i < parts.length; i++) {
            b[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return b;
    }
}
