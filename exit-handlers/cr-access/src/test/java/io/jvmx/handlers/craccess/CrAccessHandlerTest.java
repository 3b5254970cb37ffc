package io.jvmx.handlers.craccess;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.exit.CrAccessQualification;
import io.jvmx.vmx.api.exit.CrAccessQualification.AccessType;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

/**
 * Conformance of the CR_ACCESS handler: exit qualification SDM Vol. 3C 28.2.1 Table 28-3; instruction semantics and
 * #GP(0) conditions SDM Vol. 2B "MOV—Move to/from Control Registers", Vol. 2A "CLTS" and "LMSW"; IA-32e mode
 * SDM Vol. 3A 9.8.5; PAE PDPTEs SDM Vol. 3A 4.4.1.
 */
public class CrAccessHandlerTest {

    private static final int RAX = GeneralRegisters.RAX;
    private final CrAccessHandler handler = new CrAccessHandler();

    private ExitAction run(FakeVCpu v, int cr, AccessType type, int gpr, int length) throws Exception {
        long q = new CrAccessQualification(cr, type, false, gpr, 0).encode();
        return handler.handle(v, v.exit(ExitReason.CR_ACCESS, q, length));
    }

    /** MOV CRn, RAX (0F 22 /r: 3 bytes). */
    private ExitAction movTo(FakeVCpu v, int cr, long value) throws Exception {
        v.writeGpr(RAX, value);
        return run(v, cr, AccessType.MOV_TO_CR, RAX, 3);
    }

