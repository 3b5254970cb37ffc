package io.jvmx.vmx.nativekvm.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.GuestSegment;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Events;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Regs;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Run;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Segment;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Sregs;
import io.jvmx.vmx.vmcs.region.VmcsRegion;

import java.nio.ByteBuffer;

/**
 * The guest-state area of the VMCS (SDM Vol. 3C, 25.4) against KVM's registers in kvm_run's synchronized-register
 * area. {@link #save} fills the VMCS from kvm_run after an exit, as a VM exit saves guest state (SDM 28.3);
 * {@link #load} writes what the VMM changed since then back into kvm_run and returns which register sets must go to
 * KVM (the kvm_dirty_regs bits), so that an exit whose handler only advanced RIP costs no KVM_SET_SREGS.
 *
 * <p>CR0 and CR4: KVM has no guest/host masks, so the guest runs with the value it would read (the read shadow for
 * host-owned bits, SDM 25.6.6) and writes it itself, without CR-access exits. After an exit the VMCS is made to
 * agree: GUEST_CR0/GUEST_CR4 hold KVM's value plus the bits VMX operation fixes to 1 (CR0.NE, CR4.VMXE), and the
 * host-owned bits of the read shadows hold KVM's value, so that the guest's view is exactly what KVM has.
 */
final class KvmGuestState {
    private static final long CR0_FORCED = Cr0.NE;
    private static final long CR4_FORCED = Cr4.VMXE;
    /** Interruptibility state bits (SDM Table 25-3): blocking by STI, by MOV SS, by NMI. */
    private static final int BLOCKING_STI = 1, BLOCKING_MOV_SS = 2, BLOCKING_NMI = 8;

    /** In kvm_sregs order, with {@link #SEGMENT_OFFSETS}. */
    private static final GuestSegment[] SEGMENTS = {GuestSegment.CS, GuestSegment.DS, GuestSegment.ES,
            GuestSegment.FS, GuestSegment.GS, GuestSegment.SS, GuestSegment.TR, GuestSegment.LDTR};
    private static final int[] SEGMENT_OFFSETS = {Sregs.CS, Sregs.DS, Sregs.ES, Sregs.FS, Sregs.GS, Sregs.SS,
            Sregs.TR, Sregs.LDT};

    private KvmGuestState() {
    }

    // ================================================================== kvm_run -> VMCS (VM exit)

    /** Saves KVM's registers into the VMCS and {@code guest} (SDM 28.3: guest-state area, then GPRs). */
    static void save(ByteBuffer run, VmcsRegion v, GeneralRegisters guest) {
        saveEager(run, v, guest);
        saveLazy(run, v);
    }

