package io.jvmx.vmx.emulated.fuzz;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessor;

import java.nio.ByteBuffer;
import java.util.Random;

/**
 * One fuzz case's machine: a fresh software processor in VMX root operation with one VMCS, and a guest set up from a
 * {@link Random} in the case's mode and CPL, through the public VMX SPI only. Guest-physical memory (1 MiB, mapped
 * by an identity EPT; above it nothing, so accesses there are EPT violations):
 *
 * <pre>
 *   0x00000  real-mode IVT                0x10000  the code (one page of it)
 *   0x01000  GDT                          0x20000  data (64 KiB, random)
 *   0x02000  IDT                          0x40000  the stack page (random); 0x50000 the ring-0 stack
 *   0x03000  TSS                          0x04000-0x07FFF  page tables, identity map of the first MiB
 *   0x0C000  the exception handler: HLT (with "HLT exiting", an exit that says an event was delivered)
 * </pre>
 *
 * <p>GDT (Linux-like where it can be): 08H 32-bit code, 10H data, 18H 16-bit code (base 10000H), 20H 64-bit code,
 * all DPL 0; 2BH data, 33H 64-bit code, 3BH 32-bit code, 43H 16-bit code, DPL 3; 48H/53H 16-bit data (base 20000H)
 * DPL 0/3; 58H/63H 16-bit stack (base 40000H) DPL 0/3; 68H the TSS.
 */
final class FuzzGuest implements AutoCloseable {
    static final long RAM = 0x10_0000;
    static final long GDT = 0x1000, IDT = 0x2000, TSS = 0x3000, TABLES = 0x4000, HANDLER = 0xC000;
    static final long CODE = 0x10000, DATA = 0x20000, STACK = 0x40000, RING0_STACK_TOP = 0x51000;
    /** Up to the 16-byte TSS descriptor of IA-32e mode at 68H. */
    static final int GDT_LIMIT = 0x77;
    static final int CODE32_0 = 0x08, DATA_0 = 0x10, CODE16_0 = 0x18, CODE64_0 = 0x20, DATA_3 = 0x2B, CODE64_3 = 0x33,
            CODE32_3 = 0x3B, CODE16_3 = 0x43, DATA16_0 = 0x48, DATA16_3 = 0x53, STACK16_0 = 0x58, STACK16_3 = 0x63,
            TSS_SELECTOR = 0x68;
    /** VMX-preemption timer per VM entry: 2^5 TSC ticks (one per instruction) each, so about 32,000 instructions. */
    static final long PREEMPTION_TIMER = 1000;

    final PhysicalMemory memory;
    final SoftwareVmxProcessor cpu;
    private final long guestRam;
    private final long ioBitmapA, ioBitmapB, msrBitmap;
    final GeneralRegisters registers = new GeneralRegisters();

    FuzzGuest() {
        memory = new ByteBufferPhysicalMemory(ByteBuffer.allocate(2 << 20));
        cpu = new SoftwareVmxProcessor(memory);
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE);
        cpu.vmxon(region());
        long vmcs = region();
        cpu.vmclear(vmcs);
        cpu.vmptrld(vmcs);
        guestRam = memory.allocateFrames((int) (RAM / PhysicalMemory.PAGE_SIZE));
        ioBitmapA = memory.allocateFrame();
        ioBitmapB = memory.allocateFrame();
        msrBitmap = memory.allocateFrame();
        long pml4 = memory.allocateFrame();
        for (long gpa = 0; gpa < RAM; gpa += PhysicalMemory.PAGE_SIZE) {
            long table = pml4;
            for (int level = 4; level > 1; level--) {
                long entry = table + ((gpa >>> (12 + 9 * (level - 1))) & 0x1FF) * 8;
                long e = memory.read64(entry);
                if ((e & 7) == 0) {
                    e = memory.allocateFrame() | Ept.READ | Ept.WRITE | Ept.EXECUTE;
                    memory.write64(entry, e);
                }
                table = e & Ept.ADDRESS_MASK;
            }
            memory.write64(table + ((gpa >>> 12) & 0x1FF) * 8, (guestRam + gpa) | Ept.READ | Ept.WRITE | Ept.EXECUTE
                    | ((long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT));
        }
        write(EPT_POINTER, Ept.eptPointer(pml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, false));
        writeHostState();
    }

