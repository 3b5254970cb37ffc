package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.MmioAccess;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.core.runtime.LaunchRequest;
import io.jvmx.guests.BundledGuests;
import io.jvmx.guests.GuestImage;
import org.junit.Before;
import org.junit.Test;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Exits of the KVM processor that the catalog guests do not pin down on their own. */
public class KvmExitsTest {

    @Before
    public void kvm() {
        KvmTests.assumeKvm();
    }

    /**
     * MMIO: the read of unmapped guest-physical 0x2000000 is an EPT violation with the address and a read access;
     * a device completes it with a value, and the guest, resumed, prints that value (ept-violation.S says so).
     */
    @Test(timeout = 60_000)
    public void anMmioReadIsCompletedByTheDeviceThatOwnsTheAddress() throws Exception {
        Platform platform = new Platform();
        List<String> seen = new ArrayList<>();
        platform.register("test.mmio-device", (vcpu, exit) -> {
            MmioAccess a = vcpu.mmioAccess();
            if (a == null || a.guestPhysicalAddress() != 0x0200_0000L) {
                return ExitAction.PASS;
            }
            seen.add(String.format("%#x %d %s qual %#x gpa %#x", a.guestPhysicalAddress(), a.size(),
                    a.write() ? "write" : "read", exit.qualification(),
                    vcpu.vmread(VmcsField.GUEST_PHYSICAL_ADDRESS)));
            vcpu.completeMmio(0xA5);
            return ExitAction.HANDLED;
        }, ExitReason.EPT_VIOLATION);
        Platform.Run r = platform.run("ept-violation", "kvm", 30);
        assertEquals(r.outcome().reason() + "\n" + r.serial(), Integer.valueOf(0), r.outcome().exitCode());
        assertTrue(r.serial(), r.serial().contains("ept-violation: read returned 0x000000a5"));
        // bit 0: a data read; bits 5:3: the address has no EPT entry
        assertEquals(List.of("0x2000000 1 read qual 0x1 gpa 0x2000000"), seen);
    }

    /** The software processor leaves decoding to the VMM: no decoded access, and the same device passes. */
    @Test(timeout = 60_000)
    public void theSoftwareProcessorOffersNoDecodedAccess() throws Exception {
        Platform platform = new Platform();
        List<MmioAccess> seen = new ArrayList<>();
        platform.register("test.mmio-device", (vcpu, exit) -> {
            seen.add(vcpu.mmioAccess());
            return ExitAction.PASS;
        }, ExitReason.EPT_VIOLATION);
        Platform.Run r = platform.run("ept-violation", "software", 30);
        assertEquals(ExitReason.EPT_VIOLATION, r.outcome().unhandledExit().reason());
        assertEquals(1, seen.size());
        assertNull(seen.get(0));
    }

    /** KVM refusing guest code is one line: what happened, RIP, the instruction bytes. */
    @Test(timeout = 60_000)
    public void anInstructionKvmCannotEmulateEndsTheRunWithOneClearLine() throws Exception {
        Platform.Run r = new Platform().run("xsetbv", "kvm", 30);
        String why = r.outcome().reason();
        if (r.outcome().exitCode() != null) {
            return; // a KVM that can emulate XSETBV: nothing to refuse
        }
        assertFalse(why, why.contains("\n"));
        assertTrue(why, why.startsWith("KVM stopped the guest: it could not emulate an instruction "
                + "(KVM_EXIT_INTERNAL_ERROR) at RIP 0x8037, CS base 0x0, 16-bit code, instruction bytes 0f 01 d0"));
    }

    /**
     * The exits KVM keeps in the kernel are not invented: a guest that runs CPUID 1,000 times causes no CPUID exit,
     * yet it sees the CPUID handler's hypervisor signature, which went into KVM's CPUID table.
     */
    @Test(timeout = 60_000)
    public void cpuidIsAnsweredFromTheTableTheCpuidHandlerComputed() throws Exception {
        Platform.Run r = new Platform().run("cpuid-loop", "kvm", 30);
        assertEquals(Integer.valueOf(0), r.outcome().exitCode());
        assertFalse(r.stats().exitsByReason().toString(), r.stats().exitsByReason().containsKey(ExitReason.CPUID));
        assertTrue(r.serial(), r.serial().contains("report: 0x524d5652")); // "RVMR"
    }

