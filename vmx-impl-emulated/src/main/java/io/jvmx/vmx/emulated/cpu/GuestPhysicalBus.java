package io.jvmx.vmx.emulated.cpu;

/**
 * Guest-physical to host-physical translation, done by the VMX layer (through the EPT when "enable EPT" is 1,
 * SDM Vol. 3C, 29.3). The interpreter translates linear to guest-physical itself (guest paging) and asks this bus
 * for every guest-physical access, including its own page-walk reads and writes of paging-structure entries.
 */
public interface GuestPhysicalBus {
    int ACCESS_READ = 1;
    int ACCESS_WRITE = 2;
    int ACCESS_EXECUTE = 4;

    /**
     * The host-physical address of {@code gpa} for an access of this kind. An access never crosses a 4-KiB page:
     * the interpreter splits it.
     *
     * @param linearAddress    the linear address being accessed, if {@code linearValid}
     * @param linearValid      whether the access has a linear address (false during VM entry / event delivery
     *                         through guest-physical structures)
     * @param pagingStructure  whether the access is to a guest paging-structure entry (qualification bit 8 = 0)
     * @throws VmExitSignal    for an EPT violation or misconfiguration, already recorded
     */
    long translate(long gpa, int access, long linearAddress, boolean linearValid, boolean pagingStructure);
}
