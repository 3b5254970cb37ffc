package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
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


/**
 * A software processor in VMX root operation with one current VMCS that passes every VM-entry check: a 64-bit
 * host (from {@code hostContext()}), a real-mode guest under "unrestricted guest" entered at guest-physical 0x8000
 * (the platform convention), guest RAM mapped by a 4-level write-back EPT, I/O and MSR bitmaps that intercept
 * nothing. Tests change fields from there.
 */
final class VmxFixture {
    static final long MEMORY_BYTES = 8L << 20;
    static final long GUEST_RAM_BYTES = 2L << 20;
    static final long GUEST_ENTRY = 0x8000;

    final SoftwareVmxProcessor cpu;
    final PhysicalMemory memory;
    final long vmxonRegion;
    final long vmcs;
    final long ioBitmapA;
    final long ioBitmapB;
    final long msrBitmap;
    final long eptPml4;
    final long eptPointer;
    /** Host-physical base of guest RAM (guest-physical 0). */
    final long guestRam;
    final GeneralRegisters guestRegisters = new GeneralRegisters();

    VmxFixture() {
        this(MEMORY_BYTES, GUEST_RAM_BYTES);
    }

    /** With {@code guestRamBytes} of guest RAM at guest-physical 0, in a host memory of {@code memoryBytes}. */
    VmxFixture(long memoryBytes, long guestRamBytes) {
        memory = ByteBufferPhysicalMemory.allocate(memoryBytes);
        cpu = new SoftwareVmxProcessor(memory);
        // SDM 24.7: enable VMX in IA32_FEATURE_CONTROL and CR4, then VMXON.
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE);
        vmxonRegion = region();
        cpu.vmxon(vmxonRegion);
        vmcs = region();
        cpu.vmclear(vmcs);
        cpu.vmptrld(vmcs);
        ioBitmapA = memory.allocateFrame();
        ioBitmapB = memory.allocateFrame();
        msrBitmap = memory.allocateFrame();
        eptPml4 = memory.allocateFrame();
        eptPointer = Ept.eptPointer(eptPml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, false);
        guestRam = memory.allocateFrames((int) (guestRamBytes / PhysicalMemory.PAGE_SIZE));
        mapEpt(0, guestRam, guestRamBytes, Ept.READ | Ept.WRITE | Ept.EXECUTE);
        writeControls();
        writeHostState();
        writeRealModeGuest();
    }

    /** A zeroed frame with the VMCS revision identifier, for VMXON or a VMCS (SDM 25.2). */
    long region() {
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

    int read32(VmcsField field) {
        return (int) read(field);
    }

    private int adjust(int capabilityMsr, int set) {
        long cap = cpu.rdmsr(capabilityMsr);
        int allowed0 = (int) cap;
        int allowed1 = (int) (cap >>> 32);
        if ((set & ~allowed1) != 0) {
            throw new IllegalArgumentException(String.format("MSR %#x does not allow %#x", capabilityMsr, set));
        }
        return set | allowed0;
    }

    private void writeControls() {
        write(PIN_BASED_VM_EXECUTION_CONTROLS, adjust(Msr.IA32_VMX_TRUE_PINBASED_CTLS, 0));
        write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, adjust(Msr.IA32_VMX_TRUE_PROCBASED_CTLS,
                PrimaryProcessorBasedControls.USE_IO_BITMAPS | PrimaryProcessorBasedControls.USE_MSR_BITMAPS
                        | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS));
        write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, adjust(Msr.IA32_VMX_PROCBASED_CTLS2,
                SecondaryProcessorBasedControls.ENABLE_EPT | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST));
        write(PRIMARY_VM_EXIT_CONTROLS, adjust(Msr.IA32_VMX_TRUE_EXIT_CTLS,
                VmExitControls.HOST_ADDRESS_SPACE_SIZE | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT));
        write(VM_ENTRY_CONTROLS, adjust(Msr.IA32_VMX_TRUE_ENTRY_CTLS, 0));
        write(IO_BITMAP_A, ioBitmapA);
        write(IO_BITMAP_B, ioBitmapB);
        write(MSR_BITMAPS, msrBitmap);
        write(EPT_POINTER, eptPointer);
        write(EXCEPTION_BITMAP, 0);
        write(CR3_TARGET_COUNT, 0);
        write(VM_ENTRY_INTERRUPTION_INFORMATION, 0);
    }

    private void writeHostState() {
        cpu.hostContext().writeHostState(this::write);
    }

    /** x86_vcpu's setup_vmcs_guest: real mode at 0x8000, segments base 0 limit 0xFFFF. */
    private void writeRealModeGuest() {
        write(GUEST_CR0, Cr0.ET | Cr0.NE);
        write(GUEST_CR3, 0);
        write(GUEST_CR4, Cr4.VMXE);
        write(CR0_READ_SHADOW, Cr0.ET | Cr0.NE);
        write(CR4_READ_SHADOW, 0);
        VmcsField[][] segments = {
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS},
                {GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS},
                {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}};
        for (VmcsField[] s : segments) {
            write(s[0], 0);
            write(s[1], 0);
            write(s[2], 0xFFFF);
            write(s[3], s[0] == GUEST_CS_SELECTOR ? 0x9B : 0x93);
        }
        write(GUEST_LDTR_SELECTOR, 0);
        write(GUEST_LDTR_BASE, 0);
        write(GUEST_LDTR_LIMIT, 0xFFFF);
        write(GUEST_LDTR_ACCESS_RIGHTS, 0x82);
        write(GUEST_TR_SELECTOR, 0);
        write(GUEST_TR_BASE, 0);
        write(GUEST_TR_LIMIT, 0xFFFF);
        write(GUEST_TR_ACCESS_RIGHTS, 0x8B);
        write(GUEST_GDTR_BASE, 0);
        write(GUEST_GDTR_LIMIT, 0xFFFF);
        write(GUEST_IDTR_BASE, 0);
        write(GUEST_IDTR_LIMIT, 0xFFFF);
        write(GUEST_DR7, 0x400);
        write(GUEST_RSP, 0);
        write(GUEST_RIP, GUEST_ENTRY);
        write(GUEST_RFLAGS, 2);
        write(GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
        write(GUEST_IA32_SYSENTER_ESP, 0);
        write(GUEST_IA32_SYSENTER_EIP, 0);
        write(GUEST_IA32_SYSENTER_CS, 0);
        write(GUEST_INTERRUPTIBILITY_STATE, 0);
        write(GUEST_ACTIVITY_STATE, 0);
        write(VMCS_LINK_POINTER, -1L);
        write(GUEST_IA32_PAT, 0x0007_0406_0007_0406L);
        write(GUEST_IA32_EFER, 0);
    }

    // ---- the 64-bit guest (longModeGuest): guest-physical addresses of its tables
    static final long LONG_MODE_GDT = 0x0600;
    static final long LONG_MODE_TSS = 0x0700;
    static final long LONG_MODE_PML4 = 0x1000;
    static final long LONG_MODE_PDPT = 0x2000;
    static final long LONG_MODE_PD = 0x3000;
    static final long LONG_MODE_IDT = 0x4000;
    /** Selectors of the 64-bit guest's GDT: kernel code and data, user data and code (RPL 3), a 64-bit TSS. */
    static final int KERNEL_CS = 0x08, KERNEL_DS = 0x10, USER_DS = 0x1B, USER_CS = 0x23, TSS_SELECTOR = 0x28;

    /**
     * Makes the guest a 64-bit one at CPL {@code cpl} (0 or 3) entered at {@link #GUEST_ENTRY} with RSP 0x7000
     * (SDM 27.3.1: "IA-32e mode guest", CR0.PE/PG, CR4.PAE, IA32_EFER.LME/LMA): guest-linear 0-2 MiB identity-mapped
     * by one writable, user-accessible 2-MiB page; a GDT with kernel and user code and data segments and a busy
     * 64-bit TSS (RSP0 = 0x6000, no I/O permission bitmap); an IDT of 256 empty gates at {@link #LONG_MODE_IDT}.
     */
    void longModeGuest(int cpl) {
        long user = 4;
        memory.write64(guestRam + LONG_MODE_PML4, LONG_MODE_PDPT | 3 | user);
        memory.write64(guestRam + LONG_MODE_PDPT, LONG_MODE_PD | 3 | user);
        memory.write64(guestRam + LONG_MODE_PD, 0x83 | user); // PS: a 2-MiB page at 0
        long[] gdt = {0, 0x00AF_9B00_0000_FFFFL, 0x00CF_9300_0000_FFFFL, 0x00CF_F300_0000_FFFFL,
                0x00AF_FB00_0000_FFFFL, 0x67 | (LONG_MODE_TSS << 16) | (0x8BL << 40), 0};
        for (int i = 0; i < gdt.length; i++) {
            memory.write64(guestRam + LONG_MODE_GDT + 8L * i, gdt[i]);
        }
        memory.write64(guestRam + LONG_MODE_TSS + 4, 0x6000); // RSP0
        memory.write16(guestRam + LONG_MODE_TSS + 0x66, 0x68); // I/O map base beyond the limit: no I/O bitmap
        write(VM_ENTRY_CONTROLS, read(VM_ENTRY_CONTROLS) | VmEntryControls.IA32E_MODE_GUEST
                | VmEntryControls.LOAD_IA32_EFER);
        write(GUEST_IA32_EFER, Efer.LME | Efer.LMA);
        write(GUEST_CR0, Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.PG);
        write(CR0_READ_SHADOW, Cr0.PE | Cr0.MP | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.PG);
        write(GUEST_CR4, Cr4.PAE | Cr4.VMXE);
        write(GUEST_CR3, LONG_MODE_PML4);
        int cs = cpl == 0 ? KERNEL_CS : USER_CS;
        int ds = cpl == 0 ? KERNEL_DS : USER_DS;
        int dpl = cpl << 5;
        VmcsField[][] segments = {
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS},
                {GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS},
                {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}};
        for (VmcsField[] seg : segments) {
            boolean code = seg[0] == GUEST_CS_SELECTOR;
            write(seg[0], code ? cs : ds);
            write(seg[1], 0);
            write(seg[2], 0xFFFF_FFFFL);
            write(seg[3], (code ? 0xA09B : 0xC093) | dpl);
        }
        write(GUEST_TR_SELECTOR, TSS_SELECTOR);
        write(GUEST_TR_BASE, LONG_MODE_TSS);
        write(GUEST_TR_LIMIT, 0x67);
        write(GUEST_TR_ACCESS_RIGHTS, 0x8B);
        write(GUEST_LDTR_SELECTOR, 0);
        write(GUEST_LDTR_ACCESS_RIGHTS, 1 << 16); // unusable
        write(GUEST_GDTR_BASE, LONG_MODE_GDT);
        write(GUEST_GDTR_LIMIT, 8L * gdt.length - 1);
        write(GUEST_IDTR_BASE, LONG_MODE_IDT);
        write(GUEST_IDTR_LIMIT, 0xFFF);
        write(GUEST_RSP, 0x7000);
    }

    // ---- the 32-bit protected-mode guest (protectedModeGuest)
    static final long PROTECTED_GDT = 0x0600;
    static final long PROTECTED_TSS = 0x0700;
    static final long PROTECTED_IDT = 0x4000;
    /** Its GDT: flat 32-bit code and data, the current (busy) TSS, an available TSS, another busy TSS, a task gate. */
    static final int CODE32 = 0x08, DATA32 = 0x10, CURRENT_TSS = 0x18, AVAILABLE_TSS = 0x20, BUSY_TSS = 0x28,
            TASK_GATE = 0x30;

    /**
     * Makes the guest a 32-bit protected-mode one without paging at CPL 0, entered at {@link #GUEST_ENTRY} with
     * ESP 0x7000: flat segments, TR = the busy 32-bit TSS at {@link #PROTECTED_TSS}, a task gate to the available TSS
     * in the GDT ({@link #TASK_GATE}) and an IDT of 8-byte gates at {@link #PROTECTED_IDT}.
     */
    void protectedModeGuest() {
        long[] gdt = {0, 0x00CF_9B00_0000_FFFFL, 0x00CF_9300_0000_FFFFL, tss32(PROTECTED_TSS, 0x8B),
                tss32(0x0800, 0x89), tss32(0x0900, 0x8B), ((long) AVAILABLE_TSS << 16) | (0x85L << 40)};
        for (int i = 0; i < gdt.length; i++) {
            memory.write64(guestRam + PROTECTED_GDT + 8L * i, gdt[i]);
        }
        write(GUEST_CR0, Cr0.PE | Cr0.ET | Cr0.NE);
        write(CR0_READ_SHADOW, Cr0.PE | Cr0.ET | Cr0.NE);
        VmcsField[][] segments = {
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS},
                {GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS},
                {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}};
        for (VmcsField[] seg : segments) {
            boolean code = seg[0] == GUEST_CS_SELECTOR;
            write(seg[0], code ? CODE32 : DATA32);
            write(seg[1], 0);
            write(seg[2], 0xFFFF_FFFFL);
            write(seg[3], code ? 0xC09B : 0xC093);
        }
        write(GUEST_TR_SELECTOR, CURRENT_TSS);
        write(GUEST_TR_BASE, PROTECTED_TSS);
        write(GUEST_TR_LIMIT, 0x67);
        write(GUEST_TR_ACCESS_RIGHTS, 0x8B);
        write(GUEST_GDTR_BASE, PROTECTED_GDT);
        write(GUEST_GDTR_LIMIT, 8L * gdt.length - 1);
        write(GUEST_IDTR_BASE, PROTECTED_IDT);
        write(GUEST_IDTR_LIMIT, 0x7FF);
        write(GUEST_RSP, 0x7000);
    }

    /** A 32-bit TSS descriptor with limit 67H and access byte {@code access} (89H available, 8BH busy). */
    private static long tss32(long base, int access) {
        return 0x67 | ((base & 0xFF_FFFFL) << 16) | ((long) access << 40) | ((base >>> 24) << 56);
    }

    /** A 64-bit interrupt gate (type 14) for {@code vector} in the 64-bit guest's IDT, to {@code handler} in CS 8. */
    void interruptGate(int vector, long handler) {
        long low = (handler & 0xFFFF) | ((long) KERNEL_CS << 16) | (0x8EL << 40) | ((handler & 0xFFFF_0000L) << 32);
        memory.write64(guestRam + LONG_MODE_IDT + 16L * vector, low);
        memory.write64(guestRam + LONG_MODE_IDT + 16L * vector + 8, handler >>> 32);
    }

    /** Bytes from hex pairs, "0f 01 c1": guest code as a disassembler shows it. */
    static byte[] code(String hex) {
        String[] parts = hex.trim().split("\\s+");
        byte[] b = new byte[parts.length];
        for (int i = 0; i < parts.length; i++) {
            b[i] = (byte) Integer.parseInt(parts[i], 16);
        }
        return b;
    }

    /** Maps [gpa, gpa + size) to [hpa, ...) with 4-KiB EPT pages and the given permissions. */
    void mapEpt(long gpa, long hpa, long size, long permissions) {
        for (long off = 0; off < size; off += PhysicalMemory.PAGE_SIZE) {
            long pte = eptEntryAddress(gpa + off, 1);
            memory.write64(pte, ((hpa + off) & Ept.ADDRESS_MASK) | permissions
                    | ((long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT));
        }
    }

    /** Removes the 4-KiB mapping of one guest page. */
    void unmapEpt(long gpa) {
        memory.write64(eptEntryAddress(gpa, 1), 0);
    }

    /** The address of the EPT entry at {@code level} (4 = PML4E ... 1 = PTE) for {@code gpa}, creating tables. */
    long eptEntryAddress(long gpa, int level) {
        long table = eptPml4;
        for (int l = 4; l > level; l--) {
            long entry = table + ((gpa >>> (12 + 9 * (l - 1))) & 0x1FF) * 8;
            long e = memory.read64(entry);
            if ((e & 7) == 0) {
                long next = memory.allocateFrame();
                e = next | Ept.READ | Ept.WRITE | Ept.EXECUTE;
                memory.write64(entry, e);
            }
            table = e & Ept.ADDRESS_MASK;
        }
        return table + ((gpa >>> (12 + 9 * (level - 1))) & 0x1FF) * 8;
    }

    /** Copies guest code or data to guest-physical {@code gpa}. */
    void load(long gpa, byte[] bytes) {
        memory.write(guestRam + gpa, bytes, 0, bytes.length);
    }

    int guestByte(long gpa) {
        return memory.read8(guestRam + gpa);
    }

    static byte[] bytes(int... values) {
        byte[] b = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            b[i] = (byte) values[i];
        }
        return b;
    }

    int exitReason() {
        return read32(EXIT_REASON);
    }
}
