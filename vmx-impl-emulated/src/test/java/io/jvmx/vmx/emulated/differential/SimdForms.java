package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.BOTH;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;
import io.jvmx.vmx.emulated.differential.SimdValues.Kind;

import java.util.List;
import java.util.Random;

/**
 * MMX, SSE, SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 forms (SDM Vol. 2, each instruction's page; the opcode column
 * gives the mandatory prefix NP/66/F3/F2): every form with register and memory operands, XMM8-15 through REX, the
 * REX.W variants, with the XMM registers, MM registers and MXCSR set and compared ({@link FxsaveImage}). The memory
 * operand of a form that requires 16-byte alignment is aligned (natively a misaligned one is a #GP, a signal); the
 * others are anywhere in the data page.
 */
final class SimdForms {
    private SimdForms() {
    }

    /** Where the operands are: r = ModRM.reg, rm = ModRM.r/m; x = xmm, m = mm, g = general-purpose register. */
    enum Layout {
        /** x(reg), x/mem(rm): the common form. */ X_XM,
        /** x/mem(rm), x(reg): stores. */ XM_X,
        /** x(reg), g/mem(rm). */ X_GM,
        /** g/mem(rm), x(reg). */ GM_X,
        /** g(reg), x/mem(rm). */ G_XM,
        /** g(reg), x(rm) register only. */ G_X,
        /** x(rm), imm8 with /digit in reg. */ X_IMM,
        /** x(reg), x(rm) register only. */ X_X,
        /** x(reg), mem(rm) memory only. */ X_M,
        /** mem(rm), x(reg) memory only. */ M_X,
        /** m(reg), m/mem(rm). */ M_MM,
        /** m/mem(rm), m(reg). */ MM_M,
        /** m(reg), g/mem(rm). */ M_GM,
        /** g/mem(rm), m(reg). */ GM_M,
        /** g(reg), m(rm) register only. */ G_M,
        /** m(rm), imm8 with /digit. */ M_IMM,
        /** x(reg), m/mem(rm). */ X_MM,
        /** m(reg), x/mem(rm). */ M_XM,
        /** x(reg), m(rm) register only. */ X_Mreg,
        /** m(reg), x(rm) register only. */ M_Xreg,
        /** m(reg), m(rm) register only. */ M_Mreg,
        /** mem(rm), m(reg) memory only. */ Mem_M,
        /** no operands. */ NONE
    }

    /** Immediate byte policies. */
    enum Imm { NO, ANY, CMP, ROUND, SHIFT, STRING }

    private static final int NP = 0;

    private static final class Spec {
        final String mnemonic, operands;
        final int prefix;
        final int[] opcode;
        final Layout layout;
        final int memBytes;
        final boolean aligned;
        final Kind kind;
        final Imm imm;
        final Feature feature;
        int digit = -1;
        boolean rexW;
        /** GP operand size (4 or 8). */
        int gpSize = 4;
        int destKind; // 0 normal; 1 approximations (RCP/RSQRT)
        boolean pcmpstr;
        boolean masked; // MASKMOVDQU/MASKMOVQ: the store at DS:rDI

        Spec(String mnemonic, String operands, int prefix, int[] opcode, Layout layout, int memBytes, boolean aligned,
             Kind kind, Imm imm, Feature feature) {
            this.mnemonic = mnemonic;
            this.operands = operands;
            this.prefix = prefix;
            this.opcode = opcode;
            this.layout = layout;
            this.memBytes = memBytes;
            this.aligned = aligned;
            this.kind = kind;
            this.imm = imm;
            this.feature = feature;
        }

        boolean mmx() {
            switch (layout) {
                case M_MM: case MM_M: case M_GM: case GM_M: case G_M: case M_IMM: case X_MM: case M_XM: case X_Mreg:
                case M_Xreg: case M_Mreg: case Mem_M: case NONE:
                    return true;
                default:
                    return false;
            }
        }

        boolean hasMemoryForm() {
            switch (layout) {
                case G_X: case X_IMM: case X_X: case G_M: case M_IMM: case X_Mreg: case M_Xreg: case M_Mreg: case NONE:
                    return false;
                default:
                    return true;
            }
        }

        boolean hasRegisterForm() {
            switch (layout) {
                case X_M: case M_X: case Mem_M:
                    return false;
                default:
                    return true;
            }
        }

        String opcodeText() {
            StringBuilder sb = new StringBuilder();
            sb.append(prefix == NP ? "NP" : String.format("%02X", prefix));
            if (rexW) {
                sb.append(" REX.W");
            }
            for (int b : opcode) {
                sb.append(String.format(" %02X", b));
            }
            sb.append(digit >= 0 ? " /" + digit : layout == Layout.NONE ? "" : " /r");
            if (imm != Imm.NO) {
                sb.append(" ib");
            }
            return sb.toString();
        }
    }

    private static List<InstructionForm> out;

    static void addTo(List<InstructionForm> forms) {
        out = forms;
        sse();
        sse2();
        sse3();
        ssse3();
        sse41();
        sse42();
        mmx();
        out = null;
    }

    // ============================================================================================ the table

    private static int[] op(int... bytes) {
        return bytes;
    }

    private static Spec spec(String mnemonic, String operands, int prefix, int[] opcode, Layout layout, int memBytes,
                             boolean aligned, Kind kind, Imm imm, Feature feature) {
        return new Spec(mnemonic, operands, prefix, opcode, layout, memBytes, aligned, kind, imm, feature);
    }

    /** A packed form xmm, xmm/m128 with the 16-byte alignment rule. */
    private static void packed(String mnemonic, int prefix, int[] opcode, Kind kind, Feature f) {
        add(spec(mnemonic, "xmm1, xmm2/m128", prefix, opcode, Layout.X_XM, 16, true, kind, Imm.NO, f));
    }

    private static void packedImm(String mnemonic, int prefix, int[] opcode, Kind kind, Imm imm, Feature f) {
        add(spec(mnemonic, "xmm1, xmm2/m128, imm8", prefix, opcode, Layout.X_XM, 16, true, kind, imm, f));
    }

    private static void scalar(String mnemonic, int prefix, int[] opcode, Kind kind, int bytes, Feature f) {
        add(spec(mnemonic, "xmm1, xmm2/m" + 8 * bytes, prefix, opcode, Layout.X_XM, bytes, false, kind, Imm.NO, f));
    }

