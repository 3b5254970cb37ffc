package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.hex;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.List;

/**
 * Stack instructions (SDM Vol. 2B, PUSH, POP, PUSHF/PUSHFD/PUSHFQ, POPF/POPFD/POPFQ; Vol. 2A, ENTER, LEAVE), in
 * 64-bit mode and in compatibility mode, with the default stack operand size (64 bits in 64-bit mode, SDM Vol. 1,
 * 3.6.1; 32 in 32-bit code) and with 66H (16 bits). RSP points into the middle of the stack page; what they push and
 * pop is compared there. None of them changes a flag, except POPF.
 */
final class StackForms {
    private StackForms() {
    }

    static void addTo(List<InstructionForm> forms) {
        for (Mode mode : Mode.NATIVE) {
            for (boolean word : FormNames.BOTH) {
                pushPopRegister(forms, mode, word);
                pushImmediate(forms, mode, word);
                pushPopMemory(forms, mode, word);
                flags(forms, mode, word);
                segmentRegisters(forms, mode, word);
                enterLeave(forms, mode, word);
            }
        }
    }

    /** A form in {@code mode}: its name says so for compatibility mode. */
    static InstructionForm form(Mode mode, String name, InstructionForm.Generator g) {
        return mode == Mode.LONG_64 ? InstructionForm.of(name, g) : InstructionForm.compatibility(name, g);
    }

    /** The stack operand size: 16 bits with 66H, else 64 in 64-bit mode and 32 in 32-bit code. */
    static int size(Mode mode, boolean word) {
        return word ? 2 : mode == Mode.LONG_64 ? 8 : 4;
    }

    static String r(int size) {
        return "r" + 8 * size;
    }

    private static Encoder encoder(CaseBuilder b, boolean word) {
        Encoder e = b.encoder(4);
        if (word) {
            e.prefix(0x66);
        }
        return e;
    }

    private static final int RSP = MachineState.RSP, RBP = 5;

    /**
     * PUSH r (50+rd), POP r (58+rd), with REX.B for R8-R15 in 64-bit mode. PUSH rSP pushes rSP as it was before the
     * push; POP rSP leaves the popped value in rSP (SDM Vol. 2B, PUSH and POP).
     */
    private static void pushPopRegister(List<InstructionForm> forms, Mode mode, boolean word) {
        int size = size(mode, word);
        String prefix = word ? "66 " : "";
        forms.add(form(mode, "PUSH " + r(size) + " (" + prefix + "50+rd)", b -> {
            Reg r = b.random.nextInt(8) == 0 ? new Reg(RSP, size, false) : b.reg(size);
            b.note(r.name());
            return encoder(b, word).opcodePlusRegister(0x50, r).bytes();
        }));
        forms.add(form(mode, "POP " + r(size) + " (" + prefix + "58+rd)", b -> {
            Reg r = b.random.nextInt(8) == 0 ? new Reg(RSP, size, false) : b.reg(size);
            b.note(r.name());
            return encoder(b, word).opcodePlusRegister(0x58, r).bytes();
        }));
    }

    /** PUSH imm8 (6A ib) and imm16/imm32 (68 iw/id): sign-extended to the stack operand size (SDM Vol. 2B PUSH). */
    private static void pushImmediate(List<InstructionForm> forms, Mode mode, boolean word) {
        int size = size(mode, word);
        String prefix = word ? "66 " : "";
        forms.add(form(mode, "PUSH imm8 (" + prefix + "6A ib), " + 8 * size + "-bit push", b ->
                encoder(b, word).opcode(0x6A).imm(b.value(1), 1).bytes()));
        int immBytes = word ? 2 : 4;
        forms.add(form(mode, "PUSH imm" + 8 * immBytes + " (" + prefix + "68 " + (word ? "iw" : "id") + "), "
                + 8 * size + "-bit push", b -> encoder(b, word).opcode(0x68).imm(b.value(immBytes), immBytes).bytes()));
    }

