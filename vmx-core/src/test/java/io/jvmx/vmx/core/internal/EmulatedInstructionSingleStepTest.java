package io.jvmx.vmx.core.internal;

import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessorProvider;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Map;

import org.junit.Test;

/**
 * An instruction the VMM emulates (here CPUID, which always exits) completes under single-step like any other: the
 * guest's #DB handler sees the trap right after it (SDM Vol. 3B 18.3.1.4; VmxVcpu.advanceRip makes BS pending and VM
 * entry delivers it, SDM Vol. 3C 27.7.3). On the software processor, through the vCPU runtime.
 * <pre>
 *   8000: 31 c0              xor ax, ax
 *   8002: 8e d8              mov ds, ax
 *   8004: 8e d0              mov ss, ax
 *   8006: bc 00 70           mov sp, 0x7000
 *   8009: c7 06 04 00 00 90  mov word [4], 0x9000   ; IVT entry 1 (#DB): 0000:9000
 *   800f: c7 06 06 00 00 00  mov word [6], 0
 *   8015: 9c                 pushf
 *   8016: 58                 pop ax
 *   8017: 0d 00 01           or ax, 0x100
 *   801a: 50                 push ax
 *   801b: 9d                 popf                   ; TF = 1: the next instruction is stepped
 *   801c: 0f a2              cpuid                  ; exits; the trap must follow it: IP 0x801e
 *   801e: b0 55              mov al, 0x55
 *   8020: e6 f4              out 0xf4, al           ; reached only if no trap came at all
 *   9000: 58                 pop ax                 ; the IP the trap pushed
 *   9001: 2d 1e 80           sub ax, 0x801e
 *   9004: e6 f4              out 0xf4, al           ; exit code: 0 when the trap followed the CPUID
 * </pre>
 */
public class EmulatedInstructionSingleStepTest {

    @Test(timeout = 60_000)
    public void theSingleStepTrapOfAnEmulatedCpuidReachesTheGuest() throws InterruptedException {
        byte[] image = new byte[0x1006];
        byte[] code = TestGuests.bytes("31 c0 8e d8 8e d0 bc 00 70 c7 06 04 00 00 90 c7 06 06 00 00 00 9c 58 0d 00 01 50 9d 0f a2"
                + " b0 55 e6 f4");
        System.arraycopy(code, 0, image, 0, code.length);
        byte[] handler = TestGuests.bytes("58 2d 1e 80 e6 f4");
        System.arraycopy(handler, 0, image, 0x1000, handler.length);

        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        add(dispatcher, 1, ExitReason.CPUID, (v, e) -> {
            v.writeGpr(GeneralRegisters.RAX, 0);
            v.advanceRip(e.instructionLength());
            return ExitAction.HANDLED;
        });
        add(dispatcher, 2, ExitReason.IO_INSTRUCTION, TestGuests.DEBUG_EXIT);
        VCpuRuntime runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));
        VCpuHandle handle = runtime.launch(LaunchRequest.of("single-step", image, 0x8000, 0x8000,
                new ByteArrayOutputStream()));
        RunOutcome outcome = handle.awaitOutcome(Duration.ofSeconds(50)).orElseThrow();
        assertEquals("exit code = trap IP - 0x801e (0x55: no trap): " + outcome, Integer.valueOf(0),
                outcome.exitCode());
    }

    private static void add(WhiteboardExitDispatcher d, long id, ExitReason reason, VmExitHandler h) {
        d.addHandler(h, h, Map.of(VmExitHandler.EXIT_REASON, reason.name(), "service.id", id), "io.test");
    }
}
