package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.exit.EptViolationQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.cpu.CpuState;

import org.junit.Test;

/**
 * Guests running on the interpreter in VMX non-root operation: VM entry (SDM 27), exits and the information they
 * record (28.2), the guest state saved (28.3) and host state loaded (28.5), and VMRESUME after each exit.
 */
public class GuestRunTest {
    private final VmxFixture fx = new VmxFixture();

    private void setControl(VmcsField field, int bits) {
        fx.write(field, fx.read(field) | bits);
    }

    /** The VMM's part of an instruction exit: skip the instruction and resume. */
    private void skipAndResume() {
        fx.write(GUEST_RIP, fx.read(GUEST_RIP) + fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        fx.cpu.vmresume(fx.guestRegisters);
    }

    /**
     * A real-mode guest at 0x8000 (assembly, 16-bit):
     * <pre>
     *   8000: 31 C0           xor  ax, ax
     *   8002: 0F A2           cpuid               ; exit 10, length 2
     *   8004: BA F8 03        mov  dx, 0x3F8
     *   8007: B0 41           mov  al, 'A'
     *   8009: EE              out  dx, al         ; exit 30, length 1, port 0x3F8 in DX
     *   800A: E6 E0           out  0xE0, al       ; exit 30, length 2, immediate port
     *   800C: B8 00 30        mov  ax, 0x3000
     *   800F: 8E D8           mov  ds, ax
     *   8011: C6 06 34 00 99  mov  byte [0x0034], 0x99   ; guest-physical 0x30034: unmapped -> exit 48
     *   8016: F4              hlt                 ; exit 12 (HLT exiting), length 1
     * </pre>
     */
    @Test(timeout = 10_000)
    public void realModeGuestCpuidOutAndEptViolation() {
        fx.load(0x8000, VmxFixture.bytes(0x31, 0xC0, 0x0F, 0xA2, 0xBA, 0xF8, 0x03, 0xB0, 0x41, 0xEE, 0xE6, 0xE0,
                0xB8, 0x00, 0x30, 0x8E, 0xD8, 0xC6, 0x06, 0x34, 0x00, 0x99, 0xF4));
        fx.unmapEpt(0x30000);
        setControl(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.HLT_EXITING);
        // the I/O bitmaps intercept the two ports the guest uses
        fx.memory.write8(fx.ioBitmapA + (0x3F8 >>> 3), 1 << (0x3F8 & 7));
        fx.memory.write8(fx.ioBitmapA + (0xE0 >>> 3), 1 << (0xE0 & 7));
        fx.guestRegisters.set(GeneralRegisters.RAX, 0x1234_5678);

        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.CPUID.number(), fx.exitReason());
        assertEquals(0x8002, fx.read(GUEST_RIP));
        assertEquals(2, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals("GPRs come back to the VMM (xor ax, ax kept the upper half)", 0x1234_0000L,
                fx.guestRegisters.get(GeneralRegisters.RAX));
        assertEquals("host state loaded (SDM 28.5.3)", fx.read(HOST_RIP), fx.cpu.state().rip);
        assertEquals(2, fx.cpu.state().rflags());

        skipAndResume();
        assertEquals(ExitReason.IO_INSTRUCTION.number(), fx.exitReason());
        assertEquals(0x8009, fx.read(GUEST_RIP));
        assertEquals(1, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(new IoQualification(1, false, false, false, false, 0x3F8),
                IoQualification.decode(fx.read(EXIT_QUALIFICATION)));
        assertEquals(0x41, fx.guestRegisters.get(GeneralRegisters.RAX) & 0xFF);

        skipAndResume();
        assertEquals(ExitReason.IO_INSTRUCTION.number(), fx.exitReason());
        assertEquals(0x800A, fx.read(GUEST_RIP));
        assertEquals(2, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(new IoQualification(1, false, false, false, true, 0xE0),
                IoQualification.decode(fx.read(EXIT_QUALIFICATION)));

        skipAndResume();
        assertEquals("an EPT violation is an exit of its own, never a halt", ExitReason.EPT_VIOLATION.number(),
                fx.exitReason());
        assertEquals(0x8011, fx.read(GUEST_RIP));
        assertEquals(0x30034, fx.read(GUEST_PHYSICAL_ADDRESS));
        assertEquals(0x30034, fx.read(GUEST_LINEAR_ADDRESS));
        EptViolationQualification q = EptViolationQualification.decode(fx.read(EXIT_QUALIFICATION));
        assertTrue(q.write() && !q.read() && !q.fetch());
        assertTrue(!q.readable() && !q.writable() && !q.executable());
        assertTrue(q.linearValid() && q.linearTranslation());
        assertEquals(0x3000, fx.read(GUEST_DS_SELECTOR));
        assertEquals(0x30000, fx.read(GUEST_DS_BASE));

        // the VMM maps the page and resumes without skipping: the store is retried
        fx.mapEpt(0x30000, fx.guestRam + 0x30000, 0x1000, Ept.READ | Ept.WRITE | Ept.EXECUTE);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(0x8016, fx.read(GUEST_RIP));
        assertEquals(1, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(0x99, fx.guestByte(0x30034));
        assertEquals(0, fx.read(GUEST_ACTIVITY_STATE));
        // retired: xor, mov dx, mov al, mov ax, mov ds, the retried store; the exiting instructions did not retire
        assertEquals(6, fx.cpu.guestInstructionsRetired());
    }

    /** SDM 26.7.4 / 28.3: "jmp $" with a preemption timer of 2: exit 52, saved value 0, TSC advanced by 32-64. */
    @Test(timeout = 10_000)
    public void preemptionTimerStopsALoop() {
        fx.load(0x8000, VmxFixture.bytes(0xEB, 0xFE)); // 8000: jmp $
        setControl(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        setControl(PRIMARY_VM_EXIT_CONTROLS, VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 2);
        long tsc = fx.cpu.state().tsc;
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number(), fx.exitReason());
        assertEquals(0, fx.read(VMX_PREEMPTION_TIMER_VALUE));
        long ticks = fx.cpu.state().tsc - tsc;
        assertTrue("ticks " + ticks, ticks > 32 && ticks <= 64);
        assertEquals(0x8000, fx.read(GUEST_RIP));
    }

    /** SDM 27.7.4: a timer value of 0 exits before the first guest instruction. */
    @Test(timeout = 10_000)
    public void preemptionTimerZeroExitsBeforeTheFirstInstruction() {
        fx.load(0x8000, VmxFixture.bytes(0xEB, 0xFE));
        setControl(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 0);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number(), fx.exitReason());
        assertEquals(0, fx.cpu.guestInstructionsRetired());
    }

    /** SDM 26.7.4: a HLT'd guest with an armed timer: the TSC skips to the expiry; activity state HLT saved. */
    @Test(timeout = 10_000)
    public void haltedGuestWakesAtTimerExpiry() {
        fx.load(0x8000, VmxFixture.bytes(0xF4)); // hlt (no HLT exiting)
        setControl(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 1_000_000);
        long tsc = fx.cpu.state().tsc;
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number(), fx.exitReason());
        assertEquals(CpuState.ACTIVITY_HLT, fx.read(GUEST_ACTIVITY_STATE));
        assertTrue(fx.cpu.state().tsc - tsc >= 1_000_000L * 32 - 32);
        assertEquals(0x8001, fx.read(GUEST_RIP));
    }

    /** SDM 26.7.5: "sti; jmp $" with interrupt-window exiting exits after the instruction following STI. */
    @Test(timeout = 10_000)
    public void interruptWindowAfterSti() {
        fx.load(0x8000, VmxFixture.bytes(0xFB, 0xEB, 0xFE)); // 8000: sti / 8001: jmp $
        setControl(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.INTERRUPT_WINDOW.number(), fx.exitReason());
        assertEquals(0x8001, fx.read(GUEST_RIP));
        assertTrue((fx.read(GUEST_RFLAGS) & Rflags.IF) != 0);
        assertEquals(2, fx.cpu.guestInstructionsRetired()); // STI blocked the window for one instruction
    }

    /** The SPI's kick: an EXTERNAL_INTERRUPT exit (SDM 26.2) with the vector acknowledged (28.2.2). */
    @Test(timeout = 10_000)
    public void kickFromAnotherThread() throws Exception {
        fx.load(0x8000, VmxFixture.bytes(0xEB, 0xFE));
        setControl(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.EXTERNAL_INTERRUPT_EXITING);
        Thread kicker = new Thread(() -> {
            try {
                Thread.sleep(30);
            } catch (InterruptedException e) {
                return;
            }
            fx.cpu.kick();
        });
        kicker.start();
        fx.cpu.vmlaunch(fx.guestRegisters);
        kicker.join();
        assertEquals(ExitReason.EXTERNAL_INTERRUPT.number(), fx.exitReason());
        assertEquals(InterruptionInfo.VALID | NonRootMonitor.KICK_VECTOR, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertTrue(fx.cpu.guestInstructionsRetired() > 0);
    }

    /**
     * SDM 27.6: an injected external interrupt goes through the real-mode IVT; the valid bit is cleared on the exit
     * (28.2). IVT[0x20] = 0000:9000, where the handler executes HLT (exit 12).
     */
    @Test(timeout = 10_000)
    public void injectedInterruptUsesTheGuestIvt() {
        fx.load(0x8000, VmxFixture.bytes(0xEB, 0xFE));
        fx.load(0x9000, VmxFixture.bytes(0xF4));
        fx.load(0x20 * 4, VmxFixture.bytes(0x00, 0x90, 0x00, 0x00));
        setControl(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.HLT_EXITING);
        fx.write(GUEST_RSP, 0x7000);
        fx.write(GUEST_RFLAGS, 2 | Rflags.IF);
        fx.write(VM_ENTRY_INTERRUPTION_INFORMATION,
                InterruptionInfo.injection(0x20, InterruptionType.EXTERNAL_INTERRUPT, false).encode());
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(0x9000, fx.read(GUEST_RIP));
        assertEquals(0x7000 - 6, fx.read(GUEST_RSP));
        assertEquals("return IP pushed", 0x8000, fx.memory.read16(fx.guestRam + 0x7000 - 6));
        assertEquals(0, fx.read32(VM_ENTRY_INTERRUPTION_INFORMATION) & InterruptionInfo.VALID);
        assertEquals(0, fx.read32(IDT_VECTORING_INFORMATION) & InterruptionInfo.VALID);
    }

    /** SDM 28.2.4: an exit during delivery of the injected event reports that event as IDT-vectoring information. */
    @Test(timeout = 10_000)
    public void exitDuringInjectionReportsIdtVectoring() {
        fx.load(0x8000, VmxFixture.bytes(0xEB, 0xFE));
        fx.unmapEpt(0); // the IVT page
        fx.write(GUEST_RSP, 0x7000);
        fx.write(GUEST_RFLAGS, 2 | Rflags.IF);
        int info = InterruptionInfo.injection(0x20, InterruptionType.EXTERNAL_INTERRUPT, false).encode();
        fx.write(VM_ENTRY_INTERRUPTION_INFORMATION, info);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.EPT_VIOLATION.number(), fx.exitReason());
        assertEquals(0x80, fx.read(GUEST_PHYSICAL_ADDRESS));
        assertEquals(info, fx.read32(IDT_VECTORING_INFORMATION));
        assertEquals(0, fx.read32(VM_ENTRY_INTERRUPTION_INFORMATION) & InterruptionInfo.VALID);
        assertEquals(0x8000, fx.read(GUEST_RIP));
    }

    /** SDM 26.2 / 28.2.2: #UD in the exception bitmap (as VmxVcpu sets it) exits with the interruption info. */
    @Test(timeout = 10_000)
    public void undefinedOpcodeExits() {
        fx.load(0x8000, VmxFixture.bytes(0x0F, 0x0B)); // ud2
        fx.write(EXCEPTION_BITMAP, 1 << 6);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        assertEquals(InterruptionInfo.VALID | (3 << 8) | 6, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(0x8000, fx.read(GUEST_RIP));
    }
}