    /**
     * PUSH r/m (FF /6) and POP r/m (8F /0), with registers, the data page, and rSP-based addresses into the stack
     * page: PUSH computes such an address before it decrements rSP, POP after it increments rSP (SDM Vol. 2B, PUSH and
     * POP: "If the ESP or SP register is used as a base register ...").
     */
    private static void pushPopMemory(List<InstructionForm> forms, Mode mode, boolean word) {
        int size = size(mode, word);
        String prefix = word ? "66 " : "";
        String rm = "r/m" + 8 * size;
        for (boolean push : FormNames.BOTH) {
            int opcode = push ? 0xFF : 0x8F;
            int digit = push ? 6 : 0;
            String name = (push ? "PUSH " : "POP ") + rm + " (" + prefix + hex(opcode) + " /" + digit + ")";
            forms.add(form(mode, FormNames.name(push ? "PUSH" : "POP", rm, null, prefix + hex(opcode) + " /" + digit,
                    false), b -> {
                Reg r = b.reg(size);
                b.set(r, b.value(size));
                return encoder(b, word).opcode(opcode).modrm(digit, r).bytes();
            }));
            forms.add(form(mode, FormNames.name(push ? "PUSH" : "POP", rm, null, prefix + hex(opcode) + " /" + digit,
                    true), b -> {
                Mem m = b.mem(size);
                b.setMem(size, b.value(size));
                return encoder(b, word).opcode(opcode).modrm(digit, m).bytes();
            }));
            forms.add(form(mode, name + ", [rsp+disp8]", b -> {
                int disp = b.random.nextInt(129) - 64;
                b.note((mode == Mode.LONG_64 ? "[rsp" : "[esp") + CaseBuilder.signedHex(disp) + "]");
                return encoder(b, word).opcode(opcode).modrm(digit, new Mem(RSP, Mem.NONE, 1, disp, 1)).bytes();
            }));
        }
    }

    /**
     * PUSHF (9C) and POPF (9D) in each operand size. At CPL 3 with IOPL 0, POPF changes neither IF nor IOPL and does
     * not fault (SDM Vol. 2B POPF, "Operation"); it does change AC, ID, NT and the status flags and DF. The popped
     * value never has TF set (a single-step trap natively is a signal that kills the JVM).
     */
    private static void flags(List<InstructionForm> forms, Mode mode, boolean word) {
        int size = size(mode, word);
        String prefix = word ? "66 " : "";
        String suffix = switch (size) { case 2 -> ""; case 4 -> "D"; default -> "Q"; };
        forms.add(form(mode, "PUSHF" + suffix + " (" + prefix + "9C)", b -> encoder(b, word).opcode(0x9C).bytes()));
        forms.add(form(mode, "POPF" + suffix + " (" + prefix + "9D)", b -> {
            int slot = b.stackOffset(b.rsp());
            long value = b.random.nextLong() & ~Flags.TF;
            if (b.random.nextBoolean()) {
                value &= Flags.OBSERVED & ~Flags.TF; // only the flags that exist, more often set and cleared
            }
            b.setStack(slot, size, value);
            b.note(String.format("popped %#x", value & CaseBuilder.mask(size)));
            return encoder(b, word).opcode(0x9D).bytes();
        }));
    }