    /**
     * What every exit needs at once: the GPRs, RSP, RIP, RFLAGS and the interruptibility state (handlers read and
     * advance RIP, and advancing it ends blocking by STI or MOV SS).
     */
    static void saveEager(ByteBuffer run, VmcsRegion v, GeneralRegisters guest) {
        saveRegisters(run, v, guest);
        int ev = Run.SYNC_EVENTS;
        int shadow = run.get(ev + Events.INTERRUPT_SHADOW);
        int interruptibility = ((shadow & KvmAbi.KVM_X86_SHADOW_INT_STI) != 0 ? BLOCKING_STI : 0)
                | ((shadow & KvmAbi.KVM_X86_SHADOW_INT_MOV_SS) != 0 ? BLOCKING_MOV_SS : 0)
                | (run.get(ev + Events.NMI_MASKED) != 0 ? BLOCKING_NMI : 0);
        v.put(GUEST_INTERRUPTIBILITY_STATE, interruptibility);
        v.put(GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
    }

    /**
     * The rest (segment registers, descriptor tables, control registers, EFER and the "IA-32e mode guest" entry
     * control): saved only when the VMM first reads or writes one of them ({@link #isLazy}), since most exits' handlers
     * never do and these are most of an exit's work.
     */
    static void saveLazy(ByteBuffer run, VmcsRegion v) {
        for (int i = 0; i < SEGMENTS.length; i++) {
            int s = Run.SYNC_SREGS + SEGMENT_OFFSETS[i];
            v.put(SEGMENTS[i].selector(), run.getShort(s + Segment.SELECTOR) & 0xFFFF);
            v.put(SEGMENTS[i].base(), run.getLong(s + Segment.BASE));
            v.put(SEGMENTS[i].limit(), run.getInt(s + Segment.LIMIT) & 0xFFFF_FFFFL);
            v.put(SEGMENTS[i].accessRights(), accessRights(run, s));
        }
        int sr = Run.SYNC_SREGS;
        v.put(GUEST_GDTR_BASE, run.getLong(sr + Sregs.GDT + Segment.DTABLE_BASE));
        v.put(GUEST_GDTR_LIMIT, run.getShort(sr + Sregs.GDT + Segment.DTABLE_LIMIT) & 0xFFFF);
        v.put(GUEST_IDTR_BASE, run.getLong(sr + Sregs.IDT + Segment.DTABLE_BASE));
        v.put(GUEST_IDTR_LIMIT, run.getShort(sr + Sregs.IDT + Segment.DTABLE_LIMIT) & 0xFFFF);
        long cr0 = run.getLong(sr + Sregs.CR0);
        long cr4 = run.getLong(sr + Sregs.CR4);
        v.put(GUEST_CR0, cr0 | CR0_FORCED);
        long m0 = v.get(CR0_GUEST_HOST_MASK);
        v.put(CR0_READ_SHADOW, (cr0 & m0) | (v.get(CR0_READ_SHADOW) & ~m0));
        v.put(GUEST_CR4, cr4 | CR4_FORCED);
        long m4 = v.get(CR4_GUEST_HOST_MASK);
        v.put(CR4_READ_SHADOW, (cr4 & m4) | (v.get(CR4_READ_SHADOW) & ~m4));
        v.put(GUEST_CR3, run.getLong(sr + Sregs.CR3));
        long efer = run.getLong(sr + Sregs.EFER);
        v.put(GUEST_IA32_EFER, efer);
        // SDM 28.2 (IA32_VMX_MISC bit 5): the "IA-32e mode guest" entry control receives EFER.LMA on VM exit
        long entry = v.get(VM_ENTRY_CONTROLS);
        v.put(VM_ENTRY_CONTROLS, (efer & Efer.LMA) != 0 ? entry | VmEntryControls.IA32E_MODE_GUEST
                : entry & ~VmEntryControls.IA32E_MODE_GUEST);
    }

    private static final boolean[] LAZY = new boolean[0x7000];

    static {
        for (GuestSegment seg : SEGMENTS) {
            for (VmcsField f : new VmcsField[] {seg.selector(), seg.base(), seg.limit(), seg.accessRights()}) {
                LAZY[f.encoding()] = true;
            }
        }
        for (VmcsField f : new VmcsField[] {GUEST_GDTR_BASE, GUEST_GDTR_LIMIT, GUEST_IDTR_BASE, GUEST_IDTR_LIMIT,
                GUEST_CR0, CR0_READ_SHADOW, CR0_GUEST_HOST_MASK, GUEST_CR4, CR4_READ_SHADOW, CR4_GUEST_HOST_MASK,
                GUEST_CR3, GUEST_IA32_EFER, VM_ENTRY_CONTROLS}) {
            LAZY[f.encoding()] = true;
        }
    }

    /** Whether a VMREAD or VMWRITE of {@code encoding} (full or high access) needs {@link #saveLazy} first. */
    static boolean isLazy(int encoding) {
        int full = encoding & ~1;
        return full >= 0 && full < LAZY.length && LAZY[full];
    }

    /** RIP, RSP, RFLAGS and the GPRs only: after a completion KVM finished on its own. */
    static void saveRegisters(ByteBuffer run, VmcsRegion v, GeneralRegisters guest) {
        int r = Run.SYNC_REGS;
        for (int i = 0; i < 16; i++) {
            if (i != GeneralRegisters.RSP) {
                guest.set(i, run.getLong(r + Regs.gpr(i)));
            }
        }
        v.put(GUEST_RSP, run.getLong(r + Regs.RSP));
        v.put(GUEST_RIP, run.getLong(r + Regs.RIP));
        v.put(GUEST_RFLAGS, run.getLong(r + Regs.RFLAGS));
    }

    /** VMX access rights (SDM Table 25-2) from a kvm_segment. */
    static int accessRights(ByteBuffer run, int s) {
        return (run.get(s + Segment.TYPE) & 0xF) | (run.get(s + Segment.S) & 1) << 4
                | (run.get(s + Segment.DPL) & 3) << 5 | (run.get(s + Segment.PRESENT) & 1) << 7
                | (run.get(s + Segment.AVL) & 1) << 12 | (run.get(s + Segment.L) & 1) << 13
                | (run.get(s + Segment.DB) & 1) << 14 | (run.get(s + Segment.G) & 1) << 15
                | (run.get(s + Segment.UNUSABLE) & 1) << 16;
    }

    // ================================================================== VMCS -> kvm_run (VM entry)

    /**
     * Writes the VMCS guest state and {@code guest} into kvm_run where they differ from KVM's; returns the
     * kvm_dirty_regs bits of the register sets that changed.
     */
    static int load(ByteBuffer run, VmcsRegion v, GeneralRegisters guest, boolean loadEfer) {
        return load(run, v, guest, loadEfer, true);
    }

    /**
     * As {@link #load(ByteBuffer, VmcsRegion, GeneralRegisters, boolean)}; without {@code sregsSaved} (the VMM
     * touched none of the lazily saved fields since the exit) KVM's segment and control registers stand as they are.
     */
    static int load(ByteBuffer run, VmcsRegion v, GeneralRegisters guest, boolean loadEfer, boolean sregsSaved) {
        int dirty = 0;
        int r = Run.SYNC_REGS;
        for (int i = 0; i < 16; i++) {
            long value = i == GeneralRegisters.RSP ? v.get(GUEST_RSP) : guest.get(i);
            dirty |= put64(run, r + Regs.gpr(i), value, KvmAbi.KVM_SYNC_X86_REGS);
        }
        dirty |= put64(run, r + Regs.RIP, v.get(GUEST_RIP), KvmAbi.KVM_SYNC_X86_REGS);
        dirty |= put64(run, r + Regs.RFLAGS, v.get(GUEST_RFLAGS), KvmAbi.KVM_SYNC_X86_REGS);

        int sregs = 0;
        for (int i = 0; sregsSaved && i < SEGMENTS.length; i++) {
            int s = Run.SYNC_SREGS + SEGMENT_OFFSETS[i];
            int ar = v.get32(SEGMENTS[i].accessRights());
            sregs |= put16(run, s + Segment.SELECTOR, (int) v.get(SEGMENTS[i].selector()));
            sregs |= put64(run, s + Segment.BASE, v.get(SEGMENTS[i].base()), 1);
            sregs |= put32(run, s + Segment.LIMIT, v.get32(SEGMENTS[i].limit()));
            sregs |= put8(run, s + Segment.TYPE, ar & 0xF);
            sregs |= put8(run, s + Segment.S, (ar >>> 4) & 1);
            sregs |= put8(run, s + Segment.DPL, (ar >>> 5) & 3);
            sregs |= put8(run, s + Segment.PRESENT, (ar >>> 7) & 1);
            sregs |= put8(run, s + Segment.AVL, (ar >>> 12) & 1);
            sregs |= put8(run, s + Segment.L, (ar >>> 13) & 1);
            sregs |= put8(run, s + Segment.DB, (ar >>> 14) & 1);
            sregs |= put8(run, s + Segment.G, (ar >>> 15) & 1);
            sregs |= put8(run, s + Segment.UNUSABLE, (ar >>> 16) & 1);
        }
        if (sregsSaved) {
            sregs |= loadTablesAndControlRegisters(run, v, loadEfer);
        }
        if (sregs != 0) {
            dirty |= KvmAbi.KVM_SYNC_X86_SREGS;
        }
        return dirty | loadEvents(run, v);
    }

    private static int loadTablesAndControlRegisters(ByteBuffer run, VmcsRegion v, boolean loadEfer) {
        int sr = Run.SYNC_SREGS;
        int sregs = 0;
        sregs |= put64(run, sr + Sregs.GDT + Segment.DTABLE_BASE, v.get(GUEST_GDTR_BASE), 1);
        sregs |= put16(run, sr + Sregs.GDT + Segment.DTABLE_LIMIT, (int) v.get(GUEST_GDTR_LIMIT));
        sregs |= put64(run, sr + Sregs.IDT + Segment.DTABLE_BASE, v.get(GUEST_IDTR_BASE), 1);
        sregs |= put16(run, sr + Sregs.IDT + Segment.DTABLE_LIMIT, (int) v.get(GUEST_IDTR_LIMIT));
        sregs |= put64(run, sr + Sregs.CR0, guestView(v, GUEST_CR0, CR0_READ_SHADOW, CR0_GUEST_HOST_MASK), 1);
        sregs |= put64(run, sr + Sregs.CR3, v.get(GUEST_CR3), 1);
        // CR4.VMXE belongs to VMX operation, not to the guest: KVM has no nested VMX to give it
        sregs |= put64(run, sr + Sregs.CR4, guestView(v, GUEST_CR4, CR4_READ_SHADOW, CR4_GUEST_HOST_MASK)
                & ~CR4_FORCED, 1);
        if (loadEfer) {
            sregs |= put64(run, sr + Sregs.EFER, v.get(GUEST_IA32_EFER), 1);
        }
        return sregs;
    }

    private static int loadEvents(ByteBuffer run, VmcsRegion v) {
        int ev = Run.SYNC_EVENTS;
        int interruptibility = v.get32(GUEST_INTERRUPTIBILITY_STATE);
        int shadow = ((interruptibility & BLOCKING_STI) != 0 ? KvmAbi.KVM_X86_SHADOW_INT_STI : 0)
                | ((interruptibility & BLOCKING_MOV_SS) != 0 ? KvmAbi.KVM_X86_SHADOW_INT_MOV_SS : 0);
        int events = put8(run, ev + Events.INTERRUPT_SHADOW, shadow)
                | put8(run, ev + Events.NMI_MASKED, (interruptibility & BLOCKING_NMI) != 0 ? 1 : 0);
        return events != 0 ? KvmAbi.KVM_SYNC_X86_EVENTS : 0;
    }

    /** SDM 25.6.6: the guest reads host-owned bits (mask 1) from the shadow, the others from the register. */
    static long guestView(VmcsRegion v, VmcsField reg, VmcsField shadow, VmcsField mask) {
        long m = v.get(mask);
        return (v.get(shadow) & m) | (v.get(reg) & ~m);
    }

    private static int put64(ByteBuffer run, int at, long value, int bit) {
        if (run.getLong(at) == value) {
            return 0;
        }
        run.putLong(at, value);
        return bit;
    }

    private static int put32(ByteBuffer run, int at, int value) {
        if (run.getInt(at) == value) {
            return 0;
        }
        run.putInt(at, value);
        return 1;
    }

    private static int put16(ByteBuffer run, int at, int value) {
        if ((run.getShort(at) & 0xFFFF) == (value & 0xFFFF)) {
            return 0;
        }
        run.putShort(at, (short) value);
        return 1;
    }

    private static int put8(ByteBuffer run, int at, int value) {
        if ((run.get(at) & 0xFF) == (value & 0xFF)) {
            return 0;
        }
        run.put(at, (byte) value);
        return 1;
    }
}
