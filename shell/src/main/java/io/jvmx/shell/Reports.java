package io.jvmx.shell;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.core.runtime.HandlerDirectory;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuStats;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** The text the vcpu commands print: run summaries, exit tables, handler chains. Pure functions, for tests. */
final class Reports {

    /**
     * The exits the demo guest produces, each owned by one of the platform's handler bundles: vcpu:handlers lists
     * them even when no handler serves them, so that a missing bundle shows as "unhandled".
     */
    static final Set<ExitReason> DEMO_EXITS = EnumSet.of(ExitReason.INTERRUPT_WINDOW, ExitReason.CPUID,
            ExitReason.CR_ACCESS, ExitReason.IO_INSTRUCTION, ExitReason.RDMSR, ExitReason.WRMSR,
            ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, ExitReason.XSETBV);

    private Reports() {
    }

    /** "unhandled exit: CPUID at RIP 0x8010" — the line a script or a test looks for. */
    static String unhandledLine(VmExitInfo exit) {
        return String.format("unhandled exit: %s%s at RIP %#x (qualification %#x)",
                exit.entryFailure() ? "VM-entry failure " : "", exit.reason(), exit.guestRip(), exit.qualification());
    }

    /** The outcome as one line. */
    static String outcomeLine(RunOutcome outcome) {
        if (outcome.unhandledExit() != null) {
            return unhandledLine(outcome.unhandledExit());
        }
        if (outcome.exitCode() != null) {
            return "guest exited with code " + outcome.exitCode();
        }
        String reason = outcome.reason() != null ? outcome.reason() : outcome.state().name().toLowerCase(Locale.ROOT);
        if (outcome.failure() != null && (outcome.reason() == null || !outcome.reason().contains(describe(outcome.failure())))) {
            reason += ": " + describe(outcome.failure());
        }
        return reason;
    }

    /** What vcpu:run returns: the guest's exit code, or 1 when the guest did not end itself. */
    static int exitStatus(RunOutcome outcome) {
        if (outcome.unhandledExit() == null && outcome.failure() == null && outcome.exitCode() != null) {
            return outcome.exitCode();
        }
        return 1;
    }

    /** One line per exit reason that occurred: count and the bundle(s) whose handlers took those exits. */
    static List<String> exitTable(VCpuStats stats) {
        List<String> lines = new ArrayList<>();
        if (stats.exitsByReason().isEmpty()) {
            lines.add("  (no VM exits)");
            return lines;
        }
        lines.add(String.format("  %-30s %10s  %s", "exit reason", "exits", "handled by"));
        for (ExitReason reason : new TreeSet<>(stats.exitsByReason().keySet())) {
            long exits = stats.exitsByReason().get(reason);
            lines.add(String.format("  %-30s %10d  %s", reason, exits, handledBy(exits,
                    stats.handledBy().getOrDefault(reason, Map.of()))));
        }
        return lines;
    }

    static String handledBy(long exits, Map<String, Long> byBundle) {
        List<String> parts = new ArrayList<>();
        long handled = 0;
        for (Map.Entry<String, Long> e : byBundle.entrySet()) {
            handled += e.getValue();
        }
        boolean onlyOne = byBundle.size() == 1 && handled == exits;
        for (Map.Entry<String, Long> e : byBundle.entrySet()) {
            parts.add(onlyOne ? e.getKey() : e.getKey() + " (" + e.getValue() + ")");
        }
        if (handled < exits) {
            parts.add(handled == 0 ? "unhandled" : "unhandled (" + (exits - handled) + ")");
        }
        return String.join(", ", parts);
    }

    /** "1234 exits, 3012345 guest instructions, 0.512 s, 5.88 MIPS". */
    static String totals(VCpuStats stats) {
        double seconds = stats.wallNanos() / 1e9;
        String instructions = stats.guestInstructions() < 0 ? "guest instructions not counted"
                : stats.guestInstructions() + " guest instructions";
        String mips = stats.guestInstructions() < 0 || stats.wallNanos() <= 0 ? "MIPS n/a"
                : String.format(Locale.ROOT, "%.2f MIPS", stats.guestInstructions() / (stats.wallNanos() / 1e3));
        return String.format(Locale.ROOT, "%d exits, %s, %.3f s wall time, %s", stats.totalExits(), instructions,
                seconds, mips);
    }