    /**
     * PUSH of the segment registers: FS (0F A0) and GS (0F A8) in both modes, ES (06) CS (0E) SS (16) DS (1E) in
     * compatibility mode only. With a 32- or 64-bit operand size the SDM lets a processor write only the selector's
     * 16 bits and leave the rest of the slot alone (SDM Vol. 2B PUSH): those bytes are not compared. POP ES (07), POP
     * DS (1F), POP SS (17) in compatibility mode with the user data selector 2BH (or null, for ES and DS, with any
     * RPL); POP FS and GS are not run natively, where FS holds the thread's TLS base.
     */
    private static void segmentRegisters(List<InstructionForm> forms, Mode mode, boolean word) {
        int size = size(mode, word);
        String prefix = word ? "66 " : "";
        String[] names = {"ES", "CS", "SS", "DS", "FS", "GS"};
        int[][] pushOpcodes = {{0x06}, {0x0E}, {0x16}, {0x1E}, {0x0F, 0xA0}, {0x0F, 0xA8}};
        for (int sreg = 0; sreg < 6; sreg++) {
            if (sreg < 4 && mode == Mode.LONG_64) {
                continue; // #UD in 64-bit mode
            }
            int[] opcode = pushOpcodes[sreg];
            StringBuilder text = new StringBuilder(prefix);
            for (int o : opcode) {
                text.append(hex(o)).append(' ');
            }
            forms.add(form(mode, "PUSH " + names[sreg] + " (" + text.toString().trim() + "), " + 8 * size
                    + "-bit push", b -> {
                int slot = b.stackOffset(b.rsp()) - size;
                b.undefinedStack(slot + 2, slot + size);
                return encoder(b, word).opcode(opcode).bytes();
            }));
        }
        if (mode == Mode.COMPATIBILITY_32) {
            int[] popOpcodes = {0x07, -1, 0x17, 0x1F};
            for (int sreg : new int[] {0, 2, 3}) {
                int opcode = popOpcodes[sreg];
                boolean stack = sreg == 2;
                forms.add(form(mode, "POP " + names[sreg] + " (" + prefix + hex(opcode) + "), " + 8 * size
                        + "-bit pop", b -> {
                    int selector = stack || b.random.nextBoolean() ? NativeCpu.USER_DS & ~3 | (stack ? 3
                            : b.random.nextInt(4)) : b.random.nextInt(4);
                    b.setStack(b.stackOffset(b.rsp()), size, b.random.nextLong() & ~0xFFFFL | selector);
                    b.note(String.format("popped selector %#x", selector));
                    return encoder(b, word).opcode(opcode).bytes();
                }));
            }
        }
    }

    /**
     * ENTER imm16, imm8 (C8 iw ib): pushes rBP, copies imm8 MOD 32 - 1 frame pointers from [rBP - k * size], pushes
     * the new frame pointer (for a level above 0), loads rBP with it and allocates imm16 bytes; LEAVE (C9): rSP := rBP,
     * then pops rBP (SDM Vol. 2A, ENTER and LEAVE). rBP points into the stack page, high enough for 31 frame
     * pointers below it. The allocation keeps the final rSP in the stack page: ENTER checks that it could write there
     * (the page fault of a frame beyond mapped memory is the guest tests' to check; natively it kills the JVM).
     */
    private static void enterLeave(List<InstructionForm> forms, Mode mode, boolean word) {
        int size = size(mode, word);
        String prefix = word ? "66 " : "";
        for (int levelKind = 0; levelKind < 3; levelKind++) {
            int kind = levelKind;
            String levels = switch (kind) { case 0 -> "level 0"; case 1 -> "level 1"; default -> "levels 2-40"; };
            forms.add(form(mode, "ENTER imm16, imm8 (" + prefix + "C8 iw ib), " + 8 * size + "-bit, " + levels, b -> {
                int level = switch (kind) { case 0 -> 0; case 1 -> 1; default -> 2 + b.random.nextInt(39); };
                long frame = b.layout.stack() + 0x900 + b.random.nextInt(0x500);
                b.fixedFull(RBP, b.pointer(frame));
                // the processor checks that it could write at the final rSP (SDM Vol. 2A ENTER, "#PF"): the frame
                // must end inside the stack page, where both sides have memory
                int pushes = size * (1 + (level % 32 == 0 ? 0 : level % 32));
                int room = (int) (b.rsp() - b.layout.stack()) - pushes - size;
                int alloc = b.random.nextBoolean() ? b.random.nextInt(0x40) : b.random.nextInt(room + 1);
                b.note(String.format("rbp=stack+%#x, allocate %#x, level %d", frame - b.layout.stack(), alloc, level));
                return encoder(b, word).opcode(0xC8).imm(alloc, 2).imm(level, 1).bytes();
            }));
        }
        forms.add(form(mode, "LEAVE (" + prefix + "C9), " + 8 * size + "-bit", b -> {
            long frame = b.layout.stack() + 0x100 + b.random.nextInt(0xE00);
            b.fixedFull(RBP, b.pointer(frame));
            b.note(String.format("rbp=stack+%#x", frame - b.layout.stack()));
            return encoder(b, word).opcode(0xC9).bytes();
        }));
    }
}
