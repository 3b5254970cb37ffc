package io.jvmx.vmx.api.msr;

/**
 * One control-capability MSR (IA32_VMX_PINBASED_CTLS and its kin; SDM Vol. 3D, A.3-A.5): bits 31:0 are the
 * allowed 0-settings (a 1 there means the control must be 1), bits 63:32 the allowed 1-settings (a 0 there means
 * the control must be 0). {@link #adjust} is the algorithm of SDM Vol. 3D, A.2 / Vol. 3C, 32.5.1.
 */
public record VmxControlCapability(String name, int allowed0, int allowed1) {

    public static VmxControlCapability decode(String name, long msr) {
        return new VmxControlCapability(name, (int) msr, (int) (msr >>> 32));
    }

    public long encode() {
        return (allowed0 & 0xFFFF_FFFFL) | ((long) allowed1 << 32);
    }

    /** Controls that must be 1. */
    public int mustBeOne() {
        return allowed0;
    }

    /** Controls that may be 1. */
    public int mayBeOne() {
        return allowed1;
    }

    public boolean isValid(int controls) {
        return (controls & allowed0) == allowed0 && (controls & ~allowed1) == 0;
    }

    /**
     * The control word for a request: the bits in {@code set} are 1, the bits in {@code clear} are 0, every
     * other bit takes its required value (1 if it must be 1, else 0).
     *
     * @throws IllegalArgumentException if a bit is both requested and refused, or the processor cannot give
     *                                  what is asked (a bit in {@code set} the processor cannot set, or a bit in
     *                                  {@code clear} it must set); the message names the bits
     */
    public int adjust(int set, int clear) {
        if ((set & clear) != 0) {
            throw new IllegalArgumentException(String.format("%s: bits %#x requested both set and clear", name,
                    set & clear));
        }
        int cannotSet = set & ~allowed1;
        if (cannotSet != 0) {
            throw new IllegalArgumentException(String.format(
                    "%s: the processor does not allow bits %#x to be 1 (allowed-1 settings %#x)", name, cannotSet,
                    allowed1));
        }
        int cannotClear = clear & allowed0;
        if (cannotClear != 0) {
            throw new IllegalArgumentException(String.format(
                    "%s: the processor requires bits %#x to be 1 (allowed-0 settings %#x)", name, cannotClear,
                    allowed0));
        }
        return set | allowed0;
    }
}
