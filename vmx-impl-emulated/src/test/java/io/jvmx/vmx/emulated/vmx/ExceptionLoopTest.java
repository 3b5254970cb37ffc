package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;

import org.junit.Test;

/**
 * A guest caught in an exception loop, which is endless on the processor too: the VMX-preemption timer still expires
 * (SDM Vol. 3C, 26.7.4: it counts the TSC, which runs while exceptions are delivered, not only while instructions
 * retire). Found by the fuzz test: without it the software processor never came back.
 */
public class ExceptionLoopTest {
    private final VmxFixture fx = new VmxFixture();

    /**
     * Real mode at 0x8000: UD2 (0F 0B), and the IVT's #UD vector (6) points at that UD2, so every delivery of #UD
     * leads to another one. Each pushes 6 bytes, but SP wraps inside the 64-KiB stack segment: nothing ever ends it
     * but the timer.
     */
    @Test(timeout = 10_000)
    public void theTimerExpiresInAnExceptionLoop() {
        fx.load(0x8000, VmxFixture.bytes(0x0F, 0x0B));
        fx.load(6 * 4, VmxFixture.bytes(0x00, 0x80, 0x00, 0x00)); // IVT[6] = 0000:8000
        fx.write(PIN_BASED_VM_EXECUTION_CONTROLS, fx.read(PIN_BASED_VM_EXECUTION_CONTROLS)
                | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 100);
        long tsc = fx.cpu.state().tsc;
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number(), fx.exitReason());
        assertEquals("no instruction retired: each UD2 faults", 0, fx.cpu.guestInstructionsRetired());
        long ticks = fx.cpu.state().tsc - tsc;
        assertTrue("the TSC counted the deliveries: " + ticks, ticks >= 99 * 32 && ticks <= 101 * 32);
        assertEquals(0x8000, fx.read(GUEST_RIP));
    }
}
