package io.jvmx.handlers.interruptwindow;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/** Conformance of the INTERRUPT_WINDOW handler: SDM Vol. 3C, 25.6.2 (Table 25-6 bit 2), 26.2 and 27.6. */
public class InterruptWindowHandlerTest {

    private final InterruptWindowHandler handler = new InterruptWindowHandler();

    /** A window exit comes when the guest has RFLAGS.IF = 1 and no blocking (SDM 26.2). */
    private static FakeVCpu openWindow() {
        FakeVCpu v = new FakeVCpu();
        v.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF);
        v.setInterruptWindowExiting(true);
        return v;
    }

    /** Nothing pending: the handler turns interrupt-window exiting off, as x86_vcpu does (SDM 25.6.2). */
    @Test
    public void nothingPendingTurnsWindowExitingOff() throws Exception {
        FakeVCpu v = openWindow();
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.INTERRUPT_WINDOW, 0, 0)));
        assertFalse(v.interruptWindowExiting());
        assertFalse(v.entryInterruptionInfo().valid());
    }

    /** A pending external interrupt is injected at this entry (SDM 27.6, Table 25-17: type 0, valid). */
    @Test
    public void pendingInterruptIsInjected() throws Exception {
        FakeVCpu v = openWindow();
        v.queueEvent(0x30, InterruptionType.EXTERNAL_INTERRUPT, -1);
        handler.handle(v, v.exit(ExitReason.INTERRUPT_WINDOW, 0, 0));
        InterruptionInfo info = v.entryInterruptionInfo();
        assertTrue(info.valid());
        assertEquals(0x30, info.vector());
        assertEquals(InterruptionType.EXTERNAL_INTERRUPT, info.type());
        assertFalse(info.errorCodeValid());
        assertEquals(0, v.pendingEventCount());
        assertFalse("nothing left: window exiting off", v.interruptWindowExiting());
    }

    /** Two pending: one per VM entry (SDM 27.6); window exiting stays on for the second. */
    @Test
    public void secondInterruptKeepsWindowExitingOn() throws Exception {
        FakeVCpu v = openWindow();
        v.queueEvent(0x30, InterruptionType.EXTERNAL_INTERRUPT, -1);
        v.queueEvent(0x31, InterruptionType.EXTERNAL_INTERRUPT, -1);
        handler.handle(v, v.exit(ExitReason.INTERRUPT_WINDOW, 0, 0));
        assertEquals(0x30, v.entryInterruptionInfo().vector());
        assertEquals(1, v.pendingEventCount());
        assertTrue(v.interruptWindowExiting());
    }

    /** Blocking by STI still in force (Table 25-3 bit 0): nothing is injected and the window stays armed. */
    @Test
    public void blockedGuestKeepsEventPending() throws Exception {
        FakeVCpu v = openWindow();
        v.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 1);
        v.queueEvent(0x30, InterruptionType.EXTERNAL_INTERRUPT, -1);
        handler.handle(v, v.exit(ExitReason.INTERRUPT_WINDOW, 0, 0));
        assertFalse(v.entryInterruptionInfo().valid());
        assertEquals(1, v.pendingEventCount());
        assertTrue(v.interruptWindowExiting());
    }

    /** Not an instruction exit: RIP does not move (SDM 28.2.5). */
    @Test
    public void ripIsNotAdvanced() throws Exception {
        FakeVCpu v = openWindow();
        v.queueEvent(0x30, InterruptionType.EXTERNAL_INTERRUPT, -1);
        long rip = v.rip();
        VmExitInfo exit = v.exit(ExitReason.INTERRUPT_WINDOW, 0, 0);
        handler.handle(v, exit);
        assertEquals(rip, v.rip());
    }
}
