package io.jvmx.vmx.core.memory;

import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.memory.GuestPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import java.util.ArrayList;
import java.util.List;

/**
 * A guest's RAM: host-physical frames taken from the processor's {@link PhysicalMemory} (not necessarily
 * contiguous) and the 4-level EPT that maps guest-physical [0, size) onto them, read/write/execute, write-back
 * (SDM Vol. 3C, 29.3.2, Tables 29-1 to 29-6). Guest-physical addresses at or above {@link #size()} have no EPT
 * entry, so a guest access there is an EPT violation (SDM 29.3.3).
 *
 * <p>The mapping uses 4-KiB pages only: the guest can never reach a byte outside its own frames, and a native back
 * end can derive memory slots from it page by page.
 *
 * <p>Threads: mapping is fixed at construction; reads and writes are plain memory accesses (the vCPU thread, or an
 * inspector while the vCPU is parked at an exit).
 */
public final class GuestMemory implements GuestPhysicalMemory {
    /** 4-level EPT: each level resolves 9 bits of the guest-physical address (SDM 29.3.2). */
    private static final int ENTRIES = 512;
    private static final int PAGE = PhysicalMemory.PAGE_SIZE;
    /** Non-leaf entries grant everything; the leaf decides (SDM 29.3.3: access rights are ANDed over the walk). */
    private static final long NON_LEAF = Ept.READ | Ept.WRITE | Ept.EXECUTE;
    private static final long LEAF = Ept.READ | Ept.WRITE | Ept.EXECUTE
            | ((long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT);
    /** RAM is taken in runs of up to 2 MiB of contiguous frames, fewer when memory is fragmented. */
    private static final int MAX_RUN = 512;

    private final PhysicalMemory host;
    private final long size;
    private final long[] pageFrames; // guest page number -> host-physical address
    private final List<long[]> ramRuns = new ArrayList<>(); // {pa, count}
    private final List<Long> tableFrames = new ArrayList<>();
    private final long pml4;
    private boolean freed;

    private GuestMemory(PhysicalMemory host, long size) {
        this.host = host;
        this.size = size;
        this.pageFrames = new long[(int) (size / PAGE)];
        this.pml4 = newTable();
    }

    /**
     * Takes {@code bytes} of RAM (a positive multiple of 4 KiB) from {@code host} and builds the EPT. If the host
     * memory runs out, every frame taken so far is returned and the {@link OutOfMemoryError} propagates.
     */
    public static GuestMemory allocate(PhysicalMemory host, long bytes) {
        if (bytes <= 0 || bytes % PAGE != 0) {
            throw new IllegalArgumentException("guest memory must be a positive multiple of 4 KiB: " + bytes);
        }
        if (bytes / PAGE > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("guest memory too large: " + bytes);
        }
        GuestMemory m = null;
        try {
            m = new GuestMemory(host, bytes);
            m.allocateRam();
            return m;
        } catch (RuntimeException | OutOfMemoryError e) {
            if (m != null) {
                m.free();
            }
            throw e;
        }
    }

    private void allocateRam() {
        int pages = pageFrames.length;
        int next = 0;
        int run = MAX_RUN;
        while (next < pages) {
            int want = Math.min(run, pages - next);
            long pa;
            try {
                pa = host.allocateFrames(want);
            } catch (OutOfMemoryError fragmented) {
                if (want == 1) {
                    throw new OutOfMemoryError(String.format("host memory exhausted after %d of %d guest pages",
                            next, pages));
                }
                run = Math.max(1, want / 2);
                continue;
            }
            ramRuns.add(new long[] {pa, want});
            for (int i = 0; i < want; i++) {
                map(((long) next + i) * PAGE, pa + (long) i * PAGE);
                pageFrames[next + i] = pa + (long) i * PAGE;
            }
            next += want;
        }
    }

    private long newTable() {
        long pa = host.allocateFrame(); // zeroed: every entry "not present" (bits 2:0 = 0)
        tableFrames.add(pa);
        return pa;
    }

    /** Installs a 4-KiB leaf for {@code gpa}, creating the PDPT, PD and PT on the way (SDM 29.3.2). */
    private void map(long gpa, long hpa) {
        long table = pml4;
        for (int level = 4; level > 1; level--) {
            long slot = table + 8L * index(gpa, level);
            long entry = host.read64(slot);
            if ((entry & NON_LEAF) == 0) {
                long next = newTable();
                entry = (next & Ept.ADDRESS_MASK) | NON_LEAF;
                host.write64(slot, entry);
            }
            table = entry & Ept.ADDRESS_MASK;
        }
        host.write64(table + 8L * index(gpa, 1), (hpa & Ept.ADDRESS_MASK) | LEAF);
    }

    /** Bits 47:39 (level 4), 38:30, 29:21, 20:12 (level 1) of a guest-physical address. */
    static int index(long gpa, int level) {
        return (int) ((gpa >>> (12 + 9 * (level - 1))) & (ENTRIES - 1));
    }

    /** Host-physical address of the EPT PML4 table. */
    public long pml4() {
        return pml4;
    }

    /** The EPT pointer for the VMCS: write-back, 4-level walk, no accessed/dirty flags (SDM 25.6.11, Table 25-9). */
    public long eptPointer() {
        return Ept.eptPointer(pml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, false);
    }

    /** The host memory the frames come from. */
    public PhysicalMemory hostMemory() {
        return host;
    }

    /** Frames this guest holds (RAM and EPT tables). */
    public long frameCount() {
        long n = tableFrames.size();
        for (long[] r : ramRuns) {
            n += r[1];
        }
        return n;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public long translate(long gpa) {
        if (gpa < 0 || gpa >= size || freed) {
            return -1;
        }
        return pageFrames[(int) (gpa / PAGE)] + (gpa % PAGE);
    }

    private void check(long gpa, int length) {
        if (freed) {
            throw new IllegalStateException("guest memory has been freed");
        }
        if (length < 0 || gpa < 0 || gpa + length > size || gpa + length < gpa) {
            throw new IllegalArgumentException(String.format(
                    "guest-physical %#x (+%d) is not mapped: guest RAM is [0, %#x)", gpa, length, size));
        }
    }

    @Override
    public void read(long gpa, byte[] dst, int offset, int length) {
        check(gpa, length);
        int done = 0;
        while (done < length) {
            long a = gpa + done;
            int n = (int) Math.min(length - done, PAGE - (a % PAGE));
            host.read(translate(a), dst, offset + done, n);
            done += n;
        }
    }

    @Override
    public void write(long gpa, byte[] src, int offset, int length) {
        check(gpa, length);
        int done = 0;
        while (done < length) {
            long a = gpa + done;
            int n = (int) Math.min(length - done, PAGE - (a % PAGE));
            host.write(translate(a), src, offset + done, n);
            done += n;
        }
    }

    @Override
    public int read8(long gpa) {
        check(gpa, 1);
        return host.read8(translate(gpa));
    }

    @Override
    public void write8(long gpa, int value) {
        check(gpa, 1);
        host.write8(translate(gpa), value);
    }

    /** Copies a flat image into guest RAM at {@code gpa}. */
    public void load(byte[] image, long gpa) {
        if (gpa < 0 || gpa + image.length > size) {
            throw new IllegalArgumentException(String.format(
                    "image of %d bytes at %#x does not fit in %d KiB of guest memory", image.length, gpa, size >> 10));
        }
        write(gpa, image, 0, image.length);
    }

    /** Returns every frame (RAM and EPT tables) to the host allocator. Idempotent. */
    public synchronized void free() {
        if (freed) {
            return;
        }
        freed = true;
        for (long[] r : ramRuns) {
            host.freeFrames(r[0], (int) r[1]);
        }
        for (long t : tableFrames) {
            host.freeFrames(t, 1);
        }
        ramRuns.clear();
        tableFrames.clear();
    }

    public boolean isFreed() {
        return freed;
    }

    @Override
    public String toString() {
        return String.format("GuestMemory[%d KiB, EPTP %#x]", size >> 10, eptPointer());
    }
}
