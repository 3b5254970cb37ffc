package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.GUEST_RIP;
import static io.jvmx.vmx.api.vmcs.VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS;
import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.spi.GeneralRegisters;

import org.junit.Before;
import org.junit.Test;

/**
 * The interpreter decodes each instruction once and keeps the decoding per host-physical page; these guests check
 * that a write to the code, by the guest itself or by the VMM between two runs, is seen as it is on the processor
 * (SDM Vol. 3A, 11.6 "Self-Modifying Code": a write to a code byte that is about to execute takes effect), and that
 * instructions that cross a page boundary run as well.
 */
public class DecodedInstructionCacheTest {
    private final VmxFixture fx = new VmxFixture();

    @Before
    public void hltExits() {
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
    }

    /**
     * The guest patches the immediate of an instruction it has already executed, then executes it again:
     * <pre>
     *   8000: 31 C9           xor  cx, cx
     *   8002: B0 01           mov  al, 1            ; the immediate at 0x8003 is patched to 5
     *   8004: 00 C1           add  cl, al
     *   8006: C6 06 03 80 05  mov  byte [0x8003], 5
     *   800B: 80 F9 06        cmp  cl, 6
     *   800E: 75 F2           jne  0x8002
     *   8010: F4              hlt
     * </pre>
     * With the patch seen, the loop runs twice (CL = 1 + 5); with a stale decoding it would run five more times.
     */
    @Test(timeout = 10_000)
    public void guestStoreIntoDecodedCodeTakesEffect() {
        fx.load(0x8000, VmxFixture.bytes(0x31, 0xC9, 0xB0, 0x01, 0x00, 0xC1, 0xC6, 0x06, 0x03, 0x80, 0x05,
                0x80, 0xF9, 0x06, 0x75, 0xF2, 0xF4));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(6, fx.guestRegisters.get(GeneralRegisters.RCX) & 0xFF);
        assertEquals("xor + 2 x (mov add store cmp jne)", 11, fx.cpu.guestInstructionsRetired());
    }

    /** The VMM loads new code where the guest ran before (a new image, a device's DMA): the next entry runs it. */
    @Test(timeout = 10_000)
    public void vmmWriteBetweenRunsTakesEffect() {
        fx.load(0x8000, VmxFixture.bytes(0xB0, 0x01, 0xF4)); // mov al, 1; hlt
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(1, fx.guestRegisters.get(GeneralRegisters.RAX) & 0xFF);
        fx.load(0x8000, VmxFixture.bytes(0xB0, 0x07, 0xF4)); // mov al, 7; hlt
        fx.write(GUEST_RIP, 0x8000);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(7, fx.guestRegisters.get(GeneralRegisters.RAX) & 0xFF);
    }

    /**
     * An instruction whose bytes lie in two pages (never kept decoded) runs, and a patch of its second half is seen:
     * <pre>
     *   8FFD: 66 B8 11 22 33 44   mov eax, 0x44332211   ; crosses into page 0x9000
     *   9003: F4                  hlt
     * </pre>
     */
    @Test(timeout = 10_000)
    public void instructionAcrossAPageBoundary() {
        fx.load(0x8000, VmxFixture.bytes(0xE9, 0xFA, 0x0F)); // jmp 0x8FFD (rel16 0x0FFA from 0x8003)
        fx.load(0x8FFD, VmxFixture.bytes(0x66, 0xB8, 0x11, 0x22, 0x33, 0x44, 0xF4));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.HLT.number(), fx.exitReason());
        assertEquals(0x44332211L, fx.guestRegisters.get(GeneralRegisters.RAX));
        fx.load(0x9001, VmxFixture.bytes(0x55, 0x66));
        fx.write(GUEST_RIP, 0x8000);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals(0x66552211L, fx.guestRegisters.get(GeneralRegisters.RAX));
    }
}
