package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.hex;

import io.jvmx.vmx.emulated.differential.Encoder.Reg;

import java.util.List;

/**
 * String instructions (SDM Vol. 2, MOVS, STOS, LODS, CMPS, SCAS; prefixes: "REP/REPE/REPZ/REPNE/REPNZ"): with no
 * prefix, with REP (F3) for MOVS STOS LODS, with REPE (F3) and REPNE (F2) for CMPS SCAS; counts 0-12 in RCX; DF 0 or 1
 * at random (the direction, SDM Vol. 1, 3.4.3.2); RSI and RDI point into the data page. CMPS and SCAS set the flags as
 * CMP (all defined; a REP with a count of 0 changes none); the others change no flag. A few forms use a 32-bit address
 * size (67: ESI, EDI, ECX), which needs the data page below 4 GiB.
 */
final class StringForms {
    private StringForms() {
    }

    private static final int MAX_COUNT = 12;
    private static final int RCX = 1, RSI = 6, RDI = 7, RAX = 0;

    private enum Op {
        MOVS(0xA4, true, true, false), CMPS(0xA6, true, true, true), STOS(0xAA, false, true, false),
        LODS(0xAC, true, false, false), SCAS(0xAE, false, true, true);

        final int byteOpcode;
        final boolean readsSource;
        final boolean usesDestination;
        final boolean compares;

        Op(int byteOpcode, boolean readsSource, boolean usesDestination, boolean compares) {
            this.byteOpcode = byteOpcode;
            this.readsSource = readsSource;
            this.usesDestination = usesDestination;
            this.compares = compares;
        }
    }

    private enum Prefix {
        NONE("", -1), REP("REP ", 0xF3), REPE("REPE ", 0xF3), REPNE("REPNE ", 0xF2);

        final String text;
        final int code;

        Prefix(String text, int code) {
            this.text = text;
            this.code = code;
        }
    }

    static void addTo(List<InstructionForm> forms) {
        for (Op op : Op.values()) {
            for (int size : FormNames.SIZES) {
                for (Prefix p : op.compares ? new Prefix[] {Prefix.NONE, Prefix.REPE, Prefix.REPNE}
                        : new Prefix[] {Prefix.NONE, Prefix.REP}) {
                    forms.add(form(op, size, p, false));
                }
            }
        }
        forms.add(form(Op.MOVS, 1, Prefix.REP, true));
        forms.add(form(Op.STOS, 4, Prefix.REP, true));
        forms.add(form(Op.LODS, 8, Prefix.NONE, true));
        forms.add(form(Op.CMPS, 1, Prefix.REPE, true));
        forms.add(form(Op.SCAS, 2, Prefix.REPNE, true));
        // segment overrides apply to the source (DS:rSI) only, never to ES:rDI (SDM Vol. 1, 3.7.5 and 7.3.9.1): FS
        // and GS with their bases in 64-bit mode, CS and SS in 32-bit code
        sourceOverride(forms, form(Op.MOVS, 1, Prefix.REP, false), "FS");
        sourceOverride(forms, form(Op.MOVS, 8, Prefix.NONE, false), "GS");
        sourceOverride(forms, form(Op.CMPS, 2, Prefix.REPE, false), "FS");
        sourceOverride(forms, form(Op.LODS, 4, Prefix.NONE, false), "GS");
        sourceOverride(forms, form(Op.MOVS, 4, Prefix.REP, false).inCompatibilityMode(), "CS");
        sourceOverride(forms, form(Op.LODS, 1, Prefix.NONE, false).inCompatibilityMode(), "SS");
        // long REP MOVS / STOS: the interpreter copies whole page ranges at once for these, so counts up to the
        // size of the data page, and for MOVS destinations that often overlap the source by a few bytes either way
        // (the processor re-reads bytes earlier iterations wrote: REP MOVSB with RDI = RSI + 1 replicates a byte)
        for (int size : FormNames.SIZES) {
            forms.add(form(Op.MOVS, size, Prefix.REP, false, true));
            forms.add(form(Op.STOS, size, Prefix.REP, false, true));
        }
    }

    /**
     * How many elements the long forms copy or store at most: 1.75 KiB, so that from about the middle of the 4-KiB
     * data page the range stays inside it in either direction.
     */
    private static int longCount(int size) {
        return 0x700 / size;
    }

    private static InstructionForm form(Op op, int size, Prefix prefix, boolean address32) {
        return form(op, size, prefix, address32, false);
    }

