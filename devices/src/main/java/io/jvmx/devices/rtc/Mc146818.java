package io.jvmx.devices.rtc;

import java.time.LocalDateTime;
import java.time.ZoneOffset;

/**
 * The MC146818 real-time clock and its CMOS RAM (Motorola MC146818A data sheet), as the PC has it at index port 70H and
 * data port 71H: the time, calendar and alarm registers 0-9 in BCD or binary and 12- or 24-hour form (register B), the
 * status registers A (UIP, divider, rate select), B (SET, PIE, AIE, UIE, SQWE, DM, 24/12, DSE), C (IRQF, PF, AF, UF;
 * cleared by reading) and D (VRT), and 114 bytes of RAM (index 0EH-7FH; 32H holds the century, as IBM's BIOS keeps it).
 *
 * <p>Time is passed in as ticks of the 32.768 kHz time base ({@code now}); the clock counts from the host's time at
 * {@link #Mc146818(long, long, long) creation} onwards at the guest's pace. Each second ends with an update cycle:
 * UIP is 1 for the 244 us before it and the 1984 us it lasts (data sheet "Update Cycle"), and the time registers
 * change at its end, so a reader that sees UIP = 0 has at least 244 us to read them. SET = 1, or a divider other
 * than 010 (the 32.768 kHz time base) in register A, stops the updates; the registers can then be written, and the
 * clock runs on from the written time once updates resume. Daylight-saving adjustment (DSE) is not applied: the clock
 * keeps UTC, as Linux expects of a PC's RTC.
 */
public final class Mc146818 {
    public static final long TIME_BASE_HZ = 32_768L;
    static final int SECONDS = 0, SECONDS_ALARM = 1, MINUTES = 2, MINUTES_ALARM = 3, HOURS = 4, HOURS_ALARM = 5,
            DAY_OF_WEEK = 6, DAY_OF_MONTH = 7, MONTH = 8, YEAR = 9, A = 0x0A, B = 0x0B, C = 0x0C, D = 0x0D,
            CENTURY = 0x32;
    static final int A_UIP = 0x80, B_SET = 0x80, B_PIE = 0x40, B_AIE = 0x20, B_UIE = 0x10, B_BINARY = 0x04,
            B_24H = 0x02, C_IRQF = 0x80, C_PF = 0x40, C_AF = 0x20, C_UF = 0x10, D_VRT = 0x80;
    /** UIP is 1 from 244 us before the update to its end, 1984 us later: 8 + 65 ticks of the time base. */
    static final long UIP_TICKS = 73;
    private static final long SECOND = TIME_BASE_HZ;
    /** The divider bits of register A for the 32.768 kHz time base: the clock runs. */
    private static final int DIVIDER_RUNNING = 0x20;

    private final byte[] ram = new byte[128];
    /** While running: the clock reads {@code seconds} from tick {@code base} (the end of an update) for one second. */
    private long seconds;
    private long base;
    private boolean running = true;
    /** Register C's flags, valid up to tick {@code flagsAt}. */
    private int flags;
    private long flagsAt;

