package io.jvmx.shell;

import org.junit.Test;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

public class ConsoleRelayTest {

    @Test
    public void everyByteArrivesInOrderAcrossThreads() throws Exception {
        ConsoleRelay relay = new ConsoleRelay();
        ByteArrayOutputStream target = new ByteArrayOutputStream();
        Thread writer = new Thread(() -> {
            for (int i = 0; i < 10_000; i++) {
                relay.write('a' + (i % 26));
            }
        });
        writer.start();
        while (writer.isAlive()) {
            relay.drainTo(target);
        }
        relay.drainTo(target);
        byte[] got = target.toByteArray();
        assertEquals(10_000, got.length);
        for (int i = 0; i < got.length; i++) {
            assertEquals('a' + (i % 26), got[i]);
        }
    }

    @Test
    public void knowsWhetherTheOutputEndedALine() throws Exception {
        ConsoleRelay relay = new ConsoleRelay();
        ByteArrayOutputStream target = new ByteArrayOutputStream();
        assertTrue(relay.atLineStart());
        relay.write("no newline".getBytes(StandardCharsets.US_ASCII));
        assertFalse(relay.atLineStart());
        relay.drainTo(target);
        assertFalse(relay.atLineStart());
        relay.write('\n');
        relay.drainTo(target);
        assertTrue(relay.atLineStart());
        assertEquals("no newline\n", target.toString(StandardCharsets.US_ASCII));
    }
}
