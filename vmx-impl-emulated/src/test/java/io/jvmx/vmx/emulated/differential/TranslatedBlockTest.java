package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import org.junit.Assume;
import org.junit.Test;

/**
 * Hot loops translated to bytecode against the interpreter and against this machine's processor. Each case is a
 * random loop body (register ALU operations incl. ADC/SBB, byte registers and immediates, TEST, MOV of registers and
 * immediates, LEA, MOVZX, MOVSXD, shifts and rotates by immediates, shifts of bytes, words, doublewords and quadwords by an
 * immediate, by 1 and by CL, INC/DEC, loads, stores (byte, word, immediate), compares, TESTs and read-modify-writes of
 * the data page, IMUL, NEG, NOT, SETcc, CMOVcc, multi-byte NOPs, PUSH/POP pairs, CALL to the next instruction and
 * POP, a RET to the next instruction, and compares with forward conditional jumps inside the body) closed by
 * {@code DEC R15D; JNZ top},
 * run for more iterations than it takes the processor to translate the loop. The same bytes run natively, on a
 * processor that interprets every instruction, and on one that translates hot blocks: the translated run must leave
 * exactly the interpreted run's registers, RFLAGS, data page and retired-instruction count, and both must leave the
 * processor's registers, status flags and data page (the last flag writer is DEC, which defines them all but CF,
 * and CF comes from instructions that define it).
 *
 * <p>{@code -Djvmx.translation.loops=N} runs more cases (default {@value #DEFAULT_LOOPS}).
 */
