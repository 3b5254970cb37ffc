package io.jvmx.vmx.api.spi;

/** The four registers CPUID returns. */
public record CpuidResult(int eax, int ebx, int ecx, int edx) {

    public static final CpuidResult ZERO = new CpuidResult(0, 0, 0, 0);

    public CpuidResult withEax(int v) { return new CpuidResult(v, ebx, ecx, edx); }
    public CpuidResult withEbx(int v) { return new CpuidResult(eax, v, ecx, edx); }
    public CpuidResult withEcx(int v) { return new CpuidResult(eax, ebx, v, edx); }
    public CpuidResult withEdx(int v) { return new CpuidResult(eax, ebx, ecx, v); }

    /** Four ASCII characters packed little-endian into a register, as vendor strings are. */
    public static int ascii4(String s, int offset) {
        int v = 0;
        for (int i = 3; i >= 0; i--) {
            v = (v << 8) | (s.charAt(offset + i) & 0xFF);
        }
        return v;
    }

    @Override
    public String toString() {
        return String.format("eax=%#010x ebx=%#010x ecx=%#010x edx=%#010x", eax, ebx, ecx, edx);
    }
}
