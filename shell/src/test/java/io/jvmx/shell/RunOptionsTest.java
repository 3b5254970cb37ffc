package io.jvmx.shell;

import io.jvmx.vmx.core.runtime.LaunchRequest;
import org.junit.Test;

import java.util.OptionalLong;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

public class RunOptionsTest {

    @Test
    public void noArgumentsMeansTheDemoWithDefaults() {
        RunOptions o = RunOptions.parse();
        assertNull(o.image());
        assertEquals("software", o.processor());
        assertEquals(16, o.memoryMiB());
        assertEquals(LaunchRequest.DEFAULT_TIME_SLICE, o.sliceTicks());
        assertEquals(0, o.timeoutSeconds());
        assertEquals(OptionalLong.empty(), o.load());
        assertEquals(OptionalLong.empty(), o.entry());
        assertFalse(o.background());
        assertFalse(o.help());
    }

    @Test
    public void everyOptionBeforeOrAfterTheImage() {
        RunOptions o = RunOptions.parse("--processor", "kvm", "guest.bin", "--memory", "32", "--slice=0",
                "--timeout", "5", "--load", "0x9000", "--entry=9010", "--background");
        assertEquals("guest.bin", o.image());
        assertEquals("kvm", o.processor());
        assertEquals(32, o.memoryMiB());
        assertEquals(0, o.sliceTicks());
        assertEquals(5, o.timeoutSeconds());
        assertEquals(OptionalLong.of(0x9000), o.load());
        assertEquals(OptionalLong.of(0x9010), o.entry());
        assertTrue(o.background());
    }

    @Test
    public void badNumbersSayWhichOptionAndWhatWasGiven() {
        assertEquals("--memory: not a number: 'x'", message("--memory", "x"));
        assertEquals("--slice: must not be negative: -5", message("--slice", "-5"));
        assertEquals("--memory: must be at least 1, not 0", message("--memory", "0"));
        assertEquals("--memory: at most 1024, not 4096", message("--memory", "4096"));
        assertEquals("--load: not a hex number: 'zz'", message("--load", "zz"));
        assertEquals("--entry: not a hex number: '0x'", message("--entry", "0x"));
        assertEquals("--timeout: not a number: '1.5'", message("--timeout", "1.5"));
    }

    @Test
    public void malformedCommandLinesAreOneLine() {
        assertEquals("unknown option '--fast' (see vcpu:run --help)", message("--fast"));
        assertEquals("--memory needs a value (see vcpu:run --help)", message("--memory"));
        assertEquals("one image at most (got 'a' and 'b')", message("a", "b"));
        assertEquals("--background takes no value", message("--background=yes"));
        assertEquals("--processor: empty kind", message("--processor", " "));
    }

    @Test
    public void helpIsAFlag() {
        assertTrue(RunOptions.parse("--help").help());
        assertTrue(RunOptions.parse("demo", "-h").help());
    }

    private static String message(String... args) {
        return assertThrows(UsageException.class, () -> RunOptions.parse(args)).getMessage();
    }

    @Test
    public void aKernelWithItsInitrdAndCommandLineAndAKernelSizedDefaultMemory() {
        RunOptions o = RunOptions.parse("--kernel", "vmlinuz", "--initrd=initramfs.cpio", "--append", "console=ttyS0 quiet");
        assertNull(o.image());
        assertEquals("vmlinuz", o.kernel());
        assertEquals("initramfs.cpio", o.initrd());
        assertEquals("console=ttyS0 quiet", o.append());
        assertEquals(RunOptions.DEFAULT_KERNEL_MEMORY_MIB, o.memoryMiB());
        RunOptions d = RunOptions.parse("--kernel", "vmlinuz", "--memory", "128");
        assertEquals(128, d.memoryMiB());
        assertEquals(RunOptions.DEFAULT_APPEND, d.append());
        assertNull(d.initrd());
    }

    @Test
    public void kernelOptionsThatContradictEachOtherAreOneLine() {
        assertTrue(assertThrows(UsageException.class, () -> RunOptions.parse("demo", "--kernel", "vmlinuz"))
                .getMessage().contains("not both"));
        assertTrue(assertThrows(UsageException.class, () -> RunOptions.parse("--kernel", "vmlinuz", "--load", "0"))
                .getMessage().contains("--load and --entry are for flat images"));
        assertTrue(assertThrows(UsageException.class, () -> RunOptions.parse("--initrd", "x.cpio"))
                .getMessage().contains("--initrd needs --kernel"));
        assertTrue(assertThrows(UsageException.class, () -> RunOptions.parse("--append", "quiet"))
                .getMessage().contains("--append needs --kernel"));
        assertTrue(assertThrows(UsageException.class, () -> RunOptions.parse("--kernel", " "))
                .getMessage().contains("empty file name"));
    }
}
