package io.jvmx.benchmarks;

import io.jvmx.benchmarks.SoftwareGuestRunner.GuestRun;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * The jvmx side of benchmarks/peers/run: one JVM that stays up (so the JIT stays warm, as a long-running jvmx
 * would be) and runs benchmark guests on request. Reads lines "{@code <guest> <iterations>}" on standard input and
 * answers each with one line on standard output:
 * <pre>
 *   ok &lt;wall ns&gt; &lt;guest instructions&gt; &lt;first serial line&gt;
 *   error &lt;message&gt;
 * </pre>
 * where the wall time is that of the vCPU's run loop (vCPU setup and teardown excluded). The first line it writes
 * is "ready" followed by the JVM it runs on. End of input ends it.
 */
public final class GuestRunServer {

    private GuestRunServer() {
    }

    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        SoftwareGuestRunner runner = new SoftwareGuestRunner();
        out.println("ready " + System.getProperty("java.vm.name") + " " + System.getProperty("java.vm.version"));
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.trim().split("\\s+");
            if (words.length == 1 && words[0].isEmpty()) {
                continue;
            }
            try {
                if (words.length != 2) {
                    throw new IllegalArgumentException("expected '<guest> <iterations>', got '" + line + "'");
                }
                byte[] image = BenchGuests.withIterations(BenchGuests.image(words[0]), Long.parseLong(words[1]));
                GuestRun run = runner.run(words[0], image, GuestMips.RUN_TIMEOUT).requireSuccess();
                out.println("ok " + run.wallNanos() + " " + run.instructions() + " " + run.firstLine());
            } catch (RuntimeException e) {
                out.println("error " + String.valueOf(e.getMessage()).replace('\n', ' '));
            }
        }
    }
}