    /**
     * Adds the form's register and memory variants, in 64-bit code and (without REX.W) in 32-bit code, where no REX
     * exists and addresses are 32 bits (Vol. 2A, 2.2.1); the 32-bit variants need the pages below 4 GiB.
     */
    private static void add(Spec s) {
        for (boolean compat : BOTH) {
            if (compat && s.rexW) {
                continue;
            }
            for (boolean memory : BOTH) {
                if (memory ? !s.hasMemoryForm() : !s.hasRegisterForm()) {
                    continue;
                }
                String name = s.mnemonic + (s.operands.isEmpty() ? "" : " " + s.operands) + " (" + s.opcodeText()
                        + "), " + (compat ? "32-bit code, " : "") + (memory ? "memory" : "register");
                // the floating-point forms get ten times the cases: thousands by default (specials, every rounding
                // mode, DAZ, FZ, masked and unmasked exceptions); their 32-bit variants, decoded alike, fewer
                int factor = s.kind == Kind.INT || compat ? 1 : 10;
                out.add(new InstructionForm(name, compat ? Mode.COMPATIBILITY_32 : Mode.LONG_64, s.feature, compat,
                        b -> generate(s, memory, compat, b), factor));
            }
        }
    }

    private static void sse() {
        Feature f = Feature.SSE;
        String[] arith = {"ADD", "MUL", "SUB", "MIN", "DIV", "MAX"};
        int[] arithOp = {0x58, 0x59, 0x5C, 0x5D, 0x5E, 0x5F};
        for (int k = 0; k < arith.length; k++) {
            packed(arith[k] + "PS", NP, op(0x0F, arithOp[k]), Kind.F32, f);
            scalar(arith[k] + "SS", 0xF3, op(0x0F, arithOp[k]), Kind.F32, 4, f);
        }
        packed("SQRTPS", NP, op(0x0F, 0x51), Kind.F32, f);
        scalar("SQRTSS", 0xF3, op(0x0F, 0x51), Kind.F32, 4, f);
        Spec rcp = spec("RCPPS", "xmm1, xmm2/m128", NP, op(0x0F, 0x53), Layout.X_XM, 16, true, Kind.F32, Imm.NO, f);
        rcp.destKind = 1;
        add(rcp);
        Spec rcpss = spec("RCPSS", "xmm1, xmm2/m32", 0xF3, op(0x0F, 0x53), Layout.X_XM, 4, false, Kind.F32, Imm.NO, f);
        rcpss.destKind = 1;
        add(rcpss);
        Spec rsq = spec("RSQRTPS", "xmm1, xmm2/m128", NP, op(0x0F, 0x52), Layout.X_XM, 16, true, Kind.F32, Imm.NO, f);
        rsq.destKind = 1;
        add(rsq);
        Spec rsqss = spec("RSQRTSS", "xmm1, xmm2/m32", 0xF3, op(0x0F, 0x52), Layout.X_XM, 4, false, Kind.F32, Imm.NO,
                f);
        rsqss.destKind = 1;
        add(rsqss);
        packedImm("CMPPS", NP, op(0x0F, 0xC2), Kind.F32, Imm.CMP, f);
        add(spec("CMPSS", "xmm1, xmm2/m32, imm8", 0xF3, op(0x0F, 0xC2), Layout.X_XM, 4, false, Kind.F32, Imm.CMP, f));
        scalar("COMISS", NP, op(0x0F, 0x2F), Kind.F32, 4, f);
        scalar("UCOMISS", NP, op(0x0F, 0x2E), Kind.F32, 4, f);
        packed("ANDPS", NP, op(0x0F, 0x54), Kind.F32, f);
        packed("ANDNPS", NP, op(0x0F, 0x55), Kind.F32, f);
        packed("ORPS", NP, op(0x0F, 0x56), Kind.F32, f);
        packed("XORPS", NP, op(0x0F, 0x57), Kind.F32, f);
        packed("UNPCKLPS", NP, op(0x0F, 0x14), Kind.F32, f);
        packed("UNPCKHPS", NP, op(0x0F, 0x15), Kind.F32, f);
        packedImm("SHUFPS", NP, op(0x0F, 0xC6), Kind.F32, Imm.ANY, f);
        add(spec("MOVUPS", "xmm1, xmm2/m128", NP, op(0x0F, 0x10), Layout.X_XM, 16, false, Kind.F32, Imm.NO, f));
        add(spec("MOVUPS", "xmm2/m128, xmm1", NP, op(0x0F, 0x11), Layout.XM_X, 16, false, Kind.F32, Imm.NO, f));
        add(spec("MOVAPS", "xmm1, xmm2/m128", NP, op(0x0F, 0x28), Layout.X_XM, 16, true, Kind.F32, Imm.NO, f));
        add(spec("MOVAPS", "xmm2/m128, xmm1", NP, op(0x0F, 0x29), Layout.XM_X, 16, true, Kind.F32, Imm.NO, f));
        add(spec("MOVSS", "xmm1, xmm2/m32", 0xF3, op(0x0F, 0x10), Layout.X_XM, 4, false, Kind.F32, Imm.NO, f));
        add(spec("MOVSS", "xmm2/m32, xmm1", 0xF3, op(0x0F, 0x11), Layout.XM_X, 4, false, Kind.F32, Imm.NO, f));
        add(spec("MOVLPS", "xmm1, m64", NP, op(0x0F, 0x12), Layout.X_M, 8, false, Kind.F32, Imm.NO, f));
        add(spec("MOVHLPS", "xmm1, xmm2", NP, op(0x0F, 0x12), Layout.X_X, 0, false, Kind.F32, Imm.NO, f));
        add(spec("MOVLPS", "m64, xmm1", NP, op(0x0F, 0x13), Layout.M_X, 8, false, Kind.F32, Imm.NO, f));
        add(spec("MOVHPS", "xmm1, m64", NP, op(0x0F, 0x16), Layout.X_M, 8, false, Kind.F32, Imm.NO, f));
        add(spec("MOVLHPS", "xmm1, xmm2", NP, op(0x0F, 0x16), Layout.X_X, 0, false, Kind.F32, Imm.NO, f));
        add(spec("MOVHPS", "m64, xmm1", NP, op(0x0F, 0x17), Layout.M_X, 8, false, Kind.F32, Imm.NO, f));
        add(spec("MOVNTPS", "m128, xmm1", NP, op(0x0F, 0x2B), Layout.M_X, 16, true, Kind.F32, Imm.NO, f));
        add(spec("MOVMSKPS", "r32, xmm", NP, op(0x0F, 0x50), Layout.G_X, 0, false, Kind.F32, Imm.NO, f));
        for (boolean w : BOTH) {
            Spec s = spec("CVTSI2SS", w ? "xmm1, r/m64" : "xmm1, r/m32", 0xF3, op(0x0F, 0x2A), Layout.X_GM, w ? 8 : 4,
                    false, Kind.F32, Imm.NO, f);
            wide(s, w);
            for (int o : new int[] {0x2C, 0x2D}) {
                Spec c = spec(o == 0x2C ? "CVTTSS2SI" : "CVTSS2SI", w ? "r64, xmm1/m32" : "r32, xmm1/m32", 0xF3,
                        op(0x0F, o), Layout.G_XM, 4, false, Kind.F32, Imm.NO, f);
                wide(c, w);
            }
        }
        add(spec("CVTPI2PS", "xmm, mm/m64", NP, op(0x0F, 0x2A), Layout.X_MM, 8, false, Kind.INT, Imm.NO, f));
        add(spec("CVTPS2PI", "mm, xmm/m64", NP, op(0x0F, 0x2D), Layout.M_XM, 8, false, Kind.F32, Imm.NO, f));
        add(spec("CVTTPS2PI", "mm, xmm/m64", NP, op(0x0F, 0x2C), Layout.M_XM, 8, false, Kind.F32, Imm.NO, f));
        // the MMX instructions SSE added
        Feature m = Feature.SSE;
        add(spec("PSHUFW", "mm1, mm2/m64, imm8", NP, op(0x0F, 0x70), Layout.M_MM, 8, false, Kind.INT, Imm.ANY, m));
        add(spec("PINSRW", "mm, r32/m16, imm8", NP, op(0x0F, 0xC4), Layout.M_GM, 2, false, Kind.INT, Imm.ANY, m));
        add(spec("PEXTRW", "r32, mm, imm8", NP, op(0x0F, 0xC5), Layout.G_M, 0, false, Kind.INT, Imm.ANY, m));
        add(spec("PMOVMSKB", "r32, mm", NP, op(0x0F, 0xD7), Layout.G_M, 0, false, Kind.INT, Imm.NO, m));
        String[] ext = {"PMINUB", "PMAXUB", "PAVGB", "PAVGW", "PMULHUW", "PMINSW", "PMAXSW", "PSADBW"};
        int[] extOp = {0xDA, 0xDE, 0xE0, 0xE3, 0xE4, 0xEA, 0xEE, 0xF6};
        for (int k = 0; k < ext.length; k++) {
            add(spec(ext[k], "mm1, mm2/m64", NP, op(0x0F, extOp[k]), Layout.M_MM, 8, false, Kind.INT, Imm.NO, m));
        }
        Spec maskmovq = spec("MASKMOVQ", "mm1, mm2", NP, op(0x0F, 0xF7), Layout.M_Mreg, 0, false, Kind.INT, Imm.NO, m);
        maskmovq.masked = true;
        add(maskmovq);
        add(spec("MOVNTQ", "m64, mm", NP, op(0x0F, 0xE7), Layout.Mem_M, 8, false, Kind.INT, Imm.NO, m));
    }

