package io.jvmx.handlers.taskswitch;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.List;

import org.junit.Before;
import org.junit.Test;

/**
 * The task switch of SDM Vol. 3A 7.3 as the VMM performs it after a TASK_SWITCH exit: what goes into the old TSS,
 * the busy bits, the link and NT for each source (JMP, CALL, IRET, a task gate in the IDT), the new task's state, and
 * the faults of Table 7-1 in the new task's context. The sys-tasks guest kernel runs the same switches end to end.
 */
public class TaskSwitchHandlerTest {
    private static final long GDT = 0x1000, TSS_A = 0x2000, TSS_B = 0x3000, TSS_16 = 0x4000;
    private static final int CODE = 0x08, DATA = 0x10, SEL_A = 0x18, SEL_B = 0x20, SEL_16 = 0x28, CODE16 = 0x30,
            DATA_DPL3 = 0x38;

    private final FakeVCpu v = new FakeVCpu();
    private final TaskSwitchHandler handler = new TaskSwitchHandler();

    private void put32(long gpa, long value) {
        for (int b = 0; b < 4; b++) {
            v.guestMemory().write8(gpa + b, (int) (value >>> (8 * b)) & 0xFF);
        }
    }

    private void put16(long gpa, long value) {
        v.guestMemory().write8(gpa, (int) value & 0xFF);
        v.guestMemory().write8(gpa + 1, (int) (value >>> 8) & 0xFF);
    }

    private long get32(long gpa) {
        long r = 0;
        for (int b = 0; b < 4; b++) {
            r |= (long) v.guestMemory().read8(gpa + b) << (8 * b);
        }
        return r;
    }

    private void descriptor(int sel, long value) {
        put32(GDT + sel, value);
        put32(GDT + sel + 4, value >>> 32);
    }

    private int typeOf(int sel) {
        return v.guestMemory().read8(GDT + sel + 5) & 0x1F;
    }

