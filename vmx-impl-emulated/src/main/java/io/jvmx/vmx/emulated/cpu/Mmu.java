package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import java.util.Arrays;

/**
 * Linear-address translation (SDM Vol. 3A, chapter 4 "Paging") and the accesses that follow it: guest paging (none,
 * 32-bit, PAE, 4-level) walked by the interpreter, then every guest-physical page handed to the
 * {@link GuestPhysicalBus} (the EPT) for its host-physical address. A direct-mapped TLB caches both steps per 4-KiB
 * linear page; the bus translation is cached separately per access kind, because the EPT may allow a read and not a
 * write.
 *
 * <p>Faults are thrown as the interpreter's {@link CpuFault} (#PF with the SDM's error code and CR2 value, 4.7);
 * nothing is written before every page of an access has been translated, so a fault or a VM exit from the bus leaves
 * memory untouched.
 */
final class Mmu {
    static final int READ = 0, WRITE = 1, FETCH = 2;
    /** Privilege of an access: supervisor with SMAP enforced, supervisor with SMAP suspended (EFLAGS.AC=1), user. */
    static final int SUP = 0, SUP_NOSMAP = 1, USER = 2;

    /** MAXPHYADDR of this processor (CPUID.80000008H:EAX[7:0]); bits above it in paging entries are reserved. */
    static final int MAXPHYADDR = 46;
    static final long PHYS_MASK = (1L << MAXPHYADDR) - 1;
    private static final long ADDR_4K = PHYS_MASK & ~0xFFFL;

    private static final long UNSET = Long.MIN_VALUE, NONE = -1;

    private static final int TLB_BITS = 10;
    private static final int TLB_SIZE = 1 << TLB_BITS;
    private static final int TLB_MASK = TLB_SIZE - 1;

    // page-fault error code bits (SDM 4.7, Figure 4-12)
    static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;

    // paging-entry bits
    private static final long P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, XD = 1L << 63;
    /** Reserved bits of a PAE PDPTE (SDM 4.4.1, Table 4-8): 2:1, 8:5, 63:MAXPHYADDR. */
    private static final long PDPTE_RSVD = ~PHYS_MASK | 0x1E6L;

    private final CpuState s;
    private final PhysicalMemory mem;
    private final GuestPhysicalBus bus;
    private final CpuFault fault;

    private final long[] tag = new long[TLB_SIZE];
    private final long[] gpaPage = new long[TLB_SIZE];
    private final long[] hostRead = new long[TLB_SIZE];
    private final long[] hostWrite = new long[TLB_SIZE];
    private final long[] hostExec = new long[TLB_SIZE];
    /** Bit (kind * 3 + privilege) set: that access is allowed without a walk (writes only once D is set). */
    private final int[] allowed = new int[TLB_SIZE];

    // the entries of the last walk, for setting accessed/dirty flags once it has succeeded
    private final long[] walkAddr = new long[5];
    private final long[] walkEntry = new long[5];
    private int walkLevels;
    private boolean walkWide;

    Mmu(CpuState s, PhysicalMemory mem, GuestPhysicalBus bus, CpuFault fault) {
        this.s = s;
        this.mem = mem;
        this.bus = bus;
        this.fault = fault;
        flush();
    }

    /** Drops every cached translation (MOV to CR0/CR3/CR4, INVLPG, EFER.NXE changes, INVEPT). */
    void flush() {
        Arrays.fill(tag, -1L);
    }

    PhysicalMemory memory() {
        return mem;
    }

    /**
     * The host-physical address for an access of {@code kind} to {@code linear}, -1 if no memory is behind it (reads
     * see all ones, writes are dropped), or a #PF / VM exit.
     */
    long translate(long linear, int kind, int priv) {
        long page = linear >>> 12;
        int i = (int) page & TLB_MASK;
        if (tag[i] != page || (allowed[i] & (1 << (kind * 3 + priv))) == 0) {
            fill(linear, kind, priv, i);
        }
        int offset = (int) linear & 0xFFF;
        long h;
        switch (kind) {
            case READ:
                h = hostRead[i];
                if (h == UNSET) {
                    h = hostRead[i] = page(bus.translate(gpaPage[i] | offset, GuestPhysicalBus.ACCESS_READ, linear,
                            true, false), offset);
                }
                break;
            case WRITE:
                h = hostWrite[i];
                if (h == UNSET) {
                    h = hostWrite[i] = page(bus.translate(gpaPage[i] | offset, GuestPhysicalBus.ACCESS_WRITE, linear,
                            true, false), offset);
                }
                break;
            default:
                h = hostExec[i];
                if (h == UNSET) {
                    h = hostExec[i] = page(bus.translate(gpaPage[i] | offset, GuestPhysicalBus.ACCESS_EXECUTE,
                            linear, true, false), offset);
                }
                break;
        }
        return h == NONE ? -1 : h + offset;
    }

