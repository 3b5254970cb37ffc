package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Rflags;

/**
 * SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 instructions on XMM registers (SDM Vol. 2, instruction pages; opcode
 * maps Vol. 2D, Tables ), chosen by {@link #select} from the opcode, the mandatory prefix (none, 66, F3 or
 * F2: an F2/F3 prefix takes precedence over 66) and, where the maps say so, ModRM.mod and ModRM.reg. The MMX forms
 * of the same opcodes (no mandatory prefix, mm operands) are {@link MmxOps}'; the floating-point arithmetic is
 * {@link SimdFloat}'s.
 *
 * <p>Every op checks CR0.EM, CR4.OSFXSR and CR0.TS first ({@link SimdOperands#checkSse}), reads its operands
 * (16-byte memory operands of the instructions that require alignment must be aligned: #GP(0)), computes, and only
 * then writes its destination and MXCSR's flags (an unmasked SIMD floating-point exception writes only the flags).
 */
final class SseOps {
    private SseOps() {
    }

    /** The mandatory-prefix index: 0 none, 1 = 66, 2 = F3, 3 = F2. */
    static int prefix(Insn i) {
        return i.rep == 0xF3 ? 2 : i.rep == 0xF2 ? 3 : i.opPrefix ? 1 : 0;
    }

    /** The op for an SSE encoding, or null if {@code i} is not one. */
    static Op select(Insn i) {
        if (i.vex) {
            return null;
        }
        int p = prefix(i);
        boolean mem = i.memory();
        switch (i.map) {
            case Insn.MAP_0F: return select0F(i, p, mem);
            case Insn.MAP_0F38: return p == 1 ? select0F38(i.opcode, mem) : null;
            case Insn.MAP_0F3A: return p == 1 ? select0F3A(i.opcode, i, mem) : null;
            default: return null;
        }
    }

    private static Op select0F(Insn i, int p, boolean mem) {
        int op = i.opcode;
        boolean dbl = (p & 1) != 0; // 66 (packed double) and F2 (scalar double)
        boolean scalar = p >= 2;
        switch (op) {
            case 0x10: return p == 2 ? MOVSS_LOAD : p == 3 ? MOVSD_LOAD : p == 1 ? MOVUPD_LOAD : MOVUPS_LOAD;
            case 0x11: return p == 2 ? MOVSS_STORE : p == 3 ? MOVSD_STORE : p == 1 ? MOVUPD_STORE : MOVUPS_STORE;
            case 0x12:
                switch (p) {
                    case 0: return mem ? MOVLPS_LOAD : MOVHLPS;
                    case 1: return mem ? MOVLPD_LOAD : OpTable.UNDEFINED;
                    case 2: return shuffle("MOVSLDUP xmm, xmm/m128", PackedShuffle.MOVSLDUP, 16, true);
                    default: return shuffle("MOVDDUP xmm, xmm/m64", PackedShuffle.MOVDDUP, 8, false);
                }
            case 0x13: return p <= 1 && mem ? (p == 0 ? MOVLPS_STORE : MOVLPD_STORE) : p <= 1 ? OpTable.UNDEFINED
                    : null;
            case 0x14: return p == 0 ? shuffle("UNPCKLPS", PackedShuffle.PUNPCKLDQ, 16, true)
                    : p == 1 ? shuffle("UNPCKLPD", PackedShuffle.PUNPCKLQDQ, 16, true) : null;
            case 0x15: return p == 0 ? shuffle("UNPCKHPS", PackedShuffle.PUNPCKHDQ, 16, true)
                    : p == 1 ? shuffle("UNPCKHPD", PackedShuffle.PUNPCKHQDQ, 16, true) : null;
            case 0x16:
                switch (p) {
                    case 0: return mem ? MOVHPS_LOAD : MOVLHPS;
                    case 1: return mem ? MOVHPD_LOAD : OpTable.UNDEFINED;
                    case 2: return shuffle("MOVSHDUP xmm, xmm/m128", PackedShuffle.MOVSHDUP, 16, true);
                    default: return null;
                }
            case 0x17: return p <= 1 && mem ? (p == 0 ? MOVHPS_STORE : MOVHPD_STORE) : p <= 1 ? OpTable.UNDEFINED
                    : null;
            case 0x28: return p <= 1 ? (p == 0 ? MOVAPS_LOAD : MOVAPD_LOAD) : null;
            case 0x29: return p <= 1 ? (p == 0 ? MOVAPS_STORE : MOVAPD_STORE) : null;
            case 0x2A:
                switch (p) {
                    case 0: return new Convert("CVTPI2PS xmm, mm/m64", Convert.CVTPI2PS);
                    case 1: return new Convert("CVTPI2PD xmm, mm/m64", Convert.CVTPI2PD);
                    case 2: return new Convert("CVTSI2SS xmm, r/m", Convert.CVTSI2SS);
                    default: return new Convert("CVTSI2SD xmm, r/m", Convert.CVTSI2SD);
                }
            case 0x2B: return p <= 1 ? (mem ? (p == 0 ? MOVNTPS : MOVNTPD) : OpTable.UNDEFINED) : null;
            case 0x2C: case 0x2D: {
                boolean t = op == 0x2C;
                switch (p) {
                    case 0: return new Convert(t ? "CVTTPS2PI mm, xmm/m64" : "CVTPS2PI mm, xmm/m64",
                            t ? Convert.CVTTPS2PI : Convert.CVTPS2PI);
                    case 1: return new Convert(t ? "CVTTPD2PI mm, xmm/m128" : "CVTPD2PI mm, xmm/m128",
                            t ? Convert.CVTTPD2PI : Convert.CVTPD2PI);
                    case 2: return new Convert(t ? "CVTTSS2SI r, xmm/m32" : "CVTSS2SI r, xmm/m32",
                            t ? Convert.CVTTSS2SI : Convert.CVTSS2SI);
                    default: return new Convert(t ? "CVTTSD2SI r, xmm/m64" : "CVTSD2SI r, xmm/m64",
                            t ? Convert.CVTTSD2SI : Convert.CVTSD2SI);
                }
            }
            case 0x2E: case 0x2F:
                return p <= 1 ? new CompareFlags((op == 0x2F ? "COMIS" : "UCOMIS") + (p == 1 ? "D" : "S"), p == 1,
                        op == 0x2F) : null;
            case 0x50: return p <= 1 ? (mem ? OpTable.UNDEFINED : new MoveMask(p == 0 ? "MOVMSKPS" : "MOVMSKPD",
                    p == 0 ? 4 : 8)) : null;
            case 0x51: return new FloatArith(name("SQRT", p), FloatArith.SQRT, dbl, scalar);
            case 0x52: return p == 0 || p == 2 ? new FloatArith(name("RSQRT", p), FloatArith.RSQRT, false, scalar)
                    : null;
            case 0x53: return p == 0 || p == 2 ? new FloatArith(name("RCP", p), FloatArith.RCP, false, scalar) : null;
            case 0x54: return p <= 1 ? packed(p == 0 ? "ANDPS" : "ANDPD", PackedInteger.PAND) : null;
            case 0x55: return p <= 1 ? packed(p == 0 ? "ANDNPS" : "ANDNPD", PackedInteger.PANDN) : null;
            case 0x56: return p <= 1 ? packed(p == 0 ? "ORPS" : "ORPD", PackedInteger.POR) : null;
            case 0x57: return p <= 1 ? packed(p == 0 ? "XORPS" : "XORPD", PackedInteger.PXOR) : null;
            case 0x58: return new FloatArith(name("ADD", p), FloatArith.ADD, dbl, scalar);
            case 0x59: return new FloatArith(name("MUL", p), FloatArith.MUL, dbl, scalar);
            case 0x5A:
                switch (p) {
                    case 0: return new Convert("CVTPS2PD xmm, xmm/m64", Convert.CVTPS2PD);
                    case 1: return new Convert("CVTPD2PS xmm, xmm/m128", Convert.CVTPD2PS);
                    case 2: return new Convert("CVTSS2SD xmm, xmm/m32", Convert.CVTSS2SD);
                    default: return new Convert("CVTSD2SS xmm, xmm/m64", Convert.CVTSD2SS);
                }
            case 0x5B:
                switch (p) {
                    case 0: return new Convert("CVTDQ2PS xmm, xmm/m128", Convert.CVTDQ2PS);
                    case 1: return new Convert("CVTPS2DQ xmm, xmm/m128", Convert.CVTPS2DQ);
                    case 2: return new Convert("CVTTPS2DQ xmm, xmm/m128", Convert.CVTTPS2DQ);
                    default: return null;
                }
            case 0x5C: return new FloatArith(name("SUB", p), FloatArith.SUB, dbl, scalar);
            case 0x5D: return new FloatArith(name("MIN", p), FloatArith.MIN, dbl, scalar);
            case 0x5E: return new FloatArith(name("DIV", p), FloatArith.DIV, dbl, scalar);
            case 0x5F: return new FloatArith(name("MAX", p), FloatArith.MAX, dbl, scalar);
            case 0x6E: return p == 1 ? MOVD_TO_XMM : null;
            case 0x6F: return p == 1 ? MOVDQA_LOAD : p == 2 ? MOVDQU_LOAD : null;
            case 0x70:
                switch (p) {
                    case 1: return shuffle("PSHUFD", PackedShuffle.PSHUFD, 16, true);
                    case 2: return shuffle("PSHUFHW", PackedShuffle.PSHUFHW, 16, true);
                    case 3: return shuffle("PSHUFLW", PackedShuffle.PSHUFLW, 16, true);
                    default: return null;
                }
            case 0x71: case 0x72: case 0x73: return p == 1 ? shiftImmediate(op, i) : null;
            case 0x7C: case 0x7D:
                return p == 1 || p == 3 ? new FloatArith((op == 0x7C ? "HADDP" : "HSUBP") + (p == 1 ? "D" : "S"),
                        op == 0x7C ? FloatArith.HADD : FloatArith.HSUB, p == 1, false) : null;
            case 0x7E: return p == 1 ? MOVD_FROM_XMM : p == 2 ? MOVQ_LOAD : null;
            case 0x7F: return p == 1 ? MOVDQA_STORE : p == 2 ? MOVDQU_STORE : null;
            case 0xC2: return new FloatArith(name("CMP", p), FloatArith.CMP, dbl, scalar);
            case 0xC4: return p == 1 ? new Insert("PINSRW xmm, r32/m16, imm8", 2) : null;
            case 0xC5: return p == 1 ? (mem ? OpTable.UNDEFINED : new Extract("PEXTRW r32, xmm, imm8", 2, false))
                    : null;
            case 0xC6: return p <= 1 ? shuffle(p == 0 ? "SHUFPS" : "SHUFPD", p == 0 ? PackedShuffle.SHUFPS
                    : PackedShuffle.SHUFPD, 16, true) : null;
            case 0xD0: return p == 1 || p == 3 ? new FloatArith(p == 1 ? "ADDSUBPD" : "ADDSUBPS", FloatArith.ADDSUB,
                    p == 1, false) : null;
            case 0xD6:
                switch (p) {
                    case 1: return MOVQ_STORE;
                    case 2: return mem ? OpTable.UNDEFINED : MOVQ2DQ;
                    case 3: return mem ? OpTable.UNDEFINED : MOVDQ2Q;
                    default: return null;
                }
            case 0xD7: return p == 1 ? (mem ? OpTable.UNDEFINED : new MoveMask("PMOVMSKB r32, xmm", 1)) : null;
            case 0xE6:
                switch (p) {
                    case 1: return new Convert("CVTTPD2DQ xmm, xmm/m128", Convert.CVTTPD2DQ);
                    case 2: return new Convert("CVTDQ2PD xmm, xmm/m64", Convert.CVTDQ2PD);
                    case 3: return new Convert("CVTPD2DQ xmm, xmm/m128", Convert.CVTPD2DQ);
                    default: return null;
                }
            case 0xE7: return p == 1 ? (mem ? MOVNTDQ : OpTable.UNDEFINED) : null;
            case 0xF0: return p == 3 ? (mem ? LDDQU : OpTable.UNDEFINED) : null;
            case 0xF7: return p == 1 ? (mem ? OpTable.UNDEFINED : MASKMOVDQU) : null;
            default:
                break;
        }
        if (p != 1) {
            return null;
        }
        int integer = INTEGER_0F[op];
        if (integer >= 0) {
            return packed(INTEGER_0F_NAMES[op], integer);
        }
        int cross = SHUFFLE_0F[op];
        if (cross >= 0) {
            return shuffle(SHUFFLE_0F_NAMES[op], cross, 16, true);
        }
        int shift = SHIFT_0F[op];
        if (shift >= 0) {
            return new ShiftByXmm(SHIFT_0F_NAMES[op] + " xmm, xmm/m128", shift);
        }
        return null;
    }

