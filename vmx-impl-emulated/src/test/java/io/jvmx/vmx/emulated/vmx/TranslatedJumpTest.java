package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.spi.GeneralRegisters;

import org.junit.Test;

/**
 * Non-canonical addresses in translated blocks, each fault with the state the interpreter leaves. A jump out of a
 * translated block to a non-canonical address (SDM Vol. 2A Jcc, 64-bit mode: "#GP(0) if the memory
 * address is in a non-canonical form"): the fault comes with RIP at the jump, which has not retired, as in the
 * interpreter. The harness of {@code TranslatedBlockTest} runs code where no rel32 reaches a non-canonical address, so
 * this guest runs in the last page of the lower canonical half: linear 7FFF_FFE0_0000 is a 2-MiB page at
 * guest-physical 0, the loop is at 7FFF_FFFF_F800.
 * <pre>
 *   top:  ff c1                inc ecx
 *         81 f9 e8 03 00 00    cmp ecx, 1000
 *         0f 84 02 08 00 00    je  8000_0000_0010   ; non-canonical: #GP(0) at the JE
 *         eb f0                jmp top
 * </pre>
 */
public class TranslatedJumpTest {
    private static final long TOP = 0x7FFF_FFFF_F800L;
    private static final long JE = TOP + 8;

    @Test(timeout = 20_000)
    public void aJumpToANonCanonicalAddressFaultsAtTheJumpTranslatedAsInterpreted() {
        for (boolean translate : new boolean[] {false, true}) {
            VmxFixture fx = new VmxFixture();
            fx.longModeGuest(0);
            // PML4[255] -> PDPT at 0x10000, PDPT[511] -> PD at 0x11000, PD[511] = 2 MiB at 0
            fx.memory.write64(fx.guestRam + VmxFixture.LONG_MODE_PML4 + 8 * 255, 0x10000 | 3);
            fx.memory.write64(fx.guestRam + 0x10000 + 8 * 511, 0x11000 | 3);
            fx.memory.write64(fx.guestRam + 0x11000 + 8 * 511, 0x83);
            fx.load(TOP - 0x7FFF_FFE0_0000L, VmxFixture.code("ff c1  81 f9 e8 03 00 00  0f 84 02 08 00 00  eb f0"));
            fx.write(GUEST_RIP, TOP);
            fx.write(EXCEPTION_BITMAP, 1 << 13);
            fx.cpu.setBlockTranslation(translate);
            fx.cpu.vmlaunch(fx.guestRegisters);
            String what = translate ? "translated" : "interpreted";
            assertEquals(what + ": exit", ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
            InterruptionInfo info = InterruptionInfo.decode(fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
            assertEquals(what + ": #GP", 13, info.vector());
            assertEquals(what + ": error code", 0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
            assertEquals(what + ": RIP at the JE, which did not retire", JE, fx.read(GUEST_RIP));
            assertEquals(what + ": ECX", 1000, fx.guestRegisters.get(GeneralRegisters.RCX) & 0xFFFF_FFFFL);
            assertEquals(what + ": the compare's flags (ZF, PF)", 0x44, fx.read(GUEST_RFLAGS) & 0x8D5);
            // 999 rounds of four and INC, CMP of the last: the JE did not retire
            assertEquals(what + ": instructions retired", 999 * 4 + 2, fx.cpu.guestInstructionsRetired());
            if (translate) {
                assertTrue("the loop was translated", fx.cpu.translatedBlocks() > 0);
            }
        }
    }

    /**
     * A PUSH with a non-canonical RSP is #SS(0) (SDM Vol. 2B PUSH, 64-bit mode: "#SS(0) if the stack address is in a
     * non-canonical form") at the PUSH, RSP unchanged, translated as interpreted.
     * <pre>
     *   8000: ff c1               inc ecx
     *   8002: 81 f9 e8 03 00 00   cmp ecx, 1000
     *   8008: 75 03               jne 800d
     *   800a: 48 89 c4            mov rsp, rax        ; RAX = 8000_0000_0008: RSP - 8 is not canonical
     *   800d: 53                  push rbx            ; #SS(0) in the 1000th round
     *   800e: 5b                  pop rbx
     *   800f: eb ef               jmp 8000
     * </pre>
     */
    @Test(timeout = 20_000)
    public void aPushWithANonCanonicalStackPointerIsAStackFaultTranslatedAsInterpreted() {
        for (boolean translate : new boolean[] {false, true}) {
            VmxFixture fx = run(translate, "ff c1  81 f9 e8 03 00 00  75 03  48 89 c4  53  5b  eb ef", 12);
            String what = translate ? "translated" : "interpreted";
            assertEquals(what + ": RIP at the PUSH", 0x800d, fx.read(GUEST_RIP));
            assertEquals(what + ": RSP", 0x8000_0000_0008L, fx.read(GUEST_RSP));
            // 999 rounds of six, then INC CMP JNE MOV
            assertEquals(what + ": instructions retired", 999 * 6 + 4, fx.cpu.guestInstructionsRetired());
            assertTrue(what + ": translated", !translate || fx.cpu.translatedBlocks() > 0);
        }
    }

    /**
     * A RET to a non-canonical address is #GP(0) at the RET with RSP unchanged (SDM Vol. 2B RET), translated as
     * interpreted; the other rounds return through PUSH and RET to the next instruction.
     * <pre>
     *   8000: ff c1                  inc ecx
     *   8002: 81 f9 e8 03 00 00      cmp ecx, 1000
     *   8008: 75 02                  jne 800c
     *   800a: 50                     push rax          ; RAX = 8000_0000_0008
     *   800b: c3                     ret               ; #GP(0) in the 1000th round
     *   800c: 48 8d 15 02 00 00 00   lea rdx, [rip + 2]
     *   8013: 52                     push rdx
     *   8014: c3                     ret               ; to 8015
     *   8015: eb e9                  jmp 8000
     * </pre>
     */
    @Test(timeout = 20_000)
    public void aRetToANonCanonicalAddressFaultsAtTheRetTranslatedAsInterpreted() {
        for (boolean translate : new boolean[] {false, true}) {
            VmxFixture fx = run(translate, "ff c1  81 f9 e8 03 00 00  75 02  50  c3  48 8d 15 02 00 00 00  52  c3  eb e9",
                    13);
            String what = translate ? "translated" : "interpreted";
            assertEquals(what + ": RIP at the RET", 0x800b, fx.read(GUEST_RIP));
            assertEquals(what + ": RSP at the pushed address", 0x7000 - 8, fx.read(GUEST_RSP));
            assertEquals(what + ": RDX", 0x8015, fx.guestRegisters.get(GeneralRegisters.RDX));
            // 999 rounds of seven, then INC CMP JNE PUSH
            assertEquals(what + ": instructions retired", 999 * 7 + 4, fx.cpu.guestInstructionsRetired());
            assertTrue(what + ": translated", !translate || fx.cpu.translatedBlocks() > 0);
        }
    }

    /** Runs {@code code} at 8000 in 64-bit mode with RAX = 8000_0000_0008 until exception {@code vector} exits. */
    private static VmxFixture run(boolean translate, String code, int vector) {
        VmxFixture fx = new VmxFixture();
        fx.longModeGuest(0);
        fx.load(0x8000, VmxFixture.code(code));
        fx.guestRegisters.set(GeneralRegisters.RAX, 0x8000_0000_0008L);
        fx.write(EXCEPTION_BITMAP, 1 << vector);
        fx.cpu.setBlockTranslation(translate);
        fx.cpu.vmlaunch(fx.guestRegisters);
        assertEquals("exit", ExitReason.EXCEPTION_OR_NMI.number(), fx.exitReason());
        InterruptionInfo info = InterruptionInfo.decode(fx.read32(VM_EXIT_INTERRUPTION_INFORMATION));
        assertEquals("vector", vector, info.vector());
        assertEquals("error code", 0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        return fx;
    }
}
