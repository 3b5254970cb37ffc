package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.hex;
import static io.jvmx.vmx.emulated.differential.StackForms.form;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.List;
import java.util.function.Supplier;

/**
 * Near control transfers (SDM Vol. 2A, Jcc, JMP, CALL, LOOP/LOOPcc, JrCXZ; Vol. 2B, RET), in 64-bit mode and in
 * compatibility mode: RIP afterwards (the landing site reached), the return addresses pushed and popped, rCX of the
 * loops. Targets lie in the code page; every target a case may reach is one of its landing sites. The flags are
 * random, so every condition is taken and not taken.
 *
 * <p>Not here: near branches with 66H. In 64-bit mode Intel processors ignore it (the operand size is 64 bits) and
 * AMD processors make the branch 16-bit (RIP truncated to 16 bits), so no native run could be the oracle for both;
 * in 32-bit code it truncates EIP to 16 bits, below any page this process can map.
 */
final class ControlTransferForms {
    private ControlTransferForms() {
    }

    private static final int RCX = 1;
    private static final String[] CONDITIONS = DataMovementForms.CONDITIONS;

    static void addTo(List<InstructionForm> forms) {
        for (Mode mode : Mode.NATIVE) {
            conditionalJumps(forms, mode);
            jumps(forms, mode);
            calls(forms, mode);
            returns(forms, mode);
            loops(forms, mode);
        }
        prefixedIn64BitMode(forms);
    }

    /** The size of a return address and of an indirect target: 8 bytes in 64-bit mode, 4 in 32-bit code. */
    private static int addressSize(Mode mode) {
        return mode == Mode.LONG_64 ? 8 : 4;
    }

    /** A target for an 8-bit displacement: up to 128 bytes either way of the instruction. */
    private static int near(CaseBuilder b) {
        return b.targetNear(130, 130);
    }

    /** A target for a 32-bit displacement: anywhere in the code page. */
    private static int anywhere(CaseBuilder b) {
        return b.random.nextInt(NativeCpu.PAGE - NativeCpu.LANDING_PAD_BYTES + 1);
    }

    /**
     * The instruction {@code encoder} makes, with the displacement (of {@code immBytes}) from its end to code-page
     * offset {@code target}, which becomes a landing site; null if the displacement does not fit.
     */
    static byte[] relative(CaseBuilder b, Supplier<Encoder> encoder, int immBytes, int target) {
        int length = encoder.get().imm(0, immBytes).bytes().length;
        long rel = target - (NativeCpu.INSTRUCTION_OFFSET + length);
        if (immBytes == 1 && rel != (byte) rel) {
            return null;
        }
        b.landingSite(target);
        b.note(String.format("target %+d", target - NativeCpu.INSTRUCTION_OFFSET));
        return encoder.get().imm(rel, immBytes).bytes();
    }

    /** Jcc rel8 (70+cc cb) and rel32 (0F 80+cc cd): taken if the condition (SDM Vol. 1, Table B-1) holds. */
    private static void conditionalJumps(List<InstructionForm> forms, Mode mode) {
        for (int cc = 0; cc < 16; cc++) {
            int condition = cc;
            forms.add(form(mode, "J" + CONDITIONS[cc] + " rel8 (" + hex(0x70 + cc) + " cb)", b ->
                    relative(b, () -> b.encoder(4).opcode(0x70 + condition), 1, near(b))));
            forms.add(form(mode, "J" + CONDITIONS[cc] + " rel32 (0F " + hex(0x80 + cc) + " cd)", b ->
                    relative(b, () -> b.encoder(4).opcode(0x0F, 0x80 + condition), 4, anywhere(b))));
        }
    }

    /** JMP rel8 (EB cb), rel32 (E9 cd), and through a register or memory (FF /4). */
    private static void jumps(List<InstructionForm> forms, Mode mode) {
        forms.add(form(mode, "JMP rel8 (EB cb)", b -> relative(b, () -> b.encoder(4).opcode(0xEB), 1, near(b))));
        forms.add(form(mode, "JMP rel32 (E9 cd)", b -> relative(b, () -> b.encoder(4).opcode(0xE9), 4,
                anywhere(b))));
        indirect(forms, mode, "JMP", 4);
    }

    /** JMP or CALL r/m (FF /4, FF /2): register, data page, and for CALL an rSP-based address (read before the push). */
    private static void indirect(List<InstructionForm> forms, Mode mode, String mnemonic, int digit) {
        int size = addressSize(mode);
        String rm = "r/m" + 8 * size;
        forms.add(form(mode, FormNames.name(mnemonic, rm, null, "FF /" + digit, false), b -> {
            int target = anywhere(b);
            b.landingSite(target);
            Reg r = b.reg(size);
            b.setFull(r.number(), b.pointer(b.codeAddress(target)));
            return b.encoder(4).opcode(0xFF).modrm(digit, r).bytes();
        }));
        forms.add(form(mode, FormNames.name(mnemonic, rm, null, "FF /" + digit, true), b -> {
            int target = anywhere(b);
            b.landingSite(target);
            Mem m = b.mem(size);
            b.setMem(size, b.codeAddress(target));
            return b.encoder(4).opcode(0xFF).modrm(digit, m).bytes();
        }));
        forms.add(form(mode, mnemonic + " " + rm + " (FF /" + digit + "), [rsp+disp8]", b -> {
            int target = anywhere(b);
            b.landingSite(target);
            int disp = 8 * (b.random.nextInt(17) - 8);
            b.setStack(b.stackOffset(b.rsp()) + disp, size, b.codeAddress(target));
            b.note("[rsp" + CaseBuilder.signedHex(disp) + "]");
            return b.encoder(4).opcode(0xFF).modrm(digit, new Mem(MachineState.RSP, Mem.NONE, 1, disp, 1)).bytes();
        }));
    }

