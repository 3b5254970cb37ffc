package io.jvmx.apic.device;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.jvmx.apic.LocalApic;
import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.CrAccessQualification;
import io.jvmx.vmx.api.exit.EptViolationQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.List;
import java.util.Map;
import java.util.OptionalLong;

import org.junit.Test;

/**
 * The APIC device's side of each exit: what the guest's RDMSR/WRMSR, MOV CR8 and loads/stores in the xAPIC page do,
 * the #GP(0) that a refused access becomes, the exit deadline the timer asks for, and the CPUID bits.
 */
public class LocalApicDeviceTest {
    private final LocalApicDevice device = new LocalApicDevice();
    private final FakeVCpu vcpu = new FakeVCpu();

    private ExitAction wrmsr(int msr, long value) throws Exception {
        vcpu.writeGpr(GeneralRegisters.RCX, msr);
        vcpu.writeGpr(GeneralRegisters.RAX, value & 0xFFFF_FFFFL);
        vcpu.writeGpr(GeneralRegisters.RDX, value >>> 32);
        return device.handle(vcpu, vcpu.exit(ExitReason.WRMSR, 0, 2));
    }

    private ExitAction rdmsr(int msr) throws Exception {
        vcpu.writeGpr(GeneralRegisters.RCX, msr);
        vcpu.writeGpr(GeneralRegisters.RAX, 0xDEAD_BEEF_0000_0000L);
        return device.handle(vcpu, vcpu.exit(ExitReason.RDMSR, 0, 2));
    }

    private long edxEax() {
        return vcpu.readGpr(GeneralRegisters.RDX) << 32 | vcpu.readGpr(GeneralRegisters.RAX);
    }

    @Test
    public void theFirstUseConnectsTheApicAsTheVcpusInterruptController() {
        LocalApic apic = device.apic(vcpu);
        assertSame(apic, vcpu.interruptController());
        assertSame("one per vCPU", apic, device.apic(vcpu));
    }

    @Test
    public void apicMsrsAreReadAndWrittenAndRipAdvances() throws Exception {
        assertEquals(ExitAction.HANDLED, rdmsr(Msr.IA32_APIC_BASE));
        assertEquals("RDMSR clears bits 63:32 of RAX", 0xFEE0_0900L, edxEax());
        assertEquals(0x8002, vcpu.rip());
        assertEquals(ExitAction.HANDLED, wrmsr(Msr.IA32_APIC_BASE, 0xFEE0_0D00L));
        assertEquals(ExitAction.HANDLED, wrmsr(0x808, 0x40));
        assertEquals(ExitAction.HANDLED, rdmsr(0x808));
        assertEquals(0x40, edxEax());
        assertEquals(0x8008, vcpu.rip());
    }

