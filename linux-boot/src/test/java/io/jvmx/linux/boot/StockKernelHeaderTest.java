package io.jvmx.linux.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.Test;

/**
 * The header of the real kernel guests/linux/prepare.sh fetches (Debian's stock 6.1 kernel), when it has been
 * fetched; skipped otherwise, since the build must not download a kernel. Directory: system property jvmx.linux.dir
 * (the build sets it to guests/linux/boot).
 */
public class StockKernelHeaderTest {

    @Test
    public void debiansKernelIsARelocatable64BitBzImageThatTheLoaderPlaces() throws IOException, KernelImageException {
        String dir = System.getProperty("jvmx.linux.dir", "../guests/linux/boot");
        Path vmlinuz = Path.of(dir, "vmlinuz");
        assumeTrue("no kernel at " + vmlinuz.toAbsolutePath() + ": run guests/linux/prepare.sh to test against "
                + "the stock kernel", Files.isRegularFile(vmlinuz));
        byte[] image = Files.readAllBytes(vmlinuz);
        SetupHeader h = SetupHeader.parse(image);
        assertTrue("protocol " + h.versionString(), h.version() >= 0x020C);
        assertTrue(h.relocatable());
        assertEquals("a 64-bit kernel", SetupHeader.XLF_KERNEL_64, h.xloadflags() & SetupHeader.XLF_KERNEL_64);
        assertTrue(h.kernelVersion(), h.kernelVersion().startsWith("6."));
        assertEquals(0x100_0000, h.prefAddress());
        LinuxLoader.LoadedKernel k = LinuxLoader.load(image, new byte[4096], "console=ttyS0", 256L << 20);
        assertEquals(0x100_0000, k.layout().kernelAddress());
        assertTrue(k.layout().initrdAddress() >= k.layout().kernelEnd());
    }
}
