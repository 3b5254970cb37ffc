package io.jvmx.apic.mmio;

/**
 * The instruction that touched a memory-mapped device register, decoded far enough to emulate it: an EPT violation
 * tells the VMM the guest-physical address and the direction, not the data nor the instruction's length (SDM Vol. 3C
 * 28.2.1), so the VMM reads the instruction (SDM Vol. 2A ch. 2: prefixes, REX, opcode, ModRM, SIB, displacement,
 * immediate). The forms are the MOVs that drivers use for device registers:
 *
 * <ul>
 *   <li>89 /r MOV r/m, r (a store of a register), 8B /r MOV r, r/m (a load), C7 /0 MOV r/m, imm (a store of an
 *       immediate), A1 / A3 MOV eAX, moffs and MOV moffs, eAX;</li>
 *   <li>with the operand-size (66), address-size (67), segment-override and LOCK prefixes and REX in 64-bit mode.</li>
 * </ul>
 * Anything else is refused with an {@link IllegalArgumentException} that shows the bytes.
 *
 * @param store        true for a store to the device, false for a load from it
 * @param operandSize  2, 4 or 8 bytes
 * @param register     the GPR loaded or stored (0 = RAX ... 15 = R15), or -1 for a store of {@link #immediate}
 * @param immediate    the value a C7 store writes (sign-extended to the operand size)
 * @param length       the instruction's length in bytes
 */
public record MmioInstruction(boolean store, int operandSize, int register, long immediate, int length) {

    /** Code the instruction runs in: 16-, 32- or 64-bit (CS.D, CS.L and IA32_EFER.LMA, SDM Vol. 3A 5.2.1). */
    public enum CodeSize { BITS_16, BITS_32, BITS_64 }

    private static final int MAX_LENGTH = 15;

    /** Decodes the instruction starting at {@code code[0]}. */
    public static MmioInstruction decode(byte[] code, CodeSize size) {
        int i = 0;
        boolean operandOverride = false, addressOverride = false;
        int rex = 0;
        for (;; i++) {
            if (i >= MAX_LENGTH || i >= code.length) {
                throw refused(code, "more than 15 bytes of prefixes");
            }
            int b = code[i] & 0xFF;
            if (b == 0x66) {
                operandOverride = true;
            } else if (b == 0x67) {
                addressOverride = true;
            } else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65 || b == 0xF0) {
                // segment overrides change the linear address, not the access the EPT violation reports; LOCK too
            } else if (size == CodeSize.BITS_64 && (b & 0xF0) == 0x40) {
                rex = b; // REX counts only directly before the opcode: a later prefix cancels it
                if (i + 1 < code.length && isLegacyPrefix(code[i + 1] & 0xFF)) {
                    rex = 0;
                }
            } else {
                break;
            }
        }
        boolean rexW = (rex & 8) != 0;
        int operandSize = rexW ? 8 : (size == CodeSize.BITS_16) != operandOverride ? 2 : 4;
        int addressSize = switch (size) {
            case BITS_16 -> addressOverride ? 4 : 2;
            case BITS_32 -> addressOverride ? 2 : 4;
            case BITS_64 -> addressOverride ? 4 : 8;
        };
        int opcode = byteAt(code, i++);
        switch (opcode) {
            case 0x89, 0x8B, 0xC7 -> {
                int modrm = byteAt(code, i++);
                int mod = modrm >>> 6, reg = (modrm >>> 3) & 7, rm = modrm & 7;
                if (mod == 3) {
                    throw refused(code, "a register operand cannot be the memory access");
                }
                i += addressingBytes(code, i, mod, rm, addressSize);
                if (opcode == 0xC7) {
                    if (reg != 0) {
                        throw refused(code, "C7 /" + reg + " is not MOV");
                    }
                    int immediateSize = Math.min(operandSize, 4);
                    long imm = littleEndian(code, i, immediateSize);
                    i += immediateSize;
                    imm = immediateSize == 2 ? (short) imm : (int) imm; // sign-extended to 64 bits for REX.W
                    return checked(code, new MmioInstruction(true, operandSize, -1, imm, i));
                }
                int register = reg | ((rex & 4) << 1);
                return checked(code, new MmioInstruction(opcode == 0x89, operandSize, register, 0, i));
            }
            case 0xA1, 0xA3 -> {
                i += addressSize; // the offset (moffs) is as wide as an address
                return checked(code, new MmioInstruction(opcode == 0xA3, operandSize, 0, 0, i));
            }
            default -> throw refused(code, String.format("opcode %02X is not a MOV to or from memory", opcode));
        }
    }

    /** ModRM's memory forms (SDM Vol. 2A Tables 2-1 to 2-3): SIB and displacement bytes after the ModRM byte. */
    private static int addressingBytes(byte[] code, int at, int mod, int rm, int addressSize) {
        if (addressSize == 2) {
            return mod == 1 ? 1 : mod == 2 || (mod == 0 && rm == 6) ? 2 : 0;
        }
        int n = 0;
        if (rm == 4) {
            int sib = byteAt(code, at);
            n = 1;
            if (mod == 0 && (sib & 7) == 5) {
                return n + 4; // no base: disp32
            }
        } else if (mod == 0 && rm == 5) {
            return 4; // disp32 (RIP-relative in 64-bit mode)
        }
        return n + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
    }

    private static MmioInstruction checked(byte[] code, MmioInstruction insn) {
        if (insn.length > MAX_LENGTH || insn.length > code.length) {
            throw refused(code, "longer than the bytes that were read");
        }
        return insn;
    }

    private static boolean isLegacyPrefix(int b) {
        return b == 0x66 || b == 0x67 || b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65
                || b == 0xF0 || b == 0xF2 || b == 0xF3;
    }

    private static int byteAt(byte[] code, int i) {
        if (i >= code.length) {
            throw refused(code, "truncated");
        }
        return code[i] & 0xFF;
    }

    private static long littleEndian(byte[] code, int at, int n) {
        long v = 0;
        for (int k = 0; k < n; k++) {
            v |= (long) byteAt(code, at + k) << (8 * k);
        }
        return v;
    }

    private static IllegalArgumentException refused(byte[] code, String why) {
        StringBuilder hex = new StringBuilder();
        for (int k = 0; k < Math.min(code.length, MAX_LENGTH); k++) {
            hex.append(String.format("%02X ", code[k] & 0xFF));
        }
        return new IllegalArgumentException("cannot emulate the device access of the instruction " + hex.toString().trim()
                + ": " + why + " (emulated: MOV 89, 8B, C7 /0, A1, A3)");
    }
}