    @Test
    public void aRefusedAccessIsGpWithRipOnTheInstruction() throws Exception {
        assertEquals(ExitAction.HANDLED, rdmsr(0x808)); // xAPIC mode: x2APIC MSRs are #GP (SDM 11.12.2)
        assertEquals(List.of(new PendingEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0)),
                vcpu.pendingEvents());
        assertEquals(0x8000, vcpu.rip());
    }

    @Test
    public void otherMsrsCrsAndAddressesArePassedOn() throws Exception {
        assertEquals(ExitAction.PASS, rdmsr(Msr.IA32_EFER));
        VmExitInfo cr0 = vcpu.exit(ExitReason.CR_ACCESS, new CrAccessQualification(0,
                CrAccessQualification.AccessType.MOV_TO_CR, false, 0, 0).encode(), 3);
        assertEquals(ExitAction.PASS, device.handle(vcpu, cr0));
        vcpu.setExitField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0x0200_0000);
        assertEquals(ExitAction.PASS, device.handle(vcpu, vcpu.exit(ExitReason.EPT_VIOLATION, read(), 0)));
        assertEquals("the time slice is the preemption-timer handler's", ExitAction.PASS,
                device.handle(vcpu, vcpu.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0)));
        assertEquals(0x8000, vcpu.rip());
    }

    @Test
    public void movCr8IsTheTpr() throws Exception {
        vcpu.writeGpr(GeneralRegisters.RBX, 9);
        VmExitInfo to = vcpu.exit(ExitReason.CR_ACCESS, new CrAccessQualification(8,
                CrAccessQualification.AccessType.MOV_TO_CR, false, GeneralRegisters.RBX, 0).encode(), 4);
        assertEquals(ExitAction.HANDLED, device.handle(vcpu, to));
        assertEquals(0x90, device.apic(vcpu).readMmio(LocalApic.TPR, 0));
        VmExitInfo from = vcpu.exit(ExitReason.CR_ACCESS, new CrAccessQualification(8,
                CrAccessQualification.AccessType.MOV_FROM_CR, false, GeneralRegisters.R12, 0).encode(), 4);
        assertEquals(ExitAction.HANDLED, device.handle(vcpu, from));
        assertEquals(9, vcpu.readGpr(GeneralRegisters.R12));
        assertEquals(0x8008, vcpu.rip());
        vcpu.writeGpr(GeneralRegisters.RBX, 0x10);
        assertEquals(ExitAction.HANDLED, device.handle(vcpu, vcpu.exit(ExitReason.CR_ACCESS,
                new CrAccessQualification(8, CrAccessQualification.AccessType.MOV_TO_CR, false,
                        GeneralRegisters.RBX, 0).encode(), 4)));
        assertEquals("bits 63:4 set: #GP(0)", Exceptions.GP, vcpu.pendingEvents().get(0).vector());
    }

    /** 32-bit protected mode without paging: CS.D = 1, the instruction at CS.base + EIP. */
    private void protectedMode(long eip, int... code) {
        vcpu.setGuestCr(0, Cr0.PE | Cr0.ET);
        vcpu.vmwrite(VmcsField.GUEST_CS_ACCESS_RIGHTS, 0xC09B);
        vcpu.vmwrite(VmcsField.GUEST_CS_BASE, 0x1000);
        vcpu.vmwrite(VmcsField.GUEST_RIP, eip);
        put(0x1000 + eip, code);
    }

    private void put(long gpa, int... bytes) {
        for (int i = 0; i < bytes.length; i++) {
            vcpu.memory().write8(gpa + i, bytes[i]);
        }
    }

    private static long read() {
        return new EptViolationQualification(true, false, false, false, false, false, true, true, false).encode();
    }

    private static long write() {
        return new EptViolationQualification(false, true, false, false, false, false, true, true, false).encode();
    }

    @Test
    public void storesAndLoadsInTheXapicPageAreEmulated() throws Exception {
        protectedMode(0x200, 0x89, 0x03); // mov [ebx], eax
        vcpu.writeGpr(GeneralRegisters.RAX, 0x35);
        vcpu.setExitField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0xFEE0_0080L);
        assertEquals(ExitAction.HANDLED, device.handle(vcpu, vcpu.exit(ExitReason.EPT_VIOLATION, write(), 0)));
        assertEquals(0x35, device.apic(vcpu).readMmio(LocalApic.TPR, 0));
        assertEquals(0x202, vcpu.rip());
        put(0x1202, 0x8B, 0x0B); // mov ecx, [ebx]
        vcpu.writeGpr(GeneralRegisters.RCX, -1);
        vcpu.setExitField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0xFEE0_0030L);
        assertEquals(ExitAction.HANDLED, device.handle(vcpu, vcpu.exit(ExitReason.EPT_VIOLATION, read(), 0)));
        assertEquals(LocalApic.VERSION_VALUE, vcpu.readGpr(GeneralRegisters.RCX));
        assertEquals(0x204, vcpu.rip());
    }

    /** 64-bit mode: the instruction's linear address goes through the guest's 4-level paging structures. */
    @Test
    public void inLongModeTheInstructionIsFetchedThroughTheGuestsPaging() throws Exception {
        vcpu.enter64BitMode();
        put(0x10000, 0x03, 0x10, 0x01, 0, 0, 0, 0, 0);    // PML4[0] -> 0x11000
        put(0x11000 + 8 * 3, 0x03, 0x20, 0x01, 0, 0, 0, 0, 0); // PDPT[3] -> 0x12000 (linear 3-4 GiB)
        put(0x12000 + 8 * 0x1F0, 0x03, 0x30, 0x01, 0, 0, 0, 0, 0); // PD[1F0H] -> page table 0x13000
        put(0x13000, 0x03, 0, 0x08, 0, 0, 0, 0, 0);              // PT[0]: 4-KiB page at 0x80000
        vcpu.vmwrite(VmcsField.GUEST_CR3, 0x10000);
        long rip = 0xFE00_0000L + 0x123; // PD index 1F0H of the 4th GiB
        vcpu.vmwrite(VmcsField.GUEST_RIP, rip);
        put(0x80000 + 0x123, 0x8B, 0x04, 0x0A); // mov eax, [rdx + rcx]
        vcpu.setExitField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0xFEE0_00F0L);
        assertEquals(ExitAction.HANDLED, device.handle(vcpu, vcpu.exit(ExitReason.EPT_VIOLATION, read(), 0)));
        assertEquals("the SVR after reset", 0xFF, vcpu.readGpr(GeneralRegisters.RAX));
        assertEquals(rip + 3, vcpu.rip());
    }

    @Test
    public void accessesOfOtherSizesThanFourBytesAreRefused() {
        protectedMode(0x300, 0x66, 0x89, 0x03); // mov [ebx], ax
        vcpu.setExitField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0xFEE0_0080L);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> device.handle(vcpu, vcpu.exit(ExitReason.EPT_VIOLATION, write(), 0)));
        assertTrue(e.getMessage(), e.getMessage().contains("32-bit accesses only"));
    }

    @Test
    public void inX2apicModeThePageIsNotTheApics() throws Exception {
        wrmsr(Msr.IA32_APIC_BASE, 0xFEE0_0D00L);
        protectedMode(0x200, 0x89, 0x03);
        vcpu.setExitField(VmcsField.GUEST_PHYSICAL_ADDRESS, 0xFEE0_0080L);
        assertEquals(ExitAction.PASS, device.handle(vcpu, vcpu.exit(ExitReason.EPT_VIOLATION, write(), 0)));
    }

    /** The timer's next event becomes the vCPU's exit deadline; the exit at that time raises the interrupt. */
    @Test
    public void theTscDeadlineBecomesAnExitDeadlineAndItsExitRaisesTheInterrupt() throws Exception {
        vcpu.setGuestTsc(1000);
        wrmsr(Msr.IA32_APIC_BASE, 0xFEE0_0D00L);
        wrmsr(0x80F, 0x1FF);
        wrmsr(0x832, 2 << 17 | 0x50);
        wrmsr(Msr.IA32_TSC_DEADLINE, 9000);
        assertEquals(OptionalLong.of(9000), vcpu.exitDeadline(LocalApic.class));
        vcpu.setGuestTsc(8999);
        device.handle(vcpu, vcpu.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
        assertEquals(-1, device.apic(vcpu).pendingInterrupt());
        vcpu.setGuestTsc(9010);
        assertEquals(ExitAction.PASS, device.handle(vcpu, vcpu.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0)));
        assertEquals(0x50, vcpu.interruptController().pendingInterrupt());
        assertEquals("fired: no deadline left", OptionalLong.empty(), vcpu.exitDeadline(LocalApic.class));
    }

    @Test
    public void cpuidReportsTheApicWhileItIsEnabledAndX2apicAndTscDeadline() throws Exception {
        CpuidResult processor = new CpuidResult(0x6F1, 0x0301_0800, 0, 0x10);
        CpuidResult leaf1 = device.contribute(vcpu, 1, 0, processor);
        assertEquals(0x10 | LocalApicDevice.EDX1_APIC, leaf1.edx());
        assertEquals(LocalApicDevice.ECX1_X2APIC | LocalApicDevice.ECX1_TSC_DEADLINE, leaf1.ecx());
        assertEquals("initial APIC ID 0", 0x0001_0800, leaf1.ebx());
        wrmsr(Msr.IA32_APIC_BASE, 0xFEE0_0000L);
        assertEquals("globally disabled (SDM 11.4.3)", 0x10, device.contribute(vcpu, 1, 0, processor).edx());
        assertSame(processor, device.contribute(vcpu, 7, 0, processor));
    }

    @Test
    public void theTimerClockIsConfigurable() {
        LocalApicDevice d = new LocalApicDevice();
        d.activate(Map.of(LocalApicDevice.TSC_PER_TICK, 4L));
        LocalApic apic = d.apic(vcpu);
        apic.writeMmio(LocalApic.SVR, 0x1FF, 0);
        apic.writeMmio(LocalApic.LVT_TIMER, 0x40, 0);
        apic.writeMmio(LocalApic.DIVIDE_CONFIGURATION, 0xB, 0);
        apic.writeMmio(LocalApic.TIMER_INITIAL_COUNT, 10, 0);
        assertEquals(40, apic.nextTimerEvent());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LocalApicDevice().activate(Map.of(LocalApicDevice.TSC_PER_TICK, "fast")));
        assertTrue(e.getMessage(), e.getMessage().contains(LocalApicDevice.TSC_PER_TICK));
        assertThrows(IllegalArgumentException.class,
                () -> new LocalApicDevice().activate(Map.of(LocalApicDevice.TSC_PER_TICK, 0)));
    }
}
