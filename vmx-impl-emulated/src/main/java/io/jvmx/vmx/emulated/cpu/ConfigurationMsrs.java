package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.msr.Msr;

/**
 * The MSRs that configure the processor and have no instruction of their own: the memory type range registers
 * (SDM Vol. 3A 12.11: IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, eight variable ranges, the eleven fixed-range registers) and
 * IA32_MISC_ENABLE (SDM Vol. 4, Table 2-2). RDMSR and WRMSR in the guest (SystemOps) and the VMM's root-mode
 * accesses (vmx.ModelSpecificRegisters) both go through here, so both see the same registers and the same checks.
 *
 * <p>Memory types change nothing in this processor: it has no caches, so every type behaves as the SDM requires of
 * the strongest one. The registers hold what software wrote, with the SDM's #GP rules for reserved bits and types, so
 * that firmware-like code and operating systems that program them (Linux's mtrr and PAT code) run as on hardware.
 */
public final class ConfigurationMsrs {

    /** Variable-range MTRR pairs (IA32_MTRRCAP.VCNT). */
    public static final int VARIABLE_RANGES = 8;
    /** IA32_MTRRCAP (SDM 12.11.1, Figure 12-5): VCNT 8, FIX (bit 8), WC (bit 10); no SMRR (bit 11). */
    public static final long MTRRCAP = VARIABLE_RANGES | 1L << 8 | 1L << 10;
    /** IA32_MTRR_DEF_TYPE (12.11.2.1): type 7:0, FE (fixed ranges enabled) bit 10, E (MTRRs enabled) bit 11. */
    public static final long DEF_TYPE_BITS = 0xFFL | 1L << 10 | 1L << 11;
    /** IA32_MTRR_PHYSMASKn bit 11: the range is valid (12.11.2.3). */
    public static final long PHYSMASK_VALID = 1L << 11;

    /** IA32_MISC_ENABLE bits (SDM Vol. 4 Table 2-2). */
    public static final long MISC_FAST_STRINGS = 1L, MISC_AUTOMATIC_THERMAL_CONTROL = 1L << 3,
            MISC_PERFMON_AVAILABLE = 1L << 7, MISC_BTS_UNAVAILABLE = 1L << 11, MISC_PEBS_UNAVAILABLE = 1L << 12,
            MISC_ENHANCED_SPEEDSTEP = 1L << 16, MISC_MONITOR_FSM = 1L << 18, MISC_LIMIT_CPUID_MAXVAL = 1L << 22,
            MISC_XTPR_DISABLE = 1L << 23, MISC_XD_DISABLE = 1L << 34;
    /**
     * What this processor reports: fast strings on, no performance monitoring (no BTS, no PEBS), MONITOR/MWAIT on
     * (CPUID.01H:ECX.MONITOR is 1).
     */
    public static final long MISC_ENABLE_RESET = MISC_FAST_STRINGS | MISC_BTS_UNAVAILABLE | MISC_PEBS_UNAVAILABLE
            | MISC_MONITOR_FSM;
    /** Bits software may change: none of them changes what the guest can observe here (no power or thermal control). */
    static final long MISC_WRITABLE = MISC_FAST_STRINGS | MISC_AUTOMATIC_THERMAL_CONTROL | MISC_ENHANCED_SPEEDSTEP
            | MISC_XTPR_DISABLE;
    /** Bits that exist but are read-only here: a write keeps them (MONITOR FSM stays 1: MONITOR/MWAIT exist). */
    static final long MISC_READ_ONLY = MISC_PERFMON_AVAILABLE | MISC_BTS_UNAVAILABLE | MISC_PEBS_UNAVAILABLE
            | MISC_MONITOR_FSM;
    /**
     * Defined bits whose 1 would change CPUID or paging (CPUID max leaf 2, XD hidden), which this processor does not
     * model: writing 1 is #GP, 0 is what they hold.
     */
    static final long MISC_UNSUPPORTED = MISC_LIMIT_CPUID_MAXVAL | MISC_XD_DISABLE;

    private static final long PHYSICAL_ADDRESS_RESERVED = -1L << X86Interpreter.MAXPHYADDR;

    private long defType;
    private final long[] fixed = new long[11];
    private final long[] variable = new long[2 * VARIABLE_RANGES];
    private long miscEnable = MISC_ENABLE_RESET;

    /** Whether {@code msr} is one of these registers. */
    public static boolean has(int msr) {
        return msr == Msr.IA32_MTRRCAP || msr == Msr.IA32_MTRR_DEF_TYPE || msr == Msr.IA32_MISC_ENABLE
                || fixedIndex(msr) >= 0
                || (msr >= Msr.IA32_MTRR_PHYSBASE0 && msr < Msr.IA32_MTRR_PHYSBASE0 + 2 * VARIABLE_RANGES);
    }

