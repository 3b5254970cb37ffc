package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;

import org.junit.Before;
import org.junit.Test;

/**
 * A guest entered in virtual-8086 mode (RFLAGS.VM = 1 in the guest-state area): the VM-entry checks on its segment
 * registers (SDM Vol. 3C 27.3.1.2: base = selector &lt;&lt; 4, limit FFFFH, access rights F3H for CS, SS, DS, ES, FS
 * and GS; the SS.RPL = CS.RPL rule does not apply) and on RFLAGS (27.3.1.4: VM must be 0 in IA-32e mode or with
 * CR0.PE = 0), then the guest running there: 8086 addressing, and an exception leaving the mode either as a VM exit
 * (exception bitmap) or through a ring-0 interrupt gate with the stack frame of SDM Vol. 3A 20.3.1.1, Figure 20-4.
 */
public class Virtual8086EntryTest {
    private static final VmcsField[][] SEGMENTS = VmxFixture.GUEST_SEGMENTS;
    /** ES, CS, SS, DS, FS, GS: CS:0 is the platform's entry 0x8000; SS's RPL (1) is not CS's (0). */
    private static final int[] SELECTORS = {0x0300, 0x0800, 0x0601, 0x0100, 0x0302, 0x0303};
    private static final long ESP0 = 0x7000;
    private static final long HANDLER = 0x9000;

    private VmxFixture fx;

    @Before
    public void virtual8086Guest() {
        fx = new VmxFixture();
        fx.protectedModeGuest();
        for (int k = 0; k < SEGMENTS.length; k++) {
            fx.write(SEGMENTS[k][0], SELECTORS[k]);
            fx.write(SEGMENTS[k][1], (long) SELECTORS[k] << 4);
            fx.write(SEGMENTS[k][2], 0xFFFF);
            fx.write(SEGMENTS[k][3], 0xF3);
        }
        fx.write(GUEST_RIP, 0);
        fx.write(GUEST_RSP, 0x1000);
        fx.write(GUEST_RFLAGS, Rflags.VM | Rflags.FIXED_1);
        // the ring-0 stack of events from virtual-8086 mode (TSS SS0:ESP0) and a 32-bit interrupt gate for #GP
        fx.memory.write32(fx.guestRam + VmxFixture.PROTECTED_TSS + 4, (int) ESP0);
        fx.memory.write32(fx.guestRam + VmxFixture.PROTECTED_TSS + 8, VmxFixture.DATA32);
        long gate = (HANDLER & 0xFFFF) | ((long) VmxFixture.CODE32 << 16) | (0x8EL << 40)
                | ((HANDLER >>> 16) << 48);
        fx.memory.write64(fx.guestRam + VmxFixture.PROTECTED_IDT + 8L * Exceptions.GP, gate);
        fx.load(HANDLER, VmxFixture.bytes(0x0F, 0xA2)); // cpuid: exits
    }

    // ---- software interrupts injected into virtual-8086 mode (SDM Vol. 3C 27.6.1.1)

    private static final int REDIRECTED = 0x21, NOT_REDIRECTED = 0x20;
    /** The 8086 program's handler for REDIRECTED, from its interrupt vector table at linear 0: 0800:0010. */
    private static final long PROGRAM_HANDLER = VmxFixture.GUEST_ENTRY + 0x10;

    /**
     * The TSS with a software interrupt redirection bit map (all set but REDIRECTED's bit) below an I/O map at 88H,
     * the program's vector table entry for REDIRECTED, a DPL-3 interrupt gate for NOT_REDIRECTED, CR4.VME as given,
     * and VM entry injecting the software interrupt {@code vector} (instruction length 2) with RFLAGS {@code flags}.
     */
    private void injectSoftwareInterrupt(int vector, boolean vme, long flags) {
        long tss = fx.guestRam + VmxFixture.PROTECTED_TSS;
        for (int k = 0; k < 32; k++) {
            fx.memory.write8(tss + 0x68 + k, k == REDIRECTED / 8 ? ~(1 << (REDIRECTED % 8)) & 0xFF : 0xFF);
        }
        fx.memory.write16(tss + 0x66, 0x88);
        fx.write(GUEST_TR_LIMIT, 0x88);
        fx.memory.write16(fx.guestRam + 4L * REDIRECTED, 0x0010);
        fx.memory.write16(fx.guestRam + 4L * REDIRECTED + 2, 0x0800);
        fx.load(PROGRAM_HANDLER, VmxFixture.bytes(0x0F, 0xA2)); // cpuid
        long gate = (HANDLER & 0xFFFF) | ((long) VmxFixture.CODE32 << 16) | (0xEEL << 40) | ((HANDLER >>> 16) << 48);
        fx.memory.write64(fx.guestRam + VmxFixture.PROTECTED_IDT + 8L * NOT_REDIRECTED, gate);
        fx.write(GUEST_CR4, fx.read(GUEST_CR4) | (vme ? Cr4.VME : 0));
        fx.write(GUEST_RFLAGS, Rflags.VM | Rflags.FIXED_1 | flags);
        fx.write(GUEST_RIP, 0x40);
        fx.write(VM_ENTRY_INTERRUPTION_INFORMATION,
                (InterruptionInfo.VALID & 0xFFFF_FFFFL) | ((long) InterruptionType.SOFTWARE_INTERRUPT.code() << 8) | vector);
        fx.write(VM_ENTRY_INSTRUCTION_LENGTH, 2);
        fx.cpu.vmlaunch(fx.guestRegisters);
    }

