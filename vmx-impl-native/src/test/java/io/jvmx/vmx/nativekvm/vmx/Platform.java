package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.devices.debugexit.DebugExitPort;
import io.jvmx.devices.doorbell.InterruptDoorbell;
import io.jvmx.devices.report.ReportPort;
import io.jvmx.devices.serial.SerialPort;
import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestImage;
import io.jvmx.apic.device.LocalApicDevice;
import io.jvmx.handlers.cpuid.CpuidHandler;
import io.jvmx.handlers.craccess.CrAccessHandler;
import io.jvmx.handlers.exception.ExceptionReflectionHandler;
import io.jvmx.handlers.interruptwindow.InterruptWindowHandler;
import io.jvmx.handlers.msr.MsrHandler;
import io.jvmx.handlers.preemptiontimer.PreemptionTimerHandler;
import io.jvmx.handlers.taskswitch.TaskSwitchHandler;
import io.jvmx.handlers.xsetbv.XsetbvHandler;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import io.jvmx.vmx.core.internal.VCpuRuntime;
import io.jvmx.vmx.core.internal.WhiteboardExitDispatcher;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuStats;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessorProvider;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

/**
 * The platform as {@code vcpu:run} has it, without OSGi: the exit dispatcher with every handler and device bundle of
 * the distribution, and the vCPU runtime with the software and the KVM processor.
 */
final class Platform {
    final WhiteboardExitDispatcher dispatcher = new WhiteboardExitDispatcher();
    final VCpuRuntime runtime;
    private long serviceId = 1;

    /** One run: its outcome, serial output and counters. */
    record Run(RunOutcome outcome, String serial, VCpuStats stats) {
    }

    Platform() {
        dispatcher.configure(Map.of(WhiteboardExitDispatcher.HANDLER_WAIT_MILLIS, 0));
        LocalApicDevice apic = new LocalApicDevice();
        CpuidHandler cpuid = new CpuidHandler();
        cpuid.addContribution(apic, Map.of());
        // the local APIC before the generic MSR and CR handlers, as its service ranking puts it in the distribution
        register("io.jvmx.local-apic", 100, apic, ExitReason.EPT_VIOLATION, ExitReason.RDMSR, ExitReason.WRMSR,
                ExitReason.CR_ACCESS, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        register("io.jvmx.handler-cpuid", cpuid, ExitReason.CPUID);
        register("io.jvmx.handler-exception", new ExceptionReflectionHandler(), ExitReason.EXCEPTION_OR_NMI);
        register("io.jvmx.handler-cr-access", new CrAccessHandler(), ExitReason.CR_ACCESS);
        register("io.jvmx.handler-xsetbv", new XsetbvHandler(), ExitReason.XSETBV);
        register("io.jvmx.handler-msr", new MsrHandler(), ExitReason.RDMSR, ExitReason.WRMSR);
        register("io.jvmx.handler-interrupt-window", new InterruptWindowHandler(), ExitReason.INTERRUPT_WINDOW);
        register("io.jvmx.handler-preemption-timer", new PreemptionTimerHandler(),
                ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        register("io.jvmx.handler-task-switch", new TaskSwitchHandler(), ExitReason.TASK_SWITCH);
        register("io.jvmx.devices", new SerialPort(), ExitReason.IO_INSTRUCTION);
        register("io.jvmx.devices", new DebugExitPort(), ExitReason.IO_INSTRUCTION);
        register("io.jvmx.devices", new InterruptDoorbell(), ExitReason.IO_INSTRUCTION);
        register("io.jvmx.devices", new ReportPort(), ExitReason.IO_INSTRUCTION);
        runtime = new VCpuRuntime(dispatcher);
        runtime.addProvider(new SoftwareVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "software"));
        runtime.addProvider(new KvmVmxProcessorProvider(), Map.of(VmxProcessorProvider.KIND, "kvm"));
    }

    void register(String bundle, VmExitHandler handler, ExitReason... reasons) {
        register(bundle, 0, handler, reasons);
    }

    /** With a service ranking: above 0, the handler runs before the platform's own. */
    void register(String bundle, int ranking, VmExitHandler handler, ExitReason... reasons) {
        String[] names = new String[reasons.length];
        for (int i = 0; i < reasons.length; i++) {
            names[i] = reasons[i].name();
        }
        dispatcher.addHandler(handler, handler, Map.of(VmExitHandler.EXIT_REASON, names, "service.id", serviceId++,
                "service.ranking", ranking), bundle);
    }

    /** Runs a catalog image on {@code kind} until it ends (stopped after {@code seconds}: every run is bounded). */
    Run run(String image, String kind, long seconds) throws InterruptedException {
        GuestImage g = BundledGuests.catalog().find(image).orElseThrow();
        return run(LaunchRequest.of(image, g.bytes(), g.loadAddress(), g.entry(), new ByteArrayOutputStream())
                .withProcessor(kind), seconds);
    }

    Run run(LaunchRequest request, long seconds) throws InterruptedException {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        LaunchRequest r = new LaunchRequest(request.name(), request.image(), request.loadAddress(), request.entry(),
                request.memoryBytes(), request.processorKind(), console, request.timeSliceTicks(),
                request.maxExits());
        VCpuHandle h = runtime.launch(r);
        RunOutcome o = h.awaitOutcome(Duration.ofSeconds(seconds)).orElse(null);
        if (o == null) {
            h.stop();
            o = h.awaitOutcome(Duration.ofSeconds(10)).orElseThrow(
                    () -> new AssertionError(request.name() + " on " + request.processorKind() + " did not stop"));
        }
        return new Run(o, console.toString(StandardCharsets.ISO_8859_1), h.stats());
    }
}
