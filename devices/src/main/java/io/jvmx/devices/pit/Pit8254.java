package io.jvmx.devices.pit;

/**
 * The 8254 programmable interval timer (Intel 82C54 data sheet, order number 231244) as the PC wires it: three
 * counters on a 1.193182 MHz clock ({@link #CLOCK_HZ}); counter 0's OUT is IRQ 0, counter 2's GATE and OUT are bits 0
 * and 5 of port 61H. The control word (43H) selects counter, read/write mode (LSB, MSB, LSB then MSB), mode 0-5 and
 * binary or BCD counting; the counter latch command and the read-back command (latched count and status) are there.
 *
 * <p>Time is passed in as a count of clock ticks ({@code now}): the model has no clock of its own. Each counter is
 * computed from the tick at which it started counting, so reading it costs nothing and nothing needs to run between
 * accesses; {@link #nextOut0RisingEdge} says when counter 0's OUT next rises (the interrupt).
 *
 * <p>Simplifications, each within what the data sheet leaves to the clock edge: a count is loaded in the tick it is
 * written (the data sheet loads it on the next CLK pulse, so a real OUT comes one tick later); in mode 3 the
 * count of an odd N is read as if N were even.
 */
public final class Pit8254 {
    /** The PC's timer clock: 14.31818 MHz / 12. */
    public static final long CLOCK_HZ = 1_193_182L;
    public static final int COUNTER0 = 0x40, COUNTER1 = 0x41, COUNTER2 = 0x42, CONTROL = 0x43;

    private static final int RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3;

    /** One counter (data sheet "Counter"): CR, CE, OL and the status. */
    static final class Counter {
        int mode;
        int rw = RW_LSB;
        boolean bcd;
        /** The initial count N as written (0 stands for the modulus: 10000 in BCD, 65536 in binary). */
        int initial;
        boolean hasCount;
        /** Counting: d = now - start ticks since the count was loaded (or the counter was triggered). */
        boolean running;
        long start;
        /** While not running: d where the count stopped (gate low in modes 0 and 4), or -1 before any trigger. */
        long frozen = -1;
        boolean gate;
        /** LSB then MSB: the next write is the MSB; the next read is the MSB. */
        boolean writeMsb;
        boolean readMsb;
        int lsbWritten;
        /** Output latch (OL): a latched count, read as the RW mode says; -1 when not latched. */
        int latched = -1;
        boolean latchedMsb;
        /** A latched status byte, read before anything else; -1 when not latched. */
        int status = -1;
        /** The tick of the last count write: null count until the count is loaded (the next tick). */
        long written = Long.MIN_VALUE;
        /** Modes 2 and 3: a count written while counting, loaded when the current period ends; -1 if none. */
        int pending = -1;
        long pendingAt;

        /** A count written while counting in mode 2 or 3 takes effect at the end of the period (data sheet). */
        void sync(long now) {
            if (pending >= 0 && running && now >= pendingAt) {
                initial = pending;
                start = pendingAt;
                pending = -1;
            }
        }

        int modulus() {
            return bcd ? 10_000 : 65_536;
        }

        long n() {
            return initial == 0 ? modulus() : initial;
        }

        long elapsed(long now) {
            sync(now);
            return running ? now - start : frozen;
        }

        /** The count CE holds (binary, 0..modulus-1). */
        int count(long now) {
            long d = elapsed(now);
            if (!hasCount || d < 0) {
                return (int) (n() % modulus());
            }
            long n = n();
            long value = switch (mode) {
                case 2 -> n - d % n;
                case 3 -> {
                    long phase = d % n;
                    long high = (n + 1) / 2;
                    long half = phase < high ? phase : phase - high;
                    yield (n & ~1L) - 2 * half;
                }
                default -> Math.floorMod(n - d, modulus()); // modes 0, 1, 4, 5: count down, wrap, keep counting
            };
            return (int) (value % modulus());
        }

