package io.jvmx.vmx.emulated.differential;

/** Names of forms in the SDM's notation (Vol. 2A, 3.1.1.1 opcode column and 3.1.1.3 instruction column). */
final class FormNames {
    static final int[] SIZES = {1, 2, 4, 8};
    static final int[] WIDE_SIZES = {2, 4, 8};
    static final boolean[] BOTH = {false, true};

    private FormNames() {
    }

    /** "ADD r/m32, r32 (01 /r), register" or ", memory"; {@code second} may be null. */
    static String name(String mnemonic, String first, String second, String opcode, boolean memory) {
        return mnemonic + " " + first + (second == null ? "" : ", " + second) + " (" + opcode + "), "
                + (memory ? "memory" : "register");
    }

    static String rm(int size) {
        return "r/m" + 8 * size;
    }

    static String r(int size) {
        return "r" + 8 * size;
    }

    static String m(int size) {
        return "m" + 8 * size;
    }

    /** The immediate of an operation at this size: imm8, imm16, imm32 (sign-extended for 64 bits). */
    static String imm(int size) {
        return "imm" + 8 * Math.min(size, 4);
    }

    static String immCode(int size) {
        return switch (size) { case 1 -> "ib"; case 2 -> "iw"; default -> "id"; };
    }

    static String accumulator(int size) {
        return switch (size) { case 1 -> "AL"; case 2 -> "AX"; case 4 -> "EAX"; default -> "RAX"; };
    }

    static String hex(int opcodeByte) {
        return String.format("%02X", opcodeByte);
    }

    /** The SDM's opcode column: "REX.W + " before the opcode of a 64-bit operand size form. */
    static String sdm(int size, String opcode) {
        return size == 8 ? "REX.W + " + opcode : opcode;
    }
}
