package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.emulated.cpu.X86Interpreter;

/**
 * What the software processor is, as CPUID reports it (SDM Vol. 2A, CPUID). Every feature flag stands for something
 * the interpreter implements; nothing is advertised that does not exist: no AVX. The x87 FPU (FPU) with FXSAVE/FXRSTOR
 * (FXSR), MMX, SSE through SSE4.2 (CRC32 and POPCNT included) and the XSAVE feature set (XSAVE, XSAVEOPT, XSAVEC,
 * XGETBV with ECX = 1) for the x87 and SSE state components exist, and so do the VEX-encoded general-purpose
 * instructions of BMI1 and BMI2 (no other VEX instruction), ADX, LZCNT and MOVBE. The MTRRs and PAT are registers of
 * this processor (cpu.ConfigurationMsrs, IA32_PAT). There is no local APIC: in VMX the guest's local APIC is the
 * VMM's device (the local-apic bundle, which adds CPUID.01H:EDX.APIC, ECX.x2APIC and ECX.TSC-deadline to what the
 * VMM's CPUID policy reports while it is there).
 *
 * <p>Vendor string "JvmxSoftCPU!" (12 characters): this is not an Intel part, so it does not claim to be one.
 * Family 6, model 0x0F, stepping 1. MAXPHYADDR and the CR4/EFER bits come from the interpreter.
 */
final class ProcessorModel {
    private ProcessorModel() {
    }

    static final String VENDOR = "JvmxSoftCPU!";
    static final String BRAND = "jvmx software VMX processor";
    static final int MAX_BASIC_LEAF = 0xD;
    static final int MAX_EXTENDED_LEAF = 0x8000_0008;
    static final int PHYSICAL_ADDRESS_WIDTH = X86Interpreter.MAXPHYADDR;
    static final int LINEAR_ADDRESS_WIDTH = 48;
    /** Family 6, model 0xF, stepping 1 (EAX of leaf 1: stepping 3:0, model 7:4, family 11:8). */
    static final int SIGNATURE = 0x0000_06F1;

    // ---- leaf 1 EDX (SDM Vol. 2A, Table 3-11) --------------------------------------------------------------------
    static final int EDX1_FPU = 1, EDX1_VME = 1 << 1, EDX1_DE = 1 << 2, EDX1_PSE = 1 << 3, EDX1_TSC = 1 << 4, EDX1_MSR = 1 << 5,
            EDX1_PAE = 1 << 6, EDX1_MCE = 1 << 7, EDX1_CX8 = 1 << 8, EDX1_APIC = 1 << 9, EDX1_SEP = 1 << 11,
            EDX1_MTRR = 1 << 12, EDX1_PGE = 1 << 13, EDX1_CMOV = 1 << 15, EDX1_PAT = 1 << 16, EDX1_PSE36 = 1 << 17,
            EDX1_CLFSH = 1 << 19, EDX1_MMX = 1 << 23, EDX1_FXSR = 1 << 24, EDX1_SSE = 1 << 25, EDX1_SSE2 = 1 << 26;
    // ---- leaf 1 ECX (Table 3-10) ------------------------------------------------------------------------------------
    static final int ECX1_SSE3 = 1, ECX1_SSSE3 = 1 << 9, ECX1_SSE41 = 1 << 19, ECX1_SSE42 = 1 << 20;
    static final int ECX1_MONITOR = 1 << 3, ECX1_VMX = 1 << 5, ECX1_CX16 = 1 << 13, ECX1_PCID = 1 << 17,
            ECX1_MOVBE = 1 << 22,
            ECX1_POPCNT = 1 << 23, ECX1_XSAVE = 1 << 26, ECX1_OSXSAVE = 1 << 27, ECX1_RDRAND = 1 << 30;
    // ---- leaf 0x80000001 ------------------------------------------------------------------------------------------
    static final int EDX81_SYSCALL = 1 << 11, EDX81_NX = 1 << 20, EDX81_PAGE1GB = 1 << 26, EDX81_RDTSCP = 1 << 27,
            EDX81_LM = 1 << 29;
    static final int ECX81_LAHF = 1, ECX81_LZCNT = 1 << 5;
    // ---- leaf 7 sub-leaf 0 ------------------------------------------------------------------------------------------
    static final int EBX7_FSGSBASE = 1, EBX7_BMI1 = 1 << 3, EBX7_SMEP = 1 << 7, EBX7_BMI2 = 1 << 8,
            EBX7_INVPCID = 1 << 10, EBX7_RDSEED = 1 << 18, EBX7_ADX = 1 << 19, EBX7_SMAP = 1 << 20,
            EBX7_CLFLUSHOPT = 1 << 23, EBX7_CLWB = 1 << 24;
    static final int ECX7_UMIP = 1 << 2;

