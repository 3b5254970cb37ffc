package io.jvmx.vmx.api.ept;

/**
 * EPT paging-structure entry format (SDM Vol. 3C, 29.3.2, Tables 29-1 to 29-6) and the EPT pointer
 * (25.6.11, Table 25-9).
 */
public final class Ept {
    private Ept() {
    }

    public static final long READ = 1L << 0;
    public static final long WRITE = 1L << 1;
    public static final long EXECUTE = 1L << 2;
    /** Bits 5:3 of a leaf: EPT memory type. */
    public static final int MEMORY_TYPE_SHIFT = 3;
    public static final long IGNORE_PAT = 1L << 6;
    /** Bit 7 of a PDPTE/PDE: maps a 1-GiB / 2-MiB page. */
    public static final long LARGE_PAGE = 1L << 7;
    public static final long ACCESSED = 1L << 8;
    public static final long DIRTY = 1L << 9;
    public static final long USER_EXECUTE = 1L << 10;
    /** Bits 51:12: physical address of the next structure or of the page. */
    public static final long ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;

    public static final int MEMORY_TYPE_UNCACHEABLE = 0;
    public static final int MEMORY_TYPE_WRITE_BACK = 6;

    /** EPTP bits 2:0 memory type, 5:3 page-walk length minus 1, bit 6 accessed/dirty enable, 51:12 PML4 address. */
    public static long eptPointer(long pml4, int memoryType, int walkLength, boolean accessedDirty) {
        return (pml4 & ADDRESS_MASK) | (memoryType & 7) | ((long) ((walkLength - 1) & 7) << 3)
                | (accessedDirty ? 1L << 6 : 0);
    }

    public static long pml4OfPointer(long eptp) {
        return eptp & ADDRESS_MASK;
    }

    public static int memoryTypeOfPointer(long eptp) {
        return (int) (eptp & 7);
    }

    public static int walkLengthOfPointer(long eptp) {
        return (int) ((eptp >>> 3) & 7) + 1;
    }

    public static boolean accessedDirtyOfPointer(long eptp) {
        return ((eptp >>> 6) & 1) != 0;
    }
}
