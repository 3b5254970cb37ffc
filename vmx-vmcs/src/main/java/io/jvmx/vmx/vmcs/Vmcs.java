package io.jvmx.vmx.vmcs;

import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldType;
import io.jvmx.vmx.api.vmcs.VmcsFieldWidth;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Comparator;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Typed access to the current VMCS of one {@link VmxProcessor} (VMREAD/VMWRITE, SDM Vol. 3C, 31.3).
 *
 * <p>Used from the thread that drives the processor, like the processor itself. Failures of the processor
 * ({@link VmxInstructionException} for VMfailInvalid/VMfailValid, {@code ProcessorFault}) propagate unchanged.
 */
public final class Vmcs {
    /** Comparator of fields by encoding: the order of SDM Appendix B. */
    public static final Comparator<VmcsField> ENCODING_ORDER = Comparator.comparingInt(VmcsField::encoding);

    private static final Map<Integer, String> MSR_NAMES = msrNames();

    private final VmxProcessor processor;

    public Vmcs(VmxProcessor processor) {
        this.processor = Objects.requireNonNull(processor, "processor");
    }

    public VmxProcessor processor() {
        return processor;
    }

    /** VMREAD of {@code field} (full access), masked to the field's width (SDM 31.3: narrower fields zero-extend). */
    public long read(VmcsField field) {
        return processor.vmread(field.encoding()) & field.width().mask();
    }

    /** VMREAD of a 16- or 32-bit field, as an int (a 32-bit value with bit 31 set comes back negative). */
    public int read32(VmcsField field) {
        VmcsFieldWidth w = field.width();
        if (w != VmcsFieldWidth.BITS_16 && w != VmcsFieldWidth.BITS_32) {
            throw new IllegalArgumentException(field + " is a " + label(w) + " field: use read(), not read32()");
        }
        return (int) read(field);
    }

    /**
     * VMWRITE of {@code field} (full access). A 16- or 32-bit field takes a value that fits it, either unsigned
     * or as the sign extension of its top bit (so that Java ints such as {@code 1 << 31} can be written to a 32-bit
     * field); anything else is an {@link IllegalArgumentException} naming the field, where the processor would
     * silently drop the high bits (SDM 31.3, VMWRITE).
     */
    public void write(VmcsField field, long value) {
        processor.vmwrite(field.encoding(), checked(field, field.width().bits(), value, "full"));
    }

    /** VMREAD with access type "high" ({@code encoding | 1}): bits 63:32 of a 64-bit field (SDM 25.11.2). */
    public long readHigh(VmcsField field64) {
        requireBits64(field64);
        return processor.vmread(field64.encoding() | 1) & 0xFFFF_FFFFL;
    }

    /** VMWRITE with access type "high": sets bits 63:32 of a 64-bit field, leaving bits 31:0 as they are. */
    public void writeHigh(VmcsField field64, long value32) {
        requireBits64(field64);
        processor.vmwrite(field64.encoding() | 1, checked(field64, 32, value32, "high"));
    }

    /**
     * Sets a VM-execution, VM-exit or VM-entry control field as x86_vcpu's {@code vmcs::set_control} does: reads
     * IA32_VMX_BASIC, uses {@code trueCapabilityMsr} if bit 55 says the TRUE_ MSRs exist (SDM Vol. 3D, A.1) and
     * {@code capabilityMsr} otherwise, and computes the value with {@link VmxControlCapability#adjust}: the bits in
     * {@code set} are 1, those in {@code clear} 0, those the processor requires are 1. Controls that are neither
     * requested nor required keep their current value in the field if the processor allows it, so that toggling
     * one control (interrupt-window exiting, for instance) leaves the others alone (SDM Vol. 3C, 32.5.1).
     *
     * @return the value written
     * @throws IllegalArgumentException naming the control field when the processor cannot give what is asked
     */
    public int setControl(VmcsField control, int capabilityMsr, int trueCapabilityMsr, int set, int clear) {
        return setControl(control, effectiveCapabilityMsr(capabilityMsr, trueCapabilityMsr), set, clear);
    }

    /** The TRUE capability MSR where IA32_VMX_BASIC bit 55 says the processor has them (SDM Vol. 3D, A.1). */
    private int effectiveCapabilityMsr(int capabilityMsr, int trueCapabilityMsr) {
        long basic = processor.rdmsr(Msr.IA32_VMX_BASIC);
        return VmxBasic.decode(basic).trueControls() ? trueCapabilityMsr : capabilityMsr;
    }

    /**
     * Whether the processor lets every control in {@code bits} be 1, by the capability MSR that
     * {@link #setControl(VmcsField, int, int, int, int)} consults: for a VMM that asks for a control only where the
     * processor offers it.
     */
    public boolean allowsOne(int capabilityMsr, int trueCapabilityMsr, int bits) {
        return allowsOne(effectiveCapabilityMsr(capabilityMsr, trueCapabilityMsr), bits);
    }

