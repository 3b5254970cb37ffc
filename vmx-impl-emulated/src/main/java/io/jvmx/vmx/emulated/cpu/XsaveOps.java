package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Executor.RAX;
import static io.jvmx.vmx.emulated.cpu.Executor.RDX;
import static io.jvmx.vmx.emulated.cpu.X87Ops.plus;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Exceptions;

/**
 * The instructions that save and restore the x87 and SSE state as a whole (0F AE /0-/6, 0F C7 /4): FXSAVE and
 * FXRSTOR (0F AE /0, /1), LDMXCSR and STMXCSR (/2, /3), and the XSAVE feature set's XSAVE, XRSTOR, XSAVEOPT (/4,
 * /5, /6) and XSAVEC (0F C7 /4), for the two state components this processor has: x87 (bit 0) and SSE (bit 1),
 * both in the legacy region (SDM Vol. 1, chapters 10.5 and 13; Vol. 2 instruction pages). FXSAVE's image and the
 * XSAVE area's legacy region are the same bytes, encoded by {@link LegacyRegion} for both families. The XSAVE area
 * is 576 bytes: the legacy region and the 64-byte XSAVE header; the compacted format of XSAVEC has no extended
 * region for these components, so both formats have the same layout.
 *
 * <p>XINUSE (Vol. 1, 13.6) is computed exactly from the state when needed: a component is in use unless it is in
 * its initial configuration (x87: FCW 037FH, FSW 0, all tags empty, pointers and registers 0; SSE: XMM registers 0,
 * MXCSR not considered), which the SDM allows (a processor may report a component in use when it is not, never the
 * reverse).
 */
final class XsaveOps {
    private XsaveOps() {
    }

    static final long X87 = 1, SSE = 2;
    /** The XSAVE area of x87 and SSE state: legacy region and header (Vol. 1, 13.4). */
    static final int AREA_BYTES = 576;
    /** The FXSAVE image (Vol. 2A FXSAVE). */
    static final int FXSAVE_BYTES = 512;
    private static final int HEADER = 512;

    static Op select(Insn i) {
        if (i.vex || !i.memory() || i.opPrefix || i.rep != 0) {
            return null;
        }
        if (i.map == Insn.MAP_0F && i.opcode == 0xAE) {
            switch (i.regOp()) {
                case 0: return FXSAVE;
                case 1: return FXRSTOR;
                case 2: return LDMXCSR;
                case 3: return STMXCSR;
                case 4: return XSAVE;
                case 5: return XRSTOR;
                case 6: return XSAVEOPT;
                default: return null;
            }
        }
        if (i.map == Insn.MAP_0F && i.opcode == 0xC7 && i.regOp() == 4) {
            return XSAVEC;
        }
        return null;
    }

    // ============================================================================================ FXSAVE

    /**
     * The checks of FXSAVE and FXRSTOR (Vol. 2A FXSAVE, "Protected Mode Exceptions"): #NM with CR0.TS or CR0.EM (the
     * x87 rule, not the SSE one: FXSAVE exists without SSE), then the linear address of the 16-byte aligned
     * 512-byte image (#GP(0) if misaligned, whatever the segment), all of whose pages are translated for
     * {@code write} before anything changes.
     */
    private static long fxsaveImage(Executor x, boolean write) {
        if ((x.s.cr0 & (Cr0.EM | Cr0.TS)) != 0) {
            throw x.exc(Exceptions.NM, -1);
        }
        long lin = x.lin(x.i.eaSeg, x.ea(), FXSAVE_BYTES, write);
        if ((lin & 15) != 0) {
            throw x.gp(0);
        }
        translate(x, lin, FXSAVE_BYTES, write);
        return lin;
    }

    /**
     * FXSAVE m512byte and FXSAVE64 (REX.W) (Vol. 2A FXSAVE): the x87 state, and, with CR4.OSFXSR, MXCSR, MXCSR_MASK
     * and XMM0-7 (XMM0-15 in 64-bit mode). Without CR4.OSFXSR the SDM leaves the SSE part to the implementation;
     * this one does not write it. Bytes 464-511 (available to software) and 416-463 (reserved) are never written.
     */
    static final Op FXSAVE = new Op("FXSAVE m512byte") {
        @Override
        void run(Executor x, Insn i) {
            long lin = fxsaveImage(x, true);
            LegacyRegion.storeX87(x, lin, (i.rex & 8) != 0);
            if ((x.s.cr4 & Cr4.OSFXSR) != 0) {
                LegacyRegion.storeMxcsr(x, lin);
                LegacyRegion.storeXmm(x, lin);
            }
            x.done();
        }
    };

