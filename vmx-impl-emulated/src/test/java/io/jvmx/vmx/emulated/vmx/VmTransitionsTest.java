package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.emulated.cpu.CpuState;
import io.jvmx.vmx.emulated.cpu.Segment;

import org.junit.Test;

/** State transfer: loading guest state (SDM 27.3.2), recording/saving at exit (28.2, 28.3), host state (28.5). */
public class VmTransitionsTest {
    private final VmxFixture fx = new VmxFixture();
    private final Vmcs v = new Vmcs(fx.memory, fx.vmcs);
    private final CpuState s = fx.cpu.state();

    /** SDM 27.3.2: the real-mode guest of the fixture as the processor holds it after VM entry. */
    @Test
    public void loadsGuestState() {
        fx.write(GUEST_RSP, 0x6FF0);
        VmTransitions.loadGuestState(v, s);
        assertEquals(VmxFixture.GUEST_ENTRY, s.rip);
        assertEquals(0x6FF0, s.gpr[4]);
        assertEquals(2, s.rflags());
        assertEquals(Cr0.ET | Cr0.NE, s.cr0);
        assertEquals(0x9B, s.seg[CpuState.CS].accessRights);
        assertEquals(0xFFFF, s.seg[CpuState.DS].limit);
        assertEquals(0x8B, s.tr.accessRights);
        assertEquals(0, s.efer & Efer.LMA); // "IA-32e mode guest" = 0 without "load IA32_EFER"
        assertEquals(Cr4.VMXE, s.cr4);
    }

    /** SDM 27.3.2.1: without "load IA32_EFER", LMA (and LME with paging) follow "IA-32e mode guest". */
    @Test
    public void eferFollowsIa32eModeGuest() {
        v.put(VM_ENTRY_CONTROLS, v.get(VM_ENTRY_CONTROLS) | VmEntryControls.IA32E_MODE_GUEST);
        v.put(GUEST_CR0, Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET);
        VmTransitions.loadGuestState(v, s);
        assertEquals(Efer.LMA | Efer.LME, s.efer & (Efer.LMA | Efer.LME));
        v.put(VM_ENTRY_CONTROLS, v.get(VM_ENTRY_CONTROLS) | VmEntryControls.LOAD_IA32_EFER);
        v.put(GUEST_IA32_EFER, Efer.LMA | Efer.LME | Efer.NXE);
        VmTransitions.loadGuestState(v, s);
        assertEquals(Efer.LMA | Efer.LME | Efer.NXE, s.efer);
    }

    /** SDM 27.3.2.4: a PAE guest with EPT gets its PDPTEs from the VMCS; 28.3.4 saves them back. */
    @Test
    public void paePdptesWithEpt() {
        v.put(GUEST_CR0, Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET);
        v.put(GUEST_CR4, Cr4.VMXE | Cr4.PAE);
        v.put(GUEST_PDPTE1, 0x5001);
        VmTransitions.loadGuestState(v, s);
        assertEquals(0x5001, s.pdpte[1]);
        s.pdpte[3] = 0x7001;
        VmTransitions.saveGuestState(v, s, fx.cpu.monitor());
        assertEquals(0x7001, v.get(GUEST_PDPTE3));
    }

    /** SDM 28.2 and 28.3: exit information, guest state saved, EFER.LMA into "IA-32e mode guest". */
    @Test
    public void recordsExitAndSavesGuest() {
        v.put(VM_ENTRY_INTERRUPTION_INFORMATION,
                InterruptionInfo.injection(0x21, InterruptionType.EXTERNAL_INTERRUPT, false).encode());
        v.put(PRIMARY_VM_EXIT_CONTROLS, v.get(PRIMARY_VM_EXIT_CONTROLS) | VmExitControls.SAVE_IA32_EFER);
        VmTransitions.loadGuestState(v, s);
        NonRootMonitor m = fx.cpu.monitor();
        m.arm(v);
        m.exitReason = ExitReason.CPUID.number();
        m.exitInstructionLength = 2;
        s.rip = 0x8123;
        s.seg[CpuState.DS].set(0x10, 0x100, 0xFFFF, 0x93 | Segment.AR_UNUSABLE);
        s.efer = Efer.LMA | Efer.LME;
        VmTransitions.recordExit(v, m);
        VmTransitions.saveGuestState(v, s, m);
        assertEquals(ExitReason.CPUID.number(), v.get32(EXIT_REASON));
        assertEquals(2, v.get(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(0x8123, v.get(GUEST_RIP));
        assertEquals(0x10093, v.get(GUEST_DS_ACCESS_RIGHTS));
        assertEquals("the valid bit is cleared on every VM exit (28.2)", 0x21,
                v.get32(VM_ENTRY_INTERRUPTION_INFORMATION));
        assertEquals(Efer.LMA | Efer.LME, v.get(GUEST_IA32_EFER));
        assertTrue("IA32_VMX_MISC bit 5", (v.get(VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST) != 0);
    }

    /** SDM 28.5: host state after a VM exit. */
    @Test
    public void loadsHostState() {
        fx.write(HOST_FS_BASE, 0xFFFF_8880_0000_0000L);
        VmTransitions.loadGuestState(v, s);
        s.dr7 = 0x4FF;
        VmTransitions.loadHostState(v, s);
        assertEquals(fx.read(HOST_RIP), s.rip);
        assertEquals(fx.read(HOST_RSP), s.gpr[4]);
        assertEquals(2, s.rflags());
        assertEquals(0x400, s.dr7); // 28.5.1
        assertEquals(0x8, s.seg[CpuState.CS].selector);
        assertTrue(s.seg[CpuState.CS].longMode());
        assertTrue(s.seg[CpuState.DS].unusable()); // null selector
        assertEquals(0xFFFF_8880_0000_0000L, s.seg[CpuState.FS].base);
        assertEquals(0x67, s.tr.limit);
        assertEquals(0xB, s.tr.accessRights & 0xF);
        assertEquals(0xFFFF, s.gdtrLimit);
        assertTrue((s.efer & Efer.LMA) != 0);
        assertEquals(fx.read(HOST_CR4), s.cr4);
        assertEquals(CpuState.ACTIVITY_ACTIVE, s.activityState);
    }
}
