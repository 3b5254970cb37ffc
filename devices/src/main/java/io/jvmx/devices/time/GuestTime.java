package io.jvmx.devices.time;

import java.util.Map;

/**
 * The platform's clocks as fractions of the guest's time-stamp counter. A device of jvmx keeps time with the TSC the
 * guest reads ({@code VCpu.guestTsc()}), not with the host's clock: on the software processor that TSC counts
 * instructions (and jumps ahead while the guest halts), so guest time is virtual and a run is deterministic; the local
 * APIC timer counts the same TSC. This class says how fast the TSC runs in guest seconds (configuration
 * {@value #TSC_HZ}, PID {@value #PID}; default {@value #DEFAULT_TSC_HZ}, which on the software processor, at roughly
 * 100 million guest instructions per second, keeps guest time close to wall time) and converts between TSC ticks and
 * the ticks of a clock of another frequency, exactly (no drift: each conversion starts from TSC 0).
 */
public final class GuestTime {
    /** The configuration PID of the platform devices that keep time (PIT, RTC). */
    public static final String PID = "io.jvmx.devices.platform";
    /** Configuration property: guest TSC ticks per guest second. */
    public static final String TSC_HZ = "platform.tsc.hz";
    public static final long DEFAULT_TSC_HZ = 100_000_000L;
    /** Bounds that keep the arithmetic of {@link #ticks} and {@link #tscAt} within 64 bits. */
    static final long MIN_TSC_HZ = 1_000_000L, MAX_TSC_HZ = 1_000_000_000_000L;

    private final long tscHz;

    public GuestTime(long tscHz) {
        if (tscHz < MIN_TSC_HZ || tscHz > MAX_TSC_HZ) {
            throw new IllegalArgumentException(String.format("%s must be %,d..%,d TSC ticks per second, got %,d",
                    TSC_HZ, MIN_TSC_HZ, MAX_TSC_HZ, tscHz));
        }
        this.tscHz = tscHz;
    }

    /** From a component's properties: {@value #TSC_HZ} (a number, or a string such as "100000000"), or the default. */
    public static GuestTime of(Map<String, ?> properties) {
        Object raw = properties == null ? null : properties.get(TSC_HZ);
        if (raw == null) {
            return new GuestTime(DEFAULT_TSC_HZ);
        }
        try {
            return new GuestTime(raw instanceof Number n ? n.longValue() : Long.parseLong(raw.toString().trim()));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(TSC_HZ + " must be a whole number of TSC ticks per second, got " + raw);
        }
    }

    public long tscHz() {
        return tscHz;
    }

    /** The ticks a clock of {@code hz} has made when the TSC reads {@code tsc}: floor(tsc * hz / tscHz). */
    public long ticks(long tsc, long hz) {
        long t = Math.max(tsc, 0);
        return t / tscHz * hz + t % tscHz * hz / tscHz;
    }

    /** The first TSC value at which a clock of {@code hz} has made {@code ticks} ticks: ceil(ticks * tscHz / hz). */
    public long tscAt(long ticks, long hz) {
        long whole = ticks / hz * tscHz;
        long part = ticks % hz * tscHz;
        return whole + part / hz + (part % hz != 0 ? 1 : 0);
    }
}
