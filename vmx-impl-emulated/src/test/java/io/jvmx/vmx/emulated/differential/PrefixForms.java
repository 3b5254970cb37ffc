package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Prefixes that change nothing, or that the processor ignores (SDM Vol. 2A, 2.1.1 and 2.2.1): one-byte-map forms
 * once more with one to four extra legacy prefixes in front, in random order: a repeat of a group-1, -3 or -4 prefix the
 * instruction already has; F2 or F3 (repeat prefixes mean nothing to these instructions); a segment override that
 * does not change the operand's segment base (ES CS SS DS in 64-bit mode, where they are ignored; ES SS DS in 32-bit
 * code, whose bases are 0 like DS's; any of them on register forms); and in 64-bit mode a REX before the legacy
 * prefixes, which a later prefix cancels. The native run says what the bytes mean; no prefix is added that could
 * make them fault (LOCK) or change the operand or address size.
 */
final class PrefixForms {
    private PrefixForms() {
    }

    /** The one-byte-map general-purpose forms that get the extra prefixes (not the 0F maps: F2/F3 select there). */
    private static final Pattern ELIGIBLE = Pattern.compile(
            "^(ADD|OR|ADC|SBB|AND|SUB|XOR|CMP|TEST|INC|DEC|NOT|NEG|MUL|IMUL|DIV|IDIV|MOV|XCHG|SHL|SHR|SAR|ROL|ROR"
                    + "|RCL|RCR|CBW|CWDE|CWD|CDQ|PUSH|POP|XLAT|SAHF|LAHF|CMC|CLC|STC|CLD|STD) ");

    private static boolean legacyPrefix(int b) {
        return switch (b) {
            case 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65 -> true;
            default -> false;
        };
    }

    static void addTo(List<InstructionForm> forms) {
        List<InstructionForm> added = new ArrayList<>();
        for (InstructionForm f : forms) {
            if (f.mode().sixteenBit() || !ELIGIBLE.matcher(f.name()).find() || f.name().contains("0F")) {
                continue;
            }
            String base = f.name().replace(", compatibility mode", "");
            boolean memory = base.endsWith(", memory") || base.contains("[rsp") || base.contains("moffs")
                    || base.startsWith("XLAT") || base.startsWith("PUSH") || base.startsWith("POP");
            boolean mode64 = f.mode() == Mode.LONG_64;
            // segment overrides that leave the operand's segment as it is, or whose base equals it
            int[] segments = !memory ? new int[] {0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65}
                    : mode64 ? new int[] {0x26, 0x2E, 0x36, 0x3E} : new int[] {0x26, 0x36, 0x3E};
            String name = base + ", with redundant prefixes"
                    + (mode64 ? "" : ", compatibility mode");
            added.add(new InstructionForm(name, f.mode(), f.required(), f.needsLowData(), b -> {
                byte[] code = f.generator().generate(b);
                if (code == null) {
                    return null;
                }
                int n = 0;
                while (n < code.length && legacyPrefix(code[n] & 0xFF)) {
                    n++;
                }
                List<Integer> extra = new ArrayList<>();
                for (int k = 0; k < n; k++) {
                    int p = code[k] & 0xFF;
                    if (p != 0xF0 && b.random.nextBoolean()) {
                        extra.add(p); // a repeat of one it has
                    }
                }
                int count = 1 + b.random.nextInt(3);
                for (int k = 0; k < count; k++) {
                    extra.add(b.random.nextBoolean() ? (b.random.nextBoolean() ? 0xF2 : 0xF3)
                            : segments[b.random.nextInt(segments.length)]);
                }
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                if (mode64 && b.random.nextBoolean()) {
                    out.write(0x40 | b.random.nextInt(16)); // cancelled by the legacy prefixes after it
                }
                List<Integer> all = new ArrayList<>(extra);
                for (int k = 0; k < n; k++) {
                    all.add(code[k] & 0xFF);
                }
                java.util.Collections.shuffle(all, b.random);
                all.forEach(out::write);
                out.write(code, n, code.length - n);
                byte[] prefixed = out.toByteArray();
                return prefixed.length <= 15 ? prefixed : null;
            }));
        }
        forms.addAll(added);
    }
}
