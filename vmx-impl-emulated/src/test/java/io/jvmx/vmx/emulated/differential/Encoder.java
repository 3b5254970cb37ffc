package io.jvmx.vmx.emulated.differential;

import java.io.ByteArrayOutputStream;

/**
 * Encodes one instruction (SDM Vol. 2A, chapter 2): legacy prefixes, REX or a 3-byte VEX prefix, opcode, ModRM, SIB,
 * displacement, immediate; for 64-bit mode, or for 32-bit code (compatibility mode), where there is no REX (an
 * operand that would need one is an error) and ModRM 00 101 is an absolute disp32, not RIP-relative. The generators
 * choose registers and addressing; this class only lays out the bytes, so every form in the tables is written as its
 * SDM opcode line.
 */
final class Encoder {
    /** A register operand: its number (0-15, SDM order) and, for byte registers, whether it is AH/CH/DH/BH. */
    record Reg(int number, int size, boolean highByte) {
        /** The 4-bit register code in ModRM/REX (AH..BH are codes 4-7 without REX). */
        int code() {
            return highByte ? number + 4 : number;
        }

        String name() {
            if (highByte) {
                return new String[] {"ah", "ch", "dh", "bh"}[number];
            }
            String r64 = MachineState.registerName(number);
            if (number >= 8) {
                return r64 + switch (size) { case 1 -> "b"; case 2 -> "w"; case 4 -> "d"; default -> ""; };
            }
            String base = r64.substring(1); // "ax", "cx", "sp", "si" ...
            return switch (size) {
                case 1 -> number < 4 ? base.charAt(0) + "l" : base + "l";
                case 2 -> base;
                case 4 -> "e" + base;
                default -> r64;
            };
        }
    }

    /**
     * A memory operand in 64-bit mode: base (a register number, {@link #RIP}, or {@link #NONE}), index ({@link #NONE}
     * or a register number other than 4), scale 1/2/4/8, displacement of {@code dispBytes} 0, 1 or 4.
     */
    record Mem(int base, int index, int scale, long disp, int dispBytes) {
        static final int NONE = -1;
        static final int RIP = 16;
    }

    /** 32-bit code: no REX, no RIP-relative addressing. */
    private final boolean code32;
    private final ByteArrayOutputStream legacy = new ByteArrayOutputStream();
    private final ByteArrayOutputStream opcode = new ByteArrayOutputStream();
    private final ByteArrayOutputStream tail = new ByteArrayOutputStream();
    private boolean rexW, rexR, rexX, rexB, forceRex, highByteUsed;
    private boolean vex;
    private int vexMap, vexPp, vexVvvv, vexL;

    /** An encoder for 64-bit mode. */
    Encoder() {
        this(false);
    }

    /** An encoder for 64-bit mode, or for 32-bit code if {@code code32}. */
    Encoder(boolean code32) {
        this.code32 = code32;
    }

    /** A legacy prefix (66, 67, F2, F3 ...), in the order given, before REX. */
    Encoder prefix(int b) {
        legacy.write(b);
        return this;
    }

    /** Operand size: 66 for 16 bits, REX.W for 64 bits (SDM Vol. 2A, 2.2.1.2 and Table 2-4). */
    Encoder operandSize(int size) {
        if (size == 2) {
            prefix(0x66);
        } else if (size == 8) {
            rexW = true;
        }
        return this;
    }

    Encoder rexW() {
        rexW = true;
        return this;
    }

    /** An empty REX (40): makes byte-register codes 4-7 mean SPL BPL SIL DIL instead of AH CH DH BH. */
    Encoder rex() {
        forceRex = true;
        return this;
    }

    /**
     * A 3-byte VEX prefix (C4, SDM Vol. 2A, 2.3.5): map 1 = 0F, 2 = 0F38, 3 = 0F3A; pp 0 none, 1 = 66, 2 = F3,
     * 3 = F2; W (REX.W's role: 64-bit operands for the BMI instructions); vvvv the extra register (or 0); L = 0.
     */
    Encoder vex(int map, int pp, boolean w, int vvvv) {
        vex = true;
        vexMap = map;
        vexPp = pp;
        rexW = w;
        vexVvvv = vvvv;
        vexL = 0;
        return this;
    }

    Encoder opcode(int... bytes) {
        for (int b : bytes) {
            opcode.write(b);
        }
        return this;
    }

    /** Opcode + register code in the low 3 bits (e.g. 0F C8+rd BSWAP, 90+rd XCHG), REX.B for r8-r15. */
    Encoder opcodePlusRegister(int base, Reg r) {
        noteHighByte(r);
        rexB |= r.code() >= 8;
        opcode.write(base + (r.code() & 7));
        return this;
    }

