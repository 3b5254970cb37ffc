package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import java.util.Arrays;

/**
 * Linear-address translation (SDM Vol. 3A, chapter 4 "Paging") and the accesses that follow it: guest paging (none,
 * 32-bit with PSE and PSE-36, PAE, 4-level) walked by the interpreter, then every guest-physical page handed to the
 * {@link GuestPhysicalBus} (the EPT) for its host-physical address.
 *
 * <p><b>The TLB</b> (SDM 4.10). A direct-mapped cache of translations, one entry per 4-KiB piece of a page (a 2-MiB,
 * 4-MiB or 1-GiB page fills one entry per piece it is used through, each remembering the size of the page it came
 * from). An entry is tagged with the linear page and the PCID it was made for (4.10.1: PCID 000H while CR4.PCIDE =
 * 0); a global entry (G = 1 in the leaf with CR4.PGE = 1, 4.10.2.4) serves every PCID. Invalidation follows 4.10.4:
 * INVLPG drops the entries of the page that holds the address (every piece of a large page; current PCID and global),
 * MOV to CR3 drops the non-global entries of the PCID it loads (none with CR3[63] = 1 and PCIDE = 1), INVPCID its four
 * ways, and a change of the paging mode or of the rights a translation depends on (CR0.PG/WP, CR4.PSE/PAE/PGE/PCIDE/
 * SMEP/SMAP, EFER.NXE) drops everything. Entries are only ever made from a successful walk, and a page fault drops the
 * entry of its address, so the TLB never holds a translation the SDM says is gone. The bus translation is cached with
 * the entry per access kind, because the EPT may allow a read and not a write.
 *
 * <p><b>The fast path</b> ({@link #translate}) is one tag compare and one rights bit. Everything else goes to
 * {@link #miss}: a global entry seen under another PCID, an access that needs a walk (no entry, a first write to a
 * clean page, rights not yet checked), an alignment-checked user access (#AC, SDM Vol. 3A 6.15 "Interrupt 17"), and
 * every data access to a page a data breakpoint watches (DR0-DR3, SDM 18.2.4: such entries never carry data rights).
 *
 * <p>Faults are thrown as the interpreter's {@link CpuFault} (#PF with the SDM's error code and CR2 value, 4.7; #AC);
 * nothing is written before every page of an access has been translated, so a fault or a VM exit from the bus leaves
 * memory untouched.
 */
final class Mmu {
    static final int READ = 0, WRITE = 1, FETCH = 2;
    /**
     * Privilege of an access: supervisor with SMAP enforced, supervisor with SMAP suspended (EFLAGS.AC = 1 at
     * CPL < 3, SDM 4.6), user, and user with alignment checking (CR0.AM = 1, EFLAGS.AC = 1, CPL = 3: SDM 6.15
     * "Interrupt 17"), which never hits the fast path.
     */
    static final int SUP = 0, SUP_NOSMAP = 1, USER = 2, USER_AC = 3;

    /** MAXPHYADDR of this processor (CPUID.80000008H:EAX[7:0]); bits above it in paging entries are reserved. */
    static final int MAXPHYADDR = 46;
    static final long PHYS_MASK = (1L << MAXPHYADDR) - 1;
    private static final long ADDR_4K = PHYS_MASK & ~0xFFFL;

    private static final long UNSET = Long.MIN_VALUE, NONE = -1;

    private static final int TLB_BITS = 10;
    private static final int TLB_SIZE = 1 << TLB_BITS;
    private static final int TLB_MASK = TLB_SIZE - 1;
    /** The linear-page part of a tag (bits 51:0: linear address bits 63:12); the PCID is in bits 63:52. */
    private static final long PAGE_BITS = (1L << 52) - 1;
    private static final long EMPTY = -1L;

    // page-fault error code bits (SDM 4.7, Figure 4-12)
    static final int PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8, PF_I = 16;

