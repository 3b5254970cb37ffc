package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static io.jvmx.vmx.emulated.vmx.VmxFixture.code;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.CrAccessQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.cpu.CpuState;

import org.junit.Test;

/**
 * Instructions that cause VM exits in VMX non-root operation (SDM Vol. 3C, 26.1.2 unconditionally, 26.1.3 per the
 * VM-execution controls) and the priority of those exits against the instruction's faults (26.1.1), run by 64-bit
 * guests (and the fixture's real-mode guest where the mode matters) with the exit information each records (28.2).
 * Guest code is given as the bytes GNU as produces for the assembly in the comments.
 */
public class InstructionExitsTest {
    private final VmxFixture fx = new VmxFixture();

    private void set(VmcsField field, long bits) {
        fx.write(field, fx.read(field) | bits);
    }

    private void clear(VmcsField field, long bits) {
        fx.write(field, fx.read(field) & ~bits);
    }

    private void runLongMode(int cpl, String hex) {
        fx.longModeGuest(cpl);
        fx.load(VmxFixture.GUEST_ENTRY, code(hex));
        fx.cpu.vmlaunch(fx.guestRegisters);
    }

    /** The VM exit of an instruction: its basic reason, RIP still on the instruction, its length (28.2.5). */
    private void assertExit(ExitReason reason, long rip, int length) {
        assertEquals("exit reason", reason.number(), fx.exitReason());
        assertEquals("guest RIP", rip, fx.read(GUEST_RIP));
        assertEquals("instruction length", length, fx.read(VM_EXIT_INSTRUCTION_LENGTH));
    }

    /** An exception exit (exception bitmap, SDM 26.2) of a hardware exception at {@code rip}. */
    private void assertException(int vector, long rip) {
        assertEquals("exit reason", ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        InterruptionInfo info = InterruptionInfo.decode(fx.read(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals("vector", vector, info.vector());
        assertEquals(InterruptionType.HARDWARE_EXCEPTION, info.type());
        assertEquals("guest RIP", rip, fx.read(GUEST_RIP));
    }

    private void resumeAfterInstruction() {
        fx.write(GUEST_RIP, fx.read(GUEST_RIP) + fx.read(VM_EXIT_INSTRUCTION_LENGTH));
        fx.cpu.vmresume(fx.guestRegisters);
    }

    private static final long ENTRY = VmxFixture.GUEST_ENTRY;

    // ---- 26.1.3, instruction by instruction ------------------------------------------------------------------------

    /** SDM 26.1.3 HLT: exits with "HLT exiting"; 26.1.1: at CPL 3 the #GP comes first. */
    @Test(timeout = 10_000)
    public void hltExitingAfterThePrivilegeCheck() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.HLT_EXITING);
        runLongMode(0, "f4"); // hlt
        assertExit(ExitReason.HLT, ENTRY, 1);
        assertEquals(CpuState.ACTIVITY_ACTIVE, fx.read(GUEST_ACTIVITY_STATE));

        VmxFixture user = new VmxFixture();
        user.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                user.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
        user.write(EXCEPTION_BITMAP, 1 << 13);
        user.longModeGuest(3);
        user.load(ENTRY, code("f4"));
        user.cpu.vmlaunch(user.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), user.exitReason());
        assertEquals(InterruptionInfo.VALID | (3 << 8) | (1 << 11) | 13, user.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(0, user.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
    }

    /** SDM 26.1.3 INVLPG; 28.2.1: the qualification is the linear-address operand. */
    @Test(timeout = 10_000)
    public void invlpgExitingReportsTheLinearAddress() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.INVLPG_EXITING);
        // mov $0x5000,%rax / invlpg 0x1234(%rax)
        runLongMode(0, "48 c7 c0 00 50 00 00  0f 01 b8 34 12 00 00");
        assertExit(ExitReason.INVLPG, ENTRY + 7, 7);
        assertEquals(0x6234, fx.read(EXIT_QUALIFICATION));
    }

