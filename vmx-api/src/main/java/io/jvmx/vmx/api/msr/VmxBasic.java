package io.jvmx.vmx.api.msr;

/**
 * IA32_VMX_BASIC (SDM Vol. 3D, A.1).
 *
 * @param revisionId        bits 30:0: VMCS revision identifier
 * @param regionSize        bits 44:32: bytes to allocate for the VMXON region and any VMCS region (at most 4096)
 * @param physicalAddress32 bit 48: addresses of VMXON/VMCS/bitmaps limited to 32 bits
 * @param dualMonitor       bit 49: dual-monitor treatment of SMI and SMM
 * @param memoryType        bits 53:50: memory type for the VMCS (6 = write-back)
 * @param insOutsInfo       bit 54: VM exits due to INS/OUTS report instruction information
 * @param trueControls      bit 55: the IA32_VMX_TRUE_xxx_CTLS MSRs exist (default1 controls may be 0)
 * @param noErrorCodeCheck  bit 56: VM entry may deliver hardware exceptions with or without an error code
 */
public record VmxBasic(int revisionId, int regionSize, boolean physicalAddress32, boolean dualMonitor,
                       int memoryType, boolean insOutsInfo, boolean trueControls, boolean noErrorCodeCheck) {

    public static final int MEMORY_TYPE_WRITE_BACK = 6;

    public static VmxBasic decode(long msr) {
        return new VmxBasic((int) (msr & 0x7FFF_FFFFL), (int) ((msr >>> 32) & 0x1FFF), bit(msr, 48), bit(msr, 49),
                (int) ((msr >>> 50) & 0xF), bit(msr, 54), bit(msr, 55), bit(msr, 56));
    }

    public long encode() {
        return (revisionId & 0x7FFF_FFFFL) | ((long) (regionSize & 0x1FFF) << 32) | b(physicalAddress32, 48)
                | b(dualMonitor, 49) | ((long) (memoryType & 0xF) << 50) | b(insOutsInfo, 54) | b(trueControls, 55)
                | b(noErrorCodeCheck, 56);
    }

    private static boolean bit(long v, int n) {
        return ((v >>> n) & 1) != 0;
    }

    private static long b(boolean v, int n) {
        return v ? 1L << n : 0;
    }
}
