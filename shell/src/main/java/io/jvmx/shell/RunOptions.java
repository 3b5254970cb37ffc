package io.jvmx.shell;

import io.jvmx.vmx.core.runtime.LaunchRequest;

import java.util.Locale;
import java.util.OptionalLong;
import java.util.Set;

/**
 * The arguments of {@code vcpu:run}: {@code [image] [--processor kind] [--memory MiB] [--slice ticks]
 * [--timeout seconds] [--load hex] [--entry hex] [--background] [--help]}, or for a Linux kernel
 * {@code --kernel bzImage [--initrd file] [--append cmdline]} instead of the image. Options may come before or after
 * the image; {@code --name=value} works as well as {@code --name value}.
 *
 * @param image       a catalog name or a file path; null for the demo
 * @param processor   the VMX processor kind
 * @param memoryMiB   guest RAM in MiB
 * @param sliceTicks  VMX-preemption timer time slice (0: timer off)
 * @param timeoutSeconds stop the vCPU after this long; 0 = no limit
 * @param load        load address for a file image (empty: the platform's 0x8000)
 * @param entry       entry point for a file image (empty: the load address)
 * @param background  return at once with the vCPU id
 * @param help        print the usage and do nothing else
 * @param kernel      a Linux bzImage to boot through the boot protocol instead of an image; null: none
 * @param initrd      the initrd (initramfs) for the kernel; null: none
 * @param append      the kernel command line
 */
