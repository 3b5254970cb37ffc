package io.jvmx.vmx.emulated.fuzz;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.exit.ExitReason;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.Test;

/**
 * The software processor fuzzed: random code (random bytes, or random instructions, {@link RandomCode}) run as a guest
 * in VMX non-root operation in every mode ({@link FuzzMode}: real mode, 16- and 32-bit protected mode with and
 * without paging, 16- and 32-bit compatibility mode, 64-bit mode, virtual-8086 mode with and without paging and with
 * random CR4.VME/PVI, VIF/VIP, IOPL and TSS interrupt-redirection and I/O bit maps) at CPL 0 and 3 (virtual-8086
 * mode: 3), with random registers, flags,
 * control registers, paging attributes and VMX controls ({@link FuzzGuest}). After each VM exit the guest is resumed
 * past the instruction (or one byte, after an exception), up to {@value #MAX_ENTRIES} times.
 *
 * <p>The property: nothing but VM exits ever leaves the processor. Guest exceptions are VM exits (EXCEPTION_OR_NMI,
 * when the exception bitmap says so) or are delivered through the guest's IDT to a HLT that exits; every other way
 * out is an exit too (I/O, CPUID, EPT violation, triple fault, the VMX-preemption timer that bounds every run). A Java
 * exception thrown by the processor, a VM entry that fails on the state the processor itself saved, and a run that
 * does not come back within {@value #CASE_TIMEOUT_SECONDS} s are failures, each reported with the case, so that
 * {@code -Djvmx.fuzz.replay=seed:index} runs it again.
 *
 * <p>System properties: {@code jvmx.fuzz.cases} (default {@value #DEFAULT_CASES}), {@code jvmx.fuzz.seed},
 * {@code jvmx.fuzz.replay}.
 */
public class FuzzTest {
    static final int DEFAULT_CASES = 2000;
    static final long DEFAULT_SEED = 20_261_130L;
    static final int MAX_ENTRIES = 24;
    static final int CASE_TIMEOUT_SECONDS = 20;
    /** From this many cases on, every mode has had cases (they are drawn uniformly): each must retire instructions. */
    static final int MODES_SURELY_COVERED = 200;

    /** What one case did: its VM exits by name, and how many guest instructions retired. */
    record Outcome(List<String> exits, long retired) {
    }

    /**
     * What the fuzzer finds that is known and belongs to another part of the processor: the message of the Java
     * exception -> why it is not fixed here. A case that ends in one of these is counted and listed, not failed;
     * anything else is a failure.
     */
    static final Map<String, String> KNOWN_LIMITATIONS = Map.of();

    /** The machine of the case that runs now, for the watchdog's kick. */
    private static final AtomicReference<FuzzGuest> CURRENT = new AtomicReference<>();