    private long region() {
        long pa = memory.allocateFrame();
        memory.write32(pa, (int) cpu.rdmsr(Msr.IA32_VMX_BASIC) & 0x7FFF_FFFF);
        return pa;
    }

    void write(VmcsField field, long value) {
        cpu.vmwrite(field.encoding(), value);
    }

    long read(VmcsField field) {
        return cpu.vmread(field.encoding());
    }

    void load(long gpa, byte[] bytes) {
        memory.write(guestRam + gpa, bytes, 0, bytes.length);
    }

    private void write64(long gpa, long v) {
        memory.write64(guestRam + gpa, v);
    }

    private void write32(long gpa, int v) {
        memory.write32(guestRam + gpa, v);
    }

    @Override
    public void close() {
        cpu.close();
    }

    // ---- the guest of a case ----------------------------------------------------------------------------------------

    /** Sets up the whole guest of {@code c}: memory, tables, controls and guest state. */
    void setUp(FuzzCase c) {
        Random r = c.random();
        load(CODE, c.code());
        byte[] data = new byte[0x10000];
        r.nextBytes(data);
        load(DATA, data);
        byte[] stack = new byte[0x1000];
        r.nextBytes(stack);
        load(STACK, stack);
        load(HANDLER, new byte[] {(byte) 0xF4}); // HLT
        writeGdt();
        writeTss(c.mode().ia32e);
        writeIdt(c.mode());
        long cr3 = writePageTables(c, r);
        writeControls(c, r);
        writeGuestState(c, r, cr3);
    }

    /** A code or data descriptor (SDM Vol. 3A, 3.4.5): base, limit (20 bits), access byte, flags G D/B L. */
    private static long descriptor(long base, long limit, int access, int flags) {
        return (limit & 0xFFFF) | (base & 0xFF_FFFFL) << 16 | (long) access << 40 | (limit >>> 16 & 0xF) << 48
                | (long) flags << 52 | (base >>> 24 & 0xFF) << 56;
    }

    private static final int G = 8, DB = 4, L = 2;

    private void writeGdt() {
        write64(GDT + CODE32_0, descriptor(0, 0xFFFFF, 0x9B, G | DB));
        write64(GDT + DATA_0, descriptor(0, 0xFFFFF, 0x93, G | DB));
        write64(GDT + CODE16_0, descriptor(CODE, 0xFFFF, 0x9B, 0));
        write64(GDT + CODE64_0, descriptor(0, 0xFFFFF, 0x9B, G | L));
        write64(GDT + (DATA_3 & ~3), descriptor(0, 0xFFFFF, 0xF3, G | DB));
        write64(GDT + (CODE64_3 & ~3), descriptor(0, 0xFFFFF, 0xFB, G | L));
        write64(GDT + (CODE32_3 & ~3), descriptor(0, 0xFFFFF, 0xFB, G | DB));
        write64(GDT + (CODE16_3 & ~3), descriptor(CODE, 0xFFFF, 0xFB, 0));
        write64(GDT + DATA16_0, descriptor(DATA, 0xFFFF, 0x93, 0));
        write64(GDT + (DATA16_3 & ~3), descriptor(DATA, 0xFFFF, 0xF3, 0));
        write64(GDT + STACK16_0, descriptor(STACK, 0xFFFF, 0x93, 0));
        write64(GDT + (STACK16_3 & ~3), descriptor(STACK, 0xFFFF, 0xF3, 0));
        // a busy TSS (type 11), 16 bytes long in IA-32e mode (the second half is the upper base: 0)
        write64(GDT + TSS_SELECTOR, descriptor(TSS, 0x67, 0x8B, 0));
    }

    /** The ring-0 stack for events from CPL 3: RSP0 (64-bit TSS) or SS0:ESP0 (32-bit TSS) (SDM Vol. 3A, 8.2.1, 8.7). */
    private void writeTss(boolean ia32e) {
        if (ia32e) {
            write64(TSS + 4, RING0_STACK_TOP);
        } else {
            write32(TSS + 4, (int) RING0_STACK_TOP);
            write32(TSS + 8, DATA_0);
        }
    }

