package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.List;
import java.util.Random;

/**
 * LDMXCSR, STMXCSR and the XSAVE feature set (SDM Vol. 1, chapter 13; Vol. 2 instruction pages) against the
 * processor's own XSAVE output: XSAVE, XSAVEOPT, XSAVEC and XRSTOR, with and without REX.W (the x87 pointers' 64-bit
 * format, Vol. 1, 13.5.1), with instruction masks EDX:EAX of the x87 and SSE components only (the software processor
 * has no others; natively a larger mask would save AVX state too). The area is 64-byte aligned in the data page.
 *
 * <p>The case's x87 and SSE state (see {@link FxsaveImage}) is that of MMX code with random MM registers (so the x87
 * state is in use, with TOP 0 and all tags valid), random XMM registers and MXCSR, loaded by FXRSTOR64 before the
 * instruction on both sides, so that no case inherits another's x87 control state. XRSTOR images are random but
 * valid: a header of the form, an MXCSR with all exceptions masked and no reserved bit, an x87 status
 * word without exceptions (FXRSTOR's forms load pending ones, through the same legacy-region code).
 */
final class XsaveForms {
    private XsaveForms() {
    }

    private static final int AREA = 576;

    static void addTo(List<InstructionForm> forms) {
        forms.add(InstructionForm.of("LDMXCSR m32 (NP 0F AE /2), memory", Feature.SSE, b -> mxcsr(b, 2)));
        forms.add(InstructionForm.of("STMXCSR m32 (NP 0F AE /3), memory", Feature.SSE, b -> mxcsr(b, 3)));
        // 32-bit code: the x87 pointers' 32-bit format, XMM0-7 only (Vol. 1, 13.5.1 and 13.5.2)
        forms.add(new InstructionForm("XSAVE mem (NP 0F AE /4), 32-bit code, memory", Mode.COMPATIBILITY_32,
                Feature.XSAVE, true,
                b -> save(compat(b), false, new int[] {0x0F, 0xAE}, 4)));
        forms.add(new InstructionForm("XSAVEC mem (NP 0F C7 /4), 32-bit code, memory", Mode.COMPATIBILITY_32,
                Feature.XSAVEC, true,
                b -> save(compat(b), false, new int[] {0x0F, 0xC7}, 4)));
        forms.add(new InstructionForm("XRSTOR mem (NP 0F AE /5), 32-bit code, memory", Mode.COMPATIBILITY_32,
                Feature.XSAVEC, true,
                b -> restore(compat(b), false)));
        for (boolean w : FormNames.BOTH) {
            String suffix = w ? "64" : "";
            String rex = w ? "NP REX.W" : "NP";
            forms.add(InstructionForm.of("XSAVE" + suffix + " mem (" + rex + " 0F AE /4), memory", Feature.XSAVE,
                    b -> save(b, w, new int[] {0x0F, 0xAE}, 4)));
            forms.add(InstructionForm.of("XSAVEOPT" + suffix + " mem (" + rex + " 0F AE /6), memory",
                    Feature.XSAVEOPT, b -> save(b, w, new int[] {0x0F, 0xAE}, 6)));
            forms.add(InstructionForm.of("XSAVEC" + suffix + " mem (" + rex + " 0F C7 /4), memory", Feature.XSAVEC,
                    b -> save(b, w, new int[] {0x0F, 0xC7}, 4)));
            forms.add(InstructionForm.of("XRSTOR" + suffix + " mem (" + rex + " 0F AE /5), memory", Feature.XSAVEC,
                    b -> restore(b, w)));
        }
    }

    /** A case of a 32-bit-code form (compatibility mode: its CaseBuilder chooses registers 0-7, no REX). */
    private static CaseBuilder compat(CaseBuilder b) {
        if (!b.compatibility()) {
            throw new IllegalStateException("a 32-bit-code form runs in compatibility mode");
        }
        return b;
    }

    /**
     * MXCSR with every exception masked, random XMM registers (some 0), and with {@code mmx} the x87 state of MMX
     * code with random MM registers: both components in use, so that what XSAVEOPT and XSAVEC save does not depend
     * on how a processor tracks XINUSE (Vol. 1, 13.6: a component not in its initial configuration is in use).
     */
    private static void simdState(CaseBuilder b, boolean mmx) {
        Random r = b.random;
        MachineState in = b.input;
        in.setMxcsr(SimdValues.mxcsr(r));
        for (int k = 0; k < 32; k++) {
            in.setXmm(k, r.nextInt(8) == 0 ? 0 : r.nextLong());
        }
        if (mmx) {
            in.mmxState();
            for (int k = 0; k < 8; k++) {
                in.setMm(k, r.nextLong());
            }
        }
    }

