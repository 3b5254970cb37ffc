package io.jvmx.vmx.emulated.differential;

import java.io.ByteArrayOutputStream;

/**
 * How a case sets and reads the MMX and SSE state on both processors: the same instructions run before and after
 * the instruction under test, natively and in the software processor. They address a third page, the SIMD page, at
 * a fixed distance from the code page ({@link #SIMD_PAGE_FROM_CODE}) RIP-relatively, so that they need no register:
 * before, MOVQ mm, m64 (MMX cases only), STMXCSR of the host's MXCSR, LDMXCSR and MOVDQU xmm, m128 for XMM0-15;
 * after, MOVDQU m128, xmm, STMXCSR and MOVQ m64, mm (MMX cases only). (SDM Vol. 2: MOVQ 0F 6F/7F, MOVDQU F3 0F
 * 6F/7F, LDMXCSR 0F AE /2, STMXCSR 0F AE /3; RIP-relative addressing Vol. 2A, 2.2.1.6.)
 *
 * <p>The load sequence has one length for all cases (the MMX loads are NOPs in SSE-only cases), so the instruction
 * under test is always at the same offset of the code page.
 */
final class SimdState {
    private SimdState() {
    }

    /**
     * No SIMD state in the case, SSE state (XMM0-15 and MXCSR), SSE and MMX state (MM0-7 too), or SSE and MMX state
     * with an instruction that loads the whole x87 state (XRSTOR): then the native side reinitializes the x87 FPU
     * after the case and the software processor starts the next case afresh, so that no case sees another's x87
     * control state.
     */
    static final int NONE = 0, SSE = 1, MMX = 2, X87 = 3;

    static boolean mmx(int simd) {
        return simd == MMX || simd == X87;
    }

    static final int SIMD_PAGE_FROM_CODE = 2 * NativeCpu.PAGE;
    // the SIMD page
    static final int MXCSR_IN = 0x000, HOST_MXCSR = 0x004, MXCSR_OUT = 0x008;
    static final int XMM_IN = 0x100, MM_IN = 0x200, XMM_OUT = 0x300, MM_OUT = 0x400;
    /**
     * For cases that may raise #XM natively (see NativeCpu's SIGFPE handler): where the handler records the trap
     * number (-1: none), the RIP of the instruction under test, where to resume, and the handler it replaced.
     */
    static final int TRAP_OUT = 0x010, FAULT_RIP = 0x018, RESUME_RIP = 0x020, OLD_HANDLER = 0x028;
    /** For 32-bit cases natively: the far pointer to the 32-bit code (offset, selector) and the data selector. */
    static final int FAR_TO_32 = 0x040, DATA_SELECTOR = 0x048, RSP_SAVE = 0x050;

    private static final int MOVQ_LOAD_BYTES = 7, MXCSR_BYTES = 7;

    /** Bytes of the load sequence, from the code-page offset {@code at}. */
    static int loadLength() {
        int xmm = 0;
        for (int r = 0; r < 16; r++) {
            xmm += r < 8 ? 8 : 9;
        }
        return 8 * MOVQ_LOAD_BYTES + 2 * MXCSR_BYTES + xmm;
    }

    /** Bytes of the load sequence of 32-bit code: XMM0-7 only (Vol. 1, 10.2.2: 8 XMM registers outside 64-bit mode). */
    static int loadLength32() {
        return 8 * MOVQ_LOAD_BYTES + 2 * MXCSR_BYTES + 8 * 8;
    }

    /** The load sequence at code-page offset {@code at} (length {@link #loadLength()}). */
    static byte[] load(int at, boolean mmx) {
        return load(at, mmx, 0);
    }

