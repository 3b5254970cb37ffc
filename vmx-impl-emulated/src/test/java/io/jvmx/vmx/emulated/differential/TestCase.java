package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

/**
 * One generated case: the instruction bytes, the input state, where it may go, and what of the output the SDM
 * defines.
 *
 * @param mode               64-bit mode or compatibility mode (both at CPL 3)
 * @param code               the instruction (one, 1-15 bytes)
 * @param operands           the operands chosen, for people ("ecx, r9d, [rbx+0x12]")
 * @param input              registers, flags, data and stack page before the instruction
 * @param landingSites       code-page offsets a branch may go to, besides the next instruction
 * @param definedFlags       the observed flags ({@link Flags#OBSERVED}) whose value the SDM defines for this case
 *                           (including the ones the instruction leaves unchanged)
 * @param undefinedRegisters bit i set: the SDM leaves register i undefined after this case
 * @param undefinedDataFrom  start of a data-page range the SDM leaves undefined (inclusive)
 * @param undefinedDataTo    its end (exclusive); equal to the start if there is none
 * @param undefinedStackFrom start of a stack-page range the SDM leaves undefined (inclusive)
 * @param undefinedStackTo   its end (exclusive); equal to the start if there is none
 * @param memoryOffset       data-page offset of the memory operand, or -1 (for the report)
 */
record TestCase(Mode mode, byte[] code, String operands, MachineState input, int[] landingSites, long definedFlags,
                int undefinedRegisters, int undefinedDataFrom, int undefinedDataTo, int undefinedStackFrom,
                int undefinedStackTo, int memoryOffset) {
}
