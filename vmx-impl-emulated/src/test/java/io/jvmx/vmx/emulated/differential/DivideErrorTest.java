package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Exceptions;

import java.util.Random;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The divide error, which the differential tests cannot compare (natively #DE is SIGFPE, which kills the JVM): DIV and
 * IDIV raise #DE for a zero divisor or a quotient too large for its register (SDM Vol. 2A, DIV and IDIV, "Protected
 * Mode Exceptions"). #DE is a fault: it reports the address of the instruction and changes no register, flag or
 * memory (SDM Vol. 3A, 6.5 and Table 6-1). Each case also checks that the differential tests' operand filter
 * ({@link ArithmeticForms#faults}) rejects it. Runs on any platform: nothing executes natively.
 */
public class DivideErrorTest {
    /** Where the guest's pages are: any addresses do, since nothing here runs natively. */
    private static final Layout LAYOUT = new Layout(0x40_0000, 0x40_2000, 0x40_4000, 0, 0);
    private static final long DATA = LAYOUT.data();

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
        s.gpr[MachineState.RSP] = LAYOUT.stack() + 0x800;
        r.nextBytes(s.data);
        r.nextBytes(s.stack);
        s.rflags = Flags.FIXED_1 | Flags.CF | Flags.ZF | Flags.OF;
        return s;
    }

    private static void assertDivideError(byte[] code, MachineState in, long high, long low, long divisor, int size,
                                          boolean signed) {
        assertTrue("the differential tests' filter must reject this case",
                ArithmeticForms.faults(high, low, divisor, size, signed));
        InterpreterCpu.Outcome outcome = interpreter.execute(InstructionForm.Mode.LONG_64, code, new int[0], in);
        assertEquals(outcome.failure(), Exceptions.DE, outcome.exceptionVector());
        assertTrue("a fault reports the instruction's address", outcome.atInstruction());
        MachineState out = outcome.state();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            assertEquals(MachineState.registerName(i) + " unchanged", in.gpr[i], out.gpr[i]);
        }
        assertEquals("flags unchanged (IF: set in every user process)", (in.rflags | Flags.IF) & Flags.OBSERVED,
                out.rflags & Flags.OBSERVED);
        assertArrayEquals("memory unchanged", in.data, out.data);
        assertArrayEquals("stack unchanged", in.stack, out.stack);
    }

    /** F6 /6 with ModRM F3: DIV BL, BL = 0. */
    @Test
    public void divByteByZero() {
        MachineState in = input(1);
        in.gpr[3] &= ~0xFFL;
        assertDivideError(NativeCpu.bytes(0xF6, 0xF3), in, in.gpr[0] >>> 8, in.gpr[0], 0, 1, false);
    }

    /** F7 /6 with ModRM F1: DIV ECX, EDX:EAX = 1:0, ECX = 1: the quotient 2^32 does not fit in EAX. */
    @Test
    public void divDwordQuotientTooLarge() {
        MachineState in = input(2);
        in.gpr[0] = 0xAAAA_AAAA_0000_0000L;
        in.gpr[2] = 0x5555_5555_0000_0001L;
        in.gpr[1] = 0x1234_5678_0000_0001L;
        assertDivideError(NativeCpu.bytes(0xF7, 0xF1), in, 1, 0, 1, 4, false);
    }

    /** REX.W F7 /6: DIV RCX with RDX = RCX: the smallest dividend whose quotient does not fit. */
    @Test
    public void divQwordHighHalfEqualToTheDivisor() {
        MachineState in = input(3);
        in.gpr[2] = 5;
        in.gpr[1] = 5;
        assertDivideError(NativeCpu.bytes(0x48, 0xF7, 0xF1), in, 5, in.gpr[0], 5, 8, false);
    }

    /** REX.W F7 /7 with ModRM F9: IDIV RCX, RDX:RAX = -2^63, RCX = -1: the quotient +2^63 does not fit. */
    @Test
    public void idivQwordMinimumByMinusOne() {
        MachineState in = input(4);
        in.gpr[0] = Long.MIN_VALUE;
        in.gpr[2] = -1;
        in.gpr[1] = -1;
        assertDivideError(NativeCpu.bytes(0x48, 0xF7, 0xF9), in, -1, Long.MIN_VALUE, -1, 8, true);
    }

    /** 66 F7 /7 with ModRM 3B: IDIV WORD [RBX], the word 0. */
    @Test
    public void idivWordMemoryByZero() {
        MachineState in = input(5);
        in.gpr[3] = DATA + 0x800;
        in.data[0x800] = 0;
        in.data[0x801] = 0;
        assertDivideError(NativeCpu.bytes(0x66, 0xF7, 0x3B), in, in.gpr[2], in.gpr[0], 0, 2, true);
    }

    /** F6 /7 with ModRM F9: IDIV CL, AX = 0x8000 (-32768), CL = 1: the quotient -32768 does not fit in AL. */
    @Test
    public void idivByteQuotientTooSmall() {
        MachineState in = input(6);
        in.gpr[0] = in.gpr[0] & ~0xFFFFL | 0x8000;
        in.gpr[1] = in.gpr[1] & ~0xFFL | 1;
        assertDivideError(NativeCpu.bytes(0xF6, 0xF9), in, 0x80, 0x00, 1, 1, true);
    }
}
