package io.jvmx.itests;

import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;
import org.osgi.framework.Bundle;

import javax.inject.Inject;
import java.io.File;
import java.nio.file.Files;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/** The Gogo commands as a person uses them, through the CommandProcessor (no terminal: pitfall 5). */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class ShellIT extends JvmxTestSupport {

    /** Each handler bundle and the exit reason it serves. */
    static final Map<String, String> HANDLER_BUNDLES = Map.of(
            "INTERRUPT_WINDOW", "io.jvmx.handler-interrupt-window",
            "VMX_PREEMPTION_TIMER_EXPIRED", "io.jvmx.handler-preemption-timer",
            "XSETBV", "io.jvmx.handler-xsetbv",
            "CR_ACCESS", "io.jvmx.handler-cr-access",
            "CPUID", "io.jvmx.handler-cpuid",
            "WRMSR", "io.jvmx.handler-msr",
            "TASK_SWITCH", "io.jvmx.handler-task-switch",
            "EXCEPTION_OR_NMI", "io.jvmx.handler-exception");

    /** The reasons the local-apic bundle takes first, for its MSRs, CR8 and its timer's deadline. */
    static final java.util.Set<String> APIC_REASONS = java.util.Set.of("WRMSR", "CR_ACCESS",
            "VMX_PREEMPTION_TIMER_EXPIRED");

    @Inject
    private VCpuManager manager;

    @Test
    public void handlersListsEachHandlerBundleForItsReason() throws Exception {
        awaitCommand("vcpu", "handlers");
        CommandResult r = execute("vcpu:handlers");
        assertOk(r);
        for (Map.Entry<String, String> e : HANDLER_BUNDLES.entrySet()) {
            String block = block(r.out(), e.getKey());
            // the local APIC (ranking 100) looks at its own MSRs, CR8 and timer deadlines first and passes the rest
            boolean apicFirst = APIC_REASONS.contains(e.getKey());
            // the time slice comes after the devices that keep time: the APIC (100), the PIT (90), the RTC (80)
            String position = e.getKey().equals("VMX_PREEMPTION_TIMER_EXPIRED") ? "4. " : apicFirst ? "2. " : "1. ";
            assertTrue(e.getKey() + " is served by " + e.getValue() + ":\n" + r.out(),
                    block.contains(position + e.getValue() + " "));
            if (apicFirst) {
                assertTrue(e.getKey() + " goes to io.jvmx.local-apic first:\n" + r.out(),
                        block.contains("1. io.jvmx.local-apic "));
            }
        }
        assertTrue(r.out(), block(r.out(), "EPT_VIOLATION").contains("1. io.jvmx.local-apic "));
        assertTrue(r.out(), block(r.out(), "VMX_PREEMPTION_TIMER_EXPIRED").contains("2. io.jvmx.devices "));
        assertTrue(r.out(), block(r.out(), "IO_INSTRUCTION").contains("io.jvmx.devices"));
    }

    @Test
    public void withoutTheCpuidBundleCpuidIsUnhandled() throws Exception {
        awaitCommand("vcpu", "run");
        Bundle cpuid = installedBundle("io.jvmx.handler-cpuid");
        cpuid.stop();
        try {
            CommandResult handlers = execute("vcpu:handlers");
            assertOk(handlers);
            assertTrue(handlers.out(), block(handlers.out(), "CPUID").startsWith("CPUID (10): unhandled"));

            CommandResult run = execute("vcpu:run cpuid");
            assertNull(run.failure());
            assertTrue(run.all(), run.out().contains("unhandled exit: CPUID at RIP 0x"));
            assertFalse("an unhandled exit is not success", Integer.valueOf(0).equals(run.value()));
        } finally {
            cpuid.start();
        }
        awaitService(VmExitHandler.class, "(" + VmExitHandler.EXIT_REASON + "=CPUID)");
        CommandResult again = execute("vcpu:run cpuid");
        assertEquals(again.all(), 0, again.value());
        assertTrue(again.out(), again.out().contains("cpuid: hypervisor signature RVMRVMRVMRVM"));
    }

    @Test
    public void felixCommandsTakeABundleIdOrSymbolicName() throws Exception {
        // without gogo.jline (batch mode, and here) only the shell bundle's converter turns "3" into a Bundle
        awaitCommand("vcpu", "handlers");
        Bundle xsetbv = installedBundle("io.jvmx.handler-xsetbv");
        try {
            CommandResult stop = execute("stop io.jvmx.handler-xsetbv");
            assertNull(stop.all(), stop.failure());
            assertEquals(Bundle.RESOLVED, xsetbv.getState());
            assertTrue(block(execute("vcpu:handlers").out(), "XSETBV").startsWith("XSETBV (55): unhandled"));

            CommandResult start = execute("start " + xsetbv.getBundleId()); // Felix's start parses ids itself
            assertNull(start.all(), start.failure());
            assertEquals(Bundle.ACTIVE, xsetbv.getState());
            stop = execute("stop " + xsetbv.getBundleId());
            assertNull(stop.all(), stop.failure());
            assertEquals(Bundle.RESOLVED, xsetbv.getState());
        } finally {
            xsetbv.start();
        }
        awaitService(VmExitHandler.class, "(" + VmExitHandler.EXIT_REASON + "=XSETBV)");
        assertTrue(block(execute("vcpu:handlers").out(), "XSETBV").contains("1. io.jvmx.handler-xsetbv "));
    }

    @Test
    public void badInputIsOneLineWithoutAStackTrace() throws Exception {
        awaitCommand("vcpu", "run");
        assertOneLineError(execute("vcpu:run foo"), "vcpu:run: no guest image 'foo' (known: demo, ");
        assertOneLineError(execute("vcpu:run --memory x"), "vcpu:run: --memory: not a number: 'x'");
        assertOneLineError(execute("vcpu:run --processor nosuch"), "vcpu:run: ");
        assertOneLineError(execute("vcpu:regs 9999"), "vcpu:regs: no vCPU 9999");
        assertOneLineError(execute("vcpu:stats x"), "vcpu:stats: not a vCPU id: 'x'");
        assertOneLineError(execute("vcpu:vmcs 1 NO_SUCH_FIELD"), "vcpu:vmcs: no VMCS field 'NO_SUCH_FIELD'");
        assertOneLineError(execute("vcpu:stop"), "vcpu:stop: usage: vcpu:stop <id>");
    }

    /**
     * sys-long checks #UD among IA-32e mode's exceptions: the platform intercepts #UD (as x86_vcpu does) and the
     * exception bundle reflects it into the guest, whose own handler then runs; all its checks pass under vcpu:run.
     */
    @Test
    public void interceptedExceptionsAreReflectedIntoTheGuest() throws Exception {
        awaitCommand("vcpu", "run");
        CommandResult run = execute("vcpu:run sys-long");
        assertOk(run);
        assertTrue(run.out(), run.out().contains("sys-long: all "));
        assertTrue(run.out(), run.out().lines().anyMatch(
                l -> l.trim().startsWith("EXCEPTION_OR_NMI") && l.trim().endsWith("io.jvmx.handler-exception")));
    }

    /**
     * sys-debug's debug registers survive the platform's VM exits (save/load debug controls), and its I/O breakpoint
     * on the report port, whose OUT a device completes, traps after the OUT (VmxVcpu emulates the trap): all 57 checks
     * pass under vcpu:run.
     */
    @Test
    public void debugRegistersWorkUnderThePlatform() throws Exception {
        awaitCommand("vcpu", "run");
        CommandResult run = execute("vcpu:run sys-debug");
        assertOk(run);
        assertTrue(run.out(), run.out().contains("sys-debug: all 57 checks passed"));
    }

    @Test
    public void aGuestRunsAndCanBeInspectedAfterwards() throws Exception {
        awaitCommand("vcpu", "run");
        CommandResult run = execute("vcpu:run hello");
        assertOk(run);
        assertTrue(run.out(), run.out().contains("hello from jvmx"));
        VCpuHandle hello = newest("hello");

        CommandResult list = execute("vcpu:list");
        assertOk(list);
        assertTrue(list.out(), list.out().lines().anyMatch(l -> l.trim().startsWith(hello.id() + " ") && l.contains("hello")));

        CommandResult stats = execute("vcpu:stats " + hello.id());
        assertOk(stats);
        assertTrue(stats.out(), stats.out().contains("guest exited with code 0"));
        assertTrue(stats.out(), stats.out().contains("IO_INSTRUCTION"));

        CommandResult regs = execute("vcpu:regs " + hello.id());
        assertOk(regs);
        assertTrue(regs.out(), regs.out().contains("rip  0x"));
        assertTrue(regs.out(), regs.out().contains("cs   selector"));

        CommandResult rip = execute("vcpu:vmcs " + hello.id() + " GUEST_RIP");
        assertOk(rip);
        assertTrue(rip.out(), rip.out().startsWith("GUEST_RIP (0x681e, natural-width guest-state) = 0x"));

        CommandResult vmcs = execute("vcpu:vmcs " + hello.id());
        assertOk(vmcs);
        assertTrue(vmcs.out(), vmcs.out().contains("guest-state fields:"));
        assertTrue(vmcs.out(), vmcs.out().contains("  EXIT_REASON = 0x"));
    }

    @Test
    public void aBackgroundVCpuCanBeInspectedWhileItRunsAndStopped() throws Exception {
        awaitCommand("vcpu", "run");
        // a flat binary that spins forever at 0x8000: EB FE = JMP $ (SDM Vol. 2A, JMP rel8)
        File spin = File.createTempFile("spin", ".bin");
        spin.deleteOnExit();
        Files.write(spin.toPath(), new byte[]{(byte) 0xEB, (byte) 0xFE});

        CommandResult start = execute("vcpu:run '" + spin.getAbsolutePath() + "' --background");
        assertNull(start.failure());
        assertTrue(start.out(), start.out().contains("in the background"));
        int id = (Integer) start.value();

        CommandResult regs = execute("vcpu:regs " + id);
        assertOk(regs);
        assertTrue(regs.out(), regs.out().contains("rip  0x0000000000008000"));

        CommandResult stop = execute("vcpu:stop " + id);
        assertOk(stop);
        assertTrue(stop.out(), stop.out().startsWith("vCPU " + id + ": "));
        assertTrue(manager.get(id).orElseThrow().awaitOutcome(java.time.Duration.ZERO).isPresent());
    }

    @Test
    public void vmxInfoDescribesTheSoftwareProcessor() throws Exception {
        awaitCommand("vmx", "info");
        CommandResult r = execute("vmx:info");
        assertOk(r);
        assertTrue(r.out(), r.out().contains("software   available"));
        assertTrue(r.out(), r.out().contains("VMCS revision id"));
        assertTrue(r.out(), r.out().contains("VMX-preemption timer counts down once per 32 TSC ticks"));
        assertTrue(r.out(), r.out().contains("deliverable exits"));
    }

    // ---- helpers ----

    private static void assertOk(CommandResult r) {
        assertNull("command failed: " + r.failure() + "\n" + r.all(), r.failure());
        assertEquals(r.all(), 0, r.value());
    }

    private static void assertOneLineError(CommandResult r, String prefix) {
        assertNull("the command itself must not throw: " + r.failure(), r.failure());
        assertEquals("bad input returns 2: " + r.all(), 2, r.value());
        List<String> lines = r.err().lines().toList();
        assertEquals("one line: " + r.err(), 1, lines.size());
        assertTrue(r.err(), lines.get(0).startsWith(prefix));
        assertFalse("no stack trace: " + r.all(), r.all().contains("\tat ") || r.all().contains("Exception"));
        assertEquals("nothing on the output stream: " + r.out(), "", r.out());
    }

    /** The lines of vcpu:handlers that describe one exit reason. */
    private static String block(String handlersOutput, String reason) {
        StringBuilder sb = new StringBuilder();
        boolean in = false;
        for (String line : handlersOutput.lines().toList()) {
            if (line.startsWith(reason + " (")) {
                in = true;
            } else if (!line.startsWith("  ")) {
                in = false;
            }
            if (in) {
                sb.append(line).append('\n');
            }
        }
        assertFalse("vcpu:handlers shows " + reason + ":\n" + handlersOutput, sb.length() == 0);
        return sb.toString();
    }

    private VCpuHandle newest(String name) {
        return manager.list().stream().filter(h -> h.name().equals(name))
                .max(Comparator.comparingInt(VCpuHandle::id)).orElseThrow();
    }
}
