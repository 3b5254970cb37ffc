package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import org.junit.AfterClass;
import org.junit.Assume;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The two executors themselves, before any differential result is trusted: the native stubs hand every register,
 * the flags, the data and the stack page through unchanged around a NOP, in both modes; memory operands reach the
 * data page, pushes the stack page, and a jump the landing site it names; the x87 and SSE state goes in and out as
 * an FXSAVE image; the software processor does the same for its guest, in its 16-bit modes too.
 */
public class HarnessTest {
    private static NativeCpu nativeCpu;
    private static InterpreterCpu interpreter;
    private static Layout layout;

    @BeforeClass
    public static void open() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        nativeCpu = NativeCpu.open();
        layout = Layout.of(nativeCpu);
        interpreter = new InterpreterCpu(layout);
    }

    @AfterClass
    public static void close() {
        if (nativeCpu != null) {
            interpreter.close();
            nativeCpu.close();
        }
    }

    private static MachineState randomState(long seed) {
        Random r = new Random(seed);
        MachineState s = new MachineState();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            s.gpr[i] = r.nextLong();
        }
        s.gpr[MachineState.RSP] = layout.stack() + 0x800;
        s.rflags = Flags.FIXED_1 | (r.nextLong() & NativeCpu.SETTABLE_FLAGS);
        r.nextBytes(s.data);
        r.nextBytes(s.stack);
        return s;
    }

    /** Everything but the flags the harness adds (IF, always 1 in user mode) is as it was. */
    private static void assertUnchanged(MachineState in, MachineState out, int registers, long registerMask) {
        assertArrayEquals(in.data, out.data);
        assertArrayEquals(in.stack, out.stack);
        for (int i = 0; i < registers; i++) {
            assertEquals(MachineState.registerName(i), in.gpr[i] & registerMask, out.gpr[i] & registerMask);
        }
        assertEquals(in.rflags | Flags.IF, out.rflags & Flags.OBSERVED | Flags.FIXED_1);
        assertEquals("rip: the next instruction", layout.instruction() + 1, out.rip);
    }

    /** 90: NOP (SDM Vol. 2B). Everything the stub loads comes back as it was, in 64-bit mode. */
    @Test
    public void nopChangesNothingNatively() {
        for (int seed = 0; seed < 20; seed++) {
            MachineState in = randomState(seed);
            MachineState out = nativeCpu.execute(Mode.LONG_64, NativeCpu.bytes(0x90), new int[0], in);
            assertUnchanged(in, out, MachineState.REGISTERS, -1L);
            assertEquals("64-bit user code", NativeCpu.USER_CS, out.selectors[1]);
        }
    }

    /** The same in compatibility mode: RAX..RDI, 32 bits of each; CS is the 32-bit user code segment. */
    @Test
    public void nopChangesNothingNativelyInCompatibilityMode() {
        Assume.assumeTrue("no compatibility mode here", nativeCpu.compatibilityModeAvailable());
        for (int seed = 0; seed < 20; seed++) {
            MachineState in = randomState(seed);
            MachineState out = nativeCpu.execute(Mode.COMPATIBILITY_32, NativeCpu.bytes(0x90), new int[0], in);
            assertUnchanged(in, out, 8, 0xFFFF_FFFFL);
            assertEquals("32-bit user code", NativeCpu.USER32_CS, out.selectors[1]);
            assertEquals("DS loaded for 32-bit code", NativeCpu.USER_DS, out.selectors[3]);
        }
    }

    /** The same for the guest, in both modes. */
    @Test
    public void nopChangesNothingInTheInterpreter() {
        for (Mode mode : Mode.NATIVE) {
            for (int seed = 0; seed < 20; seed++) {
                MachineState in = randomState(seed);
                InterpreterCpu.Outcome outcome = interpreter.execute(mode, NativeCpu.bytes(0x90), new int[0], in);
                assertNull(outcome.failure());
                assertUnchanged(in, outcome.state(), MachineState.REGISTERS, -1L);
                assertEquals(mode == Mode.LONG_64 ? NativeCpu.USER_CS : NativeCpu.USER32_CS,
                        outcome.state().selectors[1]);
            }
        }
    }

    /**
     * The guest's 16-bit modes: a NOP placed at the instruction offset of the code page (CS based at the page) ends
     * at the next byte's linear address; 66 89 43 08 (MOV [EBX+8], EAX with 67H: 32-bit addressing) stores EAX at
     * data + 8 there as 89 43 08 does in 32-bit code.
     */
    @Test
    public void sixteenBitCodeInTheInterpreter() {
        for (Mode mode : new Mode[] {Mode.CODE_16, Mode.REAL_ADDRESS}) {
            MachineState in = randomState(3);
            InterpreterCpu.Outcome nop = interpreter.execute(mode, NativeCpu.bytes(0x90), new int[0], in);
            assertNull(nop.failure());
            assertEquals(layout.instruction() + 1, nop.state().rip);
            in.gpr[3] = layout.data();
            byte[] expected = in.data.clone();
            ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN).putInt(8, (int) in.gpr[0]);
            InterpreterCpu.Outcome store = interpreter.execute(mode, NativeCpu.bytes(0x66, 0x67, 0x89, 0x43, 0x08),
                    new int[0], in);
            assertNull(store.failure());
            assertArrayEquals(expected, store.state().data);
        }
    }

    /** REX.W 89 /r: MOV [rbx+8], rax (ModRM 0x43, disp8 8) stores at offset 8 of the data page, on both sides. */
    @Test
    public void aStoreThroughAPointerReachesTheDataPage() {
        MachineState in = randomState(99);
        in.gpr[3] = layout.data();
        byte[] store = NativeCpu.bytes(0x48, 0x89, 0x43, 0x08);
        byte[] expected = in.data.clone();
        ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN).putLong(8, in.gpr[0]);
        assertArrayEquals(expected, nativeCpu.execute(Mode.LONG_64, store, new int[0], in).data);
        assertArrayEquals(expected, interpreter.execute(Mode.LONG_64, store, new int[0], in).state().data);
    }

    /** 50: PUSH RAX writes RAX below RSP in the stack page and moves RSP by 8, on both sides (SDM Vol. 2B PUSH). */
    @Test
    public void aPushReachesTheStackPage() {
        MachineState in = randomState(7);
        byte[] expected = in.stack.clone();
        ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN).putLong(0x800 - 8, in.gpr[0]);
        byte[] push = NativeCpu.bytes(0x50);
        MachineState out = nativeCpu.execute(Mode.LONG_64, push, new int[0], in);
        assertArrayEquals(expected, out.stack);
        assertEquals(in.gpr[MachineState.RSP] - 8, out.gpr[MachineState.RSP]);
        MachineState guest = interpreter.execute(Mode.LONG_64, push, new int[0], in).state();
        assertArrayEquals(expected, guest.stack);
        assertEquals(in.gpr[MachineState.RSP] - 8, guest.gpr[MachineState.RSP]);
    }

    /** EB cb: JMP rel8 -0x40 lands on the pad 0x40 bytes before the instruction's end, on both sides. */
    @Test
    public void aJumpReachesItsLandingSite() {
        MachineState in = randomState(8);
        byte[] jump = NativeCpu.bytes(0xEB, 0xC0);
        int site = NativeCpu.INSTRUCTION_OFFSET + 2 - 0x40;
        assertEquals(layout.code() + site, nativeCpu.execute(Mode.LONG_64, jump, new int[] {site}, in).rip);
        InterpreterCpu.Outcome outcome = interpreter.execute(Mode.LONG_64, jump, new int[] {site}, in);
        assertNull(outcome.failure());
        assertEquals(layout.code() + site, outcome.state().rip);
    }

    /**
     * The x87 and SSE state's way in and out (FXRSTOR64 and FXSAVE64 of {@link FxsaveImage}s): around a NOP, the x87
     * control, status and tag words, ST(0)-ST(7), MXCSR and XMM0-15 come back as loaded, on both sides, in 64-bit and
     * (where it can run) in compatibility mode, where XMM0-7 do; neither writes bytes 416-511. (Not the pointers and
     * opcode: an AMD processor's FXSAVE stores them only with an exception pending.) The landing site is the
     * fall-through's, with the FXSAVE in the guest's pad.
     */
    @Test
    public void fxsaveStateRoundTripsAroundANop() {
        for (int seed = 0; seed < 10; seed++) {
            for (Mode mode : Mode.NATIVE) {
                boolean compat = mode == Mode.COMPATIBILITY_32;
                if (compat && !nativeCpu.compatibilityModeAvailable()) {
                    continue;
                }
                Random r = new Random(seed);
                MachineState in = randomState(seed);
                byte[] image = in.fxsave();
                // every x87 exception masked, so that the random flags are not pending; TOP and tags random
                FxsaveImage.put16(image, FxsaveImage.FCW, 0x037F | r.nextInt(4) << 10);
                FxsaveImage.put16(image, FxsaveImage.FSW, r.nextInt(0x10000) & 0x7F7F);
                image[FxsaveImage.FTW] = (byte) r.nextInt(256);
                for (int i = 0; i < 8; i++) {
                    FxsaveImage.setRegister(image, i, r.nextInt(0x10000), r.nextLong());
                }
                in.setMxcsr(FxsaveImage.MXCSR_RESET | r.nextInt(4) << 13 | r.nextInt(64));
                for (int k = 0; k < 32; k++) {
                    in.setXmm(k, r.nextLong());
                }
                int xmmEnd = compat ? FxsaveImage.XMM8 : FxsaveImage.WRITTEN_END;
                InterpreterCpu.Outcome guest = interpreter.execute(mode, NativeCpu.bytes(0x90), new int[0], in);
                assertNull(guest.failure());
                for (MachineState out : new MachineState[] {nativeCpu.execute(mode, NativeCpu.bytes(0x90),
                        new int[0], in), guest.state()}) {
                    byte[] o = out.fxsave;
                    assertEquals("rip: the next instruction", layout.instruction() + 1, out.rip);
                    assertArrayEquals("FCW FSW FTW", Arrays.copyOfRange(image, 0, 5), Arrays.copyOfRange(o, 0, 5));
                    assertArrayEquals("ST(0)-ST(7)", Arrays.copyOfRange(image, FxsaveImage.ST0, FxsaveImage.XMM0),
                            Arrays.copyOfRange(o, FxsaveImage.ST0, FxsaveImage.XMM0));
                    assertEquals("MXCSR", in.mxcsr(), FxsaveImage.mxcsr(o));
                    assertArrayEquals("XMM", Arrays.copyOfRange(image, FxsaveImage.XMM0, xmmEnd),
                            Arrays.copyOfRange(o, FxsaveImage.XMM0, xmmEnd));
                    assertArrayEquals("bytes 416-511", Arrays.copyOfRange(FxsaveImage.unwritten(),
                            FxsaveImage.WRITTEN_END, FxsaveImage.BYTES), Arrays.copyOfRange(o,
                            FxsaveImage.WRITTEN_END, FxsaveImage.BYTES));
                    assertArrayEquals(in.data, out.data);
                    assertArrayEquals(in.stack, out.stack);
                }
            }
        }
    }

    /** CPUID leaf 0 (SDM Vol. 2A): a 12-character vendor string in EBX EDX ECX. */
    @Test
    public void cpuidNatively() {
        HostCpu host = HostCpu.of(nativeCpu);
        assertEquals(12, host.vendor().length());
        assertTrue(host.vendor(), host.vendor().chars().allMatch(c -> c >= 0x20 && c < 0x7F));
    }
}
