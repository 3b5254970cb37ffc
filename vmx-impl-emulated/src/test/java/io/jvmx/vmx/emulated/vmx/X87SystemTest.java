package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;

import org.junit.Test;

/**
 * The x87 FPU, FXSAVE and FXRSTOR as system software sees them, on guests of the software processor: what the
 * differential tests cannot run natively (faults, which would kill the JVM) and what they do not reach (16- and
 * 32-bit code, real and protected mode layouts, CR0 and CR4 settings). Exceptions are observed as VM exits through
 * the exception bitmap (SDM Vol. 3C, 26.2).
 */
public class X87SystemTest {
    private static final int NM = 7, GP = 13, MF = 16;

    /** A real-mode guest at 0x8000 with HLT exiting and the exception bitmap {@code exceptions}. */
    private static VmxFixture realMode(int exceptions, byte[] code) {
        VmxFixture fx = new VmxFixture();
        fx.load(VmxFixture.GUEST_ENTRY, code);
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
        fx.write(EXCEPTION_BITMAP, exceptions);
        return fx;
    }

    /**
     * The same guest in 32-bit protected mode without paging (as "unrestricted guest" allows, SDM 27.3.1.1): CS
     * selector 08H, 32-bit, base 0, limit 4 GiB; data and stack segments 10H; CPL 0.
     */
    private static VmxFixture protectedMode(int exceptions, byte[] code) {
        VmxFixture fx = realMode(exceptions, code);
        fx.write(GUEST_CR0, Cr0.PE | Cr0.NE | Cr0.ET);
        fx.write(CR0_READ_SHADOW, Cr0.PE | Cr0.NE | Cr0.ET);
        VmcsField[][] segments = VmxFixture.GUEST_SEGMENTS;
        for (VmcsField[] s : segments) {
            boolean code32 = s[0] == GUEST_CS_SELECTOR;
            fx.write(s[0], code32 ? 0x08 : 0x10);
            fx.write(s[1], 0);
            fx.write(s[2], 0xFFFF_FFFFL);
            fx.write(s[3], code32 ? 0xC09B : 0xC093);
        }
        fx.write(GUEST_RSP, 0x7000);
        return fx;
    }

    private static int word(VmxFixture fx, long gpa) {
        return fx.memory.read16(fx.guestRam + gpa);
    }

    private static long dword(VmxFixture fx, long gpa) {
        return fx.memory.read32(fx.guestRam + gpa) & 0xFFFF_FFFFL;
    }

    private static long qword(VmxFixture fx, long gpa) {
        return fx.memory.read64(fx.guestRam + gpa);
    }

    private static void putQword(VmxFixture fx, long gpa, long v) {
        fx.memory.write64(fx.guestRam + gpa, v);
    }

