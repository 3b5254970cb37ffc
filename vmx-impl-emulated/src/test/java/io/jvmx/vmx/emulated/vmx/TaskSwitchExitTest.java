package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.vmcs.VmcsField;

import org.junit.Before;
import org.junit.Test;

/**
 * Task switches in VMX non-root operation (SDM Vol. 3C 26.4.2): every attempt causes a VM exit, after the checks of
 * the gate and of the new TSS descriptor, with the exit qualification of 28.2.1 Table 28-2 (the new TSS's selector,
 * the source: CALL 0, IRET 1, JMP 2, task gate in the IDT 3), the instruction length for CALL, JMP, IRET and software
 * interrupts (28.2.5), and, through the IDT, the event in the IDT-vectoring information (28.2.4). The faults of those
 * checks are in the sys-segments test kernel.
 */
public class TaskSwitchExitTest {
    private static final long GDT = 0x1000, CURRENT_TSS = 0x2000, IDT = 0x3000;
    private static final int CODE = 0x08, DATA = 0x10, TR = 0x18, TSS_AVAILABLE = 0x20, TASK_GATE = 0x28,
            TSS_BUSY = 0x30;

    private final VmxFixture fx = new VmxFixture();

    private void descriptor(int sel, long value) {
        fx.load(GDT + sel, VmxFixture.bytes((int) value, (int) (value >>> 8), (int) (value >>> 16),
                (int) (value >>> 24), (int) (value >>> 32), (int) (value >>> 40), (int) (value >>> 48),
                (int) (value >>> 56)));
    }

    private void segment(VmcsField sel, VmcsField base, VmcsField limit, VmcsField ar, int selector, int rights) {
        fx.write(sel, selector);
        fx.write(base, 0);
        fx.write(limit, 0xFFFF_FFFFL);
        fx.write(ar, rights);
    }

    /** A flat 32-bit protected-mode guest at CPL 0, its GDT with two 32-bit TSSs and a task gate. */
    @Before
    public void protectedModeGuest() {
        descriptor(CODE, 0x00CF_9A00_0000_FFFFL);
        descriptor(DATA, 0x00CF_9200_0000_FFFFL);
        descriptor(TR, 0x0000_8B00_2000_0067L);              // busy 32-bit TSS at 0x2000: the current task
        descriptor(TSS_AVAILABLE, 0x0000_8900_4000_0067L);   // available 32-bit TSS at 0x4000
        descriptor(TASK_GATE, 0x0000_8500_0000_0000L | ((long) TSS_AVAILABLE << 16));
        descriptor(TSS_BUSY, 0x0000_8B00_5000_0067L);
        fx.write(GUEST_CR0, Cr0.PE | Cr0.ET | Cr0.NE);
        segment(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS, CODE, 0xC09B);
        for (VmcsField[] f : new VmcsField[][] {
                {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS},
                {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}}) {
            segment(f[0], f[1], f[2], f[3], DATA, 0xC093);
        }
        fx.write(GUEST_TR_SELECTOR, TR);
        fx.write(GUEST_TR_BASE, CURRENT_TSS);
        fx.write(GUEST_TR_LIMIT, 0x67);
        fx.write(GUEST_TR_ACCESS_RIGHTS, 0x8B);
        fx.write(GUEST_LDTR_SELECTOR, 0);
        fx.write(GUEST_LDTR_ACCESS_RIGHTS, 0x1_0000);
        fx.write(GUEST_GDTR_BASE, GDT);
        fx.write(GUEST_GDTR_LIMIT, 0x37);
        fx.write(GUEST_IDTR_BASE, IDT);
        fx.write(GUEST_IDTR_LIMIT, 0x7FF);
        fx.write(GUEST_RSP, 0x7000);
    }

    private void taskGateInIdt(int vector) {
        long gate = 0x0000_8500_0000_0000L | ((long) TSS_AVAILABLE << 16);
        fx.load(IDT + vector * 8L, VmxFixture.bytes((int) gate, (int) (gate >>> 8), (int) (gate >>> 16),
                (int) (gate >>> 24), (int) (gate >>> 32), (int) (gate >>> 40), (int) (gate >>> 48),
                (int) (gate >>> 56)));
    }

    private void assertTaskSwitchExit(int selector, int source, int length) {
        assertEquals(ExitReason.TASK_SWITCH.number(), fx.exitReason());
        assertEquals("qualification: selector | source << 30", selector | ((long) source << 30),
                fx.read(EXIT_QUALIFICATION));
        assertEquals(length, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals("RIP on the instruction: nothing of the switch happened", 0x8000, fx.read(GUEST_RIP));
    }

    @Test(timeout = 10_000)
    public void farJmpToAnAvailableTss() {
        fx.load(0x8000, VmxFixture.bytes(0xEA, 0x00, 0x00, 0x00, 0x00, TSS_AVAILABLE, 0x00));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertTaskSwitchExit(TSS_AVAILABLE, 2, 7);
        assertFalse((fx.read32(IDT_VECTORING_INFORMATION) & InterruptionInfo.VALID) != 0);
    }

    @Test(timeout = 10_000)
    public void farCallThroughATaskGateNamesTheGatesTss() {
        fx.load(0x8000, VmxFixture.bytes(0x9A, 0x00, 0x00, 0x00, 0x00, TASK_GATE, 0x00));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertTaskSwitchExit(TSS_AVAILABLE, 0, 7);
    }

    @Test(timeout = 10_000)
    public void iretWithNtReturnsToThePreviousTaskLink() {
        fx.load(CURRENT_TSS, VmxFixture.bytes(TSS_BUSY, 0x00));
        fx.write(GUEST_RFLAGS, 2 | Rflags.NT);
        fx.load(0x8000, VmxFixture.bytes(0xCF));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertTaskSwitchExit(TSS_BUSY, 1, 1);
    }

    @Test(timeout = 10_000)
    public void intNThroughATaskGateReportsTheSoftwareInterrupt() {
        taskGateInIdt(0x40);
        fx.load(0x8000, VmxFixture.bytes(0xCD, 0x40));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertTaskSwitchExit(TSS_AVAILABLE, 3, 2);
        InterruptionInfo vectoring = InterruptionInfo.decode(fx.read32(IDT_VECTORING_INFORMATION));
        assertTrue(vectoring.valid());
        assertEquals(0x40, vectoring.vector());
        assertEquals(InterruptionType.SOFTWARE_INTERRUPT, vectoring.type());
    }

    @Test(timeout = 10_000)
    public void anExceptionThroughATaskGateReportsTheException() {
        taskGateInIdt(6);
        fx.load(0x8000, VmxFixture.bytes(0x0F, 0x0B)); // UD2
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertTaskSwitchExit(TSS_AVAILABLE, 3, 0);
        InterruptionInfo vectoring = InterruptionInfo.decode(fx.read32(IDT_VECTORING_INFORMATION));
        assertTrue(vectoring.valid());
        assertEquals(6, vectoring.vector());
        assertEquals(InterruptionType.HARDWARE_EXCEPTION, vectoring.type());
    }
}
