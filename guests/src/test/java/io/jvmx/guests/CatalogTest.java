package io.jvmx.guests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.jvmx.vmx.api.exit.ExitReason;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.Test;

public class CatalogTest {

    private static final long PLATFORM_LOAD_ADDRESS = 0x8000;

    private final GuestCatalog catalog = BundledGuests.catalog();
    private final Path module = Paths.get(System.getProperty("basedir", "")).toAbsolutePath();

    @Test
    public void listsTheImagesTheSuiteNeeds() {
        List<String> names = catalog.images().stream().map(GuestImage::name).collect(Collectors.toList());
        assertEquals(List.of("demo", "cpuid-loop", "hello", "cpuid", "xsetbv", "cr-access", "interrupt", "preempt",
                "ept-violation", "msr-efer", "bench-sieve", "bench-crc32", "bench-memcpy", "sys-paging", "sys-debug", "sys-segments", "sys-long",
                "sys-triple-fault", "sys-paging32", "sys-tasks", "sys-apic", "sys-vm86"), names);
        assertTrue(catalog.find(GuestCatalog.DEMO).isPresent());
        assertFalse(catalog.find("no-such-guest").isPresent());
    }

    @Test
    public void everyImageIsLoadedAndEnteredAtThePlatformAddress() {
        for (GuestImage image : catalog.images()) {
            assertEquals(image.name(), PLATFORM_LOAD_ADDRESS, image.loadAddress());
            assertEquals(image.name(), PLATFORM_LOAD_ADDRESS, image.entry());
            assertTrue(image.name() + " is empty", image.size() > 0);
            assertFalse(image.name() + " has no description", image.description().isBlank());
        }
    }

    /**
     * The images are entered in real mode with CS = 0 (SDM Vol. 3A, 20.1.1: a 16-bit offset in a 64 KiB segment),
     * and they address their own strings and data with 16-bit offsets from segment 0: every byte must lie below
     * 0x10000, which is also where the demo builds its page tables.
     */
    @Test
    public void everyImageFitsBelow64KiB() {
        for (GuestImage image : catalog.images()) {
            assertTrue(image.name() + " ends above 0xFFFF", image.loadAddress() + image.size() <= 0x10000);
        }
    }

    /**
     * Each image starts in real mode with whatever RFLAGS.IF the VMCS gives it and no stack of its own, so its
     * first instruction is CLI (0xFA; SDM Vol. 3A, 9.9.1 step 1 asks for interrupts off before a mode switch).
     * It also shows that the flat binary starts at the entry, not with an ELF header.
     */
    @Test
    public void everyImageStartsWithCli() {
        for (GuestImage image : catalog.images()) {
            assertEquals(image.name() + " does not start with CLI", (byte) 0xFA, image.bytes()[0]);
        }
    }

    @Test
    public void everySourceHasACatalogEntryAndEveryEntryASource() throws IOException {
        TreeSet<String> sources;
        try (Stream<Path> files = Files.list(module.resolve("src/main/asm"))) {
            sources = files.map(p -> p.getFileName().toString()).filter(f -> f.endsWith(".S"))
                    .map(f -> f.substring(0, f.length() - 2)).collect(Collectors.toCollection(TreeSet::new));
        }
        TreeSet<String> listed = catalog.images().stream().map(GuestImage::name)
                .collect(Collectors.toCollection(TreeSet::new));
        assertEquals(sources, listed);
    }

    /** The header comment of each source states the outcome the catalog records; keep the two in step. */
    @Test
    public void everySourceHeaderStatesItsExpectedOutcome() throws IOException {
        for (GuestExpectation expected : BundledGuests.expectations()) {
            String source = Files.readString(module.resolve("src/main/asm/" + expected.name() + ".S"));
            String header = source.lines().takeWhile(line -> line.startsWith("#")).collect(Collectors.joining("\n"));
            for (String line : expected.serialOutput()) {
                assertTrue(expected.name() + ".S header does not mention \"" + line + "\"", header.contains(line));
            }
            expected.exitCode().ifPresent(code -> assertTrue(expected.name() + ".S header does not say exit code " + code,
                    header.contains("exit code " + code)));
            expected.exitReason().ifPresent(reason -> assertTrue(expected.name() + ".S header does not name " + reason,
                    header.contains(reason)));
        }
    }

