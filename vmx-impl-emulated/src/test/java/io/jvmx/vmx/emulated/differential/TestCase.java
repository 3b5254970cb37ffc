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
 * @param approximateXmm     bit i set: XMMi holds binary32 approximations whose low bits the SDM leaves to the
 *                           implementation (RCPPS, RSQRTPS: relative error at most 1.5 * 2^-12); compared within that
 */
record TestCase(byte[] code, String operands, MachineState input, long definedFlags, int undefinedRegisters,
                int undefinedDataFrom, int undefinedDataTo, int memoryOffset, int approximateXmm) {
}
