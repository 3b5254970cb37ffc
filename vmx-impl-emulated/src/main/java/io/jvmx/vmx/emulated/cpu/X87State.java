package io.jvmx.vmx.emulated.cpu;

/**
 * The x87 FPU's state (SDM Vol. 1, chapter 8): eight 80-bit data registers R0-R7 (addressed as ST(i) relative to
 * TOP), the control, status and tag words, and the last instruction and data pointers and opcode. MMX registers
 * MM0-MM7 alias the significands of R0-R7 (Vol. 1, 9.5). Held here so that the x87, MMX, FXSAVE and XSAVE
 * implementations share one state.
 */
final class X87State {
    /** R0-R7 (physical registers, not stack-relative): the 64-bit significand (with its explicit integer bit). */
    final long[] significand = new long[8];
    /** R0-R7: sign (bit 15) and biased exponent (bits 14:0). */
    final int[] signExponent = new int[8];
    /** FPU control word; 0x037F after FNINIT (Vol. 1, 8.1.5, Table 8-1). */
    int control = 0x037F;
    /** FPU status word; TOP is bits 13:11 (Vol. 1, 8.1.3). */
    int status;
    /** FPU tag word, two bits per physical register (Vol. 1, 8.1.7): 11b = empty. */
    int tag = 0xFFFF;
    /** Last instruction pointer (CS:offset or 64-bit), last data pointer, opcode (Vol. 1, 8.1.8-8.1.9). */
    long lastInstruction;
    int lastCs;
    long lastData;
    int lastDs;
    int lastOpcode;

    /** FNINIT / FINIT (Vol. 1, 8.1): control 0x037F, status and pointers 0, all registers empty. */
    void init() {
        control = 0x037F;
        status = 0;
        tag = 0xFFFF;
        lastInstruction = 0;
        lastCs = 0;
        lastData = 0;
        lastDs = 0;
        lastOpcode = 0;
    }
}
