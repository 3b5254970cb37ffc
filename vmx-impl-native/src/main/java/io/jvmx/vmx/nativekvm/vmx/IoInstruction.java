package io.jvmx.vmx.nativekvm.vmx;

/**
 * The I/O instructions (SDM Vol. 2: IN, OUT, INS, OUTS) decoded far enough for a VM exit's information: length,
 * direction, operand size, string and REP, immediate or DX port, the address size and segment of a string form.
 *
 * @param length      bytes, prefixes included
 * @param in          IN/INS
 * @param size        1, 2 or 4
 * @param string      INS/OUTS
 * @param rep         a REP (F3) or REPNE (F2) prefix on a string form
 * @param immediate   the port is an imm8 (E4-E7), otherwise DX
 * @param port        the imm8 port, or -1 for DX
 * @param addressSize 0 = 16-bit, 1 = 32-bit, 2 = 64-bit (the VM-exit instruction-information encoding)
 * @param segment     for OUTS the source segment (0 = ES ... 5 = GS, default DS = 3); INS always uses ES (0)
 */
record IoInstruction(int length, boolean in, int size, boolean string, boolean rep, boolean immediate, int port,
                     int addressSize, int segment) {

    /**
     * Decodes {@code code[0..available)} as one I/O instruction in code of {@code codeBits} (16, 32, 64); null if the
     * bytes are not an I/O instruction.
     */
    static IoInstruction decode(byte[] code, int available, int codeBits) {
        boolean opsize = false, adsize = false, rep = false;
        int segment = 3; // DS
        int i = 0;
        for (; i < available && i < 15; i++) {
            int b = code[i] & 0xFF;
            if (b == 0x66) {
                opsize = true;
            } else if (b == 0x67) {
                adsize = true;
            } else if (b == 0xF2 || b == 0xF3) {
                rep = true;
            } else if (b == 0xF0) {
                // LOCK: #UD with an I/O instruction, but it does not change the length
            } else if (b == 0x26 || b == 0x2E || b == 0x36 || b == 0x3E || b == 0x64 || b == 0x65) {
                segment = switch (b) {
                    case 0x26 -> 0;
                    case 0x2E -> 1;
                    case 0x36 -> 2;
                    case 0x3E -> 3;
                    case 0x64 -> 4;
                    default -> 5;
                };
            } else if (codeBits == 64 && b >= 0x40 && b <= 0x4F) {
                // REX: no effect on I/O instructions (their operand size stays 8, 16 or 32 bits)
            } else {
                break;
            }
        }
        if (i >= available) {
            return null;
        }
        int op = code[i] & 0xFF;
        int wide = codeBits == 16 ? (opsize ? 4 : 2) : (opsize ? 2 : 4);
        int addr = codeBits == 16 ? (adsize ? 1 : 0) : codeBits == 32 ? (adsize ? 0 : 1) : (adsize ? 1 : 2);
        return switch (op) {
            case 0xE4, 0xE5, 0xE6, 0xE7 -> i + 1 < available
                    ? new IoInstruction(i + 2, op <= 0xE5, (op & 1) == 0 ? 1 : wide, false, false, true,
                            code[i + 1] & 0xFF, addr, segment)
                    : null;
            case 0xEC, 0xED, 0xEE, 0xEF -> new IoInstruction(i + 1, op <= 0xED, (op & 1) == 0 ? 1 : wide, false, false,
                    false, -1, addr, segment);
            case 0x6C, 0x6D -> new IoInstruction(i + 1, true, (op & 1) == 0 ? 1 : wide, true, rep, false, -1, addr, 0);
            case 0x6E, 0x6F -> new IoInstruction(i + 1, false, (op & 1) == 0 ? 1 : wide, true, rep, false, -1, addr,
                    segment);
            default -> null;
        };
    }

    /** Whether this instruction can have made the access KVM reported. */
    boolean matches(boolean in, int size, int port, long dx) {
        return this.in == in && this.size == size && (immediate ? this.port == port : (dx & 0xFFFF) == port);
    }
}