    private static String name(String base, int p) {
        return base + (p == 0 ? "PS" : p == 1 ? "PD" : p == 2 ? "SS" : "SD");
    }

    // ---- 66 0F xx packed-integer opcodes shared with MMX (0F xx without prefix): one table for both (MmxOps)

    static final int[] INTEGER_0F = new int[256];
    static final String[] INTEGER_0F_NAMES = new String[256];
    static final int[] SHUFFLE_0F = new int[256];
    static final String[] SHUFFLE_0F_NAMES = new String[256];
    static final int[] SHIFT_0F = new int[256];
    static final String[] SHIFT_0F_NAMES = new String[256];

    private static void integer(int opcode, String name, int op) {
        INTEGER_0F[opcode] = op;
        INTEGER_0F_NAMES[opcode] = name;
    }

    private static void cross(int opcode, String name, int op) {
        SHUFFLE_0F[opcode] = op;
        SHUFFLE_0F_NAMES[opcode] = name;
    }

    private static void shift(int opcode, String name, int op) {
        SHIFT_0F[opcode] = op;
        SHIFT_0F_NAMES[opcode] = name;
    }

    static {
        java.util.Arrays.fill(INTEGER_0F, -1);
        java.util.Arrays.fill(SHUFFLE_0F, -1);
        java.util.Arrays.fill(SHIFT_0F, -1);
        cross(0x60, "PUNPCKLBW", PackedShuffle.PUNPCKLBW);
        cross(0x61, "PUNPCKLWD", PackedShuffle.PUNPCKLWD);
        cross(0x62, "PUNPCKLDQ", PackedShuffle.PUNPCKLDQ);
        cross(0x63, "PACKSSWB", PackedShuffle.PACKSSWB);
        integer(0x64, "PCMPGTB", PackedInteger.PCMPGTB);
        integer(0x65, "PCMPGTW", PackedInteger.PCMPGTW);
        integer(0x66, "PCMPGTD", PackedInteger.PCMPGTD);
        cross(0x67, "PACKUSWB", PackedShuffle.PACKUSWB);
        cross(0x68, "PUNPCKHBW", PackedShuffle.PUNPCKHBW);
        cross(0x69, "PUNPCKHWD", PackedShuffle.PUNPCKHWD);
        cross(0x6A, "PUNPCKHDQ", PackedShuffle.PUNPCKHDQ);
        cross(0x6B, "PACKSSDW", PackedShuffle.PACKSSDW);
        cross(0x6C, "PUNPCKLQDQ", PackedShuffle.PUNPCKLQDQ);
        cross(0x6D, "PUNPCKHQDQ", PackedShuffle.PUNPCKHQDQ);
        integer(0x74, "PCMPEQB", PackedInteger.PCMPEQB);
        integer(0x75, "PCMPEQW", PackedInteger.PCMPEQW);
        integer(0x76, "PCMPEQD", PackedInteger.PCMPEQD);
        shift(0xD1, "PSRLW", PackedInteger.PSRLW);
        shift(0xD2, "PSRLD", PackedInteger.PSRLD);
        shift(0xD3, "PSRLQ", PackedInteger.PSRLQ);
        integer(0xD4, "PADDQ", PackedInteger.PADDQ);
        integer(0xD5, "PMULLW", PackedInteger.PMULLW);
        integer(0xD8, "PSUBUSB", PackedInteger.PSUBUSB);
        integer(0xD9, "PSUBUSW", PackedInteger.PSUBUSW);
        integer(0xDA, "PMINUB", PackedInteger.PMINUB);
        integer(0xDB, "PAND", PackedInteger.PAND);
        integer(0xDC, "PADDUSB", PackedInteger.PADDUSB);
        integer(0xDD, "PADDUSW", PackedInteger.PADDUSW);
        integer(0xDE, "PMAXUB", PackedInteger.PMAXUB);
        integer(0xDF, "PANDN", PackedInteger.PANDN);
        integer(0xE0, "PAVGB", PackedInteger.PAVGB);
        shift(0xE1, "PSRAW", PackedInteger.PSRAW);
        shift(0xE2, "PSRAD", PackedInteger.PSRAD);
        integer(0xE3, "PAVGW", PackedInteger.PAVGW);
        integer(0xE4, "PMULHUW", PackedInteger.PMULHUW);
        integer(0xE5, "PMULHW", PackedInteger.PMULHW);
        integer(0xE8, "PSUBSB", PackedInteger.PSUBSB);
        integer(0xE9, "PSUBSW", PackedInteger.PSUBSW);
        integer(0xEA, "PMINSW", PackedInteger.PMINSW);
        integer(0xEB, "POR", PackedInteger.POR);
        integer(0xEC, "PADDSB", PackedInteger.PADDSB);
        integer(0xED, "PADDSW", PackedInteger.PADDSW);
        integer(0xEE, "PMAXSW", PackedInteger.PMAXSW);
        integer(0xEF, "PXOR", PackedInteger.PXOR);
        shift(0xF1, "PSLLW", PackedInteger.PSLLW);
        shift(0xF2, "PSLLD", PackedInteger.PSLLD);
        shift(0xF3, "PSLLQ", PackedInteger.PSLLQ);
        integer(0xF4, "PMULUDQ", PackedInteger.PMULUDQ);
        integer(0xF5, "PMADDWD", PackedInteger.PMADDWD);
        integer(0xF6, "PSADBW", PackedInteger.PSADBW);
        integer(0xF8, "PSUBB", PackedInteger.PSUBB);
        integer(0xF9, "PSUBW", PackedInteger.PSUBW);
        integer(0xFA, "PSUBD", PackedInteger.PSUBD);
        integer(0xFB, "PSUBQ", PackedInteger.PSUBQ);
        integer(0xFC, "PADDB", PackedInteger.PADDB);
        integer(0xFD, "PADDW", PackedInteger.PADDW);
        integer(0xFE, "PADDD", PackedInteger.PADDD);
    }