    /**
     * FXRSTOR m512byte and FXRSTOR64 (Vol. 2A FXRSTOR): loads what FXSAVE stores, the SSE part only with CR4.OSFXSR
     * (as FXSAVE); #GP(0) for an MXCSR with a bit MXCSR_MASK does not allow, before anything loads.
     */
    static final Op FXRSTOR = new Op("FXRSTOR m512byte") {
        @Override
        void run(Executor x, Insn i) {
            long lin = fxsaveImage(x, false);
            boolean sse = (x.s.cr4 & Cr4.OSFXSR) != 0;
            int mxcsr = sse ? LegacyRegion.checkedMxcsr(x, lin) : 0;
            // nothing can fault from here on
            LegacyRegion.loadX87(x, lin, (i.rex & 8) != 0);
            if (sse) {
                x.s.sse.mxcsr = mxcsr;
                LegacyRegion.loadXmm(x, lin);
            }
            x.done();
        }
    };

    // ============================================================================================ MXCSR

    /** LDMXCSR m32 (Vol. 2A): #GP(0) for a value with bits outside MXCSR_MASK; never #XM. */
    static final Op LDMXCSR = new Op("LDMXCSR m32") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long v = o.readMemory(4);
            if ((v & ~SseState.MXCSR_MASK) != 0) {
                throw x.gp(0);
            }
            x.s.sse.mxcsr = (int) v;
            x.done();
        }
    };

    /** STMXCSR m32. */
    static final Op STMXCSR = new Op("STMXCSR m32") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            o.writeMemory(4, x.s.sse.mxcsr & 0xFFFF_FFFFL);
            x.done();
        }
    };

    // ============================================================================================ XSAVE

    /** XINUSE, computed: which of x87 and SSE are not in their initial configuration. */
    static long inUse(Executor x) {
        return (LegacyRegion.x87Initial(x.s.x87) ? 0 : X87) | (LegacyRegion.xmmInitial(x) ? 0 : SSE);
    }

    /**
     * The checks of every XSAVE-family instruction (Vol. 2C XSAVE, "Protected Mode Exceptions"): #UD without
     * CR4.OSXSAVE, #NM with CR0.TS, and the linear address of the 64-byte aligned area (#GP(0) if misaligned); all
     * of the area's pages are translated for {@code write} before anything changes.
     */
    private static long area(Executor x, boolean write) {
        if ((x.s.cr4 & Cr4.OSXSAVE) == 0) {
            throw x.ud();
        }
        if ((x.s.cr0 & Cr0.TS) != 0) {
            throw x.exc(Exceptions.NM, -1);
        }
        long lin = x.lin(x.i.eaSeg, x.ea(), AREA_BYTES, write);
        if ((lin & 63) != 0) {
            throw x.gp(0);
        }
        translate(x, lin, AREA_BYTES, write);
        return lin;
    }

    /**
     * Translates every page of an aligned FXSAVE image or XSAVE area for the access. An aligned image raises no #AC
     * (Vol. 2A FXSAVE and XSAVE, "#AC": the alignment check applies to the 16- or 64-byte alignment, which is #GP
     * without it), so the pages are translated without Mmu's alignment check, which would take the whole image for
     * one access of its size.
     */
    private static void translate(Executor x, long lin, int bytes, boolean write) {
        x.m.probe(lin, bytes, write ? Mmu.WRITE : Mmu.READ, Mmu.withoutAlignmentCheck(x.dataPriv));
    }

    private static long requestedFeatures(Executor x) {
        long mask = (x.getReg(RDX, 4) << 32) | x.getReg(RAX, 4);
        return mask & x.s.xcr0;
    }

    /** XSAVE / XSAVEOPT: the standard format; XSAVEOPT uses the init optimization (Vol. 1, 13.9). */
    static final class Save extends Op {
        private final boolean initOptimization;

        Save(String name, boolean initOptimization) {
            super(name);
            this.initOptimization = initOptimization;
        }

        @Override
        void run(Executor x, Insn i) {
            long lin = area(x, true);
            long rfbm = requestedFeatures(x);
            long inUse = inUse(x);
            long header = plus(x, lin, HEADER);
            long xstateBv = x.m.read(header, 8, x.dataPriv);
            if ((rfbm & X87) != 0 && (!initOptimization || (inUse & X87) != 0)) {
                LegacyRegion.storeX87(x, lin, (i.rex & 8) != 0);
            }
            if ((rfbm & SSE) != 0) {
                // MXCSR is saved whenever SSE is requested; no optimization applies to it (Vol. 1, 13.9)
                LegacyRegion.storeMxcsr(x, lin);
                if (!initOptimization || (inUse & SSE) != 0) {
                    LegacyRegion.storeXmm(x, lin);
                }
            }
            x.m.write(header, 8, (xstateBv & ~rfbm) | (inUse & rfbm), x.dataPriv);
            x.done();
        }
    }

    static final Op XSAVE = new Save("XSAVE mem", false);
    static final Op XSAVEOPT = new Save("XSAVEOPT mem", true);

    /**
     * XSAVEC (Vol. 1, 13.10): the compacted format with the init optimization: a component is saved only if requested
     * and in use (SSE counts as in use when MXCSR is not 1F80H: Vol. 2C XSAVEC, footnote); XSTATE_BV is written as
     * RFBM AND XINUSE, XCOMP_BV as RFBM with bit 63 set; the rest of the header is not written.
     */
    static final Op XSAVEC = new Op("XSAVEC mem") {
        @Override
        void run(Executor x, Insn i) {
            long lin = area(x, true);
            long rfbm = requestedFeatures(x);
            long inUse = inUse(x);
            if (x.s.sse.mxcsr != SseState.MXCSR_RESET) {
                inUse |= SSE;
            }
            long saved = rfbm & inUse;
            if ((saved & X87) != 0) {
                LegacyRegion.storeX87(x, lin, (i.rex & 8) != 0);
            }
            if ((saved & SSE) != 0) {
                LegacyRegion.storeMxcsr(x, lin);
                LegacyRegion.storeXmm(x, lin);
            }
            x.m.write(plus(x, lin, HEADER), 8, saved, x.dataPriv);
            x.m.write(plus(x, lin, HEADER + 8), 8, rfbm | Long.MIN_VALUE, x.dataPriv);
            x.done();
        }
    };

    /**
     * XRSTOR (Vol. 1, 13.8): the standard form (XCOMP_BV[63] = 0) or the compacted form. #GP(0) for a header the
     * form does not allow (standard: XSTATE_BV outside XCR0, or bytes 23:8 of the header not 0; compacted:
     * XCOMP_BV outside XCR0, XSTATE_BV outside XCOMP_BV, or bytes 63:16 not 0) and for an MXCSR value with reserved
     * bits. Each requested component is loaded if its XSTATE_BV bit is set, else initialized; MXCSR is loaded
     * whenever SSE is requested in the standard form, and set to 1F80H with SSE's initialization in the compacted
     * form. The x87 state loads as FXRSTOR loads it (one {@link LegacyRegion}).
     */
    static final Op XRSTOR = new Op("XRSTOR mem") {
        @Override
        void run(Executor x, Insn i) {
            long lin = area(x, false);
            int priv = x.dataPriv;
            long rfbm = requestedFeatures(x);
            long xstateBv = x.m.read(plus(x, lin, HEADER), 8, priv);
            long xcompBv = x.m.read(plus(x, lin, HEADER + 8), 8, priv);
            boolean compacted = xcompBv < 0;
            if (compacted) {
                if ((xcompBv & ~Long.MIN_VALUE & ~x.s.xcr0) != 0 || (xstateBv & ~xcompBv) != 0
                        || !zero(x, plus(x, lin, HEADER + 16), 48)) {
                    throw x.gp(0);
                }
            } else if ((xstateBv & ~x.s.xcr0) != 0 || xcompBv != 0
                    || x.m.read(plus(x, lin, HEADER + 16), 8, priv) != 0) {
                throw x.gp(0);
            }
            boolean loadX87 = (rfbm & X87) != 0 && (xstateBv & X87) != 0;
            boolean loadSse = (rfbm & SSE) != 0 && (xstateBv & SSE) != 0;
            int mxcsr = x.s.sse.mxcsr;
            if ((rfbm & SSE) != 0) {
                mxcsr = !compacted || loadSse ? LegacyRegion.checkedMxcsr(x, lin) : SseState.MXCSR_RESET;
            }
            // nothing can fault from here on
            if ((rfbm & X87) != 0) {
                if (loadX87) {
                    LegacyRegion.loadX87(x, lin, (i.rex & 8) != 0);
                } else {
                    LegacyRegion.initX87(x.s.x87);
                }
            }
            if ((rfbm & SSE) != 0) {
                if (loadSse) {
                    LegacyRegion.loadXmm(x, lin);
                } else {
                    LegacyRegion.initXmm(x);
                }
                x.s.sse.mxcsr = mxcsr;
            }
            x.done();
        }
    };

    private static boolean zero(Executor x, long lin, int bytes) {
        for (int k = 0; k < bytes; k += 8) {
            if (x.m.read(plus(x, lin, k), 8, x.dataPriv) != 0) {
                return false;
            }
        }
        return true;
    }
}
