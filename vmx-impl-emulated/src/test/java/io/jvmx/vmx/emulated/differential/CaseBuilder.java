package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * Builds one {@link TestCase} for a form's generator: every register, the data page and the stack page start random,
 * RSP points into the middle of the stack page, the flags start as a random choice of CF PF AF ZF SF OF DF; the
 * generator picks its operand registers and memory operand here, puts operand values (edge values half of the time)
 * into them, says which flags and results the SDM leaves undefined and where a branch may land, and encodes the
 * instruction.
 *
 * <p>Registers: RSP is not an operand unless a generator sets it up itself (it is the stack pointer of the case).
 * Byte forms use either the legacy byte registers (AL..BL and AH..BH, no REX prefix anywhere in the instruction) or,
 * with a REX prefix, the low bytes of all registers (SPL excluded), chosen at random per case so that both decodings
 * are exercised (SDM Vol. 1, 3.7.2.1): see {@link #byteOperands()}. A case without REX uses only registers 0-7 for
 * all its operands and pointers; so does every compatibility-mode case, where REX does not exist.
 */
final class CaseBuilder {
    private static final int RSP = MachineState.RSP;

    final Random random;
    final MachineState input;
    final Layout layout;
    final Mode mode;
    final long dataAddress;
    /** This case encodes byte registers without REX (AH..BH possible) rather than with an empty REX (SPL..DIL). */
    private boolean legacyByteRegisters;

    private long definedFlags = Flags.OBSERVED;
    private int undefinedRegisters;
    private int undefinedDataFrom, undefinedDataTo;
    private int undefinedStackFrom, undefinedStackTo;
    private int approximateXmm;
    private final List<Integer> landingSites = new ArrayList<>();
    /** Registers that must not be chosen again: RSP, pointers, implicit operands, operands already chosen. */
    private int reserved = 1 << RSP;
    private final List<Reg> operandRegisters = new ArrayList<>();
    private final StringBuilder operands = new StringBuilder();
    private int memOffset = -1;
    private int undefinedX87Status;
    private int intelOnlyX87Status;
    private long intelOnlyFlags;
    private boolean intelOnlyX87State;
    private boolean x87SetsPointers;
    private boolean x87LastBit;
    private int legacyRegion = -1;
    /** The base of the segment memory operands use (an FS or GS override in 64-bit mode), subtracted from pointers. */
    private long segmentBase;

    /** A case of a form in {@code mode}; a 16-bit form's case is its 32-bit oracle's (see {@link Mode#oracle}). */
    CaseBuilder(Random random, Layout layout, Mode mode) {
        this.random = random;
        this.layout = layout;
        this.mode = mode.oracle();
        this.dataAddress = layout.data();
        input = new MachineState();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            input.gpr[i] = random.nextLong();
        }
        // java.util.Random is slow for whole pages: a SplittableRandom seeded from it fills them
        SplittableRandom fill = new SplittableRandom(random.nextLong());
        fill(fill, input.data);
        fill(fill, input.stack);
        input.gpr[RSP] = layout.stack() + 0x800 + 8 * (random.nextInt(65) - 32);
        input.rflags = Flags.FIXED_1 | (random.nextLong() & NativeCpu.SETTABLE_FLAGS);
        legacyByteRegisters = compatibility();
    }

    private static void fill(SplittableRandom fill, byte[] page) {
        for (int i = 0; i < page.length; i += 8) {
            long v = fill.nextLong();
            for (int j = 0; j < 8; j++) {
                page[i + j] = (byte) (v >>> (8 * j));
            }
        }
    }

    /** The case runs in compatibility mode: registers 0-7, no REX, 32-bit addresses. */
    boolean compatibility() {
        return mode == Mode.COMPATIBILITY_32;
    }

    /**
     * Called first by generators with byte-register operands that can be encoded without REX: picks, at random,
     * whether this case uses AH..BH (no REX, registers 0-7 only) or SPL..DIL-style low bytes (REX). Without this call
     * a case uses the REX style (any register; byte registers never AH..BH).
     */
    void byteOperands() {
        if (reserved != 1 << RSP || !operandRegisters.isEmpty()) {
            throw new IllegalStateException("byteOperands() comes before any register is chosen");
        }
        legacyByteRegisters = compatibility() || random.nextBoolean();
    }

    /**
     * The case, or null if its landing sites do not fit around the instruction (each pad needs
     * {@link NativeCpu#LANDING_PAD_BYTES} of its own, clear of the instruction and of the fall-through pad; a site at
     * the fall-through is that pad).
     */
    TestCase build(byte[] code) {
        int start = NativeCpu.INSTRUCTION_OFFSET;
        int fallThrough = start + code.length;
        int pad = NativeCpu.LANDING_PAD_BYTES;
        List<Integer> sites = new ArrayList<>();
        for (int site : landingSites) {
            if (site == fallThrough || sites.contains(site)) {
                continue;
            }
            if (site < 0 || site + pad > NativeCpu.PAGE || (site + pad > start && site < fallThrough + pad)) {
                return null;
            }
            for (int other : sites) {
                if (Math.abs(other - site) < pad) {
                    return null;
                }
            }
            sites.add(site);
        }
        return new TestCase(mode, code, operands.toString(), input, sites.stream().mapToInt(Integer::intValue).toArray(),
                definedFlags, undefinedRegisters, undefinedDataFrom, undefinedDataTo, undefinedStackFrom, undefinedStackTo,
                memOffset, legacyRegion, approximateXmm, new TestCase.X87Check(undefinedX87Status, intelOnlyX87Status,
                intelOnlyFlags, intelOnlyX87State, x87SetsPointers, x87LastBit));
    }

    // ---- control transfers ------------------------------------------------------------------------------------------

    /** A code-page offset a branch of this case may go to (checked, with the instruction's length, by build). */
    void landingSite(int offset) {
        landingSites.add(offset);
    }

    /** The linear address of code-page offset {@code offset}. */
    long codeAddress(int offset) {
        return layout.code() + offset;
    }

    /**
     * A branch target near the instruction: a code-page offset from {@code below} bytes before the instruction to
     * {@code above} bytes after its start, which build accepts if it is clear of the instruction and its pads.
     */
    int targetNear(int below, int above) {
        return NativeCpu.INSTRUCTION_OFFSET - below + random.nextInt(below + above + 1);
    }

    // ---- registers --------------------------------------------------------------------------------------------------

    /** A new encoder; for a byte form in REX mode it carries the empty REX that selects SPL..DIL. */
    Encoder encoder(int operandSize) {
        Encoder e = new Encoder(compatibility());
        if (operandSize == 1 && !legacyByteRegisters) {
            e.rex();
        }
        return e;
    }

    /** A register operand of {@code size} bytes not chosen before in this case. */
    Reg reg(int size) {
        List<Reg> candidates = new ArrayList<>();
        if (size == 1 && legacyByteRegisters) {
            for (int n = 0; n < 4; n++) {
                for (boolean high : new boolean[] {false, true}) {
                    Reg r = new Reg(n, 1, high);
                    if ((reserved & 1 << n) == 0 && !operandRegisters.contains(r)) {
                        candidates.add(r);
                    }
                }
            }
        } else {
            for (int n = 0; n < (legacyByteRegisters || compatibility() ? 8 : 16); n++) {
                if ((reserved & 1 << n) == 0 && (size != 1 || n != RSP)) {
                    candidates.add(new Reg(n, size, false));
                }
            }
        }
        Reg r = candidates.get(random.nextInt(candidates.size()));
        take(r);
        return r;
    }

    /** Usually another register, sometimes {@code other} again (e.g. XOR EAX, EAX; XCHG with itself). */
    Reg regOrSame(int size, Reg other) {
        return random.nextInt(8) == 0 ? other : reg(size);
    }

    /** A register the instruction names implicitly (RAX of MUL, RCX of a shift by CL ...), at {@code size}. */
    Reg fixed(int number, int size) {
        Reg r = new Reg(number, size, false);
        reserved |= 1 << number;
        return r;
    }

    /** Keeps {@code number} out of every later choice (an implicit operand the generator sets itself). */
    void reserve(int number) {
        reserved |= 1 << number;
    }

    private void take(Reg r) {
        operandRegisters.add(r);
        if (!(r.size() == 1 && legacyByteRegisters)) {
            reserved |= 1 << r.number();
        }
        note(r.name());
    }

    void note(String operand) {
        operands.append(operands.length() == 0 ? "" : ", ").append(operand);
    }

    /** Puts {@code value} into the bits of {@code r}; the rest of the register keeps its random contents. */
    void set(Reg r, long value) {
        int shift = r.highByte() ? 8 : 0;
        long mask = mask(r.size()) << shift;
        input.gpr[r.number()] = input.gpr[r.number()] & ~mask | (value << shift & mask);
    }

    long get(Reg r) {
        return input.gpr[r.number()] >>> (r.highByte() ? 8 : 0) & mask(r.size());
    }

    void setFull(int number, long value) {
        input.gpr[number] = value;
    }

    /**
     * A register value that points at {@code linear}: all of it in 64-bit mode; in 32-bit code only its low half
     * counts (addresses are 32 bits), so the upper half is random.
     */
    long pointer(long linear) {
        return compatibility() ? random.nextLong() & 0xFFFF_FFFF_0000_0000L | linear & 0xFFFF_FFFFL : linear;
    }

    /** Takes {@code number} out of the later choices and sets all of it. */
    void fixedFull(int number, long value) {
        reserve(number);
        input.gpr[number] = value;
    }

    // ---- the stack --------------------------------------------------------------------------------------------------

    /** RSP: somewhere in the middle of the stack page (see the constructor), which generators may move. */
    long rsp() {
        return input.gpr[RSP];
    }

    void setRsp(long value) {
        input.gpr[RSP] = value;
    }

    /** The stack-page offset of a linear address in the stack page. */
    int stackOffset(long linear) {
        return (int) (linear - layout.stack());
    }

    /** Writes {@code value} ({@code size} bytes, little-endian) at stack-page offset {@code offset}. */
    void setStack(int offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            input.stack[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    long getStack(int offset, int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (input.stack[offset + i] & 0xFF);
        }
        return v;
    }

    // ---- memory -----------------------------------------------------------------------------------------------------

    /**
     * A memory operand of {@code size} bytes at a random offset of the data page, addressed through a fresh base
     * register (and sometimes an index register and a displacement), so ModRM/SIB decoding is exercised too.
     */
    Mem mem(int size) {
        int offset = 0x100 + random.nextInt(NativeCpu.DATA_PAGE_BYTES - 0x200);
        return memAt(offset, size);
    }

    Mem memAt(int offset, int size) {
        memOffset = offset;
        int base = freeNumber();
        int index = Mem.NONE;
        int scale = 1;
        long indexValue = 0;
        if (random.nextInt(4) == 0) {
            index = freeNumber();
            scale = 1 << random.nextInt(4);
            indexValue = random.nextInt(32) - 8;
            input.gpr[index] = indexValue;
        }
        int dispBytes = new int[] {0, 1, 4}[random.nextInt(3)];
        long disp = dispBytes == 0 ? 0 : dispBytes == 1 ? random.nextInt(256) - 128 : random.nextInt(0x2000) - 0x1000;
        input.gpr[base] = pointer(dataAddress + offset - disp - indexValue * scale - segmentBase);
        Mem m = new Mem(base, index, scale, disp, dispBytes);
        note(String.format("%s [%s%s%s] (data+%#x)", sizeName(size), MachineState.registerName(base),
                index == Mem.NONE ? "" : "+" + MachineState.registerName(index) + "*" + scale,
                dispBytes == 0 ? "" : signedHex(disp), offset));
        return m;
    }

    /**
     * From now on memory operands address the data page through a segment with this base (the FS or GS base of
     * 64-bit mode, which an override prefix brings in): pointers are set to the offsets from it.
     */
    void segmentBase(long base) {
        segmentBase = base;
    }

    long segmentBase() {
        return segmentBase;
    }

    static String signedHex(long v) {
        return v < 0 ? String.format("-%#x", -v) : String.format("+%#x", v);
    }

    /** A register number for a pointer: not RSP, not an operand; below 8 when the case has AH..BH (no REX). */
    private int freeNumber() {
        List<Integer> candidates = new ArrayList<>();
        int limit = legacyByteRegisters || compatibility() ? 8 : 16;
        for (int n = 0; n < limit; n++) {
            int number = n;
            if ((reserved & 1 << n) == 0 && operandRegisters.stream().noneMatch(r -> r.number() == number)) {
                candidates.add(n);
            }
        }
        int n = candidates.get(random.nextInt(candidates.size()));
        reserved |= 1 << n;
        return n;
    }

    /** The data-page offset of the memory operand chosen last. */
    int memoryOffset() {
        return memOffset;
    }

    void setMem(int size, long value) {
        setData(memOffset, size, value);
    }

    long getMem(int size) {
        long v = 0;
        for (int i = size - 1; i >= 0; i--) {
            v = v << 8 | (input.data[memOffset + i] & 0xFF);
        }
        return v;
    }

    void setData(int offset, int size, long value) {
        for (int i = 0; i < size; i++) {
            input.data[offset + i] = (byte) (value >>> (8 * i));
        }
    }

    // ---- values -----------------------------------------------------------------------------------------------------

    /** An operand value: an edge value half of the time, otherwise uniformly random. */
    long value(int size) {
        return random.nextBoolean() ? edge(size) : random.nextLong() & mask(size);
    }

    /** 0, 1, 2, -1, -2, the sign boundaries, single bits and their complements, alternating bits, small numbers. */
    long edge(int size) {
        int bits = 8 * size;
        long m = mask(size);
        long sign = 1L << (bits - 1);
        return switch (random.nextInt(13)) {
            case 0 -> 0;
            case 1 -> 1;
            case 2 -> 2;
            case 3 -> m;
            case 4 -> m - 1;
            case 5 -> sign;
            case 6 -> sign - 1;
            case 7 -> sign + 1;
            case 8 -> 1L << random.nextInt(bits);
            case 9 -> ~(1L << random.nextInt(bits)) & m;
            case 10 -> 0x5555_5555_5555_5555L & m;
            case 11 -> 0xAAAA_AAAA_AAAA_AAAAL & m;
            default -> random.nextInt(17);
        };
    }

    static long mask(int size) {
        return size == 8 ? -1L : (1L << (8 * size)) - 1;
    }

    static String sizeName(int size) {
        return switch (size) { case 1 -> "byte"; case 2 -> "word"; case 4 -> "dword"; case 8 -> "qword";
            case 10 -> "tbyte"; default -> size + "-byte"; };
    }

    // ---- what the SDM leaves undefined ------------------------------------------------------------------------------

    void undefinedFlags(long flags) {
        definedFlags &= ~flags;
    }

    void undefinedResult(Reg r) {
        undefinedRegisters |= 1 << r.number();
    }

    /** XMM register {@code r} receives RCPPS/RSQRTPS approximations (see {@link TestCase#approximateXmm}). */
    void approximateResult(int r) {
        approximateXmm |= 1 << r;
    }

    /**
     * Data-page bytes [from, to) whose value the SDM leaves to the implementation (or that this processor writes
     * otherwise than the SDM says, see the caller).
     */
    void undefinedData(int from, int to) {
        undefinedDataFrom = from;
        undefinedDataTo = to;
    }

    void undefinedMemoryResult(int size) {
        undefinedDataFrom = memOffset;
        undefinedDataTo = memOffset + size;
    }

    /** Bytes [from, to) of the stack page are undefined after the instruction. */
    void undefinedStack(int from, int to) {
        undefinedStackFrom = from;
        undefinedStackTo = to;
    }

    /** x87 status-word bits (condition codes) the SDM leaves undefined after this instruction. */
    void undefinedX87Status(int bits) {
        undefinedX87Status |= bits;
    }

    /** A transcendental result: within one unit in the last place (see {@link TestCase.X87Check#lastBit}). */
    void x87LastBit() {
        x87LastBit = true;
    }

    /** x87 status bits the SDM defines where this AMD processor differs (see {@link TestCase.X87Check}). */
    void intelOnlyX87Status(int bits) {
        intelOnlyX87Status |= bits;
    }

    void intelOnlyFlags(long flags) {
        intelOnlyFlags |= flags;
    }

    void intelOnlyX87State() {
        intelOnlyX87State = true;
    }

    /**
     * The instruction writes an FXSAVE image or XSAVE legacy region at this data-page offset, whose MXCSR_MASK is the
     * processor's own (see {@link TestCase#legacyRegion}).
     */
    void legacyRegionAt(int offset) {
        legacyRegion = offset;
    }

    /** A non-control x87 instruction: it sets the opcode and pointers (see {@link TestCase.X87Check}). */
    void x87SetsPointers() {
        x87SetsPointers = true;
    }
}
