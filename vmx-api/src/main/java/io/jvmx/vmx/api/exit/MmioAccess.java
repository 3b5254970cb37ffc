package io.jvmx.vmx.api.exit;

/**
 * The memory access behind an EPT_VIOLATION exit, when the processor decoded it itself (the KVM processor does:
 * KVM's instruction emulator reports the access, not the instruction). A device that owns the guest-physical
 * address completes a read with {@code VCpu.completeMmioRead}; a write is complete already and only needs the
 * device to take {@link #data()}.
 *
 * @param guestPhysicalAddress the address accessed
 * @param size                 1, 2, 4 or 8 bytes
 * @param write                a write (data holds the bytes written, little-endian) or a read
 * @param data                 the value written; 0 for a read
 */
public record MmioAccess(long guestPhysicalAddress, int size, boolean write, long data) {
}
