package io.jvmx.handlers.cpuid;

import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.CpuidContribution;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * CPUID (basic exit reason 10; CPUID exits unconditionally in VMX non-root operation, SDM Vol. 3C 26.1.2): x86_vcpu's
 * CPUID policy over the processor's own answers ({@link VCpu#hostCpuid}), leaf numbers per SDM Vol. 2A "CPUID":
 *
 * <ul>
 *   <li>leaf 1: ECX.VMX (bit 5) cleared — no nested VMX; ECX bit 31 set — "running under a hypervisor"; EDX.MCE
 *       (bit 7) cleared — no machine-check exception. x86_vcpu clears bit 7 of EAX instead (a model-number bit), a bug
 *       this handler does not copy.</li>
 *   <li>leaf 7 sub-leaf 0: ECX.WAITPKG (bit 5) and ECX.LA57 (bit 16) cleared.</li>
 *   <li>leaf 0DH: the processor's answer with the guest's XCR0 loaded (what {@link VCpu#hostCpuid} does), so EBX is
 *       the XSAVE area size for the guest's components.</li>
 *   <li>leaf 16H: EAX (base frequency, MHz) 3000 when the processor reports 0, as x86_vcpu.</li>
 *   <li>leaf 4000_0000H: EAX = 4000_0001H (highest hypervisor leaf), EBX:ECX:EDX = the 12-byte signature, property
 *       {@value #SIGNATURE} (default "RVMRVMRVMRVM", x86_vcpu's); leaf 4000_0001H: all zero.</li>
 *   <li>every other leaf: the processor's answer.</li>
 * </ul>
 * Then every {@link CpuidContribution} service adjusts the answer, lowest ranking first: devices of the VMM that the
 * guest discovers through CPUID (the local APIC) say so there, and only while they are registered.
 * CPUID writes EAX/EBX/ECX/EDX and clears the upper 32 bits of RAX/RBX/RCX/RDX in all modes (SDM Vol. 2A CPUID).
 * RIP advances by the VM-exit instruction length (2 for 0F A2, more with prefixes; SDM 28.2.5).
 */
@Component(service = VmExitHandler.class, configurationPid = "io.jvmx.handlers.cpuid",
        property = {VmExitHandler.EXIT_REASON + "=CPUID", CpuidHandler.SIGNATURE + "=" + CpuidHandler.DEFAULT_SIGNATURE})
public final class CpuidHandler implements VmExitHandler {

    /** Component property: the hypervisor signature CPUID.4000_0000H returns in EBX, ECX, EDX (12 ASCII chars). */
    static final String SIGNATURE = "cpuid.signature";
    static final String DEFAULT_SIGNATURE = "RVMRVMRVMRVM";

    static final int LEAF_FEATURES = 0x1;
    static final int LEAF_EXTENDED_FEATURES = 0x7;
    static final int LEAF_EXTENDED_STATE = 0xD;
    static final int LEAF_FREQUENCY = 0x16;
    static final int LEAF_HYPERVISOR = 0x4000_0000;
    static final int LEAF_HYPERVISOR_FEATURES = 0x4000_0001;

    static final int ECX1_VMX = 1 << 5;
    static final int ECX1_HYPERVISOR = 1 << 31;
    static final int EDX1_MCE = 1 << 7;
    static final int ECX7_WAITPKG = 1 << 5;
    static final int ECX7_LA57 = 1 << 16;
    /** x86_vcpu's TIMER_FREQUENCY_MHZ, reported when the processor has no leaf-16H frequency. */
    static final int DEFAULT_FREQUENCY_MHZ = 3000;

    private volatile CpuidResult hypervisorLeaf = hypervisorLeaf(DEFAULT_SIGNATURE);

    private record Contribution(CpuidContribution service, int ranking) {
    }

    /** In ascending ranking order; replaced as a whole on each change, read without a lock. */
    private volatile List<Contribution> contributions = List.of();

    public CpuidHandler() {
    }

    /** Reads {@value #SIGNATURE}; a bad value fails activation with a message that says what is wrong. */
    @Activate
    void activate(Map<String, ?> properties) {
        Object raw = properties.get(SIGNATURE);
        if (raw == null) {
            raw = DEFAULT_SIGNATURE;
        }
        if (!(raw instanceof String signature)) {
            throw new IllegalArgumentException(SIGNATURE + " must be a String of 12 ASCII characters, got "
                    + raw.getClass().getSimpleName() + " " + raw);
        }
        hypervisorLeaf = hypervisorLeaf(signature);
    }

    /** A device's CPUID contribution arrives (DS, or a test); {@code service.ranking} orders them (default 0). */
    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    public void addContribution(CpuidContribution contribution, Map<String, Object> properties) {
        Object r = properties.get("service.ranking");
        int ranking = r instanceof Integer i ? i : 0;
        synchronized (this) {
            List<Contribution> next = new ArrayList<>(contributions);
            next.add(new Contribution(contribution, ranking));
            next.sort(Comparator.comparingInt(Contribution::ranking));
            contributions = List.copyOf(next);
        }
    }

    public void removeContribution(CpuidContribution contribution) {
        synchronized (this) {
            List<Contribution> next = new ArrayList<>(contributions);
            next.removeIf(c -> c.service() == contribution);
            contributions = List.copyOf(next);
        }
    }

    static CpuidResult hypervisorLeaf(String signature) {
        if (signature.length() != 12 || !signature.chars().allMatch(c -> c < 0x80)) {
            throw new IllegalArgumentException(SIGNATURE + " must be exactly 12 ASCII characters (CPUID.4000_0000H "
                    + "EBX:ECX:EDX), got " + signature.length() + " characters: \"" + signature + "\"");
        }
        return new CpuidResult(LEAF_HYPERVISOR_FEATURES, CpuidResult.ascii4(signature, 0),
                CpuidResult.ascii4(signature, 4), CpuidResult.ascii4(signature, 8));
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        int leaf = (int) vcpu.readGpr(GeneralRegisters.RAX);
        int subleaf = (int) vcpu.readGpr(GeneralRegisters.RCX);
        CpuidResult r = answer(vcpu, leaf, subleaf);
        for (Contribution c : contributions) {
            r = c.service().contribute(vcpu, leaf, subleaf, r);
        }
        vcpu.writeGpr(GeneralRegisters.RAX, r.eax() & 0xFFFF_FFFFL);
        vcpu.writeGpr(GeneralRegisters.RBX, r.ebx() & 0xFFFF_FFFFL);
        vcpu.writeGpr(GeneralRegisters.RCX, r.ecx() & 0xFFFF_FFFFL);
        vcpu.writeGpr(GeneralRegisters.RDX, r.edx() & 0xFFFF_FFFFL);
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    private CpuidResult answer(VCpu vcpu, int leaf, int subleaf) {
        switch (leaf) {
            case LEAF_FEATURES: {
                CpuidResult r = vcpu.hostCpuid(leaf, subleaf);
                return r.withEcx((r.ecx() & ~ECX1_VMX) | ECX1_HYPERVISOR).withEdx(r.edx() & ~EDX1_MCE);
            }
            case LEAF_EXTENDED_FEATURES: {
                CpuidResult r = vcpu.hostCpuid(leaf, subleaf);
                return subleaf == 0 ? r.withEcx(r.ecx() & ~(ECX7_WAITPKG | ECX7_LA57)) : r;
            }
            case LEAF_FREQUENCY: {
                CpuidResult r = vcpu.hostCpuid(leaf, subleaf);
                return r.eax() == 0 ? r.withEax(DEFAULT_FREQUENCY_MHZ) : r;
            }
            case LEAF_HYPERVISOR:
                return hypervisorLeaf;
            case LEAF_HYPERVISOR_FEATURES:
                return CpuidResult.ZERO;
            case LEAF_EXTENDED_STATE: // hostCpuid runs CPUID with the guest's XCR0 loaded, as x86_vcpu does
            default:
                return vcpu.hostCpuid(leaf, subleaf);
        }
    }
}
