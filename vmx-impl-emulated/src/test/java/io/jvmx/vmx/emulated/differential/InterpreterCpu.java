package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.SecondaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.ept.Ept;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.HostContext;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessor;

import java.util.Arrays;

/**
 * The software processor as the system under test: runs one instruction as a 64-bit guest at CPL 0 in VMX non-root
 * operation, driven only through the public VMX SPI of {@link SoftwareVmxProcessor} (VMXON, VMCLEAR, VMPTRLD,
 * VMWRITE, VMLAUNCH/VMRESUME, VMREAD), so it does not depend on the interpreter's internals.
 *
 * <p>The guest's linear address space holds exactly three pages, mapped by 4-level guest page tables (SDM Vol. 3A,
 * 4.5): the code page and the data page at the same linear addresses as {@link NativeCpu}'s (so pointers and
 * RIP-relative addresses are the same numbers on both sides), and a stack page. The instruction sits at the same
 * offset as in the native stub and is followed by HLT; with "HLT exiting" (SDM Vol. 3C, 26.1.3) the run ends with exit
 * reason 12 right after the instruction. Every exception exits (exception bitmap all ones, page-fault error-code
 * mask/match 0: SDM 26.2), so a fault or an unimplemented instruction (#UD) shows up as an EXCEPTION_OR_NMI exit with
 * its vector; a VMX-preemption timer bounds a run that would never reach the HLT.
 *
 * <p>Why CPL 0 and not 3 like the native side: at CPL 3, HLT raises #GP before the HLT-exiting check (SDM Vol. 3C,
 * 26.1.1: privilege-based faults have priority over VM exits). No instruction tested here behaves differently at CPL 0.
 *
 * <p>One processor and VMCS serve many cases (VMRESUME after each HLT exit). After a case that did not end with the
 * expected HLT exit, the processor is rebuilt, so a misbehaving instruction cannot leak state into the next case.
 */
final class InterpreterCpu implements AutoCloseable {
    /**
     * The outcome of one case. {@code failure} is null if the guest exited on the HLT after the instruction, else what
     * happened instead; {@code state} is the guest's registers, flags and data page at the exit either way (null only
     * if the software processor threw); {@code exceptionVector} is the vector of an exception exit, else -1;
     * {@code atInstruction} says whether the exit's RIP is the instruction's (as for a fault).
     */
    record Outcome(MachineState state, String failure, int exceptionVector, boolean atInstruction) {
        boolean halted() {
            return failure == null;
        }
    }

    private static final long PHYSICAL_BYTES = 1L << 20;
    private static final int GUEST_RAM_PAGES = 64;
    private static final long PAGE_TABLES_GPA = 0x1000;
    private static final long PAGE_TABLES_END_GPA = 0x10000;
    private static final long CODE_GPA = 0x10000;
    private static final long DATA_GPA = 0x11000;
    private static final long STACK_GPA = 0x12000;
    /** The x87 page: the input FXSAVE image at offset 0, the output image at {@link #X87_OUT}. */
    private static final long X87_GPA = 0x13000;
    private static final int X87_OUT = MachineState.X87_IMAGE_BYTES;
    /** FXRSTOR64 [RIP + disp32] (REX.W 0F AE /1, ModRM 00 001 101) and FXSAVE64 [RIP + disp32] (/0): 8 bytes each. */
    private static final int FX_LENGTH = 8;
    /** Present, writable, user (SDM Vol. 3A, Table 4-15 ff.). */
    private static final long PTE_PRESENT_WRITABLE_USER = 0x7;
    private static final long PTE_ADDRESS = 0x000F_FFFF_FFFF_F000L;
    private static final int HLT = 0xF4;
    private static final byte INT3 = (byte) 0xCC;
    /**
     * VMX-preemption timer value for each run: far beyond any case (the longest, a REP string instruction, has 12
     * iterations), so it fires only for a guest that never reaches the HLT (a misdecoded jump, say).
     */
    private static final long PREEMPTION_TIMER = 1L << 20;

