package io.jvmx.apic.device;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.jvmx.devices.debugexit.DebugExitPort;
import io.jvmx.devices.serial.SerialPort;
import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestExpectation;
import io.jvmx.guests.GuestImage;
import io.jvmx.handlers.cpuid.CpuidHandler;
import io.jvmx.handlers.craccess.CrAccessHandler;
import io.jvmx.handlers.interruptwindow.InterruptWindowHandler;
import io.jvmx.handlers.msr.MsrHandler;
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
 * The sys-apic guest kernel (guests/src/main/asm/sys-apic.S) on the software processor, as {@code vcpu:run} runs it:
 * the vCPU runtime and its VMCS setup (MSR bitmap, CR8 exiting), the exit dispatcher, the platform's devices and
 * handlers, and this bundle's local APIC. The kernel checks the APIC from inside the guest, against SDM Vol. 3A
 * chapter 11, one line per check, and exits with the number that failed.
 */
public class SysApicGuestTest {

    private static String run(long timeSlice) throws InterruptedException {
        WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        LocalApicDevice apic = new LocalApicDevice();
        CpuidHandler cpuid = new CpuidHandler();
        cpuid.addContribution(apic, Map.of());
        long id = 1;
        id = register(dispatcher, id, 100, "io.jvmx.local-apic", apic, ExitReason.EPT_VIOLATION, ExitReason.RDMSR,
                ExitReason.WRMSR, ExitReason.CR_ACCESS, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        id = register(dispatcher, id, 0, "io.jvmx.handler-cpuid", cpuid, ExitReason.CPUID);
        id = register(dispatcher, id, 0, "io.jvmx.handler-msr", new MsrHandler(), ExitReason.RDMSR, ExitReason.WRMSR);
        id = register(dispatcher, id, 0, "io.jvmx.handler-cr-access", new CrAccessHandler(), ExitReason.CR_ACCESS);
        id = register(dispatcher, id, 0, "io.jvmx.handler-preemption-timer", new PreemptionTimerHandler(),
                ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        id = register(dispatcher, id, 0, "io.jvmx.handler-interrupt-window", new InterruptWindowHandler(),
                ExitReason.INTERRUPT_WINDOW);
        id = register(dispatcher, id, 0, "io.jvmx.devices", new SerialPort(), ExitReason.IO_INSTRUCTION);
        register(dispatcher, id, 0, "io.jvmx.devices", new DebugExitPort(), ExitReason.IO_INSTRUCTION);
        VCpuRuntime runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));

        GuestImage image = BundledGuests.catalog().find("sys-apic").orElseThrow();
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        VCpuHandle handle = runtime.launch(LaunchRequest.of("sys-apic", image.bytes(), image.loadAddress(),
                image.entry(), console).withTimeSlice(timeSlice));
        RunOutcome outcome = handle.awaitOutcome(Duration.ofSeconds(100)).orElseThrow();
        String output = console.toString(StandardCharsets.ISO_8859_1);
        String message = "sys-apic ended: " + outcome.reason() + "\n" + output;

        GuestExpectation expected = BundledGuests.expectation("sys-apic").orElseThrow();
        assertFalse(message, output.contains("FAIL "));
        assertTrue(message, expected.matchesSerialOutput(output));
        assertEquals(message, Integer.valueOf((int) expected.exitCode().orElseThrow()), outcome.exitCode());
        assertTrue("the APIC page was reached through EPT violations: " + handle.stats().exitsByReason(),
                handle.stats().exitsByReason().getOrDefault(ExitReason.EPT_VIOLATION, 0L) >= 20);
        return output;
    }

    /** With the platform's default time slice: the APIC's deadlines shorten the slices. */
    @Test(timeout = 120_000)
    public void sysApicRunsAsCatalogued() throws InterruptedException {
        run(LaunchRequest.DEFAULT_TIME_SLICE);
    }

    /**
     * Without a time slice (vcpu:run --slice 0) the VMX-preemption timer is off until the APIC asks for an exit at a
     * deadline: the timer still reaches the guest, also in HLT, and the run ends the same.
     */
    @Test(timeout = 120_000)
    public void sysApicWithoutTimeSlice() throws InterruptedException {
        run(0);
    }

    private static long register(WhiteboardExitDispatcher dispatcher, long serviceId, int ranking, String bundle,
                                 VmExitHandler handler, ExitReason... reasons) {
        String[] names = new String[reasons.length];
        for (int i = 0; i < reasons.length; i++) {
            names[i] = reasons[i].name();
        }
        dispatcher.addHandler(handler, handler, Map.of(VmExitHandler.EXIT_REASON, names, "service.id", serviceId,
                "service.ranking", ranking), bundle);
        return serviceId + 1;
    }
}
