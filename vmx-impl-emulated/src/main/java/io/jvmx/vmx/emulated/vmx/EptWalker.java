package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.emulated.cpu.GuestPhysicalBus;

/**
 * Guest-physical to host-physical translation (SDM Vol. 3C, 29.3): the 4-level EPT walk from the EPT pointer, with
 * 2-MiB and 1-GiB leaves, R/W/X permissions, accessed/dirty flags when EPTP bit 6 is 1, EPT misconfigurations
 * (29.3.3.1, exit reason 49) and EPT violations (29.3.3.2, exit reason 48, qualification of Table 28-7).
 *
 * <p>A small direct-mapped cache of 4-KiB translations (guest-physical mappings, SDM 29.4.1) speeds up repeated
 * accesses. INVEPT empties it; so does every VM entry, which is more than SDM 29.4.3.1 requires (a processor may
 * invalidate cached mappings at any time) and means a VMM that edits its EPT between exits never sees stale entries.
 */
final class EptWalker implements GuestPhysicalBus {
    private static final int CACHE_SIZE = 256;
    private static final long NO_PAGE = -1;

    private final PhysicalMemory memory;
    private final NonRootMonitor monitor;

    private boolean enabled;
    private long eptp;
    private long pml4;
    private boolean accessedDirty;

    /** Guest page number per slot (NO_PAGE = empty), host page, and the permissions (bits 2:0, bit 3 = dirty set). */
    private final long[] cachedGuestPage = new long[CACHE_SIZE];
    private final long[] cachedHostPage = new long[CACHE_SIZE];
    private final int[] cachedRights = new int[CACHE_SIZE];
    /** The entries of the current walk, for the A/D update (no allocation per walk). */
    private final long[] walkedEntries = new long[4];

    EptWalker(PhysicalMemory memory, NonRootMonitor monitor) {
        this.memory = memory;
        this.monitor = monitor;
        invalidate();
    }

    /** Loads the EPTP of the VMCS being entered, or switches EPT off. */
    void arm(boolean enableEpt, long eptPointer) {
        this.enabled = enableEpt;
        this.eptp = eptPointer;
        this.pml4 = Ept.pml4OfPointer(eptPointer);
        this.accessedDirty = Ept.accessedDirtyOfPointer(eptPointer);
        invalidate();
    }

    boolean enabled() {
        return enabled;
    }

    long eptPointer() {
        return eptp;
    }

    void invalidate() {
        java.util.Arrays.fill(cachedGuestPage, NO_PAGE);
    }

    private long backed(long hpa) {
        return hpa >= 0 && hpa < memory.size() ? hpa : -1;
    }

    @Override
    public long translate(long gpa, int access, long linearAddress, boolean linearValid, boolean pagingStructure) {
        if (!enabled) {
            return backed(gpa);
        }
        // SDM 29.3.3.2: with EPT A/D flags on, accesses to guest paging structures count as writes.
        int effective = pagingStructure && accessedDirty ? access | ACCESS_WRITE : access;
        long page = gpa >>> 12;
        int slot = (int) (page & (CACHE_SIZE - 1));
        if (cachedGuestPage[slot] == page) {
            int rights = cachedRights[slot];
            boolean dirtyDone = !accessedDirty || (rights & 8) != 0 || (effective & ACCESS_WRITE) == 0;
            if ((rights & effective & 7) == effective && dirtyDone) {
                return backed(cachedHostPage[slot] | (gpa & 0xFFF));
            }
        }
        return walk(gpa, effective, linearAddress, linearValid, pagingStructure, page, slot);
    }

    private long readEntry(long address) {
        // A paging-structure entry outside memory reads as all ones, which is a misconfiguration (reserved bits).
        return address + 8 <= memory.size() ? memory.read64(address) : -1L;
    }