    /**
     * The guest state of the last exit is in the VMCS as the software processor leaves it: the ept-violation guest
     * stops in flat 32-bit protected mode, which the VMM reads back (segment and control registers are saved only
     * when first read, so this is that path).
     */
    @Test(timeout = 60_000)
    public void theGuestStateOfTheLastExitIsInTheVmcs() throws Exception {
        GuestImage g = BundledGuests.catalog().find("ept-violation").orElseThrow();
        Platform platform = new Platform();
        Map<String, Long> state = new java.util.TreeMap<>();
        for (String kind : new String[] {"software", "kvm"}) {
            var h = platform.runtime.launch(LaunchRequest.of("ept-violation", g.bytes(), g.loadAddress(), g.entry(),
                    new ByteArrayOutputStream()).withProcessor(kind));
            h.awaitOutcome(java.time.Duration.ofSeconds(30)).orElseThrow();
            Map<String, Long> s = h.inspect(v -> Map.of("cr0.pe", v.guestCr(0) & 1,
                    "cs.ar", v.vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS), "cs", v.vmread(VmcsField.GUEST_CS_SELECTOR),
                    "ds", v.vmread(VmcsField.GUEST_DS_SELECTOR), "gdtr.limit", v.vmread(VmcsField.GUEST_GDTR_LIMIT),
                    "rip", v.rip(), "efer", v.vmread(VmcsField.GUEST_IA32_EFER)), java.time.Duration.ofSeconds(10));
            if (kind.equals("software")) {
                state.putAll(s);
            } else {
                assertEquals("the KVM processor's VMCS after the exit, against the software processor's", state,
                        new java.util.TreeMap<>(s));
            }
        }
        assertEquals(Long.valueOf(1), state.get("cr0.pe"));
        assertEquals(Long.valueOf(0x08), state.get("cs"));
    }

    /**
     * Segment and control registers are saved from KVM only when a VMM reads one, and an exit whose handlers read none
     * leaves them unsaved: the values read at a later exit are still those of that exit, not of an earlier one. The
     * demo goes from real mode through protected mode to long mode between its serial writes; a handler ahead of the
     * UART reads CS, CR0 and EFER at every 7th OUT to the data port only (the exits in between save nothing), and on
     * KVM it sees what the software processor sees at the same OUTs (KVM's run stops earlier, at XSETBV).
     */
    @Test(timeout = 60_000)
    public void segmentAndControlRegistersReadAfterUnreadIoExitsAreThoseOfTheExit() throws Exception {
        Map<String, List<String>> seen = new java.util.HashMap<>();
        for (String kind : new String[] {"software", "kvm"}) {
            Platform platform = new Platform();
            List<String> states = new ArrayList<>();
            int[] outs = {0};
            platform.register("test.state-reader", 100, (vcpu, exit) -> {
                io.jvmx.vmx.api.exit.IoQualification q = io.jvmx.vmx.api.exit.IoQualification.decode(
                        exit.qualification());
                if (q.port() == 0x3F8 && !q.in() && ++outs[0] % 7 == 0) {
                    states.add(String.format("out %d: cs %#x ar %#x cr0.pe %d efer.lma %d", outs[0],
                            vcpu.vmread(VmcsField.GUEST_CS_SELECTOR), vcpu.vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS),
                            vcpu.guestCr(0) & 1, (vcpu.vmread(VmcsField.GUEST_IA32_EFER) >>> 10) & 1));
                }
                return ExitAction.PASS;
            }, ExitReason.IO_INSTRUCTION);
            platform.run("demo", kind, 30);
            seen.put(kind, states);
        }
        List<String> kvm = seen.get("kvm");
        List<String> software = seen.get("software");
        assertTrue("the software run goes at least as far: " + software + " / " + kvm,
                software.size() >= kvm.size());
        assertEquals(software.subList(0, kvm.size()), kvm);
        assertTrue("real, protected and long mode among the reads: " + kvm,
                kvm.stream().map(x -> x.replaceAll("^out \\d+: ", "")).distinct().count() >= 3);
    }

    /**
     * Debug exits: with the monitor trap flag on, every instruction is a MONITOR_TRAP_FLAG exit (KVM single-steps the
     * guest), each after one more instruction, until the VMM turns it off again.
     */
    @Test(timeout = 60_000)
    public void theMonitorTrapFlagSingleStepsTheGuest() throws Exception {
        Platform platform = new Platform();
        List<Long> rips = new ArrayList<>();
        int mtf = io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG;
        platform.register("test.mtf-on", 100, (vcpu, exit) -> {
            if (rips.isEmpty()) { // the first port exit: single-step from here on
                long p = vcpu.vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
                vcpu.vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, p | mtf);
                rips.add(-1L);
            }
            return ExitAction.PASS; // the devices complete the OUT
        }, ExitReason.IO_INSTRUCTION);
        platform.register("test.mtf", (vcpu, exit) -> {
            rips.add(exit.guestRip());
            if (rips.size() > 8) {
                long p = vcpu.vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
                vcpu.vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, p & ~mtf);
            }
            return ExitAction.HANDLED;
        }, ExitReason.MONITOR_TRAP_FLAG);
        Platform.Run r = platform.run("hello", "kvm", 30);
        assertEquals(r.outcome().reason(), Integer.valueOf(0), r.outcome().exitCode());
        assertEquals(r.stats().exitsByReason().toString(), Long.valueOf(8),
                r.stats().exitsByReason().get(ExitReason.MONITOR_TRAP_FLAG));
        List<Long> stepped = rips.subList(1, rips.size());
        assertEquals("one instruction per exit, each somewhere new: " + stepped, stepped.size(),
                stepped.stream().distinct().count());
    }

    /** Guest state KVM refuses is a VM-entry failure (exit reason 33 with bit 31), as VM entry's checks make it. */
    @Test(timeout = 60_000)
    public void guestStateKvmRefusesIsAnEntryFailure() throws Exception {
        refusedGuestState(false);
    }

    /**
     * The same when the VMX-preemption timer has already run down at that entry: the runner gives KVM the new state
     * before it reports the timer's exit, and KVM's refusal is still the entry's failure, not an error of the runner
     * (this depended on timing before).
     */
    @Test(timeout = 60_000)
    public void guestStateKvmRefusesIsAnEntryFailureAlsoWhenTheTimerHasRunDown() throws Exception {
        refusedGuestState(true);
    }

    private void refusedGuestState(boolean timerRunDown) throws Exception {
        Platform platform = new Platform();
        platform.register("test.bad-cr0", 100, (vcpu, exit) -> {
            if (timerRunDown) {
                long pin = vcpu.vmread(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
                assertTrue("the run has a time slice", (pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0);
                vcpu.vmwrite(VmcsField.VMX_PREEMPTION_TIMER_VALUE, 0);
            }
            // CR0.PG without CR0.PE: the SDM's entry checks refuse it (27.3.1.1), and so does KVM_SET_SREGS
            vcpu.vmwrite(VmcsField.CR0_READ_SHADOW, vcpu.vmread(VmcsField.CR0_READ_SHADOW) | (1L << 31));
            vcpu.vmwrite(VmcsField.GUEST_CR0, (vcpu.vmread(VmcsField.GUEST_CR0) | (1L << 31)) & ~1L);
            vcpu.vmwrite(VmcsField.CR0_READ_SHADOW, vcpu.vmread(VmcsField.CR0_READ_SHADOW) & ~1L);
            return ExitAction.PASS;
        }, ExitReason.IO_INSTRUCTION);
        Platform.Run r = platform.run("hello", "kvm", 30);
        assertEquals(io.jvmx.vmx.api.handler.VCpuState.FAILED, r.outcome().state());
        assertTrue(r.outcome().reason(), r.outcome().reason().startsWith(
                "VM entry failed: VM_ENTRY_FAILURE_INVALID_GUEST_STATE at RIP"));
    }

    /** A stop request (a kick from another thread) gets a guest out of a loop without exits. */
    @Test(timeout = 60_000)
    public void aKickEndsAGuestThatNeverExits() throws Exception {
        GuestImage g = BundledGuests.catalog().find("preempt").orElseThrow();
        // no time slice: only the kick can end KVM_RUN
        LaunchRequest req = LaunchRequest.of("preempt", g.bytes(), g.loadAddress(), g.entry(),
                new ByteArrayOutputStream()).withProcessor("kvm").withTimeSlice(0);
        Platform platform = new Platform();
        var h = platform.runtime.launch(req);
        Thread.sleep(200);
        long t0 = System.nanoTime();
        h.stop();
        var outcome = h.awaitOutcome(java.time.Duration.ofSeconds(10)).orElseThrow();
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(outcome.reason(), outcome.reason().equals("stopped by request")
                || outcome.reason().startsWith("guest exited with code 0"));
        assertTrue("the kick took " + ms + " ms", ms < 5_000);
    }
}