    @Test
    public void nothingButVmExitsLeaveTheProcessor() throws InterruptedException {
        List<FuzzCase> cases = new ArrayList<>();
        String replay = System.getProperty("jvmx.fuzz.replay");
        if (replay != null && !replay.isBlank()) {
            String[] p = replay.split(":");
            cases.add(FuzzCase.of(Long.parseLong(p[0].trim()), Integer.parseInt(p[1].trim())));
        } else {
            long seed = Long.getLong("jvmx.fuzz.seed", DEFAULT_SEED);
            int count = Integer.getInteger("jvmx.fuzz.cases", DEFAULT_CASES);
            for (int i = 0; i < count; i++) {
                cases.add(FuzzCase.of(seed, i));
            }
        }
        ExecutorService runner = Executors.newSingleThreadExecutor(task -> {
            Thread t = new Thread(task, "fuzz case");
            t.setDaemon(true); // a hung case must not keep the JVM alive
            return t;
        });
        List<String> failures = new ArrayList<>();
        Map<String, Integer> exits = new TreeMap<>();
        Map<FuzzMode, Integer> modes = new TreeMap<>();
        Map<FuzzMode, Long> retiredByMode = new TreeMap<>();
        Map<String, Integer> limitations = new TreeMap<>();
        Map<String, String> firstKnown = new TreeMap<>();
        long start = System.nanoTime();
        long entries = 0;
        long retired = 0;
        try {
            for (FuzzCase c : cases) {
                Future<Outcome> f = runner.submit(() -> run(c));
                try {
                    Outcome o = f.get(CASE_TIMEOUT_SECONDS, TimeUnit.SECONDS);
                    modes.merge(c.mode(), 1, Integer::sum);
                    for (String e : o.exits()) {
                        exits.merge(e, 1, Integer::sum);
                    }
                    entries += o.exits().size();
                    retired += o.retired();
                    retiredByMode.merge(c.mode(), o.retired(), Long::sum);
                } catch (ExecutionException e) {
                    String known = knownLimitation(e.getCause());
                    if (known != null) {
                        limitations.merge(known, 1, Integer::sum);
                        firstKnown.putIfAbsent(known, "-Djvmx.fuzz.replay=" + c.seed() + ":" + c.index());
                    } else {
                        failures.add(c + "\n" + stackTrace(e.getCause()));
                    }
                } catch (TimeoutException e) {
                    failures.add(c + "\nno VM exit within " + CASE_TIMEOUT_SECONDS + " s: the processor hangs; "
                            + hung(f));
                }
                if (failures.size() >= 10) {
                    break;
                }
            }
        } finally {
            runner.shutdownNow();
        }
        System.out.printf("fuzz: %d cases, %d VM entries, %d guest instructions retired in %.1f s; modes %s; exits %s%n",
                cases.size(), entries, retired, (System.nanoTime() - start) / 1e9, modes, exits);
        limitations.forEach((known, n) -> System.out.printf("fuzz: %d case(s) ran into a known limitation (the first: "
                + "%s): %s%n", n, firstKnown.get(known), KNOWN_LIMITATIONS.get(known)));
        if (!failures.isEmpty()) {
            fail(failures.size() + " fuzz case(s) failed:\n\n" + String.join("\n\n", failures));
        }
        if (cases.size() >= MODES_SURELY_COVERED) {
            // a mode whose cases all stop before their first instruction (a VM entry that always fails, a harness
            // that never reaches the mode) would pass the property without being fuzzed
            for (FuzzMode mode : FuzzMode.values()) {
                assertTrue(mode + ": no guest instruction retired", retiredByMode.getOrDefault(mode, 0L) > 0);
            }
        }
    }

    /**
     * A hung case: the processor is kicked (an external interrupt from another thread, which must make it exit, SDM
     * Vol. 3C, 26.2), and the guest state at that exit tells where it was; if even that does not stop it, the runner
     * thread is lost and so is the rest of the run.
     */
    private static String hung(Future<Outcome> f) throws InterruptedException {
        FuzzGuest g = CURRENT.get();
        if (g == null) {
            return "and no machine to kick";
        }
        g.cpu.kick();
        try {
            f.get(10, TimeUnit.SECONDS);
            return "a kick stopped it, at " + state(g);
        } catch (ExecutionException e) {
            return "a kick stopped it with " + stackTrace(e.getCause());
        } catch (TimeoutException e) {
            throw new AssertionError("a fuzz case hangs and not even a kick stops it: the runner is lost", e);
        }
    }