    private static void wide(Spec s, boolean w) {
        s.rexW = w;
        s.gpSize = w ? 8 : 4;
        add(s);
    }

    private static void sse2() {
        Feature f = Feature.SSE2;
        String[] arith = {"ADD", "MUL", "SUB", "MIN", "DIV", "MAX"};
        int[] arithOp = {0x58, 0x59, 0x5C, 0x5D, 0x5E, 0x5F};
        for (int k = 0; k < arith.length; k++) {
            packed(arith[k] + "PD", 0x66, op(0x0F, arithOp[k]), Kind.F64, f);
            scalar(arith[k] + "SD", 0xF2, op(0x0F, arithOp[k]), Kind.F64, 8, f);
        }
        packed("SQRTPD", 0x66, op(0x0F, 0x51), Kind.F64, f);
        scalar("SQRTSD", 0xF2, op(0x0F, 0x51), Kind.F64, 8, f);
        packedImm("CMPPD", 0x66, op(0x0F, 0xC2), Kind.F64, Imm.CMP, f);
        add(spec("CMPSD", "xmm1, xmm2/m64, imm8", 0xF2, op(0x0F, 0xC2), Layout.X_XM, 8, false, Kind.F64, Imm.CMP, f));
        scalar("COMISD", 0x66, op(0x0F, 0x2F), Kind.F64, 8, f);
        scalar("UCOMISD", 0x66, op(0x0F, 0x2E), Kind.F64, 8, f);
        packed("ANDPD", 0x66, op(0x0F, 0x54), Kind.F64, f);
        packed("ANDNPD", 0x66, op(0x0F, 0x55), Kind.F64, f);
        packed("ORPD", 0x66, op(0x0F, 0x56), Kind.F64, f);
        packed("XORPD", 0x66, op(0x0F, 0x57), Kind.F64, f);
        packed("UNPCKLPD", 0x66, op(0x0F, 0x14), Kind.F64, f);
        packed("UNPCKHPD", 0x66, op(0x0F, 0x15), Kind.F64, f);
        packedImm("SHUFPD", 0x66, op(0x0F, 0xC6), Kind.F64, Imm.ANY, f);
        add(spec("MOVUPD", "xmm1, xmm2/m128", 0x66, op(0x0F, 0x10), Layout.X_XM, 16, false, Kind.F64, Imm.NO, f));
        add(spec("MOVUPD", "xmm2/m128, xmm1", 0x66, op(0x0F, 0x11), Layout.XM_X, 16, false, Kind.F64, Imm.NO, f));
        add(spec("MOVAPD", "xmm1, xmm2/m128", 0x66, op(0x0F, 0x28), Layout.X_XM, 16, true, Kind.F64, Imm.NO, f));
        add(spec("MOVAPD", "xmm2/m128, xmm1", 0x66, op(0x0F, 0x29), Layout.XM_X, 16, true, Kind.F64, Imm.NO, f));
        add(spec("MOVSD", "xmm1, xmm2/m64", 0xF2, op(0x0F, 0x10), Layout.X_XM, 8, false, Kind.F64, Imm.NO, f));
        add(spec("MOVSD", "xmm2/m64, xmm1", 0xF2, op(0x0F, 0x11), Layout.XM_X, 8, false, Kind.F64, Imm.NO, f));
        add(spec("MOVLPD", "xmm1, m64", 0x66, op(0x0F, 0x12), Layout.X_M, 8, false, Kind.F64, Imm.NO, f));
        add(spec("MOVLPD", "m64, xmm1", 0x66, op(0x0F, 0x13), Layout.M_X, 8, false, Kind.F64, Imm.NO, f));
        add(spec("MOVHPD", "xmm1, m64", 0x66, op(0x0F, 0x16), Layout.X_M, 8, false, Kind.F64, Imm.NO, f));
        add(spec("MOVHPD", "m64, xmm1", 0x66, op(0x0F, 0x17), Layout.M_X, 8, false, Kind.F64, Imm.NO, f));
        add(spec("MOVNTPD", "m128, xmm1", 0x66, op(0x0F, 0x2B), Layout.M_X, 16, true, Kind.F64, Imm.NO, f));
        add(spec("MOVMSKPD", "r32, xmm", 0x66, op(0x0F, 0x50), Layout.G_X, 0, false, Kind.F64, Imm.NO, f));
        for (boolean w : BOTH) {
            Spec s = spec("CVTSI2SD", w ? "xmm1, r/m64" : "xmm1, r/m32", 0xF2, op(0x0F, 0x2A), Layout.X_GM, w ? 8 : 4,
                    false, Kind.F64, Imm.NO, f);
            wide(s, w);
            for (int o : new int[] {0x2C, 0x2D}) {
                Spec c = spec(o == 0x2C ? "CVTTSD2SI" : "CVTSD2SI", w ? "r64, xmm1/m64" : "r32, xmm1/m64", 0xF2,
                        op(0x0F, o), Layout.G_XM, 8, false, Kind.F64, Imm.NO, f);
                wide(c, w);
            }
        }
        add(spec("CVTPI2PD", "xmm, mm/m64", 0x66, op(0x0F, 0x2A), Layout.X_MM, 8, false, Kind.INT, Imm.NO, f));
        add(spec("CVTPD2PI", "mm, xmm/m128", 0x66, op(0x0F, 0x2D), Layout.M_XM, 16, true, Kind.F64, Imm.NO, f));
        add(spec("CVTTPD2PI", "mm, xmm/m128", 0x66, op(0x0F, 0x2C), Layout.M_XM, 16, true, Kind.F64, Imm.NO, f));
        add(spec("CVTPS2PD", "xmm1, xmm2/m64", NP, op(0x0F, 0x5A), Layout.X_XM, 8, false, Kind.F32, Imm.NO, f));
        packed("CVTPD2PS", 0x66, op(0x0F, 0x5A), Kind.F64, f);
        scalar("CVTSS2SD", 0xF3, op(0x0F, 0x5A), Kind.F32, 4, f);
        scalar("CVTSD2SS", 0xF2, op(0x0F, 0x5A), Kind.F64, 8, f);
        packed("CVTDQ2PS", NP, op(0x0F, 0x5B), Kind.INT, f);
        packed("CVTPS2DQ", 0x66, op(0x0F, 0x5B), Kind.F32, f);
        packed("CVTTPS2DQ", 0xF3, op(0x0F, 0x5B), Kind.F32, f);
        packed("CVTTPD2DQ", 0x66, op(0x0F, 0xE6), Kind.F64, f);
        packed("CVTPD2DQ", 0xF2, op(0x0F, 0xE6), Kind.F64, f);
        add(spec("CVTDQ2PD", "xmm1, xmm2/m64", 0xF3, op(0x0F, 0xE6), Layout.X_XM, 8, false, Kind.INT, Imm.NO, f));
        // integer
        String[][] integer = {
                {"60", "PUNPCKLBW"}, {"61", "PUNPCKLWD"}, {"62", "PUNPCKLDQ"}, {"63", "PACKSSWB"}, {"64", "PCMPGTB"},
                {"65", "PCMPGTW"}, {"66", "PCMPGTD"}, {"67", "PACKUSWB"}, {"68", "PUNPCKHBW"}, {"69", "PUNPCKHWD"},
                {"6A", "PUNPCKHDQ"}, {"6B", "PACKSSDW"}, {"6C", "PUNPCKLQDQ"}, {"6D", "PUNPCKHQDQ"}, {"74", "PCMPEQB"},
                {"75", "PCMPEQW"}, {"76", "PCMPEQD"}, {"D1", "PSRLW"}, {"D2", "PSRLD"}, {"D3", "PSRLQ"},
                {"D4", "PADDQ"}, {"D5", "PMULLW"}, {"D8", "PSUBUSB"}, {"D9", "PSUBUSW"}, {"DA", "PMINUB"},
                {"DB", "PAND"}, {"DC", "PADDUSB"}, {"DD", "PADDUSW"}, {"DE", "PMAXUB"}, {"DF", "PANDN"},
                {"E0", "PAVGB"}, {"E1", "PSRAW"}, {"E2", "PSRAD"}, {"E3", "PAVGW"}, {"E4", "PMULHUW"},
                {"E5", "PMULHW"}, {"E8", "PSUBSB"}, {"E9", "PSUBSW"}, {"EA", "PMINSW"}, {"EB", "POR"},
                {"EC", "PADDSB"}, {"ED", "PADDSW"}, {"EE", "PMAXSW"}, {"EF", "PXOR"}, {"F1", "PSLLW"},
                {"F2", "PSLLD"}, {"F3", "PSLLQ"}, {"F4", "PMULUDQ"}, {"F5", "PMADDWD"}, {"F6", "PSADBW"},
                {"F8", "PSUBB"}, {"F9", "PSUBW"}, {"FA", "PSUBD"}, {"FB", "PSUBQ"}, {"FC", "PADDB"}, {"FD", "PADDW"},
                {"FE", "PADDD"}};
        for (String[] e : integer) {
            packed(e[1], 0x66, op(0x0F, Integer.parseInt(e[0], 16)), Kind.INT, f);
        }
        packedImm("PSHUFD", 0x66, op(0x0F, 0x70), Kind.INT, Imm.ANY, f);
        packedImm("PSHUFHW", 0xF3, op(0x0F, 0x70), Kind.INT, Imm.ANY, f);
        packedImm("PSHUFLW", 0xF2, op(0x0F, 0x70), Kind.INT, Imm.ANY, f);
        String[][] shifts = {{"71", "2", "PSRLW"}, {"71", "4", "PSRAW"}, {"71", "6", "PSLLW"}, {"72", "2", "PSRLD"},
                {"72", "4", "PSRAD"}, {"72", "6", "PSLLD"}, {"73", "2", "PSRLQ"}, {"73", "3", "PSRLDQ"},
                {"73", "6", "PSLLQ"}, {"73", "7", "PSLLDQ"}};
        for (String[] e : shifts) {
            Spec s = spec(e[2], "xmm1, imm8", 0x66, op(0x0F, Integer.parseInt(e[0], 16)), Layout.X_IMM, 0, false,
                    Kind.INT, Imm.SHIFT, f);
            s.digit = Integer.parseInt(e[1]);
            add(s);
        }
        for (boolean w : BOTH) {
            Spec to = spec(w ? "MOVQ" : "MOVD", w ? "xmm, r/m64" : "xmm, r/m32", 0x66, op(0x0F, 0x6E), Layout.X_GM,
                    w ? 8 : 4, false, Kind.INT, Imm.NO, f);
            wide(to, w);
            Spec from = spec(w ? "MOVQ" : "MOVD", w ? "r/m64, xmm" : "r/m32, xmm", 0x66, op(0x0F, 0x7E), Layout.GM_X,
                    w ? 8 : 4, false, Kind.INT, Imm.NO, f);
            wide(from, w);
        }
        add(spec("MOVDQA", "xmm1, xmm2/m128", 0x66, op(0x0F, 0x6F), Layout.X_XM, 16, true, Kind.INT, Imm.NO, f));
        add(spec("MOVDQA", "xmm2/m128, xmm1", 0x66, op(0x0F, 0x7F), Layout.XM_X, 16, true, Kind.INT, Imm.NO, f));
        add(spec("MOVDQU", "xmm1, xmm2/m128", 0xF3, op(0x0F, 0x6F), Layout.X_XM, 16, false, Kind.INT, Imm.NO, f));
        add(spec("MOVDQU", "xmm2/m128, xmm1", 0xF3, op(0x0F, 0x7F), Layout.XM_X, 16, false, Kind.INT, Imm.NO, f));
        add(spec("MOVQ", "xmm1, xmm2/m64", 0xF3, op(0x0F, 0x7E), Layout.X_XM, 8, false, Kind.INT, Imm.NO, f));
        add(spec("MOVQ", "xmm2/m64, xmm1", 0x66, op(0x0F, 0xD6), Layout.XM_X, 8, false, Kind.INT, Imm.NO, f));
        add(spec("MOVNTDQ", "m128, xmm1", 0x66, op(0x0F, 0xE7), Layout.M_X, 16, true, Kind.INT, Imm.NO, f));
        add(spec("MOVQ2DQ", "xmm, mm", 0xF3, op(0x0F, 0xD6), Layout.X_Mreg, 0, false, Kind.INT, Imm.NO, f));
        add(spec("MOVDQ2Q", "mm, xmm", 0xF2, op(0x0F, 0xD6), Layout.M_Xreg, 0, false, Kind.INT, Imm.NO, f));
        add(spec("PMOVMSKB", "r32, xmm", 0x66, op(0x0F, 0xD7), Layout.G_X, 0, false, Kind.INT, Imm.NO, f));
        add(spec("PINSRW", "xmm, r32/m16, imm8", 0x66, op(0x0F, 0xC4), Layout.X_GM, 2, false, Kind.INT, Imm.ANY, f));
        add(spec("PEXTRW", "r32, xmm, imm8", 0x66, op(0x0F, 0xC5), Layout.G_X, 0, false, Kind.INT, Imm.ANY, f));
        Spec maskmov = spec("MASKMOVDQU", "xmm1, xmm2", 0x66, op(0x0F, 0xF7), Layout.X_X, 0, false, Kind.INT, Imm.NO,
                f);
        maskmov.masked = true;
        add(maskmov);
        for (boolean w : BOTH) {
            Spec s = spec("MOVNTI", w ? "m64, r64" : "m32, r32", NP, op(0x0F, 0xC3), Layout.GM_X, w ? 8 : 4, false,
                    Kind.INT, Imm.NO, f);
            s.rexW = w;
            s.gpSize = w ? 8 : 4;
            // MOVNTI's operands are general-purpose: generated by the same code with a GP "reg"
            add(movnti(s));
        }
        // MMX forms SSE2 added
        add(spec("PADDQ", "mm1, mm2/m64", NP, op(0x0F, 0xD4), Layout.M_MM, 8, false, Kind.INT, Imm.NO, f));
        add(spec("PSUBQ", "mm1, mm2/m64", NP, op(0x0F, 0xFB), Layout.M_MM, 8, false, Kind.INT, Imm.NO, f));
        add(spec("PMULUDQ", "mm1, mm2/m64", NP, op(0x0F, 0xF4), Layout.M_MM, 8, false, Kind.INT, Imm.NO, f));
    }