public class TranslatedBlockTest {
    private static final int[] NO_SITES = new int[0];
    static final int DEFAULT_LOOPS = 40;
    /** More than the processor's translation threshold (Executor.HOT_BLOCK: 500 arrivals by a jump). */
    static final int MIN_ITERATIONS = 700;
    private static final int R14 = 14, R15 = 15;
    /** Destination registers: not RSP (the stack), R14 (the data page's base), R15 (the loop counter). */
    private static final int[] REGS = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13};

    @Test
    public void translatedLoopsAgreeWithTheInterpreterAndThisProcessor() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        int loops = Integer.getInteger("jvmx.translation.loops", DEFAULT_LOOPS);
        long seed = Long.getLong("jvmx.translation.seed", 20_261_130L);
        Random rnd = new Random(seed);
        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreted = new InterpreterCpu(Layout.of(nativeCpu), false);
             InterpreterCpu translated = new InterpreterCpu(Layout.of(nativeCpu), true)) {
            long retiredTotal = 0;
            for (int c = 0; c < loops; c++) {
                List<String> listing = new ArrayList<>();
                byte[] code = loop(rnd, listing);
                MachineState in = new MachineState();
                for (int r = 0; r < MachineState.REGISTERS; r++) {
                    in.gpr[r] = rnd.nextInt(4) == 0 ? rnd.nextInt(16) - 8 : rnd.nextLong();
                }
                in.gpr[MachineState.RSP] = nativeCpu.stackAddress() + NativeCpu.STACK_PAGE_BYTES / 2;
                in.gpr[R14] = nativeCpu.dataAddress();
                in.gpr[R15] = MIN_ITERATIONS + rnd.nextInt(600);
                in.rflags = rnd.nextLong() & Flags.STATUS | Flags.FIXED_1;
                rnd.nextBytes(in.data);
                String what = String.format("case %d (seed %d), %d iterations:%n  %s", c, seed, in.gpr[R15],
                        String.join("\n  ", listing));

                InterpreterCpu.Outcome slow = interpreted.execute(Mode.LONG_64, code, NO_SITES, in);
                InterpreterCpu.Outcome fast = translated.execute(Mode.LONG_64, code, NO_SITES, in);
                assertTrue(what + "\ninterpreted: " + slow.failure(), slow.landed());
                assertTrue(what + "\ntranslated: " + fast.failure(), fast.landed());
                for (int r = 0; r < MachineState.REGISTERS; r++) {
                    assertEquals(what + "\nregister " + MachineState.registerName(r) + ", translated vs interpreted",
                            slow.state().gpr[r], fast.state().gpr[r]);
                }
                assertEquals(what + "\nRFLAGS, translated vs interpreted", slow.state().rflags, fast.state().rflags);
                assertTrue(what + "\ndata page, translated vs interpreted",
                        java.util.Arrays.equals(slow.state().data, fast.state().data));
                assertEquals(what + "\nretired instructions, translated vs interpreted", slow.retired(),
                        fast.retired());
                retiredTotal += fast.retired();

                MachineState hw = nativeCpu.executeCode(Mode.LONG_64, code, NO_SITES, in);
                for (int r = 0; r < MachineState.REGISTERS; r++) {
                    if (r != MachineState.RSP) {
                        assertEquals(what + "\nregister " + MachineState.registerName(r) + ", interpreted vs native",
                                hw.gpr[r], slow.state().gpr[r]);
                    }
                }
                assertEquals(what + "\nstatus flags, interpreted vs native", hw.rflags & Flags.STATUS,
                        slow.state().rflags & Flags.STATUS);
                for (int b = 0; b < hw.data.length; b++) {
                    if (hw.data[b] != slow.state().data[b]) {
                        fail(what + String.format("%ndata+%#x: native %02x, interpreted %02x", b, hw.data[b],
                                slow.state().data[b]));
                    }
                }
            }
            assertTrue("the translating processor translated nothing", translated.translatedBlocks() >= loops);
            assertEquals("the interpreting processor translated", 0, interpreted.translatedBlocks());
            System.out.printf("%d translated loops (%d instructions) agree with the interpreter and this processor; "
                    + "%d blocks translated%n", loops, retiredTotal, translated.translatedBlocks());
        }
    }

    /**
     * Status flags the SDM leaves undefined after the instructions generated so far (SDM Vol. 2: IMUL leaves SF ZF AF
     * PF undefined, the logic operations AF, shifts and rotates by more than 1 OF, shifts AF): no generated
     * instruction may read them, or the native processor's choice would decide the result.
     */
    private static long undefined;

    private static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    /** The flags condition cc reads (SDM Vol. 1, Table B-1). */
    private static final long[] READS = {OF, OF, CF, CF, ZF, ZF, CF | ZF, CF | ZF, SF, SF, PF, PF, SF | OF, SF | OF,
            ZF | SF | OF, ZF | SF | OF};

    /** A condition code that reads only defined flags. */
    private static int definedCondition(Random rnd) {
        int cc;
        do {
            cc = rnd.nextInt(16);
        } while ((READS[cc] & undefined) != 0);
        return cc;
    }

    /**
     * VMX-preemption timer expiries in the middle of translated loops (SDM 26.7.4: the exit comes at an instruction
     * boundary, when the timer reaches 0): the translated run must stop at the same instruction, with the same state,
     * as the interpreted one. The translated block's budget (Executor.budgetLeft) is what makes that exact.
     */
    @Test
    public void timerExpiriesStopTranslatedLoopsWhereTheInterpreterStops() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        Random rnd = new Random(77);
        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreted = new InterpreterCpu(Layout.of(nativeCpu), false);
             InterpreterCpu translated = new InterpreterCpu(Layout.of(nativeCpu), true)) {
            int expired = 0;
            for (int c = 0; c < 30; c++) {
                List<String> listing = new ArrayList<>();
                byte[] code = loop(rnd, listing);
                MachineState in = randomInput(rnd, nativeCpu);
                in.gpr[R15] = 5000;
                long ticks = 200 + rnd.nextInt(3000); // 32 TSC ticks (instructions) per tick
                interpreted.preemptionTimer(ticks);
                translated.preemptionTimer(ticks);
                InterpreterCpu.Outcome slow = interpreted.execute(Mode.LONG_64, code, NO_SITES, in);
                InterpreterCpu.Outcome fast = translated.execute(Mode.LONG_64, code, NO_SITES, in);
                String what = "timer " + ticks + ", case " + c + ":\n  " + String.join("\n  ", listing);
                assertSameOutcome(what, slow, fast);
                if (slow.failure() != null && slow.failure().contains("VMX_PREEMPTION_TIMER_EXPIRED")) {
                    expired++;
                }
            }
            assertTrue("no timer expired in a translated loop: the test did not test", expired > 20);
            assertTrue("nothing was translated", translated.translatedBlocks() > 0);
        }
    }

    /**
     * A hot loop that rewrites an immediate of its own body once it has been translated (SDM Vol. 3A, 11.6: the write
     * takes effect for the instructions after it). Natively, interpreted and translated, the sum must be the same.
     * <pre>
     *   top:  05 imm32              ADD EAX, imm32            ; imm starts as 1, becomes 1000
     *         41 81 FF 00 02 00 00  CMP R15D, 512
     *         75 0A                 JNE skip
     *         C7 05 disp32 E8030000 MOV DWORD [RIP + disp32], 1000   ; the ADD's immediate
     *   skip: 41 FF CF              DEC R15D
     *         75 xx                 JNZ top
     * </pre>
     */
    @Test
    public void aTranslatedLoopThatRewritesItselfSeesTheNewCode() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        b.writeBytes(new byte[] {0x05, 1, 0, 0, 0});                             // 0: ADD EAX, 1
        b.writeBytes(new byte[] {0x41, (byte) 0x81, (byte) 0xFF, 0, 2, 0, 0});   // 5: CMP R15D, 512
        b.writeBytes(new byte[] {0x75, 10});                                     // 12: JNE +10
        int store = b.size();                                                    // 14: MOV [RIP+d], 1000
        int disp = 1 - (store + 10);                                             // the immediate is at offset 1
        b.writeBytes(new byte[] {(byte) 0xC7, 0x05, (byte) disp, (byte) (disp >> 8), (byte) (disp >> 16),
                (byte) (disp >> 24), (byte) 0xE8, 0x03, 0, 0});
        b.writeBytes(new byte[] {0x41, (byte) 0xFF, (byte) 0xCF});               // 24: DEC R15D
        int back = -(b.size() + 2);
        b.writeBytes(new byte[] {0x75, (byte) back});                            // 27: JNZ top
        byte[] code = b.toByteArray();
        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreted = new InterpreterCpu(Layout.of(nativeCpu), false);
             InterpreterCpu translated = new InterpreterCpu(Layout.of(nativeCpu), true)) {
            MachineState in = new MachineState();
            in.gpr[MachineState.RSP] = nativeCpu.stackAddress() + NativeCpu.STACK_PAGE_BYTES / 2;
            in.gpr[R15] = 1500;
            in.rflags = Flags.FIXED_1;
            // 1500 iterations: R15 = 1500 .. 512 add 1 (the one at 512 then rewrites), R15 = 511 .. 1 add 1000
            long expected = 989 + 511 * 1000L;
            MachineState hw = nativeCpu.executeCode(Mode.LONG_64, code, NO_SITES, in);
            assertEquals("natively", expected, hw.gpr[0]);
            InterpreterCpu.Outcome slow = interpreted.execute(Mode.LONG_64, code, NO_SITES, in);
            InterpreterCpu.Outcome fast = translated.execute(Mode.LONG_64, code, NO_SITES, in);
            assertEquals("interpreted", expected, slow.state().gpr[0]);
            assertSameOutcome("self-modifying loop", slow, fast);
            assertTrue("the loop was not translated before it rewrote itself", translated.translatedBlocks() > 0);
        }
    }

    /**
     * A page fault in a translated loop that reads from the start of the code page on, through the data page after it,
     * into the first page that is not mapped (the guest maps the harness's pages, not the spare ones after the data
     * page): the translated run must report the same #PF at the same instruction with the same registers, flags and
     * retired count as the interpreted one (faults in translated code are precise).
     * <pre>
     *   top:  49 8B 04 1E   MOV RAX, [R14 + RBX]
     *         48 01 C1      ADD RCX, RAX
     *         48 83 C3 08   ADD RBX, 8
     *         41 FF CF      DEC R15D
     *         75 F0         JNZ top
     * </pre>
     */
    @Test
    public void aFaultInATranslatedLoopIsPrecise() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        byte[] code = {0x49, (byte) 0x8B, 0x04, 0x1E, 0x48, 0x01, (byte) 0xC1, 0x48, (byte) 0x83, (byte) 0xC3, 0x08,
                0x41, (byte) 0xFF, (byte) 0xCF, 0x75, (byte) 0xF0};
        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreted = new InterpreterCpu(Layout.of(nativeCpu), false);
             InterpreterCpu translated = new InterpreterCpu(Layout.of(nativeCpu), true)) {
            MachineState in = randomInput(new Random(5), nativeCpu);
            long start = nativeCpu.codeAddress() - nativeCpu.dataAddress();
            in.gpr[3] = start;    // RBX: offset from the data page, here of the code page before it
            in.gpr[R15] = 4000;   // it faults long before: a few pages on
            InterpreterCpu.Outcome slow = interpreted.execute(Mode.LONG_64, code, NO_SITES, in);
            InterpreterCpu.Outcome fast = translated.execute(Mode.LONG_64, code, NO_SITES, in);
            assertTrue(String.valueOf(slow.failure()), slow.failure() != null && slow.failure().contains("#PF"));
            long at = slow.state().gpr[3];
            assertTrue("the faulting read is at a page boundary past the data page, in an iteration after the "
                    + "translation threshold: RBX = " + at, at % 4096 == 0 && at > 0 && (at - start) / 8 > 600);
            assertSameOutcome("fault in a translated loop", slow, fast);
            assertTrue("the loop was not translated before it faulted", translated.translatedBlocks() > 0);
        }
    }

    /**
     * A conditional jump out of the code page from a translated loop: when R15D reaches 1 the loop leaves by JE rel32 to
     * the page after the data page, which the guest does not map, so the fetch there is a #PF. The translated run must
     * retire the jump exactly as the interpreted one does (RIP at the target, the same count) and fault there.
     * <pre>
     *   top:  41 83 FF 01        CMP R15D, 1
     *         0F 84 rel32        JE out           ; out: two pages on, not mapped
     *         48 FF C0           INC RAX
     *         41 FF CF           DEC R15D
     *         75 EE              JNZ top
     * </pre>
     */
    @Test
    public void aJumpOutOfTheCodePageFromATranslatedLoopRetiresAsInterpreted() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        int out = 2 * 4096 - NativeCpu.INSTRUCTION_OFFSET + 0x10; // from the loop's start: past the data page
        int rel = out - 10;                                         // from the end of the JE
        byte[] code = {0x41, (byte) 0x83, (byte) 0xFF, 0x01, 0x0F, (byte) 0x84, (byte) rel, (byte) (rel >> 8),
                (byte) (rel >> 16), (byte) (rel >> 24), 0x48, (byte) 0xFF, (byte) 0xC0, 0x41, (byte) 0xFF,
                (byte) 0xCF, 0x75, (byte) 0xEE};
        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreted = new InterpreterCpu(Layout.of(nativeCpu), false);
             InterpreterCpu translated = new InterpreterCpu(Layout.of(nativeCpu), true)) {
            MachineState in = randomInput(new Random(9), nativeCpu);
            in.gpr[R15] = 3000;
            InterpreterCpu.Outcome slow = interpreted.execute(Mode.LONG_64, code, NO_SITES, in);
            InterpreterCpu.Outcome fast = translated.execute(Mode.LONG_64, code, NO_SITES, in);
            long target = nativeCpu.codeAddress() + NativeCpu.INSTRUCTION_OFFSET + out;
            assertTrue(String.valueOf(slow.failure()), slow.failure() != null && slow.failure().contains("#PF")
                    && slow.failure().contains(String.format("%#x", target)));
            assertEquals("interpreted: the jump retired, RIP at its target", target, slow.state().rip);
            assertSameOutcome("jump out of the page", slow, fast);
            assertEquals("RIP, translated vs interpreted", slow.state().rip, fast.state().rip);
            assertTrue("the loop was not translated before it left", translated.translatedBlocks() > 0);
        }
    }

    /**
     * A page fault in a POP of a translated loop: the loop pops upward from the start of the stack page into the page
     * after it, which the guest does not map; the translated run must fault at the same POP with the same RSP,
     * registers and retired count as the interpreted one (RSP is not changed by the POP that faults).
     * <pre>
     *   top:  58          POP RAX
     *         48 01 C1    ADD RCX, RAX
     *         41 FF CF    DEC R15D
     *         75 F7       JNZ top
     * </pre>
     */
    @Test
    public void aFaultInATranslatedPopIsPrecise() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        byte[] code = {0x58, 0x48, 0x01, (byte) 0xC1, 0x41, (byte) 0xFF, (byte) 0xCF, 0x75, (byte) 0xF7};
        try (NativeCpu nativeCpu = NativeCpu.open();
             InterpreterCpu interpreted = new InterpreterCpu(Layout.of(nativeCpu), false);
             InterpreterCpu translated = new InterpreterCpu(Layout.of(nativeCpu), true)) {
            MachineState in = randomInput(new Random(6), nativeCpu);
            long end = nativeCpu.stackAddress() + 4096;
            in.gpr[MachineState.RSP] = nativeCpu.stackAddress();
            in.gpr[R15] = 4000;
            InterpreterCpu.Outcome slow = interpreted.execute(Mode.LONG_64, code, NO_SITES, in);
            InterpreterCpu.Outcome fast = translated.execute(Mode.LONG_64, code, NO_SITES, in);
            assertTrue(String.valueOf(slow.failure()), slow.failure() != null && slow.failure().contains("#PF")
                    && slow.failure().contains(String.format("%#x", end)));
            assertEquals("RSP at the faulting POP", end, slow.state().gpr[MachineState.RSP]);
            assertSameOutcome("fault in a translated POP", slow, fast);
            assertEquals("RSP, translated vs interpreted", slow.state().gpr[MachineState.RSP],
                    fast.state().gpr[MachineState.RSP]);
            assertTrue("the loop was not translated before it faulted", translated.translatedBlocks() > 0);
        }
    }

    private static MachineState randomInput(Random rnd, NativeCpu nativeCpu) {
        MachineState in = new MachineState();
        for (int r = 0; r < MachineState.REGISTERS; r++) {
            in.gpr[r] = rnd.nextLong();
        }
        in.gpr[MachineState.RSP] = nativeCpu.stackAddress() + NativeCpu.STACK_PAGE_BYTES / 2;
        in.gpr[R14] = nativeCpu.dataAddress();
        in.rflags = rnd.nextLong() & Flags.STATUS | Flags.FIXED_1;
        rnd.nextBytes(in.data);
        return in;
    }

    /** The same exit (or landing) at the same place, with the same registers, flags, data and retired count. */
    private static void assertSameOutcome(String what, InterpreterCpu.Outcome slow, InterpreterCpu.Outcome fast) {
        assertEquals(what + ": how the run ended", slow.failure(), fast.failure());
        for (int r = 0; r < MachineState.REGISTERS; r++) {
            assertEquals(what + ": register " + MachineState.registerName(r), slow.state().gpr[r],
                    fast.state().gpr[r]);
        }
        assertEquals(what + ": RFLAGS", slow.state().rflags, fast.state().rflags);
        assertTrue(what + ": data page", java.util.Arrays.equals(slow.state().data, fast.state().data));
        assertEquals(what + ": retired instructions", slow.retired(), fast.retired());
    }

    /** A random loop body, then DEC R15D; JNZ to the body's start. */
    private static byte[] loop(Random rnd, List<String> listing) {
        undefined = 0;
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        int count = 6 + rnd.nextInt(24);
        for (int k = 0; k < count; k++) {
            if (rnd.nextInt(8) == 0 && k < count - 2) {
                // CMP, then a forward Jcc over the next one to three instructions (a jump inside the block)
                body.writeBytes(instruction(rnd, 3, listing));
                List<String> skippedListing = new ArrayList<>();
                ByteArrayOutputStream skipped = new ByteArrayOutputStream();
                int cc = definedCondition(rnd);
                long undefinedBefore = undefined;
                int n = 1 + rnd.nextInt(3);
                for (int s = 0; s < n; s++) {
                    skipped.writeBytes(instruction(rnd, -1, skippedListing));
                }
                undefined |= undefinedBefore; // the skipped instructions may or may not have run
                body.write(0x70 | cc);
                body.write(skipped.size());
                listing.add(String.format("J%s +%d", CC[cc], skipped.size()));
                body.writeBytes(skipped.toByteArray());
                skippedListing.forEach(l -> listing.add("  " + l));
                k += n;
            } else {
                body.writeBytes(instruction(rnd, -1, listing));
            }
        }
        // DEC R15D (41 FF CF); JNZ top
        body.write(0x41);
        body.write(0xFF);
        body.write(0xCF);
        listing.add("DEC R15D");
        undefined &= CF; // DEC defines OF SF ZF AF PF
        int back = -(body.size() + 2);
        if (back >= -128) {
            body.write(0x75);
            body.write(back);
        } else {
            back -= 4;
            body.write(0x0F);
            body.write(0x85);
            for (int b = 0; b < 4; b++) {
                body.write(back >>> (8 * b));
            }
        }
        listing.add("JNZ top");
        return body.toByteArray();
    }

    private static final String[] CC = {"O", "NO", "B", "AE", "E", "NE", "BE", "A", "S", "NS", "P", "NP", "L", "GE",
            "LE", "G"};
    private static final String[] ALU = {"ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"};

    private static Reg reg(Random rnd, int size) {
        return new Reg(REGS[rnd.nextInt(REGS.length)], size, false);
    }

    /** A data-page operand: [R14 + disp] within the page. */
    private static Mem data(Random rnd, int size) {
        return new Mem(R14, Mem.NONE, 1, rnd.nextInt(4096 - size), 4);
    }

    /** One random instruction ({@code kind} >= 0 forces one: 3 is a compare). */
    private static byte[] instruction(Random rnd, int kind, List<String> listing) {
        int size = rnd.nextBoolean() ? 4 : 8;
        Reg d = reg(rnd, size);
        Reg s = reg(rnd, size);
        int k = kind >= 0 ? kind : rnd.nextInt(30);
        Encoder e = new Encoder();
        String sz = size == 8 ? "64" : "32";
        switch (k) {
            case 0: case 1: { // ALU r, r (both directions)
                int aop = rnd.nextInt(8);
                if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                    aop = 0; // ADC/SBB read CF
                }
                undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                boolean toRm = k == 0;
                listing.add(ALU[aop] + " " + (toRm ? d.name() + ", " + s.name() : d.name() + ", " + s.name()));
                return e.operandSize(size).opcode(aop << 3 | (toRm ? 1 : 3))
                        .modrm(toRm ? s : d, toRm ? d : s).bytes();
            }
            case 2: { // ALU r, imm8 / imm32
                int aop = rnd.nextInt(8);
                if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                    aop = 0;
                }
                undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                boolean imm8 = rnd.nextBoolean();
                long imm = imm8 ? rnd.nextInt(256) - 128 : rnd.nextInt();
                listing.add(ALU[aop] + " " + d.name() + ", " + imm);
                return e.operandSize(size).opcode(imm8 ? 0x83 : 0x81).modrm(aop, d).imm(imm, imm8 ? 1 : 4).bytes();
            }
            case 3: { // CMP r, r or TEST r, r (a third of them on byte registers: the Jcc after them then tests 8-bit operands)
                boolean test = rnd.nextInt(3) == 0;
                undefined = test ? AF : 0;
                if (rnd.nextInt(3) == 0) {
                    Reg bd = new Reg(d.number(), 1, false);
                    Reg bs = new Reg(s.number(), 1, false);
                    listing.add((test ? "TEST " : "CMP ") + bd.name() + ", " + bs.name());
                    return e.rex().opcode(test ? 0x84 : 0x38).modrm(bs, bd).bytes();
                }
                listing.add((test ? "TEST " : "CMP ") + d.name() + ", " + s.name());
                return e.operandSize(size).opcode(test ? 0x85 : 0x39).modrm(s, d).bytes();
            }
            case 4: { // MOV r, r / MOV r, imm
                if (rnd.nextBoolean()) {
                    listing.add("MOV " + d.name() + ", " + s.name());
                    return e.operandSize(size).opcode(rnd.nextBoolean() ? 0x89 : 0x8B).modrm(s, d).bytes();
                }
                long imm = size == 8 && rnd.nextBoolean() ? rnd.nextLong() : rnd.nextInt();
                listing.add("MOV " + d.name() + ", " + imm);
                if (size == 8 && (imm != (int) imm)) {
                    return e.operandSize(8).opcodePlusRegister(0xB8, d).imm(imm, 8).bytes();
                }
                return size == 8 ? e.operandSize(8).opcode(0xC7).modrm(0, d).imm(imm, 4).bytes()
                        : e.opcodePlusRegister(0xB8, d).imm(imm, 4).bytes();
            }
            case 5: { // LEA r, [base + index * scale + disp]
                int base = REGS[rnd.nextInt(REGS.length)];
                int index = rnd.nextBoolean() ? Mem.NONE : REGS[rnd.nextInt(REGS.length)];
                int scale = 1 << rnd.nextInt(4);
                boolean d8 = rnd.nextBoolean();
                long disp = d8 ? rnd.nextInt(256) - 128 : rnd.nextInt();
                listing.add("LEA " + d.name() + ", [" + MachineState.registerName(base)
                        + (index == Mem.NONE ? "" : " + " + MachineState.registerName(index) + "*" + scale) + " + "
                        + disp + "]");
                return e.operandSize(size).opcode(0x8D).modrm(d, new Mem(base, index, scale, disp, d8 ? 1 : 4))
                        .bytes();
            }
            case 6: { // MOVZX r, r8 / r16 (REX: SPL..DIL, never AH..BH)
                boolean bytes = rnd.nextBoolean();
                Reg src = new Reg(s.number(), bytes ? 1 : 2, false);
                listing.add("MOVZX " + d.name() + ", " + src.name());
                return e.operandSize(size).rex().opcode(0x0F, bytes ? 0xB6 : 0xB7).modrm(d, src).bytes();
            }
            case 7: { // shift or rotate by an immediate: ROL ROR SHL SHR SAR
                int[] ops = {0, 1, 4, 5, 7};
                String[] names = {"ROL", "ROR", "SHL", "SHR", "SAR"};
                int which = rnd.nextInt(ops.length);
                int count = rnd.nextInt(size == 8 ? 64 : 32);
                if (count != 0) {
                    // rotates change only CF and OF; OF is defined for a count of 1 only; shifts leave AF undefined
                    long changedUndefined = (count == 1 ? 0 : OF) | (which >= 2 ? AF : 0);
                    undefined = which >= 2 ? changedUndefined : (undefined & ~(CF | OF)) | changedUndefined;
                }
                listing.add(names[which] + " " + d.name() + ", " + count);
                return e.operandSize(size).opcode(0xC1).modrm(ops[which], d).imm(count, 1).bytes();
            }
            case 8: { // INC / DEC r
                boolean dec = rnd.nextBoolean();
                undefined &= CF; // INC/DEC define all but CF, which they keep
                listing.add((dec ? "DEC " : "INC ") + d.name());
                return e.operandSize(size).opcode(0xFF).modrm(dec ? 1 : 0, d).bytes();
            }
            case 9: { // load, store, read-modify-write of the data page
                Mem m = data(rnd, size);
                switch (rnd.nextInt(4)) {
                    case 0:
                        listing.add("MOV " + d.name() + ", [R14 + " + m.disp() + "]");
                        return e.operandSize(size).opcode(0x8B).modrm(d, m).bytes();
                    case 1:
                        listing.add("MOV [R14 + " + m.disp() + "], " + d.name());
                        return e.operandSize(size).opcode(0x89).modrm(d, m).bytes();
                    case 2:
                        undefined = 0;
                        listing.add("ADD " + d.name() + ", [R14 + " + m.disp() + "]");
                        return e.operandSize(size).opcode(0x03).modrm(d, m).bytes();
                    default:
                        undefined = AF;
                        listing.add("XOR [R14 + " + m.disp() + "], " + d.name());
                        return e.operandSize(size).opcode(0x31).modrm(d, m).bytes();
                }
            }
            case 10: // IMUL r, r
                undefined = SF | ZF | AF | PF;
                listing.add("IMUL " + d.name() + ", " + s.name());
                return e.operandSize(size).opcode(0x0F, 0xAF).modrm(d, s).bytes();
            case 11: { // NEG / NOT
                boolean neg = rnd.nextBoolean();
                if (neg) {
                    undefined = 0; // NEG sets all six; NOT none
                }
                listing.add((neg ? "NEG " : "NOT ") + d.name());
                return e.operandSize(size).opcode(0xF7).modrm(neg ? 3 : 2, d).bytes();
            }
            case 12: { // SETcc r8 / CMOVcc r, r
                int cc = definedCondition(rnd);
                if (rnd.nextBoolean()) {
                    Reg b = new Reg(d.number(), 1, false);
                    listing.add("SET" + CC[cc] + " " + b.name());
                    return e.rex().opcode(0x0F, 0x90 | cc).modrm(0, b).bytes();
                }
                listing.add("CMOV" + CC[cc] + " " + d.name() + ", " + s.name());
                return e.operandSize(size).opcode(0x0F, 0x40 | cc).modrm(d, s).bytes();
            }
            case 13: { // TEST r, imm32
                long imm = rnd.nextInt();
                undefined = AF;
                listing.add("TEST " + d.name() + ", " + imm);
                return e.operandSize(size).opcode(0xF7).modrm(0, d).imm(imm, 4).bytes();
            }
            case 16: case 17: { // more memory forms: byte and immediate stores, compares, TEST, MOVZX, ALU m, imm
                Mem m = data(rnd, size);
                String at = "[R14 + " + m.disp() + "]";
                Reg b = new Reg(d.number(), 1, false);
                switch (rnd.nextInt(8)) {
                    case 0:
                        listing.add("MOV BYTE " + at + ", " + (m.disp() & 0x7F));
                        return e.opcode(0xC6).modrm(0, m).imm(m.disp() & 0x7F, 1).bytes();
                    case 1: {
                        long imm = rnd.nextInt();
                        listing.add("MOV " + sz + " " + at + ", " + imm);
                        return e.operandSize(size).opcode(0xC7).modrm(0, m).imm(imm, 4).bytes();
                    }
                    case 2: {
                        long imm = rnd.nextInt(256);
                        undefined = 0;
                        listing.add("CMP BYTE " + at + ", " + imm);
                        return e.opcode(0x80).modrm(7, m).imm(imm, 1).bytes();
                    }
                    case 3:
                        undefined = 0;
                        listing.add("CMP " + at + ", " + d.name());
                        return e.operandSize(size).opcode(0x39).modrm(d, m).bytes();
                    case 4:
                        undefined = AF;
                        listing.add("TEST " + at + ", " + d.name());
                        return e.operandSize(size).opcode(0x85).modrm(d, m).bytes();
                    case 5:
                        listing.add("MOVZX " + d.name() + ", BYTE " + at);
                        return e.operandSize(size).opcode(0x0F, 0xB6).modrm(d, m).bytes();
                    case 6:
                        listing.add("MOV " + b.name() + ", " + at + " / MOV " + at + ", " + b.name());
                        return e.rex().opcode(rnd.nextBoolean() ? 0x8A : 0x88).modrm(b, m).bytes();
                    default: {
                        int aop = new int[] {0, 1, 4, 5, 6}[rnd.nextInt(5)];
                        long imm = rnd.nextInt(256) - 128;
                        undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                        listing.add(ALU[aop] + " " + sz + " " + at + ", " + imm);
                        return e.operandSize(size).opcode(0x83).modrm(aop, m).imm(imm, 1).bytes();
                    }
                }
            }
            case 18: { // ALU r, m (all operations; ADC/SBB go through their ops)
                Mem m = data(rnd, size);
                int aop = rnd.nextInt(8);
                if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                    aop = 0;
                }
                undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                listing.add(ALU[aop] + " " + d.name() + ", [R14 + " + m.disp() + "]");
                return e.operandSize(size).opcode(aop << 3 | 3).modrm(d, m).bytes();
            }
            case 19: case 20: { // byte ALU: register-register (00 / 02 forms) and with the data page
                int aop = rnd.nextInt(8);
                if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                    aop = 0;
                }
                undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                Reg bd = new Reg(d.number(), 1, false);
                Reg bs = new Reg(s.number(), 1, false);
                int form = rnd.nextBoolean() ? 0 : 2;
                if (k == 19) {
                    listing.add(ALU[aop] + " " + bd.name() + ", " + bs.name() + " (form " + form + ")");
                    return e.rex().opcode(aop << 3 | form).modrm(form == 0 ? bs : bd, form == 0 ? bd : bs).bytes();
                }
                Mem m = data(rnd, 1);
                listing.add(ALU[aop] + " BYTE [R14 + " + m.disp() + "], " + bd.name() + " (form " + form + ")");
                return e.rex().opcode(aop << 3 | form).modrm(bd, m).bytes();
            }
            case 22: { // byte ALU with an immediate: 80 /op Eb,Ib; 04..3C AL,Ib; TEST: F6 /0, A8, and 84 Eb,Gb
                Reg bd = new Reg(d.number(), 1, false);
                Reg bs = new Reg(s.number(), 1, false);
                long imm = rnd.nextInt(256);
                switch (rnd.nextInt(4)) {
                    case 0: {
                        int aop = rnd.nextInt(8);
                        if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                            aop = 0;
                        }
                        undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                        listing.add(ALU[aop] + " " + bd.name() + ", " + imm);
                        return e.rex().opcode(0x80).modrm(aop, bd).imm(imm, 1).bytes();
                    }
                    case 1: {
                        int aop = rnd.nextInt(8);
                        if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                            aop = 0;
                        }
                        undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                        listing.add(ALU[aop] + " AL, " + imm);
                        return e.opcode(aop << 3 | 4).imm(imm, 1).bytes();
                    }
                    case 2:
                        undefined = AF;
                        if (rnd.nextBoolean()) {
                            listing.add("TEST AL, " + imm);
                            return e.opcode(0xA8).imm(imm, 1).bytes();
                        }
                        listing.add("TEST " + bd.name() + ", " + imm);
                        return e.rex().opcode(0xF6).modrm(0, bd).imm(imm, 1).bytes();
                    default:
                        undefined = AF;
                        listing.add("TEST " + bd.name() + ", " + bs.name());
                        return e.rex().opcode(0x84).modrm(bs, bd).bytes();
                }
            }
            case 23: { // shifts of bytes and words by an immediate and by 1, of any size by CL (C0, C1, D0-D3)
                int[] ops = {4, 5, 7, 6};
                String[] names = {"SHL", "SHR", "SAR", "SAL"};
                int which = rnd.nextInt(ops.length);
                int ssize = new int[] {1, 2, 4, 8}[rnd.nextInt(4)];
                Reg r = new Reg(d.number(), ssize, false);
                int bits = ssize * 8;
                switch (rnd.nextInt(3)) {
                    case 0: { // by an immediate below the operand's width (CF is undefined from the width on)
                        int count = rnd.nextInt(bits);
                        if (count != 0) {
                            undefined = (count == 1 ? 0 : OF) | AF;
                        }
                        listing.add(names[which] + " " + r.name() + ", " + count);
                        return e.operandSize(ssize).rex().opcode(ssize == 1 ? 0xC0 : 0xC1).modrm(ops[which], r)
                                .imm(count, 1).bytes();
                    }
                    case 1:
                        undefined = AF;
                        listing.add(names[which] + " " + r.name() + ", 1");
                        return e.operandSize(ssize).rex().opcode(ssize == 1 ? 0xD0 : 0xD1).modrm(ops[which], r)
                                .bytes();
                    default: {
                        // AND ECX, width - 1 first: a count below the width, so CF stays defined (a count of 0
                        // keeps the AND's flags)
                        Encoder and = new Encoder();
                        byte[] mask = and.opcode(0x83).modrm(4, new Reg(1, 4, false)).imm(bits - 1, 1).bytes();
                        undefined = OF | AF;
                        listing.add("AND ECX, " + (bits - 1));
                        listing.add(names[which] + " " + r.name() + ", CL");
                        byte[] shift = e.operandSize(ssize).rex().opcode(ssize == 1 ? 0xD2 : 0xD3)
                                .modrm(ops[which], r).bytes();
                        ByteArrayOutputStream both = new ByteArrayOutputStream();
                        both.writeBytes(mask);
                        both.writeBytes(shift);
                        return both.toByteArray();
                    }
                }
            }
            case 24: { // 16-bit loads and stores of the data page: 66 8B, 66 89, 66 C7
                Mem m = data(rnd, 2);
                Reg w = new Reg(d.number(), 2, false);
                String at = "[R14 + " + m.disp() + "]";
                switch (rnd.nextInt(3)) {
                    case 0:
                        listing.add("MOV " + w.name() + ", WORD " + at);
                        return e.operandSize(2).opcode(0x8B).modrm(w, m).bytes();
                    case 1:
                        listing.add("MOV WORD " + at + ", " + w.name());
                        return e.operandSize(2).opcode(0x89).modrm(w, m).bytes();
                    default: {
                        long imm = rnd.nextInt(0x10000);
                        listing.add("MOV WORD " + at + ", " + imm);
                        return e.operandSize(2).opcode(0xC7).modrm(0, m).imm(imm, 2).bytes();
                    }
                }
            }
            case 25: { // multi-byte NOPs (0F 1F /0 with register and memory operands, 66 0F 1F)
                if (rnd.nextBoolean()) {
                    listing.add("NOP " + d.name());
                    return e.operandSize(size).opcode(0x0F, 0x1F).modrm(0, d).bytes();
                }
                Mem m = new Mem(REGS[rnd.nextInt(REGS.length)], Mem.NONE, 1, rnd.nextInt(), 4);
                listing.add("NOP [" + MachineState.registerName(m.base()) + " + " + m.disp() + "]");
                return e.operandSize(rnd.nextBoolean() ? 2 : 4).opcode(0x0F, 0x1F).modrm(0, m).bytes();
            }
            case 26: { // PUSH r64; POP r64 (a move through the stack)
                Reg s64 = new Reg(s.number(), 8, false);
                Reg d64 = new Reg(d.number(), 8, false);
                listing.add("PUSH " + s64.name() + " / POP " + d64.name());
                ByteArrayOutputStream both = new ByteArrayOutputStream();
                both.writeBytes(new Encoder().opcodePlusRegister(0x50, s64).bytes());
                both.writeBytes(e.opcodePlusRegister(0x58, d64).bytes());
                return both.toByteArray();
            }
            case 27: { // CALL to the next instruction; POP r64: the return address
                Reg d64 = new Reg(d.number(), 8, false);
                listing.add("CALL +0 / POP " + d64.name());
                ByteArrayOutputStream both = new ByteArrayOutputStream();
                both.writeBytes(new Encoder().opcode(0xE8).imm(0, 4).bytes());
                both.writeBytes(e.opcodePlusRegister(0x58, d64).bytes());
                return both.toByteArray();
            }
            case 28: { // LEA r64, [RIP + past the RET]; PUSH r64; RET: a return to the next instruction
                Reg d64 = new Reg(d.number(), 8, false);
                byte[] push = new Encoder().opcodePlusRegister(0x50, d64).bytes();
                byte[] lea = e.operandSize(8).opcode(0x8D).modrm(d64, new Mem(Mem.RIP, Mem.NONE, 1, push.length + 1, 4))
                        .bytes();
                listing.add("LEA " + d64.name() + ", [RIP + " + (push.length + 1) + "] / PUSH " + d64.name() + " / RET");
                ByteArrayOutputStream all = new ByteArrayOutputStream();
                all.writeBytes(lea);
                all.writeBytes(push);
                all.write(0xC3);
                return all.toByteArray();
            }
            case 29: { // MOVSXD r64, r32 and its 32-bit form (a zero-extending copy)
                Reg src = new Reg(s.number(), 4, false);
                listing.add("MOVSXD " + d.name() + ", " + src.name());
                return e.operandSize(size).opcode(0x63).modrm(d, src).bytes();
            }
            default: { // ALU with the accumulator and an immediate (05, 0D, ... 3D)
                int aop = rnd.nextInt(8);
                if ((aop == 2 || aop == 3) && (undefined & CF) != 0) {
                    aop = 0;
                }
                undefined = aop == 1 || aop == 4 || aop == 6 ? AF : 0;
                long imm = rnd.nextInt();
                listing.add(ALU[aop] + " " + new Reg(0, size, false).name() + ", " + imm + " (accumulator form)");
                return e.operandSize(size).opcode(aop << 3 | 5).imm(imm, 4).bytes();
            }
        }
    }
}
