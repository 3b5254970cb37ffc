package io.jvmx.vmx.emulated.cpu;

/**
 * Chooses the {@link Op} of a decoded instruction: first the LOCK rule ({@link #lockable}), then the op of the
 * instruction's group (the groups' {@code select} methods: the general-purpose groups {@link ArithmeticOps},
 * {@link MoveOps}, {@link BranchOps}, {@link ShiftOps}, {@link BitOps}, {@link StackOps}, {@link BcdOps},
 * {@link ExchangeOps}, {@link StringOps}; the x87 group {@link X87Ops}; the SIMD groups {@link SseOps},
 * {@link MmxOps}; {@link XsaveOps}, FXSAVE to XRSTOR; VEX instructions in {@link VexGprOps}), else the opcode map's
 * general implementation (the one-byte map in {@link Executor}, the two- and three-byte maps in {@link SystemOps},
 * CRC32, ADCX and ADOX in 0F 38), which covers every other form the interpreter implements and raises #UD for the
 * rest.
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
            x.execute1(i.opcode);
        }
    };

    private static final Op TWO_BYTE_MAP = new Op("0F map") {
        @Override
        void run(Executor x, Insn i) {
            x.sys.execute0F(i.opcode);
        }
    };

    /** {@code i} runs through the 0F map's general implementation (SystemOps#execute0F), not a dedicated op. */
    static boolean isGeneric0F(Insn i) {
        return i.op == TWO_BYTE_MAP;
    }

    private static final Op MAP_0F38 = new Op("0F 38 map") {
        @Override
        void run(Executor x, Insn i) {
            x.sys.execute0F38(i.opcode);
        }
    };

    /**
     * Whether LOCK may prefix {@code i} (SDM Vol. 2A LOCK): ADD ADC AND BTC BTR BTS CMPXCHG CMPXCHG8B/16B DEC INC NEG
     * NOT OR SBB SUB XOR XADD XCHG, and only with a memory destination; everything else is #UD with LOCK.
     */
    static boolean lockable(Insn i) {
        if (i.vex || !i.memory()) {
            return false;
        }
        int op = i.opcode;
        int digit = i.regOp();
        if (i.map == Insn.MAP_1) {
            if (op < 0x40) {
                return (op & 7) <= 1 && (op >>> 3) != Alu.CMP; // Eb,Gb / Ev,Gv; not CMP
            }
            switch (op) {
                case 0x80: case 0x81: case 0x82: case 0x83: return digit != Alu.CMP;
                case 0x86: case 0x87: return true;                       // XCHG
                case 0xF6: case 0xF7: return digit == 2 || digit == 3;   // NOT, NEG
                case 0xFE: case 0xFF: return digit <= 1;                 // INC, DEC
                default: return false;
            }
        }
        if (i.map == Insn.MAP_0F) {
            switch (op) {
                case 0xAB: case 0xB3: case 0xBB: return true;            // BTS, BTR, BTC
                case 0xBA: return digit >= 5;                            // BTS, BTR, BTC Ev,Ib
                case 0xB0: case 0xB1: case 0xC0: case 0xC1: return true; // CMPXCHG, XADD
                case 0xC7: return digit == 1;                            // CMPXCHG8B, CMPXCHG16B
                default: return false;
            }
        }
        return false;
    }

    private OpTable() {
    }

    static Op select(Insn i) {
        if (i.lock && !lockable(i)) {
            return UNDEFINED;
        }
        if (i.vex) {
            return VexGprOps.select(i); // BMI1/BMI2; no AVX: every other VEX instruction is #UD
        }
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
            op = BitOps.select(i);
        }
        if (op == null) {
            op = StackOps.select(i);
        }
        if (op == null) {
            op = BcdOps.select(i);
        }
        if (op == null) {
            op = ExchangeOps.select(i);
        }
        if (op == null) {
            op = StringOps.select(i);
        }
        if (op == null) {
            op = X87Ops.select(i);
        }
        if (op == null) {
            op = SseOps.select(i); // before the 0F 38 fallback: its 66 0F 38 and 66 0F 3A forms
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
        switch (i.map) {
            case Insn.MAP_1: return ONE_BYTE_MAP;
            case Insn.MAP_0F: return TWO_BYTE_MAP;
            case Insn.MAP_0F38: return map0F38(i);
            default: return UNDEFINED; // 0F 3A: SseOps' forms (66) and VEX's RORX, nothing else
        }
    }

    /** The three-byte map 0F 38 (SDM Vol. 2D, Table A-4) outside VEX: its general-purpose and VMX instructions. */
    private static Op map0F38(Insn i) {
        switch (i.opcode) {
            case 0xF0: case 0xF1:
                // MOVBE without F2 (MoveOps), CRC32 with it
                return i.rep == 0xF2 ? (i.opcode == 0xF0 ? Crc32Ops.CRC32_BYTE : Crc32Ops.CRC32) : UNDEFINED;
            case 0xF6:
                return i.rep == 0xF3 ? ArithmeticOps.ADOX : i.rep == 0 && i.opPrefix ? ArithmeticOps.ADCX : UNDEFINED;
            default:
                return MAP_0F38; // INVEPT, INVVPID
        }
    }
}
