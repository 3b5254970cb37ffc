package io.jvmx.vmx.bitmaps;

import io.jvmx.vmx.api.memory.PhysicalMemory;

/**
 * The MSR bitmaps (SDM Vol. 3C, 25.6.9): one 4-KiB frame of four 1-KiB bitmaps, read bitmap for low MSRs
 * (00000000H-00001FFFH) at byte 0, read bitmap for high MSRs (C0000000H-C0001FFFH) at 1024, write bitmap for low
 * MSRs at 2048, write bitmap for high MSRs at 3072. MSR m is bit {@code (m & 0x1FFF) % 8} of byte
 * {@code (m & 0x1FFF) / 8} of its bitmap. RDMSR and WRMSR of any MSR outside the two ranges always exit when
 * "use MSR bitmaps" is 1 (26.1.3), so this class reports them as intercepted and refuses to change them.
 *
 * <p>MSR numbers are ints as in ECX: 0xC0000080 is a negative int, compared unsigned here.
 */
public final class MsrBitmap {
    private static final long LOW_FIRST = 0x0000_0000L;
    private static final long HIGH_FIRST = 0xC000_0000L;
    private static final long RANGE = 0x2000;
    private static final int READ_LOW = 0;
    private static final int READ_HIGH = 1024;
    private static final int WRITE_LOW = 2048;
    private static final int WRITE_HIGH = 3072;

    private final PhysicalMemory memory;
    private final long address;
    private boolean freed;

    private MsrBitmap(PhysicalMemory memory, long address) {
        this.memory = memory;
        this.address = address;
    }

    /** One zeroed frame from {@code memory}, every bit then set if {@code interceptAll}. */
    public static MsrBitmap allocate(PhysicalMemory memory, boolean interceptAll) {
        MsrBitmap bitmap = new MsrBitmap(memory, memory.allocateFrame());
        if (interceptAll) {
            for (int off = 0; off < PhysicalMemory.PAGE_SIZE; off += 8) {
                memory.write64(bitmap.address + off, -1L);
            }
        }
        return bitmap;
    }

    /** Host-physical address of the frame, for the VMCS field MSR_BITMAPS. */
    public long address() {
        return address;
    }

    public synchronized void setReadIntercept(int msr, boolean intercept) {
        checkLive();
        setBit(requireCovered(msr), true, intercept);
    }

    public synchronized void setWriteIntercept(int msr, boolean intercept) {
        checkLive();
        setBit(requireCovered(msr), false, intercept);
    }

    /**
     * MSRs {@code firstMsr .. firstMsr + count - 1} (unsigned), their read bits if {@code read}, their write bits
     * if {@code write}. The range must lie inside one of 00000000H-00001FFFH and C0000000H-C0001FFFH; otherwise
     * nothing changes and an {@link IllegalArgumentException} says so.
     */
    public synchronized void setInterceptRange(int firstMsr, int count, boolean read, boolean write,
                                               boolean intercept) {
        checkLive();
        long first = Integer.toUnsignedLong(firstMsr);
        if (count < 0 || (count > 0 && !(covered(first) && covered(first + count - 1)
                && (first & ~(RANGE - 1)) == ((first + count - 1) & ~(RANGE - 1))))) {
            throw new IllegalArgumentException(String.format(
                    "MSR range %#x + %d is not inside 0x0-0x1fff or 0xc0000000-0xc0001fff: MSRs outside them always "
                            + "cause VM exits (SDM 26.1.3) and have no bit in the MSR bitmap", first, count));
        }
        for (long m = first; m < first + count; m++) {
            if (read) {
                setBit(m, true, intercept);
            }
            if (write) {
                setBit(m, false, intercept);
            }
        }
    }

    /** Whether RDMSR of {@code msr} exits; always true outside the two ranges (SDM 26.1.3). */
    public synchronized boolean isReadIntercepted(int msr) {
        checkLive();
        long m = Integer.toUnsignedLong(msr);
        return !covered(m) || bit(m, true);
    }

    /** Whether WRMSR of {@code msr} exits; always true outside the two ranges (SDM 26.1.3). */
    public synchronized boolean isWriteIntercepted(int msr) {
        checkLive();
        long m = Integer.toUnsignedLong(msr);
        return !covered(m) || bit(m, false);
    }

    /** Returns the frame to the memory; the bitmap cannot be used afterwards. */
    public synchronized void free() {
        checkLive();
        freed = true;
        memory.freeFrames(address, 1);
    }

    private static boolean covered(long m) {
        return (m >= LOW_FIRST && m < LOW_FIRST + RANGE) || (m >= HIGH_FIRST && m < HIGH_FIRST + RANGE);
    }

    private static long requireCovered(int msr) {
        long m = Integer.toUnsignedLong(msr);
        if (!covered(m)) {
            throw new IllegalArgumentException(String.format(
                    "MSR %#x is not in 0x0-0x1fff or 0xc0000000-0xc0001fff: RDMSR and WRMSR of it always cause VM "
                            + "exits (SDM 26.1.3); the MSR bitmap has no bit for it", m));
        }
        return m;
    }

    private long byteAddress(long m, boolean read) {
        boolean high = m >= HIGH_FIRST;
        int base = read ? (high ? READ_HIGH : READ_LOW) : (high ? WRITE_HIGH : WRITE_LOW);
        return address + base + ((m & (RANGE - 1)) >>> 3);
    }

    private boolean bit(long m, boolean read) {
        return ((memory.read8(byteAddress(m, read)) >>> (m & 7)) & 1) != 0;
    }

    private void setBit(long m, boolean read, boolean intercept) {
        long at = byteAddress(m, read);
        int mask = 1 << (int) (m & 7);
        int old = memory.read8(at);
        memory.write8(at, intercept ? old | mask : old & ~mask);
    }

    private void checkLive() {
        if (freed) {
            throw new IllegalStateException(String.format("MSR bitmap at %#x was freed", address));
        }
    }
}
