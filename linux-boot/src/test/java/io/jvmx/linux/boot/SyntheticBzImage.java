package io.jvmx.linux.boot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A bzImage made in the test: a boot sector and setup sectors carrying a protocol 2.15 setup header (the fields of
 * boot.rst with values a 6.1 x86-64 kernel has), followed by a protected-mode part of a given size.
 */
final class SyntheticBzImage {
    int setupSects = 4;
    int version = 0x020F;
    int loadflags = SetupHeader.LOADED_HIGH;
    boolean relocatable = true;
    long kernelAlignment = 0x20_0000;
    long prefAddress = 0x100_0000;
    long initSize = 0x200_0000;
    long initrdAddrMax = 0x7FFF_FFFF;
    long cmdlineSize = 0x7FF;
    int protectedModeBytes = 0x4000;
    String kernelVersion = "6.1.0-synthetic (test@jvmx) #1 SMP";

    byte[] build() {
        int setupBytes = (setupSects + 1) * 512;
        ByteBuffer b = ByteBuffer.allocate(setupBytes + protectedModeBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.put(SetupHeader.SETUP_SECTS, (byte) setupSects);
        b.putInt(SetupHeader.SYSSIZE, protectedModeBytes / 16);
        b.putShort(SetupHeader.VID_MODE, (short) 0xFFFF);
        b.putShort(SetupHeader.BOOT_FLAG, (short) 0xAA55);
        b.put(SetupHeader.JUMP, (byte) 0xEB);
        b.put(SetupHeader.JUMP + 1, (byte) 0x6A); // header ends at 0x26C, as in 2.15 kernels
        b.putInt(SetupHeader.HEADER, SetupHeader.HDRS);
        b.putShort(SetupHeader.VERSION, (short) version);
        b.putShort(SetupHeader.KERNEL_VERSION, (short) 0x300); // the string at 0x500
        byte[] v = (kernelVersion + "\0").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        b.put(0x500, v);
        b.put(SetupHeader.LOADFLAGS, (byte) loadflags);
        b.putInt(SetupHeader.CODE32_START, 0x10_0000);
        b.putInt(SetupHeader.INITRD_ADDR_MAX, (int) initrdAddrMax);
        b.putInt(SetupHeader.KERNEL_ALIGNMENT, (int) kernelAlignment);
        b.put(SetupHeader.RELOCATABLE_KERNEL, (byte) (relocatable ? 1 : 0));
        b.put(SetupHeader.MIN_ALIGNMENT, (byte) 21);
        b.putShort(SetupHeader.XLOADFLAGS, (short) SetupHeader.XLF_KERNEL_64);
        b.putInt(SetupHeader.CMDLINE_SIZE, (int) cmdlineSize);
        b.putInt(SetupHeader.PAYLOAD_OFFSET, 0x10);
        b.putInt(SetupHeader.PAYLOAD_LENGTH, 0x100);
        b.putLong(SetupHeader.PREF_ADDRESS, prefAddress);
        b.putInt(SetupHeader.INIT_SIZE, (int) initSize);
        // the protected-mode part: an xz magic where payload_offset points, then a recognisable pattern
        b.put(setupBytes + 0x10, new byte[] {(byte) 0xFD, '7', 'z', 'X', 'Z', 0});
        for (int i = 0x20; i < protectedModeBytes; i++) {
            b.put(setupBytes + i, (byte) i);
        }
        return b.array();
    }
}
