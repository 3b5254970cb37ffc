package io.jvmx.vmx.nativekvm.vmx;

import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.nativekvm.kvm.GuestRam;

/**
 * The KVM processor's host-physical memory: a {@link ByteBufferPhysicalMemory} over {@link GuestRam}, which stops
 * answering when the processor is closed. The mapping is gone then, and an access would crash the JVM instead of
 * failing.
 */
final class KvmPhysicalMemory implements PhysicalMemory {
    private final GuestRam ram;
    private final ByteBufferPhysicalMemory memory;
    private volatile boolean closed;

    KvmPhysicalMemory(GuestRam ram) {
        this.ram = ram;
        this.memory = new ByteBufferPhysicalMemory(ram.buffer());
    }

    /** The process address of host-physical address 0. */
    long baseAddress() {
        return ram.address();
    }

    void close() {
        closed = true;
        ram.close();
    }

    private ByteBufferPhysicalMemory open() {
        if (closed) {
            throw new IllegalStateException("the KVM processor is closed: its memory is unmapped");
        }
        return memory;
    }

    @Override public long size() { return memory.size(); }
    @Override public int read8(long pa) { return open().read8(pa); }
    @Override public int read16(long pa) { return open().read16(pa); }
    @Override public int read32(long pa) { return open().read32(pa); }
    @Override public long read64(long pa) { return open().read64(pa); }
    @Override public void write8(long pa, int value) { open().write8(pa, value); }
    @Override public void write16(long pa, int value) { open().write16(pa, value); }
    @Override public void write32(long pa, int value) { open().write32(pa, value); }
    @Override public void write64(long pa, long value) { open().write64(pa, value); }
    @Override public void read(long pa, byte[] dst, int offset, int length) { open().read(pa, dst, offset, length); }
    @Override public void write(long pa, byte[] src, int offset, int length) { open().write(pa, src, offset, length); }
    @Override public long allocateFrames(int count) { return open().allocateFrames(count); }
    @Override public void freeFrames(long pa, int count) { memory.freeFrames(pa, count); }
    @Override public long freeFrameCount() { return memory.freeFrameCount(); }
    @Override public void setWriteWatcher(WriteWatcher watcher) { memory.setWriteWatcher(watcher); }
    @Override public void watchFrame(long pa) { memory.watchFrame(pa); }
}