    /** MOVNTI is a store of a general-purpose register: a memory-only form, marked by its layout below. */
    private static Spec movnti(Spec s) {
        Spec m = spec(s.mnemonic, s.operands, s.prefix, s.opcode, Layout.M_X, s.memBytes, false, Kind.INT, Imm.NO,
                s.feature);
        m.rexW = s.rexW;
        m.gpSize = s.gpSize;
        m.pcmpstr = false;
        m.masked = false;
        m.destKind = 2; // the reg field is a general-purpose register
        return m;
    }

    private static void sse3() {
        Feature f = Feature.SSE3;
        packed("ADDSUBPS", 0xF2, op(0x0F, 0xD0), Kind.F32, f);
        packed("ADDSUBPD", 0x66, op(0x0F, 0xD0), Kind.F64, f);
        packed("HADDPS", 0xF2, op(0x0F, 0x7C), Kind.F32, f);
        packed("HADDPD", 0x66, op(0x0F, 0x7C), Kind.F64, f);
        packed("HSUBPS", 0xF2, op(0x0F, 0x7D), Kind.F32, f);
        packed("HSUBPD", 0x66, op(0x0F, 0x7D), Kind.F64, f);
        packed("MOVSLDUP", 0xF3, op(0x0F, 0x12), Kind.F32, f);
        packed("MOVSHDUP", 0xF3, op(0x0F, 0x16), Kind.F32, f);
        add(spec("MOVDDUP", "xmm1, xmm2/m64", 0xF2, op(0x0F, 0x12), Layout.X_XM, 8, false, Kind.F64, Imm.NO, f));
        add(spec("LDDQU", "xmm1, m128", 0xF2, op(0x0F, 0xF0), Layout.X_M, 16, false, Kind.INT, Imm.NO, f));
    }