    /** As {@link #allowsOne(int, int, int)} for a control that has one capability MSR only. */
    public boolean allowsOne(int capabilityMsr, int bits) {
        VmxControlCapability cap = VmxControlCapability.decode(msrName(capabilityMsr), processor.rdmsr(capabilityMsr));
        return (cap.mayBeOne() & bits) == bits;
    }

    /**
     * As {@link #setControl(VmcsField, int, int, int, int)} for a control that has one capability MSR only (the
     * secondary and tertiary processor-based controls, SDM Vol. 3D, A.3.3 and A.3.4).
     */
    public int setControl(VmcsField control, int capabilityMsr, int set, int clear) {
        if (control.width() != VmcsFieldWidth.BITS_32 || control.type() != VmcsFieldType.CONTROL) {
            throw new IllegalArgumentException(control + " is not a 32-bit control field");
        }
        VmxControlCapability cap = VmxControlCapability.decode(control + " (" + msrName(capabilityMsr) + ")",
                processor.rdmsr(capabilityMsr));
        if ((cap.allowed0() & ~cap.allowed1()) != 0) {
            // A control that must be 1 but may not be 1: the capability MSR itself is inconsistent (SDM A.3.1).
            throw new IllegalStateException(String.format(
                    "%s: %s reports bits %#x as required 1 but not allowed 1", control, msrName(capabilityMsr),
                    cap.allowed0() & ~cap.allowed1()));
        }
        int value = cap.adjust(set, clear);
        int flexible = cap.allowed1() & ~cap.allowed0();
        int untouched = flexible & ~(set | clear);
        value |= (int) read(control) & untouched;
        write(control, value & 0xFFFF_FFFFL);
        return value;
    }

    /**
     * Every field this processor supports, in encoding order: VMREADs that fail with VM-instruction error 12
     * (unsupported VMCS component, SDM 31.4) are skipped; any other failure propagates.
     */
    public SortedMap<VmcsField, Long> readAll() {
        SortedMap<VmcsField, Long> all = new TreeMap<>(ENCODING_ORDER);
        for (VmcsField f : VmcsField.values()) {
            try {
                all.put(f, read(f));
            } catch (VmxInstructionException e) {
                if (e.error() != VmInstructionError.UNSUPPORTED_VMCS_COMPONENT) {
                    throw e;
                }
            }
        }
        return all;
    }

    /**
     * The basic information of the last VM exit (x86_vcpu's {@code exit_info}): exit reason, instruction length,
     * guest RIP and exit qualification (SDM 25.9.1, 28.2.1).
     */
    public VmExitInfo exitInfo() {
        return VmExitInfo.of(read32(VmcsField.EXIT_REASON), read32(VmcsField.VM_EXIT_INSTRUCTION_LENGTH),
                read(VmcsField.GUEST_RIP), read(VmcsField.EXIT_QUALIFICATION));
    }

    /** The VM-instruction error field (SDM 31.4), empty when it holds 0 or a number Table 31-1 does not define. */
    public Optional<VmInstructionError> instructionError() {
        return VmInstructionError.of(read32(VmcsField.VM_INSTRUCTION_ERROR));
    }

    private static long checked(VmcsField field, int bits, long value, String access) {
        if (bits == 64) {
            return value;
        }
        long bitsAbove = value >>> bits;
        long signExtension = value >> (bits - 1);
        if (bitsAbove != 0 && signExtension != -1) {
            int encoding = access.equals("high") ? field.encoding() | 1 : field.encoding();
            throw new IllegalArgumentException(String.format("%#x does not fit %s (%#06x, %s access: %d bits)",
                    value, field, encoding, access, bits));
        }
        return value & ((1L << bits) - 1);
    }

    private static void requireBits64(VmcsField field) {
        if (field.width() != VmcsFieldWidth.BITS_64) {
            throw new IllegalArgumentException(field + " is a " + label(field.width())
                    + " field: only 64-bit fields have a high access (SDM 25.11.2)");
        }
    }

    static String label(VmcsFieldWidth w) {
        return switch (w) {
            case BITS_16 -> "16-bit";
            case BITS_32 -> "32-bit";
            case BITS_64 -> "64-bit";
            case NATURAL -> "natural-width";
        };
    }

    /** The name of an MSR from {@link Msr}'s constants, for messages; hex when it has none. */
    static String msrName(int msr) {
        String name = MSR_NAMES.get(msr);
        return name != null ? name : String.format("MSR %#x", msr);
    }

    private static Map<Integer, String> msrNames() {
        Map<Integer, String> names = new java.util.HashMap<>();
        for (Field f : Msr.class.getFields()) {
            if (Modifier.isStatic(f.getModifiers()) && f.getType() == int.class) {
                try {
                    names.putIfAbsent(f.getInt(null), f.getName());
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("public constant " + f + " not readable", e);
                }
            }
        }
        return Map.copyOf(names);
    }
}
