package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;

/**
 * Anonymous memory of this process (mmap): the host-physical memory of a KVM processor. The same bytes are a direct
 * buffer for Java and, slot by slot, guest RAM for KVM, so nothing is copied between the two.
 */
public final class GuestRam implements AutoCloseable {
    private final long address;
    private final long size;
    private final ByteBuffer buffer;
    private boolean closed;

    public GuestRam(long size) {
        if (size <= 0 || size > Integer.MAX_VALUE - 4095 || size % 4096 != 0) {
            throw new IllegalArgumentException("memory must be a positive multiple of 4 KiB below 2 GiB: " + size);
        }
        try {
            address = Libc.mmap(0, size, Libc.PROT_READ | Libc.PROT_WRITE,
                    Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS | Libc.MAP_NORESERVE, -1, 0);
        } catch (LastErrorException e) {
            throw KvmException.of("mmap of " + (size >> 10) + " KiB of guest memory", e.getErrorCode());
        }
        this.size = size;
        this.buffer = new Pointer(address).getByteBuffer(0, size);
    }

    /** The process address of byte 0 (what KVM memory slots point into). */
    public long address() {
        return address;
    }

    public long size() {
        return size;
    }

    /** A direct buffer over the whole mapping; invalid after {@link #close}. */
    public ByteBuffer buffer() {
        return buffer;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            try {
                Libc.munmap(address, size);
            } catch (LastErrorException ignored) {
                // the mapping goes with the process at the latest
            }
        }
    }
}
