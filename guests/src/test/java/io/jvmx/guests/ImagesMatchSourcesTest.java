package io.jvmx.guests;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.Assume;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The committed images are exactly what build-images.sh makes from the sources, so what the tests run is what
 * the sources say. Needs GNU binutils; without the assembler the test is skipped (the only skip in this module).
 */
public class ImagesMatchSourcesTest {

    @Rule
    public TemporaryFolder temp = new TemporaryFolder();

    private Path module;

    @Before
    public void needsTheAssembler() {
        Assume.assumeTrue("the GNU assembler 'as' is not on the PATH: cannot rebuild the guest images from their "
                + "sources (install binutils)", onPath("as"));
        module = Paths.get(System.getProperty("basedir", "")).toAbsolutePath();
    }

    @Test
    public void everyCommittedImageIsItsSourceRebuilt() throws Exception {
        Path out = build();
        List<String> sources = names(module.resolve("src/main/asm"), ".S");
        assertFalse("no sources in src/main/asm", sources.isEmpty());
        assertEquals("one rebuilt image per source", sources, names(out, ".img"));
        assertEquals("the committed images are exactly those of the sources (a stale or missing .img?)",
                sources, names(committed(), ".img"));
        for (String name : sources) {
            assertArrayEquals(name + ".img differs from its source: run ./build-images.sh and commit the result",
                    Files.readAllBytes(out.resolve(name + ".img")),
                    Files.readAllBytes(committed().resolve(name + ".img")));
        }
    }

    @Test
    public void theBuildIsDeterministic() throws Exception {
        Path first = build();
        Path second = build();
        for (String name : names(first, ".img")) {
            assertArrayEquals(name + ".img differs between two builds",
                    Files.readAllBytes(first.resolve(name + ".img")), Files.readAllBytes(second.resolve(name + ".img")));
        }
    }

    private Path committed() {
        return module.resolve("src/main/resources/guests");
    }

    private Path build() throws IOException, InterruptedException {
        Path out = temp.newFolder().toPath();
        Process process = new ProcessBuilder("bash", module.resolve("build-images.sh").toString(), out.toString())
                .directory(module.toFile())
                .redirectErrorStream(true)
                .start();
        process.getOutputStream().close();
        byte[] output = process.getInputStream().readAllBytes();
        assertTrue("build-images.sh did not finish within 60 s", process.waitFor(60, TimeUnit.SECONDS));
        assertEquals("build-images.sh failed:\n" + new String(output, StandardCharsets.UTF_8), 0, process.exitValue());
        return out;
    }

    private static List<String> names(Path dir, String suffix) throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString())
                    .filter(f -> f.endsWith(suffix))
                    .map(f -> f.substring(0, f.length() - suffix.length()))
                    .collect(Collectors.toCollection(TreeSet::new))
                    .stream().collect(Collectors.toList());
        }
    }

    private static boolean onPath(String tool) {
        String path = System.getenv("PATH");
        if (path == null) {
            return false;
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
