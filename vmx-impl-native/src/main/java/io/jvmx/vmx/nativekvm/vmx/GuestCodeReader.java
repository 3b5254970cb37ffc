package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.memory.PhysicalMemory;

/**
 * Reads guest memory by linear address, as the guest's instruction fetches would: through the guest's paging
 * structures (SDM Vol. 3A, chapter 4: none, 32-bit, PAE or 4-level paging) and then the EPT. KVM reports an I/O or
 * MSR exit without the instruction; the processor reads it here to learn its length and form. Reads only: no
 * accessed or dirty flags are set, and a page that is not present ends the read.
 */
final class GuestCodeReader {
    private final PhysicalMemory memory;
    private long eptPointer;
    private long cr0, cr3, cr4, efer;

    GuestCodeReader(PhysicalMemory memory) {
        this.memory = memory;
    }

    /** The last guest-physical page read and its host-physical page: instruction fetches stay on a page. */
    private long cachedGpaPage = -1;
    private long cachedHpaPage;

    void setState(long eptPointer, long cr0, long cr3, long cr4, long efer) {
        if (eptPointer != this.eptPointer) {
            invalidate();
        }
        this.eptPointer = eptPointer;
        this.cr0 = cr0;
        this.cr3 = cr3;
        this.cr4 = cr4;
        this.efer = efer;
    }

    /**
     * Copies up to {@code length} bytes at {@code linear} into {@code out}; returns how many could be read (fewer
     * where a page is not mapped).
     */
    int read(long linear, byte[] out, int length) {
        return read(linear, out, 0, length);
    }

    /** As {@link #read(long, byte[], int)} into {@code out[offset...]}: one translation per page touched. */
    int read(long linear, byte[] out, int offset, int length) {
        int n = 0;
        while (n < length) {
            long a = linear + n;
            long gpa = guestPhysical(a);
            if (gpa < 0) {
                break;
            }
            long hpa = hostPhysical(gpa);
            if (hpa < 0) {
                break;
            }
            int chunk = (int) Math.min(length - n, PhysicalMemory.PAGE_SIZE - (a & 0xFFF));
            memory.read(hpa, out, offset + n, chunk);
            n += chunk;
        }
        return n;
    }

    /** The guest-physical address of {@code linear}, or -1 if the guest's paging does not map it. */
    long guestPhysical(long linear) {
        if ((cr0 & Cr0.PG) == 0) {
            return linear & 0xFFFF_FFFFL;
        }
        if ((cr4 & Cr4.PAE) == 0) {
            long pde = readGuest32((cr3 & 0xFFFF_F000L) + 4 * ((linear >>> 22) & 0x3FF));
            if ((pde & 1) == 0) {
                return -1;
            }
            if ((pde & 0x80) != 0 && (cr4 & Cr4.PSE) != 0) {
                return (pde & 0xFFC0_0000L) | ((pde >>> 13 & 0xFF) << 32) | (linear & 0x3F_FFFF);
            }
            long pte = readGuest32((pde & 0xFFFF_F000L) + 4 * ((linear >>> 12) & 0x3FF));
            return (pte & 1) == 0 ? -1 : (pte & 0xFFFF_F000L) | (linear & 0xFFF);
        }
        long table;
        int level;
        if ((efer & Efer.LMA) != 0) {
            table = cr3 & 0x000F_FFFF_FFFF_F000L;
            level = 4;
        } else {
            long pdpte = readGuest64((cr3 & 0xFFFF_FFE0L) + 8 * ((linear >>> 30) & 3));
            if ((pdpte & 1) == 0) {
                return -1;
            }
            table = pdpte & 0x000F_FFFF_FFFF_F000L;
            level = 2;
        }
        for (; level >= 1; level--) {
            long entry = readGuest64(table + 8 * ((linear >>> (12 + 9 * (level - 1))) & 0x1FF));
            if ((entry & 1) == 0) {
                return -1;
            }
            if (level == 1 || (level <= 3 && (entry & 0x80) != 0)) {
                long size = 1L << (12 + 9 * (level - 1));
                return (entry & 0x000F_FFFF_FFFF_F000L & ~(size - 1)) | (linear & (size - 1));
            }
            table = entry & 0x000F_FFFF_FFFF_F000L;
        }
        return -1;
    }

    /** Forgets cached translations: the EPT changed (INVEPT, a new EPT pointer). */
    void invalidate() {
        cachedGpaPage = -1;
    }

    private long hostPhysical(long gpa) {
        long page = gpa & ~0xFFFL;
        if (page != cachedGpaPage) {
            long hpa = EptSlots.translate(memory, eptPointer, page);
            if (hpa < 0) {
                return -1;
            }
            cachedGpaPage = page;
            cachedHpaPage = hpa;
        }
        return cachedHpaPage | (gpa & 0xFFF);
    }

    private long readGuest32(long gpa) {
        long hpa = hostPhysical(gpa);
        return hpa < 0 ? 0 : memory.read32(hpa) & 0xFFFF_FFFFL;
    }

    private long readGuest64(long gpa) {
        long hpa = hostPhysical(gpa);
        return hpa < 0 ? 0 : memory.read64(hpa);
    }
}