    // paging-entry bits
    private static final long P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100, XD = 1L << 63;
    /** Reserved bits of a PAE PDPTE (SDM 4.4.1, Table 4-8): 2:1, 8:5, 63:MAXPHYADDR. */
    private static final long PDPTE_RSVD = ~PHYS_MASK | 0x1E6L;

    /** The rights bits of one access kind (all four privileges), in {@link #allowed} and {@link #rights}. */
    private static final int DATA_RIGHTS = 0xFF, FETCH_RIGHTS = 0xF00;

    private final CpuState s;
    private final PhysicalMemory mem;
    private final GuestPhysicalBus bus;
    private final CpuFault fault;
    /** DR0-DR3 and what DR7 arms (set once, after construction). */
    DebugRegisters debug;

    // ---- the TLB, by slot
    private final long[] tag = new long[TLB_SIZE];
    private final long[] gpaPage = new long[TLB_SIZE];
    private final long[] hostRead = new long[TLB_SIZE];
    private final long[] hostWrite = new long[TLB_SIZE];
    private final long[] hostExec = new long[TLB_SIZE];
    /** Bit (kind * 4 + privilege) set: the fast path may use the entry for that access. */
    private final int[] allowed = new int[TLB_SIZE];
    /** What the translation allows (writes only once D is set); {@link #allowed} less the watched data rights. */
    private final int[] rights = new int[TLB_SIZE];
    /** log2 of the size of the page the entry was made from (12, 21, 22 or 30). */
    private final byte[] pageShift = new byte[TLB_SIZE];
    private final boolean[] global = new boolean[TLB_SIZE];
    /** The PCID of the current CR3, shifted into tag position (0 while CR4.PCIDE = 0). */
    private long pcidTag;
    /** Entries made from pages larger than 4 KiB since the last full flush: INVLPG must look further than one slot. */
    private int largeEntries;
    /** Page walks made (for tests and statistics). */
    long walks;

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

    PhysicalMemory memory() {
        return mem;
    }

    // ====================================================================================== invalidation (SDM 4.10.4)

    /** Drops every cached translation, global ones included, for every PCID (and the cached bus translations). */
    void flush() {
        Arrays.fill(tag, EMPTY);
        largeEntries = 0;
        pcidTag = currentPcid() << 52;
    }

    /** The current PCID: CR3[11:0] with CR4.PCIDE = 1, else 000H (SDM 4.10.1). */
    private long currentPcid() {
        return (s.cr4 & Cr4.PCIDE) != 0 ? s.cr3 & 0xFFF : 0;
    }

    /**
     * MOV to CR3 (and a task switch loading CR3) has just loaded {@code s.cr3}: with {@code invalidate}, the non-global
     * entries of the new PCID go (SDM 4.10.4.1; with CR4.PCIDE = 0 that is every non-global entry).
     */
    void cr3Loaded(boolean invalidate) {
        pcidTag = currentPcid() << 52;
        if (invalidate) {
            dropNonGlobal(pcidTag, false);
        }
    }

