package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.handler.InterruptController;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * The vCPU's services to an interrupt controller that belongs to the VMM (the guest's local APIC): the guest's TSC,
 * exits at a deadline through the VMX-preemption timer (SDM Vol. 3C 26.7.4; the fake's timer rate is 5, one tick per
 * 32 TSC ticks), and interrupts taken from the controller at VM entry (27.6) or through the interrupt window.
 */
public class VmxVcpuTimeAndInterruptsTest {

    private static Fixture fixture(long timeSlice, long tsc) {
        Fixture x = new Fixture(null, timeSlice);
        x.cpu.msrs.put(Msr.IA32_TIME_STAMP_COUNTER, tsc);
        x.cpu.idle = (c, r) -> c.exit(ExitReason.CPUID, 0, 2);
        return x;
    }

    private static long f(Fixture x, VmcsField field) {
        return x.vcpu.vmread(field);
    }

    @Test
    public void guestTscIsTheProcessorsPlusTheOffsetWhenOffsettingIsOn() {
        Fixture x = fixture(0, 1000);
        assertEquals(1000, x.vcpu.guestTsc());
        x.vcpu.vmwrite(VmcsField.TSC_OFFSET, 500);
        assertEquals("without \"use TSC offsetting\" the offset is not applied", 1000, x.vcpu.guestTsc());
        x.vcpu.vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                f(x, VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                        | PrimaryProcessorBasedControls.USE_TSC_OFFSETTING);
        assertEquals(1500, x.vcpu.guestTsc());
    }

    /** TSC 1000 (timer tick 31), deadline 1640 (in tick 51): 21 ticks expire at TSC 1664, 20 would at 1632. */
    @Test
    public void aDeadlineShortensTheTimeSliceToTheFirstTimerTickAtOrAfterIt() {
        Fixture x = fixture(20_000, 1000);
        x.vcpu.setExitDeadline(String.class, 1640);
        x.vcpu.run();
        assertEquals(21, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    /**
     * A deadline is in guest TSC and the timer counts the processor's: with TSC offsetting (+500) the guest deadline
     * 2140 is the processor's 1640, so from TSC 1000 the timer is the same 21 ticks as without an offset.
     */
    @Test
    public void aDeadlineInGuestTscIsMovedByTheTscOffset() {
        Fixture x = fixture(20_000, 1000);
        x.vcpu.vmwrite(VmcsField.TSC_OFFSET, 500);
        x.vcpu.vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                f(x, VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                        | PrimaryProcessorBasedControls.USE_TSC_OFFSETTING);
        x.vcpu.setExitDeadline(String.class, 2140);
        x.vcpu.run();
        assertEquals(21, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    @Test
    public void theEarliestDeadlineOfAllOwnersCountsAndALaterOneLeavesTheSlice() {
        Fixture x = fixture(100, 0);
        x.vcpu.setExitDeadline(String.class, 320_000);
        x.vcpu.run();
        assertEquals("the slice (100 ticks) ends first", 100, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
        x.vcpu.setExitDeadline(Integer.class, 320);
        x.vcpu.run();
        assertEquals(10, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
        x.vcpu.clearExitDeadline(Integer.class);
        x.vcpu.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 77);
        x.vcpu.run();
        assertEquals("after clearExitDeadline the other owner's deadline is later than what is left", 77,
                f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    @Test
    public void aDeadlineThatHasPassedExitsBeforeTheFirstInstruction() {
        Fixture x = fixture(20_000, 5000);
        x.vcpu.setExitDeadline(String.class, 4000);
        x.vcpu.run();
        assertEquals(0, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    /** SDM 26.2.1.2: with the timer activated for a deadline, "save VMX-preemption timer value" is allowed and set. */
    @Test
    public void withoutATimeSliceADeadlineActivatesTheTimerAndItsSaveControl() {
        Fixture x = fixture(0, 0);
        assertEquals(0, f(x, VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS) & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        x.vcpu.setExitDeadline(String.class, 3200);
        x.vcpu.run(); // the fake refuses the entry if the save control is set without the timer
        assertTrue((f(x, VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS)
                & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0);
        assertTrue((f(x, VmcsField.PRIMARY_VM_EXIT_CONTROLS) & VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE) != 0);
        assertEquals(100, f(x, VmcsField.VMX_PREEMPTION_TIMER_VALUE));
    }

    /** A controller with one interrupt that counts its acknowledgements. */
    private static final class OneInterrupt implements InterruptController {
        int vector;
        int acknowledged;

        OneInterrupt(int vector) {
            this.vector = vector;
        }

        @Override
        public int pendingInterrupt() {
            return vector;
        }

        @Override
        public int acknowledgeInterrupt() {
            acknowledged++;
            int v = vector;
            vector = -1;
            return v;
        }
    }

    @Test
    public void theControllersInterruptIsAcknowledgedAndInjectedWhenTheGuestCanTakeIt() {
        Fixture x = fixture(0, 0);
        x.vcpu.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF);
        OneInterrupt apic = new OneInterrupt(0x40);
        x.vcpu.setInterruptController(apic);
        x.vcpu.run();
        InterruptionInfo info = InterruptionInfo.decode(x.cpu.entries.get(0).injected());
        assertTrue(info.valid());
        assertEquals(0x40, info.vector());
        assertEquals(InterruptionType.EXTERNAL_INTERRUPT, info.type());
        assertEquals(1, apic.acknowledged);
        x.vcpu.run();
        assertFalse("nothing more to inject", InterruptionInfo.decode(x.cpu.entries.get(1).injected()).valid());
    }

    /** SDM 26.7.5: with IF = 0 the interrupt waits; the interrupt window brings the guest back when IF = 1. */
    @Test
    public void withInterruptsBlockedTheControllerKeepsItsInterruptAndTheWindowOpens() {
        Fixture x = fixture(0, 0);
        OneInterrupt apic = new OneInterrupt(0x40);
        x.vcpu.setInterruptController(apic);
        x.cpu.script((c, r) -> {
            c.setField(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF); // STI
            c.exit(ExitReason.CPUID, 0, 2);
        });
        x.vcpu.run();
        FakeVmxProcessor.Entry first = x.cpu.entries.get(0);
        assertFalse(InterruptionInfo.decode(first.injected()).valid());
        assertTrue((first.primaryControls() & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0);
        assertEquals("not acknowledged before it is delivered", 0, apic.acknowledged);
        x.vcpu.run();
        assertEquals(0x40, InterruptionInfo.decode(x.cpu.entries.get(1).injected()).vector());
        assertEquals(1, apic.acknowledged);
    }

    @Test
    public void aQueuedExceptionGoesFirstAndTheControllersInterruptWaitsForTheWindow() {
        Fixture x = fixture(0, 0);
        x.vcpu.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF);
        OneInterrupt apic = new OneInterrupt(0x40);
        x.vcpu.setInterruptController(apic);
        x.vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
        x.vcpu.run();
        FakeVmxProcessor.Entry first = x.cpu.entries.get(0);
        assertEquals(Exceptions.GP, InterruptionInfo.decode(first.injected()).vector());
        assertTrue((first.primaryControls() & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0);
        assertEquals(0, apic.acknowledged);
    }
}
