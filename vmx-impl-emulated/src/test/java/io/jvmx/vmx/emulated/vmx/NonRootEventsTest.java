package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static io.jvmx.vmx.emulated.vmx.VmxFixture.code;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.EptViolationQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.cpu.CpuState;

import org.junit.Test;

/**
 * Events in VMX non-root operation, run by 64-bit guests: VM-entry event injection of every type (SDM 27.6), the
 * monitor trap flag and its interaction with injection, faults, REP string instructions and HLT (26.7.2), the
 * priority of the events at an instruction boundary (26.7 with Vol. 3A 6.9), virtual NMIs and the NMI window
 * (26.7.6), "NMI unblocking due to IRET" (28.2.2, 28.2.1), IDT-vectoring information (28.2.4) and triple faults.
 */
public class NonRootEventsTest {
    private static final long ENTRY = VmxFixture.GUEST_ENTRY;
    private static final long HANDLER = 0x9000;

    private final VmxFixture fx = new VmxFixture();

    private void set(VmcsField field, long bits) {
        fx.write(field, fx.read(field) | bits);
    }

    /** A 64-bit CPL-0 guest with "jmp $" at the entry and "hlt" (exiting) at {@link #HANDLER}. */
    private void guest(String entryCode) {
        fx.longModeGuest(0);
        fx.load(ENTRY, code(entryCode));
        fx.load(HANDLER, code("f4"));
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.HLT_EXITING);
    }

    private void inject(int vector, InterruptionType type, int errorCode, int length) {
        fx.write(VM_ENTRY_INTERRUPTION_INFORMATION, InterruptionInfo.injection(vector, type, errorCode >= 0).encode());
        fx.write(VM_ENTRY_EXCEPTION_ERROR_CODE, Math.max(errorCode, 0));
        fx.write(VM_ENTRY_INSTRUCTION_LENGTH, length);
    }

    private long stack(int slot) {
        return fx.memory.read64(fx.guestRam + fx.read(GUEST_RSP) + 8L * slot);
    }

    private void assertReason(ExitReason reason) {
        assertEquals("exit reason", reason.number(), fx.exitReason());
    }

    // ---- 27.6: event injection -----------------------------------------------------------------------------------

    /**
     * SDM 27.6.1: each vectored type is delivered through the guest IDT without consulting the exception bitmap;
     * the return address is RIP for external interrupts, NMIs and hardware exceptions, RIP + the VM-entry
     * instruction length for software interrupts and (privileged) software exceptions; only the hardware
     * exception with "deliver error code" pushes the error code.
     */
    @Test(timeout = 10_000)
    public void injectsEveryVectoredType() {
        Object[][] cases = {
                {0x20, InterruptionType.EXTERNAL_INTERRUPT, -1, 0, ENTRY},
                {2, InterruptionType.NMI, -1, 0, ENTRY},
                {6, InterruptionType.HARDWARE_EXCEPTION, -1, 0, ENTRY},
                {13, InterruptionType.HARDWARE_EXCEPTION, 0x18, 0, ENTRY},
                {0x21, InterruptionType.SOFTWARE_INTERRUPT, -1, 2, ENTRY + 2},
                {1, InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION, -1, 1, ENTRY + 1},
                {3, InterruptionType.SOFTWARE_EXCEPTION, -1, 1, ENTRY + 1}};
        for (Object[] c : cases) {
            VmxFixture f = new VmxFixture();
            int vector = (int) c[0];
            InterruptionType type = (InterruptionType) c[1];
            int error = (int) c[2];
            f.longModeGuest(0);
            f.load(ENTRY, code("eb fe"));
            f.load(HANDLER, code("f4"));
            f.interruptGate(vector, HANDLER);
            f.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                    f.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
            f.write(EXCEPTION_BITMAP, 0xFFFF_FFFFL); // not consulted for the injected event
            f.write(GUEST_RFLAGS, 2 | Rflags.IF);
            f.write(VM_ENTRY_INTERRUPTION_INFORMATION, InterruptionInfo.injection(vector, type, error >= 0).encode());
            f.write(VM_ENTRY_EXCEPTION_ERROR_CODE, Math.max(error, 0));
            f.write(VM_ENTRY_INSTRUCTION_LENGTH, (int) c[3]);
            f.cpu.vmlaunch(f.guestRegisters);
            String what = type + " " + vector;
            assertEquals(what, ExitReason.HLT.number(), f.exitReason());
            assertEquals(what, HANDLER, f.read(GUEST_RIP));
            long rsp = f.read(GUEST_RSP);
            int frame = 0;
            if (error >= 0) {
                assertEquals(what + ": error code pushed", error, f.memory.read64(f.guestRam + rsp));
                frame = 8;
            }
            assertEquals(what + ": return address", (long) c[4], f.memory.read64(f.guestRam + rsp + frame));
            assertEquals(what, 0x7000 - 40 - frame, rsp);
            if (type == InterruptionType.NMI) {
                assertEquals(what + ": blocking by NMI", CpuState.INTERRUPTIBILITY_NMI,
                        f.read(GUEST_INTERRUPTIBILITY_STATE) & CpuState.INTERRUPTIBILITY_NMI);
            }
        }
    }

    /**
     * SDM 27.6.1.1 (via the IDT gate's DPL): an injected software interrupt at CPL 3 through a DPL-0 gate is a #GP
     * with error code vector * 8 + 2, which exits with the injected event as IDT-vectoring information (28.2.4) and
     * its instruction length (28.2.5); a privileged software exception (INT1) is not checked against the DPL.
     */
    @Test(timeout = 10_000)
    public void injectedSoftwareInterruptChecksTheGateDpl() {
        fx.longModeGuest(3);
        fx.load(ENTRY, code("eb fe"));
        fx.load(HANDLER, code("f4"));
        fx.interruptGate(0x21, HANDLER);
        fx.interruptGate(1, HANDLER);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.HLT_EXITING);
        fx.write(EXCEPTION_BITMAP, 1 << 13);
        inject(0x21, InterruptionType.SOFTWARE_INTERRUPT, -1, 2);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(InterruptionInfo.VALID | (3 << 8) | (1 << 11) | 13, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(0x21 * 8 + 2, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        assertEquals(InterruptionInfo.injection(0x21, InterruptionType.SOFTWARE_INTERRUPT, false).encode(),
                fx.read32(IDT_VECTORING_INFORMATION));
        assertEquals(2, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(ENTRY, fx.read(GUEST_RIP));

        inject(1, InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION, -1, 1);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.HLT);
        assertEquals(HANDLER, fx.read(GUEST_RIP));
    }

    // ---- 26.7.2: the monitor trap flag ----------------------------------------------------------------------------

    /** SDM 26.7.2: after the first iteration of a REP-prefixed string instruction, with RIP still on it. */
    @Test(timeout = 10_000)
    public void mtfAfterOneRepIteration() {
        // mov $0x9000,%esi / mov $0xa000,%edi / mov $3,%ecx / rep movsb
        guest("be 00 90 00 00  bf 00 a0 00 00  b9 03 00 00 00  f3 a4");
        fx.write(GUEST_RIP, ENTRY + 15);
        fx.guestRegisters.set(6, 0x9000);
        fx.guestRegisters.set(7, 0xA000);
        fx.guestRegisters.set(1, 3);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.MONITOR_TRAP_FLAG);
        assertEquals(ENTRY + 15, fx.read(GUEST_RIP));
        assertEquals(2, fx.guestRegisters.get(1));
        assertEquals(0x9001, fx.guestRegisters.get(6));
        assertEquals(0xF4, fx.guestByte(0xA000)); // the byte at 0x9000 is the handler's HLT
    }

    /**
     * SDM 26.7.2: with the monitor trap flag and an injected vectored event, the MTF exit is pending before the
     * first instruction of the handler; no instruction retires.
     */
    @Test(timeout = 10_000)
    public void mtfAfterInjection() {
        guest("eb fe");
        fx.interruptGate(0x20, HANDLER);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
        fx.write(GUEST_RFLAGS, 2 | Rflags.IF);
        inject(0x20, InterruptionType.EXTERNAL_INTERRUPT, -1, 0);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.MONITOR_TRAP_FLAG);
        assertEquals(HANDLER, fx.read(GUEST_RIP));
        assertEquals(0, fx.cpu.guestInstructionsRetired());
    }

    /**
     * SDM 26.7.2: an instruction's fault delivered by the guest, INT n and INT3 put the MTF exit after the delivery
     * (on the handler's first instruction); HLT leaves it in the HLT activity state.
     */
    @Test(timeout = 10_000)
    public void mtfAfterFaultsSoftwareInterruptsAndHlt() {
        String[] programs = {"0f 0b", "cd 21", "cc"}; // ud2 / int $0x21 / int3
        int[] vectors = {6, 0x21, 3};
        for (int i = 0; i < programs.length; i++) {
            VmxFixture f = new VmxFixture();
            f.longModeGuest(0);
            f.load(ENTRY, code(programs[i]));
            f.interruptGate(vectors[i], HANDLER);
            f.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, f.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                    | PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
            f.cpu.vmlaunch(f.guestRegisters);
            assertEquals(programs[i], ExitReason.MONITOR_TRAP_FLAG.number(), f.exitReason());
            assertEquals(programs[i], HANDLER, f.read(GUEST_RIP));
        }
        guest("f4");
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & ~PrimaryProcessorBasedControls.HLT_EXITING | PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.MONITOR_TRAP_FLAG);
        assertEquals(ENTRY + 1, fx.read(GUEST_RIP));
        assertEquals(CpuState.ACTIVITY_HLT, fx.read(GUEST_ACTIVITY_STATE));
    }

    /** SDM 27.6.2 / 26.7.2: injecting "other event" (a pending MTF VM exit) exits at once, even with MTF 0. */
    @Test(timeout = 10_000)
    public void injectedPendingMtfExitsBeforeAnyInstruction() {
        guest("eb fe");
        inject(0, InterruptionType.OTHER_EVENT, -1, 0);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.MONITOR_TRAP_FLAG);
        assertEquals(ENTRY, fx.read(GUEST_RIP));
        assertEquals(0, fx.cpu.guestInstructionsRetired());
    }

    // ---- 26.7 with Vol. 3A 6.9: priority at an instruction boundary ------------------------------------------------

    /**
     * SDM 26.7.2-26.7.6 priority: a pending MTF exit, then the VMX-preemption timer, then the NMI window, then the
     * interrupt window. Each exit leaves the others pending for the next entry.
     */
    @Test(timeout = 10_000)
    public void boundaryEventsInPriorityOrder() {
        guest("eb fe");
        set(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER
                | PinBasedControls.NMI_EXITING | PinBasedControls.VIRTUAL_NMIS);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.NMI_WINDOW_EXITING
                | PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 0);
        fx.write(GUEST_RFLAGS, 2 | Rflags.IF);
        inject(0, InterruptionType.OTHER_EVENT, -1, 0);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.MONITOR_TRAP_FLAG);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED);
        fx.write(PIN_BASED_VM_EXECUTION_CONTROLS, fx.read(PIN_BASED_VM_EXECUTION_CONTROLS)
                & ~PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.NMI_WINDOW);
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & ~PrimaryProcessorBasedControls.NMI_WINDOW_EXITING);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.INTERRUPT_WINDOW);
        assertEquals(0, fx.cpu.guestInstructionsRetired());
    }

    /** SDM 26.7.5/26.7.6: the windows exit from the HLT activity state they wake from; the state is saved as HLT. */
    @Test(timeout = 10_000)
    public void windowsWakeTheHltState() {
        guest("eb fe");
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
        fx.write(GUEST_RFLAGS, 2 | Rflags.IF);
        fx.write(GUEST_ACTIVITY_STATE, CpuState.ACTIVITY_HLT);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.INTERRUPT_WINDOW);
        assertEquals(CpuState.ACTIVITY_HLT, fx.read(GUEST_ACTIVITY_STATE));
    }

    // ---- 26.7.6, 28.2.2: virtual NMIs -----------------------------------------------------------------------------

    private void virtualNmiGuest(String handler) {
        fx.longModeGuest(0);
        fx.load(ENTRY, code("eb fe"));
        fx.load(HANDLER, code(handler));
        fx.interruptGate(2, HANDLER);
        set(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.NMI_EXITING | PinBasedControls.VIRTUAL_NMIS);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.NMI_WINDOW_EXITING);
        inject(2, InterruptionType.NMI, -1, 0);
    }

    /**
     * SDM 27.6.1 and 26.7.6: an injected virtual NMI sets virtual-NMI blocking, which holds the NMI window shut until
     * the handler's IRET removes it; the NMI-window exit then comes before the next instruction.
     */
    @Test(timeout = 10_000)
    public void virtualNmiBlocksTheNmiWindowUntilIret() {
        virtualNmiGuest("48 cf"); // iretq
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.NMI_WINDOW);
        assertEquals(ENTRY, fx.read(GUEST_RIP));
        assertEquals(1, fx.cpu.guestInstructionsRetired()); // the IRET
        assertEquals(0, fx.read(GUEST_INTERRUPTIBILITY_STATE) & CpuState.INTERRUPTIBILITY_NMI);
    }

    /**
     * SDM 28.2.2: a fault on an IRET that removed virtual-NMI blocking sets bit 12 of the VM-exit interruption
     * information, and the blocking it removed stays removed in the saved interruptibility state (28.3.4). Here the
     * IRET pops from an address the guest does not map (#PF, intercepted).
     */
    @Test(timeout = 10_000)
    public void faultingIretReportsNmiUnblocking() {
        virtualNmiGuest("48 c7 c4 00 00 30 00  48 cf"); // mov $0x300000,%rsp / iretq
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & ~PrimaryProcessorBasedControls.NMI_WINDOW_EXITING);
        fx.write(EXCEPTION_BITMAP, 1 << 14);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        InterruptionInfo info = InterruptionInfo.decode(fx.read(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(14, info.vector());
        assertTrue("NMI unblocking due to IRET", info.nmiUnblocking());
        assertEquals(0x300000, fx.read(EXIT_QUALIFICATION));
        assertEquals(HANDLER + 7, fx.read(GUEST_RIP));
        assertEquals(0, fx.read(GUEST_INTERRUPTIBILITY_STATE) & CpuState.INTERRUPTIBILITY_NMI);

        // a fault on another instruction does not set it
        fx.load(HANDLER + 7, code("0f 0b"));
        fx.write(EXCEPTION_BITMAP, 1 << 6);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(6, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);
        assertTrue(!InterruptionInfo.decode(fx.read(VM_EXIT_INTERRUPTION_INFORMATION)).nmiUnblocking());
    }

    /** SDM 28.2.1 Table 28-7 bit 12: the same for an EPT violation caused by the IRET's stack reads. */
    @Test(timeout = 10_000)
    public void eptViolationOnIretReportsNmiUnblocking() {
        virtualNmiGuest("48 c7 c4 00 00 05 00  48 cf"); // mov $0x50000,%rsp / iretq
        fx.unmapEpt(0x50000);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EPT_VIOLATION);
        EptViolationQualification q = EptViolationQualification.decode(fx.read(EXIT_QUALIFICATION));
        assertTrue(q.read() && q.nmiUnblocking());
        assertEquals(0x50000, fx.read(GUEST_PHYSICAL_ADDRESS));
        assertEquals(0, fx.read(GUEST_INTERRUPTIBILITY_STATE) & CpuState.INTERRUPTIBILITY_NMI);
    }

    /**
     * SDM 26.3 IRET: with "NMI exiting" 1 and "virtual NMIs" 0 the host owns NMI blocking and IRET leaves it alone;
     * with "NMI exiting" 0 IRET removes it.
     */
    @Test(timeout = 10_000)
    public void iretLeavesHostOwnedNmiBlocking() {
        for (boolean nmiExiting : new boolean[] {true, false}) {
            VmxFixture f = new VmxFixture();
            f.longModeGuest(0);
            f.load(ENTRY, code("48 cf  f4")); // iretq (to the hlt after it) / hlt
            long[] frame = {ENTRY + 2, VmxFixture.KERNEL_CS, 2, 0x7000, VmxFixture.KERNEL_DS};
            for (int i = 0; i < frame.length; i++) {
                f.memory.write64(f.guestRam + 0x7000 - 40 + 8L * i, frame[i]);
            }
            f.write(GUEST_RSP, 0x7000 - 40);
            f.write(GUEST_INTERRUPTIBILITY_STATE, CpuState.INTERRUPTIBILITY_NMI);
            f.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, f.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                    | PrimaryProcessorBasedControls.HLT_EXITING);
            if (nmiExiting) {
                f.write(PIN_BASED_VM_EXECUTION_CONTROLS, f.read(PIN_BASED_VM_EXECUTION_CONTROLS)
                        | PinBasedControls.NMI_EXITING);
            }
            f.cpu.vmlaunch(f.guestRegisters);
            assertEquals(ExitReason.HLT.number(), f.exitReason());
            assertEquals(ENTRY + 2, f.read(GUEST_RIP));
            assertEquals("NMI exiting " + nmiExiting, nmiExiting ? CpuState.INTERRUPTIBILITY_NMI : 0,
                    f.read(GUEST_INTERRUPTIBILITY_STATE) & CpuState.INTERRUPTIBILITY_NMI);
        }
    }

    // ---- 26.2: the exception bitmap; 28.3.4: interruptibility saved -------------------------------------------------

    /**
     * SDM 26.2: a #PF exits iff ((PFEC AND mask) = match) equals bit 14 of the exception bitmap; when it exits, CR2
     * is not written (28.1) and the qualification is the linear address (28.2.1); when it does not, the guest
     * handles it with CR2 set.
     */
    @Test(timeout = 10_000)
    public void pageFaultErrorCodeMaskAndMatch() {
        guest("8b 04 25 00 00 30 00"); // mov 0x300000,%eax: not present, read, supervisor: PFEC 0
        fx.interruptGate(14, HANDLER);
        fx.write(EXCEPTION_BITMAP, 1 << 14);
        fx.write(PAGE_FAULT_ERROR_CODE_MASK, 1);
        fx.write(PAGE_FAULT_ERROR_CODE_MATCH, 0); // not-present faults match: they exit
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(InterruptionInfo.VALID | (3 << 8) | (1 << 11) | 14, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        assertEquals(0x300000, fx.read(EXIT_QUALIFICATION));
        assertEquals("CR2 not loaded", 0, fx.cpu.readCr(2));
        fx.write(PAGE_FAULT_ERROR_CODE_MATCH, 1); // only protection faults match now: this one is the guest's
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.HLT);
        assertEquals(HANDLER, fx.read(GUEST_RIP));
        assertEquals(0x300000, fx.cpu.readCr(2));
    }

    /**
     * SDM 26.2 and 28.2.4: a #PF during delivery of a #PF becomes a #DF (Vol. 3A Table 6-5); the second #PF meets
     * the exception bitmap (bit 14 clear here: no exit), then the #DF exits with error code 0 and, as an event that
     * causes the exit directly, no IDT-vectoring information.
     */
    @Test(timeout = 10_000)
    public void doubleFaultExitsDirectly() {
        guest("8b 04 25 00 00 30 00"); // mov 0x300000,%eax: #PF
        fx.interruptGate(14, HANDLER);
        fx.write(GUEST_RSP, 0x300000); // delivering the #PF pushes to an unmapped stack: #PF again
        fx.write(EXCEPTION_BITMAP, 1 << 8);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(InterruptionInfo.VALID | (3 << 8) | (1 << 11) | 8, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        assertEquals(0, fx.read32(IDT_VECTORING_INFORMATION) & InterruptionInfo.VALID);
        assertEquals(ENTRY, fx.read(GUEST_RIP));
    }

    /** SDM 28.2.2: INT1 (ICEBP) exits through bit 1 of the bitmap as a privileged software exception (type 5). */
    @Test(timeout = 10_000)
    public void int1IsAPrivilegedSoftwareException() {
        guest("f1");
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(InterruptionInfo.VALID | (5 << 8) | 1, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(1, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(ENTRY, fx.read(GUEST_RIP));
    }

    /** SDM 28.3.4: an exit on the instruction after STI saves blocking by STI; RFLAGS.IF is 1. */
    @Test(timeout = 10_000)
    public void blockingBySti() {
        guest("fb  0f a2"); // sti / cpuid
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.CPUID);
        assertEquals(CpuState.INTERRUPTIBILITY_STI, fx.read(GUEST_INTERRUPTIBILITY_STATE));
        assertEquals(Rflags.IF, fx.read(GUEST_RFLAGS) & Rflags.IF);
    }

    /**
     * SDM 28.3.3 RFLAGS.RF: an instruction exit saves 0 (even when the guest entered with RF = 1); an exception exit
     * saves what the pushed image would hold: 1 for a fault-class exception such as #UD.
     */
    @Test(timeout = 10_000)
    public void resumeFlagSavedPerCause() {
        guest("0f a2  0f 0b"); // cpuid / ud2
        fx.write(GUEST_RFLAGS, 2 | Rflags.RF);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.CPUID);
        assertEquals(0, fx.read(GUEST_RFLAGS) & Rflags.RF);
        fx.write(EXCEPTION_BITMAP, 1 << 6);
        fx.write(GUEST_RIP, ENTRY + 2);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(Rflags.RF, fx.read(GUEST_RFLAGS) & Rflags.RF);
    }

    // ---- 27.7.3: pending debug exceptions after VM entry -----------------------------------------------------------

    private static final long BS = 1L << 14;

    /**
     * SDM 27.7.3: BS in the pending debug exceptions of a non-vectoring entry is a #DB before the first instruction;
     * with bit 1 of the exception bitmap it exits, B3-B0/BS as the qualification (28.2.1), and it is no longer
     * pending.
     */
    @Test(timeout = 10_000)
    public void pendingDebugExceptionExitsThroughTheBitmap() {
        guest("0f a2");
        fx.write(GUEST_PENDING_DEBUG_EXCEPTIONS, BS | 2);
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(InterruptionInfo.VALID | (3 << 8) | 1, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(BS | 2, fx.read(EXIT_QUALIFICATION));
        assertEquals(ENTRY, fx.read(GUEST_RIP));
        assertEquals(0, fx.read(GUEST_PENDING_DEBUG_EXCEPTIONS));
        assertEquals(0, fx.cpu.guestInstructionsRetired());
    }

    /**
     * SDM 27.7.3: without the bitmap the #DB updates DR6 and is delivered, waking a HLT'd guest (whose BS goes
     * with RFLAGS.TF, 27.3.1.5); the handler sees the entry RIP as the return address.
     */
    @Test(timeout = 10_000)
    public void pendingDebugExceptionIsDeliveredAndWakesHlt() {
        guest("0f a2");
        fx.interruptGate(1, HANDLER);
        fx.write(GUEST_ACTIVITY_STATE, CpuState.ACTIVITY_HLT);
        fx.write(GUEST_RFLAGS, 2 | Rflags.TF);
        fx.write(GUEST_PENDING_DEBUG_EXCEPTIONS, BS);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.HLT);
        assertEquals(HANDLER, fx.read(GUEST_RIP));
        assertEquals(ENTRY, stack(0));
        assertEquals(BS, fx.cpu.debugRegister(6) & (BS | 0xF));
        assertEquals(0, fx.read(GUEST_RFLAGS) & Rflags.TF);
    }

    /**
     * SDM 27.7.3: a pending MTF exit comes first and saves the pending debug exceptions (28.3.4); blocking by MOV SS
     * holds them, so CPUID exits first.
     */
    @Test(timeout = 10_000)
    public void pendingDebugExceptionsAfterMtfAndUnderMovSs() {
        guest("0f a2");
        fx.write(GUEST_PENDING_DEBUG_EXCEPTIONS, BS);
        fx.write(EXCEPTION_BITMAP, 1 << 1);
        inject(0, InterruptionType.OTHER_EVENT, -1, 0);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.MONITOR_TRAP_FLAG);
        assertEquals(BS, fx.read(GUEST_PENDING_DEBUG_EXCEPTIONS));
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(1, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);

        fx.write(GUEST_PENDING_DEBUG_EXCEPTIONS, 1);
        fx.write(GUEST_INTERRUPTIBILITY_STATE, CpuState.INTERRUPTIBILITY_MOV_SS);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.CPUID);
    }

    // ---- 26.4.2: task switches -----------------------------------------------------------------------------------

    /**
     * SDM 26.4.2: every task switch exits once the gate and new-TSS checks pass; the qualification (Table 28-2) is
     * the new TSS selector and the source: JMP through a task gate (2), CALL to a TSS descriptor (0), IRET with
     * NT = 1 to the busy TSS in the previous-task link (1), INT n through a task gate in the IDT (3, with the
     * software interrupt as IDT-vectoring information and its length, 28.2.4/28.2.5).
     */
    @Test(timeout = 10_000)
    public void taskSwitchesExitWithTheirSource() {
        fx.protectedModeGuest();
        // 8000: ljmp $0x30,$0 / 8007: lcall $0x20,$0 / 800e: iret / 800f: int $0x40
        fx.load(ENTRY, code("ea 00 00 00 00 30 00  9a 00 00 00 00 20 00  cf  cd 40"));
        fx.memory.write16(fx.guestRam + VmxFixture.PROTECTED_TSS, VmxFixture.BUSY_TSS); // previous-task link
        long taskGate = ((long) VmxFixture.AVAILABLE_TSS << 16) | (0x85L << 40);
        fx.memory.write64(fx.guestRam + VmxFixture.PROTECTED_IDT + 8 * 0x40, taskGate);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.TASK_SWITCH);
        assertEquals(VmxFixture.AVAILABLE_TSS | (2L << 30), fx.read(EXIT_QUALIFICATION));
        assertEquals(7, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(ENTRY, fx.read(GUEST_RIP));

        fx.write(GUEST_RIP, ENTRY + 7);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.TASK_SWITCH);
        assertEquals(VmxFixture.AVAILABLE_TSS, fx.read(EXIT_QUALIFICATION));
        assertEquals(7, fx.read(VM_EXIT_INSTRUCTION_LENGTH));

        fx.write(GUEST_RIP, ENTRY + 14);
        fx.write(GUEST_RFLAGS, 2 | Rflags.NT);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.TASK_SWITCH);
        assertEquals(VmxFixture.BUSY_TSS | (1L << 30), fx.read(EXIT_QUALIFICATION));
        assertEquals(1, fx.read(VM_EXIT_INSTRUCTION_LENGTH));

        fx.write(GUEST_RIP, ENTRY + 15);
        fx.write(GUEST_RFLAGS, 2);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.TASK_SWITCH);
        assertEquals(VmxFixture.AVAILABLE_TSS | (3L << 30), fx.read(EXIT_QUALIFICATION));
        assertEquals(InterruptionInfo.injection(0x40, InterruptionType.SOFTWARE_INTERRUPT, false).encode(),
                fx.read32(IDT_VECTORING_INFORMATION));
        assertEquals(2, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        assertEquals(ENTRY + 15, fx.read(GUEST_RIP));
        assertEquals(0, fx.cpu.guestInstructionsRetired());
    }

    /**
     * SDM 26.4.2: the checks before the exit fault first: a far JMP to a busy TSS is #GP(selector) (Vol. 2A JMP),
     * an IRET with NT = 1 whose link names an available TSS is #TS(selector) (Vol. 2A IRET).
     */
    @Test(timeout = 10_000)
    public void taskSwitchChecksComeFirst() {
        fx.protectedModeGuest();
        fx.write(EXCEPTION_BITMAP, (1 << 10) | (1 << 13));
        fx.load(ENTRY, code("ea 00 00 00 00 28 00  cf")); // ljmp $0x28,$0 / iret
        fx.memory.write16(fx.guestRam + VmxFixture.PROTECTED_TSS, VmxFixture.AVAILABLE_TSS);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(13, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);
        assertEquals(VmxFixture.BUSY_TSS, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        fx.write(GUEST_RIP, ENTRY + 7);
        fx.write(GUEST_RFLAGS, 2 | Rflags.NT);
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.EXCEPTION_OR_NMI);
        assertEquals(10, fx.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);
        assertEquals(VmxFixture.AVAILABLE_TSS, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
    }

    // ---- 28.2.4: IDT-vectoring information; 26.2: triple fault -------------------------------------------------------

    /**
     * SDM 28.2.4: an EPT violation while the guest delivers its own #UD (the IDT page is not mapped in the EPT)
     * reports the #UD as IDT-vectoring information; for INT3 also its instruction length (28.2.5).
     */
    @Test(timeout = 10_000)
    public void exitDuringGuestDeliveryReportsTheEvent() {
        guest("0f 0b");
        fx.interruptGate(6, HANDLER);
        fx.unmapEpt(VmxFixture.LONG_MODE_IDT);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.EPT_VIOLATION);
        assertEquals(InterruptionInfo.VALID | (3 << 8) | 6, fx.read32(IDT_VECTORING_INFORMATION));
        assertEquals(VmxFixture.LONG_MODE_IDT + 6 * 16, fx.read(GUEST_PHYSICAL_ADDRESS));
        EptViolationQualification q = EptViolationQualification.decode(fx.read(EXIT_QUALIFICATION));
        assertTrue(q.read() && q.linearValid() && q.linearTranslation());
        assertEquals(ENTRY, fx.read(GUEST_RIP));

        fx.load(ENTRY, code("cc"));
        fx.cpu.vmresume(fx.guestRegisters);
        assertReason(ExitReason.EPT_VIOLATION);
        assertEquals(InterruptionInfo.VALID | (6 << 8) | 3, fx.read32(IDT_VECTORING_INFORMATION));
        assertEquals(1, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
    }

    /** SDM 26.2: #UD with an empty IDT becomes #GP, then #DF, then a triple fault, which exits (reason 2). */
    @Test(timeout = 10_000)
    public void tripleFaultExits() {
        guest("0f 0b");
        fx.write(GUEST_IDTR_LIMIT, 0);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertReason(ExitReason.TRIPLE_FAULT);
        assertEquals(ENTRY, fx.read(GUEST_RIP));
        assertEquals(0, fx.read32(IDT_VECTORING_INFORMATION) & InterruptionInfo.VALID);
    }
}