    private static void ssse3() {
        Feature f = Feature.SSSE3;
        String[] names = {"PSHUFB", "PHADDW", "PHADDD", "PHADDSW", "PMADDUBSW", "PHSUBW", "PHSUBD", "PHSUBSW",
                "PSIGNB", "PSIGNW", "PSIGND", "PMULHRSW"};
        for (int k = 0; k < names.length; k++) {
            packed(names[k], 0x66, op(0x0F, 0x38, k), Kind.INT, f);
            add(spec(names[k], "mm1, mm2/m64", NP, op(0x0F, 0x38, k), Layout.M_MM, 8, false, Kind.INT, Imm.NO, f));
        }
        String[] abs = {"PABSB", "PABSW", "PABSD"};
        for (int k = 0; k < 3; k++) {
            packed(abs[k], 0x66, op(0x0F, 0x38, 0x1C + k), Kind.INT, f);
            add(spec(abs[k], "mm1, mm2/m64", NP, op(0x0F, 0x38, 0x1C + k), Layout.M_MM, 8, false, Kind.INT, Imm.NO,
                    f));
        }
        packedImm("PALIGNR", 0x66, op(0x0F, 0x3A, 0x0F), Kind.INT, Imm.SHIFT, f);
        add(spec("PALIGNR", "mm1, mm2/m64, imm8", NP, op(0x0F, 0x3A, 0x0F), Layout.M_MM, 8, false, Kind.INT, Imm.SHIFT,
                f));
    }

