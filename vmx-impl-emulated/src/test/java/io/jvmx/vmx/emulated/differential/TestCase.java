package io.jvmx.vmx.emulated.differential;

/**
 * One generated case: the instruction bytes, the input state, and what of the output the SDM defines.
 *
 * @param code               the instruction (one, 1-15 bytes)
 * @param operands           the operands chosen, for people ("ecx, r9d, [rbx+0x12]")
 * @param input              registers, flags and data page before the instruction
 * @param definedFlags       the observed flags ({@link Flags#OBSERVED}) whose value the SDM defines for this case
 *                           (including the ones the instruction leaves unchanged)
 * @param undefinedRegisters bit i set: the SDM leaves register i undefined after this case
 * @param undefinedDataFrom  start of a data-page range the SDM leaves undefined (inclusive)
 * @param undefinedDataTo    its end (exclusive); equal to the start if there is none
 * @param memoryOffset       data-page offset of the memory operand, or -1 (for the report)
 * @param x87                what of the x87 state to compare (for cases with an x87 state)
 */
record TestCase(byte[] code, String operands, MachineState input, long definedFlags, int undefinedRegisters,
                int undefinedDataFrom, int undefinedDataTo, int memoryOffset, X87Check x87) {

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
     * @param fxsaveImage        data-page offset of an FXSAVE image the instruction writes, or -1: its MXCSR_MASK is
     *                           the implementation's (Vol. 1, 11.6.6) and not compared
     */
    record X87Check(int undefinedStatus, int intelOnlyStatus, long intelOnlyFlags, boolean intelOnlyState,
                    boolean setsPointers, boolean lastBit, int fxsaveImage) {
    }
}
