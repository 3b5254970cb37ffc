package io.jvmx.handlers.xsetbv;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.junit.Test;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/** Conformance of the XSETBV handler: SDM Vol. 2D "XSETBV" (operation and #GP(0) conditions) and Vol. 1 13.3. */
public class XsetbvHandlerTest {

    private static final long ALL = Xcr0.X87 | Xcr0.SSE | Xcr0.AVX | Xcr0.BNDREGS | Xcr0.BNDCSR | Xcr0.AVX512
            | Xcr0.PKRU | Xcr0.TILECFG | Xcr0.TILEDATA;
    private static final int XSETBV_LENGTH = 3; // 0F 01 D1

    private final XsetbvHandler handler = new XsetbvHandler();

    private FakeVCpu xsetbv(FakeVCpu v, long ecx, long value) throws Exception {
        v.writeGpr(GeneralRegisters.RCX, ecx);
        v.writeGpr(GeneralRegisters.RAX, value & 0xFFFF_FFFFL);
        v.writeGpr(GeneralRegisters.RDX, value >>> 32);
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.XSETBV, 0, XSETBV_LENGTH)));
        return v;
    }

    private void assertAccepted(FakeVCpu v, long value) throws Exception {
        long rip = v.rip();
        xsetbv(v, 0, value);
        assertEquals(String.format("XCR0 %#x", value), value, v.guestXcr0());
        assertEquals(rip + XSETBV_LENGTH, v.rip());
        assertTrue(v.pendingEvents().isEmpty());
    }

    /** #GP(0) queued, XCR0 unchanged and RIP still on the XSETBV (a fault, SDM Vol. 3A 6.5). */
    private void assertGp(FakeVCpu v, long ecx, long value) throws Exception {
        long rip = v.rip();
        long before = v.guestXcr0();
        xsetbv(v, ecx, value);
        assertEquals(List.of(new PendingEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0)), v.pendingEvents());
        assertEquals(before, v.guestXcr0());
        assertEquals(rip, v.rip());
    }

    /**
     * x86_vcpu's check requires OPMASK, ZMM_Hi256 and Hi16_ZMM to be clear and set at once, so it rejects every XCR0
     * value (here: the crate's condition written out in Java, over a sample of values). The SDM accepts x87|SSE
     * (0x3) and x87|SSE|AVX (0x7) — this handler does.
     */
    @Test
    public void x86VcpuRejectsEveryXcr0_butX87Sse0x3AndX87SseAvx0x7AreAccepted() throws Exception {
        for (long value : new long[] {0x1, 0x3, 0x7, 0xE7, 0x1F, 0xFF, 0x2FF}) {
            assertFalse(String.format("x86_vcpu accepts %#x", value), x86VcpuAccepts(value));
        }
        assertAccepted(new FakeVCpu(), Xcr0.X87 | Xcr0.SSE);
        assertAccepted(new FakeVCpu(), Xcr0.X87 | Xcr0.SSE | Xcr0.AVX);
    }

    /** x86_vcpu's handle_xsetbv condition on the AVX-512 bits, which no value can pass. */
    private static boolean x86VcpuAccepts(long x) {
        boolean anyAvx512 = (x & Xcr0.OPMASK) != 0 || (x & Xcr0.ZMM_HI256) != 0 || (x & Xcr0.HI16_ZMM) != 0;
        boolean notAllAvx = (x & Xcr0.AVX) == 0 || (x & Xcr0.OPMASK) == 0 || (x & Xcr0.ZMM_HI256) == 0
                || (x & Xcr0.HI16_ZMM) == 0;
        return (x & Xcr0.X87) != 0 && !((x & Xcr0.AVX) != 0 && (x & Xcr0.SSE) == 0) && !(anyAvx512 || notAllAvx);
    }

    /** x87 only (XCR0 = 1) is valid: bit 0 is the one mandatory bit (SDM Vol. 1 13.3). */
    @Test
    public void x87OnlyIsAccepted() throws Exception {
        assertAccepted(new FakeVCpu(), Xcr0.X87);
    }

    /** RIP advances by the VM-exit instruction length field (SDM 28.2.5), not a constant. */
    @Test
    public void ripAdvancesByTheInstructionLengthField() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        v.writeGpr(GeneralRegisters.RAX, 3);
        handler.handle(v, v.exit(ExitReason.XSETBV, 0, 4)); // e.g. with a redundant prefix
        assertEquals(rip + 4, v.rip());
    }

    /** Only XCR0 exists: ECX != 0 is #GP(0) (SDM Vol. 2D XSETBV "invalid XCR specified in ECX"). */
    @Test
    public void nonZeroEcxRaisesGp() throws Exception {
        assertGp(new FakeVCpu(), 1, Xcr0.X87 | Xcr0.SSE);
    }

    /** The upper 32 bits of RCX, RAX and RDX are ignored (SDM Vol. 2D XSETBV: ECX, EDX:EAX). */
    @Test
    public void upperHalvesOfRcxRaxRdxAreIgnored() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RCX, 0xDEAD_0000_0000_0000L);
        v.writeGpr(GeneralRegisters.RAX, 0xFFFF_FFFF_0000_0003L);
        v.writeGpr(GeneralRegisters.RDX, 0xFFFF_FFFF_0000_0000L);
        handler.handle(v, v.exit(ExitReason.XSETBV, 0, XSETBV_LENGTH));
        assertEquals(3, v.guestXcr0());
    }

    /** XCR0[0] (x87) must be 1 (SDM Vol. 1 13.3). */
    @Test
    public void clearingX87RaisesGp() throws Exception {
        assertGp(new FakeVCpu(), 0, Xcr0.SSE);
    }

    /** AVX requires SSE: XCR0[2:1] = 10b is #GP(0) (SDM Vol. 1 13.3). */
    @Test
    public void avxWithoutSseRaisesGp() throws Exception {
        assertGp(new FakeVCpu(), 0, Xcr0.X87 | Xcr0.AVX);
    }

    /** A bit the processor does not support (not in CPUID.(EAX=0DH,ECX=0):EDX:EAX) is reserved: #GP(0). */
    @Test
    public void unsupportedBitRaisesGp() throws Exception {
        assertGp(new FakeVCpu(), 0, Xcr0.X87 | Xcr0.SSE | Xcr0.PKRU); // the fake supports x87|SSE|AVX
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, Xcr0.X87 | Xcr0.SSE | (1L << 8)); // bit 8: IA32_XSS only
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, Xcr0.X87 | (1L << 40));
    }

    /** AVX-512: XCR0[7:5] all set together with AVX is valid (SDM Vol. 1 13.3). */
    @Test
    public void avx512AllTogetherWithAvxIsAccepted() throws Exception {
        assertAccepted(new FakeVCpu().setSupportedXcr0(ALL), Xcr0.X87 | Xcr0.SSE | Xcr0.AVX | Xcr0.AVX512);
    }

    /** AVX-512: XCR0[7:5] must be 000b or 111b (SDM Vol. 1 13.3). */
    @Test
    public void avx512PartialRaisesGp() throws Exception {
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, Xcr0.X87 | Xcr0.SSE | Xcr0.AVX | Xcr0.OPMASK);
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0,
                Xcr0.X87 | Xcr0.SSE | Xcr0.AVX | Xcr0.ZMM_HI256 | Xcr0.HI16_ZMM);
    }

    /** AVX-512 state needs AVX: XCR0[7:5] = 111b with XCR0[2] = 0 is #GP(0) (SDM Vol. 1 13.3). */
    @Test
    public void avx512WithoutAvxRaisesGp() throws Exception {
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, Xcr0.X87 | Xcr0.SSE | Xcr0.AVX512);
    }

    /** MPX: BNDREGS and BNDCSR set or clear together (SDM Vol. 1 13.3: XCR0[4:3] 00b or 11b). */
    @Test
    public void bndregsAndBndcsrMustMatch() throws Exception {
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, Xcr0.X87 | Xcr0.BNDREGS);
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, Xcr0.X87 | Xcr0.BNDCSR);
        assertAccepted(new FakeVCpu().setSupportedXcr0(ALL), Xcr0.X87 | Xcr0.BNDREGS | Xcr0.BNDCSR);
    }

    /** AMX: TILECFG and TILEDATA set or clear together (SDM Vol. 1 13.3: XCR0[18:17] 00b or 11b). */
    @Test
    public void tilecfgAndTiledataMustMatch() throws Exception {
        long base = Xcr0.X87 | Xcr0.SSE | Xcr0.AVX;
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, base | Xcr0.TILECFG);
        assertGp(new FakeVCpu().setSupportedXcr0(ALL), 0, base | Xcr0.TILEDATA);
        assertAccepted(new FakeVCpu().setSupportedXcr0(ALL), base | Xcr0.TILECFG | Xcr0.TILEDATA);
    }

    /** PKRU alone (when supported) is an independent component: accepted (SDM Vol. 1 13.3). */
    @Test
    public void pkruIsAcceptedWhenSupported() throws Exception {
        assertAccepted(new FakeVCpu().setSupportedXcr0(ALL), Xcr0.X87 | Xcr0.SSE | Xcr0.PKRU);
    }
}
