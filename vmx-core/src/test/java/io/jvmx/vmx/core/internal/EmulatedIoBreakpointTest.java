package io.jvmx.vmx.core.internal;

import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
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
 * An I/O instruction the VMM completes meets the guest's I/O breakpoints like one the processor executed: with
 * CR4.DE = 1 and DR7 R/W2 = 10, an OUT to the port in DR2 traps right after it with DR6.B2 set (SDM Vol. 3B 18.2.4,
 * 18.3.1.2). The OUT exits (the platform intercepts the port) before it touches the port, so the processor cannot see
 * the breakpoint; VmxVcpu finds it from the exit qualification and the guest's DR0-DR3 (VmxProcessor.readDr) and
 * makes it pending for the next VM entry (SDM Vol. 3C 25.4.2, 27.7.3). The guest's DR7 must survive the exits before
 * it ("save/load debug controls", SDM 28.3.1, 27.3.2.1: a VM exit sets DR7 to 400H). On the software processor, through the vCPU
 * runtime, in real mode:
 * <pre>
 *   8000: 31 c0              xor ax, ax
 *   8002: 8e d8              mov ds, ax
 *   8004: 8e d0              mov ss, ax
 *   8006: bc 00 70           mov sp, 0x7000
 *   8009: c7 06 04 00 00 90  mov word [4], 0x9000   ; IVT entry 1 (#DB): 0000:9000
 *   800f: c7 06 06 00 00 00  mov word [6], 0
 *   8015: 0f 20 e0           mov eax, cr4
 *   8018: 66 83 c8 08        or eax, 8              ; CR4.DE
 *   801c: 0f 22 e0           mov cr4, eax
 *   801f: 66 b8 PP PP 00 00  mov eax, PORT          ; the breakpoint's port
 *   8025: 0f 23 d0           mov dr2, eax
 *   8028: 66 b8 10 04 00 02  mov eax, 0x02000410    ; L2, R/W2 = 10 (I/O), LEN2 = 00
 *   802e: 0f 23 f8           mov dr7, eax
 *   8031: e6 e0              out 0xe0, al           ; exits; a handler completes it
 *   8033: b0 55              mov al, 0x55
 *   8035: e6 f4              out 0xf4, al           ; exit code 0x55: no trap
 *   9000: 58                 pop ax                 ; the IP the trap pushed
 *   9001: 2d 33 80           sub ax, 0x8033
 *   9004: 0f 21 f3           mov ebx, dr6
 *   9007: 83 e3 0f           and bx, 0xf            ; B0-B3
 *   900a: 83 eb 04           sub bx, 4              ; B2 alone
 *   900d: 09 d8              or ax, bx
 *   900f: e6 f4              out 0xf4, al           ; exit code 0: trapped after the OUT, DR6.B0-B3 = B2
 * </pre>
 */
public class EmulatedIoBreakpointTest {

    @Test(timeout = 60_000)
    public void anOutToTheBreakpointsPortTrapsAfterTheVmmCompletedIt() throws InterruptedException {
        assertEquals(Integer.valueOf(0), run(0xE0).exitCode());
    }

    /** LEN2 = 00 covers one port: 0xE1 is not 0xE0, and no trap comes. */
    @Test(timeout = 60_000)
    public void anOutToAnotherPortDoesNotTrap() throws InterruptedException {
        assertEquals(Integer.valueOf(0x55), run(0xE1).exitCode());
    }

    private static RunOutcome run(int breakpointPort) throws InterruptedException {
        byte[] image = new byte[0x1011];
        byte[] code = TestGuests.bytes("31 c0 8e d8 8e d0 bc 00 70 c7 06 04 00 00 90 c7 06 06 00 00 00 0f 20 e0 66 83 c8 08"
                + " 0f 22 e0 66 b8 " + String.format("%02x %02x", breakpointPort & 0xFF, breakpointPort >> 8)
                + " 00 00 0f 23 d0 66 b8 10 04 00 02 0f 23 f8 e6 e0 b0 55 e6 f4");
        System.arraycopy(code, 0, image, 0, code.length);
        byte[] handler = TestGuests.bytes("58 2d 33 80 0f 21 f3 83 e3 0f 83 eb 04 09 d8 e6 f4");
        System.arraycopy(handler, 0, image, 0x1000, handler.length);

        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        VmExitHandler ports = (v, e) -> {
            IoQualification q = IoQualification.decode(e.qualification());
            v.advanceRip(e.instructionLength());
            if (q.port() == 0xF4) {
                v.terminate((int) v.readGpr(GeneralRegisters.RAX) & 0xFF, "debug exit");
            }
            return ExitAction.HANDLED; // 0xE0: the write goes nowhere, as to a device that ignores it
        };
        dispatcher.addHandler(ports, ports, Map.of(VmExitHandler.EXIT_REASON, ExitReason.IO_INSTRUCTION.name(),
                "service.id", 1L), "io.test");
        VCpuRuntime runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));
        VCpuHandle handle = runtime.launch(LaunchRequest.of("io-breakpoint", image, 0x8000, 0x8000,
                new ByteArrayOutputStream()));
        return handle.awaitOutcome(Duration.ofSeconds(50)).orElseThrow();
    }
}
