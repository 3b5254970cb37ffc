package io.jvmx.shell;

import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.spi.VmxProcessorProvider;
import org.junit.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/** vmx:info decodes the capability MSRs as SDM Vol. 3D Appendix A lays them out. */
public class VmxCommandsTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final PrintStream pout = new PrintStream(out, true, StandardCharsets.UTF_8);
    private final PrintStream perr = new PrintStream(err, true, StandardCharsets.UTF_8);
    private final AtomicBoolean closed = new AtomicBoolean();

    private VmxProcessor processor(Map<Integer, Long> msrs, EnumSet<ExitReason> deliverable) {
        return (VmxProcessor) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[]{VmxProcessor.class},
                (proxy, m, args) -> switch (m.getName()) {
                    case "rdmsr" -> {
                        Long v = msrs.get((Integer) args[0]);
                        if (v == null) {
                            throw ProcessorFault.gp("no MSR " + Integer.toHexString((Integer) args[0]));
                        }
                        yield v;
                    }
                    case "cpuid" -> new CpuidResult(0, 0, 1 << 5, 0);
                    case "deliverableExits" -> deliverable;
                    case "close" -> {
                        closed.set(true);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private static VmxProcessorProvider provider(String kind, String unavailable, VmxProcessor p) {
        return new VmxProcessorProvider() {
            @Override
            public String kind() {
                return kind;
            }

            @Override
            public String unavailableReason() {
                return unavailable;
            }

            @Override
            public VmxProcessor open(long memoryBytes) {
                return p;
            }
        };
    }

    @Test
    public void decodesTheCapabilityMsrs() {
        Map<Integer, Long> msrs = new HashMap<>();
        // A.1: revision 1, 4096-byte regions, write-back, TRUE controls
        msrs.put(Msr.IA32_VMX_BASIC, new VmxBasic(1, 4096, false, false, 6, true, true, false).encode());
        msrs.put(Msr.IA32_VMX_PINBASED_CTLS, 0x0000007f_00000016L);
        msrs.put(Msr.IA32_VMX_TRUE_PINBASED_CTLS, 0x0000007f_00000000L);
        msrs.put(Msr.IA32_VMX_PROCBASED_CTLS, 0xfff9fffe_0401e172L);
        msrs.put(Msr.IA32_VMX_EXIT_CTLS, 0x003fffff_00036dffL);
        msrs.put(Msr.IA32_VMX_ENTRY_CTLS, 0x0000ffff_000011ffL);
        msrs.put(Msr.IA32_VMX_CR0_FIXED0, 0x80000021L);
        msrs.put(Msr.IA32_VMX_CR0_FIXED1, 0xffffffffL);
        msrs.put(Msr.IA32_VMX_CR4_FIXED0, 0x2000L);
        msrs.put(Msr.IA32_VMX_CR4_FIXED1, 0x3767ffL);
        // A.10: 4-level walk (6), WB (14), 2 MiB pages (16), INVEPT (20) all-context (26)
        msrs.put(Msr.IA32_VMX_EPT_VPID_CAP, (1L << 6) | (1L << 14) | (1L << 16) | (1L << 20) | (1L << 26));
        // A.6: the platform's preemption-timer rate 5 (once per 32 TSC ticks), HLT activity state
        msrs.put(Msr.IA32_VMX_MISC, new VmxMisc(5, true, 1, 4, 0, false, false, 0).encode());
        VmxCommands commands = new VmxCommands(List.of(provider("software", null,
                processor(msrs, EnumSet.allOf(ExitReason.class))), provider("kvm", "/dev/kvm is missing", null)));

        assertEquals(0, commands.info(pout, perr));
        String text = out.toString(StandardCharsets.UTF_8);
        assertTrue(text, text.contains("  kvm        unavailable: /dev/kvm is missing\n  software   available\n"));
        assertTrue(text, text.contains("CPUID.1:ECX.VMX[5]          1"));
        assertTrue(text, text.contains("VMCS revision id 0x1, region 4096 bytes, memory type 6 (WB), TRUE controls, INS/OUTS information"));
        assertTrue(text, text.contains("pin-based                   allowed-0 0x00000016  allowed-1 0x0000007f   TRUE: allowed-0 0x00000000  allowed-1 0x0000007f"));
        assertTrue(text, text.contains("secondary processor-based   not present (MSR 0x48b)"));
        assertTrue(text, text.contains("CR0 fixed bits               FIXED0 0x0000000080000021 (must be 1)  FIXED1 0x00000000ffffffff (may be 1)"));
        assertTrue(text, text.contains("4-level walk, WB, 2 MiB pages, INVEPT all-context, no INVVPID"));
        assertTrue(text, text.contains("VMX-preemption timer counts down once per 32 TSC ticks (rate 5), VM exits store EFER.LMA, activity states active/HLT, 4 CR3-target values"));
        assertTrue(text, text.contains("deliverable exits           all " + ExitReason.values().length + " basic exit reasons"));
        assertTrue("the probe processor is closed again", closed.get());
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    public void namesTheExitsAProcessorCannotDeliver() {
        Map<Integer, Long> msrs = Map.of(Msr.IA32_VMX_BASIC, new VmxBasic(1, 4096, false, false, 6, false, false, false).encode());
        EnumSet<ExitReason> some = EnumSet.allOf(ExitReason.class);
        some.remove(ExitReason.CPUID);
        VmxCommands commands = new VmxCommands(List.of(provider("kvm", null, processor(msrs, some))));
        assertEquals(0, commands.info(pout, perr, "kvm"));
        assertTrue(out.toString(StandardCharsets.UTF_8), out.toString(StandardCharsets.UTF_8)
                .contains("not delivered to the VMM: [CPUID]"));
    }

    @Test
    public void anUnknownKindIsOneLine() {
        VmxCommands commands = new VmxCommands(List.of(provider("software", null, null)));
        assertEquals(2, commands.info(pout, perr, "kvm"));
        assertEquals("vmx:info: no VMX processor 'kvm' (registered: software)\n", err.toString(StandardCharsets.UTF_8));
    }
}