    /**
     * SDM 26.1.3 MONITOR and MWAIT; 28.2.1: an MWAIT exit's qualification is 1 if the address-range monitoring
     * hardware is armed, else 0. MWAIT at CPL 3 is #UD before the exit (26.1.1).
     */
    @Test(timeout = 10_000)
    public void monitorAndMwaitExiting() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.MWAIT_EXITING);
        // xor %ecx,%ecx / xor %edx,%edx / mov $0x9000,%eax / monitor / mwait
        runLongMode(0, "31 c9  31 d2  b8 00 90 00 00  0f 01 c8  0f 01 c9");
        assertExit(ExitReason.MWAIT, ENTRY + 12, 3);
        assertEquals("armed by MONITOR", 1, fx.read(EXIT_QUALIFICATION));
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.MONITOR_EXITING);
        fx.write(GUEST_RIP, ENTRY);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.MONITOR, ENTRY + 9, 3);

        VmxFixture user = new VmxFixture();
        user.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                user.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.MWAIT_EXITING);
        user.write(EXCEPTION_BITMAP, 1 << 6);
        user.longModeGuest(3);
        user.load(ENTRY, code("0f 01 c9"));
        user.cpu.vmlaunch(user.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), user.exitReason());
        assertEquals(6, user.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);
    }

    /** SDM 26.1.3 MWAIT: without a MONITOR the qualification is 0. */
    @Test(timeout = 10_000)
    public void mwaitWithoutMonitorIsNotArmed() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.MWAIT_EXITING);
        runLongMode(0, "31 c9  0f 01 c9"); // xor %ecx,%ecx / mwait
        assertExit(ExitReason.MWAIT, ENTRY + 2, 3);
        assertEquals(0, fx.read(EXIT_QUALIFICATION));
    }

    /** SDM 26.1.3 RDPMC; 26.1.1: at CPL 3 with CR4.PCE = 0 the #GP has priority. */
    @Test(timeout = 10_000)
    public void rdpmcExiting() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.RDPMC_EXITING);
        set(EXCEPTION_BITMAP, 1 << 13);
        runLongMode(0, "0f 33");
        assertExit(ExitReason.RDPMC, ENTRY, 2);
        fx.longModeGuest(3);
        fx.cpu.vmresume(fx.guestRegisters);
        assertException(13, ENTRY);
    }

    /**
     * SDM 26.1.3 RDTSC and RDTSCP: both exit with "RDTSC exiting" (RDTSCP as exit 51); RDTSCP is #UD unless
     * "enable RDTSCP" is 1 (26.3), whatever "RDTSC exiting" says.
     */
    @Test(timeout = 10_000)
    public void rdtscAndRdtscpExiting() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.RDTSC_EXITING);
        set(EXCEPTION_BITMAP, 1 << 6);
        runLongMode(0, "0f 31  0f 01 f9"); // rdtsc / rdtscp
        assertExit(ExitReason.RDTSC, ENTRY, 2);
        resumeAfterInstruction();
        assertException(6, ENTRY + 2);
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.ENABLE_RDTSCP);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.RDTSCP, ENTRY + 2, 3);
    }

    /** SDM 26.1.3 MOV to/from CR3 (CR3-load exiting but for the first CR3-target-count targets; CR3-store). */
    @Test(timeout = 10_000)
    public void cr3LoadAndStoreExiting() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.CR3_LOAD_EXITING
                | PrimaryProcessorBasedControls.CR3_STORE_EXITING);
        fx.write(CR3_TARGET_COUNT, 1);
        fx.write(CR3_TARGET_VALUE_0, VmxFixture.LONG_MODE_PML4);
        fx.write(CR3_TARGET_VALUE_1, 0x2000); // beyond the count
        fx.guestRegisters.set(GeneralRegisters.RCX, VmxFixture.LONG_MODE_PML4);
        // mov %rcx,%cr3 (a target: no exit) / mov %cr3,%rbx / mov %rcx,%cr3 (RCX = 0x2000 by then)
        runLongMode(0, "0f 22 d9  0f 20 db  0f 22 d9");
        assertExit(ExitReason.CR_ACCESS, ENTRY + 3, 3);
        assertEquals(new CrAccessQualification(3, CrAccessQualification.AccessType.MOV_FROM_CR, false, 3, 0),
                CrAccessQualification.decode(fx.read(EXIT_QUALIFICATION)));
        fx.guestRegisters.set(GeneralRegisters.RCX, 0x2000);
        resumeAfterInstruction();
        assertExit(ExitReason.CR_ACCESS, ENTRY + 6, 3);
        assertEquals(new CrAccessQualification(3, CrAccessQualification.AccessType.MOV_TO_CR, false, 1, 0),
                CrAccessQualification.decode(fx.read(EXIT_QUALIFICATION)));
        assertEquals(VmxFixture.LONG_MODE_PML4, fx.read(GUEST_CR3));
    }

    /** SDM 26.1.3 MOV to/from CR8 (64-bit mode only): CR8-load and CR8-store exiting, Table 28-3 qualification. */
    @Test(timeout = 10_000)
    public void cr8LoadAndStoreExiting() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.CR8_LOAD_EXITING
                | PrimaryProcessorBasedControls.CR8_STORE_EXITING);
        runLongMode(0, "44 0f 20 c2  44 0f 22 c6"); // mov %cr8,%rdx / mov %rsi,%cr8
        assertExit(ExitReason.CR_ACCESS, ENTRY, 4);
        assertEquals(8 | (1 << 4) | (2 << 8), fx.read(EXIT_QUALIFICATION));
        resumeAfterInstruction();
        assertExit(ExitReason.CR_ACCESS, ENTRY + 4, 4);
        assertEquals(8 | (6 << 8), fx.read(EXIT_QUALIFICATION));
    }

    /**
     * SDM 26.1.3 MOV DR: "MOV-DR exiting" takes priority over the #GP of CPL 3 and over the #UD of DR4 with CR4.DE,
     * unlike the other exits (26.1.1); Table 28-4 qualification.
     */
    @Test(timeout = 10_000)
    public void movDrExitingBeatsPrivilegeAndDebugExtensions() {
        set(EXCEPTION_BITMAP, (1 << 6) | (1 << 13));
        // CPL 3, without the control: #GP
        runLongMode(3, "0f 21 f8"); // mov %dr7,%rax
        assertException(13, ENTRY);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.MOV_DR_EXITING);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.MOV_DR, ENTRY, 3);
        assertEquals(7 | (1 << 4), fx.read(EXIT_QUALIFICATION));

        VmxFixture de = new VmxFixture();
        de.write(EXCEPTION_BITMAP, (1 << 6) | (1 << 13));
        de.longModeGuest(0);
        de.write(GUEST_CR4, de.read(GUEST_CR4) | Cr4.DE);
        de.load(ENTRY, code("0f 23 e0")); // mov %rax,%dr4
        de.cpu.vmlaunch(de.guestRegisters);
        assertEquals(ExitReason.EXCEPTION_OR_NMI.number(), de.exitReason());
        assertEquals(6, de.read32(VM_EXIT_INTERRUPTION_INFORMATION) & 0xFF);
        de.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                de.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.MOV_DR_EXITING);
        de.cpu.vmresume(de.guestRegisters);
        assertEquals(ExitReason.MOV_DR.number(), de.exitReason());
        assertEquals(4, de.read(EXIT_QUALIFICATION));
    }

    /**
     * SDM 26.1.3 IN/OUT with "unconditional I/O exiting" (no bitmaps); 26.1.1: the I/O-permission #GP at CPL 3
     * (IOPL 0, no I/O permission bitmap in the TSS) comes first.
     */
    @Test(timeout = 10_000)
    public void unconditionalIoExitingAfterTheIoPermissionCheck() {
        clear(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.USE_IO_BITMAPS);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.UNCONDITIONAL_IO_EXITING);
        set(EXCEPTION_BITMAP, 1 << 13);
        runLongMode(0, "e4 60"); // in $0x60,%al
        assertExit(ExitReason.IO_INSTRUCTION, ENTRY, 2);
        assertEquals(new IoQualification(1, true, false, false, true, 0x60),
                IoQualification.decode(fx.read(EXIT_QUALIFICATION)));
        fx.longModeGuest(3);
        fx.cpu.vmresume(fx.guestRegisters);
        assertException(13, ENTRY);
    }

    /**
     * SDM 26.1.1: "RDMSR of a non-existent MSR with CPL = 0 generates a VM exit and not a general-protection
     * exception"; at CPL 3 the #GP comes first. MSRs outside the bitmap ranges always exit (26.1.3).
     */
    @Test(timeout = 10_000)
    public void rdmsrExitBeatsTheInvalidMsrFault() {
        set(EXCEPTION_BITMAP, 1 << 13);
        fx.guestRegisters.set(GeneralRegisters.RCX, 0x1234_5678);
        runLongMode(0, "0f 32");
        assertExit(ExitReason.RDMSR, ENTRY, 2);
        fx.longModeGuest(3);
        fx.cpu.vmresume(fx.guestRegisters);
        assertException(13, ENTRY);
    }

    /** SDM 26.1.3 PAUSE with "PAUSE exiting": every PAUSE exits, at any CPL. */
    @Test(timeout = 10_000)
    public void pauseExiting() {
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.PAUSE_EXITING);
        runLongMode(3, "f3 90");
        assertExit(ExitReason.PAUSE, ENTRY, 2);
    }

    /**
     * SDM 26.1.3 PAUSE-loop exiting: "1: pause; jmp 1b" at CPL 0 with PLE_Gap 10 and PLE_Window 100 (TSC ticks; the
     * deterministic TSC ticks once per instruction). The first PAUSE after VM entry starts the loop at TSC t; the
     * PAUSE of iteration k runs at t + 2k and exits once 2k > 100, i.e. at k = 51, after 102 retired instructions.
     */
    @Test(timeout = 10_000)
    public void pauseLoopExitingAfterTheWindow() {
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.PAUSE_LOOP_EXITING);
        fx.write(PLE_GAP, 10);
        fx.write(PLE_WINDOW, 100);
        runLongMode(0, "f3 90  eb fc");
        assertExit(ExitReason.PAUSE, ENTRY, 2);
        assertEquals(102, fx.cpu.guestInstructionsRetired());
        // re-entry: the first PAUSE after it starts a new loop, so the next exit is again 102 instructions later
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.PAUSE, ENTRY, 2);
        assertEquals(204, fx.cpu.guestInstructionsRetired());
    }

    /**
     * SDM 26.1.3 PAUSE-loop exiting: PAUSEs further apart than PLE_Gap each start a new loop and never exit
     * ("1: pause; mov $20,%ecx; 2: loop 2b; jmp 1b": 23 ticks apart, gap 10); at CPL 3 the control is ignored. The
     * VMX-preemption timer ends both runs.
     */
    @Test(timeout = 10_000)
    public void pauseLoopExitingHonoursTheGapAndCpl() {
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.PAUSE_LOOP_EXITING);
        set(PIN_BASED_VM_EXECUTION_CONTROLS, PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 100); // 3200 ticks
        fx.write(PLE_GAP, 10);
        fx.write(PLE_WINDOW, 100);
        runLongMode(0, "f3 90  b9 14 00 00 00  e2 fe  eb f5");
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number(), fx.exitReason());

        fx.load(ENTRY, code("f3 90  eb fc"));
        fx.longModeGuest(3);
        fx.write(GUEST_RIP, ENTRY);
        fx.write(VMX_PREEMPTION_TIMER_VALUE, 100);
        fx.cpu.vmresume(fx.guestRegisters);
        assertEquals(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number(), fx.exitReason());
    }

    /**
     * SDM 26.1.3 descriptor-table exiting: SGDT, SIDT, LGDT, LIDT exit with reason 46, SLDT, STR, LLDT, LTR with 47;
     * the qualification is the displacement (for RIP-relative addressing plus the next RIP, 28.2.1); the
     * instruction information follows Tables 28-10 and 28-11.
     */
    @Test(timeout = 10_000)
    public void descriptorTableExiting() {
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.DESCRIPTOR_TABLE_EXITING);
        // sgdt 0x10(%rbx) / sidt 0x20(%rbx,%rcx,4) / lgdt 0x30(%rip) / lidt (%rsi)
        // sldt %ax / str 0x40(%rdi) / lldt %cx / ltr %dx
        runLongMode(0, "0f 01 43 10  0f 01 4c 8b 20  0f 01 15 30 00 00 00  0f 01 1e"
                + "  66 0f 00 c0  0f 00 4f 40  0f 00 d1  0f 00 da");
        int addr64 = 2 << 7;
        int ds = CpuState.DS << 15;
        int noIndex = 1 << 22;
        int noBase = 1 << 27;
        long[][] expected = {
                // reason, rip offset, length, qualification, information (bit 11, the operand size, is undefined
                // in 64-bit mode and not compared)
                {46, 0, 4, 0x10, addr64 | ds | noIndex | (3 << 23)},
                {46, 4, 5, 0x20, 2 | addr64 | ds | (1 << 18) | (3 << 23) | (1 << 28)},
                {46, 9, 7, 0x30 + ENTRY + 16, addr64 | ds | noIndex | noBase | (2 << 28)},
                {46, 16, 3, 0, addr64 | ds | noIndex | (6 << 23) | (3 << 28)},
                {47, 19, 4, 0, addr64 | (0 << 3) | (1 << 10)},
                {47, 23, 4, 0x40, addr64 | ds | noIndex | (7 << 23) | (1 << 28)},
                {47, 27, 3, 0, addr64 | (1 << 3) | (1 << 10) | (2 << 28)},
                {47, 30, 3, 0, addr64 | (2 << 3) | (1 << 10) | (3 << 28)}};
        for (int n = 0; n < expected.length; n++) {
            long[] e = expected[n];
            if (n > 0) {
                resumeAfterInstruction();
            }
            assertExit(ExitReason.of((int) e[0]).orElseThrow(), ENTRY + e[1], (int) e[2]);
            assertEquals("qualification of #" + n, e[3], fx.read(EXIT_QUALIFICATION));
            boolean register = (e[4] & (1 << 10)) != 0;
            // the bits Tables 28-10/28-11 define: for memory operands 1:0, 10:7, 29:15; for registers 6:3, 10, 29:28
            long defined = register ? 0x3000_0478L : 0x3FFF_8783L;
            assertEquals("instruction information of #" + n, e[4] & defined,
                    fx.read(VM_EXIT_INSTRUCTION_INFORMATION) & defined);
        }
    }

    /** SDM 26.1.1: the #UD of SLDT in real mode and the UMIP #GP of SGDT at CPL 3 come before descriptor-table exits. */
    @Test(timeout = 10_000)
    public void descriptorTableExitingAfterModeAndPrivilegeChecks() {
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.DESCRIPTOR_TABLE_EXITING);
        set(EXCEPTION_BITMAP, (1 << 6) | (1 << 13));
        fx.load(ENTRY, code("0f 00 c0")); // sldt %ax in real mode
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertException(6, ENTRY);
        fx.longModeGuest(3);
        fx.write(GUEST_CR4, fx.read(GUEST_CR4) | Cr4.UMIP);
        fx.load(ENTRY, code("0f 01 43 10")); // sgdt 0x10(%rbx)
        fx.cpu.vmresume(fx.guestRegisters);
        assertException(13, ENTRY);
        fx.write(GUEST_CR4, fx.read(GUEST_CR4) & ~Cr4.UMIP);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.ACCESS_TO_GDTR_OR_IDTR, ENTRY, 4);
    }

    /** SDM 26.1.3 RDRAND/RDSEED exiting; Table 28-12: destination register and operand size. */
    @Test(timeout = 10_000)
    public void rdrandAndRdseedExiting() {
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.RDRAND_EXITING
                | SecondaryProcessorBasedControls.RDSEED_EXITING);
        runLongMode(0, "0f c7 f0  49 0f c7 f9"); // rdrand %eax / rdseed %r9
        assertExit(ExitReason.RDRAND, ENTRY, 3);
        assertEquals(1 << 11, fx.read(VM_EXIT_INSTRUCTION_INFORMATION));
        resumeAfterInstruction();
        assertExit(ExitReason.RDSEED, ENTRY + 3, 4);
        assertEquals((9 << 3) | (2 << 11), fx.read(VM_EXIT_INSTRUCTION_INFORMATION));
    }

    /** SDM 26.1.3 WBINVD exiting; 26.1.2: INVD exits unconditionally. */
    @Test(timeout = 10_000)
    public void wbinvdExitingAndInvd() {
        runLongMode(0, "0f 09  0f 08"); // wbinvd / invd
        assertExit(ExitReason.INVD, ENTRY + 2, 2);
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.WBINVD_EXITING);
        fx.write(GUEST_RIP, ENTRY);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.WBINVD_OR_WBNOINVD, ENTRY, 2);
    }

    /**
     * SDM 26.1.2: CPUID, XSETBV (after its #UD for CR4.OSXSAVE = 0), VMCALL, INVEPT and INVVPID exit
     * unconditionally; INVEPT/INVVPID report their operands (Table 28-14) and displacement (28.2.1). GETSEC is
     * #UD because CR4.SMXE cannot be set (no SMX).
     */
    @Test(timeout = 10_000)
    public void unconditionalExits() {
        set(EXCEPTION_BITMAP, 1 << 6);
        // cpuid / vmcall / invept 0x8(%rax),%rcx / invvpid (%rbx),%rdx / xsetbv / getsec
        runLongMode(0, "0f a2  0f 01 c1  66 0f 38 80 48 08  66 0f 38 81 13  0f 01 d1  0f 37");
        assertExit(ExitReason.CPUID, ENTRY, 2);
        resumeAfterInstruction();
        assertExit(ExitReason.VMCALL, ENTRY + 2, 3);
        resumeAfterInstruction();
        assertExit(ExitReason.INVEPT, ENTRY + 5, 6);
        assertEquals(8, fx.read(EXIT_QUALIFICATION));
        int addr64 = 2 << 7;
        assertEquals(addr64 | (CpuState.DS << 15) | (1 << 22) | (0 << 23) | (1 << 28),
                fx.read(VM_EXIT_INSTRUCTION_INFORMATION) & 0xFFFF_8783L);
        resumeAfterInstruction();
        assertExit(ExitReason.INVVPID, ENTRY + 11, 5);
        assertEquals(0, fx.read(EXIT_QUALIFICATION));
        assertEquals(addr64 | (CpuState.DS << 15) | (1 << 22) | (3 << 23) | (2 << 28),
                fx.read(VM_EXIT_INSTRUCTION_INFORMATION) & 0xFFFF_8783L);
        resumeAfterInstruction();
        assertException(6, ENTRY + 16); // XSETBV with CR4.OSXSAVE = 0
        fx.write(GUEST_CR4, fx.read(GUEST_CR4) | Cr4.OSXSAVE);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.XSETBV, ENTRY + 16, 3);
        resumeAfterInstruction();
        assertException(6, ENTRY + 19); // GETSEC
        assertEquals(0, VmxCapabilities.CR4_FIXED1 & Cr4.SMXE);
    }

    /**
     * SDM 26.3: INVPCID is #UD unless "enable INVPCID" is 1 (the processor has INVPCID: CPUID.7.0:EBX[10], and the
     * control may be 1, IA32_VMX_PROCBASED_CTLS2 bit 44); with it, "INVLPG exiting" makes INVPCID exit (26.1.3)
     * with its operands in the instruction information (Table 28-14, as INVEPT/INVVPID) and the displacement as
     * the qualification (28.2.1).
     */
    @Test(timeout = 10_000)
    public void invpcidIsUndefinedWithoutItsControlAndExitsUnderInvlpgExiting() {
        assertEquals(SecondaryProcessorBasedControls.ENABLE_INVPCID, (fx.cpu.rdmsr(Msr.IA32_VMX_PROCBASED_CTLS2) >>> 32)
                & SecondaryProcessorBasedControls.ENABLE_INVPCID);
        assertEquals(1 << 10, fx.cpu.cpuid(7, 0).ebx() & (1 << 10));
        set(EXCEPTION_BITMAP, 1 << 6);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.INVLPG_EXITING);
        runLongMode(0, "66 0f 38 82 48 10"); // invpcid 0x10(%rax),%rcx
        assertException(6, ENTRY);
        set(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, SecondaryProcessorBasedControls.ENABLE_INVPCID);
        fx.write(GUEST_RIP, ENTRY);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.INVPCID, ENTRY, 6);
        assertEquals(0x10, fx.read(EXIT_QUALIFICATION));
        assertEquals((2 << 7) | (CpuState.DS << 15) | (1 << 22) | (0 << 23) | (1 << 28),
                fx.read(VM_EXIT_INSTRUCTION_INFORMATION) & 0xFFFF_8783L);
    }

    /**
     * SDM Vol. 3C 24.8: in VMX operation CR0.NE (and PE, PG without "unrestricted guest") and CR4.VMXE are fixed to 1
     * (IA32_VMX_CR0_FIXED0, CR4_FIXED0): MOV to CR0/CR4 that would clear one the guest owns is #GP(0). A host-owned
     * bit (guest/host mask 1) is the VMM's: a write that matches the read shadow neither exits nor changes it (26.3).
     */
    @Test(timeout = 10_000)
    public void movToCrCannotClearABitVmxFixesToOne() {
        set(EXCEPTION_BITMAP, 1 << 13);
        set(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, PrimaryProcessorBasedControls.HLT_EXITING);
        // mov rax, cr0 / and eax, ~NE / mov cr0, rax / mov rax, cr4 / and eax, ~VMXE / mov cr4, rax / hlt
        runLongMode(0, "0f 20 c0  25 df ff ff ff  0f 22 c0  0f 20 e0  25 ff df ff ff  0f 22 e0  f4");
        assertException(13, ENTRY + 8);
        assertEquals(0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        fx.write(GUEST_RIP, ENTRY + 11);
        fx.cpu.vmresume(fx.guestRegisters);
        assertException(13, ENTRY + 19);

        long cr0 = fx.read(GUEST_CR0);
        fx.write(CR0_GUEST_HOST_MASK, Cr0.NE);
        fx.write(CR0_READ_SHADOW, cr0 & ~Cr0.NE);
        fx.write(CR4_GUEST_HOST_MASK, Cr4.VMXE);
        fx.write(CR4_READ_SHADOW, fx.read(GUEST_CR4) & ~Cr4.VMXE);
        fx.write(GUEST_RIP, ENTRY);
        fx.cpu.vmresume(fx.guestRegisters);
        assertExit(ExitReason.HLT, ENTRY + 22, 1);
        assertEquals("NE stays 1 under the host's mask", Cr0.NE, fx.read(GUEST_CR0) & Cr0.NE);
        assertEquals("VMXE stays 1 under the host's mask", Cr4.VMXE, fx.read(GUEST_CR4) & Cr4.VMXE);
    }
}