    private static void assertException(VmxFixture fx, int vector, long rip) {
        assertEquals("an exception exit", ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        InterruptionInfo info = InterruptionInfo.decode(fx.read(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals(vector, info.vector());
        assertEquals("a fault: RIP of the faulting instruction", rip, fx.read(GUEST_RIP));
    }

    private static void assertHalted(VmxFixture fx, long rip) {
        assertEquals("HLT exit", ExitReason.HLT.number(), fx.exitReason());
        assertEquals(rip, fx.read(GUEST_RIP));
    }

    // ================================================================================== #NM and #MF

    /**
     * SDM Vol. 3A, 2.5 and Table 2-2: an x87 instruction raises #NM when CR0.EM or CR0.TS is set; WAIT/FWAIT only
     * when CR0.MP and CR0.TS both are; FXSAVE when CR0.TS or CR0.EM is (Vol. 2A FXSAVE).
     */
    @Test(timeout = 10_000)
    public void deviceNotAvailableFollowsEmTsAndMp() {
        byte[] fld1 = VmxFixture.bytes(0xD9, 0xE8, 0xF4);              // fld1; hlt
        byte[] fwait = VmxFixture.bytes(0x9B, 0xF4);                   // fwait; hlt
        byte[] fxsave = VmxFixture.bytes(0x0F, 0xAE, 0x06, 0x00, 0x90, 0xF4); // fxsave [0x9000]; hlt
        Object[][] cases = {
                {0L, fld1, false}, {Cr0.TS, fld1, true}, {Cr0.EM, fld1, true}, {Cr0.MP | Cr0.TS, fld1, true},
                {Cr0.TS, fwait, false}, {Cr0.MP | Cr0.TS, fwait, true}, {Cr0.EM, fwait, false},
                {Cr0.MP, fwait, false}, {Cr0.TS, fxsave, true}, {Cr0.EM, fxsave, true}, {Cr0.MP, fxsave, false}};
        for (Object[] c : cases) {
            byte[] code = (byte[]) c[1];
            VmxFixture fx = realMode(1 << NM, code);
            long cr0 = Cr0.NE | Cr0.ET | (long) c[0];
            fx.write(GUEST_CR0, cr0);
            fx.write(CR0_READ_SHADOW, cr0);
            fx.cpu.vmlaunch(fx.guestRegisters);
            String what = String.format("CR0 %#x, %02x", cr0, code[0]);
            if ((boolean) c[2]) {
                assertEquals(what, ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
                assertException(fx, NM, 0x8000);
            } else {
                assertEquals(what, ExitReason.HLT.number(), fx.exitReason());
                assertEquals(what, 0x8000 + code.length - 1, fx.read(GUEST_RIP));
            }
        }
    }

    /**
     * SDM Vol. 1, 8.7 and Vol. 3A, 6.15 (Interrupt 16): an unmasked exception sets ES and B; the instruction that
     * caused it completes without a result; the next waiting x87 instruction (FWAIT, or any x87 instruction but the
     * no-wait ones) raises #MF, a fault without an error code, before it does anything. FNSTSW is a no-wait
     * instruction and stores the status word with the exception.
     */
    @Test(timeout = 10_000)
    public void unmaskedExceptionRaisesMfAtTheNextWaitingInstruction() {
        byte[] code = VmxFixture.bytes(
                0xDB, 0xE3,             // 8000: fninit
                0xD9, 0x2E, 0x00, 0x90, // 8002: fldcw [0x9000]       ; ZE unmasked
                0xD9, 0xEE,             // 8006: fldz
                0xD9, 0xE8,             // 8008: fld1
                0xD8, 0xF1,             // 800A: fdiv st(0), st(1)    ; 1/0: ZE, unmasked: no result
                0xDF, 0xE0,             // 800C: fnstsw ax            ; no-wait
                0x9B,                   // 800E: fwait                ; #MF
                0xF4);                  // 800F: hlt
        VmxFixture fx = realMode(1 << MF, code);
        fx.memory.write16(fx.guestRam + 0x9000, 0x037B);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertException(fx, MF, 0x800E);
        InterruptionInfo info = InterruptionInfo.decode(fx.read(VM_EXIT_INTERRUPTION_INFORMATION));
        assertTrue("#MF has no error code", !info.errorCodeValid());
        assertEquals("hardware exception", 3, (fx.read(VM_EXIT_INTERRUPTION_INFORMATION) >>> 8) & 7);
        // ZE | ES | B, TOP = 6 (two pushes), C1 = 0
        assertEquals(0xB084, fx.guestRegisters.get(GeneralRegisters.RAX) & 0xFFFF);
        assertEquals("retired up to the FWAIT", 6, fx.cpu.guestInstructionsRetired());

        // any waiting x87 instruction in the FWAIT's place faults the same way
        code[14] = (byte) 0xD9;
        code[15] = (byte) 0xE8; // 800E: fld1
        fx = realMode(1 << MF, code);
        fx.memory.write16(fx.guestRam + 0x9000, 0x037B);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertException(fx, MF, 0x800E);

        // FNCLEX (no-wait) clears the exception: the FWAIT passes
        code[14] = (byte) 0xDB;
        code[15] = (byte) 0xE2; // 800E: fnclex
        byte[] longer = new byte[code.length + 2];
        System.arraycopy(code, 0, longer, 0, code.length);
        longer[16] = (byte) 0x9B; // 8010: fwait
        longer[17] = (byte) 0xF4; // 8011: hlt
        fx = realMode(1 << MF, longer);
        fx.memory.write16(fx.guestRam + 0x9000, 0x037B);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertHalted(fx, 0x8011);
    }

    /** SDM Vol. 2A FLDCW: a load of the control word that unmasks a flag already set makes it pending. */
    @Test(timeout = 10_000)
    public void unmaskingASetFlagMakesItPending() {
        byte[] code = VmxFixture.bytes(
                0xDB, 0xE3,             // 8000: fninit
                0xD9, 0xEE,             // 8002: fldz
                0xD9, 0xE8,             // 8004: fld1
                0xD8, 0xF1,             // 8006: fdiv st(0), st(1)  ; masked ZE: +infinity, ZE set
                0xD9, 0x2E, 0x00, 0x90, // 8008: fldcw [0x9000]     ; unmasks ZE
                0xD9, 0xE8,             // 800C: fld1               ; #MF
                0xF4);
        VmxFixture fx = realMode(1 << MF, code);
        fx.memory.write16(fx.guestRam + 0x9000, 0x037B);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertException(fx, MF, 0x800C);
    }

    // ================================================================================== state images

    /**
     * SDM Vol. 1, 8.1.10, Figures 8-10 and 8-12: FNSTENV in real mode, 16-bit (14 bytes) and 32-bit (66H, 28 bytes):
     * the instruction and operand pointers as 20-bit linear addresses, with the opcode; the tag word from the
     * registers' contents (8.1.7); then all exceptions masked. FLDENV loads the 14-byte image back.
     */
    @Test(timeout = 10_000)
    public void environmentInRealMode() {
        byte[] code = VmxFixture.bytes(
                0xDB, 0xE3,                   // 8000: fninit
                0xD9, 0xE8,                   // 8002: fld1
                0xDD, 0x06, 0x00, 0xA0,       // 8004: fld qword [0xA000]   ; FOP 506H, operand 0A000H
                0xD9, 0x36, 0x00, 0x90,       // 8008: fnstenv [0x9000]     ; 14 bytes
                0x66, 0xD9, 0x36, 0x20, 0x90, // 800C: fnstenv [0x9020]     ; 28 bytes (66H)
                0xD9, 0x26, 0x00, 0x90,       // 8011: fldenv [0x9000]
                0x66, 0xD9, 0x36, 0x40, 0x90, // 8015: fnstenv [0x9040]
                0xF4);                        // 801A: hlt
        VmxFixture fx = realMode(0, code);
        putQword(fx, 0xA000, Double.doubleToLongBits(2.5));
        fx.write(GUEST_DS_SELECTOR, 0x0800); // DS:0A000 is linear 0x12000: a pointer with bits 19:16
        fx.write(GUEST_DS_BASE, 0x8000);
        putQword(fx, 0x12000, Double.doubleToLongBits(2.5));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertHalted(fx, 0x801A);
        long env16 = 0x8000 + 0x9000, env32 = 0x8000 + 0x9020, again = 0x8000 + 0x9040; // DS base 0x8000
        assertEquals("control word", 0x037F, word(fx, env16));
        assertEquals("status word: TOP 6", 0x3000, word(fx, env16 + 2));
        assertEquals("tag word: R6, R7 valid", 0x0FFF, word(fx, env16 + 4));
        assertEquals("FIP 15:0", 0x8004, word(fx, env16 + 6));
        assertEquals("FIP 19:16 and FOP", 0x0506, word(fx, env16 + 8));
        assertEquals("FDP 15:0 (linear 12000H)", 0x2000, word(fx, env16 + 10));
        assertEquals("FDP 19:16", 0x1000, word(fx, env16 + 12));
        // the 32-bit layout; reserved halves are not looked at
        assertEquals(0x037F, dword(fx, env32) & 0xFFFF);
        assertEquals(0x3000, dword(fx, env32 + 4) & 0xFFFF);
        assertEquals(0x0FFF, dword(fx, env32 + 8) & 0xFFFF);
        assertEquals(0x8004, dword(fx, env32 + 12) & 0xFFFF);
        assertEquals("FIP 31:16 in 27:12, FOP in 10:0", 0x0506, dword(fx, env32 + 16));
        assertEquals(0x2000, dword(fx, env32 + 20) & 0xFFFF);
        assertEquals("FDP 31:16 in 27:12", 0x1000, dword(fx, env32 + 24));
        // FLDENV of the 14-byte image, stored again in 28 bytes: the same environment
        for (int off = 0; off < 28; off += 4) {
            assertEquals("field at " + off, dword(fx, env32 + off), dword(fx, again + off));
        }
    }

    /**
     * SDM Vol. 1, 8.1.10, Figures 8-9 and 8-11, Vol. 2A FSAVE and FXSAVE (Table 3-53): in 32-bit protected mode the
     * pointers are offsets with their selectors; FNSAVE stores the registers from ST(0) after the environment and
     * initializes the FPU; FRSTOR restores everything; FXSAVE stores the 32-bit layout with FCS and FDS.
     */
    @Test(timeout = 10_000)
    public void stateImagesInProtectedMode() {
        byte[] code = VmxFixture.bytes(
                0xDB, 0xE3,                               // 8000: fninit
                0xD9, 0xE8,                               // 8002: fld1
                0xDD, 0x05, 0x00, 0xA0, 0x00, 0x00,       // 8004: fld qword [0xA000]  ; FOP 505H
                0xD9, 0x35, 0x00, 0x90, 0x00, 0x00,       // 800A: fnstenv [0x9000]   ; 28 bytes
                0x66, 0xD9, 0x35, 0x40, 0x90, 0x00, 0x00, // 8010: fnstenv [0x9040]   ; 14 bytes (66H)
                0x0F, 0xAE, 0x05, 0x00, 0x91, 0x00, 0x00, // 8017: fxsave [0x9100]
                0xDD, 0x35, 0x00, 0x94, 0x00, 0x00,       // 801E: fnsave [0x9400]
                0xDF, 0xE0,                               // 8024: fnstsw ax        ; after FNSAVE: 0
                0x89, 0xC3,                               // 8026: mov ebx, eax
                0xDD, 0x25, 0x00, 0x94, 0x00, 0x00,       // 8028: frstor [0x9400]
                0xDF, 0xE0,                               // 802E: fnstsw ax        ; restored: TOP 6
                0xF4);                                    // 8030: hlt
        VmxFixture fx = protectedMode(0, code);
        putQword(fx, 0xA000, Double.doubleToLongBits(2.5));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertHalted(fx, 0x8030);
        // 28-byte protected-mode environment
        assertEquals(0x037F, dword(fx, 0x9000) & 0xFFFF);
        assertEquals(0x3000, dword(fx, 0x9004) & 0xFFFF);
        assertEquals(0x0FFF, dword(fx, 0x9008) & 0xFFFF);
        assertEquals("FIP offset", 0x8004, dword(fx, 0x900C));
        assertEquals("FCS and FOP in 26:16", 0x0505_0008L, dword(fx, 0x9010));
        assertEquals("FDP offset", 0xA000, dword(fx, 0x9014));
        assertEquals("FDS", 0x0010, dword(fx, 0x9018) & 0xFFFF);
        // 14-byte protected-mode environment
        int[] env16 = {0x037F, 0x3000, 0x0FFF, 0x8004, 0x0008, 0xA000, 0x0010};
        for (int k = 0; k < env16.length; k++) {
            assertEquals("14-byte field " + k, env16[k], word(fx, 0x9040 + 2 * k));
        }
        // FXSAVE, 32-bit layout (not 64-bit mode): FOP, FIP, FCS, FDP, FDS; abridged tag word R6, R7
        assertEquals(0x037F, word(fx, 0x9100));
        assertEquals(0x3000, word(fx, 0x9102));
        assertEquals(0xC0, fx.memory.read8(fx.guestRam + 0x9104));
        assertEquals(0x0505, word(fx, 0x9106));
        assertEquals(0x8004, dword(fx, 0x9108));
        assertEquals(0x0008, word(fx, 0x910C));
        assertEquals(0xA000, dword(fx, 0x9110));
        assertEquals(0x0010, word(fx, 0x9114));
        assertEquals("ST(0) = 2.5", 0xA000_0000_0000_0000L, qword(fx, 0x9120));
        assertEquals(0x4000, word(fx, 0x9128));
        assertEquals("ST(1) = 1.0", 0x8000_0000_0000_0000L, qword(fx, 0x9130));
        assertEquals(0x3FFF, word(fx, 0x9138));
        // FNSAVE: the environment, then ST(0) and ST(1), 10 bytes each
        assertEquals(0xA000_0000_0000_0000L, qword(fx, 0x9400 + 28));
        assertEquals(0x4000, word(fx, 0x9400 + 36));
        assertEquals(0x8000_0000_0000_0000L, qword(fx, 0x9400 + 38));
        assertEquals(0x3FFF, word(fx, 0x9400 + 46));
        assertEquals("FNSAVE initializes: status 0", 0, fx.guestRegisters.get(GeneralRegisters.RBX) & 0xFFFF);
        assertEquals("FRSTOR restores: TOP 6", 0x3000, fx.guestRegisters.get(GeneralRegisters.RAX) & 0xFFFF);
    }

    // ================================================================================== FXSAVE, FXRSTOR

    /** SDM Vol. 2A FXSAVE: a memory operand not aligned on 16 bytes is #GP(0). */
    @Test(timeout = 10_000)
    public void fxsaveNeedsSixteenByteAlignment() {
        VmxFixture fx = realMode(1 << GP, VmxFixture.bytes(0x0F, 0xAE, 0x06, 0x08, 0x90, 0xF4)); // fxsave [0x9008]
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertException(fx, GP, 0x8000);
        assertEquals(0, fx.read(VM_EXIT_INTERRUPTION_ERROR_CODE));
    }

    /**
     * SDM Vol. 2A FXSAVE, FXRSTOR: with CR4.OSFXSR clear the SSE part (MXCSR, MXCSR_MASK, XMM) is not saved or
     * loaded (left to the implementation: this one leaves it); with it set, MXCSR, the MXCSR_MASK of the MXCSR bits
     * this processor implements (0000FFFFH) and XMM0-7 outside 64-bit mode; bytes 416-511 are never written. An
     * FXRSTOR of an MXCSR with a bit outside MXCSR_MASK is #GP(0).
     */
    @Test(timeout = 10_000)
    public void fxsaveSavesTheSsePartOnlyWithOsfxsr() {
        byte[] code = VmxFixture.bytes(
                0x0F, 0xAE, 0x0E, 0x00, 0x92, // 8000: fxrstor [0x9200]
                0x0F, 0xAE, 0x06, 0x00, 0x90, // 8005: fxsave [0x9000]
                0xF4);                        // 800A: hlt
        for (boolean osfxsr : new boolean[] {false, true}) {
            VmxFixture fx = realMode(1 << GP, code);
            long cr4 = Cr4.VMXE | (osfxsr ? Cr4.OSFXSR : 0);
            fx.write(GUEST_CR4, cr4);
            fx.write(CR4_READ_SHADOW, cr4 & ~Cr4.VMXE);
            for (int k = 0; k < 512; k += 8) {
                putQword(fx, 0x9000 + k, 0xA5A5_A5A5_A5A5_A5A5L);
                putQword(fx, 0x9200 + k, 0x0102_0304_0506_0700L + k); // XMM and the rest: a pattern
            }
            putQword(fx, 0x9200, 0x037F); // FCW 037FH, FSW 0, FTW 0 (all empty), FOP 0
            putQword(fx, 0x9208, 0);
            putQword(fx, 0x9210, 0);
            putQword(fx, 0x9218, 0x0000_FFFF_0000_1F80L | 0x3F); // MXCSR 1FBFH, MXCSR_MASK
            fx.cpu.vmlaunch(fx.guestRegisters);
            assertHalted(fx, 0x800A);
            assertEquals(0x037F, word(fx, 0x9000));
            for (int k = 0; k < 8; k++) {
                assertEquals("ST(" + k + ") loaded and saved", qword(fx, 0x9220 + 16 * k), qword(fx, 0x9020 + 16 * k));
                assertEquals(word(fx, 0x9228 + 16 * k), word(fx, 0x9028 + 16 * k));
                assertEquals("slot bytes 10-15: 0", 0, qword(fx, 0x9028 + 16 * k) >>> 16);
            }
            if (osfxsr) {
                assertEquals("MXCSR", 0x1FBF, dword(fx, 0x9018));
                assertEquals("MXCSR_MASK", 0xFFFF, dword(fx, 0x901C));
                for (int k = 160; k < 288; k += 8) {
                    assertEquals("XMM at " + k, qword(fx, 0x9200 + k), qword(fx, 0x9000 + k));
                }
            } else {
                assertEquals("MXCSR not saved", 0xA5A5_A5A5_A5A5_A5A5L, qword(fx, 0x9018));
                assertEquals("XMM not saved", 0xA5A5_A5A5_A5A5_A5A5L, qword(fx, 0x9000 + 160));
            }
            for (int k = 288; k < 512; k += 8) {
                assertEquals("byte " + k + " not written", 0xA5A5_A5A5_A5A5_A5A5L, qword(fx, 0x9000 + k));
            }
        }
        VmxFixture fx = realMode(1 << GP, code);
        fx.write(GUEST_CR4, Cr4.VMXE | Cr4.OSFXSR);
        putQword(fx, 0x9200, 0x037F);
        putQword(fx, 0x9218, 0x0001_1F80L); // MXCSR bit 16: reserved
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertException(fx, GP, 0x8000);
    }

    /**
     * CR4.OSFXSR and CR4.OSXMMEXCPT (SDM Vol. 3A, 2.5) exist: IA32_VMX_CR4_FIXED1 allows them (Vol. 3D, A.8), and
     * the guest's MOV to CR4 sets them without #GP.
     */
    @Test(timeout = 10_000)
    public void osfxsrAndOsxmmexcptAreCr4BitsThatExist() {
        long fixed1 = new VmxFixture().cpu.rdmsr(io.jvmx.vmx.api.msr.Msr.IA32_VMX_CR4_FIXED1);
        assertEquals(Cr4.OSFXSR | Cr4.OSXMMEXCPT, fixed1 & (Cr4.OSFXSR | Cr4.OSXMMEXCPT));
        byte[] code = VmxFixture.bytes(
                0x0F, 0x20, 0xE0,                         // 8000: mov eax, cr4
                0x66, 0x0D, 0x00, 0x06, 0x00, 0x00,       // 8003: or eax, 0x600       ; OSFXSR, OSXMMEXCPT
                0x0F, 0x22, 0xE0,                         // 8009: mov cr4, eax
                0xF4);                                    // 800C: hlt
        VmxFixture fx = realMode(1 << GP, code);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertHalted(fx, 0x800C);
        assertEquals(Cr4.OSFXSR | Cr4.OSXMMEXCPT, fx.read(GUEST_CR4) & (Cr4.OSFXSR | Cr4.OSXMMEXCPT));
    }

    // ================================================================================== 16-bit code

    /**
     * x87 memory operands with 16-bit addressing (SDM Vol. 2A, Table 2-1), SS-based through BP: 1.5 (m64fp at
     * [BX+SI]) + 2.25 (m32fp at [BP+DI+8]) stored as m64fp at [BX+SI+16].
     */
    @Test(timeout = 10_000)
    public void arithmeticWithSixteenBitAddressing() {
        byte[] code = VmxFixture.bytes(
                0xDB, 0xE3,       // 8000: fninit
                0xDD, 0x00,       // 8002: fld qword [bx+si]
                0xD8, 0x43, 0x08, // 8004: fadd dword [bp+di+8]
                0xDD, 0x58, 0x10, // 8007: fstp qword [bx+si+16]
                0xF4);            // 800A: hlt
        VmxFixture fx = realMode(0, code);
        fx.guestRegisters.set(GeneralRegisters.RBX, 0x9000);
        fx.guestRegisters.set(GeneralRegisters.RSI, 0x0100);
        fx.guestRegisters.set(GeneralRegisters.RBP, 0x9200);
        fx.guestRegisters.set(GeneralRegisters.RDI, 0x0010);
        putQword(fx, 0x9100, Double.doubleToLongBits(1.5));
        fx.memory.write32(fx.guestRam + 0x9218, Float.floatToIntBits(2.25f));
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertHalted(fx, 0x800A);
        assertEquals(3.75, Double.longBitsToDouble(qword(fx, 0x9110)), 0.0);
    }
}
