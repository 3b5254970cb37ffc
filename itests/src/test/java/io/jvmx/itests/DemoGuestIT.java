package io.jvmx.itests;

import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestExpectation;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.core.runtime.VCpuHandle;
import io.jvmx.vmx.core.runtime.VCpuManager;
import io.jvmx.vmx.core.runtime.VCpuStats;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import javax.inject.Inject;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

/**
 * The showcase: {@code vcpu:run} with no image boots the demo guest on the software processor through real,
 * protected and long mode, and every VM exit it causes is taken by the bundle that owns that exit reason.
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class DemoGuestIT extends JvmxTestSupport {

    /** Which bundle must handle each exit reason of the demo. */
    static final Map<ExitReason, String> OWNER = new EnumMap<>(Map.of(
            ExitReason.CR_ACCESS, "io.jvmx.handler-cr-access",
            ExitReason.CPUID, "io.jvmx.handler-cpuid",
            ExitReason.XSETBV, "io.jvmx.handler-xsetbv",
            ExitReason.INTERRUPT_WINDOW, "io.jvmx.handler-interrupt-window",
            ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, "io.jvmx.handler-preemption-timer",
            ExitReason.IO_INSTRUCTION, "io.jvmx.devices",
            ExitReason.WRMSR, "io.jvmx.handler-msr",
            ExitReason.RDMSR, "io.jvmx.handler-msr"));

    /** What the demo is written to cause (demo.S): every one of these must occur. */
    static final Set<ExitReason> MUST_OCCUR = EnumSet.of(ExitReason.CR_ACCESS, ExitReason.CPUID, ExitReason.XSETBV,
            ExitReason.INTERRUPT_WINDOW, ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, ExitReason.IO_INSTRUCTION,
            ExitReason.WRMSR);

    @Inject
    private VCpuManager manager;

    @Test
    public void theDemoClimbsToLongModeWithEveryExitHandledByItsBundle() throws Exception {
        awaitCommand("vcpu", "run");
        List<Integer> before = manager.list().stream().map(VCpuHandle::id).toList();

        CommandResult r = execute("vcpu:run");

        assertNull("vcpu:run failed: " + r.failure() + "\n" + r.all(), r.failure());
        assertEquals(r.all(), 0, r.value());
        assertEquals("nothing on the error stream", "", r.err());
        String out = r.out();
        // serial output from each mode, in order
        int real = out.indexOf("[real] hello from real mode");
        int prot = out.indexOf("[prot] hello from 32-bit protected mode");
        int lng = out.indexOf("[long] hello from 64-bit long mode");
        assertTrue(out, real >= 0 && prot > real && lng > prot);
        GuestExpectation expected = BundledGuests.expectation("demo").orElseThrow();
        assertTrue("serial output as demo.S describes it:\n" + out, expected.matchesSerialOutput(out));
        assertTrue(out, out.contains("guest exited with code 0"));

        VCpuHandle demo = manager.list().stream().filter(h -> !before.contains(h.id())).findFirst().orElseThrow();
        assertEquals("demo", demo.name());
        assertEquals("software", demo.processorKind());
        VCpuStats stats = demo.stats();
        assertEquals("unhandled exits", 0, stats.unhandledExits());
        for (ExitReason reason : MUST_OCCUR) {
            assertTrue("the demo causes " + reason + " exits: " + stats.exitsByReason(),
                    stats.exitsByReason().getOrDefault(reason, 0L) > 0);
        }
        for (Map.Entry<ExitReason, Long> e : stats.exitsByReason().entrySet()) {
            ExitReason reason = e.getKey();
            String owner = OWNER.get(reason);
            assertTrue("an exit the demo should not cause: " + reason + " x" + e.getValue(), owner != null);
            assertEquals("who handled the " + reason + " exits", Map.of(owner, e.getValue()),
                    stats.handledBy().get(reason));
            // and the summary says so too
            assertTrue(out, out.lines().anyMatch(l -> l.trim().startsWith(reason.name() + " ") && l.endsWith(owner)));
        }
        assertTrue(out, out.contains("total: " + stats.totalExits() + " exits"));
    }
}
