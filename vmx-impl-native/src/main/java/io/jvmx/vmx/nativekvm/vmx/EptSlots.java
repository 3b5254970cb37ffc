package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * KVM memory slots from an EPT (SDM Vol. 3C, 29.3.2): every present leaf maps guest-physical pages onto
 * host-physical frames of the processor's memory, and runs of pages that are contiguous on both sides with the same
 * access become one slot. A leaf without read access maps nothing (the guest's access is an EPT violation, which
 * KVM reports as MMIO); a leaf without write access becomes a read-only slot (writes reach user space as MMIO).
 * Execute permission has no KVM equivalent and is not checked.
 */
final class EptSlots {
    private static final int ENTRIES = 512;

    /** One memory slot: {@code size} bytes at guest-physical {@code gpa} backed by host-physical {@code hpa}. */
    record Slot(long gpa, long hpa, long size, boolean readOnly) {
    }

    private EptSlots() {
    }

    /** The slots of the EPT {@code eptPointer} addresses, ordered by guest-physical address. */
    static List<Slot> of(PhysicalMemory memory, long eptPointer) {
        List<Slot> out = new ArrayList<>();
        walk(memory, Ept.pml4OfPointer(eptPointer), 4, 0, out);
        return out;
    }

    private static void walk(PhysicalMemory memory, long table, int level, long gpaBase, List<Slot> out) {
        if (table < 0 || table + PhysicalMemory.PAGE_SIZE > memory.size()) {
            return; // a table outside memory: an EPT misconfiguration the entry checks would catch; map nothing
        }
        for (int i = 0; i < ENTRIES; i++) {
            long entry = memory.read64(table + 8L * i);
            if ((entry & (Ept.READ | Ept.WRITE | Ept.EXECUTE)) == 0) {
                continue;
            }
            long gpa = gpaBase | ((long) i << (12 + 9 * (level - 1)));
            boolean leaf = level == 1 || (level <= 3 && (entry & Ept.LARGE_PAGE) != 0);
            if (!leaf) {
                walk(memory, entry & Ept.ADDRESS_MASK, level - 1, gpa, out);
                continue;
            }
            if ((entry & Ept.READ) == 0) {
                continue;
            }
            long size = 1L << (12 + 9 * (level - 1));
            long hpa = entry & Ept.ADDRESS_MASK & ~(size - 1);
            if (hpa + size > memory.size()) {
                continue; // frames outside the processor's memory: nothing KVM could map
            }
            add(out, new Slot(gpa, hpa, size, (entry & Ept.WRITE) == 0));
        }
    }

    private static void add(List<Slot> out, Slot s) {
        if (!out.isEmpty()) {
            Slot last = out.get(out.size() - 1);
            if (last.gpa() + last.size() == s.gpa() && last.hpa() + last.size() == s.hpa()
                    && last.readOnly() == s.readOnly()) {
                out.set(out.size() - 1, new Slot(last.gpa(), last.hpa(), last.size() + s.size(), last.readOnly()));
                return;
            }
        }
        out.add(s);
    }

    /** The host-physical address EPT maps {@code gpa} to, or -1 if no present, readable leaf maps it. */
    static long translate(PhysicalMemory memory, long eptPointer, long gpa) {
        long[] leaf = leaf(memory, eptPointer, gpa);
        if (leaf == null || (leaf[0] & Ept.READ) == 0) {
            return -1;
        }
        long size = leaf[1];
        return (leaf[0] & Ept.ADDRESS_MASK & ~(size - 1)) | (gpa & (size - 1));
    }

    /** Bits 2:0 (read, write, execute) of the leaf that maps {@code gpa}; 0 if none does. */
    static int access(PhysicalMemory memory, long eptPointer, long gpa) {
        long[] leaf = leaf(memory, eptPointer, gpa);
        return leaf == null ? 0 : (int) (leaf[0] & 7);
    }

    /** {entry, page size} of the present leaf for {@code gpa}, or null. */
    private static long[] leaf(PhysicalMemory memory, long eptPointer, long gpa) {
        long table = Ept.pml4OfPointer(eptPointer);
        for (int level = 4; level >= 1; level--) {
            if (table < 0 || table + PhysicalMemory.PAGE_SIZE > memory.size()) {
                return null;
            }
            long entry = memory.read64(table + 8L * ((gpa >>> (12 + 9 * (level - 1))) & (ENTRIES - 1)));
            if ((entry & (Ept.READ | Ept.WRITE | Ept.EXECUTE)) == 0) {
                return null;
            }
            if (level == 1 || (level <= 3 && (entry & Ept.LARGE_PAGE) != 0)) {
                return new long[] {entry, 1L << (12 + 9 * (level - 1))};
            }
            table = entry & Ept.ADDRESS_MASK;
        }
        return null;
    }
}
