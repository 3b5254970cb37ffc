package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertEquals;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.io.ByteArrayOutputStream;

import org.junit.Test;

/**
 * The system rules of MMX, SSE and the XSAVE feature set, seen by guests (real-mode and 32-bit protected-mode code
 * at 0x8000 under "unrestricted guest"): the #UD, #NM, #MF, #XM and #GP conditions of the instruction pages' exception
 * tables (SDM Vol. 2A, 2.4 and the pages of each instruction; Vol. 3A, 6.15), the x87 state MMX instructions leave
 * (Vol. 1, 9.5.1), XINUSE through XGETBV with ECX = 1 (Vol. 1, 13.6), XRSTOR's header checks (Vol. 1, 13.8), and
 * what CPUID says (Vol. 2A, CPUID leaves 1 and 0DH). The instructions' results are the differential tests' subject.
 */
public class SimdSystemTest {
    private final VmxFixture fx = new VmxFixture();
    private boolean launched;

    private static final int UD = 6, NM = 7, GP = 13, MF = 16, XM = 19;
    private static final long DATA = 0x9000, AREA = 0x9400;

    public SimdSystemTest() {
        fx.write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                fx.read(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS) | PrimaryProcessorBasedControls.HLT_EXITING);
        fx.write(EXCEPTION_BITMAP, 1 << UD | 1 << NM | 1 << GP | 1 << MF | 1 << XM);
        fx.cpu.writeCr(4, fx.cpu.readCr(4) | Cr4.OSXSAVE);
        fx.cpu.xsetbv(0, Xcr0.X87 | Xcr0.SSE);
        guestCr4(Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.OSXSAVE);
    }

    private void guestCr4(long bits) {
        fx.write(GUEST_CR4, Cr4.VMXE | bits);
        fx.write(CR4_READ_SHADOW, bits);
    }

    private void guestCr0(long bits) {
        fx.write(GUEST_CR0, Cr0.ET | Cr0.NE | bits);
        fx.write(CR0_READ_SHADOW, Cr0.ET | Cr0.NE | bits);
    }

    /** Runs the guest code at 0x8000 (HLT appended) and returns the exit: -1 for HLT, else the exception vector. */
    private int run(int... code) {
        byte[] b = new byte[code.length + 1];
        for (int k = 0; k < code.length; k++) {
            b[k] = (byte) code[k];
        }
        b[code.length] = (byte) 0xF4;
        fx.load(0x8000, b);
        fx.write(GUEST_RIP, 0x8000);
        if (launched) {
            fx.cpu.vmresume(fx.guestRegisters);
        } else {
            fx.cpu.vmlaunch(fx.guestRegisters);
            launched = true;
        }
        return exit();
    }

    private int exit() {
        int reason = fx.exitReason() & 0xFFFF;
        if (reason == ExitReason.HLT.number()) {
            return -1;
        }
        assertEquals("exit reason", ExitReason.EXCEPTION_OR_NMI.number(), reason);
        return InterruptionInfo.decode(fx.read(VM_EXIT_INTERRUPTION_INFORMATION)).vector();
    }

    /** Resumes after the faulting instruction of {@code length} bytes (what a guest's handler would do). */
    private int skip(int length) {
        fx.write(GUEST_RIP, fx.read(GUEST_RIP) + length);
        fx.cpu.vmresume(fx.guestRegisters);
        return exit();
    }

    private long rip() {
        return fx.read(GUEST_RIP);
    }

    private void poke(long gpa, long value, int bytes) {
        for (int k = 0; k < bytes; k++) {
            fx.memory.write8(fx.guestRam + gpa + k, (int) (value >>> (8 * k)));
        }
    }

    private long peek(long gpa, int bytes) {
        long v = 0;
        for (int k = bytes - 1; k >= 0; k--) {
            v = v << 8 | fx.guestByte(gpa + k);
        }
        return v;
    }

    // 16-bit code pieces (real mode: ModRM mod 00 r/m 110 is [disp16])
    private static final int[] LDMXCSR_9000 = {0x0F, 0xAE, 0x16, 0x00, 0x90};
    private static final int[] STMXCSR_9004 = {0x0F, 0xAE, 0x1E, 0x04, 0x90};
    private static final int[] ADDPS_XMM0_XMM1 = {0x0F, 0x58, 0xC1};
    private static final int[] PADDB_MM0_MM1 = {0x0F, 0xFC, 0xC1};

    private static int[] concat(int[]... parts) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        for (int[] p : parts) {
            for (int v : p) {
                b.write(v);
            }
        }
        byte[] bytes = b.toByteArray();
        int[] r = new int[bytes.length];
        for (int k = 0; k < r.length; k++) {
            r[k] = bytes[k] & 0xFF;
        }
        return r;
    }

    /** mov eax, imm32; mov edx, 0 (66 B8 id, 66 BA id): the instruction mask of XSAVE/XRSTOR. */
    private static int[] mask(int eax) {
        return new int[] {0x66, 0xB8, eax & 0xFF, (eax >>> 8) & 0xFF, (eax >>> 16) & 0xFF, eax >>> 24,
                0x66, 0xBA, 0, 0, 0, 0};
    }

    // ============================================================================================ #UD, #NM

    /** ADDPS (Vol. 2A, exceptions "#UD If CR0.EM[bit 2] = 1. If CR4.OSFXSR[bit 9] = 0."). */
    @Test(timeout = 10_000)
    public void sseIsUndefinedWithoutOsfxsrOrWithEm() {
        guestCr4(0);
        assertEquals(UD, run(ADDPS_XMM0_XMM1));
        assertEquals(0x8000, rip());
        guestCr4(Cr4.OSFXSR);
        guestCr0(Cr0.EM);
        assertEquals(UD, run(ADDPS_XMM0_XMM1));
        guestCr0(0);
        assertEquals(-1, run(ADDPS_XMM0_XMM1));
    }

    /** MMX (Vol. 3B/Vol. 2 PADDB exceptions): #UD with CR0.EM only; CR4.OSFXSR does not matter. */
    @Test(timeout = 10_000)
    public void mmxNeedsNoOsfxsrButIsUndefinedWithEm() {
        guestCr4(0);
        assertEquals(-1, run(PADDB_MM0_MM1));
        guestCr0(Cr0.EM);
        assertEquals(UD, run(PADDB_MM0_MM1));
    }

    /** #NM for CR0.TS (Vol. 3A, 6.15 Interrupt 7): SSE, MMX, EMMS, LDMXCSR, XSAVE; CR0.EM has priority for SSE. */
    @Test(timeout = 10_000)
    public void deviceNotAvailableWithTs() {
        guestCr0(Cr0.TS);
        assertEquals(NM, run(ADDPS_XMM0_XMM1));
        assertEquals(NM, run(PADDB_MM0_MM1));
        assertEquals(NM, run(0x0F, 0x77));
        assertEquals(NM, run(LDMXCSR_9000));
        assertEquals(NM, run(concat(mask(3), new int[] {0x0F, 0xAE, 0x26, 0x00, 0x94})));
        guestCr0(Cr0.TS | Cr0.EM);
        assertEquals(UD, run(ADDPS_XMM0_XMM1));
    }

    /** VEX-encoded instructions (AVX) are not implemented and CPUID does not report AVX: #UD (Vol. 2A, 2.3). */
    @Test(timeout = 10_000)
    public void vexEncodedAvxIsUndefined() {
        assertEquals(UD, run(0xC5, 0xF8, 0x58, 0xC1)); // VADDPS xmm0, xmm0, xmm1
    }

    // ============================================================================================ #XM, #GP, #MF

    /**
     * An unmasked SIMD floating-point exception (Vol. 3A, 6.15 Interrupt 19): #XM with CR4.OSXMMEXCPT, #UD without;
     * either way MXCSR's flag is set and the destination is unchanged (Vol. 1, 11.5.3).
     */
    @Test(timeout = 10_000)
    public void unmaskedExceptionIsXmOrUdByOsxmmexcpt() {
        for (boolean osxmmexcpt : new boolean[] {true, false}) {
            guestCr4(Cr4.OSFXSR | Cr4.OSXSAVE | (osxmmexcpt ? Cr4.OSXMMEXCPT : 0));
            poke(DATA, 0x1F80 & ~(1 << 9), 4);          // ZM clear: divide-by-zero unmasked
            poke(DATA + 0x10, 0x3F80_0000L, 8);         // xmm0 = 1.0f, 0
            poke(DATA + 0x18, 0, 8);
            poke(DATA + 0x20, 0, 16);                   // xmm1 = 0
            poke(DATA + 0x28, 0, 8);
            int[] code = concat(new int[] {0xF3, 0x0F, 0x6F, 0x06, 0x10, 0x90},   // movdqu xmm0, [0x9010]
                    new int[] {0xF3, 0x0F, 0x6F, 0x0E, 0x20, 0x90},                // movdqu xmm1, [0x9020]
                    LDMXCSR_9000,
                    new int[] {0xF3, 0x0F, 0x5E, 0xC1},                            // divss xmm0, xmm1
                    STMXCSR_9004,
                    new int[] {0xF3, 0x0F, 0x7F, 0x06, 0x30, 0x90});               // movdqu [0x9030], xmm0
            assertEquals(osxmmexcpt ? XM : UD, run(code));
            assertEquals(0x8000 + 6 + 6 + 5, rip());
            assertEquals(-1, skip(4));
            assertEquals("ZE set", (0x1F80 & ~(1 << 9)) | 4, peek(DATA + 4, 4));
            assertEquals("xmm0 unchanged", 0x3F80_0000L, peek(DATA + 0x30, 8));
        }
    }

    /** A misaligned 16-byte operand of MOVAPS is #GP(0) (Vol. 2B MOVAPS); MOVUPS may be misaligned. */
    @Test(timeout = 10_000)
    public void misalignedAlignedAccessIsGeneralProtection() {
        assertEquals(GP, run(0x0F, 0x28, 0x06, 0x01, 0x90));     // movaps xmm0, [0x9001]
        assertEquals(0, fx.read32(VM_EXIT_INTERRUPTION_ERROR_CODE));
        assertEquals(-1, run(0x0F, 0x10, 0x06, 0x01, 0x90));     // movups xmm0, [0x9001]
        assertEquals(GP, run(0x66, 0x0F, 0xFE, 0x06, 0x08, 0x90)); // paddd xmm0, [0x9008]
        assertEquals(-1, run(0x0F, 0xFE, 0x06, 0x08, 0x90));      // paddd mm0, [0x9008]: no alignment for MMX
    }

    /**
     * MMX instructions with a pending unmasked x87 exception (FSW.ES, here loaded by XRSTOR) raise #MF with CR0.NE
     * (Vol. 2 PADDB "#MF If there is a pending FPU exception"); so does EMMS.
     */
    @Test(timeout = 10_000)
    public void mmxWithPendingX87ExceptionIsMf() {
        xsaveImage(0x037E, 0x0081);                     // FCW: IM clear; FSW: IE and ES
        int[] xrstor = concat(mask(1), new int[] {0x0F, 0xAE, 0x2E, 0x00, 0x94});
        assertEquals(MF, run(concat(xrstor, PADDB_MM0_MM1)));
        assertEquals(0x8000 + xrstor.length, rip());
        assertEquals(MF, run(concat(xrstor, new int[] {0x0F, 0x77})));
        assertEquals("SSE does not look at the x87 state", -1, run(concat(xrstor, ADDPS_XMM0_XMM1)));
    }

    /**
     * MMX and the x87 state (Vol. 1, 9.5.1, Table 9-2): a write of MMi makes TOP 0, every tag valid and Ri's
     * exponent all ones; EMMS makes every tag empty. Seen through XSAVE's legacy region.
     */
    @Test(timeout = 10_000)
    public void mmxInstructionsChangeTheX87StateAsTheSdmSays() {
        xsaveImage(0x037F, 5 << 11);                    // TOP = 5, all tags empty (abridged 0)
        poke(DATA, 0x1122_3344_5566_7788L, 8);
        int[] xrstor = concat(mask(3), new int[] {0x0F, 0xAE, 0x2E, 0x00, 0x94});
        int[] xsave = concat(mask(3), new int[] {0x0F, 0xAE, 0x26, 0x00, 0x94});
        assertEquals(-1, run(concat(xrstor, new int[] {0x0F, 0x6F, 0x16, 0x00, 0x90}, xsave))); // movq mm2, [0x9000]
        assertEquals("FSW.TOP", 0, peek(AREA + 2, 2) & 0x3800);
        assertEquals("abridged FTW: all valid", 0xFF, peek(AREA + 4, 1));
        assertEquals("ST2 = R2 (TOP 0): MM2", 0x1122_3344_5566_7788L, peek(AREA + 32 + 2 * 16, 8));
        assertEquals("R2's exponent", 0xFFFF, peek(AREA + 40 + 2 * 16, 2));
        assertEquals(-1, run(concat(xrstor, new int[] {0x0F, 0x6F, 0x16, 0x00, 0x90, 0x0F, 0x77}, xsave)));
        assertEquals("abridged FTW after EMMS: all empty", 0, peek(AREA + 4, 1));
    }

    /** A standard-form XSAVE image at AREA with the given FCW and FSW, XSTATE_BV = x87 | SSE, MXCSR 1F80H. */
    private void xsaveImage(int fcw, int fsw) {
        for (int k = 0; k < 576; k += 8) {
            poke(AREA + k, 0, 8);
        }
        poke(AREA, fcw, 2);
        poke(AREA + 2, fsw, 2);
        poke(AREA + 24, 0x1F80, 4);
        poke(AREA + 512, 3, 8);
    }

    // ============================================================================================ XSAVE family

    /** XSAVE (Vol. 2C, exceptions): #UD without CR4.OSXSAVE, #GP(0) for an area not 64-byte aligned. */
    @Test(timeout = 10_000)
    public void xsaveChecks() {
        assertEquals(GP, run(concat(mask(3), new int[] {0x0F, 0xAE, 0x26, 0x20, 0x94})));
        assertEquals(-1, run(concat(mask(3), new int[] {0x0F, 0xAE, 0x26, 0x40, 0x94})));
        guestCr4(Cr4.OSFXSR | Cr4.OSXMMEXCPT);
        assertEquals(UD, run(concat(mask(3), new int[] {0x0F, 0xAE, 0x26, 0x00, 0x94})));
        assertEquals(UD, run(0x0F, 0x01, 0xD0)); // XGETBV too
    }

    /**
     * XRSTOR's #GP(0) conditions (Vol. 1, 13.8.1 and 13.8.2; Vol. 2C XRSTOR): standard form: XSTATE_BV with a bit
     * not in XCR0, XCOMP_BV not 0, bytes 23:16 of the header not 0; compacted form: XCOMP_BV with a bit not in
     * XCR0, XSTATE_BV outside XCOMP_BV, bytes 63:16 not 0; and an MXCSR value with a reserved bit. LDMXCSR too.
     */
    @Test(timeout = 10_000)
    public void xrstorAndLdmxcsrRejectWhatTheSdmRejects() {
        int[] xrstor = concat(mask(3), new int[] {0x0F, 0xAE, 0x2E, 0x00, 0x94});
        xsaveImage(0x037F, 0);
        assertEquals(-1, run(xrstor));
        poke(AREA + 512, 4, 8);                              // AVX is not in XCR0
        assertEquals(GP, run(xrstor));
        xsaveImage(0x037F, 0);
        poke(AREA + 520, 1, 8);                              // XCOMP_BV without bit 63
        assertEquals(GP, run(xrstor));
        xsaveImage(0x037F, 0);
        poke(AREA + 528, 1, 8);                              // header bytes 23:16
        assertEquals(GP, run(xrstor));
        xsaveImage(0x037F, 0);
        poke(AREA + 560, 1, 8);                              // bytes 63:24: not checked by the standard form
        assertEquals(-1, run(xrstor));
        xsaveImage(0x037F, 0);
        poke(AREA + 520, Long.MIN_VALUE | 1, 8);             // compacted, XSTATE_BV (3) outside XCOMP_BV (1)
        assertEquals(GP, run(xrstor));
        poke(AREA + 512, 1, 8);
        assertEquals(-1, run(xrstor));
        poke(AREA + 560, 1, 8);                              // compacted: bytes 63:16 must be 0
        assertEquals(GP, run(xrstor));
        xsaveImage(0x037F, 0);
        poke(AREA + 24, 0x1_0000 | 0x1F80, 4);               // MXCSR bit 16: reserved (MXCSR_MASK 0000FFFFH)
        assertEquals(GP, run(xrstor));
        poke(DATA, 0x1_0000 | 0x1F80, 4);
        assertEquals(GP, run(LDMXCSR_9000));
    }

    /**
     * XINUSE (Vol. 1, 13.6) through XGETBV with ECX = 1 (Vol. 2D XGETBV): XCR0 AND XINUSE. XRSTOR with XSTATE_BV = 0
     * initializes both components; an MMX register write puts x87 in use, a nonzero XMM register SSE.
     */
    @Test(timeout = 10_000)
    public void xgetbvWithEcxOneReportsTheComponentsInUse() {
        xsaveImage(0x037F, 0);
        poke(AREA + 512, 0, 8);
        poke(DATA, 5, 8);
        poke(DATA + 8, 0, 8);
        int[] init = concat(mask(3), new int[] {0x0F, 0xAE, 0x2E, 0x00, 0x94});
        int[] xgetbv1 = {0x66, 0xB9, 1, 0, 0, 0, 0x0F, 0x01, 0xD0};
        assertEquals(-1, run(concat(init, xgetbv1)));
        assertEquals(0, fx.guestRegisters.get(0) & 0xFFFF_FFFFL);
        assertEquals(-1, run(concat(init, new int[] {0x0F, 0x6F, 0x06, 0x00, 0x90}, xgetbv1))); // movq mm0
        assertEquals(Xcr0.X87, fx.guestRegisters.get(0) & 0xFFFF_FFFFL);
        assertEquals(-1, run(concat(init, new int[] {0xF3, 0x0F, 0x6F, 0x06, 0x00, 0x90}, xgetbv1))); // movdqu
        assertEquals(Xcr0.SSE, fx.guestRegisters.get(0) & 0xFFFF_FFFFL);
        int[] xgetbv0 = {0x66, 0x31, 0xC9, 0x0F, 0x01, 0xD0};
        assertEquals(-1, run(xgetbv0));
        assertEquals(Xcr0.X87 | Xcr0.SSE, fx.guestRegisters.get(0) & 0xFFFF_FFFFL);
        assertEquals(GP, run(0x66, 0xB9, 2, 0, 0, 0, 0x0F, 0x01, 0xD0)); // no XCR2
    }

    /**
     * XSAVEC (Vol. 1, 13.10; Vol. 2C XSAVEC) saves a component if and only if it is requested and in use: after
     * XRSTOR initialized both, neither region is written; XSTATE_BV is RFBM AND XINUSE, XCOMP_BV is RFBM with bit 63.
     * SSE counts as in use when MXCSR is not 1F80H (the page's footnote), and then MXCSR and the XMM registers are
     * saved.
     */
    @Test(timeout = 10_000)
    public void xsavecSavesOnlyWhatIsInUse() {
        xsaveImage(0x037F, 0);
        poke(AREA + 512, 0, 8);                               // XRSTOR: initialize x87 and SSE
        poke(DATA, 0x1F80 | 0x20, 4);                         // an MXCSR with PE set
        int[] init = concat(mask(3), new int[] {0x0F, 0xAE, 0x2E, 0x00, 0x94});
        int[] xsavec = concat(mask(3), new int[] {0x0F, 0xC7, 0x26, 0x00, 0x98}); // xsavec [0x9800]
        long out = 0x9800;
        for (int k = 0; k < 576; k += 8) {
            poke(out + k, 0x5A5A_5A5A_5A5A_5A5AL, 8);
        }
        assertEquals(-1, run(concat(init, xsavec)));
        assertEquals("XSTATE_BV", 0, peek(out + 512, 8));
        assertEquals("XCOMP_BV", Long.MIN_VALUE | 3, peek(out + 520, 8));
        assertEquals("x87 region not written", 0x5A5A_5A5A_5A5A_5A5AL, peek(out, 8));
        assertEquals("MXCSR not written", 0x5A5A_5A5AL, peek(out + 24, 4));
        assertEquals("XMM0 not written", 0x5A5A_5A5A_5A5A_5A5AL, peek(out + 160, 8));
        assertEquals("header bytes 63:16 not written", 0x5A5A_5A5A_5A5A_5A5AL, peek(out + 528, 8));
        assertEquals(-1, run(concat(init, LDMXCSR_9000, xsavec)));
        assertEquals("XSTATE_BV: SSE, for MXCSR", Xcr0.SSE, peek(out + 512, 8));
        assertEquals("MXCSR saved", 0x1FA0, peek(out + 24, 4));
        assertEquals("MXCSR_MASK", 0xFFFF, peek(out + 28, 4));
        assertEquals("XMM0 saved", 0, peek(out + 160, 8));
        assertEquals("x87 region still not written", 0x5A5A_5A5A_5A5A_5A5AL, peek(out, 8));
    }

    /** CPUID (Vol. 2A, Tables 3-10, 3-11 and leaf 0DH) reports what exists: MMX, SSE..SSE4.2, the XSAVE leaf. */
    @Test(timeout = 10_000)
    public void cpuidReportsSseAndTheXsaveLeaf() {
        CpuidResult one = fx.cpu.cpuid(1, 0);
        int edx = 1 << 23 | 1 << 25 | 1 << 26;                   // MMX SSE SSE2
        int ecx = 1 | 1 << 9 | 1 << 19 | 1 << 20 | 1 << 26;      // SSE3 SSSE3 SSE4.1 SSE4.2 XSAVE
        assertEquals(edx, one.edx() & edx);
        assertEquals(ecx, one.ecx() & ecx);
        assertEquals("no AVX", 0, one.ecx() & (1 << 28));
        CpuidResult d0 = fx.cpu.cpuid(0xD, 0);
        assertEquals(3, d0.eax());
        assertEquals(576, d0.ebx());
        assertEquals(576, d0.ecx());
        assertEquals(0, d0.edx());
        CpuidResult d1 = fx.cpu.cpuid(0xD, 1);
        assertEquals("XSAVEOPT, XSAVEC, XGETBV(1); no XSAVES", 7, d1.eax());
        assertEquals(576, d1.ebx());
        assertEquals(0, fx.cpu.cpuid(0xD, 2).eax());
    }

    // ============================================================================================ 32-bit code

    /**
     * SSE in 32-bit protected mode (flat segments, no paging): the same encodings decode with 32-bit addressing,
     * and 40-4F are INC/DEC, not REX (Vol. 2A, 2.2.1): "41 0F 28 C1" is INC ECX; MOVAPS xmm0, xmm1.
     */
    @Test(timeout = 10_000)
    public void sseInThirtyTwoBitCode() {
        guestCr0(Cr0.PE);
        fx.write(GUEST_CS_SELECTOR, 0x08);
        fx.write(GUEST_CS_LIMIT, 0xFFFF_FFFFL);
        fx.write(GUEST_CS_ACCESS_RIGHTS, 0xC09B);
        for (VmcsField f : new VmcsField[] {GUEST_SS_ACCESS_RIGHTS, GUEST_DS_ACCESS_RIGHTS,
                GUEST_ES_ACCESS_RIGHTS}) {
            fx.write(f, 0xC093);
        }
        for (VmcsField f : new VmcsField[] {GUEST_SS_LIMIT, GUEST_DS_LIMIT, GUEST_ES_LIMIT}) {
            fx.write(f, 0xFFFF_FFFFL);
        }
        fx.write(GUEST_SS_SELECTOR, 0x10);
        fx.write(GUEST_DS_SELECTOR, 0x10);
        fx.write(GUEST_ES_SELECTOR, 0x10);
        poke(DATA, 0x0000_0001_0000_0002L, 8);
        poke(DATA + 8, 0x0000_0003_0000_0004L, 8);
        fx.guestRegisters.set(1, 0x10);
        int[] code = {
                0xF3, 0x0F, 0x6F, 0x0D, 0x00, 0x90, 0x00, 0x00,   // movdqu xmm1, [0x9000] (disp32)
                0x41, 0x0F, 0x28, 0xC1,                            // inc ecx; movaps xmm0, xmm1
                0x66, 0x0F, 0xFE, 0xC1,                            // paddd xmm0, xmm1
                0x66, 0x0F, 0x7F, 0x05, 0x00, 0x91, 0x00, 0x00};  // movdqa [0x9100], xmm0
        assertEquals(-1, run(code));
        assertEquals(0x11, fx.guestRegisters.get(1) & 0xFFFF_FFFFL);
        assertEquals(0x0000_0002_0000_0004L, peek(DATA + 0x100, 8));
        assertEquals(0x0000_0006_0000_0008L, peek(DATA + 0x108, 8));
    }
}
