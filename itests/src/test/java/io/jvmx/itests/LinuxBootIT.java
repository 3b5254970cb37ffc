package io.jvmx.itests;

import static org.junit.Assume.assumeTrue;

import org.junit.Test;

import java.io.File;

/**
 * Debian's stock kernel booted to user space in the real distribution ({@link LinuxBootInFelix}), where
 * guests/linux/prepare.sh has fetched it (it needs network; the build must not download a kernel). Without the
 * files the test is skipped, and the build's output says why.
 */
public class LinuxBootIT {

    static File directory() {
        return new File(System.getProperty("jvmx.linux.boot", "guests/linux/boot"));
    }

    static File kernel() {
        return new File(directory(), "vmlinuz");
    }

    static File initrd() {
        return new File(directory(), "initramfs.cpio");
    }

    @Test
    public void stockKernelBootsToUserSpace() {
        if (!kernel().isFile() || !initrd().isFile()) {
            String reason = "LinuxBootIT skipped: no " + kernel() + " or " + initrd()
                    + " (run guests/linux/prepare.sh, which needs network, to fetch Debian's kernel and busybox)";
            System.out.println(reason);
            assumeTrue(reason, false);
        }
        InFelix.run(LinuxBootInFelix.class);
    }
}