    /** The host page of a bus translation, or NONE when there is no memory behind the address (bus returned -1). */
    private static long page(long hostPhysical, int offset) {
        return hostPhysical < 0 ? NONE : hostPhysical - offset;
    }

    /** Reads 1, 2, 4 or 8 bytes (zero-extended), splitting at a page boundary. */
    long read(long linear, int size, int priv) {
        int off = (int) linear & 0xFFF;
        if (off + size <= 4096) {
            long h = translate(linear, READ, priv);
            if (h < 0) {
                return size == 8 ? -1L : (1L << (size * 8)) - 1;
            }
            switch (size) {
                case 1: return mem.read8(h);
                case 2: return mem.read16(h);
                case 4: return mem.read32(h) & 0xFFFF_FFFFL;
                default: return mem.read64(h);
            }
        }
        long h1 = translate(linear, READ, priv);
        long h2 = translate(nextPage(linear), READ, priv);
        int first = 4096 - off;
        long v = 0;
        for (int b = 0; b < size; b++) {
            long h = b < first ? h1 : h2;
            long byteVal = h < 0 ? 0xFF : mem.read8(h + (b < first ? b : b - first));
            v |= byteVal << (8 * b);
        }
        return v;
    }

    /** Writes 1, 2, 4 or 8 bytes; both pages of a split access are translated before anything is written. */
    void write(long linear, int size, long value, int priv) {
        int off = (int) linear & 0xFFF;
        if (off + size <= 4096) {
            long h = translate(linear, WRITE, priv);
            if (h < 0) {
                return;
            }
            switch (size) {
                case 1: mem.write8(h, (int) value); break;
                case 2: mem.write16(h, (int) value); break;
                case 4: mem.write32(h, (int) value); break;
                default: mem.write64(h, value); break;
            }
            return;
        }
        long h1 = translate(linear, WRITE, priv);
        long h2 = translate(nextPage(linear), WRITE, priv);
        int first = 4096 - off;
        for (int b = 0; b < size; b++) {
            long h = b < first ? h1 : h2;
            if (h >= 0) {
                mem.write8(h + (b < first ? b : b - first), (int) (value >>> (8 * b)) & 0xFF);
            }
        }
    }

    /** Translates every page of an access without touching the data (to validate a multi-part write up front). */
    void probe(long linear, int size, int kind, int priv) {
        translate(linear, kind, priv);
        if (((int) linear & 0xFFF) + size > 4096) {
            translate(nextPage(linear), kind, priv);
        }
    }

    private long nextPage(long linear) {
        long n = (linear | 0xFFF) + 1;
        return s.longModeActive() ? n : n & 0xFFFF_FFFFL;
    }

    // ---------------------------------------------------------------------------------------------- page walk