    /** Leaf 1 EDX: the instruction-set and system features the interpreter implements. */
    static final int LEAF1_EDX = EDX1_FPU | EDX1_VME | EDX1_DE | EDX1_PSE | EDX1_TSC | EDX1_MSR | EDX1_PAE | EDX1_MCE | EDX1_CX8
            | EDX1_SEP | EDX1_MTRR | EDX1_PGE | EDX1_CMOV | EDX1_PAT | EDX1_PSE36 | EDX1_CLFSH | EDX1_MMX | EDX1_FXSR
            | EDX1_SSE | EDX1_SSE2;
    /** Leaf 1 ECX without OSXSAVE (which mirrors CR4.OSXSAVE). */
    static final int LEAF1_ECX = ECX1_MONITOR | ECX1_VMX | ECX1_CX16 | ECX1_PCID | ECX1_MOVBE | ECX1_POPCNT
            | ECX1_XSAVE | ECX1_RDRAND | ECX1_SSE3 | ECX1_SSSE3 | ECX1_SSE41 | ECX1_SSE42;
    static final int LEAF7_EBX = EBX7_FSGSBASE | EBX7_BMI1 | EBX7_SMEP | EBX7_BMI2 | EBX7_INVPCID | EBX7_RDSEED
            | EBX7_ADX | EBX7_SMAP | EBX7_CLFLUSHOPT | EBX7_CLWB;
    static final int LEAF7_ECX = ECX7_UMIP;
    static final int EXT1_EDX = EDX81_SYSCALL | EDX81_NX | EDX81_PAGE1GB | EDX81_RDTSCP | EDX81_LM;
    static final int EXT1_ECX = ECX81_LAHF | ECX81_LZCNT;

    static final boolean RDTSCP = (EXT1_EDX & EDX81_RDTSCP) != 0;
    static final boolean RDRAND = (LEAF1_ECX & ECX1_RDRAND) != 0;
    static final boolean RDSEED = (LEAF7_EBX & EBX7_RDSEED) != 0;
    static final boolean SYSENTER = (LEAF1_EDX & EDX1_SEP) != 0;
    static final boolean SYSCALL = (EXT1_EDX & EDX81_SYSCALL) != 0;
    static final boolean INVPCID = (LEAF7_EBX & EBX7_INVPCID) != 0;

    /** XCR0 components XSETBV accepts (leaf 0xD sub-leaf 0 EAX): x87 and SSE state. */
    static final long XCR0_SUPPORTED = Xcr0.X87 | Xcr0.SSE;

    /**
     * CR4 bits the processor implements: IA32_VMX_CR4_FIXED1 (SDM A.8) and the MOV-to-CR4 reserved-bit check: the
     * interpreter's set, OSFXSR (FXSAVE/FXRSTOR with the SSE state; SSE instructions) and OSXMMEXCPT (#XM) included.
     */
    static final long CR4_IMPLEMENTED = X86Interpreter.CR4_SUPPORTED;

    /** IA32_EFER bits that exist: SCE, LME, LMA, NXE. */
    static final long EFER_IMPLEMENTED = X86Interpreter.EFER_SUPPORTED;

    /** Bits of a physical address above MAXPHYADDR: must be 0 in every pointer the VMX checks look at. */
    static final long PHYSICAL_ADDRESS_RESERVED = -1L << PHYSICAL_ADDRESS_WIDTH;

    static boolean physicalAddressValid(long pa) {
        return (pa & PHYSICAL_ADDRESS_RESERVED) == 0;
    }

