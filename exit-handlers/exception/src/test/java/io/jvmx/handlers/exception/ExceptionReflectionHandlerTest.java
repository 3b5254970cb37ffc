package io.jvmx.handlers.exception;

import static io.jvmx.handlers.exception.ExceptionReflectionHandler.Combination.DOUBLE_FAULT;
import static io.jvmx.handlers.exception.ExceptionReflectionHandler.Combination.SERIAL;
import static io.jvmx.handlers.exception.ExceptionReflectionHandler.Combination.SHUTDOWN;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.handlers.exception.ExceptionReflectionHandler.Combination;
import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.List;

import org.junit.Test;

/**
 * Conformance of exception reflection: SDM Vol. 3C 31.7.1.1 (what a VMM injects for an intercepted exception), 27.6.1
 * (event injection: types, error codes, instruction lengths) and Vol. 3A 6.15 Table 6-5 (how an exception during the
 * delivery of another combines).
 */
public class ExceptionReflectionHandlerTest {
    private static final long RIP = 0x1234;

    private final ExceptionReflectionHandler handler = new ExceptionReflectionHandler();
    private final FakeVCpu vcpu = new FakeVCpu();

    /** An exception exit as the processor records it (SDM 28.2.2), with IDT-vectoring information {@code idt}. */
    private ExitAction exceptionExit(int vector, InterruptionType type, int errorCode, int length, int idt) {
        vcpu.vmwrite(VmcsField.GUEST_RIP, RIP);
        var info = vcpu.exit(ExitReason.EXCEPTION_OR_NMI, 0, length);
        vcpu.setExitField(VmcsField.VM_EXIT_INTERRUPTION_INFORMATION,
                new InterruptionInfo(vector, type, errorCode >= 0, false, true).encode() & 0xFFFF_FFFFL);
        vcpu.setExitField(VmcsField.VM_EXIT_INTERRUPTION_ERROR_CODE, Math.max(errorCode, 0));
        vcpu.setExitField(VmcsField.IDT_VECTORING_INFORMATION, idt & 0xFFFF_FFFFL);
        return handler.handle(vcpu, info);
    }

    private static int idt(int vector, InterruptionType type) {
        return new InterruptionInfo(vector, type, InterruptionInfo.exceptionHasErrorCode(vector), false, true).encode();
    }

    @Test
    public void ud2IsReflectedAsAFaultOnTheSameInstruction() {
        assertEquals(ExitAction.HANDLED, exceptionExit(Exceptions.UD, InterruptionType.HARDWARE_EXCEPTION, -1, 0, 0));
        assertEquals(List.of(new PendingEvent(Exceptions.UD, InterruptionType.HARDWARE_EXCEPTION, -1)),
                vcpu.pendingEvents());
        assertEquals("a fault: RIP stays on the instruction", RIP, vcpu.rip());
    }