    @Test
    public void everyImageHasAnExpectationWithSerialOutput() {
        List<String> withExpectations = BundledGuests.expectations().stream().map(GuestExpectation::name)
                .collect(Collectors.toList());
        assertEquals(catalog.images().stream().map(GuestImage::name).collect(Collectors.toList()), withExpectations);
        for (GuestExpectation expected : BundledGuests.expectations()) {
            assertFalse(expected.name() + " expects no serial output", expected.serialOutput().isEmpty());
        }
        assertEquals(0, BundledGuests.expectation(GuestCatalog.DEMO).orElseThrow().exitCode().getAsLong());
        assertEquals(13, BundledGuests.expectation("xsetbv").orElseThrow().exitCode().getAsLong());
    }

    /** The run of ept-violation ends with basic exit reason 48 (SDM Vol. 3C, Appendix C), not with an exit code. */
    @Test
    public void exitReasonsAreRealExitReasons() {
        GuestExpectation ept = BundledGuests.expectation("ept-violation").orElseThrow();
        assertEquals(ExitReason.EPT_VIOLATION, ExitReason.valueOf(ept.exitReason().orElseThrow()));
        assertFalse(ept.exitCode().isPresent());
        for (GuestExpectation expected : BundledGuests.expectations()) {
            expected.exitReason().ifPresent(ExitReason::valueOf);
        }
    }

    @Test
    public void serialExpectationsMatchInOrder() {
        GuestExpectation demo = BundledGuests.expectation(GuestCatalog.DEMO).orElseThrow();
        String output = String.join("\n", demo.serialOutput());
        assertTrue(demo.matchesSerialOutput("noise\n" + output + "\nmore"));
        List<String> reversed = new java.util.ArrayList<>(demo.serialOutput());
        java.util.Collections.reverse(reversed);
        assertFalse(demo.matchesSerialOutput(String.join("\n", reversed)));
        assertFalse(demo.matchesSerialOutput(output.replace("[long] done", "")));
    }

    @Test
    public void imagesAreImmutable() {
        GuestImage demo = catalog.find(GuestCatalog.DEMO).orElseThrow();
        byte[] copy = demo.bytes();
        copy[0] = 0;
        assertEquals((byte) 0xFA, demo.bytes()[0]);
        byte[] source = {(byte) 0xFA, (byte) 0xF4};
        GuestImage made = new GuestImage("x", "x", source, 0x8000, 0x8000);
        source[0] = 0;
        assertArrayEquals(new byte[] {(byte) 0xFA, (byte) 0xF4}, made.bytes());
        assertEquals(made, new GuestImage("x", "x", new byte[] {(byte) 0xFA, (byte) 0xF4}, 0x8000, 0x8000));
        assertNotEquals(made, new GuestImage("x", "x", new byte[] {(byte) 0xFA, (byte) 0x90}, 0x8000, 0x8000));
    }

    @Test
    public void anEntryOutsideTheImageIsRejected() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GuestImage("x", "x", new byte[16], 0x8000, 0x8010));
        assertTrue(e.getMessage(), e.getMessage().contains("entry 0x8010"));
    }

    @Test
    public void aListedImageWithoutItsFileIsAClearError() {
        Map<String, String> files = Map.of(CatalogFile.CATALOG, String.join("\n",
                "images = one",
                "one.description = d",
                "one.loadAddress = 0x8000",
                "one.entry = 0x8000",
                "one.serial.1 = hi",
                "one.exitCode = 0"));
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CatalogFile.read(from(files)));
        assertTrue(e.getMessage(), e.getMessage().contains("guests/one.img is missing"));
    }

    @Test
    public void malformedCatalogsAreClearErrors() {
        String base = "images = one\none.description = d\none.loadAddress = 0x8000\none.entry = 0x8000\n"
                + "one.serial.1 = hi\n";
        assertCatalogError(base + "one.exitCode = 0\none.serial.3 = gap\n", "without a gap");
        assertCatalogError(base + "one.exitCode = zero\n", "one.exitCode = 'zero' is not a number");
        assertCatalogError(base + "one.exitCode = 0\none.exitReason = HLT\n", "not both");
        assertCatalogError(base + "one.exitCode = 0\ntwo.description = d\n", "'two.description' belongs to no image");
        assertCatalogError(base.replace("one.entry = 0x8000", "one.entry = 0x9000") + "one.exitCode = 0\n",
                "entry 0x9000 lies outside");
        assertCatalogError("images = one, one\n", "lists one twice");
    }

    private static void assertCatalogError(String catalogText, String expectedMessagePart) {
        Map<String, String> files = Map.of(CatalogFile.CATALOG, catalogText, "guests/one.img", "\u00fa");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> CatalogFile.read(from(files)));
        assertTrue(e.getMessage(), e.getMessage().contains(expectedMessagePart));
    }

    private static CatalogFile.Resources from(Map<String, String> files) {
        return path -> {
            String text = files.get(path);
            return text == null ? null : (InputStream) new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1));
        };
    }
}
