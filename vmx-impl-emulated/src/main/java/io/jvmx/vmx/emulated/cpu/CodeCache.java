package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.memory.PhysicalMemory;

/**
 * Decoded instructions, kept per host-physical page so that each instruction is decoded once and executed many times.
 * Keyed by where the bytes are (host-physical address), not by where the guest sees them, so guest paging, EPT and CS
 * changes need no invalidation; the decode mode is checked on every hit because the same bytes decode differently in
 * 16-, 32- and 64-bit code.
 *
 * <p>A page's decodings are dropped at the first write to its frame, whoever writes (the guest, a device, the VMM):
 * the memory's write watch tells us (see {@link PhysicalMemory#watchFrame}). Self-modifying code therefore runs as on
 * the processor, which snoops stores into instructions it has fetched (SDM Vol. 3A, 11.6). Instructions that cross a
 * page boundary are never cached.
 */
final class CodeCache implements PhysicalMemory.WriteWatcher {

    /** The decodings of one frame, by offset of their first byte; invalid once the frame has been written. */
    static final class Page {
        final Insn[] at = new Insn[PhysicalMemory.PAGE_SIZE];
        boolean valid = true;
    }

    private final PhysicalMemory memory;
    private final Page[] pages;
    private long decodes;
    private long invalidations;

    CodeCache(PhysicalMemory memory) {
        this.memory = memory;
        this.pages = new Page[(int) (memory.size() / PhysicalMemory.PAGE_SIZE)];
        memory.setWriteWatcher(this);
    }

    /** The decodings of the frame that holds {@code hpa}, or null if there are none. */
    Page page(long hpa) {
        return pages[(int) (hpa >>> 12)];
    }

    /** The instruction decoded at host-physical {@code hpa} in {@code mode}, or null. */
    Insn get(long hpa, int mode) {
        Page p = pages[(int) (hpa >>> 12)];
        if (p == null) {
            return null;
        }
        Insn i = p.at[(int) hpa & 0xFFF];
        return i != null && i.mode == mode ? i : null;
    }

    /** Keeps a copy of {@code decoded}, which starts at {@code hpa} and lies within its page; returns the copy. */
    Insn put(long hpa, Insn decoded) {
        int frame = (int) (hpa >>> 12);
        Page p = pages[frame];
        if (p == null) {
            p = new Page();
            pages[frame] = p;
            memory.watchFrame(hpa);
        }
        Insn copy = new Insn();
        copy.copyFrom(decoded);
        p.at[(int) hpa & 0xFFF] = copy;
        decodes++;
        return copy;
    }

    @Override
    public void frameWritten(long frame) {
        Page p = pages[(int) frame];
        if (p != null) {
            p.valid = false; // an executor may still hold it
            pages[(int) frame] = null;
            invalidations++;
        }
    }

    /** Forgets everything (the processor is reset or closed). */
    void clear() {
        for (int f = 0; f < pages.length; f++) {
            if (pages[f] != null) {
                pages[f].valid = false;
                pages[f] = null;
            }
        }
    }

    /** Instructions decoded into the cache so far. */
    long decodes() {
        return decodes;
    }

    /** Pages dropped because their frame was written. */
    long invalidations() {
        return invalidations;
    }
}