    /**
     * Every vector leads to the HLT at {@link #HANDLER}: 64-bit interrupt gates to 20H in IA-32e mode, 32-bit ones
     * to 08H in protected mode, DPL 3 so that INT n works at any CPL (SDM Vol. 3A, 6.11, 6.14.1); the real-mode IVT
     * (0000:C000) for real mode.
     */
    private void writeIdt(FuzzMode mode) {
        for (int v = 0; v < 256; v++) {
            if (mode.ia32e) {
                long low = (HANDLER & 0xFFFF) | (long) CODE64_0 << 16 | 0xEEL << 40 | (HANDLER >>> 16 & 0xFFFF) << 48;
                write64(IDT + 16L * v, low);
                write64(IDT + 16L * v + 8, HANDLER >>> 32);
            } else {
                long gate = (HANDLER & 0xFFFF) | (long) CODE32_0 << 16 | 0xEEL << 40 | (HANDLER >>> 16 & 0xFFFF) << 48;
                write64(IDT + 8L * v, gate);
            }
            write32(4L * v, (int) HANDLER); // real-mode IVT: offset C000H, segment 0
        }
    }

    /**
     * Identity paging of the first MiB for the mode's paging kind, user and writable, except a few random pages that
     * lose U, W or (with NXE) gain XD; sometimes large pages instead. Returns CR3.
     */
    private long writePageTables(FuzzCase c, Random r) {
        long pteFlags = 0x7; // P W U
        switch (c.mode().paging) {
            case NONE:
                return 0;
            case BITS_32: {
                if (r.nextInt(3) == 0) {
                    write32(TABLES, 0x87); // a 4-MiB page (PS, needs CR4.PSE)
                } else {
                    write32(TABLES, (int) (TABLES + 0x1000) | 0x7);
                    for (int p = 0; p < 256; p++) {
                        write32(TABLES + 0x1000 + 4L * p, (int) (p * 0x1000L | pteFlags(r, pteFlags, false)));
                    }
                }
                return TABLES;
            }
            case PAE: {
                write64(TABLES, (TABLES + 0x1000) | 1); // PDPTE: present (no R/W/U bits in PAE PDPTEs)
                leafTables(r, TABLES + 0x1000, TABLES + 0x2000, pteFlags);
                return TABLES;
            }
            default: {
                write64(TABLES, (TABLES + 0x1000) | 0x7);
                if (r.nextInt(6) == 0) {
                    write64(TABLES + 0x1000, 0x87); // a 1-GiB page
                } else {
                    write64(TABLES + 0x1000, (TABLES + 0x2000) | 0x7);
                    leafTables(r, TABLES + 0x2000, TABLES + 0x3000, pteFlags);
                }
                return TABLES;
            }
        }
    }

    /** A PAE/IA-32e page directory with one entry: a 2-MiB page, or a page table of 4-KiB pages. */
    private void leafTables(Random r, long directory, long table, long flags) {
        if (r.nextInt(4) == 0) {
            write64(directory, 0x87);
        } else {
            write64(directory, table | 0x7);
            for (int p = 0; p < 256; p++) {
                write64(table + 8L * p, p * 0x1000L | pteFlags(r, flags, true));
            }
        }
    }

    private static long pteFlags(Random r, long flags, boolean wide) {
        if (r.nextInt(64) != 0) {
            return flags;
        }
        long f = flags & ~(r.nextBoolean() ? 0x4 : 0x2);
        return wide && r.nextBoolean() ? f | 1L << 63 : f;
    }

    private int adjust(int capabilityMsr, int wanted) {
        long cap = cpu.rdmsr(capabilityMsr);
        return (wanted & (int) (cap >>> 32)) | (int) cap;
    }

    private static int some(Random r, int... bits) {
        int v = 0;
        for (int b : bits) {
            if (r.nextInt(3) == 0) {
                v |= b;
            }
        }
        return v;
    }

