package io.jvmx.shell;

import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.msr.EptVpidCap;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.api.spi.VmxProcessor;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;

/**
 * vmx:info for one processor: its VMX capability MSRs (SDM Vol. 3D, Appendix A) decoded for people. Reading them
 * needs no VMX operation, only CPUID.1:ECX.VMX[bit 5] = 1 (SDM Vol. 3C, 24.6).
 */
final class CapabilityReport {

    private CapabilityReport() {
    }

    static List<String> describe(VmxProcessor p) {
        List<String> lines = new ArrayList<>();
        int ecx1 = p.cpuid(1, 0).ecx();
        lines.add(String.format("  CPUID.1:ECX.VMX[5]          %d", (ecx1 >>> 5) & 1));

        Long basicRaw = read(p, Msr.IA32_VMX_BASIC);
        if (basicRaw == null) {
            lines.add("  IA32_VMX_BASIC              not present: no VMX");
            return lines;
        }
        VmxBasic basic = VmxBasic.decode(basicRaw);
        lines.add(String.format("  IA32_VMX_BASIC              %#018x: VMCS revision id %#x, region %d bytes, memory type %d%s%s%s",
                basicRaw, basic.revisionId(), basic.regionSize(), basic.memoryType(),
                basic.memoryType() == VmxBasic.MEMORY_TYPE_WRITE_BACK ? " (WB)" : "",
                basic.trueControls() ? ", TRUE controls" : "", basic.insOutsInfo() ? ", INS/OUTS information" : ""));

        lines.add("  control MSRs (allowed-0: must be 1; allowed-1: may be 1)");
        control(p, lines, "pin-based", Msr.IA32_VMX_PINBASED_CTLS, basic.trueControls() ? Msr.IA32_VMX_TRUE_PINBASED_CTLS : 0);
        control(p, lines, "primary processor-based", Msr.IA32_VMX_PROCBASED_CTLS,
                basic.trueControls() ? Msr.IA32_VMX_TRUE_PROCBASED_CTLS : 0);
        control(p, lines, "secondary processor-based", Msr.IA32_VMX_PROCBASED_CTLS2, 0);
        control(p, lines, "VM-exit", Msr.IA32_VMX_EXIT_CTLS, basic.trueControls() ? Msr.IA32_VMX_TRUE_EXIT_CTLS : 0);
        control(p, lines, "VM-entry", Msr.IA32_VMX_ENTRY_CTLS, basic.trueControls() ? Msr.IA32_VMX_TRUE_ENTRY_CTLS : 0);

        fixed(p, lines, "CR0", Msr.IA32_VMX_CR0_FIXED0, Msr.IA32_VMX_CR0_FIXED1);
        fixed(p, lines, "CR4", Msr.IA32_VMX_CR4_FIXED0, Msr.IA32_VMX_CR4_FIXED1);

        Long eptRaw = read(p, Msr.IA32_VMX_EPT_VPID_CAP);
        if (eptRaw == null) {
            lines.add("  IA32_VMX_EPT_VPID_CAP       not present (no EPT, no VPID)");
        } else {
            lines.add(String.format("  IA32_VMX_EPT_VPID_CAP       %#018x: %s", eptRaw, ept(new EptVpidCap(eptRaw))));
        }

        Long miscRaw = read(p, Msr.IA32_VMX_MISC);
        if (miscRaw == null) {
            lines.add("  IA32_VMX_MISC               not present");
        } else {
            VmxMisc misc = VmxMisc.decode(miscRaw);
            lines.add(String.format("  IA32_VMX_MISC               %#018x: VMX-preemption timer counts down once per %d TSC ticks "
                            + "(rate %d)%s, activity states %s, %d CR3-target values",
                    miscRaw, 1L << misc.preemptionTimerRate(), misc.preemptionTimerRate(),
                    misc.storesLma() ? ", VM exits store EFER.LMA" : "", activityStates(misc.activityStates()),
                    misc.cr3TargetCount()));
        }

        Set<ExitReason> deliverable = p.deliverableExits();
        Set<ExitReason> missing = EnumSet.allOf(ExitReason.class);
        missing.removeAll(deliverable);
        if (missing.isEmpty()) {
            lines.add("  deliverable exits           all " + deliverable.size() + " basic exit reasons");
        } else {
            lines.add("  deliverable exits           " + deliverable.size() + " of " + ExitReason.values().length
                    + "; not delivered to the VMM: " + missing);
        }
        return lines;
    }

    private static void control(VmxProcessor p, List<String> lines, String name, int msr, int trueMsr) {
        Long raw = read(p, msr);
        if (raw == null) {
            lines.add(String.format("  %-27s not present (MSR %#x)", name, msr));
            return;
        }
        VmxControlCapability cap = VmxControlCapability.decode(name, raw);
        StringBuilder sb = new StringBuilder(String.format("  %-27s allowed-0 %#010x  allowed-1 %#010x", name,
                cap.allowed0(), cap.allowed1()));
        if (trueMsr != 0) {
            Long trueRaw = read(p, trueMsr);
            if (trueRaw != null) {
                VmxControlCapability t = VmxControlCapability.decode(name, trueRaw);
                sb.append(String.format("   TRUE: allowed-0 %#010x  allowed-1 %#010x", t.allowed0(), t.allowed1()));
            }
        }
        lines.add(sb.toString());
    }

    private static void fixed(VmxProcessor p, List<String> lines, String register, int fixed0Msr, int fixed1Msr) {
        Long f0 = read(p, fixed0Msr);
        Long f1 = read(p, fixed1Msr);
        if (f0 == null || f1 == null) {
            lines.add(String.format("  %s fixed bits               not present", register));
            return;
        }
        lines.add(String.format("  %s fixed bits               FIXED0 %#018x (must be 1)  FIXED1 %#018x (may be 1)",
                register, f0, f1));
    }

    static String ept(EptVpidCap c) {
        StringJoiner j = new StringJoiner(", ");
        if (c.pageWalkLength4()) {
            j.add("4-level walk");
        }
        if (c.pageWalkLength5()) {
            j.add("5-level walk");
        }
        if (c.memoryTypeWriteBack()) {
            j.add("WB");
        }
        if (c.memoryTypeUncacheable()) {
            j.add("UC");
        }
        if (c.executeOnly()) {
            j.add("execute-only");
        }
        if (c.pde2MbPages()) {
            j.add("2 MiB pages");
        }
        if (c.pdpte1GbPages()) {
            j.add("1 GiB pages");
        }
        if (c.accessedDirtyFlags()) {
            j.add("accessed/dirty flags");
        }
        if (c.invept()) {
            j.add("INVEPT" + (c.inveptSingleContext() ? " single-context" : "") + (c.inveptAllContext() ? " all-context" : ""));
        }
        j.add(c.invvpid() ? "INVVPID" : "no INVVPID");
        return j.toString();
    }

    static String activityStates(int bits) {
        StringJoiner j = new StringJoiner("/");
        if ((bits & 1) != 0) {
            j.add("HLT");
        }
        if ((bits & 2) != 0) {
            j.add("shutdown");
        }
        if ((bits & 4) != 0) {
            j.add("wait-for-SIPI");
        }
        return j.length() == 0 ? "active only" : "active/" + j;
    }

    /** RDMSR, or null if the processor does not have the MSR (#GP). */
    private static Long read(VmxProcessor p, int msr) {
        try {
            return p.rdmsr(msr);
        } catch (ProcessorFault absent) {
            return null;
        }
    }
}
