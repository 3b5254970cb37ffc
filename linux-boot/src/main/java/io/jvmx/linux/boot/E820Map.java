package io.jvmx.linux.boot;

import java.util.ArrayList;
import java.util.List;

/**
 * The BIOS memory map a PC firmware reports through INT 15h, AX = E820h (ACPI specification, "Query System Address
 * Map"), which the boot protocol passes to the kernel in boot_params.e820_table: base, length and type per range.
 * jvmx's guest RAM is one block from guest-physical 0; the map describes it as a PC's would, so the kernel leaves the
 * legacy areas alone: conventional memory up to the extended BIOS data area, the EBDA's last KiB and the BIOS ROM
 * area (0xF0000-0xFFFFF) reserved, the VGA and option-ROM window (0xA0000-0xEFFFF) absent, and RAM from 1 MiB on.
 *
 * @param entries the ranges in ascending order
 */
public record E820Map(List<Entry> entries) {
    /** Address range types (ACPI, Table "Address Range Types"). */
    public static final int RAM = 1, RESERVED = 2;
    /** boot_params.e820_table holds at most this many entries (E820_MAX_ENTRIES_ZEROPAGE). */
    public static final int MAX_ENTRIES = 128;

    static final long EBDA = 0x9_FC00, LEGACY_END = 0xA_0000, BIOS_ROM = 0xF_0000, ONE_MIB = 0x10_0000;

    public record Entry(long base, long length, int type) {
    }

    public E820Map {
        entries = List.copyOf(entries);
        if (entries.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException("the zero page holds at most " + MAX_ENTRIES + " e820 entries");
        }
    }

    /** The map of {@code ramBytes} of guest RAM from address 0 (at least 2 MiB). */
    public static E820Map forRam(long ramBytes) {
        if (ramBytes < 2 * ONE_MIB) {
            throw new IllegalArgumentException(String.format("%d KiB of guest RAM: a PC memory map needs at least "
                    + "2 MiB", ramBytes >> 10));
        }
        List<Entry> e = new ArrayList<>();
        e.add(new Entry(0, EBDA, RAM));
        e.add(new Entry(EBDA, LEGACY_END - EBDA, RESERVED));
        e.add(new Entry(BIOS_ROM, ONE_MIB - BIOS_ROM, RESERVED));
        e.add(new Entry(ONE_MIB, ramBytes - ONE_MIB, RAM));
        return new E820Map(e);
    }

    /** Whether [base, base + length) lies wholly in one RAM range. */
    public boolean isRam(long base, long length) {
        for (Entry e : entries) {
            if (e.type() == RAM && base >= e.base() && base + length <= e.base() + e.length()) {
                return true;
            }
        }
        return false;
    }
}
