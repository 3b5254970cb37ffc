package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.HostCpu.Feature;

/**
 * One row of the form table: an instruction with one opcode, operand size and operand kind, named after its SDM
 * opcode line (e.g. {@code "ADD r/m32, r32 (01 /r), register"}), the mode it runs in, and the generator of its cases.
 *
 * @param name          unique; the known-gaps list refers to forms by this name
 * @param mode          64-bit mode, or compatibility mode (32-bit code; its name then says so)
 * @param required      the CPUID feature without which the form does not exist, or null
 * @param needsLowData  uses 32-bit addresses (67 prefix, or 32-bit code) to reach the data page, which must then lie
 *                      below 4 GiB
 * @param generator     builds one case; returns the instruction bytes, or null to reject operands that would fault
 *                      natively (a fault kills the JVM), after which the runner asks again
 * @param caseFactor    runs this many times the cases per form (forms whose inputs have many more paths than their
 *                      operand sizes suggest: the floating-point ones, x87 and SIMD)
 */
record InstructionForm(String name, Mode mode, Feature required, boolean needsLowData, Generator generator,
                       int caseFactor) {

    InstructionForm(String name, Mode mode, Feature required, boolean needsLowData, Generator generator) {
        this(name, mode, required, needsLowData, generator, 1);
    }

    /**
     * The mode a form runs in. The first two run natively and in the guest, at CPL 3 with Linux's selectors (see
     * NativeCpu). The 16-bit ones run in the guest only, and their oracle is the native 32-bit run: the instruction
     * with its operand-size and address-size prefixes toggled (66H, 67H added or removed) means in 16-bit code what
     * the original means in 32-bit code (SDM Vol. 1, 3.6 and Table 3-4), see {@link SixteenBitForms}.
     */
    enum Mode {
        /** 64-bit mode: CS 33H (L = 1). */
        LONG_64,
        /** Compatibility mode: CS 23H (L = 0, D = 1) in IA-32e mode; DS ES SS 2BH. */
        COMPATIBILITY_32,
        /** Compatibility mode with a 16-bit code segment (L = 0, D = 0) whose base is the code page, CPL 3. */
        CODE_16,
        /** Real-address mode (CR0.PE = 0), CS based at the code page, flat 4-GiB data and stack segments. */
        REAL_ADDRESS;

        /** The modes a case can run in natively. */
        static final Mode[] NATIVE = {LONG_64, COMPATIBILITY_32};

        /** The mode of the native run that is this mode's oracle. */
        Mode oracle() {
            return this == LONG_64 ? LONG_64 : COMPATIBILITY_32;
        }

        boolean sixteenBit() {
            return this == CODE_16 || this == REAL_ADDRESS;
        }
    }

    interface Generator {
        byte[] generate(CaseBuilder b);
    }

    static InstructionForm of(String name, Generator generator) {
        return new InstructionForm(name, Mode.LONG_64, null, false, generator);
    }

    static InstructionForm of(String name, Feature required, Generator generator) {
        return new InstructionForm(name, Mode.LONG_64, required, false, generator);
    }

    /** A compatibility-mode form: its name gets ", compatibility mode". */
    static InstructionForm compatibility(String name, Generator generator) {
        return new InstructionForm(name + ", compatibility mode", Mode.COMPATIBILITY_32, null, false, generator);
    }

    /** This form again, in compatibility mode (its generator must use only what exists there). */
    InstructionForm inCompatibilityMode() {
        return new InstructionForm(name + ", compatibility mode", Mode.COMPATIBILITY_32, required, false, generator,
                caseFactor);
    }

    /** The same form with {@code factor} times the cases. */
    InstructionForm times(int factor) {
        return new InstructionForm(name, mode, required, needsLowData, generator, factor);
    }
}
