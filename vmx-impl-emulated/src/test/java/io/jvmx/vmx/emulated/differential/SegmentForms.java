package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.hex;
import static io.jvmx.vmx.emulated.differential.StackForms.form;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Segment registers and segment-override prefixes (SDM Vol. 1, 3.7.4 and 3.3.7.1; Vol. 2, MOV, LDS/LES/LFS/LGS/LSS,
 * XLAT, RDFSBASE/RDGSBASE): MOV to and from segment registers with the selectors user code may load (Linux's user
 * data selector 2BH, or null), far-pointer loads, XLAT, and memory forms of other groups again with an override: FS
 * and GS with their bases in 64-bit mode, where ES CS SS DS overrides are ignored; ES CS SS DS in compatibility mode,
 * where they all have base 0 (and CS is read-only). FS and GS are never loaded natively: FS holds the thread's TLS
 * base.
 */
final class SegmentForms {
    private SegmentForms() {
    }

    private static final String[] SREG = {"ES", "CS", "SS", "DS", "FS", "GS"};
    private static final int RAX = 0, RBX = 3;

    static void addTo(List<InstructionForm> forms) {
        for (Mode mode : Mode.NATIVE) {
            moveSegmentRegister(forms, mode);
            loadFarPointer(forms, mode);
            translate(forms, mode);
        }
        segmentBases(forms);
    }

    /**
     * A selector user code may load into DS or ES: 2BH with any RPL (DPL 3 data, so RPL and CPL are no bar), or
     * null (0-3); into SS only 2BH (RPL must equal CPL 3, and a null SS is #GP at CPL 3).
     */
    private static int selector(CaseBuilder b, boolean stack) {
        return stack ? NativeCpu.USER_DS : b.random.nextBoolean() ? NativeCpu.USER_DS & ~3 | b.random.nextInt(4)
                : b.random.nextInt(4);
    }

    /**
     * MOV r/m16, Sreg (8C /r): all six; into a 32- or 64-bit register the selector is zero-extended, into memory 16
     * bits are written whatever the operand size (SDM Vol. 2B MOV, "Operation" and the note on 8C). MOV Sreg, r/m16
     * (8E /r): ES, SS, DS.
     */
    private static void moveSegmentRegister(List<InstructionForm> forms, Mode mode) {
        int[] sizes = mode == Mode.LONG_64 ? new int[] {2, 4, 8} : new int[] {2, 4};
        for (int sreg = 0; sreg < 6; sreg++) {
            int s = sreg;
            for (int size : sizes) {
                forms.add(form(mode, FormNames.name("MOV", "r" + 8 * size, SREG[sreg], FormNames.sdm(size, "8C /r"),
                        false), b -> {
                    Reg r = b.reg(size);
                    return b.encoder(size).operandSize(size).opcode(0x8C).modrm(s, r).bytes();
                }));
            }
            forms.add(form(mode, FormNames.name("MOV", "m16", SREG[sreg], "8C /r", true), b ->
                    b.encoder(2).opcode(0x8C).modrm(s, b.mem(2)).bytes()));
        }
        for (int sreg : new int[] {0, 2, 3}) {
            boolean stack = sreg == 2;
            for (boolean memory : FormNames.BOTH) {
                forms.add(form(mode, FormNames.name("MOV", SREG[sreg], "r/m16", "8E /r", memory), b -> {
                    int selector = selector(b, stack);
                    b.note(String.format("selector %#x", selector));
                    Encoder e = b.encoder(2).opcode(0x8E);
                    if (memory) {
                        e.modrm(sreg, b.mem(2));
                        b.setMem(2, selector);
                    } else {
                        Reg r = b.reg(2);
                        b.set(r, selector);
                        e.modrm(sreg, r);
                    }
                    return e.bytes();
                }));
            }
        }
    }

    /**
     * LDS (C5 /r), LES (C4 /r): only outside 64-bit mode, where C4/C5 with a memory operand are not VEX; LSS (0F B2
     * /r) in both modes. The far pointer m16:16/m16:32 holds the offset, then the selector (SDM Vol. 2A,
     * LDS/LES/LFS/LGS/LSS). Not m16:64 (REX.W): Intel processors read a 64-bit offset, AMD processors a 32-bit one, so
     * the native run cannot be the oracle (on AMD the selector comes from the offset's upper half and faults).
     */
    private static void loadFarPointer(List<InstructionForm> forms, Mode mode) {
        int[] sizes = {2, 4};
        String[] names = {"LES", "LSS", "LDS"};
        int[][] opcodes = {{0xC4}, {0x0F, 0xB2}, {0xC5}};
        for (int k = 0; k < 3; k++) {
            boolean stack = k == 1;
            if (!stack && mode == Mode.LONG_64) {
                continue;
            }
            int[] opcode = opcodes[k];
            StringBuilder code = new StringBuilder();
            for (int o : opcode) {
                code.append(hex(o)).append(' ');
            }
            for (int size : sizes) {
                forms.add(form(mode, names[k] + " r" + 8 * size + ", m16:" + 8 * size + " ("
                        + FormNames.sdm(size, code + "/r") + ")", b -> {
                    Reg r = b.reg(size);
                    Mem m = b.mem(size + 2);
                    int selector = selector(b, stack);
                    b.setMem(size, b.value(size));
                    b.setData(b.memoryOffset() + size, 2, selector);
                    b.note(String.format("selector %#x", selector));
                    return b.encoder(size).operandSize(size).opcode(opcode).modrm(r, m).bytes();
                }));
            }
        }
    }

