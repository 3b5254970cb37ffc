package io.jvmx.vmx.emulated.cpu;

/**
 * The SSE state (SDM Vol. 1, 10.2): sixteen 128-bit XMM registers (XMM8-15 in 64-bit mode only) and MXCSR.
 * XMMi is {@code xmm[2i]} (bits 63:0) and {@code xmm[2i + 1]} (bits 127:64).
 */
final class SseState {
    /**
     * The MXCSR bits this processor implements, as FXSAVE and XSAVE store it in MXCSR_MASK (Vol. 1, 11.6.6): bits
     * 15:0, DAZ included. Loading a set bit outside it (LDMXCSR, FXRSTOR, XRSTOR) is #GP(0).
     */
    static final int MXCSR_MASK = 0xFFFF;
    /** MXCSR after reset and in the SSE initial configuration: all exceptions masked, round to nearest (10.2.3). */
    static final int MXCSR_RESET = 0x1F80;

    final long[] xmm = new long[32];
    int mxcsr = MXCSR_RESET;
}
