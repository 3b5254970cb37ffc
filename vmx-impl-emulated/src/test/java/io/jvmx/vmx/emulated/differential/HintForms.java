package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.hex;
import static io.jvmx.vmx.emulated.differential.StackForms.form;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.List;

/**
 * The instructions that change no architectural state of a user process, in 64-bit and compatibility mode: NOP (90,
 * and the multi-byte 0F 1F /0 in the forms SDM Vol. 2B, NOP, Table 4-12 recommends), PAUSE, the reserved-NOP hint
 * space 0F 19-0F 1E (ENDBR64 and ENDBR32 live there), the prefetches, the fences, and CLFLUSH/CLFLUSHOPT/CLWB. Their
 * memory operands are never accessed (except CLFLUSH's, which is checked like a read), so the NOP and prefetch
 * forms get random pointers. The comparison is that nothing changed but RIP.
 */
final class HintForms {
    private HintForms() {
    }

    /** SDM Vol. 2B NOP, Table 4-12: the recommended multi-byte NOP sequences, 2 to 9 bytes. */
    private static final int[][] RECOMMENDED = {
            {0x66, 0x90},
            {0x0F, 0x1F, 0x00},
            {0x0F, 0x1F, 0x40, 0x00},
            {0x0F, 0x1F, 0x44, 0x00, 0x00},
            {0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00},
            {0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00},
            {0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
            {0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
            // what compilers pad with beyond 9 bytes: more 66H, and a CS override
            {0x66, 0x66, 0x2E, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00}};

    static void addTo(List<InstructionForm> forms) {
        for (Mode mode : Mode.NATIVE) {
            forms.add(form(mode, "NOP (90)", b -> b.encoder(4).opcode(0x90).bytes()));
            forms.add(form(mode, "PAUSE (F3 90)", b -> b.encoder(4).prefix(0xF3).opcode(0x90).bytes()));
            forms.add(form(mode, "NOP (the multi-byte sequences of SDM Vol. 2B NOP, Table 4-12)", b -> {
                int[] sequence = RECOMMENDED[b.random.nextInt(RECOMMENDED.length)];
                byte[] code = new byte[sequence.length];
                for (int k = 0; k < code.length; k++) {
                    code[k] = (byte) sequence[k];
                }
                return code;
            }));
            // 0F 1A and 0F 1B are NOPs too without MPX, but disassemble as BND instructions; 0F 1C /0 with memory is
            // CLDEMOTE: so the reg field is 1-7
            for (int size : new int[] {2, 4}) {
                for (int opcode : new int[] {0x19, 0x1C, 0x1D, 0x1E, 0x1F}) {
                    for (boolean memory : FormNames.BOTH) {
                        forms.add(form(mode, FormNames.name("NOP", "r/m" + 8 * size, null, (size == 2 ? "66 " : "")
                                + "0F " + hex(opcode) + " /r", memory), b -> {
                            Encoder e = b.encoder(size);
                            if (size == 2) {
                                e.prefix(0x66);
                            }
                            e.opcode(0x0F, opcode);
                            int regField = 1 + b.random.nextInt(7);
                            return (memory ? e.modrm(regField, randomPointer(b)) : e.modrm(regField, b.reg(size)))
                                    .bytes();
                        }));
                    }
                }
            }
            forms.add(form(mode, "ENDBR64 (F3 0F 1E FA)", b -> b.encoder(4).prefix(0xF3).opcode(0x0F, 0x1E, 0xFA)
                    .bytes()));
            forms.add(form(mode, "ENDBR32 (F3 0F 1E FB)", b -> b.encoder(4).prefix(0xF3).opcode(0x0F, 0x1E, 0xFB)
                    .bytes()));
            String[] prefetches = {"PREFETCHNTA", "PREFETCHT0", "PREFETCHT1", "PREFETCHT2"};
            for (int digit = 0; digit < 4; digit++) {
                int d = digit;
                forms.add(form(mode, prefetches[digit] + " m8 (0F 18 /" + digit + ")", b ->
                        b.encoder(4).opcode(0x0F, 0x18).modrm(d, randomPointer(b)).bytes()));
            }
            forms.add(form(mode, "PREFETCHW m8 (0F 0D /1)", b ->
                    b.encoder(4).opcode(0x0F, 0x0D).modrm(1, randomPointer(b)).bytes()));
            String[] fences = {"LFENCE", "MFENCE", "SFENCE"};
            for (int k = 0; k < 3; k++) {
                int modrm = 0xE8 + 8 * k;
                forms.add(form(mode, fences[k] + " (0F AE " + hex(modrm) + ")", b ->
                        b.encoder(4).opcode(0x0F, 0xAE, modrm).bytes()));
            }
            forms.add(form(mode, "CLFLUSH m8 (0F AE /7)", b -> b.encoder(4).opcode(0x0F, 0xAE).modrm(7, b.mem(1))
                    .bytes()));
            InstructionForm.Generator clflushopt = b -> b.encoder(4).prefix(0x66).opcode(0x0F, 0xAE)
                    .modrm(7, b.mem(1)).bytes();
            forms.add(mode == Mode.LONG_64
                    ? InstructionForm.of("CLFLUSHOPT m8 (66 0F AE /7)", Feature.CLFLUSHOPT, clflushopt)
                    : InstructionForm.of("CLFLUSHOPT m8 (66 0F AE /7)", Feature.CLFLUSHOPT, clflushopt)
                            .inCompatibilityMode());
            // CLWB is 66 0F AE /6 with a memory operand (with a register operand it is TPAUSE, #UD here)
            InstructionForm.Generator clwb = b -> b.encoder(4).prefix(0x66).opcode(0x0F, 0xAE)
                    .modrm(6, b.mem(1)).bytes();
            forms.add(mode == Mode.LONG_64
                    ? InstructionForm.of("CLWB m8 (66 0F AE /6)", Feature.CLWB, clwb)
                    : InstructionForm.of("CLWB m8 (66 0F AE /6)", Feature.CLWB, clwb).inCompatibilityMode());
        }
    }

    /** A memory operand with a random base and displacement: for instructions that never access it. */
    private static Mem randomPointer(CaseBuilder b) {
        Reg base = b.reg(8);
        int dispBytes = new int[] {0, 1, 4}[b.random.nextInt(3)];
        long disp = dispBytes == 0 ? 0 : dispBytes == 1 ? b.random.nextInt(256) - 128 : b.random.nextInt();
        return new Mem(base.number(), Mem.NONE, 1, disp, dispBytes);
    }
}
