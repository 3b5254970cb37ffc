package io.jvmx.linux.boot;

import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.core.runtime.GuestBoot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A boot loader for Linux on x86-64 through the 32-bit boot protocol (Documentation/arch/x86/boot.rst, "32-bit Boot
 * Protocol"): it does what GRUB or QEMU's -kernel do for a bzImage, without BIOS or real-mode setup code.
 *
 * <ul>
 *   <li>The protected-mode kernel goes to {@code pref_address} when the kernel is relocatable and
 *       {@code pref_address + init_size} fits in RAM, else to the lowest {@code kernel_alignment}-aligned address at
 *       or above 1 MiB (a relocatable kernel runs anywhere so aligned), else to {@code code32_start}.</li>
 *   <li>The zero page ({@code struct boot_params}) at {@link #ZERO_PAGE}: all zero but the setup header copied from the
 *       image (0x1F1 up to 0x202 + the byte at 0x201, boot.rst "Details of Header Fields") and the fields a loader
 *       fills: type_of_loader, code32_start, ramdisk_image/size, cmd_line_ptr, the e820 map ({@link E820Map}), and
 *       alt_mem_k. screen_info stays zero: no VGA text console (vgacon gives up on 0 lines and columns).</li>
 *   <li>The command line, zero-terminated, at {@link #COMMAND_LINE} (at most {@code cmdline_size} bytes).</li>
 *   <li>The initrd at the top of RAM, page-aligned, its last byte at or below {@code initrd_addr_max} and above the
 *       kernel's {@code init_size} (boot.rst: "it is recommended that the initrd be loaded as high as possible").</li>
 *   <li>The GDT the protocol requires at {@link #GDT}: __BOOT_CS (0x10) a flat 4-GiB execute/read segment and
 *       __BOOT_DS (0x18) a flat read/write one.</li>
 *   <li>Entry at the kernel's load address in 32-bit protected mode, paging and interrupts off, CS = __BOOT_CS,
 *       DS = ES = SS = __BOOT_DS, ESI = the zero page, EBP = EDI = EBX = 0 (boot.rst: "At entry, the CPU must be in
 *       32-bit protected mode with paging disabled; ...").</li>
 * </ul>
 */
public final class LinuxLoader {
    /** The protocol's boot GDT and its selectors (boot.rst: __BOOT_CS = 0x10, __BOOT_DS = 0x18). */
    public static final long GDT = 0x1000;
    public static final int BOOT_CS = 0x10, BOOT_DS = 0x18;
    /** The zero page, and the command line after it (both below the EBDA, in conventional memory). */
    public static final long ZERO_PAGE = 0x7000;
    public static final long COMMAND_LINE = 0x2_0000;
    /** boot_params fields outside the setup header (arch/x86/include/uapi/asm/bootparam.h). */
    static final int ALT_MEM_K = 0x1E0, E820_ENTRIES = 0x1E8, E820_TABLE = 0x2D0, EXT_RAMDISK_IMAGE = 0x0C0,
            EXT_RAMDISK_SIZE = 0x0C4, EXT_CMD_LINE_PTR = 0x0C8;
    /** type_of_loader 0xFF: "undefined", a loader without an assigned ID (boot.rst "type_of_loader"). */
    static final int LOADER_UNDEFINED = 0xFF;
    private static final int PAGE = 4096;

    private LinuxLoader() {
    }

    /** Where everything went, for people and tests. */
    public record Layout(long kernelAddress, long kernelEnd, long zeroPage, long commandLine, long initrdAddress,
                         long initrdSize, E820Map e820) {
    }

    /** What was loaded: the image's header, the layout and the regions and entry state for the vCPU. */
    public record LoadedKernel(SetupHeader header, Layout layout, String commandLine, GuestBoot boot) {
        /** One line for people: the kernel, protocol, payload and where it all went. */
        public String describe() {
            StringBuilder s = new StringBuilder(String.format("Linux %s (boot protocol %s, %s payload): kernel at "
                    + "%#x (init_size %d MiB)", header.kernelVersion(), header.versionString(),
                    header.payloadFormat(), layout.kernelAddress(), header.initSize() >> 20));
            if (layout.initrdSize() > 0) {
                s.append(String.format(", initrd of %d KiB at %#x", layout.initrdSize() >> 10, layout.initrdAddress()));
            }
            return s.append(", command line \"").append(commandLine).append('"').toString();
        }
    }

    /**
     * Lays out {@code bzImage}, {@code initrd} (null: none) and {@code commandLine} in {@code ramBytes} of guest RAM.
     *
     * @throws KernelImageException if the image is not a usable bzImage, or it, the command line or the initrd does
     *                              not fit (the message says how much memory would do)
     */
    public static LoadedKernel load(byte[] bzImage, byte[] initrd, String commandLine, long ramBytes)
            throws KernelImageException {
        SetupHeader h = SetupHeader.parse(bzImage);
        E820Map e820;
        try {
            e820 = E820Map.forRam(ramBytes);
        } catch (IllegalArgumentException e) {
            throw new KernelImageException(e.getMessage());
        }
        byte[] cmd = commandLine.getBytes(StandardCharsets.US_ASCII);
        if (!StandardCharsets.US_ASCII.newEncoder().canEncode(commandLine) || commandLine.indexOf('\0') >= 0) {
            throw new KernelImageException("the kernel command line must be printable ASCII without NUL");
        }
        if (cmd.length > h.cmdlineSize()) {
            throw new KernelImageException(String.format("the command line has %d bytes; this kernel takes at most "
                    + "%d (cmdline_size)", cmd.length, h.cmdlineSize()));
        }
        if (COMMAND_LINE + cmd.length + 1 > E820Map.EBDA) {
            throw new KernelImageException("the command line does not fit in conventional memory");
        }

        long kernel = kernelAddress(h, ramBytes);
        long kernelEnd = kernel + h.initSize();
        long initrdAddress = 0, initrdSize = 0;
        if (initrd != null && initrd.length > 0) {
            initrdSize = initrd.length;
            // its last byte at or below initrd_addr_max and inside RAM: the highest page-aligned start
            long top = Math.min(h.initrdAddrMax() + 1, ramBytes);
            initrdAddress = (top - initrdSize) & ~(long) (PAGE - 1);
            if (initrdAddress < kernelEnd) {
                throw new KernelImageException(String.format("the initrd (%d KiB) does not fit above the kernel "
                        + "(%#x-%#x) and below %#x: give the guest at least %d MiB", initrdSize >> 10, kernel,
                        kernelEnd, top, mibFor(kernelEnd + initrdSize + PAGE)));
            }
        }

        ByteBuffer zp = ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
        zp.put(SetupHeader.SETUP_SECTS, h.headerBytes());
        zp.put(SetupHeader.TYPE_OF_LOADER, (byte) LOADER_UNDEFINED);
        zp.putInt(SetupHeader.CODE32_START, (int) kernel);
        zp.putInt(SetupHeader.RAMDISK_IMAGE, (int) initrdAddress);
        zp.putInt(SetupHeader.RAMDISK_SIZE, (int) initrdSize);
        zp.putInt(EXT_RAMDISK_IMAGE, (int) (initrdAddress >>> 32));
        zp.putInt(EXT_RAMDISK_SIZE, (int) (initrdSize >>> 32));
        zp.putInt(SetupHeader.CMD_LINE_PTR, (int) COMMAND_LINE);
        zp.putInt(EXT_CMD_LINE_PTR, 0);
        // extended memory in KiB above 1 MiB, for kernels that look before (or instead of) the e820 map
        zp.putInt(ALT_MEM_K, (int) Math.min(0xFFFF_FFFFL, (ramBytes - E820Map.ONE_MIB) >> 10));
        List<E820Map.Entry> entries = e820.entries();
        zp.put(E820_ENTRIES, (byte) entries.size());
        for (int i = 0; i < entries.size(); i++) {
            E820Map.Entry e = entries.get(i);
            int at = E820_TABLE + 20 * i; // struct boot_e820_entry: u64 addr, u64 size, u32 type (packed)
            zp.putLong(at, e.base());
            zp.putLong(at + 8, e.length());
            zp.putInt(at + 16, e.type());
        }

        byte[] cmdz = new byte[cmd.length + 1];
        System.arraycopy(cmd, 0, cmdz, 0, cmd.length);

        ByteBuffer gdt = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        gdt.putLong(0).putLong(0)
                .putLong(0x00CF_9B00_0000_FFFFL)  // 0x10: base 0, limit 4 GiB (G), 32-bit, present, DPL 0, code RX
                .putLong(0x00CF_9300_0000_FFFFL); // 0x18: base 0, limit 4 GiB (G), 32-bit, present, DPL 0, data RW

        List<GuestBoot.Region> regions = new ArrayList<>();
        regions.add(new GuestBoot.Region("boot GDT", GDT, gdt.array()));
        regions.add(new GuestBoot.Region("zero page", ZERO_PAGE, zp.array()));
        regions.add(new GuestBoot.Region("command line", COMMAND_LINE, cmdz));
        regions.add(new GuestBoot.Region("kernel", kernel, h.protectedModeKernel()));
        if (initrdSize > 0) {
            regions.add(new GuestBoot.Region("initrd", initrdAddress, initrd));
        }
        long[] gprs = new long[16];
        gprs[GeneralRegisters.RSI] = ZERO_PAGE;
        gprs[GeneralRegisters.RSP] = ZERO_PAGE; // the protocol leaves the stack to the kernel; this one is harmless
        GuestBoot boot = new GuestBoot(regions,
                GuestBoot.Entry.flatProtectedMode(kernel, GDT, (int) gdt.capacity() - 1, BOOT_CS, BOOT_DS, gprs));
        Layout layout = new Layout(kernel, kernelEnd, ZERO_PAGE, COMMAND_LINE, initrdAddress, initrdSize, e820);
        return new LoadedKernel(h, layout, commandLine, boot);
    }

    /** pref_address, else the lowest aligned address from 1 MiB, for a relocatable kernel; code32_start otherwise. */
    static long kernelAddress(SetupHeader h, long ramBytes) throws KernelImageException {
        long need = h.initSize();
        if (h.relocatable()) {
            long pref = h.prefAddress();
            if (pref >= E820Map.ONE_MIB && pref % h.kernelAlignment() == 0 && pref + need <= ramBytes) {
                return pref;
            }
            long align = h.kernelAlignment();
            long low = (E820Map.ONE_MIB + align - 1) & -align;
            if (low + need <= ramBytes) {
                return low;
            }
            throw new KernelImageException(String.format("the kernel needs %d MiB from its load address (init_size) "
                    + "and the lowest it can run at is %#x: give the guest at least %d MiB", need >> 20, low,
                    mibFor(low + need)));
        }
        long at = h.code32Start();
        if (at < E820Map.ONE_MIB || at + need > ramBytes) {
            throw new KernelImageException(String.format("this kernel is not relocatable and runs at %#x with %d MiB "
                    + "(init_size): give the guest at least %d MiB", at, need >> 20, mibFor(at + need)));
        }
        return at;
    }

    private static long mibFor(long bytes) {
        return (bytes + (1 << 20) - 1) >> 20;
    }
}