    private static void sse41() {
        Feature f = Feature.SSE41;
        packed("PBLENDVB", 0x66, op(0x0F, 0x38, 0x10), Kind.INT, f);
        packed("BLENDVPS", 0x66, op(0x0F, 0x38, 0x14), Kind.F32, f);
        packed("BLENDVPD", 0x66, op(0x0F, 0x38, 0x15), Kind.F64, f);
        packed("PTEST", 0x66, op(0x0F, 0x38, 0x17), Kind.INT, f);
        String[] ext = {"BW", "BD", "BQ", "WD", "WQ", "DQ"};
        int[] extBytes = {8, 4, 2, 8, 4, 8};
        for (int k = 0; k < 6; k++) {
            add(spec("PMOVSX" + ext[k], "xmm1, xmm2/m" + 8 * extBytes[k], 0x66, op(0x0F, 0x38, 0x20 + k),
                    Layout.X_XM, extBytes[k], false, Kind.INT, Imm.NO, f));
            add(spec("PMOVZX" + ext[k], "xmm1, xmm2/m" + 8 * extBytes[k], 0x66, op(0x0F, 0x38, 0x30 + k),
                    Layout.X_XM, extBytes[k], false, Kind.INT, Imm.NO, f));
        }
        String[][] integer = {{"28", "PMULDQ"}, {"29", "PCMPEQQ"}, {"2B", "PACKUSDW"}, {"38", "PMINSB"},
                {"39", "PMINSD"}, {"3A", "PMINUW"}, {"3B", "PMINUD"}, {"3C", "PMAXSB"}, {"3D", "PMAXSD"},
                {"3E", "PMAXUW"}, {"3F", "PMAXUD"}, {"40", "PMULLD"}, {"41", "PHMINPOSUW"}};
        for (String[] e : integer) {
            packed(e[1], 0x66, op(0x0F, 0x38, Integer.parseInt(e[0], 16)), Kind.INT, f);
        }
        add(spec("MOVNTDQA", "xmm1, m128", 0x66, op(0x0F, 0x38, 0x2A), Layout.X_M, 16, true, Kind.INT, Imm.NO, f));
        packedImm("ROUNDPS", 0x66, op(0x0F, 0x3A, 0x08), Kind.F32, Imm.ROUND, f);
        packedImm("ROUNDPD", 0x66, op(0x0F, 0x3A, 0x09), Kind.F64, Imm.ROUND, f);
        add(spec("ROUNDSS", "xmm1, xmm2/m32, imm8", 0x66, op(0x0F, 0x3A, 0x0A), Layout.X_XM, 4, false, Kind.F32,
                Imm.ROUND, f));
        add(spec("ROUNDSD", "xmm1, xmm2/m64, imm8", 0x66, op(0x0F, 0x3A, 0x0B), Layout.X_XM, 8, false, Kind.F64,
                Imm.ROUND, f));
        packedImm("BLENDPS", 0x66, op(0x0F, 0x3A, 0x0C), Kind.F32, Imm.ANY, f);
        packedImm("BLENDPD", 0x66, op(0x0F, 0x3A, 0x0D), Kind.F64, Imm.ANY, f);
        packedImm("PBLENDW", 0x66, op(0x0F, 0x3A, 0x0E), Kind.INT, Imm.ANY, f);
        packedImm("DPPS", 0x66, op(0x0F, 0x3A, 0x40), Kind.F32, Imm.ANY, f);
        packedImm("DPPD", 0x66, op(0x0F, 0x3A, 0x41), Kind.F64, Imm.ANY, f);
        packedImm("MPSADBW", 0x66, op(0x0F, 0x3A, 0x42), Kind.INT, Imm.ANY, f);
        add(spec("PEXTRB", "r/m8, xmm2, imm8", 0x66, op(0x0F, 0x3A, 0x14), Layout.GM_X, 1, false, Kind.INT, Imm.ANY,
                f));
        add(spec("PEXTRW", "r/m16, xmm2, imm8", 0x66, op(0x0F, 0x3A, 0x15), Layout.GM_X, 2, false, Kind.INT, Imm.ANY,
                f));
        add(spec("EXTRACTPS", "r/m32, xmm1, imm8", 0x66, op(0x0F, 0x3A, 0x17), Layout.GM_X, 4, false, Kind.F32,
                Imm.ANY, f));
        add(spec("PINSRB", "xmm1, r32/m8, imm8", 0x66, op(0x0F, 0x3A, 0x20), Layout.X_GM, 1, false, Kind.INT, Imm.ANY,
                f));
        add(spec("INSERTPS", "xmm1, xmm2/m32, imm8", 0x66, op(0x0F, 0x3A, 0x21), Layout.X_XM, 4, false, Kind.F32,
                Imm.ANY, f));
        for (boolean w : BOTH) {
            Spec ext1 = spec(w ? "PEXTRQ" : "PEXTRD", w ? "r/m64, xmm2, imm8" : "r/m32, xmm2, imm8", 0x66,
                    op(0x0F, 0x3A, 0x16), Layout.GM_X, w ? 8 : 4, false, Kind.INT, Imm.ANY, f);
            wide(ext1, w);
            Spec ins = spec(w ? "PINSRQ" : "PINSRD", w ? "xmm1, r/m64, imm8" : "xmm1, r/m32, imm8", 0x66,
                    op(0x0F, 0x3A, 0x22), Layout.X_GM, w ? 8 : 4, false, Kind.INT, Imm.ANY, f);
            wide(ins, w);
        }
    }

