package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

/**
 * One generated case: the instruction bytes, the input state, where it may go, and what of the output the SDM
 * defines.
 *
 * @param mode               64-bit mode or compatibility mode (both at CPL 3)
 * @param code               the instruction (one, 1-15 bytes; a compiled kernel's CALL)
 * @param operands           the operands chosen, for people ("ecx, r9d, [rbx+0x12]")
 * @param input              registers, flags, data and stack page, and x87/SSE state before the instruction
 * @param landingSites       code-page offsets a branch may go to, besides the next instruction
 * @param definedFlags       the observed flags ({@link Flags#OBSERVED}) whose value the SDM defines for this case
 *                           (including the ones the instruction leaves unchanged)
 * @param undefinedRegisters bit i set: the SDM leaves register i undefined after this case
 * @param undefinedDataFrom  start of a data-page range the SDM leaves undefined (inclusive)
 * @param undefinedDataTo    its end (exclusive); equal to the start if there is none
 * @param undefinedStackFrom start of a stack-page range the SDM leaves undefined (inclusive)
 * @param undefinedStackTo   its end (exclusive); equal to the start if there is none
 * @param memoryOffset       data-page offset of the memory operand, or -1 (for the report)
 * @param legacyRegion       data-page offset of an FXSAVE image or XSAVE legacy region the instruction writes, or
 *                           -1: its MXCSR_MASK is the implementation's own value (Vol. 1, 11.6.6: 0000FFFFH on the
 *                           software processor, 0002FFFFH on AMD processors with misaligned SSE), never compared
 * @param approximateXmm     bit i set: XMMi holds binary32 approximations whose low bits the SDM leaves to the
 *                           implementation (RCPPS, RSQRTPS: relative error at most 1.5 * 2^-12); compared within that
 * @param x87                what of the x87 state to compare
 */
record TestCase(Mode mode, byte[] code, String operands, MachineState input, int[] landingSites, long definedFlags,
                int undefinedRegisters, int undefinedDataFrom, int undefinedDataTo, int undefinedStackFrom,
                int undefinedStackTo, int memoryOffset, int legacyRegion, int approximateXmm, X87Check x87) {

    /**
     * @param undefinedStatus    status-word bits (condition codes) the SDM leaves undefined after this case
     * @param intelOnlyStatus    status-word bits the SDM defines and this AMD processor sets otherwise: compared on
     *                           a GenuineIntel host only
     * @param intelOnlyFlags     the same for RFLAGS (FCOMI and its forms)
     * @param intelOnlyState     the whole x87 state is such a case (for example FLD of a denormal with DE unmasked)
     * @param setsPointers       a non-control instruction: it records its opcode, address and operand address (Vol.
     *                           1, 8.1.8), which are compared when it raised an unmasked exception
     * @param lastBit            the result is a transcendental function's: the SDM promises it within one unit in the
     *                           last place (Vol. 1, 8.3.10), so a last-bit difference in the registers it writes
     *                           (with its C1) is counted and reported, not a mismatch
     */
    record X87Check(int undefinedStatus, int intelOnlyStatus, long intelOnlyFlags, boolean intelOnlyState,
                    boolean setsPointers, boolean lastBit) {
    }
}
