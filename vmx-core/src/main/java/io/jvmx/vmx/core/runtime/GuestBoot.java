package io.jvmx.vmx.core.runtime;

import java.util.List;
import java.util.Objects;

/**
 * How a guest starts: what a loader places in guest-physical memory before the first VM entry, and the processor
 * state that entry begins in. A flat image is one region entered in real mode (x86_vcpu's convention); a boot
 * protocol such as Linux's 32-bit boot protocol places several regions (kernel, zero page, command line, initrd, a
 * GDT) and enters in flat 32-bit protected mode, the way a boot loader hands over to an operating system.
 *
 * @param regions bytes to copy into guest RAM, in order (a later region may overwrite an earlier one)
 * @param entry   the guest state of the first VM entry
 */
public record GuestBoot(List<Region> regions, Entry entry) {

    public GuestBoot {
        regions = List.copyOf(regions);
        Objects.requireNonNull(entry, "entry");
    }

    /** A flat image at {@code loadAddress}, entered in real mode at {@code entry} with CS = 0. */
    public static GuestBoot flat(byte[] image, long loadAddress, long entry) {
        return new GuestBoot(List.of(new Region("image", loadAddress, image)), Entry.realMode(entry));
    }

    /** The highest guest-physical address any region reaches, plus one. */
    public long end() {
        long end = 0;
        for (Region r : regions) {
            end = Math.max(end, r.address() + r.length());
        }
        return end;
    }

    /**
     * Bytes for guest-physical {@code address}. The array is not copied: a region is built once by its loader and
     * read once when the vCPU starts.
     *
     * @param what a label for people ("kernel", "initrd", ...)
     */
    public record Region(String what, long address, byte[] bytes) {
        public Region {
            Objects.requireNonNull(what, "what");
            Objects.requireNonNull(bytes, "bytes");
            if (address < 0) {
                throw new IllegalArgumentException(String.format("%s: negative guest-physical address %#x", what,
                        address));
            }
        }

        public int length() {
            return bytes.length;
        }
    }

    /**
     * The guest state of the first VM entry.
     *
     * @param protectedMode false: real mode, CS.selector = CS.base = 0 and IP = {@code rip} (the reset-like state
     *                      x86_vcpu's setup_vmcs_guest gives); true: 32-bit protected mode with paging off and every
     *                      segment flat (base 0, limit 4 GiB), as boot protocols require
     * @param rip           the first instruction (real mode: below 64 KiB)
     * @param gdtBase       GDTR.base (protected mode: a GDT the loader placed, holding the two selectors below)
     * @param gdtLimit      GDTR.limit
     * @param codeSelector  CS in protected mode: a flat 32-bit execute/read code segment in that GDT
     * @param dataSelector  DS, ES, SS, FS and GS in protected mode: a flat read/write data segment
     * @param gprs          the 16 general-purpose registers in SDM order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
     *                      R8-R15); RFLAGS is 2 (interrupts disabled)
     */
    public record Entry(boolean protectedMode, long rip, long gdtBase, int gdtLimit, int codeSelector,
                        int dataSelector, long[] gprs) {
        public Entry {
            if (gprs.length != 16) {
                throw new IllegalArgumentException("16 general-purpose registers, got " + gprs.length);
            }
            gprs = gprs.clone();
            if (!protectedMode && (rip < 0 || rip > 0xFFFF)) {
                throw new IllegalArgumentException(String.format(
                        "entry %#x is not reachable in real mode (< 0x10000)", rip));
            }
            if (protectedMode && (rip < 0 || rip > 0xFFFF_FFFFL)) {
                throw new IllegalArgumentException(String.format(
                        "entry %#x is not reachable in 32-bit protected mode (< 4 GiB)", rip));
            }
            if (protectedMode && ((codeSelector & 0xFFFC) == 0 || (dataSelector & 0xFFFC) == 0
                    || (codeSelector | dataSelector) > 0xFFFF || ((codeSelector | dataSelector) & 4) != 0
                    || (codeSelector | 7) > gdtLimit || (dataSelector | 7) > gdtLimit)) {
                throw new IllegalArgumentException(String.format(
                        "selectors CS %#x and DS %#x must be non-null GDT selectors within the GDT limit %#x",
                        codeSelector, dataSelector, gdtLimit));
            }
        }

        /** Real mode at {@code ip} (CS = 0), all registers 0. */
        public static Entry realMode(long ip) {
            return new Entry(false, ip, 0, 0xFFFF, 0, 0, new long[16]);
        }

        /** Flat 32-bit protected mode at {@code eip} with the given GDT, selectors and registers. */
        public static Entry flatProtectedMode(long eip, long gdtBase, int gdtLimit, int codeSelector,
                                              int dataSelector, long[] gprs) {
            return new Entry(true, eip, gdtBase, gdtLimit, codeSelector, dataSelector, gprs);
        }

        @Override
        public long[] gprs() {
            return gprs.clone();
        }
    }
}