        /** The OUT pin (data sheet "Mode Definitions"). */
        boolean out(long now) {
            if (!hasCount) {
                return mode != 0; // after a control word: OUT low in mode 0, high in the other modes
            }
            long d = elapsed(now);
            long n = n();
            return switch (mode) {
                case 0 -> d >= n;                        // low until terminal count
                case 1 -> d < 0 || d >= n;              // low from the trigger until terminal count
                case 2 -> !running || d % n != n - 1;   // low for one clock when the count reaches 1
                case 3 -> !running || d % n < (n + 1) / 2;
                default -> d != n;                      // modes 4, 5: a one-clock strobe at terminal count
            };
        }

        /** The first tick after {@code now} at which OUT rises, or Long.MAX_VALUE. */
        long nextRisingEdge(long now) {
            sync(now);
            if (!hasCount || !running) {
                return Long.MAX_VALUE;
            }
            if (pending >= 0) {
                return pendingAt; // the period ends (OUT rises) when the new count is loaded
            }
            long d = now - start;
            long n = n();
            return switch (mode) {
                case 0, 1 -> d < n ? start + n : Long.MAX_VALUE;
                case 2, 3 -> start + Math.max(Math.floorDiv(d, n) + 1, 1) * n; // OUT rises as the count reloads
                default -> d < n + 1 ? start + n + 1 : Long.MAX_VALUE;
            };
        }

        int statusByte(long now) {
            return (out(now) ? 0x80 : 0) | (now <= written ? 0x40 : 0) | rw << 4 | mode << 1 | (bcd ? 1 : 0);
        }

        void control(int rwMode, int newMode, boolean newBcd, long now) {
            rw = rwMode;
            mode = newMode > 5 ? newMode - 4 : newMode; // 6 and 7 are modes 2 and 3
            bcd = newBcd;
            hasCount = false;
            running = false;
            frozen = -1;
            writeMsb = false;
            readMsb = false;
            latched = -1;
            status = -1;
            pending = -1;
        }

        void write(int value, long now) {
            int v = value & 0xFF;
            switch (rw) {
                case RW_LSB -> load(v, now);
                case RW_MSB -> load(v << 8, now);
                default -> {
                    if (!writeMsb) {
                        lsbWritten = v;
                        writeMsb = true;
                        if (mode == 0) { // mode 0: writing the first byte stops the count and sets OUT low
                            hasCount = true;
                            running = false;
                            frozen = -1;
                            initial = 0;
                        }
                    } else {
                        writeMsb = false;
                        load(lsbWritten | v << 8, now);
                    }
                }
            }
        }

        private void load(int raw, long now) {
            sync(now);
            boolean wasCounting = hasCount && running;
            int count = bcd ? fromBcd(raw) : raw;
            written = now;
            if ((mode == 2 || mode == 3) && wasCounting) {
                // a new count while counting: the current period ends with the old one (data sheet, modes 2 and 3)
                long n = n();
                pending = count;
                pendingAt = start + (Math.floorDiv(now - start, n) + 1) * n;
                return;
            }
            initial = count;
            hasCount = true;
            switch (mode) {
                case 0, 4, 2, 3 -> start(now);          // the count starts at once (while GATE is high)
                default -> {                             // modes 1 and 5 wait for a rising edge of GATE
                    if (!wasCounting) {
                        running = false;
                        frozen = -1;
                    }
                }
            }
        }

        private void start(long now) {
            if (gate) {
                running = true;
                start = now;
            } else {
                running = false;
                frozen = 0;
            }
        }

        void setGate(boolean level, long now) {
            sync(now);
            if (level == gate) {
                return;
            }
            gate = level;
            if (!hasCount) {
                return;
            }
            switch (mode) {
                case 0, 4 -> {                           // GATE low suspends counting
                    if (level && frozen >= 0) {
                        running = true;
                        start = now - frozen;
                    } else if (!level && running) {
                        frozen = now - start;
                        running = false;
                    }
                }
                case 2, 3 -> {                           // GATE low stops counting (OUT high); rising reloads
                    if (level) {
                        trigger(now);
                    } else {
                        running = false;
                        frozen = 0;
                    }
                }
                default -> {                             // modes 1 and 5: a rising edge triggers
                    if (level) {
                        trigger(now);
                    }
                }
            }
        }