    /** The summary vcpu:run prints after the guest's output. */
    static List<String> summary(int id, String name, String kind, RunOutcome outcome, VCpuStats stats) {
        List<String> lines = new ArrayList<>();
        lines.add(String.format("--- vCPU %d (%s on %s): %s", id, name, kind, outcomeLine(outcome)));
        lines.addAll(exitTable(stats));
        lines.add("  total: " + totals(stats));
        return lines;
    }

    /**
     * For the summary of a run on a processor that cannot deliver every exit: the exits with handlers (or that the
     * demo causes) it never delivers, in one line; null if it delivers them all.
     */
    static String undeliverable(String kind, Set<ExitReason> deliverable, Set<ExitReason> handled) {
        Set<ExitReason> missing = new TreeSet<>(DEMO_EXITS);
        missing.addAll(handled);
        missing.removeAll(deliverable);
        if (missing.isEmpty()) {
            return null;
        }
        List<String> names = new ArrayList<>();
        for (ExitReason r : missing) {
            names.add(r.name());
        }
        return "  not deliverable on " + kind + ": " + String.join(", ", names) + " (their handlers are not reached"
                + (missing.contains(ExitReason.CPUID) ? "; CPUID answers come from the table the CPUID handlers gave "
                + "when the vCPU started)" : ")");
    }

    /**
     * The handler chains, one block per exit reason: every reason that has handlers, and every reason of
     * {@link #DEMO_EXITS} (shown as unhandled when it has none).
     */
    static List<String> handlerChains(Map<ExitReason, List<HandlerDirectory.Entry>> chains) {
        return handlerChains(chains, Map.of());
    }

    /**
     * As {@link #handlerChains(Map)}, and under each reason a note for the processor kinds whose vCPUs cannot reach
     * its handlers ({@code deliverable}: the exits each kind delivers). CPUID is the exception that still reaches
     * them: a processor that answers CPUID itself (KVM) asks the chain once, before the vCPU first runs.
     */
    static List<String> handlerChains(Map<ExitReason, List<HandlerDirectory.Entry>> chains,
                                      Map<String, Set<ExitReason>> deliverable) {
        Set<ExitReason> reasons = new TreeSet<>(DEMO_EXITS);
        reasons.addAll(chains.keySet());
        List<String> lines = new ArrayList<>();
        for (ExitReason reason : reasons) {
            List<HandlerDirectory.Entry> chain = chains.getOrDefault(reason, List.of());
            if (chain.isEmpty()) {
                lines.add(String.format("%s (%d): unhandled (the exit goes back to the caller of run)", reason,
                        reason.number()));
            } else {
                lines.add(String.format("%s (%d):", reason, reason.number()));
                int n = 1;
                for (HandlerDirectory.Entry e : chain) {
                    lines.add(String.format("  %d. %-34s ranking %-6d service %-5d handled %-8d %s", n++, e.bundle(),
                            e.ranking(), e.serviceId(), e.handled(), e.handlerClass()));
                }
            }
            List<String> blind = new ArrayList<>();
            for (Map.Entry<String, Set<ExitReason>> k : deliverable.entrySet()) {
                if (!k.getValue().contains(reason)) {
                    blind.add(k.getKey());
                }
            }
            if (!blind.isEmpty()) {
                String kinds = String.join(", ", blind);
                lines.add(reason == ExitReason.CPUID
                        ? "  " + kinds + " vCPUs: no CPUID exits; this chain is asked once, before the vCPU first "
                                + "runs, for the CPUID table the processor answers from"
                        : "  " + kinds + " vCPUs cannot reach these handlers: the processor never delivers "
                                + reason + " exits");
            }
        }
        return lines;
    }

    /** A throwable as one line: its message, or its type when it has none. */
    static String describe(Throwable t) {
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        return m.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
