package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.core.dispatch.HandlerRegistration;
import org.junit.Test;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

/** VmxVcpu: control registers (SDM 25.6.6, Vol. 3A 9.8.5), event injection (SDM 27.6), XCR0 switching, run. */
public class VmxVcpuTest {

    private static long f(Fixture x, VmcsField field) {
        return x.vcpu.vmread(field);
    }

    // ------------------------------------------------------------------ processors without CPUID exits

    /**
     * A processor that answers CPUID from a table (KVM) gets the CPUID handler chain's answers before the first
     * entry: each leaf is asked as a CPUID exit that did not happen (consult: not dispatched, not counted), the
     * guest's registers and RIP are left as they were, and a leaf no handler answers keeps the processor's own.
     */
    @Test
    public void aProcessorWithACpuidTableGetsTheHandlersAnswersOnceBeforeTheFirstEntry() {
        FakeVmxProcessor cpu = new FakeVmxProcessor();
        cpu.tableLeaves.add(new io.jvmx.vmx.api.spi.CpuidLeaf(0x4000_0000, 0));
        cpu.tableLeaves.add(new io.jvmx.vmx.api.spi.CpuidLeaf(7, 1));
        java.util.List<String> asked = new java.util.ArrayList<>();
        HandlerRegistration cpuidHandler = new HandlerRegistration((vcpu, exit) -> {
            long leaf = vcpu.readGpr(GeneralRegisters.RAX);
            asked.add(String.format("%#x.%d at %#x", leaf, vcpu.readGpr(GeneralRegisters.RCX), exit.guestRip()));
            if (leaf != 0x4000_0000L) {
                return ExitAction.PASS;
            }
            vcpu.writeGpr(GeneralRegisters.RAX, 0x4000_0001L);
            vcpu.writeGpr(GeneralRegisters.RBX, 0x4D56_5252L);
            vcpu.advanceRip(exit.instructionLength());
            return ExitAction.HANDLED;
        }, java.util.Set.of(ExitReason.CPUID), "test.cpuid", 1, 0);
        io.jvmx.vmx.core.dispatch.ExitDispatcher dispatcher = new io.jvmx.vmx.core.dispatch.ExitDispatcher() {
            @Override
            public HandlerRegistration dispatch(io.jvmx.vmx.api.handler.VCpu vcpu, VmExitInfo exit) {
                return null; // the HLT exits of the fake guest go back to the caller
            }

            @Override
            public HandlerRegistration consult(io.jvmx.vmx.api.handler.VCpu vcpu, VmExitInfo exit) {
                assertEquals(ExitReason.CPUID, exit.reason());
                ExitAction a;
                try {
                    a = cpuidHandler.handler().handle(vcpu, exit);
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
                return a == ExitAction.HANDLED ? cpuidHandler : null;
            }
        };
        Fixture x = new Fixture(cpu, dispatcher, 0);
        x.vcpu.regs().set(GeneralRegisters.RAX, 0x1111);
        x.vcpu.regs().set(GeneralRegisters.RBX, 0x2222);
        x.vcpu.run();
        x.vcpu.run();
        assertEquals(java.util.List.of("0x40000000.0 at 0x8000", "0x7.1 at 0x8000"), asked);
        assertEquals("once", 1, cpu.guestCpuidCalls);
        assertEquals(java.util.Map.of(new io.jvmx.vmx.api.spi.CpuidLeaf(0x4000_0000, 0),
                new io.jvmx.vmx.api.spi.CpuidResult(0x4000_0001, 0x4D56_5252, 0, 0)), cpu.guestCpuid);
        assertEquals("the guest's registers are its own again", 0x1111, x.vcpu.regs().get(GeneralRegisters.RAX));
        assertEquals(0x2222, x.vcpu.regs().get(GeneralRegisters.RBX));
        assertEquals(0, cpuidHandler.handledCount());
    }

    // ------------------------------------------------------------------ control registers

    @Test
    public void cr0ShadowHoldsTheGuestValueAndTheMaskOwnsFixedBitsPeAndPg() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.setGuestCr(0, Cr0.PE | Cr0.ET);
        // processor value: the guest's PE, plus NE forced by CR0_FIXED0 (SDM Vol. 3D A.7); PG free (unrestricted)
        assertEquals(Cr0.PE | Cr0.ET | Cr0.NE, f(x, VmcsField.GUEST_CR0));
        assertEquals(Cr0.PE | Cr0.ET, f(x, VmcsField.CR0_READ_SHADOW));
        long mask = f(x, VmcsField.CR0_GUEST_HOST_MASK);
        long owned = Cr0.PE | Cr0.PG | Cr0.NE | Cr0.NW | Cr0.CD;
        assertEquals("mask owns fixed bits, NW, CD and (jvmx) PE, PG", owned, mask & owned);
        assertEquals("guest-owned bit", 0, mask & Cr0.TS);
        // SDM 25.6.6: owned bits read from the shadow, so the guest sees NE = 0 as it wrote
        assertEquals(Cr0.PE | Cr0.ET, x.vcpu.guestCr(0));
        assertEquals(VmCpuMode.PROTECTED, x.vcpu.cpuMode());
    }