    private static void sse42() {
        Feature f = Feature.SSE42;
        packed("PCMPGTQ", 0x66, op(0x0F, 0x38, 0x37), Kind.INT, f);
        String[] names = {"PCMPESTRM", "PCMPESTRI", "PCMPISTRM", "PCMPISTRI"};
        for (int k = 0; k < 4; k++) {
            for (boolean w : k < 2 ? BOTH : new boolean[] {false}) {
                Spec s = spec(names[k], "xmm1, xmm2/m128, imm8", 0x66, op(0x0F, 0x3A, 0x60 + k), Layout.X_XM, 16,
                        false, Kind.INT, Imm.STRING, f);
                s.pcmpstr = true;
                s.rexW = w;
                add(s);
            }
        }
    }

    private static void mmx() {
        Feature f = Feature.MMX;
        String[][] integer = {
                {"60", "PUNPCKLBW"}, {"61", "PUNPCKLWD"}, {"62", "PUNPCKLDQ"}, {"63", "PACKSSWB"}, {"64", "PCMPGTB"},
                {"65", "PCMPGTW"}, {"66", "PCMPGTD"}, {"67", "PACKUSWB"}, {"68", "PUNPCKHBW"}, {"69", "PUNPCKHWD"},
                {"6A", "PUNPCKHDQ"}, {"6B", "PACKSSDW"}, {"74", "PCMPEQB"}, {"75", "PCMPEQW"}, {"76", "PCMPEQD"},
                {"D1", "PSRLW"}, {"D2", "PSRLD"}, {"D3", "PSRLQ"}, {"D5", "PMULLW"}, {"D8", "PSUBUSB"},
                {"D9", "PSUBUSW"}, {"DB", "PAND"}, {"DC", "PADDUSB"}, {"DD", "PADDUSW"}, {"DF", "PANDN"},
                {"E1", "PSRAW"}, {"E2", "PSRAD"}, {"E5", "PMULHW"}, {"E8", "PSUBSB"}, {"E9", "PSUBSW"}, {"EB", "POR"},
                {"EC", "PADDSB"}, {"ED", "PADDSW"}, {"EF", "PXOR"}, {"F1", "PSLLW"}, {"F2", "PSLLD"}, {"F3", "PSLLQ"},
                {"F5", "PMADDWD"}, {"F8", "PSUBB"}, {"F9", "PSUBW"}, {"FA", "PSUBD"}, {"FC", "PADDB"}, {"FD", "PADDW"},
                {"FE", "PADDD"}};
        for (String[] e : integer) {
            add(spec(e[1], "mm1, mm2/m64", NP, op(0x0F, Integer.parseInt(e[0], 16)), Layout.M_MM, 8, false, Kind.INT,
                    Imm.NO, f));
        }
        String[][] shifts = {{"71", "2", "PSRLW"}, {"71", "4", "PSRAW"}, {"71", "6", "PSLLW"}, {"72", "2", "PSRLD"},
                {"72", "4", "PSRAD"}, {"72", "6", "PSLLD"}, {"73", "2", "PSRLQ"}, {"73", "6", "PSLLQ"}};
        for (String[] e : shifts) {
            Spec s = spec(e[2], "mm, imm8", NP, op(0x0F, Integer.parseInt(e[0], 16)), Layout.M_IMM, 0, false,
                    Kind.INT, Imm.SHIFT, f);
            s.digit = Integer.parseInt(e[1]);
            add(s);
        }
        for (boolean w : BOTH) {
            Spec to = spec(w ? "MOVQ" : "MOVD", w ? "mm, r/m64" : "mm, r/m32", NP, op(0x0F, 0x6E), Layout.M_GM,
                    w ? 8 : 4, false, Kind.INT, Imm.NO, f);
            wide(to, w);
            Spec from = spec(w ? "MOVQ" : "MOVD", w ? "r/m64, mm" : "r/m32, mm", NP, op(0x0F, 0x7E), Layout.GM_M,
                    w ? 8 : 4, false, Kind.INT, Imm.NO, f);
            wide(from, w);
        }
        add(spec("MOVQ", "mm, mm/m64", NP, op(0x0F, 0x6F), Layout.M_MM, 8, false, Kind.INT, Imm.NO, f));
        add(spec("MOVQ", "mm/m64, mm", NP, op(0x0F, 0x7F), Layout.MM_M, 8, false, Kind.INT, Imm.NO, f));
        add(spec("EMMS", "", NP, op(0x0F, 0x77), Layout.NONE, 0, false, Kind.INT, Imm.NO, f));
    }

    // ============================================================================================ cases