    /** Drops the non-global entries of one PCID (given in tag position), or of every PCID. */
    private void dropNonGlobal(long pcidInTag, boolean everyPcid) {
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = tag[i];
            if (t != EMPTY && !global[i] && (everyPcid || (t & ~PAGE_BITS) == pcidInTag)) {
                tag[i] = EMPTY;
            }
        }
    }

    /**
     * INVLPG (SDM Vol. 2A INVLPG, 4.10.4.1): the entries for the page that holds {@code linear}, for the current PCID
     * and global ones, with every entry a large page containing the address made.
     */
    void invalidatePage(long linear) {
        invalidateAddress(linear, pcidTag, true);
    }

    /**
     * The entries for the page holding {@code linear} made for the PCID in tag position {@code pcidInTag}, and global
     * ones if {@code alsoGlobal} (INVLPG), else not (INVPCID type 0).
     */
    private void invalidateAddress(long linear, long pcidInTag, boolean alsoGlobal) {
        long page = (linear >>> 12) & PAGE_BITS;
        if (largeEntries == 0) {
            int i = (int) page & TLB_MASK;
            if (tag[i] != EMPTY && (tag[i] & PAGE_BITS) == page && matches(i, pcidInTag, alsoGlobal)) {
                tag[i] = EMPTY;
            }
            return;
        }
        for (int i = 0; i < TLB_SIZE; i++) {
            long t = tag[i];
            if (t == EMPTY) {
                continue;
            }
            int shift = pageShift[i] - 12;
            if (((t & PAGE_BITS) >>> shift) == (page >>> shift) && matches(i, pcidInTag, alsoGlobal)) {
                tag[i] = EMPTY;
            }
        }
    }

    private boolean matches(int i, long pcidInTag, boolean alsoGlobal) {
        return global[i] ? alsoGlobal : (tag[i] & ~PAGE_BITS) == pcidInTag;
    }

    /**
     * INVPCID (SDM Vol. 2A INVPCID) after its checks: type 0 individual address (non-global, that PCID), 1 single
     * context (non-global, that PCID), 2 all contexts including global translations, 3 all contexts except global.
     */
    void invpcid(int type, long pcid, long linear) {
        switch (type) {
            case 0: invalidateAddress(linear, pcid << 52, false); break;
            case 1: dropNonGlobal(pcid << 52, false); break;
            case 2: flush(); break;
            default: dropNonGlobal(0, true); break;
        }
    }

    /** Drops the entries of one 4-KiB linear page, whatever their PCID (a data breakpoint starts watching it). */
    void invalidateAnyPcid(long linear) {
        long page = (linear >>> 12) & PAGE_BITS;
        int i = (int) page & TLB_MASK;
        if (tag[i] != EMPTY && (tag[i] & PAGE_BITS) == page) {
            tag[i] = EMPTY;
        }
    }

    // ====================================================================================== translation

    /**
     * The host-physical address for an access of {@code kind} and {@code size} bytes (within one page) at {@code
     * linear}, -1 if no memory is behind it (reads see all ones, writes are dropped), or a #PF, #AC or VM exit.
     */
    long translate(long linear, int kind, int priv, int size) {
        long page = linear >>> 12;
        int i = (int) page & TLB_MASK;
        if (tag[i] != (page | pcidTag) || (allowed[i] & (1 << (kind * 4 + priv))) == 0) {
            miss(linear, kind, priv, size, i);
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

    /**
     * The alignment an access of {@code size} bytes needs when nothing else says (SDM Vol. 3A 6.15, Table 6-7): its
     * size for words, doublewords and quadwords; 8 for the 10 bytes of an 80-bit x87 value; 8 for the 16 bytes of a
     * 128-bit access that need not be 16-aligned (MOVUPS, MOVDQU, LDDQU: "when data addresses are not aligned on an
     * 8-byte boundary"; a 128-bit operand that must be aligned is #GP(0) before it is accessed); 4 for the 6 bytes of
     * a 48-bit far pointer. Data types whose alignment is not their access size (the FSTENV and FSAVE areas, the GDTR
     * and IDTR images, SLDT and STR) are checked by their instructions ({@code Executor.checkAlignment}).
     */
    static int naturalAlignment(int size) {
        return Integer.highestOneBit(Math.min(size, 8));
    }

    /**
     * {@code priv} for the accesses within an operand whose alignment has been checked as a whole (or needs none):
     * USER_AC becomes USER, anything else stays.
     */
    static int withoutAlignmentCheck(int priv) {
        return priv == USER_AC ? USER : priv;
    }

    /** An instruction fetch of the byte at {@code linear}. */
    long fetch(long linear, int priv) {
        return translate(linear, FETCH, priv, 1);
    }

    /**
     * The slow path of {@link #translate}: leaves slot {@code i} holding a translation of {@code linear} that allows
     * the access, or throws. Checks alignment for USER_AC and reports data-breakpoint matches on watched pages.
     */
    private void miss(long linear, int kind, int priv, int size, int i) {
        if (priv == USER_AC) {
            // SDM 6.15 "Interrupt 17": a misaligned data reference at CPL 3 with CR0.AM = 1 and EFLAGS.AC = 1
            if ((linear & (naturalAlignment(size) - 1)) != 0) {
                throw fault.set(Exceptions.AC, 0);
            }
            priv = USER;
        }
        long page = (linear >>> 12) & PAGE_BITS;
        long t = tag[i];
        if (t != EMPTY && (t & PAGE_BITS) == page && global[i] && (t & ~PAGE_BITS) != pcidTag) {
            tag[i] = t = page | pcidTag; // a global translation serves every PCID (SDM 4.10.2.4)
        }
        int bit = 1 << (kind * 4 + priv);
        if (t != (page | pcidTag) || (rights[i] & bit) == 0) {
            fill(linear, kind, priv, i);
        }
        if (kind != FETCH && debug.watching) {
            debug.dataAccess(linear, size, kind == WRITE);
        }
    }

    /** The host page of a bus translation, or NONE when there is no memory behind the address (bus returned -1). */
    private static long page(long hostPhysical, int offset) {
        return hostPhysical < 0 ? NONE : hostPhysical - offset;
    }

    /** Reads 1, 2, 4 or 8 bytes (zero-extended), splitting at a page boundary. */
    long read(long linear, int size, int priv) {
        int off = (int) linear & 0xFFF;
        if (off + size <= 4096) {
            long h = translate(linear, READ, priv, size);
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
        int first = 4096 - off;
        long h1 = translate(linear, READ, priv, size);
        long h2 = translate(nextPage(linear), READ, withoutAlignmentCheck(priv), size - first);
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
            long h = translate(linear, WRITE, priv, size);
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
        int first = 4096 - off;
        long h1 = translate(linear, WRITE, priv, size);
        long h2 = translate(nextPage(linear), WRITE, withoutAlignmentCheck(priv), size - first);
        for (int b = 0; b < size; b++) {
            long h = b < first ? h1 : h2;
            if (h >= 0) {
                mem.write8(h + (b < first ? b : b - first), (int) (value >>> (8 * b)) & 0xFF);
            }
        }
    }

    /** Translates every page of an access without touching the data (to validate a multi-part write up front). */
    void probe(long linear, int size, int kind, int priv) {
        int off = (int) linear & 0xFFF;
        translate(linear, kind, priv, size);
        if (off + size > 4096) {
            translate(nextPage(linear), kind, withoutAlignmentCheck(priv), off + size - 4096);
        }
    }

    /**
     * Whether data accesses of {@code priv} may bypass {@link #translate} for a whole range (REP MOVS/STOS in bulk):
     * not when each access must be checked for alignment or against data breakpoints.
     */
    boolean bulkAllowed(int priv) {
        return priv != USER_AC && !debug.watching;
    }

    private long nextPage(long linear) {
        long n = (linear | 0xFFF) + 1;
        return s.longModeActive() ? n : n & 0xFFFF_FFFFL;
    }

    // ---------------------------------------------------------------------------------------------- page walk

    private void fill(long linear, int kind, int priv, int i) {
        walks++;
        try {
            walk(linear, kind, priv, i);
        } catch (CpuFault f) {
            // a page fault invalidates the TLB entries of the faulting address (SDM 4.10.4.1)
            if (tag[i] != EMPTY && (tag[i] & PAGE_BITS) == ((linear >>> 12) & PAGE_BITS)) {
                tag[i] = EMPTY;
            }
            throw f;
        }
    }

    private void walk(long linear, int kind, int priv, int i) {
        long cr0 = s.cr0;
        walkLevels = 0;
        if ((cr0 & Cr0.PG) == 0) {
            // no paging: the linear address is the physical address (SDM 4.1.1)
            install(linear, kind, priv, i, linear & ~0xFFFL, true, true, true, true, false, 12);
            return;
        }
        boolean pge = (s.cr4 & Cr4.PGE) != 0;
        if ((s.cr4 & Cr4.PAE) == 0) {
            // 32-bit paging (SDM 4.3)
            walkWide = false;
            long pde = entry((s.cr3 & 0xFFFF_F000L) | ((linear >>> 20) & 0xFFC), linear);
            if ((pde & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            if ((pde & PS) != 0 && (s.cr4 & Cr4.PSE) != 0) {
                // 4-MiB page (Table 4-4): bit 21 is reserved; PSE-36 supplies physical-address bits 39:32 from 20:13
                if ((pde & (1L << 21)) != 0) {
                    throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
                }
                long gpa = (pde & 0xFFC0_0000L) | (((pde >>> 13) & 0xFF) << 32) | (linear & 0x3F_F000L);
                install(linear, kind, priv, i, gpa, (pde & US) != 0, (pde & RW) != 0, true, (pde & D) != 0,
                        pge && (pde & G) != 0, 22);
                return;
            }
            // with CR4.PSE = 0 the PS flag is ignored: the PDE references a page table (Table 4-5)
            long pte = entry((pde & 0xFFFF_F000L) | ((linear >>> 10) & 0xFFC), linear);
            if ((pte & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            install(linear, kind, priv, i, pte & 0xFFFF_F000L, (pde & pte & US) != 0, (pde & pte & RW) != 0, true,
                    (pte & D) != 0, pge && (pte & G) != 0, 12);
            return;
        }
        walkWide = true;
        boolean nxe = (s.efer & Efer.NXE) != 0;
        boolean lma = s.longModeActive();
        // reserved: bits 51:MAXPHYADDR with 4-level paging (62:52 are ignored), 62:MAXPHYADDR with PAE paging
        // (SDM Tables 4-8 to 4-11 and 4-14 to 4-20); XD (bit 63) without EFER.NXE
        long rsvd = (~PHYS_MASK & (lma ? 0x000F_FFFF_FFFF_FFFFL : 0x7FFF_FFFF_FFFF_FFFFL)) | (nxe ? 0 : XD);
        long perm = RW | US;
        long xd = 0;
        long table;
        if (lma) {
            // 4-level paging (SDM 4.5): PML4E (Table 4-15: PS is reserved)
            long pml4e = entry((s.cr3 & ADDR_4K) | ((linear >>> 36) & 0xFF8), linear);
            if ((pml4e & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            if ((pml4e & (rsvd | PS)) != 0) {
                throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
            }
            perm &= pml4e;
            xd |= pml4e;
            long pdpte = entry((pml4e & ADDR_4K) | ((linear >>> 27) & 0xFF8), linear);
            if ((pdpte & P) == 0) {
                throw pageFault(linear, kind, priv, 0);
            }
            // Table 4-16: a 1-GiB page has bits 29:13 reserved
            if ((pdpte & rsvd) != 0 || ((pdpte & PS) != 0 && (pdpte & 0x3FFF_E000L) != 0)) {
                throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
            }
            perm &= pdpte;
            xd |= pdpte;
            if ((pdpte & PS) != 0) {
                long gpa = (pdpte & PHYS_MASK & ~0x3FFF_FFFFL) | (linear & 0x3FFF_F000L);
                installWide(linear, kind, priv, i, gpa, pdpte, perm, xd, nxe, pge, 30);
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
        // Tables 4-9/4-17: a 2-MiB page has bits 20:13 reserved
        if ((pde & rsvd) != 0 || ((pde & PS) != 0 && (pde & 0x1F_E000L) != 0)) {
            throw pageFault(linear, kind, priv, PF_P | PF_RSVD);
        }
        perm &= pde;
        xd |= pde;
        if ((pde & PS) != 0) {
            long gpa = (pde & PHYS_MASK & ~0x1F_FFFFL) | (linear & 0x1F_F000L);
            installWide(linear, kind, priv, i, gpa, pde, perm, xd, nxe, pge, 21);
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
        xd |= pte;
        installWide(linear, kind, priv, i, pte & ADDR_4K, pte, perm, xd, nxe, pge, 12);
    }

    private void installWide(long linear, int kind, int priv, int i, long gpa, long leaf, long perm, long xd,
            boolean nxe, boolean pge, int shift) {
        install(linear, kind, priv, i, gpa, (perm & US) != 0, (perm & RW) != 0, !(nxe && (xd & XD) != 0),
                (leaf & D) != 0, pge && (leaf & G) != 0, shift);
    }

    /**
     * Checks the access against the translation's rights (SDM 4.6), sets the accessed and dirty flags (4.8) and fills
     * the TLB entry.
     */
    private void install(long linear, int kind, int priv, int i, long gpa, boolean user, boolean writable,
            boolean executable, boolean dirty, boolean isGlobal, int shift) {
        int r = rights(user, writable, executable);
        if ((r & (1 << (kind * 4 + priv))) == 0) {
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
        if (!(dirty || kind == WRITE)) {
            r &= ~(0xF << (WRITE * 4)); // a write must walk again to set D
        }
        long page = (linear >>> 12) & PAGE_BITS;
        tag[i] = page | pcidTag;
        gpaPage[i] = gpa & ~0xFFFL;
        hostRead[i] = UNSET;
        hostWrite[i] = UNSET;
        hostExec[i] = UNSET;
        rights[i] = r;
        // data accesses to a watched page always come to miss(), where the breakpoints are matched
        allowed[i] = debug.watching && debug.watches(linear) ? r & FETCH_RIGHTS : r;
        pageShift[i] = (byte) shift;
        global[i] = isGlobal;
        if (shift > 12) {
            largeEntries++;
        }
    }

    /** Which (kind, privilege) pairs a translation allows (SDM 4.6.1), as bits kind * 4 + privilege. */
    private int rights(boolean user, boolean writable, boolean executable) {
        boolean wp = (s.cr0 & Cr0.WP) != 0;
        boolean smep = (s.cr4 & Cr4.SMEP) != 0;
        boolean smap = (s.cr4 & Cr4.SMAP) != 0;
        int r = 0;
        // reads
        if (!(smap && user)) {
            r |= 1 << (READ * 4 + SUP);
        }
        r |= 1 << (READ * 4 + SUP_NOSMAP);
        if (user) {
            r |= 1 << (READ * 4 + USER);
        }
        // writes: a supervisor write needs R/W = 1 only with CR0.WP = 1
        if ((writable || !wp) && !(smap && user)) {
            r |= 1 << (WRITE * 4 + SUP);
        }
        if (writable || !wp) {
            r |= 1 << (WRITE * 4 + SUP_NOSMAP);
        }
        if (user && writable) {
            r |= 1 << (WRITE * 4 + USER);
        }
        // fetches: SMEP forbids supervisor fetches from user-mode addresses
        if (executable && !(smep && user)) {
            r |= 1 << (FETCH * 4 + SUP) | 1 << (FETCH * 4 + SUP_NOSMAP);
        }
        if (executable && user) {
            r |= 1 << (FETCH * 4 + USER);
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

    /** #PF with the error code of SDM 4.7 (P, W/R, U/S, RSVD, I/D); CR2 is loaded when it is delivered. */
    private CpuFault pageFault(long linear, int kind, int priv, int bits) {
        int code = bits;
        if (kind == WRITE) {
            code |= PF_W;
        }
        if (priv >= USER) {
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