    /** CALL rel32 (E8 cd) and CALL r/m (FF /2): push the address of the next instruction, then jump. */
    private static void calls(List<InstructionForm> forms, Mode mode) {
        forms.add(form(mode, "CALL rel32 (E8 cd)", b -> relative(b, () -> b.encoder(4).opcode(0xE8), 4,
                anywhere(b))));
        indirect(forms, mode, "CALL", 2);
    }

    /** RET (C3) and RET imm16 (C2 iw): pop the return address, then release imm16 more bytes. */
    private static void returns(List<InstructionForm> forms, Mode mode) {
        int size = addressSize(mode);
        for (boolean release : FormNames.BOTH) {
            forms.add(form(mode, release ? "RET imm16 (C2 iw)" : "RET (C3)", b -> {
                int target = anywhere(b);
                b.landingSite(target);
                b.setStack(b.stackOffset(b.rsp()), size, b.codeAddress(target));
                b.note(String.format("return to %+d", target - NativeCpu.INSTRUCTION_OFFSET));
                Encoder e = b.encoder(4).opcode(release ? 0xC2 : 0xC3);
                return (release ? e.imm(b.random.nextBoolean() ? b.random.nextInt(64) : b.random.nextInt(0x10000), 2)
                        : e).bytes();
            }));
        }
    }

    /**
     * LOOP (E2), LOOPE (E1), LOOPNE (E0): decrement the count register, jump if it is not 0 (and ZF is 1 / 0);
     * JrCXZ (E3): jump if the count register is 0. The count register is rCX at the address size: RCX or (67H) ECX in
     * 64-bit mode, ECX or (67H) CX in 32-bit code (SDM Vol. 2A, LOOP/LOOPcc and Jcc).
     */
    private static void loops(List<InstructionForm> forms, Mode mode) {
        String[] names = {"LOOPNE", "LOOPE", "LOOP", mode == Mode.LONG_64 ? "JRCXZ" : "JECXZ"};
        String[] names67 = {"LOOPNE", "LOOPE", "LOOP", mode == Mode.LONG_64 ? "JECXZ" : "JCXZ"};
        for (int k = 0; k < 4; k++) {
            int opcode = 0xE0 + k;
            for (boolean address67 : FormNames.BOTH) {
                int countSize = mode == Mode.LONG_64 ? (address67 ? 4 : 8) : (address67 ? 2 : 4);
                String name = (address67 ? names67[k] : names[k]) + " rel8 (" + (address67 ? "67 " : "") + hex(opcode)
                        + " cb), count in " + (countSize == 8 ? "RCX" : countSize == 4 ? "ECX" : "CX");
                forms.add(form(mode, name, b -> {
                    long count = switch (b.random.nextInt(4)) {
                        case 0 -> 0;
                        case 1 -> 1;
                        case 2 -> 2;
                        default -> b.value(countSize);
                    };
                    b.reserve(RCX);
                    b.set(new Reg(RCX, countSize, false), count);
                    return relative(b, () -> {
                        Encoder e = b.encoder(4);
                        if (address67) {
                            e.prefix(0x67);
                        }
                        return e.opcode(opcode);
                    }, 1, near(b));
                }));
            }
        }
    }

    /**
     * Prefixes 64-bit code puts on branches that change nothing (SDM Vol. 2A, 2.1.1 and 2.2.1): REX.W (the operand
     * size is 64 bits anyway), F2 (BND: ignored without MPX bounds checking), 3E (NOTRACK: ignored without CET's
     * indirect branch tracking), and the 2E/3E branch hints on Jcc.
     */
    private static void prefixedIn64BitMode(List<InstructionForm> forms) {
        Mode mode = Mode.LONG_64;
        forms.add(form(mode, "JMP rel32 (REX.W E9 cd)", b -> relative(b, () -> new Encoder().rexW().opcode(0xE9), 4,
                anywhere(b))));
        forms.add(form(mode, "BND JMP rel32 (F2 E9 cd)", b -> relative(b, () -> new Encoder().prefix(0xF2)
                .opcode(0xE9), 4, anywhere(b))));
        forms.add(form(mode, "BND CALL rel32 (F2 E8 cd)", b -> relative(b, () -> new Encoder().prefix(0xF2)
                .opcode(0xE8), 4, anywhere(b))));
        forms.add(form(mode, "BND RET (F2 C3)", b -> {
            int target = anywhere(b);
            b.landingSite(target);
            b.setStack(b.stackOffset(b.rsp()), 8, b.codeAddress(target));
            return new Encoder().prefix(0xF2).opcode(0xC3).bytes();
        }));
        forms.add(form(mode, "NOTRACK JMP r/m64 (3E FF /4), register", b -> {
            int target = anywhere(b);
            b.landingSite(target);
            Reg r = b.reg(8);
            b.setFull(r.number(), b.codeAddress(target));
            return new Encoder().prefix(0x3E).opcode(0xFF).modrm(4, r).bytes();
        }));
        for (int hint : new int[] {0x2E, 0x3E}) {
            forms.add(form(mode, "JNE rel8 with a branch hint (" + hex(hint) + " 75 cb)", b ->
                    relative(b, () -> new Encoder().prefix(hint).opcode(0x75), 1, near(b))));
        }
    }
}
