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

    /**
     * SDM 27.3.2 and 28.3: a 64-bit guest entered with a value in every guest-state field the processor supports
     * exits on its first instruction (CPUID, which changes nothing) and every field is saved as it was loaded: the
     * control, debug and segment registers, GDTR/IDTR, the SYSENTER MSRs, IA32_PAT and IA32_EFER (with their
     * load/save controls), RSP, RFLAGS, the interruptibility state (blocking by MOV SS) and the activity state.
     */
    @Test(timeout = 10_000)
    public void everyGuestFieldSurvivesAnEntryAndAnExit() {
        fx.longModeGuest(0);
        fx.load(VmxFixture.GUEST_ENTRY, VmxFixture.code("0f a2")); // cpuid
        fx.write(VM_ENTRY_CONTROLS, fx.read(VM_ENTRY_CONTROLS) | VmEntryControls.LOAD_DEBUG_CONTROLS
                | VmEntryControls.LOAD_IA32_PAT);
        fx.write(PRIMARY_VM_EXIT_CONTROLS, fx.read(PRIMARY_VM_EXIT_CONTROLS) | VmExitControls.SAVE_DEBUG_CONTROLS
                | VmExitControls.SAVE_IA32_PAT | VmExitControls.SAVE_IA32_EFER);
        Object[][] fields = {
                {GUEST_CR0, Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.PG},
                {GUEST_CR3, VmxFixture.LONG_MODE_PML4 | 0x18},
                {GUEST_CR4, Cr4.PAE | Cr4.PGE | Cr4.VMXE | Cr4.OSXSAVE | Cr4.FSGSBASE},
                {GUEST_DR7, 0x455L},
                {GUEST_ES_SELECTOR, 0x10L}, {GUEST_ES_BASE, 0x1234L}, {GUEST_ES_LIMIT, 0xFFFFFL},
                {GUEST_ES_ACCESS_RIGHTS, 0x4093L},
                {GUEST_FS_BASE, 0xFFFF_8000_1234_5000L}, {GUEST_GS_BASE, 0x7FFF_0000_0000L},
                {GUEST_LDTR_SELECTOR, 0x38L}, {GUEST_LDTR_BASE, 0x5000L}, {GUEST_LDTR_LIMIT, 0xFFFL},
                {GUEST_LDTR_ACCESS_RIGHTS, 0x82L},
                {GUEST_GDTR_LIMIT, 0x37L}, {GUEST_IDTR_BASE, 0x4100L}, {GUEST_IDTR_LIMIT, 0xEFFL},
                {GUEST_IA32_SYSENTER_CS, 0x8L}, {GUEST_IA32_SYSENTER_ESP, 0xFFFF_8000_0000_1000L},
                {GUEST_IA32_SYSENTER_EIP, 0xFFFF_8000_0000_2000L},
                {GUEST_IA32_PAT, 0x0007_0406_0007_0401L},
                {GUEST_IA32_EFER, Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE},
                {GUEST_RSP, 0x6FF8L},
                {GUEST_RFLAGS, 0x2L | 0x4 | 0x80 | 0x400 | 0x3000 | 0x4_0000},
                {GUEST_INTERRUPTIBILITY_STATE, (long) CpuState.INTERRUPTIBILITY_MOV_SS},
                {GUEST_ACTIVITY_STATE, (long) CpuState.ACTIVITY_ACTIVE},
                {GUEST_PENDING_DEBUG_EXCEPTIONS, 0L}};
        for (Object[] f : fields) {
            fx.write((io.jvmx.vmx.api.vmcs.VmcsField) f[0], ((Number) f[1]).longValue());
        }
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.CPUID.number(), fx.exitReason());
        for (Object[] f : fields) {
            assertEquals(f[0].toString(), ((Number) f[1]).longValue(),
                    fx.read((io.jvmx.vmx.api.vmcs.VmcsField) f[0]));
        }
        assertEquals(VmxFixture.GUEST_ENTRY, fx.read(GUEST_RIP));
        assertEquals(VmxFixture.TSS_SELECTOR, fx.read(GUEST_TR_SELECTOR));
        assertEquals(0xA09B, fx.read(GUEST_CS_ACCESS_RIGHTS));
    }
}
