package io.jvmx.vmx.api.memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.BitSet;

/**
 * {@link PhysicalMemory} over one ByteBuffer (heap, direct, or memory mapped by a native back end), with a
 * first-fit frame allocator. Thread-safe for allocation; accesses are plain (one vCPU thread per processor).
 */
public final class ByteBufferPhysicalMemory implements PhysicalMemory {
    private final ByteBuffer buf;
    private final long size;
    private final BitSet used;
    private final int frames;
    /** Per frame: 1 while a write watch is armed on it (see {@link #watchFrame}). */
    private final byte[] watched;
    private WriteWatcher watcher;

    public ByteBufferPhysicalMemory(ByteBuffer buffer) {
        if (buffer.capacity() % PAGE_SIZE != 0 || buffer.capacity() < 2 * PAGE_SIZE) {
            throw new IllegalArgumentException("physical memory must be at least 2 frames and a multiple of 4 KiB, not "
                    + buffer.capacity() + " bytes");
        }
        this.buf = buffer.order(ByteOrder.LITTLE_ENDIAN);
        this.size = buffer.capacity();
        this.frames = (int) (size / PAGE_SIZE);
        this.used = new BitSet(frames);
        this.watched = new byte[frames];
        used.set(0); // frame 0 is never handed out
    }

    /** Direct (off-heap) memory of {@code bytes} bytes. */
    public static ByteBufferPhysicalMemory allocate(long bytes) {
        if (bytes > Integer.MAX_VALUE - PAGE_SIZE + 1) {
            throw new IllegalArgumentException("at most 2 GiB of physical memory in one buffer, not " + bytes);
        }
        return new ByteBufferPhysicalMemory(ByteBuffer.allocateDirect((int) bytes));
    }

    /** The backing buffer (shared: a native back end maps it for its guests). */
    public ByteBuffer buffer() {
        return buf;
    }

    @Override
    public long size() {
        return size;
    }

    private int at(long pa, int len) {
        if (pa < 0 || pa > size - len) { // not pa + len > size: that overflows near Long.MAX_VALUE
            throw new IndexOutOfBoundsException(String.format("physical address %#x (+%d) outside memory of %#x bytes",
                    pa, len, size));
        }
        return (int) pa;
    }

    @Override public int read8(long pa) { return buf.get(at(pa, 1)) & 0xFF; }
    @Override public int read16(long pa) { return buf.getShort(at(pa, 2)) & 0xFFFF; }
    @Override public int read32(long pa) { return buf.getInt(at(pa, 4)); }
    @Override public long read64(long pa) { return buf.getLong(at(pa, 8)); }
    @Override
    public void write8(long pa, int v) {
        int a = at(pa, 1);
        buf.put(a, (byte) v);
        if (watched[a >>> 12] != 0) {
            written(a, 1);
        }
    }

    @Override
    public void write16(long pa, int v) {
        int a = at(pa, 2);
        buf.putShort(a, (short) v);
        if ((watched[a >>> 12] | watched[(a + 1) >>> 12]) != 0) {
            written(a, 2);
        }
    }

    @Override
    public void write32(long pa, int v) {
        int a = at(pa, 4);
        buf.putInt(a, v);
        if ((watched[a >>> 12] | watched[(a + 3) >>> 12]) != 0) {
            written(a, 4);
        }
    }

    @Override
    public void write64(long pa, long v) {
        int a = at(pa, 8);
        buf.putLong(a, v);
        if ((watched[a >>> 12] | watched[(a + 7) >>> 12]) != 0) {
            written(a, 8);
        }
    }

    @Override
    public void read(long pa, byte[] dst, int offset, int length) {
        buf.get(at(pa, length), dst, offset, length);
    }

    @Override
    public void write(long pa, byte[] src, int offset, int length) {
        int a = at(pa, length);
        buf.put(a, src, offset, length);
        if (length > 0) {
            written(a, length);
        }
    }

    @Override
    public synchronized void setWriteWatcher(WriteWatcher w) {
        if (w != null && watcher != null && watcher != w) {
            throw new IllegalStateException("this physical memory has a write watcher already");
        }
        watcher = w;
        if (w == null) {
            java.util.Arrays.fill(watched, (byte) 0);
        }
    }

    @Override
    public void watchFrame(long pa) {
        watched[at(pa, 1) >>> 12] = 1;
    }

    /** Disarms the watches of the frames [a, a + length) touches and tells the watcher about each. */
    private void written(int a, int length) {
        int last = (a + length - 1) >>> 12;
        for (int f = a >>> 12; f <= last; f++) {
            if (watched[f] != 0) {
                watched[f] = 0;
                WriteWatcher w = watcher;
                if (w != null) {
                    w.frameWritten(f);
                }
            }
        }
    }

    @Override
    public synchronized long allocateFrames(int count) {
        if (count <= 0) {
            throw new IllegalArgumentException("frame count must be positive: " + count);
        }
        int start = used.nextClearBit(1);
        while (start + count <= frames) {
            int nextUsed = used.nextSetBit(start);
            if (nextUsed < 0 || nextUsed >= start + count) {
                used.set(start, start + count);
                long pa = (long) start * PAGE_SIZE;
                for (long p = pa; p < pa + (long) count * PAGE_SIZE; p += 8) {
                    buf.putLong((int) p, 0L);
                }
                written((int) pa, count * PAGE_SIZE); // new contents for whoever cached the old ones
                return pa;
            }
            start = used.nextClearBit(nextUsed);
        }
        throw new OutOfMemoryError(String.format("no %d contiguous free frames in %d MiB of physical memory", count,
                size >> 20));
    }

    @Override
    public synchronized void freeFrames(long pa, int count) {
        if (count <= 0 || pa % PAGE_SIZE != 0 || pa <= 0 || pa / PAGE_SIZE + count > frames) {
            throw new IllegalArgumentException(String.format("not an allocated frame range: %#x x %d", pa, count));
        }
        int first = (int) (pa / PAGE_SIZE);
        // a double free would give a frame two owners later: refuse it
        if (used.get(first, first + count).cardinality() != count) {
            throw new IllegalArgumentException(String.format(
                    "frames %#x x %d are not all allocated (double free?)", pa, count));
        }
        used.clear(first, first + count);
    }

    @Override
    public synchronized long freeFrameCount() {
        return frames - used.cardinality();
    }
}
