package io.jvmx.linux.boot;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.core.runtime.GuestBoot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.junit.Test;

/** The layout and zero page the 32-bit boot protocol asks of a loader (boot.rst), on synthetic images. */
public class LinuxLoaderTest {
    private static final long MIB = 1 << 20;

    @Test
    public void theZeroPageCarriesTheHeaderAndWhatTheLoaderFilledIn() throws KernelImageException {
        byte[] image = new SyntheticBzImage().build();
        byte[] initrd = new byte[300_000];
        Arrays.fill(initrd, (byte) 0x5A);
        LinuxLoader.LoadedKernel k = LinuxLoader.load(image, initrd, "console=ttyS0 quiet", 64 * MIB);

        ByteBuffer zp = ByteBuffer.wrap(region(k.boot(), "zero page").bytes()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(4096, zp.capacity());
        // the header is copied as it is in the image, then the loader's fields are filled in
        byte[] header = Arrays.copyOfRange(image, 0x1F1, 0x26C);
        assertEquals(0xAA55, zp.getShort(0x1FE) & 0xFFFF);
        assertEquals(SetupHeader.HDRS, zp.getInt(0x202));
        assertEquals(header[0x236 - 0x1F1], zp.get(0x236));
        assertEquals("type_of_loader", 0xFF, zp.get(0x210) & 0xFF);
        assertEquals("code32_start = where the kernel went", 0x100_0000, zp.getInt(0x214));
        long initrdAt = zp.getInt(0x218) & 0xFFFF_FFFFL;
        assertEquals(300_000, zp.getInt(0x21C));
        assertEquals("page-aligned", 0, initrdAt % 4096);
        assertTrue("as high as possible", initrdAt + 300_000 <= 64 * MIB && initrdAt + 300_000 + 4096 > 64 * MIB);
        assertEquals(LinuxLoader.COMMAND_LINE, zp.getInt(0x228));
        assertEquals("alt_mem_k", (64 * MIB - MIB) >> 10, zp.getInt(0x1E0));
        assertEquals("sentinel stays 0, or the kernel would wipe what we filled in", 0, zp.get(0x1EF));
        // e820: conventional memory, EBDA and BIOS reserved, RAM from 1 MiB to the end
        assertEquals(4, zp.get(0x1E8));
        long[][] expected = {{0, 0x9FC00, 1}, {0x9FC00, 0x400, 2}, {0xF0000, 0x10000, 2}, {MIB, 63 * MIB, 1}};
        for (int i = 0; i < 4; i++) {
            int at = 0x2D0 + 20 * i;
            assertEquals("e820[" + i + "].addr", expected[i][0], zp.getLong(at));
            assertEquals("e820[" + i + "].size", expected[i][1], zp.getLong(at + 8));
            assertEquals("e820[" + i + "].type", expected[i][2], zp.getInt(at + 16));
        }

        assertArrayEquals("console=ttyS0 quiet\0".getBytes(StandardCharsets.US_ASCII),
                region(k.boot(), "command line").bytes());
        assertEquals(LinuxLoader.COMMAND_LINE, region(k.boot(), "command line").address());
        assertEquals(initrdAt, region(k.boot(), "initrd").address());
        assertEquals(0x100_0000, region(k.boot(), "kernel").address());
        assertArrayEquals(Arrays.copyOfRange(image, 5 * 512, image.length), region(k.boot(), "kernel").bytes());
        assertTrue(k.describe(), k.describe().contains("initrd of 292 KiB"));
    }

    @Test
    public void entryIsThe32BitBootProtocolsState() throws KernelImageException {
        LinuxLoader.LoadedKernel k = LinuxLoader.load(new SyntheticBzImage().build(), null, "", 64 * MIB);
        GuestBoot.Entry e = k.boot().entry();
        assertTrue(e.protectedMode());
        assertEquals(0x100_0000, e.rip());
        assertEquals(0x10, e.codeSelector());
        assertEquals(0x18, e.dataSelector());
        assertEquals(LinuxLoader.ZERO_PAGE, e.gprs()[GeneralRegisters.RSI]);
        assertEquals(0, e.gprs()[GeneralRegisters.RBP]);
        assertEquals(0, e.gprs()[GeneralRegisters.RDI]);
        assertEquals(0, e.gprs()[GeneralRegisters.RBX]);
        ByteBuffer gdt = ByteBuffer.wrap(region(k.boot(), "boot GDT").bytes()).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(e.gdtBase(), region(k.boot(), "boot GDT").address());
        assertEquals(31, e.gdtLimit());
        assertEquals("__BOOT_CS: flat, 32-bit, execute/read", 0x00CF_9B00_0000_FFFFL, gdt.getLong(0x10));
        assertEquals("__BOOT_DS: flat, 32-bit, read/write", 0x00CF_9300_0000_FFFFL, gdt.getLong(0x18));
        assertEquals("no initrd", 0, k.layout().initrdSize());
    }

    @Test
    public void aKernelThatCannotRunAtItsPreferredAddressGoesToTheLowestAlignedOne() throws KernelImageException {
        // 16 MiB + 32 MiB does not fit in 40 MiB: 2 MiB (the first 2-MiB boundary above 1 MiB) does
        assertEquals(0x20_0000, LinuxLoader.load(new SyntheticBzImage().build(), null, "", 40 * MIB)
                .layout().kernelAddress());
        SyntheticBzImage fixed = new SyntheticBzImage();
        fixed.relocatable = false;
        assertEquals(0x10_0000, LinuxLoader.load(fixed.build(), null, "", 40 * MIB).layout().kernelAddress());
    }

    @Test
    public void whatDoesNotFitIsRefusedWithTheMemoryThatWouldDo() {
        refused(new SyntheticBzImage().build(), null, "", 16 * MIB, "give the guest at least 34 MiB");
        refused(new SyntheticBzImage().build(), new byte[30 << 20], "", 64 * MIB, "the initrd (30720 KiB) does not fit");
        SyntheticBzImage shortCmd = new SyntheticBzImage();
        shortCmd.cmdlineSize = 8;
        refused(shortCmd.build(), null, "console=ttyS0", 64 * MIB, "takes at most 8");
        refused(new SyntheticBzImage().build(), null, "caf\u00e9", 64 * MIB, "printable ASCII");
        SyntheticBzImage lowInitrd = new SyntheticBzImage();
        lowInitrd.initrdAddrMax = 0x200_0000; // the initrd must end below 32 MiB: inside the kernel's init_size
        refused(lowInitrd.build(), new byte[4096], "", 64 * MIB, "does not fit above the kernel");
    }

    private static void refused(byte[] image, byte[] initrd, String cmd, long ram, String reason) {
        try {
            LinuxLoader.load(image, initrd, cmd, ram);
            fail("accepted, expected: " + reason);
        } catch (KernelImageException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(reason));
        }
    }

    static GuestBoot.Region region(GuestBoot boot, String what) {
        return boot.regions().stream().filter(r -> r.what().equals(what)).findFirst()
                .orElseThrow(() -> new AssertionError("no region " + what));
    }
}
