package io.jvmx.vmx.emulated.cpu;

/**
 * One decoded instruction (SDM Vol. 2, chapter 2 "Instruction Format"): prefixes, opcode, ModRM/SIB/displacement and
 * immediates, in the form execution needs. It describes the bytes only, never register values: the effective address
 * is computed from {@link #base}, {@link #index}, {@link #scale} and {@link #disp} when the instruction executes, so a
 * decoded instruction can be cached and executed again (see {@link CodeCache}).
 *
 * <p>A decoded instruction is valid for the code-segment mode it was decoded in ({@link #mode}): the same bytes mean
 * other operand and address sizes, or other instructions, in 16-, 32- and 64-bit code (SDM Vol. 1, 3.6).
 */
final class Insn {
    /** {@link #mode} values: CS.D = 0, CS.D = 1, CS.L = 1 (64-bit mode). */
    static final int MODE16 = 0, MODE32 = 1, MODE64 = 2;
    /** {@link #map} values: the one-byte map and the escape sequences 0F, 0F 38, 0F 3A (SDM Vol. 2D, Appendix A). */
    static final int MAP_1 = 0, MAP_0F = 1, MAP_0F38 = 2, MAP_0F3A = 3;

    int mode;
    /** Length in bytes, prefixes included (at most 15, SDM Vol. 2, 2.3.11). */
    int len;
    int map;
    /** The opcode byte within {@link #map}. */
    int opcode;

    // ---- prefixes (SDM Vol. 2, 2.1.1 and 2.2.1)
    /** Operand and address size in bytes (2, 4, 8), from the mode, 66H, 67H and REX.W. */
    int opSize, addrSize;
    boolean opPrefix, adPrefix, lock;
    /** 0, 0xF2 or 0xF3: the last of the group-1 repeat prefixes. */
    int rep;
    /** Segment override (CpuState.ES..GS) or -1. */
    int segOv;
    /** The REX prefix byte (0x40-0x4F) or 0; with VEX, 0x40 plus the W R X B bits VEX carries, as in REX. */
    int rex;

    // ---- VEX (SDM Vol. 2, 2.3.5)
    boolean vex;
    /** VEX.vvvv, already inverted: the extra register operand (0 for the 1111b of an unused field; 15 without VEX). */
    int vvvv;
    /** VEX.L: 0 for 128-bit, 1 for 256-bit vector length. */
    int vexL;
    /** LOCK, 66H, F2H, F3H or REX came before VEX: the instruction is #UD (SDM Vol. 2, 2.3.2). */
    boolean vexBadPrefix;

    // ---- ModRM, SIB and displacement (SDM Vol. 2, 2.1.5)
    boolean hasModrm;
    int modrm;
    int mod;
    /** ModRM.reg with REX.R (a register number or, for group opcodes, see {@link #regOp()}). */
    int reg;
    /** ModRM.rm with REX.B when mod = 3 (a register); otherwise ModRM.rm as encoded. */
    int rm;
    /** Memory operand: base and index register numbers (-1 for none), scale as a shift count. */
    int base, index, scale;
    /** The SIB base (-1 without SIB): POP with an rSP-based destination needs to know. */
    int sibBase;
    /** RIP-relative addressing (64-bit mode, ModRM.mod = 0 and rm = 5): the displacement counts from the next RIP. */
    boolean ripRel;
    long disp;
    /** Segment of the memory operand: the override, else SS for rBP/rSP bases, else DS. */
    int eaSeg;

    /** Executing this instruction ends a block of instructions (see Executor#runBlock and Decoder). */
    boolean endsBlock;
    /** What executing it does (chosen by {@link OpTable} when decoded). */
    Op op;

    // ---- successor links (see Executor#runBlock): decoded instructions of the same page, found once and kept, so
    // that going on to the next instruction needs no address computation and no lookup
    /** The instruction right after this one, if it starts in the same page. */
    Insn next;
    /** The last instruction this one transferred control to (a taken branch, a return) in the same page, at RIP jumpRip. */
    Insn jump;
    long jumpRip;

    // ---- translation to bytecode (see BlockCompiler)
    /** How many times execution arrived here by a jump: when it is hot, the block from here is compiled. */
    int heat;
    /** The compiled block that starts here, or null. */
    CompiledBlock compiled;

    // ---- immediates (sign-extended where the opcode map says so; see Decoder)
    long imm;
    /** A second immediate: the selector of a far pointer (ptr16:16/32), the nesting level of ENTER. */
    long imm2;

    /** The opcode extension in ModRM.reg of group opcodes, without REX.R. */
    int regOp() {
        return (modrm >>> 3) & 7;
    }

    boolean memory() {
        return hasModrm && mod != 3;
    }

    /** Copies every decoded field of {@code o}, not its links (so that a scratch decoding can be kept). */
    void copyFrom(Insn o) {
        mode = o.mode;
        len = o.len;
        map = o.map;
        opcode = o.opcode;
        opSize = o.opSize;
        addrSize = o.addrSize;
        opPrefix = o.opPrefix;
        adPrefix = o.adPrefix;
        lock = o.lock;
        rep = o.rep;
        segOv = o.segOv;
        rex = o.rex;
        vex = o.vex;
        vvvv = o.vvvv;
        vexL = o.vexL;
        vexBadPrefix = o.vexBadPrefix;
        hasModrm = o.hasModrm;
        modrm = o.modrm;
        mod = o.mod;
        reg = o.reg;
        rm = o.rm;
        base = o.base;
        index = o.index;
        scale = o.scale;
        sibBase = o.sibBase;
        ripRel = o.ripRel;
        disp = o.disp;
        eaSeg = o.eaSeg;
        imm = o.imm;
        imm2 = o.imm2;
        endsBlock = o.endsBlock;
        op = o.op;
    }
}