    private void fill(long linear, int kind, int priv, int i) {
        long cr0 = s.cr0;
        long gpa;
        boolean user, writable, executable, dirty;
        walkLevels = 0;
        if ((cr0 & Cr0.PG) == 0) {
            gpa = linear & ~0xFFFL;
            user = writable = executable = dirty = true;
        } else if ((s.cr4 & Cr4.PAE) == 0) {
            walkWide = false;
            // 32-bit paging (SDM 4.3)
            long pdeAddr = (s.cr3 & 0xFFFF_F000L) | ((linear >>> 20) & 0xFFC);
            long pde = entry(pdeAddr, linear);
            if ((pde & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            if ((pde & PS) != 0 && (s.cr4 & Cr4.PSE) != 0) {
                if ((pde & (1L << 21)) != 0) {
                    throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
                }
                // 4-MiB page; PSE-36 supplies physical-address bits 39:32 from bits 20:13
                gpa = (pde & 0xFFC0_0000L) | (((pde >>> 13) & 0xFF) << 32) | (linear & 0x3F_F000L);
                user = (pde & US) != 0;
                writable = (pde & RW) != 0;
                dirty = (pde & D) != 0;
            } else {
                long pteAddr = (pde & 0xFFFF_F000L) | ((linear >>> 10) & 0xFFC);
                long pte = entry(pteAddr, linear);
                if ((pte & P) == 0) {
                    throw pageFault(linear, kind, priv, 0);
                }
                gpa = pte & 0xFFFF_F000L;
                user = (pde & pte & US) != 0;
                writable = (pde & pte & RW) != 0;
                dirty = (pte & D) != 0;
            }
            executable = true;
        } else {
            walkWide = true;
            boolean nxe = (s.efer & Efer.NXE) != 0;
            // reserved: bits 51:MAXPHYADDR with 4-level paging (62:52 are ignored), 62:MAXPHYADDR with PAE paging
            // (SDM Tables 4-8 to 4-11 and 4-14 to 4-20); XD without EFER.NXE
            long rsvd = (~PHYS_MASK & (s.longModeActive() ? 0x000F_FFFF_FFFF_FFFFL : 0x7FFF_FFFF_FFFF_FFFFL))
                    | (nxe ? 0 : XD);
            long table;
            long perm = RW | US;
            boolean xd = false;
            long e;
            if (s.longModeActive()) {
                // 4-level paging (SDM 4.5)
                long pml4e = entry((s.cr3 & ADDR_4K) | ((linear >>> 36) & 0xFF8), linear);
                if ((pml4e & P) == 0) {
                    throw pageFault(linear, kind, priv, 0);
                }
                if ((pml4e & (rsvd | PS)) != 0) {
                    throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
                }
                perm &= pml4e;
                xd |= (pml4e & XD) != 0;
                long pdpte = entry((pml4e & ADDR_4K) | ((linear >>> 27) & 0xFF8), linear);
                if ((pdpte & P) == 0) {
                    throw pageFault(linear, kind, priv, 0);
                }
                if ((pdpte & rsvd) != 0 || ((pdpte & PS) != 0 && (pdpte & 0x3FFF_E000L) != 0)) {
                    throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
                }
                perm &= pdpte;
                xd |= (pdpte & XD) != 0;
                if ((pdpte & PS) != 0) {
                    // 1-GiB page
                    e = pdpte;
                    gpa = (pdpte & PHYS_MASK & ~0x3FFF_FFFFL) | (linear & 0x3FFF_F000L);
                    finishWide(e, perm, xd, nxe, gpa, linear, kind, priv, i);
                    return;
                }
                table = pdpte & ADDR_4K;
            } else {
                // PAE paging (SDM 4.4): the PDPTE registers, loaded by MOV to CR3/CR0/CR4 or VM entry
                long pdpte = s.pdpte[(int) (linear >>> 30) & 3];
                if ((pdpte & P) == 0) {
                    throw pageFault(linear, kind, priv, 0);
                }
                if ((pdpte & PDPTE_RSVD) != 0) {
                    throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
                }
                table = pdpte & ADDR_4K;
            }
            long pde = entry(table | ((linear >>> 18) & 0xFF8), linear);
            if ((pde & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            if ((pde & rsvd) != 0 || ((pde & PS) != 0 && (pde & 0x1F_E000L) != 0)) {
                throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
            }
            perm &= pde;
            xd |= (pde & XD) != 0;
            if ((pde & PS) != 0) {
                // 2-MiB page
                gpa = (pde & PHYS_MASK & ~0x1F_FFFFL) | (linear & 0x1F_F000L);
                finishWide(pde, perm, xd, nxe, gpa, linear, kind, priv, i);
                return;
            }
            long pte = entry((pde & ADDR_4K) | ((linear >>> 9) & 0xFF8), linear);
            if ((pte & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            if ((pte & rsvd) != 0) {
                throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
            }
            perm &= pte;
            xd |= (pte & XD) != 0;
            gpa = pte & ADDR_4K;
            finishWide(pte, perm, xd, nxe, gpa, linear, kind, priv, i);
            return;
        }
        install(linear, kind, priv, i, gpa, user, writable, executable, dirty);
    }

    private void finishWide(long leaf, long perm, boolean xd, boolean nxe, long gpa, long linear, int kind, int priv,
            int i) {
        install(linear, kind, priv, i, gpa, (perm & US) != 0, (perm & RW) != 0, !(nxe && xd), (leaf & D) != 0);
    }

    /** Checks the access against the translation's rights (SDM 4.6), sets A/D flags (4.8) and fills the TLB entry. */
    private void install(long linear, int kind, int priv, int i, long gpa, boolean user, boolean writable,
            boolean executable, boolean dirty) {
        int rights = rights(user, writable, executable);
        if ((rights & (1 << (kind * 3 + priv))) == 0) {
            throw pageFault(linear, kind, priv, PF_P);
        }
        // accessed flags on every level, dirty on the leaf for a write (SDM 4.8)
        for (int l = 0; l < walkLevels; l++) {
            long e = walkEntry[l];
            long upd = e | A;
            if (l == walkLevels - 1 && kind == WRITE) {
                upd |= D;
            }
            if (upd != e) {
                long h = bus.translate(walkAddr[l], GuestPhysicalBus.ACCESS_WRITE, linear, true, true);
                if (h < 0) {
                    continue;
                } else if (walkWide) {
                    mem.write64(h, upd);
                } else {
                    mem.write32(h, (int) upd);
                }
            }
        }
        if (kind == WRITE) {
            dirty = true;
        }
        if (!dirty) {
            // writes must walk again to set D
            rights &= ~(7 << 3);
        }
        tag[i] = linear >>> 12;
        gpaPage[i] = gpa & ~0xFFFL;
        hostRead[i] = UNSET;
        hostWrite[i] = UNSET;
        hostExec[i] = UNSET;
        allowed[i] = rights;
    }

    /** Which (kind, privilege) pairs a translation allows (SDM 4.6.1), as bits kind * 3 + privilege. */
    private int rights(boolean user, boolean writable, boolean executable) {
        boolean wp = (s.cr0 & Cr0.WP) != 0;
        boolean smep = (s.cr4 & Cr4.SMEP) != 0;
        boolean smap = (s.cr4 & Cr4.SMAP) != 0;
        int r = 0;
        // reads
        if (!(smap && user)) {
            r |= 1 << (READ * 3 + SUP);
        }
        r |= 1 << (READ * 3 + SUP_NOSMAP);
        if (user) {
            r |= 1 << (READ * 3 + USER);
        }
        // writes
        if ((writable || !wp) && !(smap && user)) {
            r |= 1 << (WRITE * 3 + SUP);
        }
        if (writable || !wp) {
            r |= 1 << (WRITE * 3 + SUP_NOSMAP);
        }
        if (user && writable) {
            r |= 1 << (WRITE * 3 + USER);
        }
        // fetches
        if (executable && !(smep && user)) {
            r |= 1 << (FETCH * 3 + SUP) | 1 << (FETCH * 3 + SUP_NOSMAP);
        }
        if (executable && user) {
            r |= 1 << (FETCH * 3 + USER);
        }
        return r;
    }

    private long entry(long gpa, long linear) {
        long h = bus.translate(gpa, GuestPhysicalBus.ACCESS_READ, linear, true, true);
        long e = h < 0 ? (walkWide ? -1L : 0xFFFF_FFFFL) : walkWide ? mem.read64(h) : mem.read32(h) & 0xFFFF_FFFFL;
        walkAddr[walkLevels] = gpa;
        walkEntry[walkLevels] = e;
        walkLevels++;
        return e;
    }

    private CpuFault pageFault(long linear, int kind, int priv, int bits) {
        int code = bits;
        if (kind == WRITE) {
            code |= PF_W;
        }
        if (priv == USER) {
            code |= PF_U;
        }
        if (kind == FETCH && ((s.cr4 & Cr4.SMEP) != 0
                || ((s.cr4 & Cr4.PAE) != 0 && (s.efer & Efer.NXE) != 0))) {
            code |= PF_I;
        }
        fault.set(Exceptions.PF, code);
        fault.cr2 = linear;
        return fault;
    }

    // --------------------------------------------------------------- PAE PDPTE registers

    /**
     * Reads the four PDPTEs that CR3 points to (SDM 4.4.1) into {@code out}; returns false if a present entry has a
     * reserved bit set (the MOV to CR then fails with #GP(0) and nothing is loaded).
     */
    boolean readPdptes(long cr3, long[] out) {
        long base = cr3 & 0xFFFF_FFE0L;
        for (int i = 0; i < 4; i++) {
            long h = bus.translate(base + 8L * i, GuestPhysicalBus.ACCESS_READ, 0, false, true);
            long e = h < 0 ? -1L : mem.read64(h);
            if ((e & P) != 0 && (e & PDPTE_RSVD) != 0) {
                return false;
            }
            out[i] = e;
        }
        return true;
    }
}