    // ---- 0F 38 and 0F 3A (SSSE3 with 66, SSE4.1, SSE4.2)

    /** SSSE3's 0F 38 opcodes: the same operations for MMX (no prefix) and XMM (66). */
    static final int[] INTEGER_0F38 = new int[256];
    static final int[] SHUFFLE_0F38 = new int[256];
    static final String[] NAMES_0F38 = new String[256];

    static {
        java.util.Arrays.fill(INTEGER_0F38, -1);
        java.util.Arrays.fill(SHUFFLE_0F38, -1);
        SHUFFLE_0F38[0x00] = PackedShuffle.PSHUFB;
        SHUFFLE_0F38[0x01] = PackedShuffle.PHADDW;
        SHUFFLE_0F38[0x02] = PackedShuffle.PHADDD;
        SHUFFLE_0F38[0x03] = PackedShuffle.PHADDSW;
        INTEGER_0F38[0x04] = PackedInteger.PMADDUBSW;
        SHUFFLE_0F38[0x05] = PackedShuffle.PHSUBW;
        SHUFFLE_0F38[0x06] = PackedShuffle.PHSUBD;
        SHUFFLE_0F38[0x07] = PackedShuffle.PHSUBSW;
        INTEGER_0F38[0x08] = PackedInteger.PSIGNB;
        INTEGER_0F38[0x09] = PackedInteger.PSIGNW;
        INTEGER_0F38[0x0A] = PackedInteger.PSIGND;
        INTEGER_0F38[0x0B] = PackedInteger.PMULHRSW;
        INTEGER_0F38[0x1C] = PackedInteger.PABSB;
        INTEGER_0F38[0x1D] = PackedInteger.PABSW;
        INTEGER_0F38[0x1E] = PackedInteger.PABSD;
        String[] n = {"PSHUFB", "PHADDW", "PHADDD", "PHADDSW", "PMADDUBSW", "PHSUBW", "PHSUBD", "PHSUBSW", "PSIGNB",
                "PSIGNW", "PSIGND", "PMULHRSW"};
        for (int k = 0; k < n.length; k++) {
            NAMES_0F38[k] = n[k];
        }
        NAMES_0F38[0x1C] = "PABSB";
        NAMES_0F38[0x1D] = "PABSW";
        NAMES_0F38[0x1E] = "PABSD";
    }

    private static Op select0F38(int op, boolean mem) {
        if (INTEGER_0F38[op] >= 0) {
            return packed(NAMES_0F38[op], INTEGER_0F38[op]);
        }
        if (SHUFFLE_0F38[op] >= 0) {
            return shuffle(NAMES_0F38[op], SHUFFLE_0F38[op], 16, true);
        }
        switch (op) {
            case 0x10: return shuffle("PBLENDVB", PackedShuffle.PBLENDVB, 16, true);
            case 0x14: return shuffle("BLENDVPS", PackedShuffle.BLENDVPS, 16, true);
            case 0x15: return shuffle("BLENDVPD", PackedShuffle.BLENDVPD, 16, true);
            case 0x17: return PTEST;
            case 0x20: return shuffle("PMOVSXBW", PackedShuffle.PMOVSXBW, 8, false);
            case 0x21: return shuffle("PMOVSXBD", PackedShuffle.PMOVSXBD, 4, false);
            case 0x22: return shuffle("PMOVSXBQ", PackedShuffle.PMOVSXBQ, 2, false);
            case 0x23: return shuffle("PMOVSXWD", PackedShuffle.PMOVSXWD, 8, false);
            case 0x24: return shuffle("PMOVSXWQ", PackedShuffle.PMOVSXWQ, 4, false);
            case 0x25: return shuffle("PMOVSXDQ", PackedShuffle.PMOVSXDQ, 8, false);
            case 0x28: return packed("PMULDQ", PackedInteger.PMULDQ);
            case 0x29: return packed("PCMPEQQ", PackedInteger.PCMPEQQ);
            case 0x2A: return mem ? MOVNTDQA : OpTable.UNDEFINED;
            case 0x2B: return shuffle("PACKUSDW", PackedShuffle.PACKUSDW, 16, true);
            case 0x30: return shuffle("PMOVZXBW", PackedShuffle.PMOVZXBW, 8, false);
            case 0x31: return shuffle("PMOVZXBD", PackedShuffle.PMOVZXBD, 4, false);
            case 0x32: return shuffle("PMOVZXBQ", PackedShuffle.PMOVZXBQ, 2, false);
            case 0x33: return shuffle("PMOVZXWD", PackedShuffle.PMOVZXWD, 8, false);
            case 0x34: return shuffle("PMOVZXWQ", PackedShuffle.PMOVZXWQ, 4, false);
            case 0x35: return shuffle("PMOVZXDQ", PackedShuffle.PMOVZXDQ, 8, false);
            case 0x37: return packed("PCMPGTQ", PackedInteger.PCMPGTQ);
            case 0x38: return packed("PMINSB", PackedInteger.PMINSB);
            case 0x39: return packed("PMINSD", PackedInteger.PMINSD);
            case 0x3A: return packed("PMINUW", PackedInteger.PMINUW);
            case 0x3B: return packed("PMINUD", PackedInteger.PMINUD);
            case 0x3C: return packed("PMAXSB", PackedInteger.PMAXSB);
            case 0x3D: return packed("PMAXSD", PackedInteger.PMAXSD);
            case 0x3E: return packed("PMAXUW", PackedInteger.PMAXUW);
            case 0x3F: return packed("PMAXUD", PackedInteger.PMAXUD);
            case 0x40: return packed("PMULLD", PackedInteger.PMULLD);
            case 0x41: return shuffle("PHMINPOSUW", PackedShuffle.PHMINPOSUW, 16, true);
            default: return null;
        }
    }