    private int word(long linear) {
        return fx.memory.read16(fx.guestRam + linear) & 0xFFFF;
    }

    /**
     * CR4.VME, the bit clear: to the 8086 program's handler through its vector table, FLAGS (IOPL 3, IF = VIF), CS and
     * IP after the instruction pushed as words, VIF cleared (IOPL &lt; 3); no #GP for IOPL 0.
     */
    @Test
    public void injectedSoftwareInterruptIsRedirected() {
        injectSoftwareInterrupt(REDIRECTED, true, Rflags.VIF);
        assertEquals(fx.cpu.lastEntryFailure(), ExitReason.CPUID.number(), fx.exitReason());
        assertEquals("the program's handler", 0x0800, fx.read(GUEST_CS_SELECTOR));
        assertEquals(0x10, fx.read(GUEST_RIP));
        assertEquals("still in virtual-8086 mode", Rflags.VM, fx.read(GUEST_RFLAGS) & Rflags.VM);
        assertEquals("VIF cleared", 0, fx.read(GUEST_RFLAGS) & Rflags.VIF);
        long sp = fx.read(GUEST_RSP);
        assertEquals("three words pushed", 0x1000 - 6, sp);
        long stack = (long) SELECTORS[2] << 4;
        assertEquals("IP after the instruction", 0x42, word(stack + sp));
        assertEquals("CS", 0x0800, word(stack + sp + 2));
        assertEquals("FLAGS with IOPL 3 and VIF as IF", Rflags.IOPL | Rflags.IF,
                word(stack + sp + 4) & (Rflags.IOPL | Rflags.IF));
    }

    /** CR4.VME, the bit set, IOPL 0: the protected-mode handler, not #GP (27.6.1.1: no IOPL check on injection). */
    @Test
    public void injectedSoftwareInterruptWithItsBitSetGoesToTheProtectedModeHandler() {
        fx.write(EXCEPTION_BITMAP, 1L << Exceptions.GP);
        injectSoftwareInterrupt(NOT_REDIRECTED, true, 0);
        assertEquals(fx.cpu.lastEntryFailure(), ExitReason.CPUID.number(), fx.exitReason());
        assertEquals(HANDLER, fx.read(GUEST_RIP));
        assertEquals(VmxFixture.CODE32, fx.read(GUEST_CS_SELECTOR));
        assertEquals("EIP after the instruction", 0x42,
                fx.memory.read32(fx.guestRam + fx.read(GUEST_RSP)) & 0xFFFF_FFFFL);
    }