    private void writeControls(FuzzCase c, Random r) {
        write(PIN_BASED_VM_EXECUTION_CONTROLS, adjust(Msr.IA32_VMX_TRUE_PINBASED_CTLS,
                PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER | some(r, PinBasedControls.EXTERNAL_INTERRUPT_EXITING,
                        PinBasedControls.NMI_EXITING)));
        int io = r.nextBoolean() ? PrimaryProcessorBasedControls.UNCONDITIONAL_IO_EXITING
                : PrimaryProcessorBasedControls.USE_IO_BITMAPS;
        write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, adjust(Msr.IA32_VMX_TRUE_PROCBASED_CTLS,
                PrimaryProcessorBasedControls.HLT_EXITING | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS
                        | io | some(r, PrimaryProcessorBasedControls.USE_TSC_OFFSETTING,
                        PrimaryProcessorBasedControls.INVLPG_EXITING, PrimaryProcessorBasedControls.MWAIT_EXITING,
                        PrimaryProcessorBasedControls.RDPMC_EXITING, PrimaryProcessorBasedControls.RDTSC_EXITING,
                        PrimaryProcessorBasedControls.CR3_LOAD_EXITING, PrimaryProcessorBasedControls.CR3_STORE_EXITING,
                        PrimaryProcessorBasedControls.CR8_LOAD_EXITING, PrimaryProcessorBasedControls.CR8_STORE_EXITING,
                        PrimaryProcessorBasedControls.MOV_DR_EXITING, PrimaryProcessorBasedControls.USE_MSR_BITMAPS,
                        PrimaryProcessorBasedControls.MONITOR_EXITING, PrimaryProcessorBasedControls.PAUSE_EXITING)));
        write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, adjust(Msr.IA32_VMX_PROCBASED_CTLS2,
                SecondaryProcessorBasedControls.ENABLE_EPT | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST
                        | some(r, SecondaryProcessorBasedControls.ENABLE_RDTSCP,
                        SecondaryProcessorBasedControls.WBINVD_EXITING, SecondaryProcessorBasedControls.RDRAND_EXITING,
                        SecondaryProcessorBasedControls.RDSEED_EXITING)));
        write(PRIMARY_VM_EXIT_CONTROLS, adjust(Msr.IA32_VMX_TRUE_EXIT_CTLS, VmExitControls.HOST_ADDRESS_SPACE_SIZE
                | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT | some(r, VmExitControls.SAVE_IA32_EFER,
                VmExitControls.SAVE_IA32_PAT, VmExitControls.SAVE_DEBUG_CONTROLS)));
        write(VM_ENTRY_CONTROLS, adjust(Msr.IA32_VMX_TRUE_ENTRY_CTLS, VmEntryControls.LOAD_IA32_EFER
                | (c.mode().ia32e ? VmEntryControls.IA32E_MODE_GUEST : 0)));
        write(IO_BITMAP_A, ioBitmapA);
        write(IO_BITMAP_B, ioBitmapB);
        write(MSR_BITMAPS, msrBitmap);
        if (r.nextBoolean()) {
            byte[] bits = new byte[PhysicalMemory.PAGE_SIZE];
            r.nextBytes(bits);
            memory.write(ioBitmapA, bits, 0, bits.length);
            r.nextBytes(bits);
            memory.write(msrBitmap, bits, 0, bits.length);
        }
        write(EXCEPTION_BITMAP, c.exceptionBitmap());
        write(PAGE_FAULT_ERROR_CODE_MASK, 0);
        write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
        write(CR3_TARGET_COUNT, 0);
        write(VM_ENTRY_INTERRUPTION_INFORMATION, 0);
        write(VMX_PREEMPTION_TIMER_VALUE, PREEMPTION_TIMER);
        write(TSC_OFFSET, r.nextLong());
        long cr0Mask = r.nextInt(4) == 0 ? r.nextLong() & 0xFFFF_FFFFL : 0;
        long cr4Mask = r.nextInt(4) == 0 ? r.nextLong() & 0xFFFF_FFFFL : 0;
        write(CR0_GUEST_HOST_MASK, cr0Mask);
        write(CR4_GUEST_HOST_MASK, cr4Mask);
    }

    private void writeHostState() {
        cpu.hostContext().writeHostState(this::write);
    }

    private void segment(int index, int selector, long base, long limit, int ar) {
        VmcsField[][] f = {
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS},
                {GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS},
                {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}};
        write(f[index][0], selector);
        write(f[index][1], base);
        write(f[index][2], limit);
        write(f[index][3], ar);
    }

    private static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;
    private static final int UNUSABLE = 1 << 16;
    /** VMCS access rights (SDM Vol. 3C, 25.4.1): type, S, DPL, P, then L (bit 13), D/B (14), G (15). */
    private static final int AR_CODE = 0x9B, AR_DATA = 0x93, AR_DPL3 = 0x60, AR_L = 1 << 13, AR_DB = 1 << 14,
            AR_G = 1 << 15;

    private void writeGuestState(FuzzCase c, Random r, long cr3) {
        FuzzMode mode = c.mode();
        boolean user = c.cpl() == 3;
        int dpl = user ? AR_DPL3 : 0;
        // segments, and where data pointers point: segment offsets of the data area in 16-bit segments, else
        // its linear address
        long dataPointer;
        long stackPointer;
        long rip;
        if (mode.real()) {
            segment(CS, (int) (CODE >>> 4), CODE, 0xFFFF, AR_CODE);
            for (int s : new int[] {ES, DS, FS, GS}) {
                segment(s, (int) (DATA >>> 4), DATA, 0xFFFF, AR_DATA);
            }
            segment(SS, (int) (STACK >>> 4), STACK, 0xFFFF, AR_DATA);
            dataPointer = 0;
            stackPointer = 0x800;
            rip = c.entry();
        } else if (mode.bits == 16) {
            segment(CS, user ? CODE16_3 : CODE16_0, CODE, 0xFFFF, AR_CODE | dpl);
            for (int s : new int[] {ES, DS, FS, GS}) {
                segment(s, user ? DATA16_3 : DATA16_0, DATA, 0xFFFF, AR_DATA | dpl);
            }
            segment(SS, user ? STACK16_3 : STACK16_0, STACK, 0xFFFF, AR_DATA | dpl);
            dataPointer = 0;
            stackPointer = 0x800;
            rip = c.entry();
        } else {
            int code = mode.bits == 64 ? (user ? CODE64_3 : CODE64_0) : (user ? CODE32_3 : CODE32_0);
            int codeAr = AR_CODE | dpl | AR_G | (mode.bits == 64 ? AR_L : AR_DB);
            segment(CS, code, 0, 0xFFFF_FFFFL, codeAr);
            int data = user ? DATA_3 : DATA_0;
            for (int s : new int[] {ES, DS, FS, GS}) {
                boolean nullSegment = mode.bits == 64 && r.nextInt(3) == 0;
                long base = s >= FS && mode.bits == 64 && r.nextBoolean() ? DATA + r.nextInt(0x8000) : 0;
                if (nullSegment) {
                    segment(s, 0, base, 0, UNUSABLE);
                } else {
                    segment(s, data, base, 0xFFFF_FFFFL, AR_DATA | dpl | AR_G | AR_DB);
                }
            }
            segment(SS, data, 0, 0xFFFF_FFFFL, AR_DATA | dpl | AR_G | AR_DB);
            dataPointer = DATA;
            stackPointer = STACK + 0x800;
            rip = CODE + c.entry();
        }
        write(GUEST_LDTR_SELECTOR, 0);
        write(GUEST_LDTR_BASE, 0);
        write(GUEST_LDTR_LIMIT, 0);
        write(GUEST_LDTR_ACCESS_RIGHTS, UNUSABLE);
        write(GUEST_TR_SELECTOR, TSS_SELECTOR);
        write(GUEST_TR_BASE, TSS);
        write(GUEST_TR_LIMIT, 0x67);
        write(GUEST_TR_ACCESS_RIGHTS, 0x8B);
        write(GUEST_GDTR_BASE, GDT);
        write(GUEST_GDTR_LIMIT, GDT_LIMIT);
        write(GUEST_IDTR_BASE, mode.real() ? 0 : IDT);
        write(GUEST_IDTR_LIMIT, mode.real() ? 0x3FF : mode.ia32e ? 0xFFF : 0x7FF);

        long cr0 = Cr0.NE | Cr0.ET | (mode.real() ? 0 : Cr0.PE)
                | (mode.paging != FuzzMode.Paging.NONE ? Cr0.PG : 0)
                | (r.nextBoolean() ? Cr0.WP : 0) | (r.nextBoolean() ? Cr0.AM : 0) | (r.nextBoolean() ? Cr0.MP : 0)
                | (r.nextInt(8) == 0 ? Cr0.TS : 0) | (r.nextInt(8) == 0 ? Cr0.EM : 0);
        long cr4Fixed1 = cpu.rdmsr(Msr.IA32_VMX_CR4_FIXED1);
        long cr4 = Cr4.VMXE | (mode.paging == FuzzMode.Paging.PAE || mode.ia32e ? Cr4.PAE : 0) | Cr4.PSE
                | (some(r, (int) Cr4.PGE, (int) Cr4.DE, (int) Cr4.OSFXSR, (int) Cr4.OSXMMEXCPT, (int) Cr4.UMIP,
                (int) Cr4.FSGSBASE, (int) Cr4.SMEP, (int) Cr4.SMAP, (int) Cr4.PCE, (int) Cr4.MCE, (int) Cr4.TSD,
                (int) Cr4.OSXSAVE) & cr4Fixed1);
        long efer = (mode.ia32e ? Efer.LME | Efer.LMA : 0) | (r.nextBoolean() ? Efer.NXE : 0)
                | (r.nextBoolean() ? Efer.SCE : 0);
        write(GUEST_CR0, cr0);
        write(GUEST_CR3, cr3);
        write(GUEST_CR4, cr4);
        write(CR0_READ_SHADOW, r.nextBoolean() ? cr0 : r.nextLong() & 0xFFFF_FFFFL);
        write(CR4_READ_SHADOW, r.nextBoolean() ? cr4 & ~Cr4.VMXE : r.nextLong() & 0xFFFF_FFFFL);
        write(GUEST_IA32_EFER, efer);
        if (mode.paging == FuzzMode.Paging.PAE) {
            // with EPT, VM entry loads the PDPTEs from the VMCS (SDM Vol. 3C, 27.3.2.4)
            write(GUEST_PDPTE0, memory.read64(guestRam + TABLES));
            write(GUEST_PDPTE1, 0);
            write(GUEST_PDPTE2, 0);
            write(GUEST_PDPTE3, 0);
        }
        write(GUEST_DR7, 0x400);
        write(GUEST_IA32_DEBUGCTL, 0);
        write(GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
        write(GUEST_IA32_SYSENTER_CS, r.nextBoolean() ? CODE32_0 : 0);
        write(GUEST_IA32_SYSENTER_ESP, RING0_STACK_TOP);
        write(GUEST_IA32_SYSENTER_EIP, r.nextBoolean() ? HANDLER : CODE + r.nextInt(0x1000));
        write(VMCS_LINK_POINTER, -1L);
        write(GUEST_IA32_PAT, 0x0007_0406_0007_0406L);
        write(GUEST_ACTIVITY_STATE, 0);
        write(GUEST_INTERRUPTIBILITY_STATE, 0);

        long rflags = Rflags.FIXED_1 | (r.nextLong() & (Rflags.CF | Rflags.PF | Rflags.AF | Rflags.ZF | Rflags.SF
                | Rflags.OF | Rflags.DF | Rflags.IF | Rflags.AC | Rflags.ID | Rflags.IOPL))
                | (r.nextInt(32) == 0 ? Rflags.TF : 0) | (r.nextInt(16) == 0 ? Rflags.NT : 0)
                | (r.nextInt(8) == 0 ? Rflags.RF : 0);
        write(GUEST_RFLAGS, rflags);
        write(GUEST_RIP, rip);
        for (int i = 0; i < 16; i++) {
            long v = switch (r.nextInt(4)) {
                case 0, 1 -> dataPointer + r.nextInt(0xFFF0);
                case 2 -> r.nextInt(0x100);
                default -> r.nextLong();
            };
            registers.set(i, mode.bits == 64 || r.nextBoolean() ? v : v & 0xFFFF_FFFFL);
        }
        write(GUEST_RSP, stackPointer + 8 * (r.nextInt(64) - 32));
    }
}