        /** A rising GATE edge in modes 1, 2, 3 and 5: counting starts anew from the newest count written. */
        private void trigger(long now) {
            running = true;
            start = now;
            if (pending >= 0) {
                initial = pending;
                pending = -1;
            }
        }

        int read(long now) {
            if (status >= 0) {
                int s = status;
                status = -1;
                return s;
            }
            int value;
            if (latched >= 0) {
                value = latched;
            } else {
                value = bcd ? toBcd(count(now)) : count(now);
            }
            int b;
            switch (rw) {
                case RW_LSB -> b = value & 0xFF;
                case RW_MSB -> b = value >> 8 & 0xFF;
                default -> {
                    b = readMsb ? value >> 8 & 0xFF : value & 0xFF;
                    readMsb = !readMsb;
                }
            }
            if (latched >= 0 && (rw != RW_WORD || !readMsb)) {
                latched = -1; // the latch holds until read completely
            }
            return b;
        }

        void latch(long now) {
            if (latched < 0) { // a second latch before the first is read is ignored
                latched = bcd ? toBcd(count(now)) : count(now);
            }
        }
    }

    private final Counter[] counters = {new Counter(), new Counter(), new Counter()};
    /** Port 61H bits 1-3 as written (speaker data enable, parity and channel check enables). */
    private int portB;

    public Pit8254() {
        counters[0].gate = true; // GATE 0 and 1 are tied high on the PC; GATE 2 is port 61H bit 0
        counters[1].gate = true;
    }

    /** A read of 40H-42H. */
    public int read(int port, long now) {
        return counters[port - COUNTER0].read(now);
    }

    /** A write of 40H-43H. */
    public void write(int port, int value, long now) {
        int v = value & 0xFF;
        if (port != CONTROL) {
            counters[port - COUNTER0].write(v, now);
            return;
        }
        int select = v >> 6;
        if (select == 3) { // read-back (data sheet "Read-Back Command"): bit 5 = !COUNT, bit 4 = !STATUS
            for (int i = 0; i < 3; i++) {
                if ((v & 2 << i) != 0) {
                    Counter c = counters[i];
                    if ((v & 0x10) == 0 && c.status < 0) {
                        c.status = c.statusByte(now);
                    }
                    if ((v & 0x20) == 0) {
                        c.latch(now);
                    }
                }
            }
            return;
        }
        int rw = v >> 4 & 3;
        if (rw == RW_LATCH) {
            counters[select].latch(now);
        } else {
            counters[select].control(rw, v >> 1 & 7, (v & 1) != 0, now);
        }
    }

    /**
     * Port 61H, "system control port B" (IBM PC/AT Technical Reference; Intel 82371AB PIIX4 NMI status and control
     * register): bit 0 timer 2 gate, bit 1 speaker data enable, bits 2-3 parity/channel check enables (as written),
     * bit 4 the refresh request toggle (every 15.085 us, 18 timer ticks), bit 5 counter 2's OUT; bits 6-7 (channel
     * check, parity error) read 0: no errors.
     */
    public int readPortB(long now) {
        return portB | (counters[2].gate ? 1 : 0) | (int) (now / 18 & 1) << 4 | (counters[2].out(now) ? 0x20 : 0);
    }

    public void writePortB(int value, long now) {
        portB = value & 0x0E;
        counters[2].setGate((value & 1) != 0, now);
    }

    /** The first tick after {@code now} at which counter 0's OUT rises (IRQ 0's edge), or Long.MAX_VALUE. */
    public long nextOut0RisingEdge(long now) {
        return counters[0].nextRisingEdge(now);
    }

    /** Whether OUT of counter {@code i} is high. */
    public boolean out(int i, long now) {
        return counters[i].out(now);
    }

    static int fromBcd(int v) {
        return (v >> 12 & 0xF) * 1000 + (v >> 8 & 0xF) * 100 + (v >> 4 & 0xF) * 10 + (v & 0xF);
    }

    static int toBcd(int v) {
        return (v / 1000 % 10) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10;
    }
}
