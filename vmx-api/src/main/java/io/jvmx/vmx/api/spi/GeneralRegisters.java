package io.jvmx.vmx.api.spi;

/**
 * The guest's general-purpose registers that the VMCS does not hold (x86_vcpu's {@code GeneralRegisters}): the
 * host saves and restores them around VM entry. Indexed by the SDM's register numbers (0 = RAX, 1 = RCX, 2 = RDX,
 * 3 = RBX, 4 = RSP, 5 = RBP, 6 = RSI, 7 = RDI, 8-15 = R8-R15, as in exit qualifications, SDM Table 28-3). Slot 4
 * exists but is not used: the guest's RSP lives in the VMCS (GUEST_RSP).
 */
public final class GeneralRegisters {
    public static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
    public static final int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;

    private static final String[] NAMES = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10",
            "r11", "r12", "r13", "r14", "r15"};

    private final long[] regs = new long[16];

    public long get(int index) {
        return regs[index];
    }

    public void set(int index, long value) {
        regs[index] = value;
    }

    /** The low 32 bits, zero-extended. */
    public long get32(int index) {
        return regs[index] & 0xFFFF_FFFFL;
    }

    public void copyFrom(GeneralRegisters other) {
        System.arraycopy(other.regs, 0, regs, 0, 16);
    }

    public static String name(int index) {
        return NAMES[index];
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            if (i == RSP) {
                continue;
            }
            sb.append(String.format("%s=%#x ", NAMES[i], regs[i]));
        }
        return sb.toString().trim();
    }
}