    /** Without CR4.VME even a clear bit means nothing: the protected-mode handler, whatever IOPL is. */
    @Test
    public void injectedSoftwareInterruptWithoutVmeGoesToTheProtectedModeHandler() {
        fx.write(EXCEPTION_BITMAP, 1L << Exceptions.GP);
        injectSoftwareInterrupt(REDIRECTED, false, 0);
        assertEquals(fx.cpu.lastEntryFailure(), ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        assertEquals("no gate for 21H in the IDT: #GP(21H * 8 + 2), not a redirection", 0x21 * 8 + 2,
                fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
    }

    private void expectInvalidGuestState(String detailPart) {
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.ENTRY_FAILURE_BIT | ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE.number(),
                fx.exitReason());
        String detail = fx.cpu.lastEntryFailure();
        assertTrue(detail, detail.contains(detailPart));
    }

    /** SDM 27.3.1.2: the 8086 segments are checked, and nothing else of theirs; the guest runs 8086 addressing. */
    @Test
    public void entersAndAddressesAsThe8086() {
        fx.memory.write16(fx.guestRam + 0x1010, 0xBEEF);
        fx.load(VmxFixture.GUEST_ENTRY, VmxFixture.bytes(0xA1, 0x10, 0x00, 0x0F, 0xA2)); // mov ax, [0x10]; cpuid
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(fx.cpu.lastEntryFailure(), ExitReason.CPUID.number(), fx.exitReason());
        assertEquals("DS 0100H: linear 1010H", 0xBEEF, fx.guestRegisters.get(GeneralRegisters.RAX) & 0xFFFF);
        assertEquals("still in virtual-8086 mode", Rflags.VM, fx.read(GUEST_RFLAGS) & Rflags.VM);
        assertEquals("at the CPUID", 3, fx.read(GUEST_RIP));
        assertEquals(0xF3, fx.read(GUEST_CS_ACCESS_RIGHTS));
    }

    /** SDM 27.3.1.2, for each of the six segment registers: base, limit and access rights, each on its own. */
    @Test
    public void segmentChecks() {
        for (int k = 0; k < SEGMENTS.length; k++) {
            virtual8086Guest();
            fx.write(SEGMENTS[k][1], ((long) SELECTORS[k] << 4) + 0x10);
            expectInvalidGuestState("base");
            virtual8086Guest();
            fx.write(SEGMENTS[k][2], 0xFFFE);
            expectInvalidGuestState("limit");
            virtual8086Guest();
            fx.write(SEGMENTS[k][3], k == 1 ? 0xFB : 0x93);
            expectInvalidGuestState("access rights");
        }
    }

    /** SDM 27.3.1.4: RFLAGS.VM = 1 requires CR0.PE = 1 (and no IA-32e mode), even for an unrestricted guest. */
    @Test
    public void virtual8086ModeNeedsProtectedMode() {
        fx.write(GUEST_CR0, Cr0.ET | Cr0.NE);
        expectInvalidGuestState("RFLAGS.VM");
    }

    /** An exception in the exception bitmap exits from virtual-8086 mode, which the exit saves (SDM 27.3.1.4, 28.3). */
    @Test
    public void exceptionExit() {
        fx.write(EXCEPTION_BITMAP, 1L << Exceptions.GP);
        fx.load(VmxFixture.GUEST_ENTRY, VmxFixture.bytes(0xF4)); // hlt: #GP(0) at CPL 3
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        assertEquals(Exceptions.GP, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);
        assertEquals(0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        assertEquals(Rflags.VM, fx.read(GUEST_RFLAGS) & Rflags.VM);
        assertEquals(0, fx.read(GUEST_RIP));
        assertEquals(0x0800, fx.read(GUEST_CS_SELECTOR));
    }

    /**
     * SDM Vol. 3A 20.3.1.1, Figure 20-4: #GP from virtual-8086 mode through a 32-bit interrupt gate to ring 0 switches
     * to SS0:ESP0, pushes GS, FS, DS, ES, SS, ESP, EFLAGS, CS, EIP and the error code, clears VM, and loads GS, FS,
     * DS and ES with null selectors.
     */
    @Test
    public void exceptionToRingZero() {
        fx.load(VmxFixture.GUEST_ENTRY, VmxFixture.bytes(0xF4)); // hlt: #GP(0) at CPL 3
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(fx.cpu.lastEntryFailure(), ExitReason.CPUID.number(), fx.exitReason());
        assertEquals("at the handler's CPUID", HANDLER, fx.read(GUEST_RIP));
        assertEquals(VmxFixture.CODE32, fx.read(GUEST_CS_SELECTOR));
        assertEquals(0, fx.read(GUEST_RFLAGS) & Rflags.VM);
        assertEquals(VmxFixture.DATA32, fx.read(GUEST_SS_SELECTOR));
        long esp = fx.read(GUEST_RSP);
        assertEquals("ten doublewords on the ring-0 stack", ESP0 - 40, esp);
        long[] expected = {0, 0, 0x0800, -1, 0x1000, 0x0601, 0x0300, 0x0100, 0x0302, 0x0303};
        String[] names = {"error code", "EIP", "CS", "EFLAGS", "ESP", "SS", "ES", "DS", "FS", "GS"};
        for (int k = 0; k < expected.length; k++) {
            long v = fx.memory.read32(fx.guestRam + esp + 4L * k) & 0xFFFF_FFFFL;
            if (k == 3) {
                assertEquals("EFLAGS image has VM", Rflags.VM, v & Rflags.VM);
            } else {
                assertEquals(names[k], expected[k], v);
            }
        }
        for (VmcsField[] seg : new VmcsField[][] {SEGMENTS[0], SEGMENTS[3], SEGMENTS[4], SEGMENTS[5]}) {
            assertEquals(seg[0] + " null", 0, fx.read(seg[0]));
            assertEquals(seg[0] + " unusable", 1L << 16, fx.read(seg[3]) & (1L << 16));
        }
    }
}
