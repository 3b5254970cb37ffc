package io.jvmx.vmx.emulated.differential;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.EnumSet;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * What a processor says about itself through CPUID (SDM Vol. 2A, CPUID, Tables 3-8 ff.): the vendor, the brand
 * string, and the features that decide whether an instruction form exists. Read from the native processor (which
 * forms can run at all) and from the software processor (whether a #UD is what its own CPUID promises).
 */
record HostCpu(String vendor, String brand, Set<Feature> features) {

    /** CPUID feature flags of the instructions tested here. */
    enum Feature {
        /** CPUID.01H:EDX.MMX[bit 23]. */
        MMX(0x1, 0, Register.EDX, 23),
        /** CPUID.01H:EDX.SSE[bit 25]. */
        SSE(0x1, 0, Register.EDX, 25),
        /** CPUID.01H:EDX.SSE2[bit 26]: the SSE2 vector instructions, and MOVNTI. */
        SSE2(0x1, 0, Register.EDX, 26),
        /** CPUID.01H:ECX.SSE3[bit 0]: the SSE3 instructions, and the x87 FISTTP. */
        SSE3(0x1, 0, Register.ECX, 0),
        /** CPUID.01H:ECX.SSSE3[bit 9]. */
        SSSE3(0x1, 0, Register.ECX, 9),
        /** CPUID.01H:ECX.SSE4_1[bit 19]. */
        SSE41(0x1, 0, Register.ECX, 19),
        /** CPUID.01H:ECX.SSE4_2[bit 20]: the SSE4.2 vector instructions, and CRC32. */
        SSE42(0x1, 0, Register.ECX, 20),
        /** CPUID.01H:ECX.XSAVE[bit 26]. */
        XSAVE(0x1, 0, Register.ECX, 26),
        /** CPUID.(EAX=0DH, ECX=1):EAX.XSAVEOPT[bit 0]. */
        XSAVEOPT(0xD, 1, Register.EAX, 0),
        /** CPUID.(EAX=0DH, ECX=1):EAX.XSAVEC[bit 1]. */
        XSAVEC(0xD, 1, Register.EAX, 1),
        /** CPUID.01H:ECX.POPCNT[bit 23]. */
        POPCNT(0x1, 0, Register.ECX, 23),
        /** CPUID.01H:ECX.MOVBE[bit 22]. */
        MOVBE(0x1, 0, Register.ECX, 22),
        /** CPUID.80000001H:ECX.LAHF-SAHF[bit 0]: LAHF/SAHF in 64-bit mode. */
        LAHF_SAHF(0x8000_0001, 0, Register.ECX, 0),
        /** CPUID.80000001H:ECX.LZCNT[bit 5] (AMD: ABM). */
        LZCNT(0x8000_0001, 0, Register.ECX, 5),
        /** CPUID.(EAX=07H, ECX=0):EBX.FSGSBASE[bit 0]: RDFSBASE RDGSBASE WRFSBASE WRGSBASE (with CR4.FSGSBASE). */
        FSGSBASE(0x7, 0, Register.EBX, 0),
        /** CPUID.(EAX=07H, ECX=0):EBX.BMI1[bit 3]: ANDN BEXTR BLSI BLSMSK BLSR TZCNT. */
        BMI1(0x7, 0, Register.EBX, 3),
        /** CPUID.(EAX=07H, ECX=0):EBX.BMI2[bit 8]: BZHI MULX PDEP PEXT RORX SARX SHLX SHRX. */
        BMI2(0x7, 0, Register.EBX, 8),
        /** CPUID.(EAX=07H, ECX=0):EBX.CLFLUSHOPT[bit 23]. */
        CLFLUSHOPT(0x7, 0, Register.EBX, 23),
        /** CPUID.(EAX=07H, ECX=0):EBX.CLWB[bit 24]. */
        CLWB(0x7, 0, Register.EBX, 24),
        /** CPUID.(EAX=07H, ECX=0):EBX.ADX[bit 19]: ADCX ADOX. */
        ADX(0x7, 0, Register.EBX, 19);

        final int leaf;
        final int subleaf;
        final Register register;
        final int bit;

        Feature(int leaf, int subleaf, Register register, int bit) {
            this.leaf = leaf;
            this.subleaf = subleaf;
            this.register = register;
            this.bit = bit;
        }
    }

    enum Register { EAX, EBX, ECX, EDX }

    static final String INTEL = "GenuineIntel";

    boolean intel() {
        return INTEL.equals(vendor);
    }

    boolean has(Feature f) {
        return features.contains(f);
    }

    static HostCpu of(NativeCpu cpu) {
        return of(cpu::cpuid);
    }

    static HostCpu of(InterpreterCpu cpu) {
        return of(cpu::cpuid);
    }

    /** {@code cpuid} returns EAX EBX ECX EDX for (leaf, subleaf). */
    static HostCpu of(BiFunction<Integer, Integer, int[]> cpuid) {
        int[] leaf0 = cpuid.apply(0, 0);
        String vendor = ascii(leaf0[1], leaf0[3], leaf0[2]);
        int maxBasic = leaf0[0];
        int maxExtended = cpuid.apply(0x8000_0000, 0)[0];
        StringBuilder brand = new StringBuilder();
        if (Integer.compareUnsigned(maxExtended, 0x8000_0004) >= 0) {
            for (int leaf = 0x8000_0002; leaf <= 0x8000_0004; leaf++) {
                int[] r = cpuid.apply(leaf, 0);
                brand.append(ascii(r[0], r[1], r[2], r[3]));
            }
        }
        EnumSet<Feature> features = EnumSet.noneOf(Feature.class);
        for (Feature f : Feature.values()) {
            boolean extended = f.leaf < 0;
            int max = extended ? maxExtended : maxBasic;
            if (Integer.compareUnsigned(f.leaf, max) > 0) {
                continue;
            }
            int[] r = cpuid.apply(f.leaf, f.subleaf);
            if ((r[f.register.ordinal()] >>> f.bit & 1) != 0) {
                features.add(f);
            }
        }
        return new HostCpu(vendor, brand.toString().replace("\0", "").trim(), features);
    }

    private static String ascii(int... registers) {
        ByteBuffer b = ByteBuffer.allocate(4 * registers.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int r : registers) {
            b.putInt(r);
        }
        return new String(b.array(), StandardCharsets.US_ASCII);
    }
}