    /**
     * The load sequence at code-page offset {@code at}: 64-bit code (RIP-relative operands) if {@code simdPage} is 0,
     * else 32-bit code with absolute addresses in the SIMD page at {@code simdPage} (below 4 GiB), for XMM0-7.
     */
    static byte[] load(int at, boolean mmx, long simdPage) {
        Code c = new Code(at, simdPage);
        for (int r = 0; r < 8; r++) {
            if (mmx) {
                c.ripRelative(new int[] {0x0F, 0x6F}, r, MM_IN + 8 * r); // MOVQ mm, m64
            } else {
                c.nops(MOVQ_LOAD_BYTES);
            }
        }
        c.ripRelative(new int[] {0x0F, 0xAE}, 3, HOST_MXCSR);        // STMXCSR m32
        c.ripRelative(new int[] {0x0F, 0xAE}, 2, MXCSR_IN);          // LDMXCSR m32
        for (int r = 0; r < (simdPage == 0 ? 16 : 8); r++) {
            c.xmm(0x6F, r, XMM_IN + 16 * r);                          // MOVDQU xmm, m128
        }
        byte[] b = c.bytes();
        if (b.length != (simdPage == 0 ? loadLength() : loadLength32())) {
            throw new IllegalStateException("load sequence of " + b.length + " bytes");
        }
        return b;
    }

    /** The store sequence at code-page offset {@code at}. */
    static byte[] store(int at, boolean mmx) {
        return store(at, mmx, 0);
    }

    /** The store sequence; 32-bit code for XMM0-7 if {@code simdPage} is not 0 (see {@link #load(int, boolean, long)}). */
    static byte[] store(int at, boolean mmx, long simdPage) {
        Code c = new Code(at, simdPage);
        for (int r = 0; r < (simdPage == 0 ? 16 : 8); r++) {
            c.xmm(0x7F, r, XMM_OUT + 16 * r);                         // MOVDQU m128, xmm
        }
        c.ripRelative(new int[] {0x0F, 0xAE}, 3, MXCSR_OUT);         // STMXCSR m32
        if (mmx) {
            for (int r = 0; r < 8; r++) {
                c.ripRelative(new int[] {0x0F, 0x7F}, r, MM_OUT + 8 * r); // MOVQ m64, mm
            }
        }
        return c.bytes();
    }

    /**
     * Native only, after the store sequence: the host's MXCSR back (LDMXCSR), and after MMX code an empty x87 stack
     * with the ABI's control word (FNINIT, DB E3: System V ABI, 3.2.1), as the rest of the JVM expects.
     */
    static byte[] restoreHost(int at, boolean mmx) {
        Code c = new Code(at, 0);
        c.ripRelative(new int[] {0x0F, 0xAE}, 2, HOST_MXCSR);
        if (mmx) {
            c.out.write(0xDB);
            c.out.write(0xE3);
        }
        return c.bytes();
    }

    /** Instructions being laid out at a code-page offset, with RIP-relative operands in the SIMD page. */
    private static final class Code {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();
        final int at;
        /** 0: 64-bit code, RIP-relative; else the SIMD page's address for 32-bit code's absolute disp32. */
        final long simdPage;

        Code(int at, long simdPage) {
            this.at = at;
            this.simdPage = simdPage;
        }

        void nops(int n) {
            for (int k = 0; k < n; k++) {
                out.write(0x90);
            }
        }

        /** opcode, ModRM (mod 00, r/m 101: RIP + disp32), disp32 to the SIMD page offset. */
        void ripRelative(int[] opcode, int reg, int simdOffset) {
            for (int b : opcode) {
                out.write(b);
            }
            out.write((reg & 7) << 3 | 0b101);
            disp(simdOffset);
        }

        void xmm(int opcode, int r, int simdOffset) {
            out.write(0xF3);
            if (r >= 8) {
                out.write(0x44); // REX.R
            }
            ripRelative(new int[] {0x0F, opcode}, r, simdOffset);
        }

        private void disp(int simdOffset) {
            int next = at + out.size() + 4;
            int d = simdPage != 0 ? (int) (simdPage + simdOffset) : SIMD_PAGE_FROM_CODE + simdOffset - next;
            for (int k = 0; k < 4; k++) {
                out.write(d >>> (8 * k));
            }
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }
}
