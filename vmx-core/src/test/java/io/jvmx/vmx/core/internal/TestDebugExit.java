package io.jvmx.vmx.core.internal;

import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;

/** The debug-exit port 0xF4 for the guests of these tests: an OUT ends the run with AL as the exit code. */
final class TestDebugExit {
    private TestDebugExit() {
    }

    static final VmExitHandler HANDLER = (v, e) -> {
        IoQualification q = IoQualification.decode(e.qualification());
        if (q.port() != 0xF4) {
            return ExitAction.PASS;
        }
        v.advanceRip(e.instructionLength());
        v.terminate((int) v.readGpr(GeneralRegisters.RAX) & 0xFF, "debug exit");
        return ExitAction.HANDLED;
    };
}