    private static byte[] mxcsr(CaseBuilder b, int digit) {
        simdState(b, false);
        Mem m = b.mem(4);
        if (digit == 2) {
            b.setMem(4, SimdValues.mxcsr(b.random)); // no reserved bit (#GP) and every exception masked (natively)
        }
        return new Encoder().opcode(0x0F, 0xAE).modrm(digit, m).bytes();
    }

    /** EDX:EAX: x87 and SSE bits only; the upper halves of RAX and RDX random (ignored). */
    private static void mask(CaseBuilder b) {
        Random r = b.random;
        b.fixed(0, 8);
        b.fixed(2, 8);
        b.setFull(0, (r.nextLong() & 0xFFFF_FFFF_0000_0000L) | r.nextInt(4));
        b.setFull(2, r.nextLong() & 0xFFFF_FFFF_0000_0000L);
    }

    private static Mem area(CaseBuilder b) {
        int offset = (0x100 + b.random.nextInt(NativeCpu.DATA_PAGE_BYTES - 0x100 - AREA - 64)) & ~63;
        return b.memAt(offset, AREA);
    }

    private static byte[] save(CaseBuilder b, boolean w, int[] opcode, int digit) {
        simdState(b, true);
        mask(b);
        Mem m = area(b);
        b.legacyRegionAt(b.memoryOffset());
        Encoder e = new Encoder(b.compatibility());
        if (w) {
            e.rexW();
        }
        return e.opcode(opcode).modrm(digit, m).bytes();
    }

    private static byte[] restore(CaseBuilder b, boolean w) {
        Random r = b.random;
        simdState(b, true);
        mask(b);
        Mem m = area(b);
        int at = b.memoryOffset();
        // legacy region: x87 state
        int fcw = (r.nextInt(0x10000) & ~0xE0C0) | 0x3F; // exception masks set; reserved bits clear
        int top = r.nextInt(8);
        int fsw = top << 11 | (r.nextInt(0x10000) & 0x4700 & ~0x3800); // C0-C3 random, no exception, B, ES
        b.setData(at, 2, fcw);
        b.setData(at + 2, 2, fsw);
        b.setData(at + 4, 1, r.nextInt(256)); // abridged tag
        b.setData(at + 5, 1, 0);
        b.setData(at + 6, 2, r.nextInt(0x800));
        b.setData(at + 8, 8, w ? r.nextLong() & 0x0000_7FFF_FFFF_FFFFL : r.nextLong() & 0x0000_FFFF_FFFF_FFFFL);
        b.setData(at + 16, 8, w ? r.nextLong() & 0x0000_7FFF_FFFF_FFFFL : r.nextLong() & 0x0000_FFFF_FFFF_FFFFL);
        b.setData(at + 24, 4, SimdValues.mxcsr(r));
        for (int st = 0; st < 8; st++) {
            long significand = r.nextLong();
            int exponent = r.nextInt(8) == 0 ? 0 : r.nextInt(8) == 0 ? 0x7FFF : r.nextInt(0x7FFF);
            b.setData(at + 32 + 16 * st, 8, significand);
            b.setData(at + 40 + 16 * st, 2, exponent | (r.nextBoolean() ? 0x8000 : 0));
        }
        for (int k = 0; k < 32; k++) {
            b.setData(at + 160 + 8 * k, 8, r.nextLong());
        }
        // header: the standard form, or the compacted form with XSTATE_BV within XCOMP_BV; reserved bytes 0
        boolean compacted = r.nextBoolean();
        long xcomp = compacted ? Long.MIN_VALUE | r.nextInt(4) : 0;
        long xstate = r.nextInt(4) & (compacted ? xcomp : 3);
        b.setData(at + 512, 8, xstate);
        b.setData(at + 520, 8, xcomp);
        for (int k = 528; k < 576; k += 8) {
            b.setData(at + k, 8, 0);
        }
        Encoder e = new Encoder(b.compatibility());
        if (w) {
            e.rexW();
        }
        return e.opcode(0x0F, 0xAE).modrm(5, m).bytes();
    }
}
