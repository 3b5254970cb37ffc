package io.jvmx.shell;

import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import org.apache.felix.service.command.CommandSession;
import org.apache.felix.service.command.Descriptor;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Collectors;

/**
 * {@code vmx:info}: the VMX processors registered (software, kvm, ...), whether each can be used here, and what
 * each one's capability MSRs say. Processor providers come and go with their bundles (dynamic reference).
 */
@Component(service = Object.class, property = {"osgi.command.scope=vmx", "osgi.command.function=info"})
public final class VmxCommands {

    /** Enough host-physical memory to open a processor and read its MSRs. */
    static final long PROBE_MEMORY = 1L << 20;

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    private volatile List<VmxProcessorProvider> providers = List.of();

    public VmxCommands() {
    }

    VmxCommands(List<VmxProcessorProvider> providers) {
        this.providers = List.copyOf(providers);
    }

    @Descriptor("show the VMX processors and their VMX capabilities: vmx:info [kind]")
    public Object info(CommandSession session, @Descriptor("processor kind (default: all)") String... args) {
        return CommandStatus.of(session, info(System.out, System.err, args));
    }

    int info(PrintStream out, PrintStream err, String... args) {
        List<VmxProcessorProvider> all = new ArrayList<>(providers);
        all.sort(Comparator.comparing(VmxProcessorProvider::kind));
        if (args != null && args.length > 1) {
            err.println("vmx:info: usage: vmx:info [kind]");
            return VCpuCommands.BAD_INPUT;
        }
        if (args != null && args.length == 1) {
            String kind = args[0];
            List<VmxProcessorProvider> chosen = all.stream().filter(p -> p.kind().equals(kind)).toList();
            if (chosen.isEmpty()) {
                err.println("vmx:info: no VMX processor '" + kind + "' (registered: "
                        + (all.isEmpty() ? "none" : all.stream().map(VmxProcessorProvider::kind).collect(Collectors.joining(", ")))
                        + ")");
                return VCpuCommands.BAD_INPUT;
            }
            all = chosen;
        }
        if (all.isEmpty()) {
            out.println("no VMX processor registered (is io.jvmx.vmx-impl-emulated installed and active?)");
            return VCpuCommands.FAILED;
        }
        out.println("VMX processors:");
        for (VmxProcessorProvider p : all) {
            String why = p.unavailableReason();
            out.printf("  %-10s %s%n", p.kind(), why == null ? "available" : "unavailable: " + why);
        }
        int status = VCpuCommands.OK;
        for (VmxProcessorProvider p : all) {
            if (p.unavailableReason() != null) {
                continue;
            }
            out.println(p.kind() + " processor (capability MSRs, SDM Vol. 3D Appendix A):");
            try (VmxProcessor processor = p.open(PROBE_MEMORY)) {
                CapabilityReport.describe(processor).forEach(out::println);
            } catch (RuntimeException e) {
                err.println("vmx:info: cannot open a " + p.kind() + " processor: " + Reports.describe(e));
                status = VCpuCommands.FAILED;
            }
        }
        return status;
    }
}