    /** Canonical: bits 63:47 all equal (48-bit linear addresses). */
    static boolean canonical(long la) {
        return (la << (64 - LINEAR_ADDRESS_WIDTH)) >> (64 - LINEAR_ADDRESS_WIDTH) == la;
    }

    /** Leaf 0xD sub-leaf 1 EAX (SDM Vol. 2A, CPUID): XSAVEOPT (bit 0), XSAVEC (1), XGETBV with ECX = 1 (2). */
    static final int LEAF_D1_EAX = 0b111;

    /** Size of the XSAVE area for the components in {@code xcr0}: legacy region 512 + header 64 (SDM Vol. 1, 13.4). */
    static int xsaveAreaSize(long xcr0) {
        return 576; // x87 and SSE live in the legacy region
    }

    /** CPUID executed in this processor (root or, for the VMM's own use, on behalf of a guest). */
    static CpuidResult cpuid(int leaf, int subleaf, long cr4, long xcr0) {
        if (Integer.compareUnsigned(leaf, MAX_EXTENDED_LEAF) > 0
                || (Integer.compareUnsigned(leaf, MAX_BASIC_LEAF) > 0 && Integer.compareUnsigned(leaf, 0x8000_0000) < 0)) {
            // SDM Vol. 2A CPUID: an input above the maximum returns the data of the highest basic leaf.
            leaf = MAX_BASIC_LEAF;
            subleaf = 0;
        }
        switch (leaf) {
            case 0:
                return new CpuidResult(MAX_BASIC_LEAF, CpuidResult.ascii4(VENDOR, 0), CpuidResult.ascii4(VENDOR, 8),
                        CpuidResult.ascii4(VENDOR, 4));
            case 1: {
                int ecx = LEAF1_ECX | ((cr4 & Cr4.OSXSAVE) != 0 ? ECX1_OSXSAVE : 0);
                // EBX: CLFLUSH line size 7:0 (in 8-byte units, only with CLFSH), one logical processor, APIC ID 0.
                int ebx = (1 << 16) | ((LEAF1_EDX & EDX1_CLFSH) != 0 ? 8 << 8 : 0);
                return new CpuidResult(SIGNATURE, ebx, ecx, LEAF1_EDX);
            }
            case 7:
                return subleaf == 0 ? new CpuidResult(0, LEAF7_EBX, LEAF7_ECX, 0) : CpuidResult.ZERO;
            case 0xD:
                switch (subleaf) {
                    case 0:
                        return new CpuidResult((int) XCR0_SUPPORTED, xsaveAreaSize(xcr0),
                                xsaveAreaSize(XCR0_SUPPORTED), (int) (XCR0_SUPPORTED >>> 32));
                    case 1: // EAX: XSAVEOPT, XSAVEC, XGETBV with ECX = 1 (no XSAVES); EBX: the compacted size
                        return new CpuidResult(LEAF_D1_EAX, xsaveAreaSize(xcr0), 0, 0);
                    default: // x87 and SSE live in the legacy region; no other component is supported
                        return CpuidResult.ZERO;
                }
            case 0x8000_0000:
                return new CpuidResult(MAX_EXTENDED_LEAF, 0, 0, 0);
            case 0x8000_0001:
                return new CpuidResult(0, 0, EXT1_ECX, EXT1_EDX);
            case 0x8000_0002:
            case 0x8000_0003:
            case 0x8000_0004: {
                String brand = String.format("%-47s", BRAND) + '\0';
                int o = (leaf - 0x8000_0002) * 16;
                return new CpuidResult(CpuidResult.ascii4(brand, o), CpuidResult.ascii4(brand, o + 4),
                        CpuidResult.ascii4(brand, o + 8), CpuidResult.ascii4(brand, o + 12));
            }
            case 0x8000_0008:
                return new CpuidResult(PHYSICAL_ADDRESS_WIDTH | (LINEAR_ADDRESS_WIDTH << 8), 0, 0, 0);
            default: // leaves 2-6, 8-0xC and 0x80000005-7 describe caches, power and topology: nothing to report
                return CpuidResult.ZERO;
        }
    }
}
