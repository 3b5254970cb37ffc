package io.jvmx.vmx.api.spi;

/** A CPUID leaf (EAX) and subleaf (ECX; 0 where the leaf has no subleaves). */
public record CpuidLeaf(int leaf, int subleaf) {
    @Override
    public String toString() {
        return String.format("%#x.%d", leaf, subleaf);
    }
}
