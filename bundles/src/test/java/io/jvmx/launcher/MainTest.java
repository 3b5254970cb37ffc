package io.jvmx.launcher;

import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

/**
 * The batch mode's exit codes, with a real Felix and the Gogo runtime: the number a command returns becomes the exit
 * code, 0 for anything else, 1 when the command fails. (The jvmx commands themselves are tested in itests.)
 */
public class MainTest {

    @ClassRule
    public static final TemporaryFolder TMP = new TemporaryFolder();
    private static String homeBefore;
    private static String waitBefore;

    @BeforeClass
    public static void distribution() throws IOException {
        Path bundles = TMP.newFolder("home", "bundle").toPath();
        // the Gogo bundles are runtime dependencies of this module, so they are on the test class path
        int copied = 0;
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            if (name.startsWith("org.apache.felix.gogo.runtime-") || name.startsWith("org.apache.felix.gogo.command-")) {
                Files.copy(Path.of(entry), bundles.resolve(name));
                copied++;
            }
        }
        assertEquals("gogo runtime and command on the test class path", 2, copied);
        homeBefore = System.setProperty("jvmx.home", bundles.getParent().toString()) ;
        // nothing here registers vcpu:run: do not wait long for it
        waitBefore = System.setProperty("jvmx.wait.seconds", "1");
    }

    @AfterClass
    public static void restore() {
        restore("jvmx.home", homeBefore);
        restore("jvmx.wait.seconds", waitBefore);
    }

    private static void restore(String key, String value) {
        if (value == null) {
            System.clearProperty(key);
        } else {
            System.setProperty(key, value);
        }
    }

    @Test
    public void aNumericResultIsTheExitCode() throws Exception {
        // Gogo evaluates a parenthesised number literal to a Long: the command line's result
        assertEquals(42, new Main.Launch(new String[]{"%(40+2)"}).run());
    }

    @Test
    public void aNonNumericResultIsSuccess() throws Exception {
        assertEquals(0, new Main.Launch(new String[]{"lb"}).run());
    }

    @Test
    public void aFailingCommandIsExitCodeOne() throws Exception {
        assertEquals(1, new Main.Launch(new String[]{"no-such-command"}).run());
    }

    @Test
    public void aMissingBundleFolderIsOneLine() {
        String home = System.getProperty("jvmx.home");
        System.setProperty("jvmx.home", TMP.getRoot().toPath().resolve("nowhere").toString());
        try {
            Main.LaunchException e = assertThrows(Main.LaunchException.class,
                    () -> new Main.Launch(new String[]{"lb"}).run());
            assertTrue(e.getMessage(), e.getMessage().startsWith("no bundle folder "));
        } finally {
            System.setProperty("jvmx.home", home);
        }
    }

    @Test
    public void oneLineJoinsAMultiLineMessage() {
        assertEquals("Unable to resolve x: missing requirement y",
                Main.oneLine(new IllegalStateException("Unable to resolve x:\n   missing requirement y\n")));
        assertEquals("IllegalStateException", Main.oneLine(new IllegalStateException()));
    }
}
