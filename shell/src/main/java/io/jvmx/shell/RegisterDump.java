package io.jvmx.shell;

import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.GuestSegment;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.ArrayList;
import java.util.List;

/**
 * vcpu:regs: the guest's registers, taken on the vCPU's thread (the VMCS is current there) and formatted on the
 * command's thread. GPRs come from the vCPU's register file (RSP from GUEST_RSP), the rest from the guest-state area
 * of the VMCS (SDM Vol. 3C, 25.4); CR0/CR4 are shown as the processor uses them and as the guest reads them
 * (bits owned through the guest/host masks come from the read shadows, SDM 25.6.6).
 *
 * @param gprs     RAX..R15 by SDM register number
 * @param segments ES, CS, SS, DS, FS, GS, LDTR, TR: selector, base, limit, access rights
 */
record RegisterDump(long[] gprs, long rip, long rflags, long cr0, long cr0Guest, long cr3, long cr4, long cr4Guest,
                    long efer, long[][] segments, long gdtrBase, long gdtrLimit, long idtrBase, long idtrLimit) {

    /** Reads everything; runs on the vCPU's thread inside {@code VCpuHandle.inspect}. */
    static RegisterDump capture(VCpu vcpu) {
        long[] gprs = new long[16];
        for (int i = 0; i < 16; i++) {
            gprs[i] = vcpu.readGpr(i);
        }
        GuestSegment[] all = GuestSegment.values();
        long[][] segments = new long[all.length][];
        for (int s = 0; s < all.length; s++) {
            GuestSegment g = all[s];
            segments[s] = new long[] {vcpu.vmread(g.selector()), vcpu.vmread(g.base()), vcpu.vmread(g.limit()),
                    vcpu.vmread(g.accessRights())};
        }
        return new RegisterDump(gprs, vcpu.rip(), vcpu.vmread(VmcsField.GUEST_RFLAGS),
                vcpu.vmread(VmcsField.GUEST_CR0), vcpu.guestCr(0), vcpu.vmread(VmcsField.GUEST_CR3),
                vcpu.vmread(VmcsField.GUEST_CR4), vcpu.guestCr(4), vcpu.vmread(VmcsField.GUEST_IA32_EFER), segments,
                vcpu.vmread(VmcsField.GUEST_GDTR_BASE), vcpu.vmread(VmcsField.GUEST_GDTR_LIMIT),
                vcpu.vmread(VmcsField.GUEST_IDTR_BASE), vcpu.vmread(VmcsField.GUEST_IDTR_LIMIT));
    }

    List<String> format() {
        List<String> lines = new ArrayList<>();
        for (int row = 0; row < 4; row++) {
            StringBuilder sb = new StringBuilder();
            for (int col = 0; col < 4; col++) {
                int r = row * 4 + col;
                sb.append(String.format("%-4s %#018x   ", GeneralRegisters.name(r), gprs[r]));
            }
            lines.add(sb.toString().stripTrailing());
        }
        lines.add(String.format("rip  %#018x   rflags %#010x", rip, rflags));
        lines.add(String.format("cr0  %#018x   (guest reads %#x)", cr0, cr0Guest));
        lines.add(String.format("cr3  %#018x", cr3));
        lines.add(String.format("cr4  %#018x   (guest reads %#x)", cr4, cr4Guest));
        lines.add(String.format("efer %#018x", efer));
        for (int s = 0; s < segments.length; s++) {
            long[] seg = segments[s];
            lines.add(String.format("%-4s selector %#06x  base %#018x  limit %#010x  access rights %#07x",
                    GuestSegment.values()[s].name().toLowerCase(java.util.Locale.ROOT), seg[0], seg[1], seg[2], seg[3]));
        }
        lines.add(String.format("gdtr base %#018x  limit %#06x", gdtrBase, gdtrLimit));
        lines.add(String.format("idtr base %#018x  limit %#06x", idtrBase, idtrLimit));
        return lines;
    }
}
