package io.jvmx.handlers.taskswitch;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.memory.GuestPhysicalMemory;
import io.jvmx.vmx.api.vmcs.VmcsField;

/**
 * The guest's linear address space as a task switch accesses it (the TSSs and the GDT): implicit supervisor-mode
 * accesses (SDM Vol. 3A 4.6) translated by the guest's own paging structures, no paging, 32-bit paging with PSE, or
 * PAE paging with the PDPTEs the processor holds (the VMCS's GUEST_PDPTE0-3 when "enable EPT" is 1, SDM Vol. 3C
 * 28.3.4; otherwise the table CR3 points to). Task switches do not exist in IA-32e mode, so there is no 4-level
 * paging here. Accessed flags are set on the way and the dirty flag for writes (4.8); a supervisor write needs R/W = 1
 * only with CR0.WP = 1. A translation that faults throws {@link GuestPageFault}.
 */
final class GuestLinearMemory {
    private static final long P = 1, RW = 2, A = 0x20, D = 0x40, PS = 0x80;

    private final GuestPhysicalMemory memory;
    private final long cr0, cr3, cr4;
    private final long[] pdpte = new long[4];
    private final boolean pae;

    GuestLinearMemory(VCpu vcpu) {
        this.memory = vcpu.guestMemory();
        this.cr0 = vcpu.vmread(VmcsField.GUEST_CR0);
        this.cr3 = vcpu.vmread(VmcsField.GUEST_CR3);
        this.cr4 = vcpu.vmread(VmcsField.GUEST_CR4);
        if ((vcpu.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0) {
            throw new IllegalStateException("a task switch in IA-32e mode: the processor raises #GP instead (SDM Vol. "
                    + "3C 26.4.2), so this VM exit cannot have happened");
        }
        this.pae = (cr0 & Cr0.PG) != 0 && (cr4 & Cr4.PAE) != 0;
        if (pae) {
            boolean ept = (vcpu.vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                    & PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS) != 0
                    && (vcpu.vmread(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                    & SecondaryProcessorBasedControls.ENABLE_EPT) != 0;
            VmcsField[] fields = {VmcsField.GUEST_PDPTE0, VmcsField.GUEST_PDPTE1, VmcsField.GUEST_PDPTE2,
                    VmcsField.GUEST_PDPTE3};
            for (int i = 0; i < 4; i++) {
                pdpte[i] = ept ? vcpu.vmread(fields[i]) : read64Physical((cr3 & 0xFFFF_FFE0L) + 8L * i);
            }
        }
    }

    /** Reads {@code size} (1, 2 or 4) bytes at {@code linear}, little-endian. */
    long read(long linear, int size) {
        long v = 0;
        for (int b = 0; b < size; b++) {
            v |= (long) memory.read8(physical(linear + b, false)) << (8 * b);
        }
        return v;
    }

    /** Writes {@code size} (1, 2 or 4) bytes; every byte is translated first, so a fault writes nothing. */
    void write(long linear, int size, long value) {
        long[] pa = new long[size];
        for (int b = 0; b < size; b++) {
            pa[b] = physical(linear + b, true);
        }
        for (int b = 0; b < size; b++) {
            memory.write8(pa[b], (int) (value >>> (8 * b)) & 0xFF);
        }
    }

    /** The guest-physical address of {@code linear} (32 bits outside IA-32e mode). */
    long physical(long linear, boolean write) {
        linear &= 0xFFFF_FFFFL;
        if ((cr0 & Cr0.PG) == 0) {
            return linear;
        }
        boolean wp = (cr0 & Cr0.WP) != 0;
        if (!pae) {
            // 32-bit paging (SDM 4.3)
            long pdeAddr = (cr3 & 0xFFFF_F000L) | ((linear >>> 20) & 0xFFC);
            long pde = read32Physical(pdeAddr);
            if ((pde & P) == 0) {
                throw new GuestPageFault(linear, write ? 2 : 0);
            }
            if ((pde & PS) != 0 && (cr4 & Cr4.PSE) != 0) {
                checkWrite(pde, wp, write, linear);
                update32(pdeAddr, pde, write);
                return (pde & 0xFFC0_0000L) | (((pde >>> 13) & 0xFF) << 32) | (linear & 0x3F_FFFF);
            }
            long pteAddr = (pde & 0xFFFF_F000L) | ((linear >>> 10) & 0xFFC);
            long pte = read32Physical(pteAddr);
            if ((pte & P) == 0) {
                throw new GuestPageFault(linear, write ? 2 : 0);
            }
            checkWrite(pde & pte, wp, write, linear);
            update32(pdeAddr, pde, false);
            update32(pteAddr, pte, write);
            return (pte & 0xFFFF_F000L) | (linear & 0xFFF);
        }
        // PAE paging (SDM 4.4)
        long dir = pdpte[(int) (linear >>> 30) & 3];
        if ((dir & P) == 0) {
            throw new GuestPageFault(linear, write ? 2 : 0);
        }
        long pdeAddr = (dir & 0x000F_FFFF_FFFF_F000L) | ((linear >>> 18) & 0xFF8);
        long pde = read64Physical(pdeAddr);
        if ((pde & P) == 0) {
            throw new GuestPageFault(linear, write ? 2 : 0);
        }
        if ((pde & PS) != 0) {
            checkWrite(pde, wp, write, linear);
            update64(pdeAddr, pde, write);
            return (pde & 0x000F_FFFF_FFE0_0000L) | (linear & 0x1F_FFFF);
        }
        long pteAddr = (pde & 0x000F_FFFF_FFFF_F000L) | ((linear >>> 9) & 0xFF8);
        long pte = read64Physical(pteAddr);
        if ((pte & P) == 0) {
            throw new GuestPageFault(linear, write ? 2 : 0);
        }
        checkWrite(pde & pte, wp, write, linear);
        update64(pdeAddr, pde, false);
        update64(pteAddr, pte, write);
        return (pte & 0x000F_FFFF_FFFF_F000L) | (linear & 0xFFF);
    }

    private static void checkWrite(long rights, boolean wp, boolean write, long linear) {
        if (write && wp && (rights & RW) == 0) {
            throw new GuestPageFault(linear, 3);
        }
    }

    private void update32(long addr, long entry, boolean dirty) {
        long updated = entry | A | (dirty ? D : 0);
        if (updated != entry) {
            write32Physical(addr, updated);
        }
    }

    private void update64(long addr, long entry, boolean dirty) {
        long updated = entry | A | (dirty ? D : 0);
        if (updated != entry) {
            write32Physical(addr, updated);
        }
    }

    private long read32Physical(long gpa) {
        long v = 0;
        for (int b = 0; b < 4; b++) {
            v |= (long) memory.read8(gpa + b) << (8 * b);
        }
        return v;
    }

    private long read64Physical(long gpa) {
        return read32Physical(gpa) | (read32Physical(gpa + 4) << 32);
    }

    /** The flags live in the low dword of an entry, 4- or 8-byte. */
    private void write32Physical(long gpa, long value) {
        for (int b = 0; b < 4; b++) {
            memory.write8(gpa + b, (int) (value >>> (8 * b)) & 0xFF);
        }
    }

    /** A page fault the task switch's own accesses met: its linear address (CR2) and error code (SDM 4.7). */
    static final class GuestPageFault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        final long linear;
        final int errorCode;

        GuestPageFault(long linear, int errorCode) {
            super(String.format("page fault at linear address %#x (error code %#x)", linear, errorCode), null,
                    false, false);
            this.linear = linear;
            this.errorCode = errorCode;
        }
    }
}