    /** CS: 64-bit code (L), present, DPL 0, execute/read accessed (SDM Vol. 3C, 25.4.1 access-rights format). */
    private static final int CS_ACCESS_RIGHTS = 0xA09B;
    /** SS and data segments: read/write accessed, present, DPL 0, 32-bit default, 4-KiB granularity. */
    private static final int DATA_ACCESS_RIGHTS = 0xC093;
    private static final int TSS_ACCESS_RIGHTS = 0x8B;
    private static final int UNUSABLE = 1 << 16;

    private final long codeLinear;
    private final int instructionOffset;
    private final long dataLinear;
    private final long stackLinear;
    /** Linear address of the x87 page: after the native pages, within reach of a RIP-relative displacement. */
    private final long x87Linear;

    private SoftwareVmxProcessor cpu;
    private PhysicalMemory memory;
    private long guestRam;
    private long nextTableGpa;
    private boolean launched;
    private final GeneralRegisters registers = new GeneralRegisters();
    private final byte[] codeFill = new byte[NativeCpu.PAGE];

    InterpreterCpu(long codeLinear, int instructionOffset, long dataLinear) {
        this.codeLinear = codeLinear;
        this.instructionOffset = instructionOffset;
        this.dataLinear = dataLinear;
        long stack = codeLinear + 2 * NativeCpu.PAGE;
        this.stackLinear = stack == dataLinear ? codeLinear + 3 * NativeCpu.PAGE : stack;
        this.x87Linear = codeLinear + 5 * NativeCpu.PAGE;
        if (x87Linear == dataLinear || instructionOffset < FX_LENGTH) {
            throw new IllegalArgumentException("no room for the x87 page or the FXRSTOR64 before the instruction");
        }
        Arrays.fill(codeFill, INT3);
    }

    /** The software processor's own CPUID (what it claims to implement), through the SPI. */
    int[] cpuid(int leaf, int subleaf) {
        ensureProcessor();
        var r = cpu.cpuid(leaf, subleaf);
        return new int[] {r.eax(), r.ebx(), r.ecx(), r.edx()};
    }

