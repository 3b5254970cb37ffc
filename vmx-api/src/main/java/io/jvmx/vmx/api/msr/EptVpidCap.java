package io.jvmx.vmx.api.msr;

/** IA32_VMX_EPT_VPID_CAP (SDM Vol. 3D, A.10): the raw value with named accessors for the bits jvmx uses. */
public record EptVpidCap(long raw) {

    public boolean executeOnly() { return bit(0); }
    public boolean pageWalkLength4() { return bit(6); }
    public boolean pageWalkLength5() { return bit(7); }
    public boolean memoryTypeUncacheable() { return bit(8); }
    public boolean memoryTypeWriteBack() { return bit(14); }
    public boolean pde2MbPages() { return bit(16); }
    public boolean pdpte1GbPages() { return bit(17); }
    public boolean invept() { return bit(20); }
    public boolean accessedDirtyFlags() { return bit(21); }
    public boolean advancedExitInformation() { return bit(22); }
    public boolean inveptSingleContext() { return bit(25); }
    public boolean inveptAllContext() { return bit(26); }
    public boolean invvpid() { return bit(32); }
    public boolean invvpidIndividualAddress() { return bit(40); }
    public boolean invvpidSingleContext() { return bit(41); }
    public boolean invvpidAllContext() { return bit(42); }
    public boolean invvpidSingleContextRetainingGlobals() { return bit(43); }

    private boolean bit(int n) {
        return ((raw >>> n) & 1) != 0;
    }
}