    private static byte[] generate(Spec s, boolean memory, boolean compat, CaseBuilder b) {
        Random r = b.random;
        MachineState in = b.input;
        // 32-bit code: a compatibility-mode case, whose CaseBuilder chooses registers 0-7 and no REX
        int xmmCount = compat ? 8 : 16;
        int mxcsr = SimdValues.mxcsr(r);
        if (!compat && r.nextInt(3) == 0) {
            // unmask some SIMD floating-point exceptions: #XM instead of the masked responses (Vol. 1, 11.5.3)
            mxcsr &= ~(r.nextInt(64) << 7);
        }
        in.setMxcsr(mxcsr);
        for (int k = 0; k < 32; k++) {
            in.setXmm(k, SimdValues.word(r, s.kind));
        }
        if (s.mmx()) {
            in.mmxState();
            for (int k = 0; k < 8; k++) {
                in.setMm(k, SimdValues.word(r, Kind.INT));
            }
        }
        if (s.pcmpstr) {
            b.fixed(0, 8);
            b.fixed(1, 8);
            b.fixed(2, 8);
            b.setFull(0, lengthValue(r));
            b.setFull(2, lengthValue(r));
        }
        if (s.masked) {
            b.fixed(7, 8);
            b.setFull(7, b.dataAddress + 0x100 + r.nextInt(NativeCpu.DATA_PAGE_BYTES - 0x200));
        }
        Encoder e = new Encoder(compat);
        if (s.prefix != NP) {
            e.prefix(s.prefix);
        }
        if (s.rexW) {
            e.rexW();
        }
        e.opcode(s.opcode);
        int dx = r.nextInt(xmmCount), sx = r.nextInt(8) == 0 ? dx : r.nextInt(xmmCount);
        int dm = r.nextInt(8), sm = r.nextInt(8) == 0 ? dm : r.nextInt(8);
        Mem m = memory ? memory(s, b) : null;
        switch (s.layout) {
            case X_XM: case XM_X: case X_M: case M_X: case X_X: {
                if (s.destKind == 2) { // MOVNTI m, r
                    Reg g = b.reg(s.gpSize);
                    b.set(g, b.value(s.gpSize));
                    e.modrm(g, m);
                    break;
                }
                boolean store = s.layout == Layout.XM_X || s.layout == Layout.M_X;
                b.note(store && memory ? "mem, xmm" + dx : "xmm" + dx + (memory ? ", mem" : ", xmm" + sx));
                if (!store) {
                    in.setXmm(2 * sx, SimdValues.related(r, s.kind, in.xmm(2 * dx)));
                    in.setXmm(2 * sx + 1, SimdValues.related(r, s.kind, in.xmm(2 * dx + 1)));
                    if (memory) {
                        b.setData(memOffset(b), 8, SimdValues.related(r, s.kind, in.xmm(2 * dx)));
                        b.setData(memOffset(b) + 8, 8, SimdValues.related(r, s.kind, in.xmm(2 * dx + 1)));
                    }
                }
                if (s.destKind == 1 && !store) {
                    b.approximateResult(dx);
                }
                if (memory) {
                    e.modrm(dx, m);
                } else {
                    e.modrm(dx, xmm(sx));
                }
                break;
            }
            case X_GM: case GM_X: case G_XM: case G_X: {
                // reg: xmm (X_GM, GM_X) or general-purpose (G_XM, G_X)
                boolean gpInReg = s.layout == Layout.G_XM || s.layout == Layout.G_X;
                if (gpInReg) {
                    Reg g = b.reg(s.gpSize);
                    b.note("xmm" + dx);
                    if (memory) {
                        b.setData(memOffset(b), 8, in.xmm(2 * dx));
                        e.modrm(g, m);
                    } else {
                        e.modrm(g.code(), xmm(dx));
                    }
                } else {
                    b.note("xmm" + dx);
                    if (memory) {
                        e.modrm(dx, m);
                    } else {
                        Reg g = b.reg(s.gpSize);
                        b.set(g, s.kind == Kind.INT ? b.value(s.gpSize) : SimdValues.word(r, Kind.INT));
                        e.modrm(dx, g);
                    }
                }
                break;
            }
            case X_IMM:
                b.note("xmm" + dx);
                e.modrm(s.digit, xmm(dx));
                break;
            case M_IMM:
                b.note("mm" + dm);
                e.modrm(s.digit, xmm(dm));
                break;
            case M_MM: case MM_M: case Mem_M: case M_Mreg:
                b.note("mm" + dm + (memory ? ", mem" : ", mm" + sm));
                if (memory) {
                    e.modrm(dm, m);
                } else {
                    e.modrm(dm, xmm(sm));
                }
                break;
            case M_GM: case GM_M: {
                b.note("mm" + dm);
                if (memory) {
                    e.modrm(dm, m);
                } else {
                    Reg g = b.reg(s.gpSize);
                    b.set(g, b.value(s.gpSize));
                    e.modrm(dm, g);
                }
                break;
            }
            case G_M: {
                Reg g = b.reg(s.gpSize);
                b.note("mm" + sm);
                e.modrm(g.code(), xmm(sm));
                break;
            }
            case X_MM: case X_Mreg:
                b.note("xmm" + dx + (memory ? ", mem" : ", mm" + sm));
                if (memory) {
                    e.modrm(dx, m);
                } else {
                    e.modrm(dx, xmm(sm));
                }
                break;
            case M_XM: case M_Xreg:
                b.note("mm" + dm + (memory ? ", mem" : ", xmm" + sx));
                if (memory) {
                    if (s.kind != Kind.INT) {
                        b.setData(memOffset(b), 8, SimdValues.word(r, s.kind));
                        b.setData(memOffset(b) + 8, 8, SimdValues.word(r, s.kind));
                    }
                    e.modrm(dm, m);
                } else {
                    e.modrm(dm, xmm(sx));
                }
                break;
            default:
                break;
        }
        switch (s.imm) {
            case ANY: e.imm(r.nextInt(256), 1); break;
            case CMP: e.imm(r.nextInt(8), 1); break;
            case ROUND: e.imm(r.nextInt(16), 1); break;
            case SHIFT: e.imm(r.nextInt(4) == 0 ? r.nextInt(256) : r.nextInt(34), 1); break;
            case STRING: e.imm(r.nextInt(0x80), 1); break;
            default: break;
        }
        return e.bytes();
    }

    /** An explicit length for PCMPESTRx: mostly within -20..20, sometimes anything. */
    private static long lengthValue(Random r) {
        return r.nextInt(4) == 0 ? r.nextLong() : r.nextInt(41) - 20;
    }

    private static Reg xmm(int n) {
        return new Reg(n, 16, false);
    }

    private static Mem memory(Spec s, CaseBuilder b) {
        int size = Math.max(s.memBytes, 1);
        if (s.aligned) {
            int offset = (0x100 + b.random.nextInt(NativeCpu.DATA_PAGE_BYTES - 0x200)) & ~15;
            return b.memAt(offset, size);
        }
        return b.mem(size);
    }

    private static int memOffset(CaseBuilder b) {
        return b.memoryOffset();
    }
}