    /** Runs one case to its end; throws what the processor throws, or a description of a bad VM entry. */
    static Outcome run(FuzzCase c) {
        List<String> exits = new ArrayList<>();
        long retired;
        try (FuzzGuest g = new FuzzGuest()) {
            CURRENT.set(g);
            g.setUp(c);
            for (int entry = 0; entry < MAX_ENTRIES; entry++) {
                String before = entry == 0 ? "" : state(g);
                if (entry > 0 && Thread.currentThread().isInterrupted()) {
                    break;
                }
                if (entry == 0) {
                    g.cpu.vmlaunch(g.registers);
                } else {
                    g.cpu.vmresume(g.registers);
                }
                long reason = g.read(EXIT_REASON);
                if ((reason & (1L << 31)) != 0) {
                    String why = g.cpu.lastEntryFailure();
                    if (entry == 0) {
                        throw new IllegalStateException("the fuzz harness set up a guest VM entry rejects: " + why);
                    }
                    if (why != null && why.contains("RIP")) {
                        exits.add("(RIP moved past the canonical range by the harness)");
                        break;
                    }
                    throw new IllegalStateException("VM entry failed on the guest state the processor saved at its "
                            + "last exit (" + exits.get(exits.size() - 1) + "): " + why + "\n  state: " + before);
                }
                int basic = (int) (reason & 0xFFFF);
                String name = ExitReason.of(basic).map(Enum::name).orElse("#" + basic);
                exits.add(name);
                long rip = g.read(GUEST_RIP);
                if (basic == ExitReason.TRIPLE_FAULT.number()
                        || basic == ExitReason.VMX_PREEMPTION_TIMER_EXPIRED.number()
                        || basic == ExitReason.EXTERNAL_INTERRUPT.number()
                        || (basic == ExitReason.HLT.number() && linearRip(g, rip) == FuzzGuest.HANDLER)) {
                    break; // a triple fault, a guest that ran its time, an exception the guest's handler received
                }
                long length = g.read(VM_EXIT_INSTRUCTION_LENGTH);
                boolean skipInstruction = basic != ExitReason.EXCEPTION_OR_NMI.number()
                        && basic != ExitReason.EPT_VIOLATION.number() && basic != ExitReason.EPT_MISCONFIGURATION.number()
                        && length >= 1 && length <= 15;
                long next = rip + (skipInstruction ? length : 1);
                boolean mode64 = (g.read(GUEST_IA32_EFER) & (1L << 10)) != 0
                        && (g.read(GUEST_CS_ACCESS_RIGHTS) & (1 << 13)) != 0;
                g.write(GUEST_RIP, mode64 ? next : next & 0xFFFF_FFFFL);
                // moving RIP ends the instruction the blocking by STI or MOV SS was for; a single-step trap the exit
                // left pending (28.3.4) stays for the next entry to deliver. (KVM does the same when it skips an
                // instruction, and sets BS itself after a #DB exit, which saves none.)
                g.write(GUEST_INTERRUPTIBILITY_STATE, g.read(GUEST_INTERRUPTIBILITY_STATE) & ~3L);
                g.write(GUEST_ACTIVITY_STATE, 0);
                g.write(VMX_PREEMPTION_TIMER_VALUE, FuzzGuest.PREEMPTION_TIMER);
                g.write(VM_ENTRY_INTERRUPTION_INFORMATION, 0);
            }
            retired = g.cpu.guestInstructionsRetired();
        }
        return new Outcome(exits, retired);
    }

    private static long linearRip(FuzzGuest g, long rip) {
        return (g.read(GUEST_CS_BASE) + rip) & 0xFFFF_FFFFL;
    }

    /** The guest state that goes into a VM entry, for a report. */
    private static String state(FuzzGuest g) {
        return String.format("CR0=%#x CR3=%#x CR4=%#x EFER=%#x RFLAGS=%#x CS=%#x/base %#x/ar %#x SS=%#x/%#x RIP=%#x "
                        + "RSP=%#x interruptibility=%#x IDTR=%#x/%#x GDTR=%#x/%#x", g.read(GUEST_CR0), g.read(GUEST_CR3),
                g.read(GUEST_CR4), g.read(GUEST_IA32_EFER), g.read(GUEST_RFLAGS), g.read(GUEST_CS_SELECTOR),
                g.read(GUEST_CS_BASE), g.read(GUEST_CS_ACCESS_RIGHTS), g.read(GUEST_SS_SELECTOR),
                g.read(GUEST_SS_ACCESS_RIGHTS), g.read(GUEST_RIP), g.read(GUEST_RSP),
                g.read(GUEST_INTERRUPTIBILITY_STATE), g.read(GUEST_IDTR_BASE), g.read(GUEST_IDTR_LIMIT),
                g.read(GUEST_GDTR_BASE), g.read(GUEST_GDTR_LIMIT));
    }

    /** The key of the known limitation {@code t} (or a cause of it) is, or null. */
    private static String knownLimitation(Throwable t) {
        for (Throwable x = t; x != null; x = x.getCause()) {
            for (String key : KNOWN_LIMITATIONS.keySet()) {
                if (x.getMessage() != null && x.getMessage().contains(key)) {
                    return key;
                }
            }
        }
        return null;
    }

    private static String stackTrace(Throwable t) {
        StringWriter w = new StringWriter();
        t.printStackTrace(new PrintWriter(w));
        String s = w.toString();
        int junit = s.indexOf("\tat java.base/java.util.concurrent");
        return junit > 0 ? s.substring(0, junit) : s;
    }
}
