package io.jvmx.vmx.emulated.differential;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;

import org.junit.AfterClass;
import org.junit.Assume;
import org.junit.BeforeClass;
import org.junit.Test;

/**
 * The two executors themselves, before any differential result is trusted: the native stub hands every register,
 * the flags and the data page through unchanged around a NOP, and memory operands reach the data page; the software
 * processor does the same for its guest.
 */
public class HarnessTest {
    private static NativeCpu nativeCpu;
    private static InterpreterCpu interpreter;

    @BeforeClass
    public static void open() {
        Assume.assumeTrue(NativeCpu.UNSUPPORTED, NativeCpu.supported());
        nativeCpu = NativeCpu.open();
        interpreter = new InterpreterCpu(nativeCpu.codeAddress(), nativeCpu.instructionOffset(),
                nativeCpu.dataAddress());
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
        MachineState s = new MachineState(NativeCpu.DATA_PAGE_BYTES);
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            s.gpr[i] = i == MachineState.RSP ? 0 : r.nextLong();
        }
        s.rflags = Flags.FIXED_1 | (r.nextLong() & NativeCpu.SETTABLE_FLAGS);
        r.nextBytes(s.data);
        return s;
    }

    /** 90: NOP (SDM Vol. 2B). Everything the stub loads comes back as it was. */
    @Test
    public void nopChangesNothingNatively() {
        for (int seed = 0; seed < 20; seed++) {
            MachineState in = randomState(seed);
            MachineState out = nativeCpu.execute(NativeCpu.bytes(0x90), in);
            assertArrayEquals(in.data, out.data);
            for (int i = 0; i < MachineState.REGISTERS; i++) {
                assertEquals(MachineState.registerName(i), i == MachineState.RSP ? 0 : in.gpr[i], out.gpr[i]);
            }
            assertEquals(in.rflags, out.rflags & NativeCpu.SETTABLE_FLAGS | Flags.FIXED_1);
        }
    }

    /** The same for the guest. */
    @Test
    public void nopChangesNothingInTheInterpreter() {
        for (int seed = 0; seed < 20; seed++) {
            MachineState in = randomState(seed);
            InterpreterCpu.Outcome outcome = interpreter.execute(NativeCpu.bytes(0x90), in);
            assertNull(outcome.failure());
            MachineState out = outcome.state();
            assertArrayEquals(in.data, out.data);
            for (int i = 0; i < MachineState.REGISTERS; i++) {
                assertEquals(MachineState.registerName(i), i == MachineState.RSP ? 0 : in.gpr[i], out.gpr[i]);
            }
            assertEquals(in.rflags, out.rflags & NativeCpu.SETTABLE_FLAGS | Flags.FIXED_1);
        }
    }

    /** REX.W 89 /r: MOV [rbx+8], rax (ModRM 0x43, disp8 8) stores at offset 8 of the data page, on both sides. */
    @Test
    public void aStoreThroughAPointerReachesTheDataPage() {
        MachineState in = randomState(99);
        in.gpr[3] = nativeCpu.dataAddress();
        byte[] store = NativeCpu.bytes(0x48, 0x89, 0x43, 0x08);
        byte[] expected = in.data.clone();
        ByteBuffer.wrap(expected).order(ByteOrder.LITTLE_ENDIAN).putLong(8, in.gpr[0]);
        assertArrayEquals(expected, nativeCpu.execute(store, in).data);
        assertArrayEquals(expected, interpreter.execute(store, in).state().data);
    }

    /**
     * The x87 and SSE state's way in and out (FXRSTOR64 and FXSAVE64 of {@link FxsaveImage}s): around a NOP, the x87
     * control, status and tag words, ST(0)-ST(7), MXCSR and XMM0-15 come back as loaded, on both sides, in 64-bit and
     * (pages permitting) in 32-bit code, where XMM0-7 do; neither writes bytes 416-511. (Not the pointers and opcode:
     * an AMD processor's FXSAVE stores them only with an exception pending.)
     */
    @Test
    public void fxsaveStateRoundTripsAroundANop() {
        for (int seed = 0; seed < 10; seed++) {
            for (boolean compat : new boolean[] {false, true}) {
                if (compat && !nativeCpu.dataBelow4GiB()) {
                    continue;
                }
                Random r = new Random(seed);
                MachineState in = randomState(seed);
                in.compat = compat;
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
                for (MachineState out : new MachineState[] {nativeCpu.execute(NativeCpu.bytes(0x90), in),
                        interpreter.execute(NativeCpu.bytes(0x90), in).state()}) {
                    byte[] o = out.fxsave;
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
