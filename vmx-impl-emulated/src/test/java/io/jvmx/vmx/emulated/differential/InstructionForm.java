package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.HostCpu.Feature;

/**
 * One row of the form table: an instruction with one opcode, operand size and operand kind, named after its SDM
 * opcode line (e.g. {@code "ADD r/m32, r32 (01 /r), register"}), and the generator of its cases.
 *
 * @param name          unique; the known-gaps list refers to forms by this name
 * @param required      the CPUID feature without which the form does not exist, or null
 * @param needsLowData  uses 32-bit addresses (67 prefix, or 32-bit code) to reach the data page, which must then lie
 *                      below 4 GiB
 * @param generator     builds one case; returns the instruction bytes, or null to reject operands that would fault
 *                      natively (a fault kills the JVM), after which the runner asks again
 * @param caseFactor    runs this many times the cases per form (forms whose inputs have many more paths than their
 *                      operand sizes suggest: the floating-point ones, x87 and SIMD)
 */
record InstructionForm(String name, Feature required, boolean needsLowData, Generator generator, int caseFactor) {

    InstructionForm(String name, Feature required, boolean needsLowData, Generator generator) {
        this(name, required, needsLowData, generator, 1);
    }

    interface Generator {
        byte[] generate(CaseBuilder b);
    }

    static InstructionForm of(String name, Generator generator) {
        return new InstructionForm(name, null, false, generator);
    }

    static InstructionForm of(String name, Feature required, Generator generator) {
        return new InstructionForm(name, required, false, generator);
    }

    /** The same form with {@code factor} times the cases. */
    InstructionForm times(int factor) {
        return new InstructionForm(name, required, needsLowData, generator, factor);
    }
}