    private static Op select0F3A(int op, Insn i, boolean mem) {
        switch (op) {
            case 0x08: return new FloatArith("ROUNDPS", FloatArith.ROUND, false, false);
            case 0x09: return new FloatArith("ROUNDPD", FloatArith.ROUND, true, false);
            case 0x0A: return new FloatArith("ROUNDSS", FloatArith.ROUND, false, true);
            case 0x0B: return new FloatArith("ROUNDSD", FloatArith.ROUND, true, true);
            case 0x0C: return shuffle("BLENDPS", PackedShuffle.BLENDPS, 16, true);
            case 0x0D: return shuffle("BLENDPD", PackedShuffle.BLENDPD, 16, true);
            case 0x0E: return shuffle("PBLENDW", PackedShuffle.PBLENDW, 16, true);
            case 0x0F: return shuffle("PALIGNR", PackedShuffle.PALIGNR, 16, true);
            case 0x14: return new Extract("PEXTRB r/m8, xmm, imm8", 1, false);
            case 0x15: return new Extract("PEXTRW r/m16, xmm, imm8", 2, false);
            case 0x16: return (i.rex & 8) != 0 ? new Extract("PEXTRQ r/m64, xmm, imm8", 8, false)
                    : new Extract("PEXTRD r/m32, xmm, imm8", 4, false);
            case 0x17: return new Extract("EXTRACTPS r/m32, xmm, imm8", 4, true);
            case 0x20: return new Insert("PINSRB xmm, r32/m8, imm8", 1);
            case 0x21: return INSERTPS;
            case 0x22: return (i.rex & 8) != 0 ? new Insert("PINSRQ xmm, r/m64, imm8", 8)
                    : new Insert("PINSRD xmm, r/m32, imm8", 4);
            case 0x40: return new FloatArith("DPPS", FloatArith.DP, false, false);
            case 0x41: return new FloatArith("DPPD", FloatArith.DP, true, false);
            case 0x42: return shuffle("MPSADBW", PackedShuffle.MPSADBW, 16, true);
            case 0x60: case 0x61: case 0x62: case 0x63: return StringCompare.op(op);
            default: return null;
        }
    }

    // ============================================================================================ integer

    private static Op packed(String name, int op) {
        return new PackedXmm(name + " xmm, xmm/m128", op);
    }

    /** xmm, xmm/m128 (aligned): a {@link PackedInteger} operation on both halves. */
    static final class PackedXmm extends Op {
        private final int op;

        PackedXmm(String name, int op) {
            super(name);
            this.op = op;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            o.source128(true);
            long[] r = o.xmm;
            int d = 2 * i.reg;
            long l = PackedInteger.apply(op, r[d], o.lo);
            long h = PackedInteger.apply(op, r[d + 1], o.hi);
            r[d] = l;
            r[d + 1] = h;
            x.done();
        }
    }

    /** PSRLW/PSRAW/PSLLW ... xmm, xmm/m128: every element shifted by the source's bits 63:0. */
    static final class ShiftByXmm extends Op {
        private final int op;

        ShiftByXmm(String name, int op) {
            super(name);
            this.op = op;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            o.source128(true);
            long[] r = o.xmm;
            int d = 2 * i.reg;
            long count = o.lo;
            long l = PackedInteger.apply(op, r[d], count);
            long h = PackedInteger.apply(op, r[d + 1], count);
            r[d] = l;
            r[d + 1] = h;
            x.done();
        }
    }

    /** Groups 12, 13, 14 with 66 (Vol. 2D, Table A-6): shifts of an xmm register by imm8; PSRLDQ, PSLLDQ. */
    private static Op shiftImmediate(int opcode, Insn i) {
        if (i.memory()) {
            return OpTable.UNDEFINED;
        }
        int g = i.regOp();
        int op = -1;
        String name = null;
        switch (opcode) {
            case 0x71:
                op = g == 2 ? PackedInteger.PSRLW : g == 4 ? PackedInteger.PSRAW : g == 6 ? PackedInteger.PSLLW : -1;
                name = g == 2 ? "PSRLW" : g == 4 ? "PSRAW" : "PSLLW";
                break;
            case 0x72:
                op = g == 2 ? PackedInteger.PSRLD : g == 4 ? PackedInteger.PSRAD : g == 6 ? PackedInteger.PSLLD : -1;
                name = g == 2 ? "PSRLD" : g == 4 ? "PSRAD" : "PSLLD";
                break;
            default:
                if (g == 3 || g == 7) {
                    return new ShiftBytes(g == 3 ? "PSRLDQ xmm, imm8" : "PSLLDQ xmm, imm8",
                            g == 3 ? PackedShuffle.PSRLDQ : PackedShuffle.PSLLDQ);
                }
                op = g == 2 ? PackedInteger.PSRLQ : g == 6 ? PackedInteger.PSLLQ : -1;
                name = g == 2 ? "PSRLQ" : "PSLLQ";
                break;
        }
        return op < 0 ? OpTable.UNDEFINED : new ShiftImmediate(name + " xmm, imm8", op);
    }

    static final class ShiftImmediate extends Op {
        private final int op;

        ShiftImmediate(String name, int op) {
            super(name);
            this.op = op;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long[] r = o.xmm;
            int d = 2 * i.rm;
            long count = i.imm & 0xFF;
            long l = PackedInteger.apply(op, r[d], count);
            long h = PackedInteger.apply(op, r[d + 1], count);
            r[d] = l;
            r[d + 1] = h;
            x.done();
        }
    }

    static final class ShiftBytes extends Op {
        private final int op;

        ShiftBytes(String name, int op) {
            super(name);
            this.op = op;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long[] r = o.xmm;
            int d = 2 * i.rm;
            PackedShuffle.compute(o, op, r[d], r[d + 1], 0, 0, 16, (int) i.imm & 0xFF, 0, 0);
            r[d] = o.rl;
            r[d + 1] = o.rh;
            x.done();
        }
    }

    private static Op shuffle(String name, int op, int sourceBytes, boolean aligned) {
        return new ShuffleXmm(name, op, sourceBytes, aligned);
    }

    /**
     * xmm, xmm/m (with imm8 where the encoding has one): a {@link PackedShuffle} operation; the memory source is
     * {@code sourceBytes} wide (16, or 8, 4, 2 for PMOVSX/PMOVZX and MOVDDUP).
     */
    static final class ShuffleXmm extends Op {
        private final int op;
        private final int sourceBytes;
        private final boolean aligned;

