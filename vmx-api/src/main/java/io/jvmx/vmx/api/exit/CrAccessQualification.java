package io.jvmx.vmx.api.exit;

/**
 * Exit qualification for control-register accesses: SDM Vol. 3C, 28.2.1, Table 28-3.
 *
 * @param crNumber    bits 3:0, the control register (0 for CLTS and LMSW)
 * @param accessType  bits 5:4
 * @param lmswMemory  bit 6: LMSW operand type (false = register, true = memory)
 * @param gpr         bits 11:8: the general-purpose register of a MOV CR (0 = RAX ... 4 = RSP ... 15 = R15)
 * @param lmswSource  bits 31:16: the LMSW source data
 */
public record CrAccessQualification(int crNumber, AccessType accessType, boolean lmswMemory, int gpr,
                                    int lmswSource) {

    /** Bits 5:4 of the qualification. */
    public enum AccessType { MOV_TO_CR, MOV_FROM_CR, CLTS, LMSW }

    public static CrAccessQualification decode(long q) {
        return new CrAccessQualification((int) (q & 0xF), AccessType.values()[(int) ((q >>> 4) & 3)],
                ((q >>> 6) & 1) != 0, (int) ((q >>> 8) & 0xF), (int) ((q >>> 16) & 0xFFFF));
    }

    public long encode() {
        return (crNumber & 0xF) | ((long) accessType.ordinal() << 4) | (lmswMemory ? 1L << 6 : 0)
                | ((long) (gpr & 0xF) << 8) | ((long) (lmswSource & 0xFFFF) << 16);
    }
}
