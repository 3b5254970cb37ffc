package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.spi.GeneralRegisters;

import org.junit.Test;

/**
 * Debug exceptions of the guest meeting VMX non-root operation: a #DB that the exception bitmap intercepts reports
 * its conditions in the exit qualification and leaves DR6 alone (SDM Vol. 3C 28.1, 28.2.1 Table 28-1); an MTF VM exit
 * has priority over a pending single-step trap, which it saves in the pending-debug-exceptions field (26.7.2, 28.3.4)
 * and the next VM entry delivers (27.7.3).
 */
public class DebugExceptionsVmxTest {
    private final VmxFixture fx = new VmxFixture();

    /**
     * Real mode at 0x8000: sets TF with POPF, then two NOPs.
     * <pre>
     *   8000: 9C         pushf
     *   8001: 58         pop ax
     *   8002: 0D 00 01   or ax, 0x100
     *   8005: 50         push ax
     *   8006: 9D         popf          ; TF = 1 from here: no trap after POPF itself
     *   8007: 90         nop           ; single-step trap after it: RIP 0x8008
     *   8008: 90         nop
     *   8009: F4         hlt
     * </pre>
     * IVT entry 1 (#DB) points at 0x9000: a HLT.
     */
    private void loadSingleStepGuest() {
        fx.load(0x8000, VmxFixture.bytes(0x9C, 0x58, 0x0D, 0x00, 0x01, 0x50, 0x9D, 0x90, 0x90, 0xF4));
        fx.load(0x9000, VmxFixture.bytes(0xF4));
        fx.load(4, VmxFixture.bytes(0x00, 0x90, 0x00, 0x00));
        fx.write(GUEST_RSP, 0x7000);
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
    }

