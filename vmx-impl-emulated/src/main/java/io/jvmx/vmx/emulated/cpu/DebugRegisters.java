package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Dr7;

/**
 * The debug registers (SDM Vol. 3B, 18.2): the breakpoint addresses DR0-DR3, the debug status DR6, and what the
 * debug control DR7 (kept in {@link CpuState#dr7}: it is VMCS guest state) arms. DR7 is decoded here once per change
 * (MOV to DR7, VM entry) into what execution needs: whether any instruction, data or I/O breakpoint is enabled, so
 * that code that uses none pays nothing.
 *
 * <p>Instruction breakpoints (R/W = 00) are faults checked before an instruction executes unless RF = 1; data
 * breakpoints (R/W = 01 writes, 11 reads and writes) and I/O breakpoints (R/W = 10 with CR4.DE = 1) are traps reported
 * after the instruction (or REP iteration) that matched (18.2.4, 18.3.1.1). A data breakpoint covers the 1, 2, 4 or 8
 * bytes its LEN field says, at the address DRn holds with the low bits ignored (18.2.5).
 */
final class DebugRegisters {
    /** DR6 bits (SDM 18.2.3): B0-B3, BD (debug register access detected), BS (single step), BT (task switch). */
    static final int B0_B3 = 0xF, BD = 1 << 13, BS = 1 << 14, BT = 1 << 15;
    /** DR6 reads these bits as 1 (bits 11:4 and 31:16; RTM, bit 16, is 1 when no RTM event is reported). */
    static final long DR6_FIXED_1 = 0xFFFF_0FF0L;
    /** DR7.GD, general detect enable (bit 13). */
    static final long DR7_GD = 1L << 13;
    /** The pending-debug-exceptions format (SDM Vol. 3C 25.4.2, Table 25-4): bit 12 enabled breakpoint, 14 BS. */
    static final long PENDING_ENABLED_BREAKPOINT = 1L << 12, PENDING_BS = 1L << 14;

    private final CpuState s;
    private Mmu m;
    private Executor x;

    final long[] dr = new long[4];
    long dr6 = DR6_FIXED_1;

    /** Some data breakpoint is enabled: data accesses to the pages they cover are matched in Mmu. */
    boolean watching;
    /** Some instruction breakpoint is enabled: blocks are single instructions checked before they execute. */
    boolean instructionBreakpoints;
    /** Some I/O breakpoint is enabled (CR4.DE = 1). */
    boolean ioBreakpoints;
    /** B0-B3 of the data and I/O breakpoints the current instruction matched: its trap, once it completes. */
    int hits;

    private int execMask, dataMask, writeOnlyMask, ioMask;
    private final long[] first = new long[4];
    private final long[] last = new long[4];

    DebugRegisters(CpuState s) {
        this.s = s;
    }

    void attach(Mmu mmu, Executor executor) {
        this.m = mmu;
        this.x = executor;
        reload();
    }

    /**
     * Decodes DR7 and DR0-DR3 (after MOV to DR0-DR3/DR7, a task switch clearing local enables, or VM entry loading
     * DR7). A change of the watched pages drops the TLB, whose entries for watched pages carry no data rights.
     */
    void reload() {
        long dr7 = s.dr7;
        boolean de = (s.cr4 & Cr4.DE) != 0;
        int exec = 0, data = 0, writeOnly = 0, io = 0;
        boolean moved = false;
        for (int n = 0; n < 4; n++) {
            if (!Dr7.enabled(dr7, n)) {
                continue;
            }
            int rw = Dr7.condition(dr7, n);
            int len = Dr7.lengthBytes(dr7, n);
            long lo;
            switch (rw) {
                case 0:
                    exec |= 1 << n;
                    continue;
                case 1:
                case 3:
                    data |= 1 << n;
                    if (rw == 1) {
                        writeOnly |= 1 << n;
                    }
                    lo = dr[n] & -len;
                    break;
                default:
                    // R/W = 10: I/O breakpoints with CR4.DE = 1; undefined without it (treated as no breakpoint)
                    if (!de) {
                        continue;
                    }
                    io |= 1 << n;
                    lo = Dr7.ioFirstPort(dr[n], len);
                    break;
            }
            moved |= first[n] != lo || last[n] != lo + len - 1;
            first[n] = lo;
            last[n] = lo + len - 1;
        }
        boolean watchChanged = data != dataMask || (data != 0 && moved);
        execMask = exec;
        dataMask = data;
        writeOnlyMask = writeOnly;
        ioMask = io;
        watching = data != 0;
        instructionBreakpoints = exec != 0;
        ioBreakpoints = io != 0;
        if (watchChanged && m != null) {
            m.flush();
        }
    }

    /** MOV to DR0-DR3. */
    void setAddress(int n, long value) {
        dr[n] = value;
        reload();
    }

    /** Whether a data breakpoint covers any byte of the 4-KiB page of {@code linear}. */
    boolean watches(long linear) {
        long page = linear >>> 12;
        for (int n = 0; n < 4; n++) {
            if ((dataMask & (1 << n)) != 0 && ((first[n] >>> 12) == page || (last[n] >>> 12) == page)) {
                return true;
            }
        }
        return false;
    }

    /** A data access of {@code size} bytes at {@code linear}: records the data breakpoints it matches. */
    void dataAccess(long linear, int size, boolean write) {
        long end = linear + size - 1;
        int matched = 0;
        for (int n = 0; n < 4; n++) {
            int bit = 1 << n;
            if ((dataMask & bit) != 0 && (write || (writeOnlyMask & bit) == 0) && linear <= last[n]
                    && end >= first[n]) {
                matched |= bit;
            }
        }
        if (matched != 0) {
            hits |= matched;
            x.budgetLeft = 1; // the trap follows this instruction: end the block with it
        }
    }

    /** An I/O access of {@code size} bytes at {@code port}: records the I/O breakpoints it matches. */
    void ioAccess(int port, int size) {
        int end = port + size - 1;
        for (int n = 0; n < 4; n++) {
            if ((ioMask & (1 << n)) != 0 && port <= last[n] && end >= first[n]) {
                hits |= 1 << n;
                x.budgetLeft = 1;
            }
        }
    }

    /** The enabled instruction breakpoints whose address is {@code linear} (B0-B3 bits). */
    int instructionMatch(long linear) {
        int matched = 0;
        for (int n = 0; n < 4; n++) {
            if ((execMask & (1 << n)) != 0 && dr[n] == linear) {
                matched |= 1 << n;
            }
        }
        return matched;
    }

    /** DR6 after a debug exception is delivered (SDM 18.2.3): B0-B3 report this exception; BD, BS, BT accumulate. */
    void report(int bits) {
        dr6 = (dr6 & ~(long) B0_B3) | bits | DR6_FIXED_1;
    }

    /** MOV to DR6: the reserved bits keep their fixed values. */
    void setDr6(long value) {
        dr6 = (value | DR6_FIXED_1) & 0xFFFF_FFFFL & ~(1L << 12);
    }
}
