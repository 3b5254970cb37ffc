package io.jvmx.linux.boot;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

import org.junit.Test;

/** The header checks of boot.rst on synthetic images: each broken field gives its own one-line reason. */
public class SetupHeaderTest {

    @Test
    public void aGoodHeaderReadsAsTheProtocolSays() throws KernelImageException {
        SyntheticBzImage s = new SyntheticBzImage();
        byte[] image = s.build();
        SetupHeader h = SetupHeader.parse(image);
        assertEquals(0x020F, h.version());
        assertEquals("2.15", h.versionString());
        assertEquals(5 * 512, h.protectedModeOffset());
        assertEquals(0x4000, h.protectedModeSize());
        assertEquals(0x26C, h.headerEnd());
        assertEquals(0x100_0000, h.prefAddress());
        assertEquals(0x200_0000, h.initSize());
        assertEquals("xz", h.payloadFormat());
        assertEquals("6.1.0-synthetic (test@jvmx) #1 SMP", h.kernelVersion());
        assertTrue(Arrays.equals(Arrays.copyOfRange(image, 0x1F1, 0x26C), h.headerBytes()));
        assertTrue(Arrays.equals(Arrays.copyOfRange(image, 5 * 512, image.length), h.protectedModeKernel()));
    }

    @Test
    public void setupSectsZeroMeansFour() throws KernelImageException {
        byte[] image = new SyntheticBzImage().build(); // 4 setup sectors
        image[0x1F1] = 0;
        assertEquals(5 * 512, SetupHeader.parse(image).protectedModeOffset());
        image[0x1F1] = 2;
        assertEquals(3 * 512, SetupHeader.parse(image).protectedModeOffset());
    }

    @Test
    public void whatIsNotABzImageIsRefusedWithItsReason() {
        refused(new byte[100], "too short");
        byte[] elf = new SyntheticBzImage().build();
        elf[0x202] = 0x7F;
        refused(elf, "no \"HdrS\" signature");
        byte[] noFlag = new SyntheticBzImage().build();
        noFlag[0x1FE] = 0;
        refused(noFlag, "boot_flag");
        SyntheticBzImage old = new SyntheticBzImage();
        old.version = 0x0204;
        refused(old.build(), "boot protocol 2.04 is too old");
        SyntheticBzImage zImage = new SyntheticBzImage();
        zImage.loadflags = 0;
        refused(zImage.build(), "zImage");
        SyntheticBzImage alignment = new SyntheticBzImage();
        alignment.kernelAlignment = 0x30_0000;
        refused(alignment.build(), "not a power of two");
        byte[] truncated = Arrays.copyOf(new SyntheticBzImage().build(), 5 * 512 + 0x100);
        refused(truncated, "truncated bzImage");
        byte[] shortHeader = new SyntheticBzImage().build();
        ByteBuffer.wrap(shortHeader).order(ByteOrder.LITTLE_ENDIAN).put(0x201, (byte) 0x20);
        refused(shortHeader, "claims to end at 0x222");
    }

    private static void refused(byte[] image, String reason) {
        try {
            SetupHeader.parse(image);
            fail("accepted, expected: " + reason);
        } catch (KernelImageException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(reason));
        }
    }
}