    /** ModRM with mod = 11: {@code reg} is a register or an opcode extension (/digit) given as {@code regField}. */
    Encoder modrm(Reg reg, Reg rm) {
        noteHighByte(reg);
        return modrm(reg.code(), rm);
    }

    Encoder modrm(int regField, Reg rm) {
        noteHighByte(rm);
        rexR |= regField >= 8;
        rexB |= rm.code() >= 8;
        tail.write(0xC0 | (regField & 7) << 3 | (rm.code() & 7));
        return this;
    }

    Encoder modrm(Reg reg, Mem m) {
        noteHighByte(reg);
        return modrm(reg.code(), m);
    }

    /** ModRM (+ SIB + displacement) for a memory operand (SDM Vol. 2A, Tables 2-2 and 2-3 with REX, 2.2.1.3). */
    Encoder modrm(int regField, Mem m) {
        rexR |= regField >= 8;
        int reg = (regField & 7) << 3;
        if (m.base() == Mem.RIP) {
            if (code32) {
                throw new IllegalStateException("no RIP-relative addressing in 32-bit code");
            }
            // mod 00, r/m 101: RIP + disp32 in 64-bit mode (2.2.1.6)
            tail.write(reg | 0b101);
            disp(m.disp(), 4);
            return this;
        }
        int dispBytes = m.dispBytes();
        if (m.base() == Mem.NONE) {
            // mod 00, r/m 100, SIB base 101: no base, disp32; index 100 (without REX.X) = no index
            tail.write(reg | 0b100);
            sib(m.scale(), m.index(), 0b101);
            disp(m.disp(), 4);
            return this;
        }
        if ((m.base() & 7) == 0b101 && dispBytes == 0) {
            dispBytes = 1; // RBP/R13 with mod 00 would mean RIP/no base: use disp8 0
        }
        int mod = dispBytes == 0 ? 0 : dispBytes == 1 ? 1 : 2;
        rexB |= m.base() >= 8;
        if (m.index() != Mem.NONE || (m.base() & 7) == 0b100) {
            tail.write(mod << 6 | reg | 0b100); // SIB follows (RSP/R12 as base always need one)
            sib(m.scale(), m.index(), m.base() & 7);
        } else {
            tail.write(mod << 6 | reg | (m.base() & 7));
        }
        disp(m.disp(), dispBytes);
        return this;
    }

    private void sib(int scale, int index, int base) {
        if (index == 4) {
            throw new IllegalArgumentException("RSP cannot be an index");
        }
        int ss = switch (scale) { case 1 -> 0; case 2 -> 1; case 4 -> 2; case 8 -> 3;
            default -> throw new IllegalArgumentException("scale " + scale); };
        int idx = index == Mem.NONE ? 0b100 : index & 7;
        rexX |= index != Mem.NONE && index >= 8;
        tail.write(ss << 6 | idx << 3 | base);
    }

    private void disp(long value, int bytes) {
        for (int i = 0; i < bytes; i++) {
            tail.write((int) (value >>> (8 * i)));
        }
    }

    /** An immediate of 1, 2, 4 or (MOV r64, imm64 only) 8 bytes, little-endian. */
    Encoder imm(long value, int bytes) {
        disp(value, bytes);
        return this;
    }

    private void noteHighByte(Reg r) {
        highByteUsed |= r.highByte();
    }

    byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(16);
        out.writeBytes(legacy.toByteArray());
        if (vex) {
            if (code32 && (rexR || rexX || rexB || vexVvvv >= 8)) {
                throw new IllegalStateException("32-bit code has registers 0-7 only");
            }
            out.write(0xC4);
            out.write((rexR ? 0 : 0x80) | (rexX ? 0 : 0x40) | (rexB ? 0 : 0x20) | vexMap);
            out.write((rexW ? 0x80 : 0) | (~vexVvvv & 0xF) << 3 | vexL << 2 | vexPp);
        } else {
            boolean rex = rexW || rexR || rexX || rexB || forceRex;
            if (rex && highByteUsed) {
                throw new IllegalStateException("AH/CH/DH/BH cannot be encoded with a REX prefix");
            }
            if (rex && code32) {
                throw new IllegalStateException("32-bit code has no REX prefix (40-4F are INC and DEC there)");
            }
            if (rex) {
                out.write(0x40 | (rexW ? 8 : 0) | (rexR ? 4 : 0) | (rexX ? 2 : 0) | (rexB ? 1 : 0));
            }
        }
        out.writeBytes(opcode.toByteArray());
        out.writeBytes(tail.toByteArray());
        byte[] b = out.toByteArray();
        if (b.length > 15) {
            throw new IllegalStateException("an instruction longer than 15 bytes: " + b.length);
        }
        return b;
    }
}
