package io.jvmx.linux.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The real-mode kernel header of a bzImage, as the Linux x86 boot protocol (Documentation/arch/x86/boot.rst, "The
 * Real-Mode Kernel Header") lays it out from offset 0x1F1 of the image, with the checks a boot loader makes before it
 * trusts the image. Offsets are those of the document; names are its field names.
 *
 * <p>jvmx boots through the 32-bit boot protocol, so it needs protocol 2.10 or later (the version that added
 * {@code init_size} and {@code pref_address}, which tell a loader how much memory the kernel needs and where it
 * prefers to run) and a bzImage ({@code loadflags.LOADED_HIGH}: the protected-mode kernel runs at 1 MiB or above).
 */
public final class SetupHeader {
    // ---- offsets in the image and in boot_params (the header is copied to the same offsets of the zero page) ----
    public static final int SETUP_SECTS = 0x1F1, SYSSIZE = 0x1F4, VID_MODE = 0x1FA, BOOT_FLAG = 0x1FE,
            JUMP = 0x200, HEADER = 0x202, VERSION = 0x206, KERNEL_VERSION = 0x20E, TYPE_OF_LOADER = 0x210,
            LOADFLAGS = 0x211, CODE32_START = 0x214, RAMDISK_IMAGE = 0x218, RAMDISK_SIZE = 0x21C,
            CMD_LINE_PTR = 0x228, INITRD_ADDR_MAX = 0x22C, KERNEL_ALIGNMENT = 0x230, RELOCATABLE_KERNEL = 0x234,
            MIN_ALIGNMENT = 0x235, XLOADFLAGS = 0x236, CMDLINE_SIZE = 0x238, PAYLOAD_OFFSET = 0x248,
            PAYLOAD_LENGTH = 0x24C, PREF_ADDRESS = 0x258, INIT_SIZE = 0x260;
    /** "HdrS", the header signature at 0x202. */
    public static final int HDRS = 0x5372_6448;
    public static final int BOOT_FLAG_VALUE = 0xAA55;
    /** loadflags bit 0: the protected-mode code is loaded at 0x100000 (a bzImage). */
    public static final int LOADED_HIGH = 0x01;
    /** xloadflags bit 0: a 64-bit kernel with the legacy 64-bit entry point at 0x200. */
    public static final int XLF_KERNEL_64 = 0x01;
    /** Protocol 2.10: init_size, pref_address. */
    public static final int MINIMUM_VERSION = 0x020A;
    /** The traditional load address of a bzImage's protected-mode code. */
    public static final long HIGH_LOAD_ADDRESS = 0x10_0000;

    private final ByteBuffer image;
    private final int setupSects;
    private final int headerEnd;

    private SetupHeader(ByteBuffer image, int setupSects, int headerEnd) {
        this.image = image;
        this.setupSects = setupSects;
        this.headerEnd = headerEnd;
    }

    /**
     * Reads and checks the header of {@code image}.
     *
     * @throws KernelImageException naming what is wrong: not a Linux image, a protocol too old, no bzImage, a header
     *                              that contradicts the file's size
     */
    public static SetupHeader parse(byte[] image) throws KernelImageException {
        if (image.length < 0x264) {
            throw new KernelImageException(String.format("%d bytes is too short for a Linux bzImage (the setup "
                    + "header alone ends at 0x264)", image.length));
        }
        ByteBuffer b = ByteBuffer.wrap(image.clone()).asReadOnlyBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
        if (b.getInt(HEADER) != HDRS) {
            throw new KernelImageException(String.format("not a Linux kernel image: no \"HdrS\" signature at 0x202 "
                    + "(found %08x); an ELF vmlinux or a compressed file is not a bzImage", b.getInt(HEADER)));
        }
        if ((b.getShort(BOOT_FLAG) & 0xFFFF) != BOOT_FLAG_VALUE) {
            throw new KernelImageException(String.format("not a Linux kernel image: boot_flag at 0x1FE is %#06x, "
                    + "not 0xAA55", b.getShort(BOOT_FLAG) & 0xFFFF));
        }
        int version = b.getShort(VERSION) & 0xFFFF;
        if (version < MINIMUM_VERSION) {
            throw new KernelImageException(String.format("boot protocol %d.%02d is too old: jvmx needs 2.10 or later "
                    + "(init_size, pref_address; kernels since 2.6.31)", version >> 8, version & 0xFF));
        }
        if ((b.get(LOADFLAGS) & LOADED_HIGH) == 0) {
            throw new KernelImageException("a zImage (loadflags.LOADED_HIGH = 0, loaded at 0x10000): only bzImages "
                    + "are supported");
        }
        int sects = b.get(SETUP_SECTS) & 0xFF;
        if (sects == 0) {
            sects = 4; // boot.rst: "if this field is 0, the real value is 4"
        }
        int setupBytes = (sects + 1) * 512;
        long syssize = (b.getInt(SYSSIZE) & 0xFFFF_FFFFL) * 16;
        if (setupBytes >= image.length || setupBytes + syssize > image.length) {
            throw new KernelImageException(String.format("truncated bzImage: %d setup sectors and %d bytes of "
                    + "protected-mode code (syssize) need %d bytes, the file has %d", sects, syssize,
                    setupBytes + syssize, image.length));
        }
        int headerEnd = 0x202 + (b.get(JUMP + 1) & 0xFF); // boot.rst: "0x0202 + byte value at offset 0x0201"
        if (headerEnd < INIT_SIZE + 4 || headerEnd > setupBytes) {
            throw new KernelImageException(String.format("the setup header claims to end at %#x (jump at 0x200): "
                    + "not a protocol 2.10+ header", headerEnd));
        }
        SetupHeader h = new SetupHeader(b, sects, headerEnd);
        if (h.relocatable() && Long.bitCount(h.kernelAlignment()) != 1) {
            throw new KernelImageException(String.format("kernel_alignment %#x is not a power of two",
                    h.kernelAlignment()));
        }
        if (h.initSize() < h.protectedModeSize()) {
            throw new KernelImageException(String.format("init_size %#x is smaller than the protected-mode code "
                    + "(%#x bytes)", h.initSize(), h.protectedModeSize()));
        }
        return h;
    }

    /** Boot protocol version, e.g. 0x020F for 2.15. */
    public int version() {
        return image.getShort(VERSION) & 0xFFFF;
    }

    public String versionString() {
        return (version() >> 8) + "." + String.format("%02d", version() & 0xFF);
    }

    /** Sectors of real-mode setup code after the boot sector (0 in the file means 4). */
    public int setupSects() {
        return setupSects;
    }

    /** Where the protected-mode kernel starts in the file: after the boot sector and the setup sectors. */
    public int protectedModeOffset() {
        return (setupSects + 1) * 512;
    }

    /** Bytes of protected-mode kernel in the file. */
    public int protectedModeSize() {
        return image.capacity() - protectedModeOffset();
    }

    /** The header's end (exclusive): what a loader copies into the zero page, from {@link #SETUP_SECTS}. */
    public int headerEnd() {
        return headerEnd;
    }

    public int loadflags() {
        return image.get(LOADFLAGS) & 0xFF;
    }

    public int xloadflags() {
        return image.getShort(XLOADFLAGS) & 0xFFFF;
    }

    public long code32Start() {
        return image.getInt(CODE32_START) & 0xFFFF_FFFFL;
    }

    /** The highest address the initrd's last byte may occupy. */
    public long initrdAddrMax() {
        return image.getInt(INITRD_ADDR_MAX) & 0xFFFF_FFFFL;
    }

    public long kernelAlignment() {
        return image.getInt(KERNEL_ALIGNMENT) & 0xFFFF_FFFFL;
    }

    public boolean relocatable() {
        return image.get(RELOCATABLE_KERNEL) != 0;
    }

    /** The longest command line, without its terminating zero. */
    public long cmdlineSize() {
        return image.getInt(CMDLINE_SIZE) & 0xFFFF_FFFFL;
    }

    public long prefAddress() {
        return image.getLong(PREF_ADDRESS);
    }

    /** Linear memory the kernel needs from its load address until it has set itself up (decompression included). */
    public long initSize() {
        return image.getInt(INIT_SIZE) & 0xFFFF_FFFFL;
    }

    /** The compressed payload's first bytes (its format's magic number), for messages. */
    public String payloadFormat() {
        int at = protectedModeOffset() + image.getInt(PAYLOAD_OFFSET);
        if (at < 0 || at + 6 > image.capacity()) {
            return "unknown";
        }
        int b0 = image.get(at) & 0xFF, b1 = image.get(at + 1) & 0xFF;
        if (b0 == 0x1F && (b1 == 0x8B || b1 == 0x9E)) {
            return "gzip";
        }
        if (b0 == 0xFD && b1 == '7') {
            return "xz";
        }
        if (b0 == 'B' && b1 == 'Z') {
            return "bzip2";
        }
        if (b0 == 0x5D && b1 == 0) {
            return "lzma";
        }
        if (b0 == 0x89 && b1 == 'L') {
            return "lzo";
        }
        if (b0 == 0x02 && b1 == 0x21) {
            return "lz4";
        }
        if (b0 == 0x28 && b1 == 0xB5) {
            return "zstd";
        }
        if (b0 == 0x7F && b1 == 'E') {
            return "uncompressed ELF";
        }
        return "unknown";
    }

    /** The kernel's version string (kernel_version points into the setup code, 0x200 before the offset it holds). */
    public String kernelVersion() {
        int p = (image.getShort(KERNEL_VERSION) & 0xFFFF) + 0x200;
        if ((image.getShort(KERNEL_VERSION) & 0xFFFF) == 0 || p >= protectedModeOffset()) {
            return "unknown";
        }
        StringBuilder s = new StringBuilder();
        for (int i = p; i < protectedModeOffset() && image.get(i) != 0 && s.length() < 200; i++) {
            s.append((char) (image.get(i) & 0xFF));
        }
        return s.toString();
    }

    /** The header bytes [0x1F1, headerEnd) as a loader copies them into boot_params. */
    public byte[] headerBytes() {
        byte[] h = new byte[headerEnd - SETUP_SECTS];
        image.get(SETUP_SECTS, h);
        return h;
    }

    /** The protected-mode kernel: what goes to the load address. */
    public byte[] protectedModeKernel() {
        byte[] k = new byte[protectedModeSize()];
        image.get(protectedModeOffset(), k);
        return k;
    }
}
