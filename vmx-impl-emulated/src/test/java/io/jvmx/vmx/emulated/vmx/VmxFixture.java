package io.jvmx.vmx.emulated.vmx;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.HostContext;
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
        HostContext h = cpu.hostContext();
        write(HOST_CR0, h.cr0());
        write(HOST_CR3, h.cr3());
        write(HOST_CR4, h.cr4());
        write(HOST_CS_SELECTOR, h.csSelector());
        write(HOST_SS_SELECTOR, h.ssSelector());
        write(HOST_DS_SELECTOR, h.dsSelector());
        write(HOST_ES_SELECTOR, h.esSelector());
        write(HOST_FS_SELECTOR, h.fsSelector());
        write(HOST_GS_SELECTOR, h.gsSelector());
        write(HOST_TR_SELECTOR, h.trSelector());
        write(HOST_FS_BASE, h.fsBase());
        write(HOST_GS_BASE, h.gsBase());
        write(HOST_TR_BASE, h.trBase());
        write(HOST_GDTR_BASE, h.gdtrBase());
        write(HOST_IDTR_BASE, h.idtrBase());
        write(HOST_IA32_PAT, h.pat());
        write(HOST_IA32_EFER, h.efer());
        write(HOST_RSP, h.rsp());
        write(HOST_RIP, h.rip());
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
