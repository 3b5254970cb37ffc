package io.jvmx.vmx.core.runtime;

import java.io.OutputStream;
import java.util.Objects;

/**
 * What to run: a flat guest image loaded at a guest-physical address, entered in real mode at {@code entry}
 * (CS.base 0, as x86_vcpu's {@code setup_vmcs_guest}); or, with {@code boot}, whatever a loader laid out (a Linux
 * kernel with its zero page and initrd) and the entry state the loader chose.
 *
 * @param name            a label for people (image name or file)
 * @param image           the bytes to load
 * @param loadAddress     guest-physical address of the first byte
 * @param entry           guest-physical address of the first instruction (below 64 KiB: real mode)
 * @param memoryBytes     guest RAM, mapped from guest-physical 0 through the EPT (a multiple of 4 KiB)
 * @param processorKind   "software" (default) or another registered {@code VmxProcessorProvider} kind
 * @param console         where the guest's serial output goes
 * @param timeSliceTicks  VMX-preemption timer value the time slice is armed with; 0 leaves the timer off
 * @param maxExits        stop the vCPU after this many exits (0 = no limit): a bound for tests
 * @param boot            the loader's regions and entry state, or null: the flat {@code image} at
 *                        {@code loadAddress}, entered in real mode at {@code entry} (then ignored: image, loadAddress
 *                        and entry)
 */
public record LaunchRequest(String name, byte[] image, long loadAddress, long entry, long memoryBytes,
                            String processorKind, OutputStream console, long timeSliceTicks, long maxExits,
                            GuestBoot boot) {

    public static final long DEFAULT_MEMORY = 16L << 20;
    public static final long DEFAULT_TIME_SLICE = 20_000;

    public LaunchRequest {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(processorKind, "processorKind");
        Objects.requireNonNull(console, "console");
        if (memoryBytes <= 0 || memoryBytes % 4096 != 0) {
            throw new IllegalArgumentException("guest memory must be a positive multiple of 4 KiB: " + memoryBytes);
        }
        if (boot == null) {
            if (loadAddress < 0 || loadAddress + image.length > memoryBytes) {
                throw new IllegalArgumentException(String.format(
                        "image of %d bytes at %#x does not fit in %d KiB of guest memory", image.length, loadAddress,
                        memoryBytes >> 10));
            }
            if (entry < 0 || entry > 0xFFFF) {
                throw new IllegalArgumentException(String.format("entry %#x is not reachable in real mode (< 0x10000)", entry));
            }
        } else {
            for (GuestBoot.Region r : boot.regions()) {
                if (r.address() + r.length() > memoryBytes) {
                    throw new IllegalArgumentException(String.format(
                            "%s of %d bytes at %#x does not fit in %d KiB of guest memory", r.what(), r.length(),
                            r.address(), memoryBytes >> 10));
                }
            }
        }
    }

    /** A flat image (no loader). */
    public LaunchRequest(String name, byte[] image, long loadAddress, long entry, long memoryBytes,
                         String processorKind, OutputStream console, long timeSliceTicks, long maxExits) {
        this(name, image, loadAddress, entry, memoryBytes, processorKind, console, timeSliceTicks, maxExits, null);
    }

    /** What a loader laid out, in {@code memoryBytes} of guest RAM, on the default processor and time slice. */
    public static LaunchRequest of(String name, GuestBoot boot, long memoryBytes, OutputStream console) {
        return new LaunchRequest(name, new byte[0], 0, 0, memoryBytes, "software", console, DEFAULT_TIME_SLICE, 0,
                Objects.requireNonNull(boot, "boot"));
    }

    /** The regions to load and the entry state: the loader's, or the flat image's. */
    public GuestBoot guestBoot() {
        return boot != null ? boot : GuestBoot.flat(image, loadAddress, entry);
    }

    public static LaunchRequest of(String name, byte[] image, long loadAddress, long entry, OutputStream console) {
        return new LaunchRequest(name, image, loadAddress, entry, DEFAULT_MEMORY, "software", console,
                DEFAULT_TIME_SLICE, 0);
    }

    public LaunchRequest withProcessor(String kind) {
        return new LaunchRequest(name, image, loadAddress, entry, memoryBytes, kind, console, timeSliceTicks, maxExits,
                boot);
    }

    public LaunchRequest withTimeSlice(long ticks) {
        return new LaunchRequest(name, image, loadAddress, entry, memoryBytes, processorKind, console, ticks, maxExits,
                boot);
    }

    public LaunchRequest withMemory(long bytes) {
        return new LaunchRequest(name, image, loadAddress, entry, bytes, processorKind, console, timeSliceTicks, maxExits,
                boot);
    }

    public LaunchRequest withMaxExits(long n) {
        return new LaunchRequest(name, image, loadAddress, entry, memoryBytes, processorKind, console, timeSliceTicks, n,
                boot);
    }
}
