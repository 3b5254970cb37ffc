package io.jvmx.vmx.api.memory;

/**
 * A guest's physical address space, as its EPT maps it onto host-physical frames. Accesses to unmapped
 * guest-physical addresses throw {@link IllegalArgumentException} naming the address.
 */
public interface GuestPhysicalMemory {
    /** Bytes of guest RAM mapped from guest-physical 0. */
    long size();

    /** The host-physical address backing {@code gpa}, or -1 if unmapped. */
    long translate(long gpa);

    void read(long gpa, byte[] dst, int offset, int length);

    void write(long gpa, byte[] src, int offset, int length);

    default int read8(long gpa) {
        byte[] b = new byte[1];
        read(gpa, b, 0, 1);
        return b[0] & 0xFF;
    }

    default void write8(long gpa, int value) {
        write(gpa, new byte[] {(byte) value}, 0, 1);
    }
}