    @Test
    public void cr4ShadowHidesVmxeAndTheMaskOwnsPae() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.setGuestCr(4, Cr4.PAE | Cr4.OSFXSR);
        assertEquals(Cr4.PAE | Cr4.OSFXSR | Cr4.VMXE, f(x, VmcsField.GUEST_CR4));
        // x86_vcpu writes VMXE into the shadow too, which shows VMX to the guest; SDM 25.6.6 reads the shadow for
        // owned bits, so jvmx's shadow holds what the guest wrote
        assertEquals(Cr4.PAE | Cr4.OSFXSR, f(x, VmcsField.CR4_READ_SHADOW));
        long mask = f(x, VmcsField.CR4_GUEST_HOST_MASK);
        assertEquals(Cr4.PAE | Cr4.VMXE, mask & (Cr4.PAE | Cr4.VMXE));
        assertTrue("bits FIXED1 forbids are owned (LA57)", (mask & Cr4.LA57) != 0);
        assertEquals(Cr4.PAE | Cr4.OSFXSR, x.vcpu.guestCr(4));
        x.vcpu.setGuestCr(3, 0x1234_5000L);
        assertEquals(0x1234_5000L, x.vcpu.guestCr(3));
    }

    @Test
    public void pagingWithLmeActivatesIa32eModeAndTurningItOffDeactivates() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.setGuestCr(4, Cr4.PAE);
        x.vcpu.vmwrite(VmcsField.GUEST_IA32_EFER, Efer.LME);
        x.vcpu.setGuestCr(0, Cr0.PE | Cr0.PG);
        // SDM Vol. 3A 9.8.5: CR0.PG 0->1 with EFER.LME = 1 sets EFER.LMA; VM entry takes LMA from the
        // "IA-32e mode guest" control (SDM 27.3.2.1), so both change together
        assertEquals(Efer.LME | Efer.LMA, f(x, VmcsField.GUEST_IA32_EFER));
        assertEquals(VmEntryControls.IA32E_MODE_GUEST, f(x, VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST);
        assertEquals(VmCpuMode.COMPATIBILITY, x.vcpu.cpuMode());
        x.vcpu.vmwrite(VmcsField.GUEST_CS_ACCESS_RIGHTS, 0xA09B); // L = 1
        assertEquals(VmCpuMode.MODE_64, x.vcpu.cpuMode());
        assertTrue(x.cpu.cap(io.jvmx.vmx.api.msr.Msr.IA32_VMX_TRUE_ENTRY_CTLS).isValid((int) f(x, VmcsField.VM_ENTRY_CONTROLS)));

        // SDM 9.8.5.4: clearing CR0.PG leaves IA-32e mode (x86_vcpu's update_efer never clears LMA)
        x.vcpu.setGuestCr(0, Cr0.PE);
        assertEquals(Efer.LME, f(x, VmcsField.GUEST_IA32_EFER));
        assertEquals(0, f(x, VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST);
        assertEquals(VmCpuMode.PROTECTED, x.vcpu.cpuMode());
    }

    @Test
    public void pagingWithoutLmeIsNotIa32eMode() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.setGuestCr(0, Cr0.PE | Cr0.PG);
        assertEquals(0, f(x, VmcsField.GUEST_IA32_EFER) & Efer.LMA);
        assertEquals(0, f(x, VmcsField.VM_ENTRY_CONTROLS) & VmEntryControls.IA32E_MODE_GUEST);
        try {
            x.vcpu.setGuestCr(8, 0);
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("CR8"));
        }
    }

    @Test
    public void gprFourIsGuestRspAndAdvanceRipEndsStiBlocking() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.writeGpr(GeneralRegisters.RSP, 0x7000);
        x.vcpu.writeGpr(GeneralRegisters.RBX, 0x55);
        assertEquals(0x7000, f(x, VmcsField.GUEST_RSP));
        assertEquals(0x7000, x.vcpu.readGpr(4));
        assertEquals(0x55, x.vcpu.regs().get(GeneralRegisters.RBX));
        x.vcpu.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 1); // blocking by STI
        x.vcpu.advanceRip(2);
        assertEquals(0x8002, x.vcpu.rip());
        // SDM 25.4.2 Table 25-3: STI blocking lasts until the next instruction completes
        assertEquals(0, f(x, VmcsField.GUEST_INTERRUPTIBILITY_STATE));
    }

    // ------------------------------------------------------------------ exit information

    /**
     * The exit path reuses the VmExitInfo of an earlier exit with the same fields (so that a guest's repeated exits
     * allocate nothing), and never one whose fields differ: not for another qualification at the same RIP, not for
     * another RIP in the same cache slot, not for another reason or length.
     */
    @Test
    public void exitInfoIsReusedOnlyForAnExitWithTheSameFields() {
        Fixture x = new Fixture(null, 0);
        long[][] exits = { // RIP, reason, qualification, length
                {0x8000, ExitReason.IO_INSTRUCTION.number(), 0x00F4_0000L, 2},
                {0x8000, ExitReason.IO_INSTRUCTION.number(), 0x00F4_0000L, 2},
                {0x8000, ExitReason.IO_INSTRUCTION.number(), 0x00E0_0000L, 2},
                {0x8000 ^ 16 ^ (16 << 7), ExitReason.IO_INSTRUCTION.number(), 0x00E0_0000L, 2}, // another RIP
                {0x8000, ExitReason.CPUID.number(), 0x00E0_0000L, 2},
                {0x8000, ExitReason.CPUID.number(), 0x00E0_0000L, 3},
                {0x8000, ExitReason.CPUID.number(), 0x00E0_0000L, 3}};
        VmExitInfo previous = null;
        for (long[] e : exits) {
            x.cpu.script((c, r) -> {
                c.setField(VmcsField.GUEST_RIP, e[0]);
                c.exitRaw((int) e[1], e[2], (int) e[3]);
            });
            VmExitInfo info = x.vcpu.run();
            assertEquals(VmExitInfo.of((int) e[1], (int) e[3], e[0], e[2]), info);
            if (previous != null) {
                assertEquals("the same instance exactly when the fields are the same", previous.equals(info),
                        previous == info);
            }
            previous = info;
        }
    }

    // ------------------------------------------------------------------ events

    @Test
    public void exceptionIsInjectedAtTheNextEntryWithItsErrorCodeInProtectedMode() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.setGuestCr(0, Cr0.PE);
        x.vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0x18);
        x.cpu.script((c, r) -> c.exit(ExitReason.CPUID, 0, 2));
        x.vcpu.run();
        FakeVmxProcessor.Entry e = x.cpu.entries.get(0);
        InterruptionInfo info = InterruptionInfo.decode(e.injected());
        assertTrue(info.valid());
        assertEquals(Exceptions.GP, info.vector());
        assertEquals(InterruptionType.HARDWARE_EXCEPTION, info.type());
        assertTrue("SDM 27.3.1.4: #GP delivers an error code in protected mode", info.errorCodeValid());
        assertEquals(0x18, e.errorCode());
        assertEquals(0, x.vcpu.pendingEventCount());
    }

    @Test
    public void exceptionInRealModeHasNoErrorCodeAndIsInjectedEvenWithInterruptsOff() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
        x.cpu.script((c, r) -> c.exit(ExitReason.CPUID, 0, 2));
        x.vcpu.run();
        InterruptionInfo info = InterruptionInfo.decode(x.cpu.entries.get(0).injected());
        assertTrue(info.valid());
        assertFalse("SDM 27.3.1.4: no error code with CR0.PE = 0", info.errorCodeValid());
    }

    @Test
    public void interruptWithIfClearOpensTheWindowAndIsInjectedOnceIfIsSet() {
        Fixture x = new Fixture(null, 0);
        assertEquals(0, f(x, VmcsField.GUEST_RFLAGS) & Rflags.IF);
        x.vcpu.queueEvent(0x20, InterruptionType.EXTERNAL_INTERRUPT, -1);
        x.cpu.script((c, r) -> {
            c.setField(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF); // the guest executes STI...
            c.exit(ExitReason.CPUID, 0, 2);
        });
        VmExitInfo exit = x.vcpu.run();
        FakeVmxProcessor.Entry first = x.cpu.entries.get(0);
        assertEquals("not injected while RFLAGS.IF = 0", 0, first.injected() & InterruptionInfo.VALID);
        assertTrue("interrupt-window exiting on (SDM 25.6.2)",
                (first.primaryControls() & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0);
        assertEquals(ExitReason.CPUID, exit.reason());
        assertEquals(1, x.vcpu.pendingEventCount());

        // ...and the next entry injects it (the window exit of a real guest would come first)
        x.vcpu.run();
        FakeVmxProcessor.Entry second = x.cpu.entries.get(1);
        InterruptionInfo info = InterruptionInfo.decode(second.injected());
        assertTrue(info.valid());
        assertEquals(0x20, info.vector());
        assertEquals(InterruptionType.EXTERNAL_INTERRUPT, info.type());
        assertEquals(0, x.vcpu.pendingEventCount());
        assertEquals("window closed: nothing left", 0,
                second.primaryControls() & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
    }

    @Test
    public void interruptBlockedByStiWaitsForTheWindowExit() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1 | Rflags.IF);
        x.vcpu.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 1); // blocking by STI (SDM Table 25-3)
        x.vcpu.queueEvent(0x21, InterruptionType.EXTERNAL_INTERRUPT, -1);
        x.vcpu.queueEvent(0x22, InterruptionType.EXTERNAL_INTERRUPT, -1);
        x.cpu.script((c, r) -> {
            c.setField(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 0);
            c.exit(ExitReason.HLT, 0, 1);
        });
        x.vcpu.run();
        assertEquals(0, x.cpu.entries.get(0).injected() & InterruptionInfo.VALID);
        assertEquals(2, x.vcpu.pendingEventCount());
        // blocking ended: the next entry injects the first interrupt, and the window stays open for the second
        x.vcpu.run();
        FakeVmxProcessor.Entry second = x.cpu.entries.get(1);
        assertEquals(0x21, InterruptionInfo.decode(second.injected()).vector());
        assertTrue(InterruptionInfo.decode(second.injected()).valid());
        assertEquals(1, x.vcpu.pendingEventCount());
        assertTrue("another interrupt waits: the window stays open",
                (second.primaryControls() & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0);
        // an event already in the entry field (a handler injected one) is not overwritten
        x.vcpu.vmwrite(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION,
                InterruptionInfo.injection(0x30, InterruptionType.EXTERNAL_INTERRUPT, false).encode() & 0xFFFF_FFFFL);
        assertFalse(x.vcpu.injectPendingEvent());
        assertEquals(0x30, InterruptionInfo.decode(f(x, VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION)).vector());
        x.vcpu.vmwrite(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, 0);
        assertTrue(x.vcpu.injectPendingEvent());
        assertEquals(0x22, InterruptionInfo.decode(f(x, VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION)).vector());
        assertEquals("nothing left: window closed", 0, f(x, VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING);
    }

    /**
     * An exception queued behind an interrupt that waits for RFLAGS.IF is injected at the next entry anyway: it
     * belongs to the instruction the guest is on (SDM Vol. 3A 6.9). x86_vcpu looks only at the oldest event, so the
     * exception would wait with the interrupt and the faulting instruction run again without it.
     */
    @Test
    public void anExceptionIsNotHeldBehindAnInterruptThatWaits() {
        Fixture x = new Fixture(null, 0);
        assertEquals(0, f(x, VmcsField.GUEST_RFLAGS) & Rflags.IF);
        x.vcpu.queueEvent(0x20, InterruptionType.EXTERNAL_INTERRUPT, -1);
        x.vcpu.queueEvent(Exceptions.UD, InterruptionType.HARDWARE_EXCEPTION, -1);
        x.cpu.script((c, r) -> c.exit(ExitReason.CPUID, 0, 2));
        x.vcpu.run();
        FakeVmxProcessor.Entry first = x.cpu.entries.get(0);
        InterruptionInfo info = InterruptionInfo.decode(first.injected());
        assertTrue(info.valid());
        assertEquals(Exceptions.UD, info.vector());
        assertEquals(InterruptionType.HARDWARE_EXCEPTION, info.type());
        assertTrue("the interrupt still waits for its window",
                (first.primaryControls() & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0);
        assertEquals(1, x.vcpu.pendingEventCount());
    }

    /** An NMI waits while blocked by MOV SS (SDM 27.3.1.5 rejects its injection) or by NMI (25.4.2); IF does not matter. */
    @Test
    public void anNmiWaitsForMovSsAndNmiBlockingButNotForIf() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.queueEvent(Exceptions.NMI, InterruptionType.NMI, -1);
        x.vcpu.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 2); // blocking by MOV SS
        assertFalse(x.vcpu.injectPendingEvent());
        x.vcpu.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 8); // blocking by NMI
        assertFalse(x.vcpu.injectPendingEvent());
        x.vcpu.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE, 1); // blocking by STI does not block NMIs
        assertTrue(x.vcpu.injectPendingEvent());
        InterruptionInfo info = InterruptionInfo.decode(f(x, VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION));
        assertEquals(InterruptionType.NMI, info.type());
        assertEquals(2, info.vector());
    }

    @Test
    public void badEventsAreRejected() {
        Fixture x = new Fixture(null, 0);
        try {
            x.vcpu.queueEvent(256, InterruptionType.EXTERNAL_INTERRUPT, -1);
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("0-255"));
        }
        try {
            x.vcpu.queueEvent(40, InterruptionType.HARDWARE_EXCEPTION, -1);
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("0-31"));
        }
    }

    // ------------------------------------------------------------------ extended state

    @Test
    public void guestXcr0IsLoadedForTheGuestAndTheHostsRestoredAfter() {
        Fixture x = new Fixture(null, 0);
        assertEquals("SDM Vol. 1 13.3: XCR0 = 1 after reset", 1, x.vcpu.guestXcr0());
        assertEquals(0x7, x.vcpu.supportedXcr0());
        x.vcpu.setGuestXcr0(0x3);
        x.vcpu.setGuestXss(0x100);
        x.cpu.script((c, r) -> c.exit(ExitReason.CPUID, 0, 2));
        x.vcpu.run();
        assertEquals(0x3, x.cpu.entries.get(0).xcr0());
        assertEquals(0x100, x.cpu.entries.get(0).xss());
        assertEquals(0x7, x.cpu.xcr0);
        assertEquals(0, x.cpu.rdmsr(io.jvmx.vmx.api.msr.Msr.IA32_XSS));
        // CPUID leaf 0xD depends on XCR0: executed with the guest's (x86_vcpu handle_cpuid)
        assertEquals(576, x.vcpu.hostCpuid(0xD, 0).ebx());
        assertEquals(0x7, x.cpu.xcr0);
        assertEquals(832, x.vcpu.hostCpuid(0xD, 0).ebx() + 256);
        try {
            x.vcpu.setGuestXcr0(0x2);
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("bit 0"));
        }
        try {
            x.vcpu.setGuestXcr0(0x1 | (1L << 9));
            fail();
        } catch (IllegalArgumentException expected) {
            assertTrue(expected.getMessage().contains("not supported"));
        }
    }

    // ------------------------------------------------------------------ run

    @Test
    public void runLaunchesThenResumesAndReturnsUnhandledExits() {
        Fixture x = new Fixture(null, 0);
        x.cpu.script((c, r) -> {
            r.set(GeneralRegisters.RAX, 7);
            c.exit(ExitReason.IO_INSTRUCTION, 0x00F4_0000L, 1);
        });
        VmExitInfo e = x.vcpu.run();
        assertNotNull(e);
        assertEquals(ExitReason.IO_INSTRUCTION, e.reason());
        assertEquals(0x8000, e.guestRip());
        assertEquals(1, e.instructionLength());
        assertEquals(0x00F4_0000L, e.qualification());
        assertEquals("GPRs come back from the guest", 7, x.vcpu.regs().get(GeneralRegisters.RAX));
        assertTrue(x.cpu.entries.get(0).launch());
        assertTrue(x.vcpu.isLaunched());
        x.vcpu.run();
        assertFalse("second entry is VMRESUME", x.cpu.entries.get(1).launch());
        // VMCLEAR at unbind resets the launch state: the next bind launches again (SDM 25.11.3)
        x.vcpu.unbindFromCurrentProcessor();
        x.vcpu.bindToCurrentProcessor();
        x.vcpu.run();
        assertTrue(x.cpu.entries.get(2).launch());
    }

    @Test
    public void handledExitsReturnNullAndTheHandlerIsRecorded() {
        io.jvmx.vmx.core.internal.WhiteboardExitDispatcher d = new io.jvmx.vmx.core.internal.WhiteboardExitDispatcher();
        HandlerRegistration reg = completingHandler(d, ExitReason.CPUID);
        Fixture x = new Fixture(d, 0);
        x.cpu.script((c, r) -> c.exit(ExitReason.CPUID, 0, 2));
        assertNull(x.vcpu.run());
        assertSame(reg, x.vcpu.lastHandler());
        assertEquals(1, reg.handledCount());
        assertEquals(ExitReason.CPUID, x.vcpu.lastExit().reason());
        assertEquals(0x8002, x.vcpu.rip());
    }

    /** A handler of {@code reason} that completes the instruction (advances RIP past it) and nothing else. */
    private static HandlerRegistration completingHandler(io.jvmx.vmx.core.internal.WhiteboardExitDispatcher d,
                                                         ExitReason reason) {
        return d.addHandler("completing", (v, e) -> {
            v.advanceRip(e.instructionLength());
            return ExitAction.HANDLED;
        }, java.util.Map.of("vmx.exit.reason", reason.name(), "service.id", 1L), "test.bundle");
    }

    /**
     * An I/O exit a handler completed, with no breakpoint enabled in DR7: its breakpoint check reads no control
     * register, which a processor that saves them lazily at an exit (KVM) would have to save for it.
     */
    @Test
    public void aCompletedIoExitWithoutBreakpointsReadsNoControlRegister() {
        io.jvmx.vmx.core.internal.WhiteboardExitDispatcher d = new io.jvmx.vmx.core.internal.WhiteboardExitDispatcher();
        HandlerRegistration reg = completingHandler(d, ExitReason.IO_INSTRUCTION);
        Fixture x = new Fixture(d, 0);
        x.cpu.script((c, r) -> c.exit(ExitReason.IO_INSTRUCTION, 0x0080_0000L, 2));
        x.cpu.vmreads = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        assertNull(x.vcpu.run());
        java.util.List<Integer> reads = new java.util.ArrayList<>(x.cpu.vmreads);
        x.cpu.vmreads = null;
        assertEquals(1, reg.handledCount());
        assertEquals(0x8002, x.vcpu.rip());
        for (VmcsField cr : new VmcsField[] {VmcsField.GUEST_CR0, VmcsField.GUEST_CR3, VmcsField.GUEST_CR4,
                VmcsField.CR0_READ_SHADOW, VmcsField.CR4_READ_SHADOW}) {
            assertFalse(cr + " was read", reads.contains(cr.encoding()));
        }
    }

    @Test
    public void vmFailOnEntryThrowsWithTheSdmText() {
        Fixture x = new Fixture(null, 0);
        // the fake's TRUE pin-based MSR requires bits 1, 2 and 4 (SDM Vol. 3D A.3.1)
        x.vcpu.vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS, 0);
        try {
            x.vcpu.run();
            fail();
        } catch (IllegalStateException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("VMLAUNCH failed")
                    && e.getMessage().contains("VM entry with invalid control field(s)"));
        }
        assertFalse(x.vcpu.isLaunched());
    }

    @Test
    public void vmEntryFailureExitKeepsTheVmcsUnlaunched() {
        Fixture x = new Fixture(null, 0);
        x.cpu.script((c, r) -> c.exitRaw(ExitReason.ENTRY_FAILURE_BIT | 33, 0, 0));
        VmExitInfo e = x.vcpu.run();
        assertTrue(e.entryFailure());
        assertEquals(ExitReason.VM_ENTRY_FAILURE_INVALID_GUEST_STATE, e.reason());
        assertFalse("SDM 27.8", x.vcpu.isLaunched());
    }

    @Test
    public void exitFilterConsumesExitsBeforeDispatch() {
        int[] dispatched = {0};
        Fixture x = new Fixture((v, e) -> {
            dispatched[0]++;
            return null;
        }, 0);
        x.vcpu.setExitFilter(e -> e.reason() == ExitReason.EXTERNAL_INTERRUPT);
        x.cpu.kick();
        assertNull(x.vcpu.run());
        assertEquals(ExitReason.EXTERNAL_INTERRUPT, x.vcpu.lastExit().reason());
        assertEquals(0, dispatched[0]);
        assertNotNull(x.vcpu.run()); // HLT from the idle guest: dispatched, nobody took it
        assertEquals(1, dispatched[0]);
    }

    @Test
    public void frozenVcpuAnswersReadsFromTheCapturedVmcs() {
        Fixture x = new Fixture(null, 0);
        x.vcpu.setGuestCr(0, Cr0.PE);
        x.vcpu.freeze();
        x.vcpu.unbindFromCurrentProcessor();
        assertEquals(0x8000, x.vcpu.rip());
        assertEquals(Cr0.PE, x.vcpu.guestCr(0));
        assertEquals(VmCpuMode.PROTECTED, x.vcpu.snapshot().mode());
        assertTrue(x.vcpu.snapshot().format().contains("rip=0x0000000000008000"));
        assertEquals(Long.valueOf(0x8000), x.vcpu.vmcsFields().get(VmcsField.GUEST_RIP));
        assertEquals(VmcsField.VIRTUAL_PROCESSOR_ID, x.vcpu.vmcsFields().firstKey());
        try {
            x.vcpu.vmwrite(VmcsField.GUEST_RIP, 0);
            fail();
        } catch (IllegalStateException expected) {
            assertTrue(expected.getMessage().contains("read-only"));
        }
    }

    @Test
    public void attachmentsAreCreatedOncePerVcpu() {
        Fixture x = new Fixture(null, 0);
        StringBuilder a = x.vcpu.attachment(StringBuilder.class, StringBuilder::new);
        assertSame(a, x.vcpu.attachment(StringBuilder.class, () -> {
            throw new AssertionError("not called again");
        }));
    }
}
