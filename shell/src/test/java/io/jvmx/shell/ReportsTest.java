package io.jvmx.shell;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuStats;
import org.junit.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.Assert.assertEquals;

public class ReportsTest {

    @Test
    public void handlerChainsSayWhichKindsCannotReachThem() {
        java.util.List<String> lines = Reports.handlerChains(Map.of(), Map.of("kvm",
                java.util.EnumSet.of(ExitReason.IO_INSTRUCTION, ExitReason.INTERRUPT_WINDOW), "software",
                java.util.EnumSet.allOf(ExitReason.class)));
        int cr = lines.indexOf("CR_ACCESS (28): unhandled (the exit goes back to the caller of run)");
        assertEquals("  kvm vCPUs cannot reach these handlers: the processor never delivers CR_ACCESS exits",
                lines.get(cr + 1));
        int cpuid = lines.indexOf("CPUID (10): unhandled (the exit goes back to the caller of run)");
        assertEquals("  kvm vCPUs: no CPUID exits; this chain is asked once, before the vCPU first runs, for the "
                + "CPUID table the processor answers from", lines.get(cpuid + 1));
        int window = lines.indexOf("INTERRUPT_WINDOW (7): unhandled (the exit goes back to the caller of run)");
        org.junit.Assert.assertFalse(lines.get(window + 1), lines.get(window + 1).startsWith("  kvm"));
    }

    @Test
    public void aRunSummarySaysWhatTheProcessorCannotDeliver() {
        java.util.Set<ExitReason> all = java.util.EnumSet.allOf(ExitReason.class);
        org.junit.Assert.assertNull(Reports.undeliverable("software", all, java.util.Set.of(ExitReason.CPUID)));
        java.util.Set<ExitReason> kvm = java.util.EnumSet.complementOf(java.util.EnumSet.of(ExitReason.CPUID,
                ExitReason.XSETBV, ExitReason.CR_ACCESS));
        assertEquals("  not deliverable on kvm: CPUID, CR_ACCESS, XSETBV (their handlers are not reached; CPUID "
                + "answers come from the table the CPUID handlers gave when the vCPU started)",
                Reports.undeliverable("kvm", kvm, java.util.Set.of(ExitReason.IO_INSTRUCTION)));
    }

    @Test
    public void handledByNamesTheBundlesAndWhatNoneTook() {
        assertEquals("io.jvmx.handler-cpuid", Reports.handledBy(5, Map.of("io.jvmx.handler-cpuid", 5L)));
        Map<String, Long> two = new LinkedHashMap<>();
        two.put("io.jvmx.handler-cpuid", 400L);
        two.put("test.probe", 600L);
        assertEquals("io.jvmx.handler-cpuid (400), test.probe (600)", Reports.handledBy(1000, two));
        assertEquals("io.jvmx.devices (3), unhandled (1)", Reports.handledBy(4, Map.of("io.jvmx.devices", 3L)));
        assertEquals("unhandled", Reports.handledBy(1, Map.of()));
    }

    @Test
    public void exitStatusIsTheGuestsCodeOnlyWhenTheGuestEndedItself() {
        assertEquals(7, Reports.exitStatus(new RunOutcome(VCpuState.STOPPED, 7, "guest exited with code 7", null, null)));
        assertEquals(1, Reports.exitStatus(new RunOutcome(VCpuState.STOPPED, null, "stopped by request", null, null)));
        assertEquals(1, Reports.exitStatus(new RunOutcome(VCpuState.STOPPED, null, "unhandled",
                VmExitInfo.of(48, 0, 0x8020, 0x181), null)));
        assertEquals(1, Reports.exitStatus(new RunOutcome(VCpuState.FAILED, null, "handler failed", null,
                new IllegalStateException("boom"))));
    }

    @Test
    public void outcomeLines() {
        // SDM 25.9.1: bit 31 of the exit-reason field marks a VM-entry failure
        assertEquals("unhandled exit: VM-entry failure VM_ENTRY_FAILURE_INVALID_GUEST_STATE at RIP 0x8000 (qualification 0x0)",
                Reports.outcomeLine(new RunOutcome(VCpuState.STOPPED, null, "x",
                        VmExitInfo.of(0x8000_0021, 0, 0x8000, 0), null)));
        assertEquals("unhandled exit: EPT_VIOLATION at RIP 0x8020 (qualification 0x181)",
                Reports.outcomeLine(new RunOutcome(VCpuState.STOPPED, null, "x", VmExitInfo.of(48, 0, 0x8020, 0x181), null)));
        assertEquals("handler io.jvmx.handler-cpuid failed on CPUID: boom",
                Reports.outcomeLine(new RunOutcome(VCpuState.FAILED, null, "handler io.jvmx.handler-cpuid failed on CPUID: boom",
                        null, new IllegalStateException("boom"))));
        assertEquals("failed: boom",
                Reports.outcomeLine(new RunOutcome(VCpuState.FAILED, null, null, null, new IllegalStateException("boom"))));
    }

    @Test
    public void totalsWithoutAnInstructionCount() {
        VCpuStats s = new VCpuStats(Map.of(ExitReason.HLT, 2L), Map.of(), 2, -1, 1_000_000);
        assertEquals("2 exits, guest instructions not counted, 0.001 s wall time, MIPS n/a", Reports.totals(s));
    }
}
