package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * Alignment checking (SDM Vol. 3A 6.15 "Interrupt 17—Alignment Check Exception"): with CR0.AM = 1 (as the CPL-3 guest
 * of the differential tests has it, like a Linux process) and EFLAGS.AC = 1 at CPL 3, a data reference whose address
 * is not a multiple of its data type's alignment in Table 6-7 is #AC(0), a fault that changes nothing; with
 * EFLAGS.AC = 0 it is not. Each case puts one instruction's operand at an address that the table's alignment forbids
 * (#AC) and at one it allows although a check by the size of each access would not (no #AC), or the other way round.
 * The CPL-0 side (no #AC whatever AM and AC say) and virtual-8086 mode are the guest kernel sys-vm86's.
 */
public class AlignmentCheckTest {
    private static final Layout LAYOUT = new Layout(0x40_0000, 0x40_2000, 0x40_4000, 0, 0);
    private static final int RAX = 0, RCX = 1, RBX = 3, RSP = 4;

    private static InterpreterCpu interpreter;

    @BeforeClass
    public static void open() {
        interpreter = new InterpreterCpu(LAYOUT);
    }

    @AfterClass
    public static void close() {
        interpreter.close();
    }

    /** The input of a case: RBX at data offset {@code offset}, EFLAGS.AC as given. */
    private static MachineState at(int offset, boolean ac) {
        MachineState s = new MachineState(); // data all zero: the far pointers hold null selectors, which load
        s.gpr[RBX] = LAYOUT.data() + offset;
        s.gpr[RCX] = 0;
        s.gpr[RSP] = LAYOUT.stack() + 0x800;
        s.rflags = Flags.FIXED_1 | (ac ? Flags.AC : 0);
        return s;
    }

    private static byte[] bytes(int... values) {
        return NativeCpu.bytes(values);
    }

    /** {@code code} with its operand at data offset {@code offset} is #AC(0), a fault that changed nothing. */
    private static void alignmentCheck(String what, Mode mode, int offset, int... code) {
        MachineState in = at(offset, true);
        InterpreterCpu.Outcome o = interpreter.execute(mode, bytes(code), new int[0], in);
        assertEquals(what + " at +" + Integer.toHexString(offset) + ": " + o.failure(), Exceptions.AC,
                o.exceptionVector());
        assertEquals(what + ": the error code is 0", 0, o.errorCode());
        assertTrue(what + ": a fault", o.atInstruction());
        assertArrayEquals(what + ": data unchanged", in.data, o.state().data);
        assertArrayEquals(what + ": stack unchanged", in.stack, o.state().stack);
        // and without EFLAGS.AC the same reference is made
        assertNull(what + " with EFLAGS.AC = 0", interpreter.execute(mode, bytes(code), new int[0],
                at(offset, false)).failure());
    }

    /** {@code code} with its operand at data offset {@code offset} completes, with EFLAGS.AC = 1. */
    private static void noAlignmentCheck(String what, Mode mode, int offset, int... code) {
        InterpreterCpu.Outcome o = interpreter.execute(mode, bytes(code), new int[0], at(offset, true));
        assertNull(what + " at +" + Integer.toHexString(offset), o.failure());
    }

    /** Table 6-7: word 2, doubleword 4, quadword 8 — the size of the access. */
    @Test
    public void wordsDoublewordsAndQuadwordsBySize() {
        alignmentCheck("MOV AX, [EBX]: a word", Mode.COMPATIBILITY_32, 0x101, 0x66, 0x8B, 0x03);
        noAlignmentCheck("MOV AX, [EBX]", Mode.COMPATIBILITY_32, 0x102, 0x66, 0x8B, 0x03);
        alignmentCheck("MOV EAX, [EBX]: a doubleword", Mode.COMPATIBILITY_32, 0x102, 0x8B, 0x03);
        noAlignmentCheck("MOV EAX, [EBX]", Mode.COMPATIBILITY_32, 0x104, 0x8B, 0x03);
        alignmentCheck("MOV RAX, [RBX]: a quadword", Mode.LONG_64, 0x104, 0x48, 0x8B, 0x03);
        noAlignmentCheck("MOV RAX, [RBX]", Mode.LONG_64, 0x108, 0x48, 0x8B, 0x03);
        alignmentCheck("CMPXCHG8B [EBX]: a quadword", Mode.COMPATIBILITY_32, 0x104, 0x0F, 0xC7, 0x0B);
    }

    /** Table 6-7: "Segment Selector 2" (MOV m16, Sreg). */
    @Test
    public void segmentSelectors() {
        alignmentCheck("MOV [EBX], DS", Mode.COMPATIBILITY_32, 0x101, 0x8C, 0x1B);
        noAlignmentCheck("MOV [EBX], DS", Mode.COMPATIBILITY_32, 0x102, 0x8C, 0x1B);
    }

    /** Table 6-7: "32-bit Far Pointer 2", "48-bit Far Pointer 4", and the 80-bit far pointer of m16:64, 8. */
    @Test
    public void farPointers() {
        noAlignmentCheck("LES SI, [EBX]: m16:16", Mode.COMPATIBILITY_32, 0x102, 0x66, 0xC4, 0x33);
        alignmentCheck("LES SI, [EBX]: m16:16", Mode.COMPATIBILITY_32, 0x101, 0x66, 0xC4, 0x33);
        alignmentCheck("LES ESI, [EBX]: m16:32", Mode.COMPATIBILITY_32, 0x102, 0xC4, 0x33);
        noAlignmentCheck("LES ESI, [EBX]: m16:32", Mode.COMPATIBILITY_32, 0x104, 0xC4, 0x33);
        alignmentCheck("LFS RSI, [RBX]: m16:64", Mode.LONG_64, 0x104, 0x48, 0x0F, 0xB4, 0x33);
        noAlignmentCheck("LFS RSI, [RBX]: m16:64", Mode.LONG_64, 0x108, 0x48, 0x0F, 0xB4, 0x33);
    }

    /**
     * Table 6-7: "Bit String 2 or 4 depending on the operand-size attribute" (8 with REX.W): the element that holds
     * the bit is the one accessed.
     */
    @Test
    public void bitStrings() {
        noAlignmentCheck("BT [EBX], CX", Mode.COMPATIBILITY_32, 0x102, 0x66, 0x0F, 0xA3, 0x0B);
        alignmentCheck("BT [EBX], CX", Mode.COMPATIBILITY_32, 0x101, 0x66, 0x0F, 0xA3, 0x0B);
        alignmentCheck("BT [EBX], ECX", Mode.COMPATIBILITY_32, 0x102, 0x0F, 0xA3, 0x0B);
        alignmentCheck("BT [RBX], RCX", Mode.LONG_64, 0x104, 0x48, 0x0F, 0xA3, 0x0B);
        noAlignmentCheck("BT [RBX], RCX", Mode.LONG_64, 0x108, 0x48, 0x0F, 0xA3, 0x0B);
    }

    /** Table 6-7: "Double extended-precision floating-point (80-bits) 8" (FLD m80, FSTP m80, FBLD m80). */
    @Test
    public void eightyBitX87Values() {
        alignmentCheck("FLD TBYTE [EBX]", Mode.COMPATIBILITY_32, 0x104, 0xDB, 0x2B);
        alignmentCheck("FLD TBYTE [EBX]", Mode.COMPATIBILITY_32, 0x102, 0xDB, 0x2B);
        noAlignmentCheck("FLD TBYTE [EBX]", Mode.COMPATIBILITY_32, 0x108, 0xDB, 0x2B);
        alignmentCheck("FSTP TBYTE [EBX]", Mode.COMPATIBILITY_32, 0x104, 0xDB, 0x3B);
        alignmentCheck("FBLD [EBX]", Mode.COMPATIBILITY_32, 0x104, 0xDF, 0x23);
    }

    /**
     * Table 6-7: "FSTENV/FLDENV Save Area 4 or 2, depending on operand size": the area's address, not the fields' (a
     * 28-byte area at 8n + 4 is aligned, although 28 is no power of two).
     */
    @Test
    public void environmentAreas() {
        alignmentCheck("FNSTENV [EBX] (32-bit)", Mode.COMPATIBILITY_32, 0x102, 0xD9, 0x33);
        noAlignmentCheck("FNSTENV [EBX] (32-bit)", Mode.COMPATIBILITY_32, 0x10C, 0xD9, 0x33);
        noAlignmentCheck("FLDENV [EBX] (32-bit)", Mode.COMPATIBILITY_32, 0x10C, 0xD9, 0x23);
        noAlignmentCheck("FNSTENV [EBX] (16-bit)", Mode.COMPATIBILITY_32, 0x102, 0x66, 0xD9, 0x33);
        alignmentCheck("FNSTENV [EBX] (16-bit)", Mode.COMPATIBILITY_32, 0x101, 0x66, 0xD9, 0x33);
    }

    /**
     * Table 6-7: "FSAVE/FRSTOR Save Area 4 or 2, depending on operand size": the 80-bit registers inside the area
     * (at offset 28 + 10k, or 14 + 10k) are not checked as 80-bit values.
     */
    @Test
    public void saveAreas() {
        noAlignmentCheck("FNSAVE [EBX] (32-bit)", Mode.COMPATIBILITY_32, 0x104, 0xDD, 0x33);
        noAlignmentCheck("FRSTOR [EBX] (32-bit)", Mode.COMPATIBILITY_32, 0x104, 0xDD, 0x23);
        alignmentCheck("FNSAVE [EBX] (32-bit)", Mode.COMPATIBILITY_32, 0x102, 0xDD, 0x33);
        noAlignmentCheck("FNSAVE [EBX] (16-bit)", Mode.COMPATIBILITY_32, 0x102, 0x66, 0xDD, 0x33);
        alignmentCheck("FRSTOR [EBX] (16-bit)", Mode.COMPATIBILITY_32, 0x101, 0x66, 0xDD, 0x23);
    }

    /**
     * Table 6-7: "GDTR, IDTR, LDTR, or Task Register Contents 4". SGDT and SIDT store the limit as a word and then the
     * base, which needs 4 (SDM 3.5.1: an image at 4n + 2 "causes the processor to store an aligned word, followed by
     * an aligned doubleword" and raises no #AC), in 64-bit mode too, where the base is 8 bytes; SLDT and STR store a
     * selector that needs 4 (3.5.1: "located at a doubleword address").
     */
    @Test
    public void descriptorTableRegisters() {
        noAlignmentCheck("SGDT [EBX]", Mode.COMPATIBILITY_32, 0x102, 0x0F, 0x01, 0x03);
        alignmentCheck("SGDT [EBX]: the base at 4n + 2", Mode.COMPATIBILITY_32, 0x104, 0x0F, 0x01, 0x03);
        alignmentCheck("SIDT [EBX]: the limit at an odd address", Mode.COMPATIBILITY_32, 0x101, 0x0F, 0x01, 0x0B);
        noAlignmentCheck("SGDT [RBX]: the 8-byte base at 8n + 4", Mode.LONG_64, 0x102, 0x0F, 0x01, 0x03);
        alignmentCheck("SIDT [RBX]: the base at 4n + 2", Mode.LONG_64, 0x100, 0x0F, 0x01, 0x0B);
        alignmentCheck("SLDT [EBX]", Mode.COMPATIBILITY_32, 0x102, 0x0F, 0x00, 0x03);
        noAlignmentCheck("SLDT [EBX]", Mode.COMPATIBILITY_32, 0x104, 0x0F, 0x00, 0x03);
        alignmentCheck("STR [EBX]", Mode.COMPATIBILITY_32, 0x102, 0x0F, 0x00, 0x0B);
    }

    /**
     * 128-bit operands (6.15): one that must be 16-aligned is #GP(0), not #AC (MOVAPS; FXSAVE, where the SDM lets the
     * processor choose #GP or #AC and this one takes #GP); an unaligned one (MOVUPS) is #AC "when data addresses are
     * not aligned on an 8-byte boundary", for loads and stores alike.
     */
    @Test
    public void oneHundredTwentyEightBitOperands() {
        noAlignmentCheck("MOVUPS XMM0, [EBX]", Mode.COMPATIBILITY_32, 0x108, 0x0F, 0x10, 0x03);
        alignmentCheck("MOVUPS XMM0, [EBX]", Mode.COMPATIBILITY_32, 0x104, 0x0F, 0x10, 0x03);
        noAlignmentCheck("MOVUPS [EBX], XMM0", Mode.COMPATIBILITY_32, 0x108, 0x0F, 0x11, 0x03);
        alignmentCheck("MOVUPS [EBX], XMM0", Mode.COMPATIBILITY_32, 0x104, 0x0F, 0x11, 0x03);
        InterpreterCpu.Outcome movaps = interpreter.execute(Mode.COMPATIBILITY_32, bytes(0x0F, 0x28, 0x03),
                new int[0], at(0x108, true));
        assertEquals("MOVAPS at 16n + 8: #GP", Exceptions.GP, movaps.exceptionVector());
        InterpreterCpu.Outcome fxsave = interpreter.execute(Mode.COMPATIBILITY_32, bytes(0x0F, 0xAE, 0x03),
                new int[0], at(0x108, true));
        assertEquals("FXSAVE at 16n + 8: #GP", Exceptions.GP, fxsave.exceptionVector());
    }

    /** Stack references are data references (6.15: "data (or stack) accesses"): PUSH with ESP at 4n + 2. */
    @Test
    public void stackReferences() {
        MachineState in = at(0, true);
        in.gpr[RSP] = LAYOUT.stack() + 0x802;
        InterpreterCpu.Outcome o = interpreter.execute(Mode.COMPATIBILITY_32, bytes(0x50), new int[0], in);
        assertEquals(o.failure(), Exceptions.AC, o.exceptionVector());
        assertEquals("ESP unchanged", LAYOUT.stack() + 0x802, o.state().gpr[RSP] & 0xFFFF_FFFFL);
        assertEquals("EAX unchanged", 0, o.state().gpr[RAX]);
    }
}
