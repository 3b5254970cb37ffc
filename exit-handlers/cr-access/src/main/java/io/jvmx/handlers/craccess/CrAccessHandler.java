package io.jvmx.handlers.craccess;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.CrAccessQualification;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.osgi.service.component.annotations.Component;

/**
 * CR_ACCESS (basic exit reason 28): MOV to/from CR0, CR3, CR4, CR8, CLTS and LMSW, decoded from the exit
 * qualification (SDM Vol. 3C, 28.2.1 Table 28-3). jvmx makes the CR0/CR4 guest/host masks own the VMX fixed bits and
 * PE, PG and PAE, so every mode switch lands here (SDM 26.1.3). The handler does what the instruction would have done
 * (SDM Vol. 2B "MOV—Move to/from Control Registers", "CLTS", "LMSW"), including its #GP(0) checks: a failing check
 * queues #GP(0) and leaves RIP on the instruction, as the fault would; otherwise RIP advances by the VM-exit
 * instruction length (28.2.5). x86_vcpu advances by a constant 3 (wrong for REX-prefixed forms such as MOV CR8),
 * skips every #GP check, and panics on CLTS, LMSW and MOV from CR.
 *
 * <ul>
 *   <li>CR0/CR4/CR3 go through {@link VCpu#setGuestCr}, which keeps the VMX fixed bits, the read shadows and
 *       EFER.LMA / "IA-32e mode guest" consistent.</li>
 *   <li>A write that leaves the guest in PAE paging (CR0.PG = 1, CR4.PAE = 1, EFER.LMA = 0) loads the four PDPTEs
 *       into GUEST_PDPTE0-3, as the instruction does (SDM Vol. 3A 4.4.1): with EPT, VM entry takes the PDPTEs from
 *       the VMCS (SDM 27.3.2.4). A PDPTE with a reserved bit set, or a PDPT outside guest RAM, is #GP(0).</li>
 *   <li>CR8 (TPR, 64-bit mode only) is kept per vCPU in an attachment, for a vCPU without a local APIC: the
 *       local-apic bundle ranks above this handler and answers CR8 itself, since CR8 is its TPR (SDM Vol. 3A
 *       11.8.6). TPR_THRESHOLD is not touched: it only matters with "use TPR shadow" (SDM 25.6.8, 29.1.2), which
 *       jvmx does not use.</li>
 *   <li>CR4.VMXE: nested VMX is not exposed (the CPUID handler clears CPUID.1:ECX.VMX), so setting VMXE is setting a
 *       bit the guest's processor does not have: #GP(0). The bit itself is host-owned (IA32_VMX_CR4_FIXED0).</li>
 * </ul>
 * Accesses to other control registers cannot cause this exit; if a qualification names one, the handler returns PASS
 * so that the exit reaches the caller of run.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=CR_ACCESS")
public final class CrAccessHandler implements VmExitHandler {

    /** The guest's CR8 (TPR, bits 3:0), per vCPU. */
    static final class TaskPriority {
        private long tpr;

        long tpr() {
            return tpr;
        }
    }

    private enum Outcome { DONE, FAULT, NOT_MINE }

    /** CR4 bits SDM Vol. 3A 2.5 (Figure 2-7) defines; the others are reserved. */
    static final long CR4_DEFINED = Cr4.VME | Cr4.PVI | Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PAE | Cr4.MCE | Cr4.PGE
            | Cr4.PCE | Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.UMIP | Cr4.LA57 | Cr4.VMXE | Cr4.SMXE | Cr4.FSGSBASE
            | Cr4.PCIDE | Cr4.OSXSAVE | Cr4.KL | Cr4.SMEP | Cr4.SMAP | Cr4.PKE | Cr4.CET | Cr4.PKS;

    /** CS access rights bit 13: L, 64-bit code segment (SDM 25.4.1 Table 25-2). */
    private static final long CS_L = 1L << 13;
    private static final long LOW_32 = 0xFFFF_FFFFL;

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        CrAccessQualification q = CrAccessQualification.decode(exit.qualification());
        Outcome outcome = switch (q.accessType()) {
            case MOV_TO_CR -> movToCr(vcpu, q.crNumber(), vcpu.readGpr(q.gpr()));
            case MOV_FROM_CR -> movFromCr(vcpu, q.crNumber(), q.gpr());
            case CLTS -> writeCr0(vcpu, vcpu.guestCr(0) & ~Cr0.TS);
            case LMSW -> writeCr0(vcpu, lmsw(vcpu.guestCr(0), q.lmswSource()));
        };
        switch (outcome) {
            case DONE -> vcpu.advanceRip(exit.instructionLength());
            case FAULT -> vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
            case NOT_MINE -> {
                return ExitAction.PASS;
            }
        }
        return ExitAction.HANDLED;
    }

    /**
     * LMSW loads CR0 bits 3:0 (PE, MP, EM, TS) from the source; it can set PE but not clear it (SDM Vol. 2A "LMSW").
     */
    static long lmsw(long cr0, int source) {
        long low = source & 0xFL;
        return (cr0 & ~0xFL) | low | (cr0 & Cr0.PE);
    }

    private static Outcome movToCr(VCpu vcpu, int cr, long source) {
        // outside 64-bit mode MOV CR has a 32-bit operand (SDM Vol. 2B MOV CR: "operand size is 32 bits")
        long value = in64BitMode(vcpu) ? source : source & LOW_32;
        return switch (cr) {
            case 0 -> writeCr0(vcpu, value);
            case 3 -> writeCr3(vcpu, value);
            case 4 -> writeCr4(vcpu, value);
            case 8 -> writeCr8(vcpu, value);
            default -> Outcome.NOT_MINE;
        };
    }

    private static Outcome movFromCr(VCpu vcpu, int cr, int gpr) {
        if (cr != 0 && cr != 3 && cr != 4 && cr != 8) {
            return Outcome.NOT_MINE;
        }
        // MOV from CR0/CR4 never exits (it reads the shadows, SDM 26.3): answered anyway if a qualification says so
        long value = cr == 8 ? vcpu.attachment(TaskPriority.class, TaskPriority::new).tpr : vcpu.guestCr(cr);
        vcpu.writeGpr(gpr, in64BitMode(vcpu) ? value : value & LOW_32);
        return Outcome.DONE;
    }

    /** MOV to CR0 (also CLTS and LMSW results): the #GP(0) conditions of SDM Vol. 2B "MOV CR" and Vol. 3A 9.8.5. */
    private static Outcome writeCr0(VCpu vcpu, long requested) {
        long value = requested | Cr0.ET; // ET is hardwired to 1 (SDM Vol. 3A 2.5)
        long old = vcpu.guestCr(0);
        long cr4 = vcpu.guestCr(4);
        long efer = vcpu.vmread(VmcsField.GUEST_IA32_EFER);
        boolean pg = (value & Cr0.PG) != 0;
        if ((value >>> 32) != 0                                         // bits 63:32 reserved
                || (pg && (value & Cr0.PE) == 0)                        // PG without PE
                || ((value & Cr0.NW) != 0 && (value & Cr0.CD) == 0)      // NW without CD
                || ((value & Cr0.WP) == 0 && (cr4 & Cr4.CET) != 0)) {    // WP cleared while CET is on
            return Outcome.FAULT;
        }
        if (pg && (old & Cr0.PG) == 0 && (efer & Efer.LME) != 0 && (cr4 & Cr4.PAE) == 0) {
            return Outcome.FAULT; // activating IA-32e mode needs PAE (SDM Vol. 3A 9.8.5 "Initializing IA-32e Mode")
        }
        if (!pg && (old & Cr0.PG) != 0 && (in64BitMode(vcpu) || (cr4 & Cr4.PCIDE) != 0)) {
            return Outcome.FAULT; // IA-32e mode is left from compatibility mode only (9.8.5.4); PCIDE needs paging
        }
        boolean lma = pg && (efer & Efer.LME) != 0;
        boolean reloadPdptes = ((old ^ value) & (Cr0.PG | Cr0.CD | Cr0.NW)) != 0;
        long[] pdptes = null;
        if (reloadPdptes && paePaging(value, cr4, lma)) {
            pdptes = readPdptes(vcpu, vcpu.guestCr(3));
            if (pdptes == null) {
                return Outcome.FAULT;
            }
        }
        vcpu.setGuestCr(0, value);
        writePdptes(vcpu, pdptes);
        return Outcome.DONE;
    }

    /** MOV to CR3: reserved bits above MAXPHYADDR in IA-32e mode; bit 63 is the PCID no-flush hint (SDM 4.10.4.1). */
    private static Outcome writeCr3(VCpu vcpu, long requested) {
        long value = requested;
        long cr4 = vcpu.guestCr(4);
        boolean lma = (vcpu.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0;
        if (lma) {
            if ((cr4 & Cr4.PCIDE) != 0) {
                value &= ~(1L << 63); // not written to CR3
            }
            if ((value & ~physicalAddressMask(vcpu)) != 0) {
                return Outcome.FAULT;
            }
        }
        long[] pdptes = null;
        if (paePaging(vcpu.guestCr(0), cr4, lma)) {
            pdptes = readPdptes(vcpu, value);
            if (pdptes == null) {
                return Outcome.FAULT;
            }
        }
        vcpu.setGuestCr(3, value);
        writePdptes(vcpu, pdptes);
        return Outcome.DONE;
    }

    /** MOV to CR4: the #GP(0) conditions of SDM Vol. 2B "MOV CR". */
    private static Outcome writeCr4(VCpu vcpu, long value) {
        long old = vcpu.guestCr(4);
        long cr0 = vcpu.guestCr(0);
        boolean lma = (vcpu.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0;
        long changed = old ^ value;
        if ((value & ~CR4_DEFINED) != 0                                  // reserved bits
                || ((value & Cr4.VMXE) != 0 && (old & Cr4.VMXE) == 0)      // VMX is not exposed to the guest
                || (lma && (value & Cr4.PAE) == 0)                       // leaving IA-32e mode by clearing PAE
                || (lma && (changed & Cr4.LA57) != 0)                    // LA57 changes only outside IA-32e mode
                || ((value & Cr4.CET) != 0 && (cr0 & Cr0.WP) == 0)) {     // CET needs CR0.WP
            return Outcome.FAULT;
        }
        if ((value & Cr4.PCIDE) != 0 && (old & Cr4.PCIDE) == 0
                && (!lma || (vcpu.guestCr(3) & 0xFFF) != 0)) {
            return Outcome.FAULT; // PCIDE 0 -> 1 needs IA-32e mode and CR3[11:0] = 0 (SDM Vol. 3A 4.10.1)
        }
        long[] pdptes = null;
        if ((changed & (Cr4.PAE | Cr4.PGE | Cr4.PSE | Cr4.SMEP)) != 0 && paePaging(cr0, value, lma)) {
            pdptes = readPdptes(vcpu, vcpu.guestCr(3));
            if (pdptes == null) {
                return Outcome.FAULT;
            }
        }
        vcpu.setGuestCr(4, value);
        writePdptes(vcpu, pdptes);
        return Outcome.DONE;
    }

    /** MOV to CR8: bits 63:4 are reserved (SDM Vol. 2B "MOV CR": #GP(0) on a reserved bit in CR8). */
    private static Outcome writeCr8(VCpu vcpu, long value) {
        if ((value & ~0xFL) != 0) {
            return Outcome.FAULT;
        }
        vcpu.attachment(TaskPriority.class, TaskPriority::new).tpr = value;
        return Outcome.DONE;
    }

    private static boolean paePaging(long cr0, long cr4, boolean lma) {
        return (cr0 & Cr0.PG) != 0 && (cr4 & Cr4.PAE) != 0 && !lma;
    }

    /**
     * The four PDPTEs at CR3[31:5] (SDM Vol. 3A 4.4.1), or null if one that is present has a reserved bit set
     * (bits 2:1, 8:5, 63:MAXPHYADDR) or the table is not in guest RAM.
     */
    private static long[] readPdptes(VCpu vcpu, long cr3) {
        long table = cr3 & 0xFFFF_FFE0L;
        long reserved = 0x1E6L | ~physicalAddressMask(vcpu);
        long[] pdptes = new long[4];
        byte[] raw = new byte[32];
        try {
            vcpu.guestMemory().read(table, raw, 0, raw.length);
        } catch (IllegalArgumentException unmapped) {
            return null;
        }
        for (int i = 0; i < 4; i++) {
            long e = 0;
            for (int b = 7; b >= 0; b--) {
                e = (e << 8) | (raw[i * 8 + b] & 0xFF);
            }
            if ((e & 1) != 0 && (e & reserved) != 0) {
                return null;
            }
            pdptes[i] = e;
        }
        return pdptes;
    }

    private static void writePdptes(VCpu vcpu, long[] pdptes) {
        if (pdptes == null) {
            return;
        }
        vcpu.vmwrite(VmcsField.GUEST_PDPTE0, pdptes[0]);
        vcpu.vmwrite(VmcsField.GUEST_PDPTE1, pdptes[1]);
        vcpu.vmwrite(VmcsField.GUEST_PDPTE2, pdptes[2]);
        vcpu.vmwrite(VmcsField.GUEST_PDPTE3, pdptes[3]);
    }

    /**
     * Bits below MAXPHYADDR: CPUID.80000008H:EAX[7:0], or 36 when that leaf does not exist (SDM Vol. 3A 4.1.4).
     */
    static long physicalAddressMask(VCpu vcpu) {
        int maxExtended = vcpu.hostCpuid(0x8000_0000, 0).eax();
        int maxPhysAddr = Integer.compareUnsigned(maxExtended, 0x8000_0008) >= 0
                ? vcpu.hostCpuid(0x8000_0008, 0).eax() & 0xFF : 36;
        return maxPhysAddr >= 64 ? -1L : (1L << maxPhysAddr) - 1;
    }

    /** 64-bit mode: IA-32e mode active and CS.L = 1 (SDM Vol. 3A 2.2.1). */
    private static boolean in64BitMode(VCpu vcpu) {
        return (vcpu.vmread(VmcsField.GUEST_IA32_EFER) & Efer.LMA) != 0
                && (vcpu.vmread(VmcsField.GUEST_CS_ACCESS_RIGHTS) & CS_L) != 0;
    }
}