    @Test
    public void anErrorCodeGoesWithTheException() {
        assertEquals(ExitAction.HANDLED, exceptionExit(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0x18, 0, 0));
        assertEquals(List.of(new PendingEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0x18)),
                vcpu.pendingEvents());
    }

    /** INT3 and INTO are software exceptions, INT1 a privileged one: injected with their type (SDM 27.6.1.1). */
    @Test
    public void softwareExceptionsKeepTheirType() {
        exceptionExit(Exceptions.BP, InterruptionType.SOFTWARE_EXCEPTION, -1, 1, 0);
        exceptionExit(Exceptions.OF, InterruptionType.SOFTWARE_EXCEPTION, -1, 1, 0);
        assertEquals(List.of(new PendingEvent(Exceptions.BP, InterruptionType.SOFTWARE_EXCEPTION, -1),
                new PendingEvent(Exceptions.OF, InterruptionType.SOFTWARE_EXCEPTION, -1)), vcpu.pendingEvents());
        assertTrue("the VM-entry instruction length comes from the exit's (VmxVcpu.inject)",
                InterruptionType.SOFTWARE_EXCEPTION.usesInstructionLength());
    }

    /** Not the handler's to reflect: NMIs (the host's), #PF and #DB (CR2 and DR6 are not in the VCpu interface). */
    @Test
    public void nmiPageFaultAndDebugExceptionsPass() {
        assertEquals(ExitAction.PASS, exceptionExit(Exceptions.NMI, InterruptionType.NMI, -1, 0, 0));
        assertEquals(ExitAction.PASS, exceptionExit(Exceptions.PF, InterruptionType.HARDWARE_EXCEPTION, 2, 0, 0));
        assertEquals(ExitAction.PASS, exceptionExit(Exceptions.DB, InterruptionType.HARDWARE_EXCEPTION, -1, 0, 0));
        assertEquals(List.of(), vcpu.pendingEvents());
    }

    /** A #GP during the delivery of a #NP (both contributory) is a double fault with error code 0. */
    @Test
    public void aContributoryExceptionDuringAContributoryOneBecomesADoubleFault() {
        assertEquals(ExitAction.HANDLED, exceptionExit(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0x42, 0,
                idt(Exceptions.NP, InterruptionType.HARDWARE_EXCEPTION)));
        assertEquals(List.of(new PendingEvent(Exceptions.DF, InterruptionType.HARDWARE_EXCEPTION, 0)),
                vcpu.pendingEvents());
    }

    /** During an external interrupt's delivery a fault is simply delivered: the interrupt is lost, as on the CPU. */
    @Test
    public void aFaultDuringAnInterruptsDeliveryIsDeliveredAlone() {
        assertEquals(ExitAction.HANDLED, exceptionExit(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0x102, 0,
                idt(0x20, InterruptionType.EXTERNAL_INTERRUPT)));
        assertEquals(List.of(new PendingEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0x102)),
                vcpu.pendingEvents());
    }

    /** A contributory fault during a double fault's delivery shuts the processor down: not reflected. */
    @Test
    public void aFaultDuringADoubleFaultPasses() {
        assertEquals(ExitAction.PASS, exceptionExit(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0, 0,
                idt(Exceptions.DF, InterruptionType.HARDWARE_EXCEPTION)));
        assertEquals(List.of(), vcpu.pendingEvents());
    }

    /** SDM 31.7.1.2: an exception whose IRET unblocked NMIs (exit bit 12) blocks them again before it restarts. */
    @Test
    public void nmiUnblockingDueToIretBlocksNmisAgain() {
        vcpu.vmwrite(VmcsField.GUEST_RIP, RIP);
        var info = vcpu.exit(ExitReason.EXCEPTION_OR_NMI, 0, 0);
        vcpu.setExitField(VmcsField.VM_EXIT_INTERRUPTION_INFORMATION,
                new InterruptionInfo(Exceptions.UD, InterruptionType.HARDWARE_EXCEPTION, false, true, true).encode()
                        & 0xFFFF_FFFFL);
        assertEquals(ExitAction.HANDLED, handler.handle(vcpu, info));
        assertEquals(ExceptionReflectionHandler.BLOCKING_BY_NMI,
                vcpu.vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE) & ExceptionReflectionHandler.BLOCKING_BY_NMI);
    }

    /** SDM Vol. 3A 6.15 Table 6-5, every cell, with Table 6-4's classes. */
    @Test
    public void table6dash5() {
        int[] benign = {Exceptions.DB, Exceptions.NMI, Exceptions.BP, Exceptions.OF, Exceptions.BR, Exceptions.UD,
                Exceptions.NM, 9, Exceptions.MF, Exceptions.AC, Exceptions.MC, Exceptions.XM};
        int[] contributory = {Exceptions.DE, Exceptions.TS, Exceptions.NP, Exceptions.SS, Exceptions.GP};
        int[] pageFault = {Exceptions.PF, Exceptions.VE};
        int[][] classes = {benign, contributory, pageFault};
        // rows: first exception's class; columns: second's (benign, contributory, page fault)
        Combination[][] table = {
                {SERIAL, SERIAL, SERIAL},
                {SERIAL, DOUBLE_FAULT, SERIAL},
                {SERIAL, DOUBLE_FAULT, DOUBLE_FAULT}};
        for (int a = 0; a < 3; a++) {
            for (int b = 0; b < 3; b++) {
                for (int first : classes[a]) {
                    for (int second : classes[b]) {
                        assertEquals(first + " then " + second, table[a][b],
                                ExceptionReflectionHandler.combine(first, second));
                    }
                }
            }
        }
        // a double fault, then a contributory exception or a page fault: shutdown ("Interrupt 8"); benign: serial
        assertEquals(SHUTDOWN, ExceptionReflectionHandler.combine(Exceptions.DF, Exceptions.GP));
        assertEquals(SHUTDOWN, ExceptionReflectionHandler.combine(Exceptions.DF, Exceptions.PF));
        assertEquals(SERIAL, ExceptionReflectionHandler.combine(Exceptions.DF, Exceptions.UD));
    }
}