        ShuffleXmm(String name, int op, int sourceBytes, boolean aligned) {
            super(name);
            this.op = op;
            this.sourceBytes = sourceBytes;
            this.aligned = aligned;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long bl, bh;
            if (sourceBytes == 16) {
                o.source128(aligned);
                bl = o.lo;
                bh = o.hi;
            } else {
                bl = o.sourceLow(sourceBytes);
                bh = 0;
            }
            long[] r = o.xmm;
            int d = 2 * i.reg;
            PackedShuffle.compute(o, op, r[d], r[d + 1], bl, bh, 16, (int) i.imm & 0xFF, r[0], r[1]);
            r[d] = o.rl;
            r[d + 1] = o.rh;
            x.done();
        }
    }

    /** PTEST xmm, xmm/m128 (SSE4.1): ZF = (dest AND src) == 0, CF = (NOT dest AND src) == 0; AF OF PF SF = 0. */
    static final Op PTEST = new Op("PTEST xmm, xmm/m128") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            o.source128(true);
            long[] r = o.xmm;
            int d = 2 * i.reg;
            long f = 0;
            if (((r[d] & o.lo) | (r[d + 1] & o.hi)) == 0) {
                f |= Rflags.ZF;
            }
            if (((~r[d] & o.lo) | (~r[d + 1] & o.hi)) == 0) {
                f |= Rflags.CF;
            }
            x.s.setRflags((x.s.rflags() & ~Alu.STATUS) | f);
            x.done();
        }
    };

    /** MOVMSKPS/MOVMSKPD/PMOVMSKB r32, xmm: the sign bits of the elements of {@code size}, zero-extended. */
    static final class MoveMask extends Op {
        private final int size;

        MoveMask(String name, int size) {
            super(name);
            this.size = size;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long l = o.xmm[2 * i.rm], h = o.xmm[2 * i.rm + 1];
            long mask;
            if (size == 1) {
                mask = PackedInteger.byteSigns(l) | PackedInteger.byteSigns(h) << 8;
            } else {
                int bits = 8 * size;
                int n = 8 / size;
                mask = 0;
                for (int k = 0; k < n; k++) {
                    mask |= ((l >>> (bits * k + bits - 1)) & 1) << k;
                    mask |= ((h >>> (bits * k + bits - 1)) & 1) << (k + n);
                }
            }
            x.setReg(i.reg, i.opSize == 8 ? 8 : 4, mask);
            x.done();
        }
    }

    /** PEXTRB/W/D/Q and EXTRACTPS r/m, xmm, imm8; PEXTRW r32, xmm, imm8 (66 0F C5, register only). */
    static final class Extract extends Op {
        private final int size;
        private final boolean extractps;

        Extract(String name, int size, boolean extractps) {
            super(name);
            this.size = size;
            this.extractps = extractps;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            int n = 16 / size;
            int k = (int) i.imm & (n - 1);
            boolean c5 = i.map == Insn.MAP_0F;
            int src = c5 ? i.rm : i.reg;
            long v = SimdOperands.element(o.xmm[2 * src], o.xmm[2 * src + 1], size, k);
            if (c5) {
                x.setReg(i.reg, i.opSize == 8 ? 8 : 4, v);
            } else if (i.mod == 3) {
                // a register destination is written whole: zero-extended to 32 bits (64 with REX.W)
                x.setReg(i.rm, size == 8 || (extractps ? false : (i.rex & 8) != 0) ? 8 : 4, v);
            } else {
                o.writeMemory(size, v);
            }
            x.done();
        }
    }

    /** PINSRB/W/D/Q xmm, r/m, imm8 (PINSRW: 66 0F C4). */
    static final class Insert extends Op {
        private final int size;

        Insert(String name, int size) {
            super(name);
            this.size = size;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long v = i.mod == 3 ? x.getReg(i.rm, size == 8 ? 8 : 4) : o.readMemory(size);
            int n = 16 / size;
            int k = (int) i.imm & (n - 1);
            long m = size == 8 ? -1L : (1L << (8 * size)) - 1;
            int half = k * size / 8;
            int shift = (k * size % 8) * 8;
            long[] r = o.xmm;
            int d = 2 * i.reg + half;
            r[d] = (r[d] & ~(m << shift)) | ((v & m) << shift);
            x.done();
        }
    }

    /** INSERTPS xmm, xmm/m32, imm8 (SSE4.1): one element in, selected by imm8[7:6] (register) and [5:4], zeroed by [3:0]. */
    static final Op INSERTPS = new Op("INSERTPS xmm, xmm/m32, imm8") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            int imm = (int) i.imm & 0xFF;
            long v;
            if (i.mod == 3) {
                v = SimdOperands.element(o.xmm[2 * i.rm], o.xmm[2 * i.rm + 1], 4, imm >>> 6);
            } else {
                v = o.readMemory(4);
            }
            long[] r = o.xmm;
            int d = 2 * i.reg;
            long l = r[d], h = r[d + 1];
            int to = (imm >>> 4) & 3;
            if (to < 2) {
                l = (l & ~(0xFFFF_FFFFL << (32 * to))) | (v << (32 * to));
            } else {
                h = (h & ~(0xFFFF_FFFFL << (32 * (to - 2)))) | (v << (32 * (to - 2)));
            }
            for (int k = 0; k < 4; k++) {
                if ((imm & (1 << k)) != 0) {
                    if (k < 2) {
                        l &= ~(0xFFFF_FFFFL << (32 * k));
                    } else {
                        h &= ~(0xFFFF_FFFFL << (32 * (k - 2)));
                    }
                }
            }
            r[d] = l;
            r[d + 1] = h;
            x.done();
        }
    };

    // ============================================================================================ moves

    /** Loads of the whole register: MOVUPS/MOVAPS/MOVDQA/MOVDQU/LDDQU/MOVNTDQA xmm, xmm/m128. */
    static final class Load128 extends Op {
        private final boolean aligned;

        Load128(String name, boolean aligned) {
            super(name);
            this.aligned = aligned;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            o.source128(aligned);
            o.xmm[2 * i.reg] = o.lo;
            o.xmm[2 * i.reg + 1] = o.hi;
            x.done();
        }
    }

    /** Stores of the whole register: MOVUPS/MOVAPS/MOVDQA/MOVDQU xmm/m128, xmm; MOVNTPS/MOVNTPD/MOVNTDQ m128, xmm. */
    static final class Store128 extends Op {
        private final boolean aligned;

        Store128(String name, boolean aligned) {
            super(name);
            this.aligned = aligned;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long l = o.xmm[2 * i.reg], h = o.xmm[2 * i.reg + 1];
            if (i.mod == 3) {
                o.xmm[2 * i.rm] = l;
                o.xmm[2 * i.rm + 1] = h;
            } else {
                o.writeMemory128(l, h, aligned);
            }
            x.done();
        }
    }

    static final Op MOVUPS_LOAD = new Load128("MOVUPS xmm, xmm/m128", false);
    static final Op MOVUPD_LOAD = new Load128("MOVUPD xmm, xmm/m128", false);
    static final Op MOVAPS_LOAD = new Load128("MOVAPS xmm, xmm/m128", true);
    static final Op MOVAPD_LOAD = new Load128("MOVAPD xmm, xmm/m128", true);
    static final Op MOVDQA_LOAD = new Load128("MOVDQA xmm, xmm/m128", true);
    static final Op MOVDQU_LOAD = new Load128("MOVDQU xmm, xmm/m128", false);
    static final Op LDDQU = new Load128("LDDQU xmm, m128", false);
    static final Op MOVNTDQA = new Load128("MOVNTDQA xmm, m128", true);
    static final Op MOVUPS_STORE = new Store128("MOVUPS xmm/m128, xmm", false);
    static final Op MOVUPD_STORE = new Store128("MOVUPD xmm/m128, xmm", false);
    static final Op MOVAPS_STORE = new Store128("MOVAPS xmm/m128, xmm", true);
    static final Op MOVAPD_STORE = new Store128("MOVAPD xmm/m128, xmm", true);
    static final Op MOVDQA_STORE = new Store128("MOVDQA xmm/m128, xmm", true);
    static final Op MOVDQU_STORE = new Store128("MOVDQU xmm/m128, xmm", false);
    static final Op MOVNTPS = new Store128("MOVNTPS m128, xmm", true);
    static final Op MOVNTPD = new Store128("MOVNTPD m128, xmm", true);
    static final Op MOVNTDQ = new Store128("MOVNTDQ m128, xmm", true);

    /**
     * MOVSS/MOVSD xmm, xmm/m: from memory the element with the rest of the register zeroed, from a register only the
     * low element (Vol. 2B MOVSS, MOVSD).
     */
    static final class LoadScalar extends Op {
        private final int size;

        LoadScalar(String name, int size) {
            super(name);
            this.size = size;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long[] r = o.xmm;
            int d = 2 * i.reg;
            if (i.mod == 3) {
                long m = size == 8 ? -1L : 0xFFFF_FFFFL;
                r[d] = (r[d] & ~m) | (r[2 * i.rm] & m);
            } else {
                long v = o.readMemory(size);
                r[d] = v;
                r[d + 1] = 0;
            }
            x.done();
        }
    }

    /** MOVSS/MOVSD xmm/m, xmm. */
    static final class StoreScalar extends Op {
        private final int size;

        StoreScalar(String name, int size) {
            super(name);
            this.size = size;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long[] r = o.xmm;
            long v = r[2 * i.reg];
            if (i.mod == 3) {
                long m = size == 8 ? -1L : 0xFFFF_FFFFL;
                r[2 * i.rm] = (r[2 * i.rm] & ~m) | (v & m);
            } else {
                o.writeMemory(size, size == 8 ? v : v & 0xFFFF_FFFFL);
            }
            x.done();
        }
    }

    static final Op MOVSS_LOAD = new LoadScalar("MOVSS xmm, xmm/m32", 4);
    static final Op MOVSD_LOAD = new LoadScalar("MOVSD xmm, xmm/m64", 8);
    static final Op MOVSS_STORE = new StoreScalar("MOVSS xmm/m32, xmm", 4);
    static final Op MOVSD_STORE = new StoreScalar("MOVSD xmm/m64, xmm", 8);

    /** MOVLPS/MOVLPD/MOVHPS/MOVHPD and MOVHLPS/MOVLHPS: one 64-bit half of the register. */
    static final class MoveHalf extends Op {
        private final int kind; // 0 load low, 1 load high, 2 store low, 3 store high, 4 MOVHLPS, 5 MOVLHPS

        MoveHalf(String name, int kind) {
            super(name);
            this.kind = kind;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long[] r = o.xmm;
            int d = 2 * i.reg;
            switch (kind) {
                case 0: r[d] = o.readMemory(8); break;
                case 1: r[d + 1] = o.readMemory(8); break;
                case 2: o.writeMemory(8, r[d]); break;
                case 3: o.writeMemory(8, r[d + 1]); break;
                case 4: r[d] = r[2 * i.rm + 1]; break;
                default: r[d + 1] = r[2 * i.rm]; break;
            }
            x.done();
        }
    }

    static final Op MOVLPS_LOAD = new MoveHalf("MOVLPS xmm, m64", 0);
    static final Op MOVLPD_LOAD = new MoveHalf("MOVLPD xmm, m64", 0);
    static final Op MOVHPS_LOAD = new MoveHalf("MOVHPS xmm, m64", 1);
    static final Op MOVHPD_LOAD = new MoveHalf("MOVHPD xmm, m64", 1);
    static final Op MOVLPS_STORE = new MoveHalf("MOVLPS m64, xmm", 2);
    static final Op MOVLPD_STORE = new MoveHalf("MOVLPD m64, xmm", 2);
    static final Op MOVHPS_STORE = new MoveHalf("MOVHPS m64, xmm", 3);
    static final Op MOVHPD_STORE = new MoveHalf("MOVHPD m64, xmm", 3);
    static final Op MOVHLPS = new MoveHalf("MOVHLPS xmm, xmm", 4);
    static final Op MOVLHPS = new MoveHalf("MOVLHPS xmm, xmm", 5);

    /** MOVD xmm, r/m32 and MOVQ xmm, r/m64 (66 REX.W 0F 6E): zero-extended to 128 bits. */
    static final Op MOVD_TO_XMM = new Op("MOVD/MOVQ xmm, r/m") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            int size = (i.rex & 8) != 0 ? 8 : 4;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : o.readMemory(size);
            o.xmm[2 * i.reg] = v;
            o.xmm[2 * i.reg + 1] = 0;
            x.done();
        }
    };

    /** MOVD r/m32, xmm and MOVQ r/m64, xmm (66 REX.W 0F 7E). */
    static final Op MOVD_FROM_XMM = new Op("MOVD/MOVQ r/m, xmm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            int size = (i.rex & 8) != 0 ? 8 : 4;
            long v = o.xmm[2 * i.reg];
            if (i.mod == 3) {
                x.setReg(i.rm, size, v);
            } else {
                o.writeMemory(size, size == 8 ? v : v & 0xFFFF_FFFFL);
            }
            x.done();
        }
    };

    /** MOVQ xmm, xmm/m64 (F3 0F 7E): bits 127:64 are zeroed. */
    static final Op MOVQ_LOAD = new Op("MOVQ xmm, xmm/m64") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long v = o.sourceLow(8);
            o.xmm[2 * i.reg] = v;
            o.xmm[2 * i.reg + 1] = 0;
            x.done();
        }
    };

    /** MOVQ xmm/m64, xmm (66 0F D6): a register destination has bits 127:64 zeroed. */
    static final Op MOVQ_STORE = new Op("MOVQ xmm/m64, xmm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long v = o.xmm[2 * i.reg];
            if (i.mod == 3) {
                o.xmm[2 * i.rm] = v;
                o.xmm[2 * i.rm + 1] = 0;
            } else {
                o.writeMemory(8, v);
            }
            x.done();
        }
    };

    /** MOVQ2DQ xmm, mm (F3 0F D6): an MMX instruction too (the x87 transition). */
    static final Op MOVQ2DQ = new Op("MOVQ2DQ xmm, mm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSseAndMmx();
            long v = o.mm(i.rm);
            o.mmxTransition();
            o.xmm[2 * i.reg] = v;
            o.xmm[2 * i.reg + 1] = 0;
            x.done();
        }
    };

    /** MOVDQ2Q mm, xmm (F2 0F D6). */
    static final Op MOVDQ2Q = new Op("MOVDQ2Q mm, xmm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSseAndMmx();
            long v = o.xmm[2 * i.rm];
            o.mmxTransition();
            o.setMm(i.reg, v);
            x.done();
        }
    };

    /**
     * MASKMOVDQU xmm1, xmm2 (66 0F F7): the bytes of xmm1 whose mask byte in xmm2 has its top bit set are stored at
     * DS:rDI (segment override allowed). Every byte position is checked before any byte is written.
     */
    static final Op MASKMOVDQU = new Op("MASKMOVDQU xmm, xmm") {
        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            maskedStore(x, o.xmm[2 * i.reg], o.xmm[2 * i.reg + 1], o.xmm[2 * i.rm], o.xmm[2 * i.rm + 1], 16);
            x.done();
        }
    };

    /** The store of MASKMOVDQU and MASKMOVQ: {@code bytes} bytes at DS:rDI (or the override) under the mask. */
    static void maskedStore(Executor x, long dl, long dh, long ml, long mh, int bytes) {
        if (((ml | mh) & 0x8080_8080_8080_8080L) == 0) {
            return; // nothing selected: no access at all
        }
        int seg = x.i.segOv >= 0 ? x.i.segOv : CpuState.DS;
        long di = x.getReg(Executor.RDI, x.i.addrSize);
        long lin = x.lin(seg, di, bytes, true);
        x.m.probe(lin, bytes, Mmu.WRITE, x.dataPriv);
        for (int k = 0; k < bytes; k++) {
            long mw = k < 8 ? ml : mh;
            if (((mw >>> (8 * (k & 7) + 7)) & 1) != 0) {
                long dw = k < 8 ? dl : dh;
                x.m.write(lin + k, 1, (dw >>> (8 * (k & 7))) & 0xFF, x.dataPriv);
            }
        }
    }

    // ============================================================================================ floating point

    /**
     * The floating-point arithmetic of xmm, xmm/m: packed (4 singles or 2 doubles, m128 aligned) or scalar (the low
     * element, m32/m64; the other elements of the destination are kept).
     */
    static final class FloatArith extends Op {
        static final int ADD = 0, SUB = 1, MUL = 2, DIV = 3, MIN = 4, MAX = 5, SQRT = 6, CMP = 7, RCP = 8,
                RSQRT = 9, ADDSUB = 10, HADD = 11, HSUB = 12, ROUND = 13, DP = 14;
        private final int kind;
        private final boolean dbl, scalar;

        FloatArith(String name, int kind, boolean dbl, boolean scalar) {
            super(name + " xmm, xmm/" + (scalar ? (dbl ? "m64" : "m32") : "m128")
                    + (kind == CMP || kind == ROUND || kind == DP ? ", imm8" : ""));
            this.kind = kind;
            this.dbl = dbl;
            this.scalar = scalar;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            SimdFloat fp = o.fp;
            long[] r = o.xmm;
            int d = 2 * i.reg;
            int imm = (int) i.imm & 0xFF;
            fp.begin(o.mxcsr());
            if (kind == ROUND && (imm & 4) == 0) {
                fp.roundingMode(imm & 3);
            }
            if (scalar) {
                long b = o.sourceLow(dbl ? 8 : 4);
                long a = dbl ? r[d] : r[d] & 0xFFFF_FFFFL;
                long v = lane(fp, a, b, imm);
                o.checkUnmasked();
                r[d] = dbl ? v : (r[d] & 0xFFFF_FFFF_0000_0000L) | (v & 0xFFFF_FFFFL);
                o.mergeFlags();
                x.done();
                return;
            }
            o.source128(true);
            long al = r[d], ah = r[d + 1], bl = o.lo, bh = o.hi;
            long rl, rh;
            if (dbl) {
                switch (kind) {
                    case HADD: case HSUB:
                        rl = fp.add(al, ah, true, kind == HSUB);
                        rh = fp.add(bl, bh, true, kind == HSUB);
                        break;
                    case ADDSUB:
                        rl = fp.add(al, bl, true, true);
                        rh = fp.add(ah, bh, true, false);
                        break;
                    case DP:
                        rl = dotProductDouble(o, al, ah, bl, bh, imm);
                        rh = (imm & 2) != 0 ? rl : 0;
                        rl = (imm & 1) != 0 ? rl : 0;
                        break;
                    default:
                        rl = lane(fp, al, bl, imm);
                        rh = lane(fp, ah, bh, imm);
                        break;
                }
            } else {
                long a0 = al & 0xFFFF_FFFFL, a1 = al >>> 32, a2 = ah & 0xFFFF_FFFFL, a3 = ah >>> 32;
                long b0 = bl & 0xFFFF_FFFFL, b1 = bl >>> 32, b2 = bh & 0xFFFF_FFFFL, b3 = bh >>> 32;
                long r0, r1, r2, r3;
                switch (kind) {
                    case HADD: case HSUB: {
                        boolean sub = kind == HSUB;
                        r0 = fp.add(a0, a1, false, sub);
                        r1 = fp.add(a2, a3, false, sub);
                        r2 = fp.add(b0, b1, false, sub);
                        r3 = fp.add(b2, b3, false, sub);
                        break;
                    }
                    case ADDSUB:
                        r0 = fp.add(a0, b0, false, true);
                        r1 = fp.add(a1, b1, false, false);
                        r2 = fp.add(a2, b2, false, true);
                        r3 = fp.add(a3, b3, false, false);
                        break;
                    case DP: {
                        long sum = dotProductSingle(o, a0, a1, a2, a3, b0, b1, b2, b3, imm);
                        r0 = (imm & 1) != 0 ? sum : 0;
                        r1 = (imm & 2) != 0 ? sum : 0;
                        r2 = (imm & 4) != 0 ? sum : 0;
                        r3 = (imm & 8) != 0 ? sum : 0;
                        break;
                    }
                    default:
                        r0 = lane(fp, a0, b0, imm);
                        r1 = lane(fp, a1, b1, imm);
                        r2 = lane(fp, a2, b2, imm);
                        r3 = lane(fp, a3, b3, imm);
                        break;
                }
                rl = (r0 & 0xFFFF_FFFFL) | (r1 << 32);
                rh = (r2 & 0xFFFF_FFFFL) | (r3 << 32);
            }
            o.checkUnmasked();
            r[d] = rl;
            r[d + 1] = rh;
            o.mergeFlags();
            x.done();
        }

        private long lane(SimdFloat fp, long a, long b, int imm) {
            switch (kind) {
                case ADD: return fp.add(a, b, dbl, false);
                case SUB: return fp.add(a, b, dbl, true);
                case MUL: return fp.mul(a, b, dbl);
                case DIV: return fp.div(a, b, dbl);
                case MIN: return fp.minMax(a, b, dbl, false);
                case MAX: return fp.minMax(a, b, dbl, true);
                case SQRT: return fp.sqrt(b, dbl);
                case CMP: return fp.compare(a, b, dbl, imm) ? (dbl ? -1L : 0xFFFF_FFFFL) : 0;
                case RCP: return Approximation.reciprocal(b);
                case RSQRT: return Approximation.reciprocalSqrt(b);
                case ROUND: return fp.roundIntegral(b, dbl, fp.rc(), (imm & 8) == 0); // imm8[3]: no precision
                default: throw new IllegalStateException(name);
            }
        }
    }

    /**
     * DPPS (Vol. 2A): the products selected by imm8[7:4] (others +0.0), summed as (p0 + p1) + (p2 + p3), each step
     * rounded as the SDM's DP_primitive does; an unmasked exception of one step ends the instruction before the
     * next (so the flags are those of the steps done); the sums' operands, intermediate results, are subject to DAZ
     * and the denormal exception as source operands are (as the processor does).
     */
    static long dotProductSingle(SimdOperands o, long a0, long a1, long a2, long a3, long b0, long b1, long b2,
                                 long b3, int imm) {
        SimdFloat fp = o.fp;
        long p0 = (imm & 0x10) != 0 ? fp.mul(a0, b0, false) : 0;
        long p1 = (imm & 0x20) != 0 ? fp.mul(a1, b1, false) : 0;
        long p2 = (imm & 0x40) != 0 ? fp.mul(a2, b2, false) : 0;
        long p3 = (imm & 0x80) != 0 ? fp.mul(a3, b3, false) : 0;
        o.checkUnmasked();
        fp.nextStep();
        long s01 = fp.add(p0, p1, false, false);
        long s23 = fp.add(p2, p3, false, false);
        o.checkUnmasked();
        fp.nextStep();
        return fp.add(s01, s23, false, false);
    }

    /** DPPD (Vol. 2A): products selected by imm8[5:4], summed; steps as for DPPS. */
    static long dotProductDouble(SimdOperands o, long a0, long a1, long b0, long b1, int imm) {
        SimdFloat fp = o.fp;
        long p0 = (imm & 0x10) != 0 ? fp.mul(a0, b0, true) : 0;
        long p1 = (imm & 0x20) != 0 ? fp.mul(a1, b1, true) : 0;
        o.checkUnmasked();
        fp.nextStep();
        return fp.add(p0, p1, true, false);
    }

    /** COMISS/COMISD/UCOMISS/UCOMISD xmm, xmm/m32|m64: ZF PF CF from the comparison; OF SF AF cleared. */
    static final class CompareFlags extends Op {
        private final boolean dbl, signalling;

        CompareFlags(String name, boolean dbl, boolean signalling) {
            super(name + " xmm, xmm/" + (dbl ? "m64" : "m32"));
            this.dbl = dbl;
            this.signalling = signalling;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            o.checkSse();
            long b = o.sourceLow(dbl ? 8 : 4);
            long a = dbl ? o.xmm[2 * i.reg] : o.xmm[2 * i.reg] & 0xFFFF_FFFFL;
            SimdFloat fp = o.fp;
            fp.begin(o.mxcsr());
            int f = fp.compareFlags(a, b, dbl, signalling);
            o.checkUnmasked();
            x.s.setRflags((x.s.rflags() & ~Alu.STATUS) | f);
            o.mergeFlags();
            x.done();
        }
    }

    /** The conversions (Vol. 2A, CVT*): between singles, doubles and signed integers in XMM, MMX and GP registers. */
    static final class Convert extends Op {
        static final int CVTPI2PS = 0, CVTPI2PD = 1, CVTSI2SS = 2, CVTSI2SD = 3, CVTTPS2PI = 4, CVTPS2PI = 5,
                CVTTPD2PI = 6, CVTPD2PI = 7, CVTTSS2SI = 8, CVTSS2SI = 9, CVTTSD2SI = 10, CVTSD2SI = 11,
                CVTPS2PD = 12, CVTPD2PS = 13, CVTSS2SD = 14, CVTSD2SS = 15, CVTDQ2PS = 16, CVTPS2DQ = 17,
                CVTTPS2DQ = 18, CVTTPD2DQ = 19, CVTDQ2PD = 20, CVTPD2DQ = 21;
        private final int kind;

        Convert(String name, int kind) {
            super(name);
            this.kind = kind;
        }

        @Override
        void run(Executor x, Insn i) {
            SimdOperands o = x.simd;
            boolean mmxSource = (kind == CVTPI2PS || kind == CVTPI2PD) && i.mod == 3;
            boolean mmxDestination = kind >= CVTTPS2PI && kind <= CVTPD2PI;
            if (mmxSource || mmxDestination) {
                o.checkSseAndMmx();
            } else {
                o.checkSse();
            }
            SimdFloat fp = o.fp;
            long[] r = o.xmm;
            int d = 2 * i.reg;
            fp.begin(o.mxcsr());
            long rl = r[d], rh = r[d + 1];
            long gp = 0;
            switch (kind) {
                case CVTPI2PS: case CVTPI2PD: {
                    long v = mmxSource ? o.mm(i.rm) : o.readMemory(8);
                    boolean dbl = kind == CVTPI2PD;
                    long e0 = fp.fromInteger((int) v, dbl), e1 = fp.fromInteger((int) (v >>> 32), dbl);
                    if (dbl) {
                        rl = e0;
                        rh = e1;
                    } else {
                        rl = e0 | (e1 << 32);
                    }
                    break;
                }
                case CVTSI2SS: case CVTSI2SD: {
                    int size = (i.rex & 8) != 0 ? 8 : 4;
                    long v = i.mod == 3 ? x.getReg(i.rm, size) : o.readMemory(size);
                    if (size == 4) {
                        v = (int) v;
                    }
                    long e = fp.fromInteger(v, kind == CVTSI2SD);
                    rl = kind == CVTSI2SD ? e : (rl & 0xFFFF_FFFF_0000_0000L) | e;
                    break;
                }
                case CVTTPS2PI: case CVTPS2PI: {
                    long v = o.sourceLow(8);
                    boolean t = kind == CVTTPS2PI;
                    gp = fp.toInteger(v & 0xFFFF_FFFFL, false, 32, t) | fp.toInteger(v >>> 32, false, 32, t) << 32;
                    break;
                }
                case CVTTPD2PI: case CVTPD2PI: case CVTTPD2DQ: case CVTPD2DQ: {
                    o.source128(true);
                    boolean t = kind == CVTTPD2PI || kind == CVTTPD2DQ;
                    gp = fp.toInteger(o.lo, true, 32, t) | fp.toInteger(o.hi, true, 32, t) << 32;
                    rl = gp;
                    rh = 0;
                    break;
                }
                case CVTTSS2SI: case CVTSS2SI: case CVTTSD2SI: case CVTSD2SI: {
                    boolean dbl = kind >= CVTTSD2SI;
                    long v = o.sourceLow(dbl ? 8 : 4);
                    int bits = (i.rex & 8) != 0 ? 64 : 32;
                    gp = fp.toInteger(v, dbl, bits, kind == CVTTSS2SI || kind == CVTTSD2SI);
                    break;
                }
                case CVTPS2PD: {
                    long v = o.sourceLow(8);
                    rl = fp.singleToDouble(v & 0xFFFF_FFFFL);
                    rh = fp.singleToDouble(v >>> 32);
                    break;
                }
                case CVTPD2PS: {
                    o.source128(true);
                    rl = fp.doubleToSingle(o.lo) | (fp.doubleToSingle(o.hi) << 32);
                    rh = 0;
                    break;
                }
                case CVTSS2SD: rl = fp.singleToDouble(o.sourceLow(4)); break;
                case CVTSD2SS: rl = (rl & 0xFFFF_FFFF_0000_0000L) | fp.doubleToSingle(o.sourceLow(8)); break;
                case CVTDQ2PS: {
                    o.source128(true);
                    rl = fp.fromInteger((int) o.lo, false) | fp.fromInteger((int) (o.lo >>> 32), false) << 32;
                    rh = fp.fromInteger((int) o.hi, false) | fp.fromInteger((int) (o.hi >>> 32), false) << 32;
                    break;
                }
                case CVTPS2DQ: case CVTTPS2DQ: {
                    o.source128(true);
                    boolean t = kind == CVTTPS2DQ;
                    rl = fp.toInteger(o.lo & 0xFFFF_FFFFL, false, 32, t)
                            | fp.toInteger(o.lo >>> 32, false, 32, t) << 32;
                    rh = fp.toInteger(o.hi & 0xFFFF_FFFFL, false, 32, t)
                            | fp.toInteger(o.hi >>> 32, false, 32, t) << 32;
                    break;
                }
                case CVTDQ2PD: {
                    long v = o.sourceLow(8);
                    rl = fp.fromInteger((int) v, true);
                    rh = fp.fromInteger((int) (v >>> 32), true);
                    break;
                }
                default: throw new IllegalStateException(name);
            }
            o.checkUnmasked();
            switch (kind) {
                case CVTTPS2PI: case CVTPS2PI: case CVTTPD2PI: case CVTPD2PI:
                    o.mmxTransition();
                    o.setMm(i.reg, gp);
                    break;
                case CVTTSS2SI: case CVTSS2SI: case CVTTSD2SI: case CVTSD2SI:
                    x.setReg(i.reg, (i.rex & 8) != 0 ? 8 : 4, gp);
                    break;
                default:
                    if (mmxSource) {
                        o.mmxTransition();
                    }
                    r[d] = rl;
                    r[d + 1] = rh;
                    break;
            }
            o.mergeFlags();
            x.done();
        }
    }
}