    /**
     * Runs {@code instruction} then HLT on the registers, flags and data page of {@code input}; with an x87 state,
     * FXRSTOR64 of it comes right before the instruction and FXSAVE64 of the result right after it.
     */
    Outcome execute(byte[] instruction, MachineState input) {
        ensureProcessor();
        long codePage = guestRam + CODE_GPA;
        boolean x87 = input.x87 != null;
        long rip = codeLinear + instructionOffset;
        long start = rip;
        int after = instructionOffset + instruction.length;
        if (x87) {
            start -= FX_LENGTH;
            memory.write(codePage + instructionOffset - FX_LENGTH, fx(1, start + FX_LENGTH, x87Linear), 0,
                    FX_LENGTH);
            memory.write(codePage + after, fx(0, rip + instruction.length + FX_LENGTH, x87Linear + X87_OUT), 0,
                    FX_LENGTH);
            after += FX_LENGTH;
            memory.write(guestRam + X87_GPA, input.x87, 0, MachineState.X87_IMAGE_BYTES);
            memory.write(guestRam + X87_GPA + X87_OUT, X87Image.unwritten(), 0, MachineState.X87_IMAGE_BYTES);
        }
        memory.write(codePage + instructionOffset, instruction, 0, instruction.length);
        memory.write8(codePage + after, HLT);
        memory.write(guestRam + DATA_GPA, input.data, 0, input.data.length);
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            registers.set(i, i == MachineState.RSP ? 0 : input.gpr[i]);
        }
        long rspBefore = stackLinear + NativeCpu.PAGE / 2;
        long haltAt = codeLinear + after;
        write(GUEST_RIP, start);
        write(GUEST_RSP, rspBefore);
        write(GUEST_RFLAGS, input.rflags | Flags.FIXED_1);
        write(GUEST_ACTIVITY_STATE, 0);
        write(GUEST_INTERRUPTIBILITY_STATE, 0);
        try {
            if (launched) {
                cpu.vmresume(registers);
            } else {
                cpu.vmlaunch(registers);
                launched = true;
            }
        } catch (IllegalStateException interpreterError) {
            discardProcessor();
            return new Outcome(null, "the software processor threw: " + interpreterError.getMessage(), -1, false);
        }
        String failure = checkExit(haltAt);
        boolean exception = (read(EXIT_REASON) & 0xFFFF) == ExitReason.EXCEPTION_OR_NMI.number();
        int vector = exception ? InterruptionInfo.decode(read(VM_EXIT_INTERRUPTION_INFORMATION)).vector() : -1;
        boolean atInstruction = read(GUEST_RIP) == rip;
        MachineState out = new MachineState(input.data.length);
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            out.gpr[i] = registers.get(i);
        }
        out.gpr[MachineState.RSP] = read(GUEST_RSP) - rspBefore;
        out.rflags = read(GUEST_RFLAGS);
        memory.read(guestRam + DATA_GPA, out.data, 0, out.data.length);
        if (x87) {
            out.x87 = new byte[MachineState.X87_IMAGE_BYTES];
            memory.read(guestRam + X87_GPA + X87_OUT, out.x87, 0, out.x87.length);
        }
        if (failure != null) {
            discardProcessor();
        } else {
            // put the INT3 filler back where the instructions and the HLT were
            int from = x87 ? instructionOffset - FX_LENGTH : instructionOffset;
            memory.write(codePage + from, codeFill, 0, after + 1 - from);
        }
        return new Outcome(out, failure, vector, atInstruction);
    }

    /** FXSAVE64 ({@code digit} 0) or FXRSTOR64 (1) of the image at {@code target}, RIP-relative from {@code next}. */
    private static byte[] fx(int digit, long next, long target) {
        long disp = target - next;
        if (disp != (int) disp) {
            throw new IllegalStateException("the x87 page is out of reach of a RIP-relative displacement");
        }
        return new byte[] {0x48, 0x0F, (byte) 0xAE, (byte) (digit << 3 | 0b101), (byte) disp, (byte) (disp >>> 8),
                (byte) (disp >>> 16), (byte) (disp >>> 24)};
    }

    /** Null if the guest exited on the HLT that follows the instruction; otherwise what happened instead. */
    private String checkExit(long haltAt) {
        long reasonField = read(EXIT_REASON);
        long rip = read(GUEST_RIP);
        String where = describeRip(rip, haltAt);
        if ((reasonField & (1L << 31)) != 0) {
            throw new IllegalStateException("VM entry failed (exit reason " + reasonField + "): "
                    + cpu.lastEntryFailure() + " — the harness's guest state is wrong");
        }
        int basic = (int) (reasonField & 0xFFFF);
        if (basic == ExitReason.HLT.number() && rip == haltAt) {
            return null;
        }
        if (basic == ExitReason.EXCEPTION_OR_NMI.number()) {
            InterruptionInfo info = InterruptionInfo.decode(read(VM_EXIT_INTERRUPTION_INFORMATION));
            String error = info.errorCodeValid()
                    ? String.format(" error code %#x", read(VM_EXIT_INTERRUPTION_ERROR_CODE)) : "";
            String address = info.vector() == 14 ? String.format(" (linear address %#x)", read(EXIT_QUALIFICATION))
                    : "";
            return "exception " + exceptionName(info.vector()) + error + address + " at " + where;
        }
        String name = ExitReason.of(basic).map(Enum::name).orElse("#" + basic);
        return "exit " + name + " (" + basic + ") at " + where;
    }

    private String describeRip(long rip, long haltAt) {
        long start = codeLinear + instructionOffset;
        if (rip == start) {
            return "the instruction";
        }
        if (rip == haltAt) {
            return "the HLT after it";
        }
        return String.format("RIP %+d from the instruction (the HLT is at %+d: the length was decoded wrong?)",
                rip - start, haltAt - start);
    }

    static String exceptionName(int vector) {
        String[] names = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "vector 9", "#TS", "#NP",
                "#SS", "#GP", "#PF", "vector 15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP"};
        return vector < names.length ? names[vector] : "vector " + vector;
    }

    // ---- the processor, its VMCS and the guest ----------------------------------------------------------------------

    private void ensureProcessor() {
        if (cpu != null) {
            return;
        }
        memory = ByteBufferPhysicalMemory.allocate(PHYSICAL_BYTES);
        cpu = new SoftwareVmxProcessor(memory);
        launched = false;
        // SDM Vol. 3C, 24.7: enable VMX in IA32_FEATURE_CONTROL and CR4, then VMXON; VMCLEAR and VMPTRLD a VMCS.
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE);
        cpu.vmxon(vmxRegion());
        long vmcs = vmxRegion();
        cpu.vmclear(vmcs);
        cpu.vmptrld(vmcs);
        guestRam = memory.allocateFrames(GUEST_RAM_PAGES);
        long eptPml4 = memory.allocateFrame();
        mapEpt(eptPml4, GUEST_RAM_PAGES);
        writeControls(Ept.eptPointer(eptPml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, false));
        writeHostState();
        nextTableGpa = PAGE_TABLES_GPA + NativeCpu.PAGE;
        mapGuestPage(codeLinear, CODE_GPA);
        mapGuestPage(dataLinear, DATA_GPA);
        mapGuestPage(stackLinear, STACK_GPA);
        mapGuestPage(x87Linear, X87_GPA);
        memory.write(guestRam + CODE_GPA, codeFill, 0, codeFill.length);
        writeGuestState();
    }

    private void discardProcessor() {
        if (cpu != null) {
            cpu.close();
            cpu = null;
        }
    }

    @Override
    public void close() {
        discardProcessor();
    }

    /** A zeroed frame with the VMCS revision identifier, for VMXON or a VMCS (SDM Vol. 3C, 25.2). */
    private long vmxRegion() {
        long pa = memory.allocateFrame();
        memory.write32(pa, (int) cpu.rdmsr(Msr.IA32_VMX_BASIC) & 0x7FFF_FFFF);
        return pa;
    }

    /** Identity EPT (guest-physical = offset in guest RAM), read/write/execute, write-back (SDM Vol. 3C, 29.3.2). */
    private void mapEpt(long pml4, int pages) {
        for (int page = 0; page < pages; page++) {
            long gpa = (long) page * NativeCpu.PAGE;
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
            memory.write64(table + ((gpa >>> 12) & 0x1FF) * 8, ((guestRam + gpa) & Ept.ADDRESS_MASK) | Ept.READ
                    | Ept.WRITE | Ept.EXECUTE | ((long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT));
        }
    }

    /** Maps one 4-KiB guest page with the guest's own 4-level page tables (SDM Vol. 3A, 4.5.4). */
    private void mapGuestPage(long linear, long gpa) {
        long table = PAGE_TABLES_GPA;
        for (int level = 4; level > 1; level--) {
            long entry = guestRam + table + ((linear >>> (12 + 9 * (level - 1))) & 0x1FF) * 8;
            long e = memory.read64(entry);
            if ((e & 1) == 0) {
                if (nextTableGpa >= PAGE_TABLES_END_GPA) {
                    throw new IllegalStateException("out of guest page-table frames");
                }
                e = nextTableGpa | PTE_PRESENT_WRITABLE_USER;
                nextTableGpa += NativeCpu.PAGE;
                memory.write64(entry, e);
            }
            table = e & PTE_ADDRESS;
        }
        memory.write64(guestRam + table + ((linear >>> 12) & 0x1FF) * 8, gpa | PTE_PRESENT_WRITABLE_USER);
    }

    private void write(VmcsField field, long value) {
        cpu.vmwrite(field.encoding(), value);
    }

    private long read(VmcsField field) {
        return cpu.vmread(field.encoding());
    }

    /** The allowed-0 settings added; fails if a wanted control is not allowed (SDM Vol. 3C, A.3-A.5). */
    private int controls(int capabilityMsr, int wanted) {
        long capability = cpu.rdmsr(capabilityMsr);
        int allowed0 = (int) capability;
        int allowed1 = (int) (capability >>> 32);
        if ((wanted & ~allowed1) != 0) {
            throw new IllegalStateException(String.format("the software processor does not allow controls %#x "
                    + "(capability MSR %#x)", wanted & ~allowed1, capabilityMsr));
        }
        return wanted | allowed0;
    }

    private void writeControls(long eptPointer) {
        write(PIN_BASED_VM_EXECUTION_CONTROLS, controls(Msr.IA32_VMX_TRUE_PINBASED_CTLS,
                PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER));
        write(PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, controls(Msr.IA32_VMX_TRUE_PROCBASED_CTLS,
                PrimaryProcessorBasedControls.HLT_EXITING
                        | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS));
        write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, controls(Msr.IA32_VMX_PROCBASED_CTLS2,
                SecondaryProcessorBasedControls.ENABLE_EPT));
        write(PRIMARY_VM_EXIT_CONTROLS, controls(Msr.IA32_VMX_TRUE_EXIT_CTLS,
                VmExitControls.HOST_ADDRESS_SPACE_SIZE | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT));
        write(VM_ENTRY_CONTROLS, controls(Msr.IA32_VMX_TRUE_ENTRY_CTLS,
                VmEntryControls.IA32E_MODE_GUEST | VmEntryControls.LOAD_IA32_EFER));
        write(EPT_POINTER, eptPointer);
        write(EXCEPTION_BITMAP, 0xFFFF_FFFFL);
        write(PAGE_FAULT_ERROR_CODE_MASK, 0);
        write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
        write(CR3_TARGET_COUNT, 0);
        write(VM_ENTRY_INTERRUPTION_INFORMATION, 0);
        write(VMX_PREEMPTION_TIMER_VALUE, PREEMPTION_TIMER);
        // CR0/CR4 owned by the guest: no mask, so the shadows do not matter
        write(CR0_GUEST_HOST_MASK, 0);
        write(CR4_GUEST_HOST_MASK, 0);
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

    /**
     * A 64-bit guest at CPL 0 (SDM Vol. 3C, 27.3.1 checks): CR0 PE PG NE ET, CR4 PAE OSFXSR OSXMMEXCPT (and VMXE, a
     * fixed-1 bit in VMX operation), EFER LME LMA (loaded by VM entry), CS with L = 1, flat data segments, a busy 64-bit TSS.
     */
    private void writeGuestState() {
        long cr0 = Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET;
        long cr4 = Cr4.PAE | Cr4.VMXE | Cr4.OSFXSR | Cr4.OSXMMEXCPT; // as Linux runs user code: FXSAVE with XMM
        write(GUEST_CR0, cr0);
        write(GUEST_CR3, PAGE_TABLES_GPA);
        write(GUEST_CR4, cr4);
        write(CR0_READ_SHADOW, cr0);
        write(CR4_READ_SHADOW, cr4 & ~Cr4.VMXE);
        write(GUEST_IA32_EFER, Efer.LME | Efer.LMA);
        segment(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS, 0x08, CS_ACCESS_RIGHTS);
        VmcsField[][] data = {
                {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS},
                {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}};
        for (VmcsField[] s : data) {
            segment(s[0], s[1], s[2], s[3], 0x10, DATA_ACCESS_RIGHTS);
        }
        write(GUEST_LDTR_SELECTOR, 0);
        write(GUEST_LDTR_BASE, 0);
        write(GUEST_LDTR_LIMIT, 0);
        write(GUEST_LDTR_ACCESS_RIGHTS, UNUSABLE);
        write(GUEST_TR_SELECTOR, 0x18);
        write(GUEST_TR_BASE, 0);
        write(GUEST_TR_LIMIT, 0x67);
        write(GUEST_TR_ACCESS_RIGHTS, TSS_ACCESS_RIGHTS);
        write(GUEST_GDTR_BASE, 0);
        write(GUEST_GDTR_LIMIT, 0x27);
        write(GUEST_IDTR_BASE, 0);
        write(GUEST_IDTR_LIMIT, 0xFFF);
        write(GUEST_DR7, 0x400);
        write(GUEST_PENDING_DEBUG_EXCEPTIONS, 0);
        write(GUEST_IA32_SYSENTER_ESP, 0);
        write(GUEST_IA32_SYSENTER_EIP, 0);
        write(GUEST_IA32_SYSENTER_CS, 0);
        write(VMCS_LINK_POINTER, -1L);
        write(GUEST_IA32_PAT, 0x0007_0406_0007_0406L);
    }

    private void segment(VmcsField selector, VmcsField base, VmcsField limit, VmcsField accessRights, int sel,
                         int ar) {
        write(selector, sel);
        write(base, 0);
        write(limit, 0xFFFF_FFFFL);
        write(accessRights, ar);
    }
}
