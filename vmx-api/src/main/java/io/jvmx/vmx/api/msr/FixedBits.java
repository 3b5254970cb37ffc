package io.jvmx.vmx.api.msr;

/**
 * A FIXED0/FIXED1 pair for CR0 or CR4 (SDM Vol. 3D, A.7 and A.8): a bit that is 1 in FIXED0 must be 1 in the
 * register; a bit that is 0 in FIXED1 must be 0. Checked before VMXON and at VM entry.
 */
public record FixedBits(String register, long fixed0, long fixed1) {

    public boolean accepts(long value) {
        return (value & fixed0) == fixed0 && (value & ~fixed1) == 0;
    }

    /** A human description of what {@code value} gets wrong, or null if it is acceptable. */
    public String violation(long value) {
        long missing = fixed0 & ~value;
        long forbidden = value & ~fixed1;
        if (missing == 0 && forbidden == 0) {
            return null;
        }
        StringBuilder sb = new StringBuilder(register).append(String.format(" = %#x:", value));
        if (missing != 0) {
            sb.append(String.format(" bits %#x must be 1 (FIXED0 %#x)", missing, fixed0));
        }
        if (forbidden != 0) {
            sb.append(String.format(" bits %#x must be 0 (FIXED1 %#x)", forbidden, fixed1));
        }
        return sb.toString();
    }

    /** {@code value} with the fixed bits forced. */
    public long apply(long value) {
        return (value | fixed0) & fixed1;
    }
}