    /**
     * XLAT (D7): AL := [rBX + AL] (unsigned AL), DS-relative unless overridden; EBX with 67H in 64-bit mode; REX.W
     * changes nothing (SDM Vol. 2B XLAT/XLATB).
     */
    private static void translate(List<InstructionForm> forms, Mode mode) {
        List<String> variants = new ArrayList<>(List.of(""));
        if (mode == Mode.LONG_64) {
            variants.addAll(List.of("REX.W", "67", "FS", "GS"));
        } else {
            variants.addAll(List.of("ES", "CS", "SS"));
        }
        for (String variant : variants) {
            String name = switch (variant) {
                case "" -> "XLAT (D7)";
                case "REX.W" -> "XLAT (REX.W + D7)";
                case "67" -> "XLAT (67 D7), EBX as the table";
                default -> "XLAT (" + hex(prefixOf(variant)) + " D7), " + variant + " override";
            };
            InstructionForm.Generator g = b -> {
                long base = switch (variant) {
                    case "FS" -> b.layout.fsBase();
                    case "GS" -> b.layout.gsBase();
                    default -> 0;
                };
                int table = 0x100 + b.random.nextInt(0xE00);
                b.reserve(RBX);
                b.reserve(RAX);
                long pointer = b.layout.data() + table - base;
                if (variant.equals("67") || mode == Mode.COMPATIBILITY_32) {
                    pointer = b.random.nextLong() & 0xFFFF_FFFF_0000_0000L | pointer & 0xFFFF_FFFFL;
                }
                b.setFull(RBX, pointer);
                b.note(String.format("table data+%#x, al=%#x", table, b.input.gpr[RAX] & 0xFF));
                Encoder e = b.encoder(4);
                switch (variant) {
                    case "" -> { }
                    case "REX.W" -> e.rexW();
                    case "67" -> e.prefix(0x67);
                    default -> e.prefix(prefixOf(variant));
                }
                return e.opcode(0xD7).bytes();
            };
            forms.add(variant.equals("67") ? new InstructionForm(name, Mode.LONG_64, null, true, g)
                    : form(mode, name, g));
        }
    }

    private static int prefixOf(String segment) {
        return switch (segment) {
            case "ES" -> 0x26;
            case "CS" -> 0x2E;
            case "SS" -> 0x36;
            case "DS" -> 0x3E;
            case "FS" -> 0x64;
            default -> 0x65;
        };
    }

    /**
     * RDFSBASE, RDGSBASE (F3 0F AE /0, /1; 64-bit mode with CR4.FSGSBASE, which Linux sets when the processor has
     * it): the base, 32 or 64 bits (SDM Vol. 2B, RDFSBASE/RDGSBASE). WRFSBASE/WRGSBASE are not run natively.
     */
    private static void segmentBases(List<InstructionForm> forms) {
        String[] names = {"RDFSBASE", "RDGSBASE"};
        for (int k = 0; k < 2; k++) {
            int digit = k;
            for (int size : new int[] {4, 8}) {
                forms.add(InstructionForm.of(names[k] + " r" + 8 * size + " (" + FormNames.sdm(size, "F3 0F AE /"
                        + k) + ")", Feature.FSGSBASE, b -> {
                    Reg r = b.reg(size);
                    Encoder e = new Encoder().prefix(0xF3).operandSize(size).opcode(0x0F, 0xAE);
                    return e.modrm(digit, r).bytes();
                }));
            }
        }
    }

    /** The memory forms run again with a segment override: see {@link #withOverrides}. */
    private static final Set<String> OVERRIDDEN = Set.of("MOV", "ADD", "CMP", "XCHG", "MOVZX", "BT", "INC");

    /**
     * Memory forms of {@code forms} again with segment overrides: in 64-bit mode FS and GS (their bases added: the
     * pointers are set up relative to them) and ES, CS, SS, DS (null prefixes there, SDM Vol. 1, 3.3.7.1); in
     * compatibility mode ES, SS, DS, and CS for the forms that only read memory.
     */
    static void withOverrides(List<InstructionForm> forms) {
        List<InstructionForm> added = new ArrayList<>();
        for (InstructionForm f : forms) {
            String mnemonic = f.name().substring(0, f.name().indexOf(' '));
            if (!OVERRIDDEN.contains(mnemonic) || !f.name().endsWith(", memory") || f.name().contains("8C /r")
                    || f.name().contains("8E /r")) {
                continue;
            }
            boolean readsOnly = f.name().startsWith("MOV r") && !f.name().startsWith("MOV r/m")
                    || f.name().startsWith("CMP") || f.name().startsWith("MOVZX") || f.name().startsWith("BT r/m");
            List<String> segments = f.mode() == Mode.LONG_64 ? List.of("FS", "GS", "ES", "CS", "SS", "DS")
                    : readsOnly ? List.of("ES", "CS", "SS", "DS") : List.of("ES", "SS", "DS");
            for (String segment : segments) {
                int prefix = prefixOf(segment);
                InstructionForm.Generator g = b -> {
                    if (segment.equals("FS")) {
                        b.segmentBase(b.layout.fsBase());
                    } else if (segment.equals("GS")) {
                        b.segmentBase(b.layout.gsBase());
                    }
                    byte[] code = f.generator().generate(b);
                    if (code == null || code.length == 15) {
                        return null;
                    }
                    byte[] prefixed = new byte[code.length + 1];
                    prefixed[0] = (byte) prefix;
                    System.arraycopy(code, 0, prefixed, 1, code.length);
                    return prefixed;
                };
                String name = segment + ": " + f.name();
                added.add(new InstructionForm(name, f.mode(), f.required(), f.needsLowData(), g));
            }
        }
        forms.addAll(added);
    }
}
