package io.jvmx.handlers.testkit;

import io.jvmx.vmx.api.memory.GuestPhysicalMemory;

/**
 * Guest RAM for tests: a byte array mapped identity from guest-physical 0 (as the platform's EPT maps guest RAM).
 * Like the real one, an access outside the RAM throws {@link IllegalArgumentException} naming the address.
 */
public final class ArrayGuestMemory implements GuestPhysicalMemory {
    private final byte[] ram;

    public ArrayGuestMemory(int bytes) {
        this.ram = new byte[bytes];
    }

    @Override
    public long size() {
        return ram.length;
    }

    @Override
    public long translate(long gpa) {
        return gpa >= 0 && gpa < ram.length ? gpa : -1;
    }

    @Override
    public void read(long gpa, byte[] dst, int offset, int length) {
        check(gpa, length);
        System.arraycopy(ram, (int) gpa, dst, offset, length);
    }

    @Override
    public void write(long gpa, byte[] src, int offset, int length) {
        check(gpa, length);
        System.arraycopy(src, offset, ram, (int) gpa, length);
    }

    private void check(long gpa, int length) {
        if (gpa < 0 || length < 0 || gpa + length > ram.length) {
            throw new IllegalArgumentException(String.format(
                    "guest-physical %#x (+%d bytes) is not mapped (guest RAM is %d bytes)", gpa, length, ram.length));
        }
    }
}
