package io.jvmx.vmx.core.internal;

import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.runtime.GuestBoot;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessorProvider;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.Test;

/**
 * A guest that starts the way boot protocols hand over (Linux's 32-bit boot protocol: flat 32-bit protected mode,
 * paging off, CS = 0x10 and the data segments 0x18 from a GDT the loader placed, ESI pointing at the zero page), on
 * the software processor through the vCPU runtime, from several regions. The guest checks its own state and writes
 * 0 to the debug-exit port when everything is as the entry state says, 0xFF otherwise:
 * <pre>
 *   89 f0              mov eax, esi
 *   2d 00 70 00 00     sub eax, 0x7000          ; ESI = the zero page the loader named
 *   8c d9 83 e9 18     mov ecx, ds ; sub ecx, 0x18
 *   09 c8              or eax, ecx
 *   8c c9 83 e9 10     mov ecx, cs ; sub ecx, 0x10
 *   09 c8              or eax, ecx
 *   8c d1 83 e9 18     mov ecx, ss ; sub ecx, 0x18
 *   09 c8              or eax, ecx
 *   83 eb 55 09 d8     sub ebx, 0x55 ; or eax, ebx   ; the other registers as the loader set them
 *   0f 20 c1           mov ecx, cr0
 *   81 e1 01 00 00 80  and ecx, 0x80000001      ; PE = 1, PG = 0
 *   83 e9 01 09 c8     sub ecx, 1 ; or eax, ecx
 *   8b 15 00 00 20 00  mov edx, [0x200000]      ; another region, above 1 MiB: flat 4-GiB data segment
 *   81 ea 78 56 34 12  sub edx, 0x12345678
 *   09 d0              or eax, edx
 *   f7 d8 19 c0        neg eax ; sbb eax, eax    ; 0 or all ones
 *   e6 f4              out 0xf4, al
 * </pre>
 */
public class FlatProtectedModeEntryTest {

    @Test(timeout = 60_000)
    public void theGuestStartsInFlat32BitProtectedModeWithTheLoadersRegisters() throws InterruptedException {
        byte[] code = TestGuests.bytes("89 f0 2d 00 70 00 00 8c d9 83 e9 18 09 c8 8c c9 83 e9 10 09 c8 8c d1 83 e9 18 09 c8"
                + " 83 eb 55 09 d8 0f 20 c1 81 e1 01 00 00 80 83 e9 01 09 c8"
                + " 8b 15 00 00 20 00 81 ea 78 56 34 12 09 d0" // mov edx, [0x200000] ; sub edx, 0x12345678 ; or eax, edx
                + " f7 d8 19 c0 e6 f4");
        ByteBuffer gdt = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        gdt.putLong(0).putLong(0).putLong(0x00CF_9B00_0000_FFFFL).putLong(0x00CF_9300_0000_FFFFL);
        byte[] data = {0x78, 0x56, 0x34, 0x12};
        long[] gprs = new long[16];
        gprs[GeneralRegisters.RSI] = 0x7000;
        gprs[GeneralRegisters.RBX] = 0x55;
        GuestBoot boot = new GuestBoot(List.of(new GuestBoot.Region("gdt", 0x1000, gdt.array()),
                new GuestBoot.Region("code", 0x10_0000, code), new GuestBoot.Region("data", 0x20_0000, data)),
                GuestBoot.Entry.flatProtectedMode(0x10_0000, 0x1000, 31, 0x10, 0x18, gprs));

        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        VmExitHandler debugExit = TestGuests.DEBUG_EXIT;
        dispatcher.addHandler(debugExit, debugExit, Map.of(VmExitHandler.EXIT_REASON, ExitReason.IO_INSTRUCTION.name(),
                "service.id", 1L), "io.test");
        VCpuRuntime runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));
        VCpuHandle handle = runtime.launch(LaunchRequest.of("flat-32", boot, 4 << 20, new ByteArrayOutputStream()));
        RunOutcome outcome = handle.awaitOutcome(Duration.ofSeconds(50)).orElseThrow();
        assertEquals("0: every check passed; 255: one failed: " + outcome, Integer.valueOf(0), outcome.exitCode());
    }

    @Test(expected = IllegalArgumentException.class)
    public void aRegionBeyondGuestRamIsRefused() {
        GuestBoot boot = new GuestBoot(List.of(new GuestBoot.Region("kernel", 0x3F_F000, new byte[0x2000])),
                GuestBoot.Entry.flatProtectedMode(0x10_0000, 0x1000, 31, 0x10, 0x18, new long[16]));
        LaunchRequest.of("too-big", boot, 4 << 20, new ByteArrayOutputStream());
    }

    @Test(expected = IllegalArgumentException.class)
    public void aSelectorOutsideTheGdtIsRefused() {
        GuestBoot.Entry.flatProtectedMode(0x10_0000, 0x1000, 0x17, 0x10, 0x18, new long[16]);
    }
}
