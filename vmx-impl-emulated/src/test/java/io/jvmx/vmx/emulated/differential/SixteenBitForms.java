package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * 16-bit code, checked against the processor although this process cannot run 16-bit code natively: in a 16-bit code
 * segment the default operand and address sizes are 16 bits and 66H/67H select 32 (SDM Vol. 1, 3.6, Table 3-4), so
 * the 32-bit-code instruction with its 66H and 67H toggled (added where absent, removed where present) does in 16-bit
 * code exactly what the original does in 32-bit code. The native run of the original is the oracle for the guest run
 * of the toggled one, as 16-bit protected-mode code ({@link Mode#CODE_16}) and in real-address mode
 * ({@link Mode#REAL_ADDRESS}). The code segment's base is the code page, so instruction offsets stay far below 64 KiB
 * and 16-bit IP arithmetic cannot wrap; the toggled instruction is placed so that it ends where the original ends, so
 * fall-through and relative branch targets are the same offsets.
 *
 * <p>Left out: forms whose result depends on CS (its selector or base: PUSH CS, MOV from CS, CS overrides), on
 * absolute code addresses (CALL, RET, indirect JMP: CS-relative offsets here), and those where 66H is an opcode
 * extension rather than the operand size (ADCX, CLFLUSHOPT, CLWB) or makes another instruction (66 0F AE F0 is TPAUSE,
 * not MFENCE; 66 0F C3 is no MOVNTI). In real-address mode also the forms that load or read
 * segment registers (the selectors there mean a base of 16 times themselves), POPF (IOPL and IF belong to CPL 0
 * there), ARPL (#UD) and VEX (#UD).
 */
final class SixteenBitForms {
    private SixteenBitForms() {
    }

    private static final Pattern NOT_16 = Pattern.compile(
            "CS|CALL|RET|JMP r/m|ADCX|ADOX|CLFLUSH|CLWB|MOVNTI|FENCE");
    private static final Pattern NOT_REAL = Pattern.compile(
            "8C /r|8E /r|(PUSH|POP) [DEFGS]S|^L[DES]S|POPF|ARPL|VEX");

    /** The 16-bit variants of the compatibility-mode forms of {@code forms}. */
    static void addTo(List<InstructionForm> forms) {
        List<InstructionForm> added = new ArrayList<>();
        for (InstructionForm f : forms) {
            if (f.mode() != Mode.COMPATIBILITY_32 || NOT_16.matcher(f.name()).find()) {
                continue;
            }
            String base = f.name().replace(", compatibility mode", "");
            added.add(new InstructionForm(base + ", as 16-bit code", Mode.CODE_16, f.required(), f.needsLowData(),
                    f.generator()));
            if (!NOT_REAL.matcher(f.name()).find()) {
                added.add(new InstructionForm(base + ", in real-address mode", Mode.REAL_ADDRESS, f.required(),
                        f.needsLowData(), f.generator()));
            }
        }
        forms.addAll(added);
    }

    private static boolean legacyPrefix(int b) {
        return switch (b) {
            case 0x66, 0x67, 0xF0, 0xF2, 0xF3, 0x26, 0x2E, 0x36, 0x3E, 0x64, 0x65 -> true;
            default -> false;
        };
    }

    /**
     * {@code code} (32-bit code) with its operand-size (66H) and address-size (67H) prefixes toggled, so that it means
     * the same in 16-bit code. Not 66H before a VEX prefix (#UD there; VEX instructions have no 16-bit operand size).
     */
    static byte[] toggleSizes(byte[] code) {
        int n = 0;
        boolean operandSize = false, addressSize = false;
        while (n < code.length && legacyPrefix(code[n] & 0xFF)) {
            operandSize |= (code[n] & 0xFF) == 0x66;
            addressSize |= (code[n] & 0xFF) == 0x67;
            n++;
        }
        boolean vex = n + 1 < code.length && ((code[n] & 0xFF) == 0xC4 || (code[n] & 0xFF) == 0xC5)
                && (code[n + 1] & 0xC0) == 0xC0;
        ByteArrayOutputStream out = new ByteArrayOutputStream(code.length + 2);
        if (!operandSize && !vex) {
            out.write(0x66);
        }
        if (!addressSize) {
            out.write(0x67);
        }
        for (int k = 0; k < code.length; k++) {
            int b = code[k] & 0xFF;
            if (k < n && ((b == 0x66 && !vex) || b == 0x67)) {
                continue;
            }
            out.write(b);
        }
        return out.toByteArray();
    }
}
