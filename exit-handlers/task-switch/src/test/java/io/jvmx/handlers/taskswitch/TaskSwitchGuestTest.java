package io.jvmx.handlers.taskswitch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.jvmx.devices.debugexit.DebugExitPort;
import io.jvmx.devices.serial.SerialPort;
import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestExpectation;
import io.jvmx.guests.GuestImage;
import io.jvmx.handlers.craccess.CrAccessHandler;
import io.jvmx.handlers.preemptiontimer.PreemptionTimerHandler;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.internal.VCpuRuntime;
import io.jvmx.vmx.core.internal.WhiteboardExitDispatcher;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessorProvider;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import org.junit.Test;

/**
 * The sys-tasks guest kernel (guests/src/main/asm/sys-tasks.S) on the software processor, as {@code vcpu:run} runs it
 * (the vCPU runtime, the exit dispatcher, the platform's devices and handlers), with this handler performing the task
 * switches that VMX non-root operation turns into TASK_SWITCH exits: JMP, CALL and IRET between tasks, task gates in
 * the GDT and the IDT, exceptions with error codes and a double fault handled by their own tasks, a 16-bit TSS. Each
 * task checks what the switch left it; the kernel prints one line per check and exits with the number that failed.
 */
public class TaskSwitchGuestTest {

    @Test(timeout = 120_000)
    public void sysTasksRunsAsCatalogued() throws InterruptedException {
        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        long id = 1;
        id = register(dispatcher, id, "io.jvmx.handler-task-switch", new TaskSwitchHandler(), ExitReason.TASK_SWITCH);
        id = register(dispatcher, id, "io.jvmx.handler-cr-access", new CrAccessHandler(), ExitReason.CR_ACCESS);
        id = register(dispatcher, id, "io.jvmx.handler-preemption-timer", new PreemptionTimerHandler(),
                ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        id = register(dispatcher, id, "io.jvmx.devices", new SerialPort(), ExitReason.IO_INSTRUCTION);
        register(dispatcher, id, "io.jvmx.devices", new DebugExitPort(), ExitReason.IO_INSTRUCTION);
        VCpuRuntime runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));

        GuestImage image = BundledGuests.catalog().find("sys-tasks").orElseThrow();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VCpuHandle handle = runtime.launch(LaunchRequest.of("sys-tasks", image.bytes(), image.loadAddress(),
                image.entry(), console));
        RunOutcome outcome = handle.awaitOutcome(Duration.ofSeconds(100)).orElseThrow();
        String output = console.toString(StandardCharsets.ISO_8859_1);
        String message = "sys-tasks ended: " + outcome.reason() + "\n" + output;

        GuestExpectation expected = BundledGuests.expectation("sys-tasks").orElseThrow();
        assertFalse(message, output.contains("FAIL "));
        assertTrue(message, expected.matchesSerialOutput(output));
        assertEquals(message, Integer.valueOf((int) expected.exitCode().orElseThrow()), outcome.exitCode());
        assertTrue("the task switches went through this handler: " + handle.stats().exitsByReason(),
                handle.stats().exitsByReason().getOrDefault(ExitReason.TASK_SWITCH, 0L) >= 10);
    }

    private static long register(WhiteboardExitDispatcher dispatcher, long serviceId, String bundle,
                                 VmExitHandler handler, ExitReason... reasons) {
        String[] names = new String[reasons.length];
        for (int i = 0; i < reasons.length; i++) {
            names[i] = reasons[i].name();
        }
        dispatcher.addHandler(handler, handler, Map.of(VmExitHandler.EXIT_REASON, names, "service.id", serviceId),
                bundle);
        return serviceId + 1;
    }
}