    /** 32-bit protected mode, paging off; task A (busy, TR) runs; task B's TSS holds a runnable state. */
    @Before
    public void twoTasks() {
        descriptor(CODE, 0x00CF_9A00_0000_FFFFL);
        descriptor(DATA, 0x00CF_9200_0000_FFFFL);
        descriptor(SEL_A, 0x0000_8B00_0000_0067L | (TSS_A << 16));
        descriptor(SEL_B, 0x0000_8900_0000_0067L | (TSS_B << 16));
        descriptor(SEL_16, 0x0000_8100_0000_002BL | (TSS_16 << 16));
        descriptor(CODE16, 0x0000_9A00_0000_FFFFL);
        descriptor(DATA_DPL3, 0x00CF_F200_0000_FFFFL);
        v.setGuestCr(0, Cr0.PE | Cr0.ET | Cr0.NE);
        v.vmwrite(VmcsField.GUEST_GDTR_BASE, GDT);
        v.vmwrite(VmcsField.GUEST_GDTR_LIMIT, 0x4F);
        v.vmwrite(VmcsField.GUEST_TR_SELECTOR, SEL_A);
        v.vmwrite(VmcsField.GUEST_TR_BASE, TSS_A);
        v.vmwrite(VmcsField.GUEST_TR_LIMIT, 0x67);
        v.vmwrite(VmcsField.GUEST_TR_ACCESS_RIGHTS, 0x8B);
        v.vmwrite(VmcsField.GUEST_CS_SELECTOR, CODE);
        v.vmwrite(VmcsField.GUEST_SS_SELECTOR, DATA);
        v.vmwrite(VmcsField.GUEST_DS_SELECTOR, DATA);
        v.vmwrite(VmcsField.GUEST_RIP, 0x8000);
        v.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.CF);
        for (int r = 0; r < 8; r++) {
            v.writeGpr(r, 0x100 + r);
        }
        // task B: EIP 0x9000, EFLAGS 2, EAX..EDI 0xB0..0xB7, ESP 0x7000, CS CODE, others DATA
        put32(TSS_B + 0x20, 0x9000);
        put32(TSS_B + 0x24, 2);
        for (int r = 0; r < 8; r++) {
            put32(TSS_B + 0x28 + 4L * r, 0xB0 + r);
        }
        put32(TSS_B + 0x38, 0x7000);
        int[] selectorOffsets = {0x48, 0x4C, 0x50, 0x54, 0x58, 0x5C};
        for (int k = 0; k < 6; k++) {
            put16(TSS_B + selectorOffsets[k], k == 1 ? CODE : DATA);
        }
    }

    private VmExitInfo exit(int selector, int source, int length) {
        return v.exit(ExitReason.TASK_SWITCH, selector | ((long) source << 30), length);
    }

    @Test
    public void jmpSavesTheOldTaskMovesTheBusyBitAndLoadsTheNewOne() {
        assertEquals(ExitAction.HANDLED, handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_JMP, 7)));
        assertEquals("old EIP: after the JMP", 0x8007, get32(TSS_A + 0x20));
        assertEquals("old EFLAGS", Rflags.FIXED_1 | Rflags.CF, get32(TSS_A + 0x24));
        assertEquals("old EAX", 0x100, get32(TSS_A + 0x28));
        assertEquals("old EDI", 0x107, get32(TSS_A + 0x44));
        assertEquals("old CS", CODE, get32(TSS_A + 0x4C) & 0xFFFF);
        assertEquals("JMP clears the old TSS's busy bit", 0x09, typeOf(SEL_A));
        assertEquals("and sets the new one's", 0x0B, typeOf(SEL_B));
        assertEquals(SEL_B, v.vmread(VmcsField.GUEST_TR_SELECTOR));
        assertEquals(TSS_B, v.vmread(VmcsField.GUEST_TR_BASE));
        assertEquals(0x8B, v.vmread(VmcsField.GUEST_TR_ACCESS_RIGHTS));
        assertTrue("CR0.TS is set", (v.guestCr(0) & Cr0.TS) != 0);
        assertEquals(0x9000, v.rip());
        assertEquals("JMP leaves NT alone", Rflags.FIXED_1, v.vmread(VmcsField.GUEST_RFLAGS));
        assertEquals(0xB0, v.readGpr(0));
        assertEquals(0x7000, v.readGpr(4));
        assertEquals("VMCS format, accessed", 0xC09B, v.vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS));
        assertEquals(0xFFFF_FFFFL, v.vmread(VmcsField.GUEST_CS_LIMIT));
        assertEquals("no fault", List.of(), v.pendingEvents());
    }

    @Test
    public void callLinksTheNewTaskSetsNtAndKeepsTheOldBusy() {
        handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_CALL, 7));
        assertEquals(0x0B, typeOf(SEL_A));
        assertEquals(0x0B, typeOf(SEL_B));
        assertEquals("previous-task link", SEL_A, get32(TSS_B) & 0xFFFF);
        assertEquals(Rflags.FIXED_1 | Rflags.NT, v.vmread(VmcsField.GUEST_RFLAGS));
    }

    @Test
    public void iretReturnsToTheLinkedTaskClearingNtAndTheBusyBit() {
        // task B, called by A, returns: B is current and busy, A busy
        handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_CALL, 7));
        v.vmwrite(VmcsField.GUEST_RIP, 0x9010);
        handler.handle(v, exit(SEL_A, TaskSwitch.SOURCE_IRET, 1));
        assertEquals("IRET clears the returning task's busy bit", 0x09, typeOf(SEL_B));
        assertEquals("and leaves the old task's set", 0x0B, typeOf(SEL_A));
        assertEquals("the saved EFLAGS of B have NT = 0", 0, get32(TSS_B + 0x24) & Rflags.NT);
        assertEquals("A resumes after its CALL", 0x8007, v.rip());
        assertEquals(0x100, v.readGpr(0));
        assertEquals("A's EFLAGS as saved", Rflags.FIXED_1 | Rflags.CF, v.vmread(VmcsField.GUEST_RFLAGS));
    }

    @Test
    public void anExceptionThroughATaskGatePushesItsErrorCodeOnTheNewStack() {
        v.setExitField(VmcsField.IDT_VECTORING_INFORMATION,
                new InterruptionInfo(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, true, false, true).encode());
        v.setExitField(VmcsField.IDT_VECTORING_ERROR_CODE, 0x1234);
        handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_IDT, 0));
        assertEquals("a fault: the old task's EIP is the faulting instruction", 0x8000, get32(TSS_A + 0x20));
        assertEquals("interrupts link like CALL", SEL_A, get32(TSS_B) & 0xFFFF);
        assertEquals(0x7000 - 4, v.readGpr(4));
        assertEquals(0x1234, get32(0x7000 - 4));
    }

    @Test
    public void aSoftwareInterruptThroughATaskGateSavesTheNextEip() {
        v.setExitField(VmcsField.IDT_VECTORING_INFORMATION,
                new InterruptionInfo(0x40, InterruptionType.SOFTWARE_INTERRUPT, false, false, true).encode());
        handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_IDT, 2));
        assertEquals(0x8002, get32(TSS_A + 0x20));
        assertEquals("no error code pushed", 0x7000, v.readGpr(4));
    }

    @Test
    public void aBadSegmentInTheNewTaskIsATsFaultInItsContext() {
        put16(TSS_B + 0x50, DATA_DPL3); // SS of DPL 3 for a CPL-0 task
        handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_JMP, 7));
        assertEquals("the switch happened: the fault belongs to the new task", SEL_B,
                v.vmread(VmcsField.GUEST_TR_SELECTOR));
        assertEquals(List.of(new PendingEvent(Exceptions.TS, InterruptionType.HARDWARE_EXCEPTION, DATA_DPL3)),
                v.pendingEvents());
    }

    @Test
    public void aNotPresentDataSegmentIsNp() {
        descriptor(0x40, 0x00CF_1200_0000_FFFFL); // data, P = 0
        put16(TSS_B + 0x54, 0x40);
        handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_JMP, 7));
        assertEquals(List.of(new PendingEvent(Exceptions.NP, InterruptionType.HARDWARE_EXCEPTION, 0x40)),
                v.pendingEvents());
    }

    @Test
    public void aSixteenBitTssLoadsWordsAndKeepsTheUpperHalves() {
        put16(TSS_16 + 0x0E, 0x1234);                  // IP
        put16(TSS_16 + 0x10, 2);                       // FLAGS
        put16(TSS_16 + 0x12, 0xAAAA);                  // AX
        put16(TSS_16 + 0x1A, 0x6000);                  // SP
        put16(TSS_16 + 0x22, DATA);                    // ES
        put16(TSS_16 + 0x24, CODE16);                  // CS
        put16(TSS_16 + 0x26, DATA);                    // SS
        put16(TSS_16 + 0x28, DATA);                    // DS
        v.writeGpr(0, 0x1234_5678);
        handler.handle(v, exit(SEL_16, TaskSwitch.SOURCE_JMP, 7));
        assertEquals(0x1234, v.rip());
        assertEquals(0x1234_AAAAL, v.readGpr(0));
        assertEquals(0x83, v.vmread(VmcsField.GUEST_TR_ACCESS_RIGHTS));
        assertEquals("a 16-bit busy TSS", 0x03, typeOf(SEL_16));
        assertEquals(0x9B, v.vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS));
    }

    @Test
    public void theTFlagIsRefusedRatherThanIgnored() {
        put16(TSS_B + 0x64, 1);
        assertThrows(UnsupportedOperationException.class,
                () -> handler.handle(v, exit(SEL_B, TaskSwitch.SOURCE_JMP, 7)));
    }
}
