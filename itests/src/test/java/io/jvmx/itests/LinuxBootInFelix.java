package io.jvmx.itests;

import org.junit.Test;
import org.junit.runner.RunWith;
import org.ops4j.pax.exam.junit.PaxExam;
import org.ops4j.pax.exam.spi.reactors.ExamReactorStrategy;
import org.ops4j.pax.exam.spi.reactors.PerClass;

import java.io.File;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

/**
 * Debian's stock x86-64 kernel on the software processor, as a person runs it: {@code vcpu:run --kernel --initrd}
 * in the real distribution, all bundles. The kernel must print its banner and boot log on ttyS0, unpack the
 * initramfs, run /init (busybox), whose lines prove user space ran, and end the run with exit code 0 through the
 * debug-exit port. Run by {@link LinuxBootIT}, which first checks that the kernel and initramfs are there (an
 * assumption that fails inside Pax Exam's probe is reported as a pass, so it must be made outside).
 */
@RunWith(PaxExam.class)
@ExamReactorStrategy(PerClass.class)
public class LinuxBootInFelix extends JvmxTestSupport {

    @Test
    public void stockKernelBootsToUserSpaceAndPowersOff() throws Exception {
        File kernel = LinuxBootIT.kernel();
        File initrd = LinuxBootIT.initrd();
        awaitCommand("vcpu", "run");
        long start = System.nanoTime();
        CommandResult r = execute("vcpu:run --kernel \"" + kernel.getAbsolutePath() + "\" --initrd \""
                + initrd.getAbsolutePath() + "\" --timeout 1200");
        String out = r.all();
        System.out.printf("LinuxBootIT: %.1f s%n%s%n", (System.nanoTime() - start) / 1e9, out);
        assertTrue(out, out.contains("] Linux version 6."));
        assertTrue(out, out.contains("printk: console [ttyS0] enabled"));
        assertTrue("the PIT calibrated the TSC\n" + out, out.contains("tsc: Fast TSC calibration using PIT"));
        assertTrue(out, out.contains("serial8250: ttyS0 at I/O 0x3f8 (irq = 4"));
        assertTrue(out, out.contains("rtc_cmos rtc_cmos: setting system clock to "));
        assertTrue(out, out.contains("Run /init as init process"));
        assertTrue("user space ran\n" + out, out.contains("jvmx-linux: init started"));
        assertTrue(out, out.contains("6 * 7 = 42"));
        assertTrue(out, out.contains("jvmx-linux: init done"));
        assertFalse(out, out.contains("Kernel panic"));
        assertTrue(out, out.contains("guest exited with code 0"));
        assertEquals(out, 0, ((Number) r.value()).intValue());
    }
}
