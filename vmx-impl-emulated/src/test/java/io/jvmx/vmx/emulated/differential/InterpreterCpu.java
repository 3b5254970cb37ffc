package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.api.vmcs.VmcsField.*;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Xcr0;
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
 * <p>The guest's linear address space holds exactly four pages, mapped by 4-level guest page tables (SDM Vol. 3A,
 * 4.5): the code page and the data page at the same linear addresses as {@link NativeCpu}'s (so pointers and
 * RIP-relative addresses are the same numbers on both sides), the state page with the FXSAVE images of cases with an
 * x87/SSE state (where the native stub keeps its own page), and a stack page. The instruction sits at the same
 * offset as in the native stub (for cases with an x87/SSE state between FXRSTOR64 and FXSAVE64 of the images, see
 * {@link FxsaveImage}) and is followed by HLT; with "HLT exiting" (SDM Vol. 3C, 26.1.3) the run ends with exit
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
     * {@code atInstruction} says whether the exit's RIP is the instruction's (as for a fault); {@code retired} is how
     * many instructions the guest retired.
     */
    record Outcome(MachineState state, String failure, int exceptionVector, boolean atInstruction, long retired) {
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
    /** The state page: the case's FXSAVE image at {@link #FXSAVE_IN}, the result's at {@link #FXSAVE_OUT}. */
    private static final long STATE_GPA = 0x13000;
    private static final int FXSAVE_IN = 0, FXSAVE_OUT = FxsaveImage.BYTES;
    /**
     * The ModRM digits of FXSAVE and FXRSTOR (0F AE /0, /1), and the lengths of FXSAVE64/FXRSTOR64 [RIP + disp32]
     * and, in 32-bit code, FXSAVE/FXRSTOR [disp32].
     */
    private static final int FXSAVE = 0, FXRSTOR = 1, FX64_BYTES = 8, FX32_BYTES = 7;
    /** #XM, the SIMD floating-point exception (SDM Vol. 3A, 6.15, Interrupt 19). */
    private static final int SIMD_FLOATING_POINT = 19;
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
    /** CS for 32-bit cases: 32-bit code (D, no L), present, DPL 0, execute/read accessed, 4-KiB granularity. */
    private static final int CS32_ACCESS_RIGHTS = 0xC09B;
    /** SS and data segments: read/write accessed, present, DPL 0, 32-bit default, 4-KiB granularity. */
    private static final int DATA_ACCESS_RIGHTS = 0xC093;
    private static final int TSS_ACCESS_RIGHTS = 0x8B;
    private static final int UNUSABLE = 1 << 16;

    private final long codeLinear;
    private final int instructionOffset;
    private final long dataLinear;
    private final long stackLinear;
    private final long stateLinear;

    private SoftwareVmxProcessor cpu;
    private PhysicalMemory memory;
    private long guestRam;
    private long nextTableGpa;
    private boolean launched;
    private final GeneralRegisters registers = new GeneralRegisters();
    private final boolean blockTranslation;
    /** Blocks translated by processors discarded after a run that did not end on the HLT. */
    private long translatedByDiscarded;
    private final byte[] codeFill = new byte[NativeCpu.PAGE];

    InterpreterCpu(long codeLinear, int instructionOffset, long dataLinear) {
        this(codeLinear, instructionOffset, dataLinear, true);
    }

    /**
     * @param blockTranslation whether the processor translates hot blocks to bytecode (its default) or interprets
     *                         every instruction: TranslatedBlockTest runs code both ways
     */
    InterpreterCpu(long codeLinear, int instructionOffset, long dataLinear, boolean blockTranslation) {
        this.blockTranslation = blockTranslation;
        this.codeLinear = codeLinear;
        this.instructionOffset = instructionOffset;
        this.dataLinear = dataLinear;
        // the native stub page's address: a page the cases' instructions do not touch, within RIP-relative reach
        this.stateLinear = codeLinear + NativeCpu.STUB_PAGE_FROM_CODE;
        if (instructionOffset < FX64_BYTES) {
            throw new IllegalArgumentException("no room for the FXRSTOR64 before the instruction");
        }
        long stack = codeLinear + 3 * NativeCpu.PAGE;
        this.stackLinear = stack == dataLinear ? codeLinear + 4 * NativeCpu.PAGE : stack;
        Arrays.fill(codeFill, INT3);
    }

    /**
     * The VMX-preemption timer value the next runs start with (default 2^20 ticks, a bound against runaway guests):
     * a smaller value ends a run with a VMX_PREEMPTION_TIMER_EXPIRED exit, reported as the run's failure.
     */
    void preemptionTimer(long ticks) {
        ensureProcessor();
        write(VMX_PREEMPTION_TIMER_VALUE, ticks);
    }

    /** How many blocks the processors of this harness have translated to bytecode so far. */
    long translatedBlocks() {
        ensureProcessor();
        return translatedByDiscarded + cpu.translatedBlocks();
    }

    /** The software processor's own CPUID (what it claims to implement), through the SPI. */
    int[] cpuid(int leaf, int subleaf) {
        ensureProcessor();
        var r = cpu.cpuid(leaf, subleaf);
        return new int[] {r.eax(), r.ebx(), r.ecx(), r.edx()};
    }

    /**
     * Runs {@code instruction} then HLT on the registers, flags and data page of {@code input}; with an x87/SSE state,
     * FXRSTOR64 of its image comes right before the instruction and FXSAVE64 of the result right after it (in 32-bit
     * code FXRSTOR and FXSAVE with absolute addresses), both in the state page.
     */
    Outcome execute(byte[] instruction, MachineState input) {
        ensureProcessor();
        long codePage = guestRam + CODE_GPA;
        boolean state = input.fxsave != null;
        int start = instructionOffset;
        int end = instructionOffset + instruction.length;
        memory.write(codePage + instructionOffset, instruction, 0, instruction.length);
        // 32-bit cases run in compatibility mode: a 32-bit code segment (L = 0, D = 1) in IA-32e mode; the data
        // segments are flat already, so the FXRSTOR is all that goes before the instruction
        write(GUEST_CS_ACCESS_RIGHTS, input.compat ? CS32_ACCESS_RIGHTS : CS_ACCESS_RIGHTS);
        if (state) {
            start -= input.compat ? FX32_BYTES : FX64_BYTES;
            byte[] restore = fx(FXRSTOR, start, FXSAVE_IN, input.compat);
            memory.write(codePage + start, restore, 0, restore.length);
            byte[] save = fx(FXSAVE, end, FXSAVE_OUT, input.compat);
            memory.write(codePage + end, save, 0, save.length);
            end += save.length;
            memory.write(guestRam + STATE_GPA + FXSAVE_IN, input.fxsave, 0, FxsaveImage.BYTES);
            memory.write(guestRam + STATE_GPA + FXSAVE_OUT, FxsaveImage.unwritten(), 0, FxsaveImage.BYTES);
        }
        memory.write8(codePage + end, HLT);
        memory.write(guestRam + DATA_GPA, input.data, 0, input.data.length);
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            registers.set(i, i == MachineState.RSP ? 0 : input.gpr[i]);
        }
        long rspBefore = stackLinear + NativeCpu.PAGE / 2;
        long rip = codeLinear + instructionOffset;
        long haltAt = codeLinear + end;
        write(GUEST_RIP, codeLinear + start);
        write(GUEST_RSP, rspBefore);
        write(GUEST_RFLAGS, input.rflags | Flags.FIXED_1);
        write(GUEST_ACTIVITY_STATE, 0);
        write(GUEST_INTERRUPTIBILITY_STATE, 0);
        long retiredBefore = cpu.guestInstructionsRetired();
        try {
            if (launched) {
                cpu.vmresume(registers);
            } else {
                cpu.vmlaunch(registers);
                launched = true;
            }
        } catch (IllegalStateException interpreterError) {
            discardProcessor();
            return new Outcome(null, "the software processor threw: " + interpreterError.getMessage(), -1, false, 0);
        }
        String failure = checkExit(haltAt);
        boolean exception = (read(EXIT_REASON) & 0xFFFF) == ExitReason.EXCEPTION_OR_NMI.number();
        int vector = exception ? InterruptionInfo.decode(read(VM_EXIT_INTERRUPTION_INFORMATION)).vector() : -1;
        boolean atInstruction = read(GUEST_RIP) == rip;
        int raised = -1;
        if (input.unmasksSimdExceptions() && exception && atInstruction && vector == SIMD_FLOATING_POINT) {
            // as the native stub's handler does: note the #XM and go on after the instruction, so that the FXSAVE
            // shows the state the exception left (MXCSR flags set, destination unchanged)
            raised = vector;
            write(GUEST_RIP, rip + instruction.length);
            try {
                cpu.vmresume(registers);
            } catch (IllegalStateException interpreterError) {
                discardProcessor();
                return new Outcome(null, "the software processor threw: " + interpreterError.getMessage(), -1,
                        false, 0);
            }
            failure = checkExit(haltAt);
            exception = (read(EXIT_REASON) & 0xFFFF) == ExitReason.EXCEPTION_OR_NMI.number();
            vector = exception ? InterruptionInfo.decode(read(VM_EXIT_INTERRUPTION_INFORMATION)).vector() : -1;
            atInstruction = false;
        }
        long retired = cpu.guestInstructionsRetired() - retiredBefore;
        MachineState out = new MachineState(input.data.length);
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            out.gpr[i] = registers.get(i);
        }
        out.gpr[MachineState.RSP] = read(GUEST_RSP) - rspBefore;
        out.rflags = read(GUEST_RFLAGS);
        memory.read(guestRam + DATA_GPA, out.data, 0, out.data.length);
        out.exception = raised;
        if (state) {
            // a run that did not reach the FXSAVE leaves the output image unwritten
            out.fxsave = new byte[FxsaveImage.BYTES];
            memory.read(guestRam + STATE_GPA + FXSAVE_OUT, out.fxsave, 0, out.fxsave.length);
        }
        if (failure != null) {
            discardProcessor();
        } else {
            // put the INT3 filler back where the FXRSTOR, the instruction, the FXSAVE and the HLT were
            memory.write(codePage + start, codeFill, 0, end - start + 1);
        }
        return new Outcome(out, failure, vector, atInstruction, retired);
    }

    /**
     * FXSAVE64 or FXRSTOR64 [RIP + disp32] (REX.W 0F AE /0 or /1, ModRM 00 digit 101) of the image at
     * {@code offset} in the state page, placed at code-page offset {@code at}; in 32-bit code FXSAVE or FXRSTOR [disp32]
     * (ModRM 00 digit 101 is an absolute address there: Vol. 2A, Table 2-1), which needs the page below 4 GiB.
     */
    private byte[] fx(int digit, int at, int offset, boolean compat) {
        long target = stateLinear + offset;
        if (compat) {
            if (target + FxsaveImage.BYTES > 1L << 32) {
                throw new IllegalStateException("the state page is above 4 GiB: no 32-bit cases");
            }
            return new byte[] {0x0F, (byte) 0xAE, (byte) (digit << 3 | 0b101), (byte) target, (byte) (target >>> 8),
                    (byte) (target >>> 16), (byte) (target >>> 24)};
        }
        long disp = target - (codeLinear + at + FX64_BYTES);
        if (disp != (int) disp) {
            throw new IllegalStateException("the state page is out of reach of a RIP-relative displacement");
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
        cpu.setBlockTranslation(blockTranslation);
        launched = false;
        // SDM Vol. 3C, 24.7: enable VMX in IA32_FEATURE_CONTROL and CR4, then VMXON; VMCLEAR and VMPTRLD a VMCS.
        cpu.wrmsr(Msr.IA32_FEATURE_CONTROL, Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX);
        cpu.writeCr(4, cpu.readCr(4) | Cr4.VMXE | Cr4.OSXSAVE);
        cpu.xsetbv(0, Xcr0.X87 | Xcr0.SSE); // XCR0 is not switched by VM entry: the guest's XSAVE sees this one
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
        mapGuestPage(stateLinear, STATE_GPA);
        memory.write(guestRam + CODE_GPA, codeFill, 0, codeFill.length);
        writeGuestState();
    }

    private void discardProcessor() {
        if (cpu != null) {
            translatedByDiscarded += cpu.translatedBlocks();
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
     * A 64-bit guest at CPL 0 (SDM Vol. 3C, 27.3.1 checks): CR0 PE PG NE ET, CR4 PAE, OSFXSR, OSXMMEXCPT and OSXSAVE
     * (and VMXE, a fixed-1 bit in VMX operation), EFER LME LMA (loaded by VM entry), CS with L = 1, flat data segments, a busy 64-bit TSS.
     */
    private void writeGuestState() {
        long cr0 = Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET;
        long cr4 = Cr4.PAE | Cr4.VMXE | Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.OSXSAVE; // SSE and XSAVE on, as Linux has
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
