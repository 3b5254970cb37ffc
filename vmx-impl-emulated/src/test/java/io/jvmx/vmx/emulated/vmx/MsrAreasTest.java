package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.vmcs.region.VmcsRegion;
import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static io.jvmx.vmx.emulated.vmx.VmxFixture.code;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxMisc;
import io.jvmx.vmx.api.spi.GeneralRegisters;

import org.junit.Test;

/**
 * The VM-entry MSR-load area (SDM 27.4), the VM-exit MSR-store area (28.4) and the VM-exit MSR-load area (28.6),
 * up to the 512 entries IA32_VMX_MISC[27:25] = 0 recommends, and the VMX abort when the exit cannot load its MSRs
 * (28.7).
 */
public class MsrAreasTest {
    private final VmxFixture fx = new VmxFixture();

    private long area(long... indexValuePairs) {
        long a = fx.memory.allocateFrame();
        for (int i = 0; i < indexValuePairs.length; i += 2) {
            fx.memory.write32(a + 8L * i, (int) indexValuePairs[i]);
            fx.memory.write64(a + 8L * i + 8, indexValuePairs[i + 1]);
        }
        return a;
    }

    /**
     * A guest that reads IA32_STAR (RDMSR not intercepted) and writes IA32_LSTAR, then exits on CPUID: it sees the
     * STAR value the entry MSR-load area loaded; the exit stores its LSTAR in the MSR-store area; the exit MSR-load
     * area gives the host its own STAR back.
     */
    @Test(timeout = 10_000)
    public void entryLoadExitStoreAndExitLoad() {
        assertEquals(0, VmxMisc.decode(fx.cpu.rdmsr(Msr.IA32_VMX_MISC)).maxMsrListSize());
        fx.cpu.wrmsr(Msr.IA32_STAR, 0x1111);
        fx.longModeGuest(0);
        // mov $0xc0000081,%ecx / rdmsr / mov %edx,%ebx / mov $0xc0000082,%ecx / mov $0x9000,%eax / xor %edx,%edx /
        // wrmsr / cpuid
        fx.load(VmxFixture.GUEST_ENTRY, code("b9 81 00 00 c0  0f 32  89 d3  b9 82 00 00 c0  b8 00 90 00 00  31 d2"
                + "  0f 30  0f a2"));
        fx.write(VM_ENTRY_MSR_LOAD_ADDRESS, area(Msr.IA32_STAR, 0x0023_0010_0000_0000L));
        fx.write(VM_ENTRY_MSR_LOAD_COUNT, 1);
        long store = area(Msr.IA32_LSTAR, 0, Msr.IA32_STAR, 0);
        fx.write(VM_EXIT_MSR_STORE_ADDRESS, store);
        fx.write(VM_EXIT_MSR_STORE_COUNT, 2);
        fx.write(VM_EXIT_MSR_LOAD_ADDRESS, area(Msr.IA32_STAR, 0x1111));
        fx.write(VM_EXIT_MSR_LOAD_COUNT, 1);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.CPUID.number(), fx.exitReason());
        assertEquals(0x0023_0010L, fx.guestRegisters.get(GeneralRegisters.RBX));
        assertEquals(0x9000, fx.memory.read64(store + 8));
        assertEquals(0x0023_0010_0000_0000L, fx.memory.read64(store + 24));
        assertEquals(0x1111, fx.cpu.rdmsr(Msr.IA32_STAR));
        assertEquals(0x9000, fx.cpu.rdmsr(Msr.IA32_LSTAR)); // not in the exit MSR-load area: the guest's value
    }

    /** SDM 28.4: an MSR-store entry naming an MSR that cannot be read aborts (indicator 1, 28.7). */
    @Test(timeout = 10_000)
    public void exitMsrStoreFailureIsAVmxAbort() {
        fx.load(VmxFixture.GUEST_ENTRY, VmxFixture.bytes(0x0F, 0xA2)); // cpuid
        fx.write(VM_EXIT_MSR_STORE_ADDRESS, area(0x1B, 0)); // IA32_APIC_BASE: no local APIC here
        fx.write(VM_EXIT_MSR_STORE_COUNT, 1);
        expectAbort(SoftwareVmxProcessor.ABORT_SAVING_GUEST_MSRS);
    }

    /** SDM 28.6: IA32_FS_BASE cannot be loaded from the exit MSR-load area: VMX abort 4 (28.7). */
    @Test(timeout = 10_000)
    public void exitMsrLoadFailureIsAVmxAbort() {
        fx.load(VmxFixture.GUEST_ENTRY, VmxFixture.bytes(0x0F, 0xA2));
        fx.write(VM_EXIT_MSR_LOAD_ADDRESS, area(Msr.IA32_FS_BASE, 0));
        fx.write(VM_EXIT_MSR_LOAD_COUNT, 1);
        expectAbort(SoftwareVmxProcessor.ABORT_LOADING_HOST_MSRS);
    }

    private void expectAbort(int indicator) {
        try {
            fx.cpu.vmlaunch(fx.guestRegisters);
            fail("expected a VMX abort");
        } catch (IllegalStateException abort) {
            assertTrue(abort.getMessage(), abort.getMessage().contains("VMX abort " + indicator));
        }
        assertEquals(indicator, fx.memory.read32(fx.vmcs + VmcsRegion.ABORT_INDICATOR_OFFSET));
        try {
            fx.cpu.rdmsr(Msr.IA32_VMX_BASIC);
            fail("a processor after a VMX abort is shut down");
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("shut down"));
        }
    }
}
