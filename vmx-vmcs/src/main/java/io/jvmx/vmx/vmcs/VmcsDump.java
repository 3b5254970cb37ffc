package io.jvmx.vmx.vmcs;

import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldType;
import io.jvmx.vmx.api.vmcs.VmcsFieldWidth;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * VMCS contents as text (the shell's {@code vcpu:vmcs}): fields grouped by their type (bits 11:10 of the encoding,
 * SDM Vol. 3C 25.11.2), each value in hex as wide as the field.
 */
public final class VmcsDump {
    private VmcsDump() {
    }

    /**
     * One header line per non-empty group (control, VM-exit information, guest-state, host-state, in that order),
     * then one {@code "  NAME = 0x..."} line per field in encoding order. Lines end with {@code '\n'}.
     */
    public static String format(Map<VmcsField, Long> fields) {
        StringBuilder sb = new StringBuilder();
        for (VmcsFieldType type : VmcsFieldType.values()) {
            List<VmcsField> group = new ArrayList<>();
            for (VmcsField f : fields.keySet()) {
                if (f.type() == type) {
                    group.add(f);
                }
            }
            if (group.isEmpty()) {
                continue;
            }
            group.sort(Vmcs.ENCODING_ORDER);
            sb.append(typeLabel(type)).append(" fields:\n");
            for (VmcsField f : group) {
                Long v = fields.get(f);
                if (v == null) {
                    throw new IllegalArgumentException("no value for " + f);
                }
                sb.append("  ").append(f.name()).append(" = ").append(hex(f.width(), v)).append('\n');
            }
        }
        return sb.toString();
    }

    /** {@code "GUEST_RIP (0x681e, natural-width guest-state) = 0x0000000000008000"}. */
    public static String formatOne(VmcsField field, long value) {
        return String.format("%s (%#06x, %s %s) = %s", field.name(), field.encoding(), Vmcs.label(field.width()),
                typeLabel(field.type()), hex(field.width(), value));
    }

    /** The value masked to the field width, zero-padded to its width in hex digits: 4, 8 or 16. */
    public static String hex(VmcsFieldWidth width, long value) {
        int digits = width.bits() / 4;
        return "0x" + String.format("%0" + digits + "x", value & width.mask());
    }

    /** The SDM's name of a field type (Table 25-21). */
    public static String typeLabel(VmcsFieldType type) {
        return switch (type) {
            case CONTROL -> "control";
            case VM_EXIT_INFORMATION -> "VM-exit information";
            case GUEST_STATE -> "guest-state";
            case HOST_STATE -> "host-state";
        };
    }
}