record RunOptions(String image, String processor, long memoryMiB, long sliceTicks, long timeoutSeconds,
                  OptionalLong load, OptionalLong entry, boolean background, boolean help, String kernel,
                  String initrd, String append) {

    /** Platform convention (BRIEF.md): flat images are loaded and entered at guest-physical 0x8000. */
    static final long DEFAULT_LOAD = 0x8000;
    static final String DEFAULT_PROCESSOR = "software";
    static final long DEFAULT_MEMORY_MIB = LaunchRequest.DEFAULT_MEMORY >> 20;
    /** A stock x86-64 kernel needs about 80 MiB to decompress and start (pref_address 16 MiB + init_size). */
    static final long DEFAULT_KERNEL_MEMORY_MIB = 256;
    /**
     * The console on COM1 (the platform's 16550), early messages there too, and a reboot rather than a hang after a
     * panic, so that a failed boot ends the run.
     */
    static final String DEFAULT_APPEND = "console=ttyS0 earlyprintk=serial panic=-1";
    /** More would only exhaust the JVM's heap: the software processor keeps guest RAM in the Java heap. */
    static final long MAX_MEMORY_MIB = 1024;
    static final long MAX_TIMEOUT_SECONDS = 365L * 24 * 3600;

    private static final Set<String> FLAGS = Set.of("--help", "-h", "--background", "-b");
    private static final Set<String> OPTIONS = Set.of("--processor", "--memory", "--slice",
            "--timeout", "--load", "--entry", "--kernel", "--initrd", "--append");

    static final String USAGE = String.join("\n",
            "usage: vcpu:run [image] [options]",
            "  image                a guest image name (see vcpu:run --help for the list) or the path of a flat",
            "                       binary; no image: the demo",
            "  --processor <kind>   VMX processor kind (default " + DEFAULT_PROCESSOR + ")",
            "  --memory <MiB>       guest RAM (default " + DEFAULT_MEMORY_MIB + ", at most " + MAX_MEMORY_MIB + ")",
            "  --slice <ticks>      VMX-preemption timer time slice (default " + LaunchRequest.DEFAULT_TIME_SLICE
                    + "; 0 turns the timer off)",
            "  --timeout <seconds>  stop the vCPU after this long (default: no limit)",
            "  --load <hex>         load address of a file image (default 0x8000)",
            "  --entry <hex>        entry point of a file image, below 0x10000 (default: the load address)",
            "  --background         return at once and print the vCPU id (see vcpu:list, vcpu:stats, vcpu:stop)",
            "  --kernel <bzImage>   boot a Linux kernel (x86 boot protocol) instead of an image; memory default "
                    + DEFAULT_KERNEL_MEMORY_MIB + " MiB",
            "  --initrd <file>      the kernel's initrd or initramfs",
            "  --append <cmdline>   the kernel command line (default \"" + DEFAULT_APPEND + "\")",
            "Prints the guest's serial output, then a summary; returns the guest's exit code (1 if the guest did",
            "not end itself: unhandled exit, failure, timeout or stop).");

    static RunOptions parse(String... args) {
        String image = null;
        String processor = DEFAULT_PROCESSOR;
        long memory = -1;
        String kernel = null;
        String initrd = null;
        String append = null;
        long slice = LaunchRequest.DEFAULT_TIME_SLICE;
        long timeout = 0;
        OptionalLong load = OptionalLong.empty();
        OptionalLong entry = OptionalLong.empty();
        boolean background = false;
        boolean help = false;
        String[] a = args == null ? new String[0] : args;
        for (int i = 0; i < a.length; i++) {
            String arg = a[i];
            if (arg == null) {
                continue;
            }
            if (!arg.startsWith("-") || arg.equals("-")) {
                if (image != null) {
                    throw new UsageException("one image at most (got '" + image + "' and '" + arg + "')");
                }
                image = arg;
                continue;
            }
            String name = arg;
            String inline = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                inline = arg.substring(eq + 1);
            }
            String value = null;
            if (OPTIONS.contains(name)) {
                if (inline != null) {
                    value = inline;
                } else if (i + 1 < a.length && a[i + 1] != null) {
                    value = a[++i];
                } else {
                    throw new UsageException(name + " needs a value (see vcpu:run --help)");
                }
            } else if (inline != null && FLAGS.contains(name)) {
                throw new UsageException(name + " takes no value");
            }
            switch (name) {
                case "--help", "-h" -> help = true;
                case "--background", "-b" -> background = true;
                case "--processor" -> processor = value.trim();
                case "--memory" -> memory = positive(name, value, MAX_MEMORY_MIB);
                case "--slice" -> slice = nonNegative(name, value);
                case "--timeout" -> timeout = positive(name, value, MAX_TIMEOUT_SECONDS);
                case "--load" -> load = OptionalLong.of(hex(name, value));
                case "--entry" -> entry = OptionalLong.of(hex(name, value));
                case "--kernel" -> kernel = nonEmpty(name, value);
                case "--initrd" -> initrd = nonEmpty(name, value);
                case "--append" -> append = value;
                default -> throw new UsageException("unknown option '" + arg + "' (see vcpu:run --help)");
            }
        }
        if (processor.isBlank()) {
            throw new UsageException("--processor: empty kind");
        }
        if (kernel != null && image != null) {
            throw new UsageException("--kernel boots a kernel instead of an image: not both ('" + image + "')");
        }
        if (kernel != null && (load.isPresent() || entry.isPresent())) {
            throw new UsageException("--load and --entry are for flat images; the boot protocol places the kernel");
        }
        if (kernel == null && (initrd != null || append != null)) {
            throw new UsageException((initrd != null ? "--initrd" : "--append") + " needs --kernel");
        }
        if (memory < 0) {
            memory = kernel != null ? DEFAULT_KERNEL_MEMORY_MIB : DEFAULT_MEMORY_MIB;
        }
        if (kernel != null && append == null) {
            append = DEFAULT_APPEND;
        }
        return new RunOptions(image, processor, memory, slice, timeout, load, entry, background, help, kernel,
                initrd, append);
    }

    private static String nonEmpty(String option, String value) {
        if (value.isBlank()) {
            throw new UsageException(option + ": empty file name");
        }
        return value;
    }

    static long positive(String option, String text, long max) {
        long v = number(option, text);
        if (v <= 0) {
            throw new UsageException(option + ": must be at least 1, not " + text.trim());
        }
        if (v > max) {
            throw new UsageException(option + ": at most " + max + ", not " + text.trim());
        }
        return v;
    }

    static long nonNegative(String option, String text) {
        long v = number(option, text);
        if (v < 0) {
            throw new UsageException(option + ": must not be negative: " + text.trim());
        }
        return v;
    }

    /** A decimal number (or 0x-prefixed hex, as people also type). */
    static long number(String option, String text) {
        String t = text.trim().replace("_", "");
        try {
            if (t.toLowerCase(Locale.ROOT).startsWith("0x")) {
                return Long.parseLong(t.substring(2), 16);
            }
            return Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": not a number: '" + text + "'");
        }
    }

    /** A hex number, with or without 0x. */
    static long hex(String option, String text) {
        String t = text.trim().replace("_", "");
        if (t.toLowerCase(Locale.ROOT).startsWith("0x")) {
            t = t.substring(2);
        }
        try {
            if (t.isEmpty()) {
                throw new NumberFormatException();
            }
            return Long.parseLong(t, 16);
        } catch (NumberFormatException e) {
            throw new UsageException(option + ": not a hex number: '" + text + "'");
        }
    }
}
