package io.jvmx.apic.mmio;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.memory.GuestPhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;

/**
 * Reads the guest's current instruction (at CS:RIP) for the VMM: the linear address translated by the guest's own
 * paging structures in whichever mode is active (none, 32-bit with PSE, PAE with the PDPTE registers the VMCS holds
 * under EPT, 4-level; SDM Vol. 3A 4.3-4.5, Vol. 3C 28.3.4). The processor fetched these bytes a moment ago, so the
 * walk only reads: it sets no accessed flags and checks no access rights. A translation that is not present any
 * more is an {@link IllegalStateException}.
 */
public final class GuestCode {
    private static final long P = 1, PS = 0x80;
    private static final long ADDRESS_52 = 0x000F_FFFF_FFFF_F000L;

    private GuestCode() {
    }

    /** The code size CS gives the instruction (SDM Vol. 3A 5.2.1): L in IA-32e mode, else D (and PE). */
    public static MmioInstruction.CodeSize codeSize(VCpu vcpu) {
        long cs = vcpu.vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS);
        if ((vcpu.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0 && (cs & 1 << 13) != 0) {
            return MmioInstruction.CodeSize.BITS_64;
        }
        boolean protectedMode = (vcpu.vmread(VmcsField.GUEST_CR0) & Cr0.PE) != 0;
        return protectedMode && (cs & 1 << 14) != 0 ? MmioInstruction.CodeSize.BITS_32
                : MmioInstruction.CodeSize.BITS_16;
    }

    /** Up to 15 bytes at CS:RIP (fewer if the code segment's mapping ends in unmapped memory after a byte). */
    public static byte[] fetch(VCpu vcpu) {
        MmioInstruction.CodeSize size = codeSize(vcpu);
        long rip = vcpu.rip();
        long linear = size == MmioInstruction.CodeSize.BITS_64 ? rip
                : (vcpu.vmread(VmcsField.GUEST_CS_BASE) + rip) & 0xFFFF_FFFFL;
        GuestPhysicalMemory memory = vcpu.guestMemory();
        byte[] code = new byte[15];
        int n = 0;
        while (n < code.length) {
            long physical = translate(vcpu, linear + n, n == 0);
            if (physical < 0) {
                break;
            }
            int inPage = (int) Math.min(code.length - n, 0x1000 - (physical & 0xFFF));
            if (physical + inPage > memory.size()) {
                break;
            }
            memory.read(physical, code, n, inPage);
            n += inPage;
        }
        return n == code.length ? code : java.util.Arrays.copyOf(code, n);
    }

    /** The guest-physical address of {@code linear}, or -1 (an exception for the first byte) if it is not mapped. */
    private static long translate(VCpu vcpu, long linear, boolean mustExist) {
        long cr0 = vcpu.vmread(VmcsField.GUEST_CR0);
        if ((cr0 & Cr0.PG) == 0) {
            return linear & 0xFFFF_FFFFL;
        }
        long cr3 = vcpu.vmread(VmcsField.GUEST_CR3);
        long cr4 = vcpu.vmread(VmcsField.GUEST_CR4);
        long pa;
        if ((vcpu.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0) {
            pa = walk(vcpu, cr3 & ADDRESS_52, linear, 39, 4);
        } else if ((cr4 & Cr4.PAE) != 0) {
            VmcsField[] pdptes = {VmcsField.GUEST_PDPTE0, VmcsField.GUEST_PDPTE1, VmcsField.GUEST_PDPTE2,
                    VmcsField.GUEST_PDPTE3};
            long pdpte = vcpu.vmread(pdptes[(int) (linear >>> 30) & 3]);
            pa = (pdpte & P) == 0 ? -1 : walk(vcpu, pdpte & ADDRESS_52, linear, 21, 2);
        } else {
            pa = walk32(vcpu, cr3 & 0xFFFF_F000L, linear & 0xFFFF_FFFFL, (cr4 & Cr4.PSE) != 0);
        }
        if (pa < 0 && mustExist) {
            throw new IllegalStateException(String.format(
                    "the instruction at linear address %#x is not mapped by the guest's paging structures", linear));
        }
        return pa;
    }

    /** 8-byte entries, 9 bits a level, from bit {@code shift} down to 12; PS at the levels of 1-GiB and 2-MiB pages. */
    private static long walk(VCpu vcpu, long table, long linear, int shift, int levels) {
        for (int level = levels; level >= 1; level--, shift -= 9) {
            long entry = read64(vcpu, table + ((linear >>> shift) & 0x1FF) * 8);
            if ((entry & P) == 0) {
                return -1;
            }
            if (level == 1 || ((level == 2 || level == 3) && (entry & PS) != 0)) {
                long pageMask = (1L << shift) - 1;
                return (entry & ADDRESS_52 & ~pageMask) | (linear & pageMask);
            }
            table = entry & ADDRESS_52;
        }
        throw new AssertionError("unreachable: level 1 always maps a page");
    }

    /** 32-bit paging (SDM 4.3): 4-byte entries, 4-MiB pages with PSE (bits 20:13 of the PDE are PA bits 39:32). */
    private static long walk32(VCpu vcpu, long directory, long linear, boolean pse) {
        long pde = read32(vcpu, directory + (linear >>> 22) * 4);
        if ((pde & P) == 0) {
            return -1;
        }
        if (pse && (pde & PS) != 0) {
            return (pde & 0xFFC0_0000L) | ((pde >>> 13) & 0xFF) << 32 | (linear & 0x3F_FFFF);
        }
        long pte = read32(vcpu, (pde & 0xFFFF_F000L) + ((linear >>> 12) & 0x3FF) * 4);
        return (pte & P) == 0 ? -1 : (pte & 0xFFFF_F000L) | (linear & 0xFFF);
    }

    private static long read64(VCpu vcpu, long gpa) {
        return read32(vcpu, gpa) | read32(vcpu, gpa + 4) << 32;
    }

    private static long read32(VCpu vcpu, long gpa) {
        byte[] b = new byte[4];
        vcpu.guestMemory().read(gpa, b, 0, 4);
        return (b[0] & 0xFFL) | (b[1] & 0xFFL) << 8 | (b[2] & 0xFFL) << 16 | (b[3] & 0xFFL) << 24;
    }
}