    private static boolean gpQueued(FakeVCpu v) {
        return v.pendingEvents().equals(List.of(new PendingEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0)));
    }

    /** A refused write: #GP(0), the register unchanged and RIP still on the instruction (a fault). */
    private void assertGp(FakeVCpu v, int cr, long value) throws Exception {
        long rip = v.rip();
        long before = cr == 8 ? -1 : v.guestCr(cr);
        assertEquals(ExitAction.HANDLED, movTo(v, cr, value));
        assertTrue(String.format("#GP for CR%d <- %#x: %s", cr, value, v), gpQueued(v));
        assertEquals(rip, v.rip());
        if (cr != 8) {
            assertEquals(before, v.guestCr(cr));
        }
    }

    private static FakeVCpu protectedMode() {
        FakeVCpu v = new FakeVCpu();
        v.setGuestCr(0, Cr0.PE | Cr0.ET | Cr0.NE);
        return v;
    }

    // ---- MOV to CR ----

    /** MOV to CR0 from RAX enters protected mode; RIP advances by the instruction length (SDM 28.2.5). */
    @Test
    public void movToCr0EntersProtectedMode() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, movTo(v, 0, Cr0.PE | Cr0.ET));
        assertEquals(Cr0.PE | Cr0.ET, v.guestCr(0));
        assertNotEquals(0, v.vmread(VmcsField.GUEST_CR0) & Cr0.PE);
        assertEquals(rip + 3, v.rip());
        assertTrue(v.pendingEvents().isEmpty());
    }

    /** The source register can be RSP (GPR 4), which lives in GUEST_RSP (Table 28-3 bits 11:8). */
    @Test
    public void movToCr4FromRspUsesGuestRsp() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RSP, Cr4.PAE | Cr4.OSFXSR);
        run(v, 4, AccessType.MOV_TO_CR, GeneralRegisters.RSP, 3);
        assertEquals(Cr4.PAE | Cr4.OSFXSR, v.guestCr(4));
    }

    /** x86_vcpu advances RIP by a constant 3; MOV CR8, RAX in 64-bit mode is 44 0F 22 C0 (4 bytes): RIP moves by 4. */
    @Test
    public void ripAdvancesByInstructionLengthNot3AsX86VcpuDoes() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        long rip = v.rip();
        v.writeGpr(RAX, 5);
        run(v, 8, AccessType.MOV_TO_CR, RAX, 4);
        assertEquals(rip + 4, v.rip());
    }

    /** The source register's upper half is ignored outside 64-bit mode (32-bit operand, SDM Vol. 2B MOV CR). */
    @Test
    public void upperHalfIgnoredOutside64BitMode() throws Exception {
        FakeVCpu v = new FakeVCpu();
        movTo(v, 0, 0xFFFF_FFFF_0000_0000L | Cr0.PE | Cr0.ET);
        assertTrue(v.pendingEvents().isEmpty());
        assertEquals(Cr0.PE | Cr0.ET, v.guestCr(0));
    }

    /** CR0.ET is hardwired to 1 (SDM Vol. 3A 2.5). */
    @Test
    public void cr0EtReadsAsOne() throws Exception {
        FakeVCpu v = new FakeVCpu();
        movTo(v, 0, Cr0.PE);
        assertEquals(Cr0.PE | Cr0.ET, v.guestCr(0));
    }

    /** Setting CR0.PG with EFER.LME = 1 and CR4.PAE = 1 activates IA-32e mode: LMA and the entry control (9.8.5). */
    @Test
    public void pagingWithLmeActivatesIa32eMode() throws Exception {
        FakeVCpu v = protectedMode();
        movTo(v, 4, Cr4.PAE);
        v.vmwrite(VmcsField.GUEST_IA32_EFER, Efer.LME);
        movTo(v, 0, Cr0.PE | Cr0.ET | Cr0.PG);
        assertTrue(v.pendingEvents().isEmpty());
        assertNotEquals(0, v.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA);
        assertNotEquals(0, v.vmread(VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST);
    }

    /** #GP(0): CR0.PG = 1 with CR0.PE = 0 (SDM Vol. 2B MOV CR). */
    @Test
    public void cr0PagingWithoutProtectionRaisesGp() throws Exception {
        assertGp(new FakeVCpu(), 0, Cr0.PG | Cr0.ET);
    }

    /** #GP(0): CR0.NW = 1 with CR0.CD = 0 (SDM Vol. 2B MOV CR). */
    @Test
    public void cr0NotWriteThroughWithoutCacheDisableRaisesGp() throws Exception {
        assertGp(new FakeVCpu(), 0, Cr0.NW | Cr0.ET);
    }

    /** #GP(0): a 1 in CR0 bits 63:32 in 64-bit mode (SDM Vol. 2B MOV CR, 64-bit mode exceptions). */
    @Test
    public void cr0UpperBitsIn64BitModeRaiseGp() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        assertGp(v, 0, v.guestCr(0) | (1L << 32));
    }

    /** #GP(0): setting CR0.PG with EFER.LME = 1 and CR4.PAE = 0 (SDM Vol. 3A 9.8.5, Vol. 2B MOV CR). */
    @Test
    public void pagingWithLmeButNoPaeRaisesGp() throws Exception {
        FakeVCpu v = protectedMode();
        v.vmwrite(VmcsField.GUEST_IA32_EFER, Efer.LME);
        assertGp(v, 0, Cr0.PE | Cr0.ET | Cr0.PG);
        assertEquals(0, v.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA);
    }

    /** #GP(0): clearing CR0.PG in 64-bit mode — IA-32e mode is left from compatibility mode (SDM Vol. 3A 9.8.5.4). */
    @Test
    public void clearingPagingIn64BitModeRaisesGp() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        assertGp(v, 0, v.guestCr(0) & ~Cr0.PG);
    }

    /** #GP(0): clearing CR0.WP while CR4.CET = 1 (SDM Vol. 2B MOV CR). */
    @Test
    public void clearingWpWithCetRaisesGp() throws Exception {
        FakeVCpu v = protectedMode();
        movTo(v, 0, v.guestCr(0) | Cr0.WP);
        movTo(v, 4, Cr4.CET);
        assertTrue(v.pendingEvents().isEmpty());
        assertGp(v, 0, v.guestCr(0) & ~Cr0.WP);
    }

    /** #GP(0): a reserved CR4 bit — bit 15, bit 25, bit 32 (SDM Vol. 3A 2.5 Figure 2-7, Vol. 2B MOV CR). */
    @Test
    public void cr4ReservedBitsRaiseGp() throws Exception {
        assertGp(new FakeVCpu(), 4, 1L << 15);
        assertGp(new FakeVCpu(), 4, 1L << 25);
        assertGp(new FakeVCpu().enter64BitMode(), 4, Cr4.PAE | (1L << 32));
    }

    /** #GP(0): setting CR4.VMXE — nested VMX is not exposed (CPUID.1:ECX.VMX = 0), VMXE is host-owned. */
    @Test
    public void cr4VmxeRaisesGp() throws Exception {
        FakeVCpu v = new FakeVCpu();
        assertGp(v, 4, Cr4.VMXE);
        assertEquals(0, v.guestCr(4) & Cr4.VMXE);
    }

    /** #GP(0): clearing CR4.PAE while IA-32e mode is active (SDM Vol. 2B MOV CR). */
    @Test
    public void clearingPaeInIa32eModeRaisesGp() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        assertGp(v, 4, v.guestCr(4) & ~Cr4.PAE);
    }

    /** #GP(0): changing CR4.LA57 while IA-32e mode is active (SDM Vol. 2B MOV CR). */
    @Test
    public void changingLa57InIa32eModeRaisesGp() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        assertGp(v, 4, v.guestCr(4) | Cr4.LA57);
    }

    /** CR4.PCIDE 0 -> 1: #GP(0) outside IA-32e mode or with CR3[11:0] != 0; fine otherwise (SDM Vol. 3A 4.10.1). */
    @Test
    public void pcideNeedsIa32eModeAndAlignedCr3() throws Exception {
        assertGp(protectedMode(), 4, Cr4.PCIDE);
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        v.setGuestCr(3, 0x1000 | 0x5);
        assertGp(v, 4, v.guestCr(4) | Cr4.PCIDE);
        FakeVCpu w = new FakeVCpu().enter64BitMode();
        w.setGuestCr(3, 0x1000);
        movTo(w, 4, w.guestCr(4) | Cr4.PCIDE);
        assertTrue(w.pendingEvents().isEmpty());
        assertNotEquals(0, w.guestCr(4) & Cr4.PCIDE);
    }

    /** MOV to CR3 in IA-32e mode: a bit at or above MAXPHYADDR is reserved (#GP(0)); 36 bits without 80000008H. */
    @Test
    public void cr3BitsAboveMaxPhysAddrRaiseGp() throws Exception {
        assertGp(new FakeVCpu().enter64BitMode(), 3, 1L << 36);
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        v.putHostCpuid(0x8000_0000, 0, new CpuidResult(0x8000_0008, 0, 0, 0));
        v.putHostCpuid(0x8000_0008, 0, new CpuidResult(39, 0, 0, 0));
        movTo(v, 3, 1L << 38 | 0x2000);
        assertTrue(v.pendingEvents().isEmpty());
        assertEquals(1L << 38 | 0x2000, v.guestCr(3));
        assertGp(v, 3, 1L << 39);
    }

    /** With CR4.PCIDE = 1, bit 63 of the source is the no-flush hint and is not written to CR3 (SDM 4.10.4.1). */
    @Test
    public void cr3Bit63IsDroppedWithPcide() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        v.setGuestCr(4, v.guestCr(4) | Cr4.PCIDE);
        movTo(v, 3, (1L << 63) | 0x3000 | 7);
        assertTrue(v.pendingEvents().isEmpty());
        assertEquals(0x3000 | 7, v.guestCr(3));
    }

    /** Enabling PAE paging (LME = 0) loads the four PDPTEs into GUEST_PDPTE0-3 (SDM Vol. 3A 4.4.1; 27.3.2.4). */
    @Test
    public void enablingPaePagingLoadsPdptes() throws Exception {
        FakeVCpu v = protectedMode();
        v.setGuestCr(3, 0x4000);
        v.setGuestCr(4, Cr4.PAE);
        for (int i = 0; i < 4; i++) {
            writeLong(v, 0x4000 + 8L * i, 0x10_0000L * (i + 1) | 1);
        }
        movTo(v, 0, v.guestCr(0) | Cr0.PG);
        assertTrue(v.pendingEvents().isEmpty());
        assertEquals(0x10_0001L, v.vmread(VmcsField.GUEST_PDPTE0));
        assertEquals(0x40_0001L, v.vmread(VmcsField.GUEST_PDPTE3));
    }

    /** A present PDPTE with a reserved bit (bits 2:1, 8:5) makes the MOV #GP(0) (SDM Vol. 3A 4.4.1). */
    @Test
    public void pdpteWithReservedBitRaisesGp() throws Exception {
        FakeVCpu v = protectedMode();
        v.setGuestCr(3, 0x4000);
        v.setGuestCr(4, Cr4.PAE);
        writeLong(v, 0x4010, 0x10_0000L | 1 | (1L << 5));
        assertGp(v, 0, v.guestCr(0) | Cr0.PG);
    }

    private static void writeLong(FakeVCpu v, long gpa, long value) {
        byte[] b = new byte[8];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (value >>> (8 * i));
        }
        v.guestMemory().write(gpa, b, 0, 8);
    }

    /** MOV to CR8 sets the TPR; bits 63:4 reserved -> #GP(0) (SDM Vol. 2B MOV CR). */
    @Test
    public void cr8ReservedBitsRaiseGp() throws Exception {
        assertGp(new FakeVCpu().enter64BitMode(), 8, 0x10);
    }

    // ---- MOV from CR (x86_vcpu panics) ----

    /** MOV from CR3 writes the guest's CR3 to the register; x86_vcpu panics here. */
    @Test
    public void movFromCr3WhichX86VcpuPanicsOn() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.setGuestCr(3, 0x5000);
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, run(v, 3, AccessType.MOV_FROM_CR, GeneralRegisters.RBX, 3));
        assertEquals(0x5000, v.readGpr(GeneralRegisters.RBX));
        assertEquals(rip + 3, v.rip());
    }

    /** MOV from CR8 returns the TPR written by MOV to CR8; x86_vcpu panics here. */
    @Test
    public void movFromCr8WhichX86VcpuPanicsOn() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        movTo(v, 8, 9);
        v.writeGpr(GeneralRegisters.R9, -1);
        run(v, 8, AccessType.MOV_FROM_CR, GeneralRegisters.R9, 4);
        assertEquals(9, v.readGpr(GeneralRegisters.R9));
    }

    /** MOV from CR0/CR4 reads the shadows for host-owned bits (SDM 26.3); answered if such an exit ever comes. */
    @Test
    public void movFromCr0AndCr4ReturnTheGuestView() throws Exception {
        FakeVCpu v = new FakeVCpu();
        run(v, 0, AccessType.MOV_FROM_CR, GeneralRegisters.RDX, 3);
        assertEquals(Cr0.NW | Cr0.CD | Cr0.ET, v.readGpr(GeneralRegisters.RDX));
        run(v, 4, AccessType.MOV_FROM_CR, GeneralRegisters.RDX, 3);
        assertEquals(0, v.readGpr(GeneralRegisters.RDX)); // VMXE is forced in the real CR4 but not shown
    }

    // ---- CLTS and LMSW (x86_vcpu panics) ----

    /** CLTS clears CR0.TS in CR0 and in the read shadow (SDM Vol. 2A CLTS); x86_vcpu panics here. */
    @Test
    public void cltsClearsTsWhichX86VcpuPanicsOn() throws Exception {
        FakeVCpu v = protectedMode();
        v.setGuestCr(0, v.guestCr(0) | Cr0.TS);
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, run(v, 0, AccessType.CLTS, 0, 2));
        assertEquals(0, v.guestCr(0) & Cr0.TS);
        assertEquals(0, v.vmread(VmcsField.GUEST_CR0) & Cr0.TS);
        assertEquals(0, v.vmread(VmcsField.CR0_READ_SHADOW) & Cr0.TS);
        assertEquals(rip + 2, v.rip());
    }

    /** LMSW (register form) loads CR0[3:0] from the source (SDM Vol. 2A LMSW); x86_vcpu panics here. */
    @Test
    public void lmswRegisterFormLoadsLowFourBits() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long q = new CrAccessQualification(0, AccessType.LMSW, false, 0, (int) (0xFFF0 | Cr0.PE | Cr0.MP)).encode();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.CR_ACCESS, q, 3)));
        assertEquals(Cr0.PE | Cr0.MP, v.guestCr(0) & 0xF);
        assertEquals("bits above 3 unchanged", Cr0.NW | Cr0.CD | Cr0.ET, v.guestCr(0) & ~0xFL);
        assertEquals(rip + 3, v.rip());
    }

    /** LMSW cannot clear CR0.PE (SDM Vol. 2A LMSW); the memory form carries its data in the qualification too. */
    @Test
    public void lmswMemoryFormCannotClearPe() throws Exception {
        FakeVCpu v = protectedMode();
        long q = new CrAccessQualification(0, AccessType.LMSW, true, 0, (int) (Cr0.TS | Cr0.EM)).encode();
        long rip = v.rip();
        handler.handle(v, v.exit(ExitReason.CR_ACCESS, q, 7)); // LMSW [disp32] with a prefix
        assertEquals(Cr0.PE | Cr0.TS | Cr0.EM, v.guestCr(0) & 0xF);
        assertEquals(rip + 7, v.rip());
    }

    /** The LMSW merge itself: bits 3:1 replaced, PE only ever set. */
    @Test
    public void lmswMergeKeepsPe() {
        assertEquals(Cr0.PE | Cr0.PG, CrAccessHandler.lmsw(Cr0.PE | Cr0.PG | Cr0.TS, 0));
        assertEquals(Cr0.PE | Cr0.MP, CrAccessHandler.lmsw(0, (int) (Cr0.PE | Cr0.MP)));
    }

    /** A control register that cannot cause this exit (CR2): PASS, so that the exit reaches the caller. */
    @Test
    public void otherControlRegisterPasses() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.PASS, movTo(v, 2, 0x1234));
        assertEquals(rip, v.rip());
        assertTrue(v.pendingEvents().isEmpty());
    }
}
