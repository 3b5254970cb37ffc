package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.*;
import static io.jvmx.vmx.emulated.differential.InstructionForm.of;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;

import java.util.List;

/** Shifts and rotates (SDM Vol. 2B, "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", SHLD, SHRD). */
final class ShiftForms {
    private ShiftForms() {
    }

    /** The /digit of group 2 (C0 C1 D0-D3): ROL 0, ROR 1, RCL 2, RCR 3, SHL/SAL 4, SHR 5, SAR 7 (/6 has no SDM form). */
    private static final String[] GROUP2 = {"ROL", "ROR", "RCL", "RCR", "SHL", "SHR", null, "SAR"};

    /** The largest count tried through CL: past 64, so the count masking (to 5 or 6 bits) is exercised. */
    private static final int MAX_CL_COUNT = 70;

    /** Counts around the operand sizes and the 5/6-bit count masks, where the special cases are. */
    private static final int[] EDGE_COUNTS = {0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65};

    /** A count 0-70: an edge count a third of the time, else uniform. */
    private static int count(CaseBuilder b) {
        return b.random.nextInt(3) == 0 ? EDGE_COUNTS[b.random.nextInt(EDGE_COUNTS.length)]
                : b.random.nextInt(MAX_CL_COUNT + 1);
    }

    static void addTo(List<InstructionForm> forms) {
        group2(forms);
        doublePrecision(forms);
    }

    /** How the count comes: 1 (D0/D1), CL (D2/D3), imm8 (C0/C1). */
    private enum CountKind { ONE, CL, IMM8 }

    private static void group2(List<InstructionForm> forms) {
        for (int digit = 0; digit < GROUP2.length; digit++) {
            if (GROUP2[digit] == null) {
                continue;
            }
            int d = digit;
            for (int size : SIZES) {
                for (CountKind kind : CountKind.values()) {
                    int opcode = switch (kind) {
                        case ONE -> size == 1 ? 0xD0 : 0xD1;
                        case CL -> size == 1 ? 0xD2 : 0xD3;
                        case IMM8 -> size == 1 ? 0xC0 : 0xC1;
                    };
                    String count = switch (kind) { case ONE -> "1"; case CL -> "CL"; case IMM8 -> "imm8"; };
                    String opcodeText = hex(opcode) + " /" + d + (kind == CountKind.IMM8 ? " ib" : "");
                    for (boolean memory : BOTH) {
                        forms.add(of(name(GROUP2[d], rm(size), count, sdm(size, opcodeText), memory), b -> {
                            b.byteOperands();
                            int n = switch (kind) {
                                case ONE -> 1;
                                case CL -> count(b);
                                case IMM8 -> b.random.nextInt(4) == 0 ? b.random.nextInt(256) : count(b);
                            };
                            if (kind == CountKind.CL) {
                                b.set(b.fixed(1, 1), n); // RCX's other bits stay random: only CL counts
                            }
                            Encoder e = b.encoder(size).operandSize(size).opcode(opcode);
                            ArithmeticForms.unaryOperand(b, e, d, size, memory);
                            group2Flags(b, d, size, n);
                            if (kind == CountKind.IMM8) {
                                e.imm(n, 1);
                            }
                            return e.bytes();
                        }));
                    }
                }
            }
        }
    }

    /**
     * The flags the SDM defines after a group-2 shift or rotate by {@code count}. The count is masked to 5 bits (6
     * with REX.W). Masked count 0: no flag is affected. Rotates ("RCL/RCR/ROL/ROR", Flags Affected): CF is affected
     * for a non-zero count, OF only for a count of 1 (undefined otherwise), SF ZF AF PF never. Shifts
     * ("SAL/SAR/SHL/SHR"): CF is the last bit shifted out, undefined for SHL and SHR when the count is at least the
     * operand size; OF only for 1-bit shifts; SF ZF PF from the result; AF undefined.
     */
    private static void group2Flags(CaseBuilder b, int digit, int size, int count) {
        int masked = count & (size == 8 ? 0x3F : 0x1F);
        if (masked == 0) {
            return;
        }
        if (masked != 1) {
            b.undefinedFlags(Flags.OF);
        }
        boolean rotate = digit <= 3;
        if (!rotate) {
            b.undefinedFlags(Flags.AF);
            if ((digit == 4 || digit == 5) && masked >= 8 * size) {
                b.undefinedFlags(Flags.CF);
            }
        }
    }

    /**
     * SHLD (0F A4 /r ib, 0F A5 /r with CL) and SHRD (0F AC /r ib, 0F AD /r): shift r/m, filling from r. Count masked
     * to 5 bits (6 with REX.W). Count 0: nothing changes. A count greater than the operand size (possible for 16 bits)
     * leaves the result and the flags undefined. Otherwise CF is the last bit out, SF ZF PF from the result, OF only
     * for a count of 1, AF undefined (SDM Vol. 2B, SHLD and SHRD).
     */
    private static void doublePrecision(List<InstructionForm> forms) {
        for (String n : new String[] {"SHLD", "SHRD"}) {
            int immOpcode = n.equals("SHLD") ? 0xA4 : 0xAC;
            for (int size : WIDE_SIZES) {
                for (boolean byCl : BOTH) {
                    int opcode = byCl ? immOpcode + 1 : immOpcode;
                    String opcodeText = "0F " + hex(opcode) + " /r" + (byCl ? "" : " ib");
                    for (boolean memory : BOTH) {
                        forms.add(of(name(n, rm(size) + ", " + r(size), byCl ? "CL" : "imm8", sdm(size, opcodeText),
                                memory), b -> {
                            int count = byCl || b.random.nextInt(4) != 0 ? count(b) : b.random.nextInt(256);
                            if (byCl) {
                                b.set(b.fixed(1, 1), count);
                            }
                            Mem m = memory ? b.mem(size) : null;
                            Reg dst = memory ? null : b.reg(size);
                            Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                            if (memory) {
                                b.setMem(size, b.value(size));
                            } else {
                                b.set(dst, b.value(size));
                            }
                            b.set(src, b.value(size));
                            int masked = count & (size == 8 ? 0x3F : 0x1F);
                            if (masked > 8 * size) {
                                b.undefinedFlags(Flags.STATUS);
                                if (memory) {
                                    b.undefinedMemoryResult(size);
                                } else {
                                    b.undefinedResult(dst);
                                }
                            } else if (masked != 0) {
                                b.undefinedFlags(Flags.AF);
                                if (masked != 1) {
                                    b.undefinedFlags(Flags.OF);
                                }
                            }
                            Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, opcode);
                            e = memory ? e.modrm(src, m) : e.modrm(src, dst);
                            return (byCl ? e : e.imm(count, 1)).bytes();
                        }));
                    }
                }
            }
        }
    }
}
