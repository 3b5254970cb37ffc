package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The exceptions of general-purpose instructions, which the differential tests cannot compare (natively a fault is a
 * signal that kills the JVM): each case runs in the same CPL-3 guest as the differential tests and must end in the
 * SDM's exception, reported at the instruction (a fault, SDM Vol. 3A, 6.5), with no register, flag, data or stack
 * byte changed. Nothing runs natively, so this runs on any platform.
 */
public class InstructionExceptionTest {
    /** Where the guest's pages are: any addresses do, since nothing here runs natively. */
    private static final Layout LAYOUT = new Layout(0x40_0000, 0x40_2000, 0x40_4000, 0, 0);
    private static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5;

    private static InterpreterCpu interpreter;

    @BeforeClass
    public static void open() {
        interpreter = new InterpreterCpu(LAYOUT);
    }

    @AfterClass
    public static void close() {
        interpreter.close();
    }

    private static MachineState input(long seed) {
        Random r = new Random(seed);
        MachineState s = new MachineState();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            s.gpr[i] = r.nextLong();
        }
        s.gpr[RSP] = LAYOUT.stack() + 0x800;
        r.nextBytes(s.data);
        r.nextBytes(s.stack);
        s.rflags = Flags.FIXED_1 | Flags.CF | Flags.ZF;
        return s;
    }

    private static byte[] bytes(int... values) {
        return NativeCpu.bytes(values);
    }

    /** Runs {@code code} and checks that it faulted with {@code vector} and changed nothing; returns the outcome. */
    private static InterpreterCpu.Outcome assertFault(Mode mode, int vector, byte[] code, MachineState in) {
        InterpreterCpu.Outcome outcome = interpreter.execute(mode, code, new int[0], in);
        assertEquals(DifferentialRunner.hex(code) + ": " + outcome.failure(), vector, outcome.exceptionVector());
        assertTrue("a fault reports the instruction's address", outcome.atInstruction());
        MachineState out = outcome.state();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            long mask = mode == Mode.LONG_64 ? -1L : 0xFFFF_FFFFL;
            assertEquals(MachineState.registerName(i) + " unchanged", in.gpr[i] & mask, out.gpr[i] & mask);
        }
        assertEquals("flags unchanged", (in.rflags | Flags.IF) & Flags.OBSERVED, out.rflags & Flags.OBSERVED);
        assertArrayEquals("data unchanged", in.data, out.data);
        assertArrayEquals("stack unchanged", in.stack, out.stack);
        return outcome;
    }

    private static void assertUndefinedOpcode(Mode mode, int... code) {
        assertFault(mode, Exceptions.UD, bytes(code), input(code.length));
    }

    /**
     * LOCK (SDM Vol. 2A LOCK): #UD with a register destination, on an instruction it may not prefix (MOV, NOP, CMP,
     * BT, RDRAND, any VEX instruction), and on the destination-register forms of ADD (03 /r).
     */
    @Test
    public void lockWhereItIsNotAllowedIsInvalidOpcode() {
        MachineState in = input(1);
        in.gpr[RBX] = LAYOUT.data() + 0x100;
        int[][] cases = {
                {0xF0, 0x01, 0xC8},             // LOCK ADD EAX, ECX: register destination
                {0xF0, 0x03, 0x03},             // LOCK ADD EAX, [RBX]: the destination is the register
                {0xF0, 0x8B, 0x03},             // LOCK MOV EAX, [RBX]
                {0xF0, 0x39, 0x03},             // LOCK CMP [RBX], EAX
                {0xF0, 0x90},                   // LOCK NOP
                {0xF0, 0x0F, 0xA3, 0x03},       // LOCK BT [RBX], EAX
                {0xF0, 0x0F, 0xBA, 0x23, 0x01}, // LOCK BT [RBX], 1
                {0xF0, 0x0F, 0xC7, 0xF0},       // LOCK RDRAND EAX
                {0xF0, 0xF7, 0x03, 1, 0, 0, 0}, // LOCK TEST [RBX], 1
                {0xF0, 0xFF, 0x23},             // LOCK JMP [RBX]
                {0xF0, 0xC4, 0xE2, 0x70, 0xF2, 0x03}}; // LOCK ANDN EAX, ECX, [RBX]
        for (int[] c : cases) {
            assertFault(Mode.LONG_64, Exceptions.UD, bytes(c), in);
        }
    }

    /**
     * LOCK in front of an x87, MMX, SSE or XSAVE instruction, or of the SSE4.2/SSE2/ADX instructions on
     * general-purpose registers (CRC32, MOVNTI, ADCX): #UD (SDM Vol. 2A LOCK: only the listed read-modify-write
     * instructions may be locked), decided by OpTable before any op runs, so a locked store writes nothing. The
     * memory operands are valid (aligned, in the data page) for the unlocked instructions.
     */
    @Test
    public void lockOnFloatingPointAndSimdInstructionsIsInvalidOpcode() {
        MachineState in = input(14);
        in.gpr[RBX] = LAYOUT.data() + 0x100;
        int[][] cases = {
                {0xF0, 0xD9, 0x1B},                   // LOCK FSTP dword [RBX]
                {0xF0, 0xDD, 0x03},                   // LOCK FLD qword [RBX]
                {0xF0, 0xD8, 0xC1},                   // LOCK FADD ST(0), ST(1)
                {0xF0, 0x9B},                         // LOCK FWAIT
                {0xF0, 0x0F, 0x7F, 0x03},             // LOCK MOVQ [RBX], MM0
                {0xF0, 0x0F, 0xFC, 0xC1},             // LOCK PADDB MM0, MM1
                {0xF0, 0x0F, 0x77},                   // LOCK EMMS
                {0xF0, 0x0F, 0x58, 0x03},             // LOCK ADDPS XMM0, [RBX]
                {0xF0, 0x0F, 0x11, 0x03},             // LOCK MOVUPS [RBX], XMM0
                {0xF0, 0x66, 0x0F, 0x7F, 0x03},       // LOCK MOVDQA [RBX], XMM0
                {0xF0, 0xF3, 0x0F, 0x11, 0x03},       // LOCK MOVSS [RBX], XMM0
                {0xF0, 0x66, 0x0F, 0x38, 0x00, 0xC1}, // LOCK PSHUFB XMM0, XMM1
                {0xF0, 0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x01}, // LOCK PALIGNR XMM0, XMM1, 1
                {0xF0, 0x0F, 0xAE, 0x03},             // LOCK FXSAVE [RBX]
                {0xF0, 0x0F, 0xAE, 0x13},             // LOCK LDMXCSR [RBX]
                {0xF0, 0x0F, 0xAE, 0x23},             // LOCK XSAVE [RBX]
                {0xF0, 0x0F, 0xC7, 0x23},             // LOCK XSAVEC [RBX]
                {0xF0, 0xF2, 0x0F, 0x38, 0xF1, 0x03}, // LOCK CRC32 EAX, dword [RBX]
                {0xF0, 0x0F, 0xC3, 0x03},             // LOCK MOVNTI [RBX], EAX
                {0xF0, 0x66, 0x0F, 0x38, 0xF6, 0x03}, // LOCK ADCX EAX, [RBX]
                {0xF0, 0xF3, 0x0F, 0xB8, 0x03}};      // LOCK POPCNT EAX, [RBX]
        for (Mode mode : Mode.NATIVE) {
            for (int[] c : cases) {
                assertFault(mode, Exceptions.UD, bytes(c), in);
            }
        }
    }

    /**
     * The #UD conditions of the VEX-encoded GPR instructions (SDM Vol. 2A, 2.5.1 Table 2-29 and 2.3.2): VEX.L = 1;
     * 66H, F2H, F3H, LOCK or REX before VEX; the reserved group-17 encodings and a RORX with VEX.vvvv other than
     * 1111b; reserved maps; and every AVX instruction (this processor has none).
     */
    @Test
    public void vexEncodingsThatAreInvalid() {
        // C4 E2 74 F2 C2: ANDN EAX, ECX, EDX with VEX.L = 1
        assertUndefinedOpcode(Mode.LONG_64, 0xC4, 0xE2, 0x74, 0xF2, 0xC2);
        // the same with L = 0 is fine: 66H, F3H, F2H or REX (41) before it are #UD
        for (int prefix : new int[] {0x66, 0xF3, 0xF2, 0x41}) {
            assertUndefinedOpcode(Mode.LONG_64, prefix, 0xC4, 0xE2, 0x70, 0xF2, 0xC2);
        }
        // VEX.0F38 F3 /0, /4-/7: not BLSR/BLSMSK/BLSI
        for (int modrm : new int[] {0xC1, 0xE1, 0xE9, 0xF1, 0xF9}) {
            assertUndefinedOpcode(Mode.LONG_64, 0xC4, 0xE2, 0x78, 0xF3, modrm);
        }
        // RORX EAX, ECX, 3 with VEX.vvvv = 1110b instead of 1111b
        assertUndefinedOpcode(Mode.LONG_64, 0xC4, 0xE3, 0x73, 0xF0, 0xC1, 0x03);
        // VEX.mmmmm = 00100b: a reserved map
        assertUndefinedOpcode(Mode.LONG_64, 0xC4, 0xE4, 0x78, 0xF2, 0xC2);
        // VEX.128.0F 58 /r: VADDPS, AVX
        assertUndefinedOpcode(Mode.LONG_64, 0xC5, 0xF8, 0x58, 0xC1);
        // VEX.L = 1 in 32-bit code too
        assertUndefinedOpcode(Mode.COMPATIBILITY_32, 0xC4, 0xE2, 0x74, 0xF2, 0xC2);
    }

    /**
     * Real-address mode: VEX-encoded GPR instructions are #UD there (SDM Vol. 2A, 2.5.1: "not supported in real and
     * virtual-8086 modes"; C4/C5 would be LES/LDS with a register operand anyway), and so is ARPL (SDM Vol. 2A ARPL,
     * Real-Address Mode Exceptions). In 16-bit protected mode the same ANDN executes (its result is the
     * differential tests' "as 16-bit code" forms' to check).
     */
    @Test
    public void realModeInvalidOpcodes() {
        assertUndefinedOpcode(Mode.REAL_ADDRESS, 0xC4, 0xE2, 0x70, 0xF2, 0xC2); // ANDN EAX, ECX, EDX
        assertUndefinedOpcode(Mode.REAL_ADDRESS, 0x63, 0xC8);                   // ARPL AX, CX
        assertNull(interpreter.execute(Mode.CODE_16, bytes(0xC4, 0xE2, 0x70, 0xF2, 0xC2), new int[0], input(16))
                .failure());
    }

    /** Opcodes that are invalid in 64-bit mode (SDM Vol. 2D, Table A-2, "i64") and the UD0/UD1/UD2 encodings. */
    @Test
    public void invalidIn64BitMode() {
        int[][] cases = {{0x06}, {0x07}, {0x0E}, {0x16}, {0x17}, {0x1E}, {0x1F}, {0x27}, {0x2F}, {0x37}, {0x3F},
                {0x60}, {0x61}, {0x62, 0x03}, {0x82, 0xC0, 0x01}, {0x9A, 0, 0, 0, 0, 0x33, 0}, {0xCE},
                {0xD4, 0x0A}, {0xD5, 0x0A}, {0xD6}, {0xEA, 0, 0, 0, 0, 0x33, 0}, {0x0F, 0x0B}, {0x0F, 0xB9, 0xC0},
                {0x0F, 0xFF, 0xC0}};
        for (int[] c : cases) {
            assertUndefinedOpcode(Mode.LONG_64, c);
        }
    }

    /**
     * Encodings whose operand is of the wrong kind or whose ModRM.reg names nothing (SDM Vol. 2D, A.4 opcode
     * extensions): LEA and LSS/LFS with a register, MOVBE with a register, MOV to CS, MOV with Sreg 6 or 7,
     * POP Ev /1, group 4 /2, group 5 /7 and far CALL/JMP with a register, MOV Ev,Iv /1 (not XBEGIN), group 8 /0-/3,
     * PREFETCH with a register, JMPE (0F B8 without F3), CMPXCHG8B with a register.
     */
    @Test
    public void wrongOperandKinds() {
        int[][] cases = {{0x8D, 0xC0}, {0x0F, 0xB2, 0xC0}, {0x0F, 0x38, 0xF0, 0xC0}, {0x8E, 0xC8}, {0x8C, 0xF0},
                {0x8C, 0xF8}, {0x8F, 0xC8}, {0xFE, 0xD0}, {0xFF, 0xF8}, {0xFF, 0xD8}, {0xFF, 0xE8},
                {0xC6, 0xC8, 0x00}, {0x0F, 0xBA, 0xC0, 0x01}, {0x0F, 0x0D, 0xC8}, {0x0F, 0xB8, 0xC0},
                {0x0F, 0xC7, 0xC8}};
        for (int[] c : cases) {
            assertUndefinedOpcode(Mode.LONG_64, c);
        }
        // in 32-bit code: LFS with a register, BOUND with a register
        assertUndefinedOpcode(Mode.COMPATIBILITY_32, 0x0F, 0xB4, 0xC0);
        assertUndefinedOpcode(Mode.COMPATIBILITY_32, 0x62, 0xC0);
    }

    /** An instruction longer than 15 bytes is #GP(0) (SDM Vol. 2A, 2.3.11): 14 66H prefixes before 01 C8. */
    @Test
    public void tooLongIsGeneralProtection() {
        byte[] code = new byte[16];
        for (int k = 0; k < 14; k++) {
            code[k] = 0x66;
        }
        code[14] = 0x01;
        code[15] = (byte) 0xC8;
        InterpreterCpu.Outcome outcome = assertFault(Mode.LONG_64, Exceptions.GP, code, input(3));
        assertEquals(0, outcome.errorCode());
    }

    /** CMPXCHG16B m128 (REX.W 0F C7 /1): #GP(0) unless the operand is 16-byte aligned (SDM Vol. 2A CMPXCHG16B). */
    @Test
    public void cmpxchg16bNeedsAlignment() {
        for (int misalignment : new int[] {1, 4, 8, 15}) {
            MachineState in = input(4);
            in.gpr[RBX] = LAYOUT.data() + 0x400 + misalignment;
            InterpreterCpu.Outcome outcome = assertFault(Mode.LONG_64, Exceptions.GP,
                    bytes(0x48, 0x0F, 0xC7, 0x0B), in);
            assertEquals(0, outcome.errorCode());
        }
        MachineState aligned = input(5);
        aligned.gpr[RBX] = LAYOUT.data() + 0x400;
        assertNull(interpreter.execute(Mode.LONG_64, bytes(0x48, 0x0F, 0xC7, 0x0B), new int[0], aligned).failure());
    }

    /**
     * The alignment CMPXCHG16B needs is the linear address's (SDM Vol. 2A CMPXCHG16B; Vol. 3A, 6.15 #AC and #GP
     * speak of addresses, which segmentation makes linear): with an FS base of 8, an aligned offset is a misaligned
     * operand and a misaligned offset an aligned one.
     */
    @Test
    public void cmpxchg16bAlignmentIsTheLinearAddresses() {
        Layout fsAt8 = new Layout(LAYOUT.code(), LAYOUT.data(), LAYOUT.stack(), 8, 0);
        try (InterpreterCpu withFsBase = new InterpreterCpu(fsAt8)) {
            byte[] fsCmpxchg16b = bytes(0x64, 0x48, 0x0F, 0xC7, 0x0B); // CMPXCHG16B FS:[RBX]
            MachineState alignedOffset = input(14);
            alignedOffset.gpr[RBX] = LAYOUT.data() + 0x400;
            InterpreterCpu.Outcome outcome = withFsBase.execute(Mode.LONG_64, fsCmpxchg16b, new int[0], alignedOffset);
            assertEquals(outcome.failure(), Exceptions.GP, outcome.exceptionVector());
            MachineState alignedLinear = input(15);
            alignedLinear.gpr[RBX] = LAYOUT.data() + 0x400 - 8;
            assertNull(withFsBase.execute(Mode.LONG_64, fsCmpxchg16b, new int[0], alignedLinear).failure());
        }
    }

    /** BOUND (62 /r): #BR when the signed index is outside [lower, upper] (SDM Vol. 2A BOUND), in 32-bit code. */
    @Test
    public void boundOutOfRange() {
        for (int index : new int[] {-11, 101, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
            MachineState in = input(6);
            ByteBuffer data = ByteBuffer.wrap(in.data).order(ByteOrder.LITTLE_ENDIAN);
            data.putInt(0x200, -10);
            data.putInt(0x204, 100);
            in.gpr[RBX] = LAYOUT.data() + 0x200;
            in.gpr[RAX] = index & 0xFFFF_FFFFL;
            assertFault(Mode.COMPATIBILITY_32, Exceptions.BR, bytes(0x62, 0x03), in); // BOUND EAX, [EBX]
        }
    }

    /** AAM with 0 divides by 0: #DE (SDM Vol. 2A AAM). */
    @Test
    public void aamByZero() {
        assertFault(Mode.COMPATIBILITY_32, Exceptions.DE, bytes(0xD4, 0x00), input(7));
    }

    /**
     * ENTER (SDM Vol. 2A ENTER, Protected Mode Exceptions): "#PF ... if a write using the final value of the stack
     * pointer would cause a page fault": an allocation that takes rSP below the mapped stack page faults there, with
     * CR2 (the exit qualification) at the final rSP, and nothing is pushed.
     */
    @Test
    public void enterChecksTheFinalStackPointer() {
        MachineState in = input(8);
        in.gpr[RBP] = LAYOUT.stack() + 0x900;
        // ENTER 0x900, 0: push at stack+0x7F8, final RSP stack+0x7F8-0x900 = stack-0x108, below the page
        InterpreterCpu.Outcome outcome = assertFault(Mode.LONG_64, Exceptions.PF, bytes(0xC8, 0x00, 0x09, 0x00), in);
        assertEquals(LAYOUT.stack() - 0x108, outcome.faultingAddress());
        // the frame pointers copied by a nested ENTER come from [RBP - 8k]: one beyond the mapped page faults too
        MachineState nested = input(9);
        nested.gpr[RBP] = LAYOUT.stack() + 0x10;
        outcome = assertFault(Mode.LONG_64, Exceptions.PF, bytes(0xC8, 0x10, 0x00, 0x04), nested);
        assertEquals(LAYOUT.stack() - 0x8, outcome.faultingAddress());
    }

    /** A push or pop whose stack access faults leaves rSP and the stack as they were (SDM Vol. 3A, 6.5). */
    @Test
    public void stackFaultsChangeNothing() {
        MachineState push = input(10);
        push.gpr[RSP] = LAYOUT.stack() + 4;
        assertFault(Mode.LONG_64, Exceptions.PF, bytes(0x50), push);                     // PUSH RAX
        MachineState pushAll = input(11);
        pushAll.gpr[RSP] = LAYOUT.stack() + 0x10;
        assertFault(Mode.COMPATIBILITY_32, Exceptions.PF, bytes(0x60), pushAll);          // PUSHAD: 32 bytes
        MachineState pop = input(12);
        pop.gpr[RSP] = LAYOUT.stack() + 0xFFC;
        assertFault(Mode.LONG_64, Exceptions.PF, bytes(0x8F, 0x03), pop);                // POP [RBX]
        MachineState call = input(13);
        call.gpr[RSP] = LAYOUT.stack();
        assertFault(Mode.LONG_64, Exceptions.PF, bytes(0xE8, 0, 0, 0, 0), call);          // CALL +0
    }
}
