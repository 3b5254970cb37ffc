package io.jvmx.guests;

import java.util.Arrays;
import java.util.Objects;

/**
 * One guest image: a flat binary whose bytes are copied to guest-physical {@code loadAddress} and entered at
 * {@code entry} in real mode with CS.selector = 0, CS.base = 0 (the platform convention; so the entry must be
 * below 64 KiB).
 *
 * <p>The record is immutable: the bytes are copied in and every {@link #bytes()} call returns a fresh copy, so a
 * caller that patches its copy cannot change the catalog. Equality compares the bytes' contents.
 *
 * @param name        the catalog name, e.g. {@link GuestCatalog#DEMO}
 * @param description one line for people
 * @param bytes       the image
 * @param loadAddress guest-physical address of the first byte
 * @param entry       guest-physical address of the first instruction
 */
public record GuestImage(String name, String description, byte[] bytes, long loadAddress, long entry) {

    public GuestImage {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(bytes, "bytes");
        if (name.isBlank()) {
            throw new IllegalArgumentException("a guest image needs a name");
        }
        if (bytes.length == 0) {
            throw new IllegalArgumentException("guest image " + name + " is empty");
        }
        if (loadAddress < 0) {
            throw new IllegalArgumentException(String.format("guest image %s: negative load address %#x", name, loadAddress));
        }
        if (entry < loadAddress || entry >= loadAddress + bytes.length) {
            throw new IllegalArgumentException(String.format(
                    "guest image %s: entry %#x lies outside its %d bytes loaded at %#x", name, entry, bytes.length,
                    loadAddress));
        }
        bytes = bytes.clone();
    }

    /** A copy of the image's bytes. */
    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    /** The image's length in bytes (without copying them). */
    public int size() {
        return bytes.length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof GuestImage other
                && name.equals(other.name)
                && description.equals(other.description)
                && Arrays.equals(bytes, other.bytes)
                && loadAddress == other.loadAddress
                && entry == other.entry;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, description, Arrays.hashCode(bytes), loadAddress, entry);
    }

    @Override
    public String toString() {
        return String.format("GuestImage[%s: %d bytes at %#x, entry %#x]", name, bytes.length, loadAddress, entry);
    }
}
