package io.jvmx.vmx.bitmaps;

import io.jvmx.vmx.api.memory.PhysicalMemory;

/**
 * I/O bitmaps A and B (SDM Vol. 3C, 25.6.4): one 4-KiB frame each; A holds one bit per port 0000H-7FFFH, B one
 * per port 8000H-FFFFH; a set bit makes an I/O instruction on that port exit when "use I/O bitmaps" is 1 (26.1.3).
 * Port p is bit {@code p % 8} of byte {@code (p & 0x7FFF) / 8} of its bitmap. All 65,536 ports can be set,
 * unlike x86_vcpu's IOBitmap, which cannot hold ports 0x2000-0x7FFF and 0xA000-0xFFFF.
 *
 * <p>Changes are visible to the processor at the guest's next I/O instruction. Setters are synchronized so that
 * two threads changing ports that share a byte do not lose an update.
 */
public final class IoBitmap {
    public static final int PORT_COUNT = 0x10000;
    private static final int PORTS_PER_BITMAP = 0x8000;

    private final PhysicalMemory memory;
    private final long a;
    private final long b;
    private boolean freed;

    private IoBitmap(PhysicalMemory memory, long a, long b) {
        this.memory = memory;
        this.a = a;
        this.b = b;
    }

    /** Two zeroed frames from {@code memory}, every bit then set if {@code interceptAll}. */
    public static IoBitmap allocate(PhysicalMemory memory, boolean interceptAll) {
        long a = memory.allocateFrame();
        long b;
        try {
            b = memory.allocateFrame();
        } catch (RuntimeException | OutOfMemoryError e) {
            memory.freeFrames(a, 1);
            throw e;
        }
        IoBitmap bitmap = new IoBitmap(memory, a, b);
        if (interceptAll) {
            bitmap.fill(-1L);
        }
        return bitmap;
    }

    /** Host-physical address of bitmap A (ports 0000H-7FFFH), for the VMCS field IO_BITMAP_A. */
    public long addressA() {
        return a;
    }

    /** Host-physical address of bitmap B (ports 8000H-FFFFH), for the VMCS field IO_BITMAP_B. */
    public long addressB() {
        return b;
    }

    public synchronized void setIntercept(int port, boolean intercept) {
        checkLive();
        checkPort(port);
        setBit(port, intercept);
    }

    /** Ports {@code firstPort .. firstPort + count - 1}; nothing changes if the range leaves 0..0xFFFF. */
    public synchronized void setInterceptRange(int firstPort, int count, boolean intercept) {
        checkLive();
        if (count < 0 || firstPort < 0 || (long) firstPort + count > PORT_COUNT) {
            throw new IllegalArgumentException(String.format(
                    "port range %#x + %d leaves the I/O space 0x0000-0xffff", firstPort, count));
        }
        int port = firstPort;
        int end = firstPort + count;
        while (port < end) {
            if ((port & 7) == 0 && end - port >= 8) {
                memory.write8(byteAddress(port), intercept ? 0xFF : 0);
                port += 8;
            } else {
                setBit(port++, intercept);
            }
        }
    }

    public synchronized boolean isIntercepted(int port) {
        checkLive();
        checkPort(port);
        return ((memory.read8(byteAddress(port)) >>> (port & 7)) & 1) != 0;
    }

    /** Returns both frames to the memory; the bitmap cannot be used afterwards. */
    public synchronized void free() {
        checkLive();
        freed = true;
        memory.freeFrames(a, 1);
        memory.freeFrames(b, 1);
    }

    private void fill(long pattern) {
        for (int off = 0; off < PhysicalMemory.PAGE_SIZE; off += 8) {
            memory.write64(a + off, pattern);
            memory.write64(b + off, pattern);
        }
    }

    private void setBit(int port, boolean intercept) {
        long at = byteAddress(port);
        int bit = 1 << (port & 7);
        int old = memory.read8(at);
        memory.write8(at, intercept ? old | bit : old & ~bit);
    }

    private long byteAddress(int port) {
        return (port < PORTS_PER_BITMAP ? a : b) + ((port & (PORTS_PER_BITMAP - 1)) >>> 3);
    }

    private static void checkPort(int port) {
        if (port < 0 || port >= PORT_COUNT) {
            throw new IllegalArgumentException(String.format("port %#x is outside the I/O space 0x0000-0xffff", port));
        }
    }

    private void checkLive() {
        if (freed) {
            throw new IllegalStateException("I/O bitmap at " + String.format("%#x/%#x", a, b) + " was freed");
        }
    }
}