    private long walk(long gpa, int access, long linear, boolean linearValid, boolean pagingStructure, long page,
                      int slot) {
        if ((gpa >>> 48) != 0) {
            violation(gpa, access, 0, linear, linearValid, pagingStructure);
        }
        long table = pml4;
        int rights = 7;
        long[] entryAddresses = walkedEntries;
        int used = 0;
        long leaf;
        long pageSize;
        int level = 4;
        while (true) {
            int shift = 12 + 9 * (level - 1);
            long entryAddress = table + ((gpa >>> shift) & 0x1FF) * 8;
            long entry = readEntry(entryAddress);
            entryAddresses[used++] = entryAddress;
            if ((entry & 7) == 0) {
                violation(gpa, access, 0, linear, linearValid, pagingStructure);
            }
            boolean large = (entry & Ept.LARGE_PAGE) != 0 && (level == 2 || level == 3);
            boolean isLeaf = level == 1 || large;
            if (misconfigured(entry, level, isLeaf)) {
                monitor.guestPhysicalAddress = gpa;
                monitor.exit(ExitReason.EPT_MISCONFIGURATION, 0, 0);
            }
            rights &= (int) (entry & 7);
            if (isLeaf) {
                leaf = entry;
                pageSize = 1L << shift;
                break;
            }
            table = entry & Ept.ADDRESS_MASK;
            level--;
        }
        if ((rights & access) != access) {
            violation(gpa, access, rights, linear, linearValid, pagingStructure);
        }
        if (accessedDirty) {
            // SDM 29.3.5: the walk sets the accessed flag of every entry used, a write the dirty flag of the leaf.
            for (int i = 0; i < used; i++) {
                long e = memory.read64(entryAddresses[i]);
                long updated = e | Ept.ACCESSED;
                if (i == used - 1 && (access & ACCESS_WRITE) != 0) {
                    updated |= Ept.DIRTY;
                }
                if (updated != e) {
                    memory.write64(entryAddresses[i], updated);
                }
            }
        }
        long hostPageBase = (leaf & Ept.ADDRESS_MASK & ~(pageSize - 1)) | (gpa & (pageSize - 1) & ~0xFFFL);
        cachedGuestPage[slot] = page;
        cachedHostPage[slot] = hostPageBase;
        cachedRights[slot] = rights | (accessedDirty && (access & ACCESS_WRITE) != 0 ? 8 : 0);
        return backed(hostPageBase | (gpa & 0xFFF));
    }

    /** SDM 29.3.3.1: the conditions that make a present entry an EPT misconfiguration. */
    static boolean misconfigured(long entry, int level, boolean leaf) {
        if ((entry & 3) == 2) {
            return true; // write permission without read permission
        }
        if ((entry & 7) == 4 && !VmxCapabilities.EPT_CAP.executeOnly()) {
            return true; // execute-only translations are not supported
        }
        if ((entry & Ept.ADDRESS_MASK & ProcessorModel.PHYSICAL_ADDRESS_RESERVED) != 0) {
            return true; // address bits above MAXPHYADDR
        }
        if (!leaf) {
            // PML4E: bits 7:3 reserved; non-leaf PDPTE / PDE: bits 7:3 reserved (bit 7 = 0 selects the table).
            return (entry & 0xF8) != 0;
        }
        int memoryType = (int) ((entry >>> Ept.MEMORY_TYPE_SHIFT) & 7);
        if (memoryType == 2 || memoryType == 3 || memoryType == 7) {
            return true; // reserved EPT memory types
        }
        if (level == 3) {
            return (entry & 0x3FFF_F000L) != 0; // 1-GiB page: bits 29:12 reserved
        }
        if (level == 2) {
            return (entry & 0x1F_F000L) != 0; // 2-MiB page: bits 20:12 reserved
        }
        return false;
    }

    /**
     * Records an EPT violation (SDM 28.2.1, Table 28-7): access type in bits 2:0, the AND of the permissions of the
     * entries walked in bits 5:3, bit 7 when the guest-linear address is valid, bit 8 (with bit 7) when the access was
     * to the translation of that linear address rather than to a guest paging-structure entry, bit 12 for NMI
     * unblocking due to IRET.
     */
    private void violation(long gpa, int access, int rights, long linear, boolean linearValid,
                           boolean pagingStructure) {
        long q = (access & 7) | ((long) (rights & 7) << 3) | monitor.nmiUnblockingDueToIret();
        if (linearValid) {
            q |= 1L << 7;
            if (!pagingStructure) {
                q |= 1L << 8;
            }
            monitor.guestLinearAddress = linear;
        }
        monitor.guestPhysicalAddress = gpa;
        monitor.exit(ExitReason.EPT_VIOLATION, q, 0);
    }
}
