package io.jvmx.vmx.core;

import io.jvmx.vmx.api.spi.GeneralRegisters;

import java.util.List;

/**
 * A snapshot of a guest's registers, control registers and segments, read from the VMCS and the saved GPRs (for
 * vcpu:regs).
 */
public record GuestState(int vcpuId, VmCpuMode mode, GeneralRegisters gprs, long rsp, long rip, long rflags,
                         long cr0, long cr3, long cr4, long efer, List<Segment> segments, long gdtrBase,
                         int gdtrLimit, long idtrBase, int idtrLimit, int interruptibility, int activityState) {

    /** One segment register as the VMCS holds it (SDM Vol. 3C, 25.4.1). */
    public record Segment(String name, int selector, long base, int limit, int accessRights) {
        @Override
        public String toString() {
            return String.format("%-4s sel=%#06x base=%#018x limit=%#010x ar=%#06x", name, selector, base, limit,
                    accessRights);
        }
    }

    public GuestState {
        GeneralRegisters copy = new GeneralRegisters();
        copy.copyFrom(gprs);
        gprs = copy;
        segments = List.copyOf(segments);
    }

    /** Several lines for people. */
    public String format() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("vcpu %d, %s mode%n", vcpuId, mode));
        for (int i = 0; i < 16; i++) {
            long v = i == GeneralRegisters.RSP ? rsp : gprs.get(i);
            sb.append(String.format("%-3s=%#018x%s", GeneralRegisters.name(i), v, i % 4 == 3 ? System.lineSeparator() : "  "));
        }
        sb.append(String.format("rip=%#018x  rflags=%#010x%n", rip, rflags));
        sb.append(String.format("cr0=%#018x  cr3=%#018x  cr4=%#018x  efer=%#x%n", cr0, cr3, cr4, efer));
        for (Segment s : segments) {
            sb.append(s).append(System.lineSeparator());
        }
        sb.append(String.format("gdtr base=%#x limit=%#x  idtr base=%#x limit=%#x%n", gdtrBase, gdtrLimit, idtrBase,
                idtrLimit));
        sb.append(String.format("interruptibility=%#x activity=%d", interruptibility, activityState));
        return sb.toString();
    }

    @Override
    public String toString() {
        return format();
    }
}
