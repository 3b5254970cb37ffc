package io.jvmx.vmx.api.memory;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Host-physical memory: little-endian, byte-addressed, with an allocator of zeroed 4-KiB frames. Frame 0 is never
 * handed out, so a physical address of 0 can mean "none". Accesses outside {@link #size()} throw
 * {@link IndexOutOfBoundsException}: callers map guests so that they never get there.
 */
@ProviderType
public interface PhysicalMemory {
    int PAGE_SIZE = 4096;

    long size();

    int read8(long pa);

    int read16(long pa);

    int read32(long pa);

    long read64(long pa);

    void write8(long pa, int value);

    void write16(long pa, int value);

    void write32(long pa, int value);

    void write64(long pa, long value);

    void read(long pa, byte[] dst, int offset, int length);

    void write(long pa, byte[] src, int offset, int length);

    /** Allocates {@code count} physically contiguous zeroed frames; returns the address of the first. */
    long allocateFrames(int count);

    /** Returns frames to the allocator. */
    void freeFrames(long pa, int count);

    /** Frames still free. */
    long freeFrameCount();

    default long allocateFrame() {
        return allocateFrames(1);
    }

    /** Told when a watched frame is written: for caches of memory contents (decoded instructions, for one). */
    @FunctionalInterface
    interface WriteWatcher {
        /** The frame (physical address / {@link #PAGE_SIZE}) was written; its watch is off now. */
        void frameWritten(long frame);
    }

    /**
     * Sets the one watcher of this memory (null: none). A memory serves one processor, so one watcher suffices.
     *
     * @throws IllegalStateException if a different watcher is set already
     */
    void setWriteWatcher(WriteWatcher watcher);

    /**
     * Arms a one-shot watch on the frame that holds {@code pa}: the next write of any kind to any byte of it (a
     * store, a bulk {@link #write}, the allocator zeroing it) first performs the write, then calls the watcher and
     * disarms the watch. Costs nothing while no frame is watched.
     */
    void watchFrame(long pa);
}