    /** RDMSR of one of these registers ({@link #has} must be true). */
    public long read(int msr) {
        if (msr == Msr.IA32_MTRRCAP) {
            return MTRRCAP;
        }
        if (msr == Msr.IA32_MTRR_DEF_TYPE) {
            return defType;
        }
        if (msr == Msr.IA32_MISC_ENABLE) {
            return miscEnable;
        }
        int f = fixedIndex(msr);
        if (f >= 0) {
            return fixed[f];
        }
        return variable[msr - Msr.IA32_MTRR_PHYSBASE0];
    }

    /**
     * WRMSR of one of these registers ({@link #has} must be true).
     *
     * @return null if written; otherwise why the WRMSR raises #GP(0) (nothing was written)
     */
    public String write(int msr, long value) {
        if (msr == Msr.IA32_MTRRCAP) {
            return "IA32_MTRRCAP is read-only";
        }
        if (msr == Msr.IA32_MTRR_DEF_TYPE) {
            if ((value & ~DEF_TYPE_BITS) != 0) {
                return String.format("IA32_MTRR_DEF_TYPE %#x sets reserved bits", value);
            }
            if (!validMtrrType((int) value & 0xFF)) {
                return String.format("IA32_MTRR_DEF_TYPE %#x: %d is not a memory type", value, value & 0xFF);
            }
            defType = value;
            return null;
        }
        if (msr == Msr.IA32_MISC_ENABLE) {
            return writeMiscEnable(value);
        }
        int f = fixedIndex(msr);
        if (f >= 0) {
            for (int i = 0; i < 8; i++) {
                if (!validMtrrType((int) (value >>> (8 * i)) & 0xFF)) {
                    return String.format("fixed-range MTRR %#x: byte %d of %#x is not a memory type", msr, i, value);
                }
            }
            fixed[f] = value;
            return null;
        }
        int v = msr - Msr.IA32_MTRR_PHYSBASE0;
        boolean base = (v & 1) == 0;
        // 12.11.2.3: PHYSBASE holds the type in 7:0 and the base in MAXPHYADDR-1:12 (11:8 reserved); PHYSMASK the
        // valid flag in 11 and the mask in MAXPHYADDR-1:12 (10:0 reserved)
        long reserved = PHYSICAL_ADDRESS_RESERVED | (base ? 0xF00L : 0x7FFL);
        if ((value & reserved) != 0) {
            return String.format("IA32_MTRR_PHYS%s%d %#x sets reserved bits", base ? "BASE" : "MASK", v >> 1, value);
        }
        if (base && !validMtrrType((int) value & 0xFF)) {
            return String.format("IA32_MTRR_PHYSBASE%d %#x: %d is not a memory type", v >> 1, value, value & 0xFF);
        }
        variable[v] = value;
        return null;
    }

    private String writeMiscEnable(long value) {
        long changed = value ^ miscEnable;
        if ((value & MISC_UNSUPPORTED) != 0) {
            return String.format("IA32_MISC_ENABLE %#x: limiting CPUID or disabling XD is not implemented", value);
        }
        if ((changed & ~(MISC_WRITABLE | MISC_READ_ONLY)) != 0) {
            return String.format("IA32_MISC_ENABLE %#x sets reserved bits", value);
        }
        miscEnable = (value & MISC_WRITABLE) | (miscEnable & MISC_READ_ONLY);
        return null;
    }

    /** Memory types an MTRR may hold (SDM 12.11.1, Table 12-8): UC 0, WC 1, WT 4, WP 5, WB 6. */
    public static boolean validMtrrType(int type) {
        return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
    }

    /** Memory types a PAT entry may hold (SDM 12.12.2, Table 12-10): the MTRR types and UC- (7). */
    public static boolean validPat(long pat) {
        for (int i = 0; i < 8; i++) {
            int t = (int) (pat >>> (8 * i)) & 0xFF;
            if (t != 7 && !validMtrrType(t)) {
                return false;
            }
        }
        return true;
    }

    /** The fixed-range MTRRs (12.11.2.2): 250H, 258H, 259H, 268H-26FH as index 0-10, or -1. */
    private static int fixedIndex(int msr) {
        if (msr == Msr.IA32_MTRR_FIX64K_00000) {
            return 0;
        }
        if (msr == Msr.IA32_MTRR_FIX16K_80000 || msr == Msr.IA32_MTRR_FIX16K_A0000) {
            return 1 + msr - Msr.IA32_MTRR_FIX16K_80000;
        }
        if (msr >= Msr.IA32_MTRR_FIX4K_C0000 && msr <= Msr.IA32_MTRR_FIX4K_F8000) {
            return 3 + msr - Msr.IA32_MTRR_FIX4K_C0000;
        }
        return -1;
    }
}
