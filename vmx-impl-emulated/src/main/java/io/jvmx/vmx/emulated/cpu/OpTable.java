package io.jvmx.vmx.emulated.cpu;

/**
 * Chooses the {@link Op} of a decoded instruction: a dedicated op for the forms that dominate real code (the groups'
 * {@code select} methods: {@link ArithmeticOps}, {@link MoveOps}, {@link BranchOps}, {@link ShiftOps}; the x87
 * group {@link X87Ops}; the SIMD groups {@link SseOps}, {@link MmxOps}; and {@link XsaveOps}, FXSAVE to XRSTOR),
 * else the opcode map's general implementation (the one-byte map in {@link Executor}, the two- and three-byte maps
 * in {@link SystemOps}), which covers every form the interpreter implements and raises #UD for the rest.
 *
 * <p>Chosen once per decoding, so the choice may look at everything the bytes say (prefixes, ModRM.mod, operand size)
 * and nothing the registers say.
 */
final class OpTable {

    /** An instruction this processor does not implement, or an invalid encoding: #UD (SDM Vol. 2, "#UD"). */
    static final Op UNDEFINED = new Op("(undefined)") {
        @Override
        void run(Executor x, Insn i) {
            throw x.ud();
        }
    };

    private static final Op ONE_BYTE_MAP = new Op("one-byte map") {
        @Override
        void run(Executor x, Insn i) {
            if (i.lock && !LOCKABLE_1[i.opcode]) {
                throw x.ud();
            }
            x.execute1(i.opcode);
        }
    };

    private static final Op TWO_BYTE_MAP = new Op("0F map") {
        @Override
        void run(Executor x, Insn i) {
            if (i.lock && !LOCKABLE_0F[i.opcode]) {
                throw x.ud();
            }
            x.sys.execute0F(i.opcode);
        }
    };

    private static final Op MAP_0F38 = new Op("0F 38 map") {
        @Override
        void run(Executor x, Insn i) {
            if (i.lock) {
                throw x.ud();
            }
            x.sys.execute0F38(i.opcode);
        }
    };

    /** Opcodes LOCK may prefix (SDM Vol. 2A, LOCK): with a memory destination, checked by each instruction. */
    private static final boolean[] LOCKABLE_1 = new boolean[256];
    private static final boolean[] LOCKABLE_0F = new boolean[256];

    static {
        for (int b : new int[] {0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31,
                0x80, 0x81, 0x82, 0x83, 0x86, 0x87, 0xF6, 0xF7, 0xFE, 0xFF}) {
            LOCKABLE_1[b] = true;
        }
        for (int b : new int[] {0xAB, 0xB3, 0xBB, 0xBA, 0xB0, 0xB1, 0xC0, 0xC1, 0xC7}) {
            LOCKABLE_0F[b] = true;
        }
    }

    private OpTable() {
    }

    static Op select(Insn i) {
        if (i.vex) {
            return UNDEFINED; // no AVX or VEX-encoded BMI yet: CPUID does not advertise them
        }
        if (!i.lock) {
            Op op = ArithmeticOps.select(i);
            if (op == null) {
                op = MoveOps.select(i);
            }
            if (op == null) {
                op = BranchOps.select(i);
            }
            if (op == null) {
                op = ShiftOps.select(i);
            }
            if (op == null) {
                op = X87Ops.select(i);
            }
            if (op == null) {
                op = SseOps.select(i);
            }
            if (op == null) {
                op = MmxOps.select(i);
            }
            if (op == null) {
                op = XsaveOps.select(i);
            }
            if (op != null) {
                return op;
            }
        }
        switch (i.map) {
            case Insn.MAP_1: return ONE_BYTE_MAP;
            case Insn.MAP_0F: return TWO_BYTE_MAP;
            case Insn.MAP_0F38: return MAP_0F38;
            default: return UNDEFINED; // 0F 3A and reserved VEX maps: nothing implemented there yet
        }
    }
}
