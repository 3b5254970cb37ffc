package io.jvmx.shell;

import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.core.runtime.HandlerDirectory;
import io.jvmx.vmx.core.runtime.RunOutcome;
import io.jvmx.vmx.core.runtime.VCpuStats;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

public class VCpuCommandsTest {

    @Rule
    public TemporaryFolder tmp = new TemporaryFolder();

    private final Fakes.Manager manager = new Fakes.Manager();
    private final Fakes.Directory directory = new Fakes.Directory();
    private final Fakes.Catalog catalog = new Fakes.Catalog().add("demo", new byte[]{(byte) 0xF4})
            .add("hello", new byte[]{(byte) 0x90, (byte) 0xF4});
    private final VCpuCommands commands = new VCpuCommands(manager, directory, catalog);
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();
    private final ByteArrayOutputStream bg = new ByteArrayOutputStream();
    private PrintStream pout;
    private PrintStream perr;

    @Before
    public void streams() {
        pout = new PrintStream(out, true, StandardCharsets.UTF_8);
        perr = new PrintStream(err, true, StandardCharsets.UTF_8);
    }

    private int run(String... args) {
        return commands.run(pout, perr, bg, tmp.getRoot().toPath(), args);
    }

    private String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** A guest that prints two lines in pieces from its own thread and exits with {@code code}. */
    private void guestPrintingAndExiting(int code) {
        manager.guest = h -> {
            try {
                h.request.console().write("[real] hello\n[lo".getBytes(StandardCharsets.US_ASCII));
                Thread.sleep(30);
                h.request.console().write("ng] done\n".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException | InterruptedException e) {
                throw new AssertionError(e);
            }
            h.stats = new VCpuStats(Map.of(ExitReason.IO_INSTRUCTION, 20L, ExitReason.CPUID, 3L),
                    Map.of(ExitReason.IO_INSTRUCTION, Map.of("io.jvmx.devices", 20L),
                            ExitReason.CPUID, Map.of("io.jvmx.handler-cpuid", 3L)), 0, 2_000_000, 500_000_000);
            h.outcome.complete(new RunOutcome(VCpuState.STOPPED, code, "guest exited with code " + code, null, null));
        };
    }

    @Test
    public void runWithoutImageRunsTheDemoAndReturnsTheGuestsExitCode() {
        guestPrintingAndExiting(3);
        assertEquals(3, run());
        assertEquals("demo", manager.handles.get(0).request.name());
        String text = out();
        assertTrue(text, text.startsWith("[real] hello\n[long] done\n--- vCPU 1 (demo on software): guest exited with code 3\n"));
        assertTrue(text, text.contains("IO_INSTRUCTION                         20  io.jvmx.devices"));
        assertTrue(text, text.contains("CPUID                                   3  io.jvmx.handler-cpuid"));
        assertTrue(text, text.contains("total: 23 exits, 2000000 guest instructions, 0.500 s wall time, 4.00 MIPS"));
        assertEquals("", err());
    }

    @Test
    public void optionsReachTheLaunchRequest() {
        guestPrintingAndExiting(0);
        assertEquals(0, run("hello", "--memory", "32", "--slice", "0"));
        var request = manager.handles.get(0).request;
        assertEquals("hello", request.name());
        assertEquals(32L << 20, request.memoryBytes());
        assertEquals(0, request.timeSliceTicks());
        assertEquals(0x8000, request.loadAddress());
        assertEquals(2, request.image().length);
    }

    @Test
    public void aFileImageIsLoadedAtTheGivenAddresses() throws IOException {
        Path file = tmp.newFile("guest.bin").toPath();
        Files.write(file, new byte[]{1, 2, 3, 4});
        guestPrintingAndExiting(0);
        assertEquals(0, run("guest.bin", "--load", "0x9000", "--entry", "9002"));
        var request = manager.handles.get(0).request;
        assertEquals(0x9000, request.loadAddress());
        assertEquals(0x9002, request.entry());
        assertEquals(4, request.image().length);
    }

    @Test
    public void anUnknownImageIsOneLineNamingTheKnownOnes() {
        assertEquals(2, run("foo"));
        assertEquals("vcpu:run: no guest image 'foo' (known: demo, hello; or give a file path)\n", err());
        assertTrue(manager.handles.isEmpty());
    }

    @Test
    public void badOptionsAreOneLine() {
        assertEquals(2, run("--memory", "x"));
        assertEquals("vcpu:run: --memory: not a number: 'x'\n", err());
    }

    @Test
    public void loadAndEntryDoNotApplyToCatalogImages() {
        assertEquals(2, run("demo", "--entry", "9000"));
        assertTrue(err(), err().startsWith("vcpu:run: --load and --entry are for file images"));
    }

    @Test
    public void launchFailuresFromTheManagerAreOneLine() {
        assertEquals(2, run("--processor", "kvm"));
        assertEquals("vcpu:run: no VMX processor of kind 'kvm'\n", err());
    }

    @Test
    public void anUnhandledExitIsReportedAndIsNotSuccess() {
        manager.guest = h -> h.outcome.complete(new RunOutcome(VCpuState.STOPPED, null,
                "unhandled exit CPUID at RIP 0x8010", VmExitInfo.of(10, 2, 0x8010, 0), null));
        assertEquals(1, run("hello"));
        assertTrue(out(), out().contains("unhandled exit: CPUID at RIP 0x8010"));
    }

    @Test
    public void aTimeoutStopsTheVCpu() {
        manager.guest = null; // runs until stopped
        assertEquals(1, run("hello", "--timeout", "1"));
        assertTrue(manager.handles.get(0).stopRequested);
        assertTrue(out(), out().contains("vcpu:run: timed out after 1 s: stopping vCPU 1"));
        assertTrue(out(), out().contains("stopped by request"));
    }

    @Test
    public void backgroundReturnsTheIdAndWritesToTheSessionConsole() throws Exception {
        manager.guest = h -> {
            try {
                h.request.console().write("bg output\n".getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
            h.outcome.complete(new RunOutcome(VCpuState.STOPPED, 0, "guest exited with code 0", null, null));
        };
        assertEquals(1, run("hello", "--background"));
        assertTrue(out(), out().startsWith("vCPU 1 running hello on software in the background"));
        manager.handles.get(0).outcome.get();
        assertEquals("bg output\n", bg.toString(StandardCharsets.UTF_8));
    }

    @Test
    public void helpListsTheImages() {
        assertEquals(0, run("--help"));
        assertTrue(out(), out().contains("usage: vcpu:run [image] [options]"));
        assertTrue(out(), out().contains("images: demo, hello"));
    }

    @Test
    public void idArgumentsAreCheckedWithOneLine() {
        assertEquals(2, commands.regs(pout, perr, "7"));
        assertEquals(2, commands.stats(pout, perr, "x"));
        assertEquals(2, commands.stop(pout, perr));
        assertEquals(2, commands.vmcs(pout, perr, "1", "NO_SUCH_FIELD"));
        assertEquals(String.join("\n", "vcpu:regs: no vCPU 7 (see vcpu:list)",
                "vcpu:stats: not a vCPU id: 'x' (see vcpu:list)",
                "vcpu:stop: usage: vcpu:stop <id>",
                "vcpu:vmcs: no VMCS field 'NO_SUCH_FIELD' (use the SDM's names, e.g. GUEST_RIP or EXIT_REASON)", ""),
                err());
    }

    @Test
    public void regsAndVmcsReadThroughInspect() {
        manager.guest = null;
        run("hello", "--background");
        Fakes.Handle h = manager.handles.get(0);
        out.reset();
        // no exit comes: the inspection times out, reported as one line
        assertEquals(1, commands.regs(pout, perr, "1"));
        assertTrue(err(), err().startsWith("vcpu:regs: vCPU 1 did not reach an exit within 5 s"));

        h.vcpu = Fakes.registerFile();
        assertEquals(0, commands.regs(pout, perr, "1"));
        assertTrue(out(), out().contains("rax  0x0000000000000100   rcx  0x0000000000000101"));
        assertTrue(out(), out().contains("rip  0x0000000000008010"));
        assertTrue(out(), out().contains("cs   selector 0x0802"));
        out.reset();
        assertEquals(0, commands.vmcs(pout, perr, "1", "guest-rip"));
        assertEquals("GUEST_RIP (0x681e, natural-width guest-state) = 0x000000000000681e\n", out());
        out.reset();
        assertEquals(0, commands.vmcs(pout, perr, "1"));
        assertTrue(out(), out().contains("guest-state fields:\n"));
        // fields the processor cannot read are left out, not fatal
        assertFalse(out(), out().contains("HOST_RIP"));
        h.stop();
    }

    @Test
    public void stopEndsARunningVCpu() {
        manager.guest = null;
        run("hello", "--background");
        out.reset();
        assertEquals(0, commands.stop(pout, perr, "1"));
        assertEquals("vCPU 1: stopped by request\n", out());
        out.reset();
        assertEquals(0, commands.stop(pout, perr, "1"));
        assertEquals("vCPU 1 has already ended: stopped by request\n", out());
    }

    @Test
    public void listShowsEveryVCpu() {
        assertEquals(0, commands.list(pout, perr));
        assertEquals("no vCPUs (start one with vcpu:run)\n", out());
        guestPrintingAndExiting(0);
        run("hello");
        out.reset();
        assertEquals(0, commands.list(pout, perr));
        assertTrue(out(), out().contains("   1  hello            software   STOPPED          23"));
    }

    @Test
    public void handlersShowsChainsAndUnhandledDemoExits() {
        directory.chains.put(ExitReason.CPUID, List.of(
                new HandlerDirectory.Entry(ExitReason.CPUID, "test.probe", 77, 100, "test.Cpuid", 5),
                new HandlerDirectory.Entry(ExitReason.CPUID, "io.jvmx.handler-cpuid", 12, 0, "io.jvmx.handlers.cpuid.CpuidHandler", 0)));
        assertEquals(0, commands.handlers(pout, perr));
        String text = out();
        assertTrue(text, text.contains("CPUID (10):\n  1. test.probe"));
        assertTrue(text, text.contains("  2. io.jvmx.handler-cpuid              ranking 0      service 12    handled 0        io.jvmx.handlers.cpuid.CpuidHandler"));
        assertTrue(text, text.contains("XSETBV (55): unhandled"));
        assertTrue(text, text.contains("CR_ACCESS (28): unhandled"));
    }

    /** A minimal protocol 2.15 bzImage: 4 setup sectors, header as boot.rst lays it out, 16 KiB of kernel. */
    private static byte[] bzImage() {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(5 * 512 + 0x4000).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.put(0x1F1, (byte) 4).putInt(0x1F4, 0x4000 / 16).putShort(0x1FE, (short) 0xAA55).put(0x201, (byte) 0x6A)
                .putInt(0x202, 0x53726448).putShort(0x206, (short) 0x020F).put(0x211, (byte) 1)
                .putInt(0x214, 0x100000).putInt(0x22C, 0x7FFFFFFF).putInt(0x230, 0x200000).put(0x234, (byte) 1)
                .putInt(0x238, 0x7FF).putLong(0x258, 0x1000000).putInt(0x260, 0x2000000);
        return b.array();
    }

    @Test
    public void aKernelIsLaidOutByTheBootProtocolAndEnteredInProtectedMode() throws IOException {
        Files.write(tmp.newFile("vmlinuz").toPath(), bzImage());
        Files.write(tmp.newFile("initrd.cpio").toPath(), new byte[8192]);
        guestPrintingAndExiting(0);
        assertEquals(0, run("--kernel", "vmlinuz", "--initrd", "initrd.cpio", "--append", "console=ttyS0"));
        var request = manager.handles.get(0).request;
        assertEquals("vmlinuz", request.name());
        assertEquals(RunOptions.DEFAULT_KERNEL_MEMORY_MIB << 20, request.memoryBytes());
        var boot = request.guestBoot();
        assertTrue(boot.entry().protectedMode());
        assertEquals(0x1000000, boot.entry().rip());
        assertTrue(boot.regions().stream().anyMatch(r -> r.what().equals("initrd") && r.length() == 8192));
        assertTrue(out(), out().startsWith("vcpu:run: Linux unknown (boot protocol 2.15, unknown payload): kernel at "
                + "0x1000000 (init_size 32 MiB), initrd of 8 KiB at 0xfffe000, command line \"console=ttyS0\"\n"));
    }

    @Test
    public void aBadKernelIsOneLineSayingWhy() throws IOException {
        Files.write(tmp.newFile("notakernel").toPath(), new byte[4096]);
        assertEquals(2, run("--kernel", "notakernel"));
        assertEquals("vcpu:run: notakernel: not a Linux kernel image: no \"HdrS\" signature at 0x202 (found 00000000);"
                + " an ELF vmlinux or a compressed file is not a bzImage\n", err());
        err.reset();
        assertEquals(2, run("--kernel", "missing"));
        assertEquals("vcpu:run: --kernel: no file 'missing'\n", err());
        err.reset();
        Files.write(tmp.newFile("small").toPath(), bzImage());
        assertEquals(2, run("--kernel", "small", "--memory", "16"));
        assertTrue(err(), err().contains("give the guest at least 34 MiB"));
        assertTrue(manager.handles.isEmpty());
    }
}