    @Test(timeout = 10_000)
    public void anInterceptedSingleStepTrapReportsBsInTheQualificationAndLeavesDr6Alone() {
        loadSingleStepGuest();
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        InterruptionInfo info = InterruptionInfo.decode(fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(1, info.vector());
        assertEquals("a single-step #DB is a hardware exception (SDM 28.2.2)", InterruptionType.HARDWARE_EXCEPTION,
                info.type());
        assertEquals("trap: RIP after the stepped NOP", 0x8008, fx.read(GUEST_RIP));
        assertEquals("exit qualification: BS (bit 14), SDM 28.2.1 Table 28-1", 0x4000, fx.read(EXIT_QUALIFICATION));
        assertEquals("DR6 is not written by a #DB that exits (SDM 28.1)", 0xFFFF_0FF0L,
                fx.cpu.interpreter().debugRegister(6));
    }

    @Test(timeout = 10_000)
    public void theGuestsOwnSingleStepTrapSetsDr6AndGoesThroughTheIvt() {
        loadSingleStepGuest();
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals("the #DB handler's HLT", 0x9000, fx.read(GUEST_RIP));
        assertEquals("DR6.BS", 0xFFFF_4FF0L, fx.cpu.interpreter().debugRegister(6));
        assertEquals("the pushed return address", 0x8008, fx.guestByte(0x7000 - 6) | fx.guestByte(0x7000 - 5) << 8);
    }

    @Test(timeout = 10_000)
    public void anMtfExitComesBeforeThePendingSingleStepTrapWhichTheNextEntryDelivers() {
        loadSingleStepGuest();
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                | PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
        fx.cpu.vmlaunch(fx.guestRegisters);
        // one MTF exit per instruction: PUSHF, POP, OR, PUSH, POPF (TF now 1, no trap), NOP (trap pending)
        for (long rip : new long[] {0x8001, 0x8002, 0x8005, 0x8006, 0x8007}) {
            assertEquals(ExitReason.MONITOR_TRAP_FLAG.number(), fx.exitReason());
            assertEquals(rip, fx.read(GUEST_RIP));
            assertEquals(0, fx.read(GUEST_PENDING_DEBUG_EXCEPTIONS));
            fx.cpu.vmresume(fx.guestRegisters);
        }
        assertEquals(ExitReason.MONITOR_TRAP_FLAG.number(), fx.exitReason());
        assertEquals(0x8008, fx.read(GUEST_RIP));
        assertEquals("the single-step trap is pending (BS, SDM 25.4.2 Table 25-4)", 0x4000,
                fx.read(GUEST_PENDING_DEBUG_EXCEPTIONS));
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & ~PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals("VM entry delivers the pending #DB before any instruction", ExitReason.EXCEPTION_OR_NMI.number(),
                fx.exitReason());
        assertEquals(0x8008, fx.read(GUEST_RIP));
        assertEquals(0x4000, fx.read(EXIT_QUALIFICATION));
    }

    /**
     * A data breakpoint is a trap after the instruction whose access matched (SDM Vol. 3B 18.2.4, 18.3.1.1), also in
     * a loop hot enough to have been translated to bytecode: the guest runs a store loop once without breakpoints
     * (which translates it), arms DR0 as an 8-byte write breakpoint on element 3000 and runs it again.
     * <pre>
     *   8000: 31 c9                    xor ecx, ecx
     *   8002: 48 89 0c cd 00 00 10 00  mov [rcx*8 + 0x100000], rcx
     *   800a: ff c1                    inc ecx            ; the trap's RIP
     *   800c: 81 f9 10 27 00 00        cmp ecx, 10000
     *   8012: 75 ee                    jne 8002
     *   8014: f4                       hlt
     *   8015: b8 c0 5d 10 00           mov eax, 0x100000 + 8 * 3000
     *   801a: 0f 23 c0                 mov dr0, rax
     *   801d: b8 01 00 09 00           mov eax, 0x90001   ; L0, R/W0 = 01 (writes), LEN0 = 10 (8 bytes)
     *   8022: 0f 23 f8                 mov dr7, rax
     *   8025: eb d9                    jmp 8000
     * </pre>
     */
    @Test(timeout = 20_000)
    public void aDataBreakpointTrapsAfterTheMatchingStoreInATranslatedLoop() {
        fx.longModeGuest(0);
        fx.load(0x8000, VmxFixture.code("31 c9  48 89 0c cd 00 00 10 00  ff c1  81 f9 10 27 00 00  75 ee  f4"
                + "  b8 c0 5d 10 00  0f 23 c0  b8 01 00 09 00  0f 23 f8  eb d9"));
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        fx.cpu.setBlockTranslation(true);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(10_000, fx.guestRegisters.get(GeneralRegisters.RCX));
        assertTrue("the loop was translated", fx.cpu.translatedBlocks() > 0);
        fx.write(GUEST_RIP, 0x8015);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        InterruptionInfo info = InterruptionInfo.decode(fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(1, info.vector());
        assertEquals("the trap follows the matching store", 0x800a, fx.read(GUEST_RIP));
        assertEquals("and nothing after it ran", 3000, fx.guestRegisters.get(GeneralRegisters.RCX));
        assertEquals("exit qualification: B0 (SDM 28.2.1 Table 28-1)", 1, fx.read(EXIT_QUALIFICATION));
    }

    /**
     * SDM Vol. 3C 28.3.4: an exit that is not a #DB's, taken while blocking by MOV SS holds a single-step trap, saves
     * that trap (BS) in the pending-debug-exceptions field with the blocking; the VMM that completes the instruction
     * and clears the blocking has the next VM entry deliver it (27.7.3). Without BS the state would fail the entry
     * check of 27.3.1.5 (TF = 1 with MOV-SS blocking needs BS).
     * <pre>
     *   8000: 9c        pushf
     *   8001: 58        pop ax
     *   8002: 0d 00 01  or ax, 0x100
     *   8005: 50        push ax
     *   8006: 8c d0     mov ax, ss
     *   8008: 9d        popf          ; TF = 1 from the next instruction
     *   8009: 8e d0     mov ss, ax    ; stepped: its trap is held by MOV-SS blocking
     *   800b: 0f a2     cpuid         ; exits (unconditionally) with the trap still pending
     *   800d: 90        nop
     * </pre>
     */
    @Test(timeout = 10_000)
    public void anExitUnderMovSsBlockingSavesTheHeldSingleStepTrap() {
        fx.load(0x8000, VmxFixture.code("9c 58 0d 00 01 50 8c d0 9d 8e d0 0f a2 90 f4"));
        fx.write(GUEST_RSP, 0x7000);
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.CPUID.number(), fx.exitReason());
        assertEquals(0x800b, fx.read(GUEST_RIP));
        assertEquals("blocking by MOV SS", 2, fx.read(GUEST_INTERRUPTIBILITY_STATE));
        assertEquals("BS (SDM 25.4.2 Table 25-4)", 0x4000, fx.read(GUEST_PENDING_DEBUG_EXCEPTIONS));
        // the VMM emulates the CPUID: RIP past it, the blocking ends with it; the trap stays pending
        fx.write(GUEST_RIP, 0x800d);
        fx.write(GUEST_INTERRUPTIBILITY_STATE, 0);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        assertEquals(1, InterruptionInfo.decode(fx.read32(VM_EXIT_INTERRUPTION_INFORMATION)).vector());
        assertEquals("the trap is delivered before the NOP", 0x800d, fx.read(GUEST_RIP));
        assertEquals(0x4000, fx.read(EXIT_QUALIFICATION));
    }
}