    /**
     * @param epochSecond the host's time (UTC) when the clock is created, whole seconds
     * @param nanos       and the nanoseconds into that second
     * @param now         the time base's tick count then
     */
    public Mc146818(long epochSecond, long nanos, long now) {
        seconds = epochSecond;
        base = now - nanos * SECOND / 1_000_000_000L;
        flagsAt = now;
        ram[A] = DIVIDER_RUNNING | 0x06; // 32.768 kHz time base, 1024 Hz periodic rate (the BIOS's setting)
        ram[B] = B_24H;                  // BCD, 24-hour mode
        ram[D] = (byte) D_VRT;           // the battery is good
        ram[CENTURY] = (byte) toBcd(LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC).getYear() / 100);
    }

    // ---------------------------------------------------------------- time

    /** The seconds the clock shows at {@code now}. */
    long secondsAt(long now) {
        return running ? seconds + Math.floorDiv(now - base, SECOND) : seconds;
    }

    boolean updateInProgress(long now) {
        return running && Math.floorMod(now - base, SECOND) >= SECOND - UIP_TICKS;
    }

    /** Stops the updates (SET, or the divider held): the clock keeps what it showed. */
    private void stop(long now) {
        if (running) {
            updateFlags(now);
            seconds = secondsAt(now);
            running = false;
        }
    }

    /** Resumes the updates: the first one comes a second later (data sheet: "the first update cycle begins one-half second later" when the divider is released; here after a full second). */
    private void resume(long now) {
        if (!running) {
            updateFlags(now);
            base = now;
            running = true;
        }
    }

    // ---------------------------------------------------------------- register C

    /** Register C's flags for the updates, alarms and periodic edges between {@code flagsAt} and {@code now}. */
    private void updateFlags(long now) {
        if (now <= flagsAt) {
            return;
        }
        if (running) {
            long first = Math.floorDiv(flagsAt - base, SECOND) + 1; // the first update end after flagsAt
            long last = Math.floorDiv(now - base, SECOND);
            if (last >= first) {
                flags |= C_UF;
                if (last - first >= 86_400) {
                    flags |= C_AF; // every alarm setting matches once a day
                } else {
                    for (long k = first; k <= last && (flags & C_AF) == 0; k++) {
                        if (alarmMatches(seconds + k)) {
                            flags |= C_AF;
                        }
                    }
                }
            }
        }
        long period = periodicTicks();
        if (period > 0 && Math.floorDiv(now, period) > Math.floorDiv(flagsAt, period)) {
            flags |= C_PF;
        }
        flagsAt = now;
    }

    /** The periodic interrupt's period in time-base ticks (Table 5: rate select 3-15 give 8192 Hz to 2 Hz, 1-2 give 256 and 128 Hz), or 0. */
    long periodicTicks() {
        int rs = ram[A] & 0x0F;
        if (rs == 0 || (ram[A] & 0x70) != DIVIDER_RUNNING) {
            return 0;
        }
        return rs <= 2 ? 1L << (rs + 6) : 1L << (rs - 1);
    }

    private boolean alarmMatches(long epochSecond) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
        return alarmField(SECONDS_ALARM, t.getSecond()) && alarmField(MINUTES_ALARM, t.getMinute())
                && alarmField(HOURS_ALARM, t.getHour());
    }

    /** An alarm byte of 11xxxxxx is "don't care" (data sheet "Alarm"). */
    private boolean alarmField(int index, int value) {
        int raw = ram[index] & 0xFF;
        if ((raw & 0xC0) == 0xC0) {
            return true;
        }
        return index == HOURS_ALARM ? decodeHours(raw) == value : decode(raw) == value;
    }

    /** Whether the IRQ output is asserted: IRQF = PF.PIE + AF.AIE + UF.UIE. */
    public boolean interruptRequested(long now) {
        updateFlags(now);
        return (flags & ram[B] & (C_PF | C_AF | C_UF)) != 0;
    }

    /** The next tick at which a flag whose interrupt is enabled would be set, or Long.MAX_VALUE. */
    public long nextInterruptEvent(long now) {
        long next = Long.MAX_VALUE;
        int b = ram[B];
        if ((b & B_PIE) != 0 && periodicTicks() > 0) {
            long p = periodicTicks();
            next = (Math.floorDiv(now, p) + 1) * p;
        }
        if ((b & (B_UIE | B_AIE)) != 0 && running) {
            next = Math.min(next, base + (Math.floorDiv(now - base, SECOND) + 1) * SECOND);
        }
        return next;
    }

    // ---------------------------------------------------------------- registers

    public int read(int index, long now) {
        int i = index & 0x7F;
        if (i <= YEAR && i != SECONDS_ALARM && i != MINUTES_ALARM && i != HOURS_ALARM) {
            return timeRegister(i, secondsAt(now));
        }
        return switch (i) {
            case A -> (ram[A] & 0x7F) | (updateInProgress(now) ? A_UIP : 0);
            case C -> {
                updateFlags(now);
                int c = flags | ((flags & ram[B] & (C_PF | C_AF | C_UF)) != 0 ? C_IRQF : 0);
                flags = 0; // reading C clears it
                yield c;
            }
            case D -> D_VRT;
            default -> ram[i] & 0xFF;
        };
    }

    public void write(int index, int value, long now) {
        int i = index & 0x7F;
        int v = value & 0xFF;
        switch (i) {
            case A -> {
                ram[A] = (byte) (v & 0x7F); // UIP is read-only
                if ((v & 0x70) == DIVIDER_RUNNING && (ram[B] & B_SET) == 0) {
                    resume(now);
                } else {
                    stop(now);
                }
            }
            case B -> {
                updateFlags(now);
                ram[B] = (byte) v;
                if ((v & B_SET) != 0) {
                    stop(now);
                } else if ((ram[A] & 0x70) == DIVIDER_RUNNING) {
                    resume(now);
                }
            }
            case C, D -> {
                // read-only
            }
            case SECONDS, MINUTES, HOURS, DAY_OF_WEEK, DAY_OF_MONTH, MONTH, YEAR -> writeTime(i, v, now);
            default -> ram[i] = (byte) v;
        }
    }

    /** A write of a time or date register: the clock shows the new field (the other fields as they were). */
    private void writeTime(int index, int raw, long now) {
        long shown = secondsAt(now);
        LocalDateTime t = LocalDateTime.ofEpochSecond(shown, 0, ZoneOffset.UTC);
        int value = index == HOURS ? decodeHours(raw) : decode(raw);
        try {
            t = switch (index) {
                case SECONDS -> t.withSecond(value);
                case MINUTES -> t.withMinute(value);
                case HOURS -> t.withHour(value);
                case DAY_OF_MONTH -> t.withDayOfMonth(value);
                case MONTH -> t.withMonth(value);
                case YEAR -> t.withYear(t.getYear() / 100 * 100 + value);
                default -> t; // the day of the week follows from the date
            };
        } catch (java.time.DateTimeException invalid) {
            return; // a value the calendar cannot hold: the clock keeps its time (the chip's behaviour is undefined)
        }
        long delta = t.toEpochSecond(ZoneOffset.UTC) - shown;
        seconds += delta;
    }

    private int timeRegister(int index, long epochSecond) {
        LocalDateTime t = LocalDateTime.ofEpochSecond(epochSecond, 0, ZoneOffset.UTC);
        return switch (index) {
            case SECONDS -> encode(t.getSecond());
            case MINUTES -> encode(t.getMinute());
            case HOURS -> encodeHours(t.getHour());
            case DAY_OF_WEEK -> encode(t.getDayOfWeek().getValue() % 7 + 1); // 1 = Sunday
            case DAY_OF_MONTH -> encode(t.getDayOfMonth());
            case MONTH -> encode(t.getMonthValue());
            default -> encode(t.getYear() % 100);
        };
    }

    private boolean binary() {
        return (ram[B] & B_BINARY) != 0;
    }

    private int encode(int v) {
        return binary() ? v : toBcd(v);
    }

    private int decode(int raw) {
        return binary() ? raw : fromBcd(raw);
    }

    /** 12-hour mode: 1-12 with bit 7 for PM (data sheet Table 3). */
    private int encodeHours(int hour) {
        if ((ram[B] & B_24H) != 0) {
            return encode(hour);
        }
        int h12 = hour % 12 == 0 ? 12 : hour % 12;
        return encode(h12) | (hour >= 12 ? 0x80 : 0);
    }

    private int decodeHours(int raw) {
        if ((ram[B] & B_24H) != 0) {
            return decode(raw);
        }
        int h12 = decode(raw & 0x7F) % 12;
        return (raw & 0x80) != 0 ? h12 + 12 : h12;
    }

    static int toBcd(int v) {
        return (v / 10 % 10) << 4 | v % 10;
    }

    static int fromBcd(int raw) {
        return (raw >> 4 & 0xF) * 10 + (raw & 0xF);
    }
}