    private static InstructionForm form(Op op, int size, Prefix prefix, boolean address32, boolean longCounts) {
        int opcode = op.byteOpcode + (size == 1 ? 0 : 1);
        String suffix = switch (size) { case 1 -> "B"; case 2 -> "W"; case 4 -> "D"; default -> "Q"; };
        StringBuilder code = new StringBuilder();
        if (prefix != Prefix.NONE) {
            code.append(hex(prefix.code)).append(' ');
        }
        if (address32) {
            code.append("67 ");
        }
        code.append(FormNames.sdm(size, (size == 2 ? "66 " : "") + hex(opcode)));
        String name = prefix.text + op + suffix + " (" + code + ")" + (address32 ? ", 32-bit address" : "")
                + (longCounts ? ", counts up to " + longCount(size) : "");
        InstructionForm.Generator g = b -> {
            boolean repeated = prefix != Prefix.NONE;
            // pointers into the middle of the data page: 12 elements of 8 bytes either way stay inside it
            int sourceOffset = 0x400 + b.random.nextInt(0x800);
            int destinationOffset = 0x400 + b.random.nextInt(0x800);
            if (longCounts) {
                // near the middle of the page (see longCount), the destination often a few bytes off the source
                sourceOffset = 0x800 + b.random.nextInt(0x10) * size;
                destinationOffset = b.random.nextBoolean() ? sourceOffset + (b.random.nextInt(33) - 16)
                        : 0x800 + b.random.nextInt(0x10) * size;
            }
            long upper = address32 ? b.random.nextLong() & 0xFFFF_FFFF_0000_0000L : 0;
            b.reserve(RSI);
            b.reserve(RDI);
            b.reserve(RCX);
            b.reserve(RAX);
            b.setFull(RSI, upper ^ (b.dataAddress + sourceOffset));
            b.setFull(RDI, (address32 ? b.random.nextLong() & 0xFFFF_FFFF_0000_0000L : 0)
                    ^ (b.dataAddress + destinationOffset));
            int count = b.random.nextInt((longCounts ? longCount(size) : MAX_COUNT) + 1);
            if (repeated) {
                // the count register is RCX, or ECX with a 32-bit address size (its upper half then ignored)
                b.setFull(RCX, address32 ? b.random.nextLong() & 0xFFFF_FFFF_0000_0000L | count : count);
            }
            Reg accumulator = new Reg(RAX, size, false);
            b.set(accumulator, b.value(size));
            if (op.compares) {
                makeEqualOften(b, op, size, sourceOffset, destinationOffset);
            }
            b.note(String.format("rsi=data+%#x rdi=data+%#x%s", sourceOffset, destinationOffset,
                    repeated ? " count " + count : ""));
            Encoder e = new Encoder();
            if (repeated) {
                e.prefix(prefix.code);
            }
            if (address32) {
                e.prefix(0x67);
            }
            return e.operandSize(size).opcode(opcode).bytes();
        };
        return new InstructionForm(name, InstructionForm.Mode.LONG_64, null, address32, g);
    }

    /** {@code f} with a segment override in front: rSI is set relative to that segment's base. */
    private static void sourceOverride(List<InstructionForm> forms, InstructionForm f, String segment) {
        int prefix = switch (segment) { case "FS" -> 0x64; case "GS" -> 0x65; case "CS" -> 0x2E; default -> 0x36; };
        forms.add(new InstructionForm(segment + ": " + f.name(), f.mode(), f.required(), f.needsLowData(), b -> {
            byte[] code = f.generator().generate(b);
            long base = segment.equals("FS") ? b.layout.fsBase() : segment.equals("GS") ? b.layout.gsBase() : 0;
            b.input.gpr[RSI] -= base;
            byte[] prefixed = new byte[code.length + 1];
            prefixed[0] = (byte) prefix;
            System.arraycopy(code, 0, prefixed, 1, code.length);
            return prefixed;
        }));
    }

    /**
     * For CMPS and SCAS the elements compared must often be equal, or REPE stops at once and REPNE never does: the
     * destination elements (both directions) copy the source ones, or the accumulator for SCAS, then a few random
     * elements are changed.
     */
    private static void makeEqualOften(CaseBuilder b, Op op, int size, int sourceOffset, int destinationOffset) {
        long accumulator = b.input.gpr[RAX];
        for (int i = -MAX_COUNT - 1; i <= MAX_COUNT + 1; i++) {
            int d = destinationOffset + i * size;
            long value = op == Op.SCAS ? accumulator : read(b, sourceOffset + i * size, size);
            if (b.random.nextInt(5) == 0) {
                value = b.value(size);
            }
            b.setData(d, size, value);
        }
    }

    private static long read(CaseBuilder b, int offset, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (b.input.data[offset + i] & 0xFF);
        }
        return v;
    }
}
