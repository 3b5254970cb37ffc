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
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;
import io.jvmx.vmx.emulated.vmx.SoftwareVmxProcessor;

import java.util.Arrays;

/**
 * The software processor as the system under test: runs one instruction as a guest at CPL 3 in VMX non-root
 * operation, in 64-bit mode or compatibility mode, driven only through the public VMX SPI of
 * {@link SoftwareVmxProcessor} (VMXON, VMCLEAR, VMPTRLD, VMWRITE, VMLAUNCH/VMRESUME, VMREAD), so it does not depend on
 * the interpreter's internals.
 *
 * <p>The guest is set up as Linux sets up a user process, so that it sees what {@link NativeCpu}'s code sees: the
 * code, data and stack pages at the native linear addresses (4-level paging, SDM Vol. 3A, 4.5), a GDT with Linux's
 * selectors (23H 32-bit user code, 2BH user data, 33H 64-bit user code), DS and ES null in 64-bit mode and 2BH in
 * compatibility mode, the native FS and GS bases, CR0.AM and CR4.FSGSBASE set. Each landing site holds CPUID, which
 * exits unconditionally at any CPL (SDM Vol. 3C, 26.1.2): the run ends with exit reason 10 at the site the
 * instruction went to. Every exception exits (exception bitmap all ones, page-fault error-code mask/match 0: SDM
 * 26.2), so a fault or an unimplemented instruction (#UD) shows up as an EXCEPTION_OR_NMI exit with its vector; a
 * VMX-preemption timer bounds a run that would never reach a landing site.
 *
 * <p>A case with an x87/SSE state ({@link FxsaveImage}) starts in the state page, mapped at the native state page's
 * address: FXRSTOR64 of the case's image (in 32-bit code FXRSTOR with an absolute address), then a JMP to the
 * instruction; each of its landing sites begins with FXSAVE64 (FXSAVE) of the result into the state page, before the
 * CPUID. A #XM of a case that unmasks SIMD floating-point exceptions is noted and the guest resumed at the
 * fall-through site, as the native stub's signal handler does.
 *
 * <p>One processor and VMCS serve many cases (VMRESUME after each CPUID exit). After a case that did not end at a
 * landing site, the processor is rebuilt, so a misbehaving instruction cannot leak state into the next case.
 */
final class InterpreterCpu implements AutoCloseable {
    /**
     * The outcome of one case. {@code failure} is null if the guest exited at one of the case's landing sites, else
     * what happened instead; {@code state} is the guest's registers, flags, RIP, selectors and pages at the exit
     * either way (null only if the software processor threw); {@code exceptionVector} is the vector of an exception
     * exit, else -1, {@code errorCode} its error code (-1 if it has none) and {@code faultingAddress} the linear
     * address of a page fault (the exit qualification); {@code atInstruction} says whether the exit's RIP is the
     * instruction's (as for a fault); {@code retired} is how many instructions the guest retired (with an x87/SSE
     * state, the FXRSTOR, JMP and FXSAVE around the instruction count too).
     */
    record Outcome(MachineState state, String failure, int exceptionVector, int errorCode, long faultingAddress,
                   boolean atInstruction, long retired) {
        boolean landed() {
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
    /** The GDT and, after it, the TSS. */
    private static final long SYSTEM_GPA = 0x13000;
    /**
     * The state page: the case's FXSAVE image at {@link #FXSAVE_IN}, the result's at {@link #FXSAVE_OUT}, the code
     * that loads the case's image and jumps to the instruction at {@link #ENTRY}.
     */
    private static final long STATE_GPA = 0x14000;
    private static final int FXSAVE_IN = 0, FXSAVE_OUT = FxsaveImage.BYTES, ENTRY = 0x800;
    /** The ModRM digits of FXSAVE and FXRSTOR (0F AE /0, /1). */
    private static final int FXSAVE = 0, FXRSTOR = 1;
    /** #XM, the SIMD floating-point exception (SDM Vol. 3A, 6.15, Interrupt 19). */
    private static final int SIMD_FLOATING_POINT = 19;
    private static final int GDT_LIMIT = 0x7F;
    private static final int TSS_OFFSET = 0x800;
    /** Present, writable, user (SDM Vol. 3A, Table 4-15 ff.). */
    private static final long PTE_PRESENT_WRITABLE_USER = 0x7;
    private static final long PTE_ADDRESS = 0x000F_FFFF_FFFF_F000L;
    private static final byte INT3 = (byte) 0xCC;
    private static final byte[] CPUID = {0x0F, (byte) 0xA2};
    /**
     * VMX-preemption timer value for each run: far beyond any case (the longest, a REP string instruction, has fewer
     * than 2,000 iterations), so it fires only for a guest that never reaches a landing site.
     */
    private static final long PREEMPTION_TIMER = 1L << 20;

    /**
     * Linux's GDT (arch/x86/include/asm/segment.h), as raw descriptors (SDM Vol. 3A, 3.4.5): 08H 32-bit kernel code,
     * 10H 64-bit kernel code, 18H kernel data, 23H 32-bit user code, 2BH user data, 33H 64-bit user code; accessed
     * bits set, as the processor leaves them once used. The TSS descriptor (40H) is written with the TSS's base.
     */
    private static final long[] GDT = {0, 0x00CF_9B00_0000_FFFFL, 0x00AF_9B00_0000_FFFFL, 0x00CF_9300_0000_FFFFL,
            0x00CF_FB00_0000_FFFFL, 0x00CF_F300_0000_FFFFL, 0x00AF_FB00_0000_FFFFL};
    private static final int TSS_SELECTOR = 0x40;

    /** Access rights in the VMCS format (SDM Vol. 3C, 25.4.1): code/data of DPL 3, 4-KiB granularity. */
    private static final int USER_CODE_64_AR = 0xA0FB, USER_CODE_32_AR = 0xC0FB, USER_DATA_AR = 0xC0F3;
    /** 16-bit user code (D = 0, byte granularity), its GDT slot 50H written with the code page as base. */
    private static final int USER_CODE_16_AR = 0x00FB, USER_CODE_16_SELECTOR = 0x53;
    /** Real-address mode: a code segment (accessed execute/read), data segments with 4-GiB limits and B = 1. */
    private static final int REAL_CODE_AR = 0x9B, REAL_DATA_AR = 0xC093;
    private static final int TSS_ACCESS_RIGHTS = 0x8B;
    private static final int UNUSABLE = 1 << 16;

    private final Layout layout;
    /** Where the guest sees its GDT: a page none of the case's pages uses. */
    private final long systemLinear;

    private SoftwareVmxProcessor cpu;
    private PhysicalMemory memory;
    private long guestRam;
    private long nextTableGpa;
    private boolean launched;
    private final GeneralRegisters registers = new GeneralRegisters();
    private final byte[] codeFill = new byte[NativeCpu.PAGE];
    private final boolean blockTranslation;
    /** Blocks translated by processors discarded after a run that did not end at a landing site. */
    private long translatedByDiscarded;

    InterpreterCpu(Layout layout) {
        this(layout, true);
    }

    /**
     * @param blockTranslation whether the processor translates hot blocks to bytecode (its default) or interprets
     *                         every instruction: TranslatedBlockTest runs code both ways
     */
    InterpreterCpu(Layout layout, boolean blockTranslation) {
        this.layout = layout;
        this.blockTranslation = blockTranslation;
        long system = 0x0000_7000_0000_0000L;
        while (system == layout.code() || system == layout.data() || system == layout.stack()
                || system == layout.state()) {
            system += NativeCpu.PAGE;
        }
        this.systemLinear = system;
        Arrays.fill(codeFill, INT3);
    }

    /**
     * The VMX-preemption timer value the next runs start with (default {@value #PREEMPTION_TIMER} ticks, a bound
     * against runaway guests): a smaller value ends a run with a VMX_PREEMPTION_TIMER_EXPIRED exit, reported as the
     * run's failure.
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
     * Runs {@code instruction} in {@code mode} on the registers, flags, data and stack page of {@code input}, with
     * CPUID after it and at each of {@code landingSites} (code-page offsets).
     */
    Outcome execute(Mode mode, byte[] instruction, int[] landingSites, MachineState input) {
        return execute(mode, instruction, landingSites, input, NativeCpu.INSTRUCTION_OFFSET);
    }

    /**
     * The same with the instruction (or sequence of instructions) at code-page offset {@code offset}. RIP in the
     * outcome is linear.
     */
    Outcome execute(Mode mode, byte[] instruction, int[] landingSites, MachineState input, int offset) {
        ensureProcessor();
        long codePage = guestRam + CODE_GPA;
        int fallThrough = offset + instruction.length;
        boolean state = input.fxsave != null;
        if (state && mode.sixteenBit()) {
            throw new IllegalArgumentException("x87/SSE state is carried in 64-bit and compatibility mode only");
        }
        boolean code32 = mode == Mode.COMPATIBILITY_32;
        if (state) {
            memory.write(guestRam + STATE_GPA + FXSAVE_IN, input.fxsave, 0, FxsaveImage.BYTES);
            memory.write(guestRam + STATE_GPA + FXSAVE_OUT, FxsaveImage.unwritten(), 0, FxsaveImage.BYTES);
            // the entry: FXRSTOR of the case's image, JMP rel32 (E9) to the instruction
            long entry = layout.state() + ENTRY;
            byte[] restore = fx(FXRSTOR, entry, FXSAVE_IN, code32);
            long jumpEnd = entry + restore.length + 5;
            long rel = layout.code() + offset - jumpEnd;
            byte[] jump = {(byte) 0xE9, (byte) rel, (byte) (rel >>> 8), (byte) (rel >>> 16), (byte) (rel >>> 24)};
            memory.write(guestRam + STATE_GPA + ENTRY, restore, 0, restore.length);
            memory.write(guestRam + STATE_GPA + ENTRY + restore.length, jump, 0, jump.length);
        }
        memory.write(codePage + offset, instruction, 0, instruction.length);
        // each landing site: FXSAVE of the result (cases with an x87/SSE state), then CPUID
        int padBytes = writePad(mode, state, fallThrough);
        for (int site : landingSites) {
            writePad(mode, state, site);
        }
        int saveBytes = padBytes - CPUID.length;
        memory.write(guestRam + DATA_GPA, input.data, 0, input.data.length);
        memory.write(guestRam + STACK_GPA, input.stack, 0, input.stack.length);
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            registers.set(i, input.gpr[i]);
        }
        long rip = layout.code() + offset;
        long csBase = mode.sixteenBit() ? layout.code() : 0;
        writeMode(mode);
        write(GUEST_RIP, (state ? layout.state() + ENTRY : rip) - csBase);
        write(GUEST_RSP, input.gpr[MachineState.RSP]);
        // IF = 1 as in any user process
        write(GUEST_RFLAGS, input.rflags | Flags.FIXED_1 | Flags.IF);
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
        } catch (RuntimeException interpreterError) {
            discardProcessor();
            return new Outcome(null, "the software processor threw " + interpreterError, -1, -1, 0, false, 0);
        }
        String failure = checkExit(fallThrough, landingSites, csBase, saveBytes);
        boolean exception = (read(EXIT_REASON) & 0xFFFF) == ExitReason.EXCEPTION_OR_NMI.number();
        InterruptionInfo info = exception ? InterruptionInfo.decode(read(VM_EXIT_INTERRUPTION_INFORMATION)) : null;
        int vector = exception ? info.vector() : -1;
        int raised = -1;
        if (input.unmasksSimdExceptions() && vector == SIMD_FLOATING_POINT && read(GUEST_RIP) == rip - csBase) {
            // as the native stub's handler does: note the #XM and go on at the fall-through site, so that the FXSAVE
            // there shows the state the exception left (MXCSR flags set, destination unchanged)
            raised = vector;
            write(GUEST_RIP, rip + instruction.length - csBase);
            try {
                cpu.vmresume(registers);
            } catch (RuntimeException interpreterError) {
                discardProcessor();
                return new Outcome(null, "the software processor threw " + interpreterError, -1, -1, 0, false, 0);
            }
            failure = checkExit(fallThrough, landingSites, csBase, saveBytes);
            exception = (read(EXIT_REASON) & 0xFFFF) == ExitReason.EXCEPTION_OR_NMI.number();
            info = exception ? InterruptionInfo.decode(read(VM_EXIT_INTERRUPTION_INFORMATION)) : null;
            vector = exception ? info.vector() : -1;
        }
        long retired = cpu.guestInstructionsRetired() - retiredBefore;
        int errorCode = exception && info.errorCodeValid() ? (int) read(VM_EXIT_INTERRUPTION_ERROR_CODE) : -1;
        long faultingAddress = vector == 14 ? read(EXIT_QUALIFICATION) : 0;
        MachineState out = new MachineState();
        for (int i = 0; i < MachineState.REGISTERS; i++) {
            out.gpr[i] = registers.get(i);
        }
        out.gpr[MachineState.RSP] = read(GUEST_RSP);
        out.rflags = read(GUEST_RFLAGS);
        out.rip = csBase + read(GUEST_RIP);
        if (failure == null) {
            out.rip -= saveBytes; // the landing site, where the FXSAVE before the CPUID starts
        }
        out.exception = raised;
        if (state) {
            // a run that did not reach a landing site leaves the output image unwritten
            out.fxsave = new byte[FxsaveImage.BYTES];
            memory.read(guestRam + STATE_GPA + FXSAVE_OUT, out.fxsave, 0, out.fxsave.length);
        }
        VmcsField[] selectors = {GUEST_ES_SELECTOR, GUEST_CS_SELECTOR, GUEST_SS_SELECTOR, GUEST_DS_SELECTOR,
                GUEST_FS_SELECTOR, GUEST_GS_SELECTOR};
        for (int k = 0; k < 6; k++) {
            out.selectors[k] = (int) read(selectors[k]);
        }
        memory.read(guestRam + DATA_GPA, out.data, 0, out.data.length);
        memory.read(guestRam + STACK_GPA, out.stack, 0, out.stack.length);
        boolean atInstruction = out.rip == rip;
        if (failure != null) {
            discardProcessor();
        } else {
            // put the INT3 filler back where the instruction and the landing pads were
            memory.write(codePage + offset, codeFill, 0, instruction.length + padBytes);
            for (int site : landingSites) {
                memory.write(codePage + site, codeFill, 0, padBytes);
            }
        }
        return new Outcome(out, failure, vector, errorCode, faultingAddress, atInstruction, retired);
    }

    /**
     * A landing pad at code-page offset {@code site}: with an x87/SSE state FXSAVE of the result, then CPUID. Returns
     * its length.
     */
    private int writePad(Mode mode, boolean state, int site) {
        long codePage = guestRam + CODE_GPA;
        int at = site;
        if (state) {
            byte[] save = fx(FXSAVE, layout.code() + site, FXSAVE_OUT, mode == Mode.COMPATIBILITY_32);
            memory.write(codePage + at, save, 0, save.length);
            at += save.length;
        }
        memory.write(codePage + at, CPUID, 0, CPUID.length);
        return at + CPUID.length - site;
    }

    /**
     * FXSAVE64 or FXRSTOR64 [RIP + disp32] (REX.W 0F AE /0 or /1, ModRM 00 digit 101) of the image at {@code offset}
     * in the state page, placed at linear address {@code at}; in 32-bit code FXSAVE or FXRSTOR [disp32] (ModRM 00
     * digit 101 is an absolute address there: Vol. 2A, Table 2-1), which needs the page below 4 GiB.
     */
    private byte[] fx(int digit, long at, int offset, boolean code32) {
        long target = layout.state() + offset;
        if (code32) {
            if (target + FxsaveImage.BYTES > 1L << 32) {
                throw new IllegalStateException("the state page is above 4 GiB: no 32-bit cases");
            }
            return new byte[] {0x0F, (byte) 0xAE, (byte) (digit << 3 | 0b101), (byte) target, (byte) (target >>> 8),
                    (byte) (target >>> 16), (byte) (target >>> 24)};
        }
        long disp = target - (at + 8);
        if (disp != (int) disp) {
            throw new IllegalStateException("the state page is out of reach of a RIP-relative displacement");
        }
        return new byte[] {0x48, 0x0F, (byte) 0xAE, (byte) (digit << 3 | 0b101), (byte) disp, (byte) (disp >>> 8),
                (byte) (disp >>> 16), (byte) (disp >>> 24)};
    }

    /**
     * Null if the guest exited at one of the landing sites (a CPUID exit {@code saveBytes} after the site, past the
     * FXSAVE of a case with an x87/SSE state); otherwise what happened instead.
     */
    private String checkExit(int fallThrough, int[] landingSites, long csBase, int saveBytes) {
        long reasonField = read(EXIT_REASON);
        long rip = csBase + read(GUEST_RIP);
        String where = describeRip(rip);
        if ((reasonField & (1L << 31)) != 0) {
            throw new IllegalStateException("VM entry failed (exit reason " + reasonField + "): "
                    + cpu.lastEntryFailure() + " — the harness's guest state is wrong");
        }
        int basic = (int) (reasonField & 0xFFFF);
        if (basic == ExitReason.CPUID.number()) {
            long offset = rip - saveBytes - layout.code();
            if (offset == fallThrough || Arrays.stream(landingSites).anyMatch(site -> site == offset)) {
                return null;
            }
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

    private String describeRip(long rip) {
        long start = layout.instruction();
        if (rip == start) {
            return "the instruction";
        }
        return String.format("RIP %+d from the instruction", rip - start);
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
        // without paging (real-address mode) linear addresses are guest-physical: the pages there too
        mapEptPage(eptPml4, layout.code(), guestRam + CODE_GPA);
        mapEptPage(eptPml4, layout.data(), guestRam + DATA_GPA);
        mapEptPage(eptPml4, layout.stack(), guestRam + STACK_GPA);
        writeControls(Ept.eptPointer(eptPml4, Ept.MEMORY_TYPE_WRITE_BACK, 4, false));
        writeHostState();
        nextTableGpa = PAGE_TABLES_GPA + NativeCpu.PAGE;
        mapGuestPage(layout.code(), CODE_GPA);
        mapGuestPage(layout.data(), DATA_GPA);
        mapGuestPage(layout.stack(), STACK_GPA);
        mapGuestPage(systemLinear, SYSTEM_GPA);
        mapGuestPage(layout.state(), STATE_GPA);
        memory.write(guestRam + CODE_GPA, codeFill, 0, codeFill.length);
        writeSystemTables();
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
            mapEptPage(pml4, gpa, guestRam + gpa);
        }
    }

    /** One 4-KiB EPT mapping of {@code gpa} to host-physical {@code hpa}. */
    private void mapEptPage(long pml4, long gpa, long hpa) {
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
        memory.write64(table + ((gpa >>> 12) & 0x1FF) * 8, (hpa & Ept.ADDRESS_MASK) | Ept.READ | Ept.WRITE
                | Ept.EXECUTE | ((long) Ept.MEMORY_TYPE_WRITE_BACK << Ept.MEMORY_TYPE_SHIFT));
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
                PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS));
        write(SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, controls(Msr.IA32_VMX_PROCBASED_CTLS2,
                SecondaryProcessorBasedControls.ENABLE_EPT | SecondaryProcessorBasedControls.UNRESTRICTED_GUEST));
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
        cpu.hostContext().writeHostState(this::write);
    }

    /** Linux's GDT, and a 64-bit TSS (SDM Vol. 3A, 8.7) whose descriptor is busy, as TR's must be. */
    private void writeSystemTables() {
        long gdt = guestRam + SYSTEM_GPA;
        for (int k = 0; k < GDT.length; k++) {
            memory.write64(gdt + 8L * k, GDT[k]);
        }
        long base = systemLinear + TSS_OFFSET;
        long limit = 0x67;
        long low = limit | (base & 0xFF_FFFFL) << 16 | (long) TSS_ACCESS_RIGHTS << 40 | (base >>> 24 & 0xFF) << 56;
        memory.write64(gdt + TSS_SELECTOR, low);
        memory.write64(gdt + TSS_SELECTOR + 8, base >>> 32);
        long code = layout.code();
        memory.write64(gdt + (USER_CODE_16_SELECTOR & ~3), 0xFFFF | (code & 0xFF_FFFFL) << 16 | 0xFBL << 40
                | (code >>> 24 & 0xFF) << 56);
    }

    /**
     * The state Linux gives a user process (SDM Vol. 3C, 27.3.1 checks): CR0 PE PG NE ET WP AM, CR4 PAE FSGSBASE
     * OSFXSR OSXMMEXCPT OSXSAVE (and VMXE, a fixed-1 bit in VMX operation), XCR0 with the x87 and SSE state, EFER LME LMA (loaded by VM entry), the GDT and TSS above; these and the
     * segments are written for each case ({@link #writeMode}).
     */
    private void writeGuestState() {
        write(GUEST_CR3, PAGE_TABLES_GPA);
        write(GUEST_LDTR_SELECTOR, 0);
        write(GUEST_LDTR_BASE, 0);
        write(GUEST_LDTR_LIMIT, 0);
        write(GUEST_LDTR_ACCESS_RIGHTS, UNUSABLE);
        write(GUEST_TR_SELECTOR, TSS_SELECTOR);
        write(GUEST_TR_BASE, systemLinear + TSS_OFFSET);
        write(GUEST_TR_LIMIT, 0x67);
        write(GUEST_TR_ACCESS_RIGHTS, TSS_ACCESS_RIGHTS);
        write(GUEST_GDTR_BASE, systemLinear);
        write(GUEST_GDTR_LIMIT, GDT_LIMIT);
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

    /**
     * The mode of a case. 64-bit and compatibility mode are what Linux gives a user process: CR0 PE PG NE ET WP AM, CR4
     * PAE FSGSBASE OSFXSR OSXMMEXCPT OSXSAVE (SSE and XSAVE on; VMXE, fixed to 1 in VMX operation), EFER LME LMA, IA-32e mode at VM entry; CS 33H or 23H, SS
     * 2BH, DS and ES null in 64-bit mode (Linux's) or 2BH in compatibility mode (what NativeCpu loads there), FS and GS
     * null with the native bases; base 0 and limit 4 GiB for the usable ones, as their descriptors say. 16-bit code
     * is compatibility mode with CS the 16-bit code segment at the code page (selector 53H). Real-address mode: CR0
     * without PE and PG, no IA-32e mode, CS based at the code page, the data and stack segments flat with 4-GiB limits
     * and a 32-bit stack (as after leaving protected mode with such descriptors loaded), selectors 0.
     */
    private void writeMode(Mode mode) {
        boolean real = mode == Mode.REAL_ADDRESS;
        long cr0 = real ? Cr0.NE | Cr0.ET : Cr0.PE | Cr0.PG | Cr0.NE | Cr0.ET | Cr0.WP | Cr0.AM;
        long cr4 = Cr4.PAE | Cr4.FSGSBASE | Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.OSXSAVE | Cr4.VMXE;
        write(GUEST_CR0, cr0);
        write(GUEST_CR4, cr4);
        write(CR0_READ_SHADOW, cr0);
        write(CR4_READ_SHADOW, cr4 & ~Cr4.VMXE);
        write(GUEST_IA32_EFER, real ? 0 : Efer.LME | Efer.LMA);
        write(VM_ENTRY_CONTROLS, controls(Msr.IA32_VMX_TRUE_ENTRY_CTLS,
                (real ? 0 : VmEntryControls.IA32E_MODE_GUEST) | VmEntryControls.LOAD_IA32_EFER));
        VmcsField[][] data = {
                {GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_ACCESS_RIGHTS},
                {GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_ACCESS_RIGHTS}};
        if (real) {
            segment(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS, 0, REAL_CODE_AR,
                    layout.code(), 0xFFFF);
            for (VmcsField[] f : new VmcsField[][] {data[0], data[1],
                    {GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS},
                    {GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS},
                    {GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS}}) {
                segment(f[0], f[1], f[2], f[3], 0, REAL_DATA_AR, 0, 0xFFFF_FFFFL);
            }
            return;
        }
        if (mode == Mode.CODE_16) {
            segment(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS, USER_CODE_16_SELECTOR,
                    USER_CODE_16_AR, layout.code(), 0xFFFF);
        } else {
            boolean compatibility = mode == Mode.COMPATIBILITY_32;
            segment(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_ACCESS_RIGHTS,
                    compatibility ? NativeCpu.USER32_CS : NativeCpu.USER_CS,
                    compatibility ? USER_CODE_32_AR : USER_CODE_64_AR, 0);
        }
        segment(GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_ACCESS_RIGHTS, NativeCpu.USER_DS,
                USER_DATA_AR, 0);
        for (VmcsField[] f : data) {
            if (mode != Mode.LONG_64) {
                segment(f[0], f[1], f[2], f[3], NativeCpu.USER_DS, USER_DATA_AR, 0);
            } else {
                segment(f[0], f[1], f[2], f[3], 0, UNUSABLE, 0);
            }
        }
        segment(GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_ACCESS_RIGHTS, 0, UNUSABLE,
                layout.fsBase());
        segment(GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_ACCESS_RIGHTS, 0, UNUSABLE,
                layout.gsBase());
    }

    private void segment(VmcsField selector, VmcsField base, VmcsField limit, VmcsField accessRights, int sel,
                         int ar, long baseValue) {
        segment(selector, base, limit, accessRights, sel, ar, baseValue, (ar & UNUSABLE) != 0 ? 0 : 0xFFFF_FFFFL);
    }

    private void segment(VmcsField selector, VmcsField base, VmcsField limit, VmcsField accessRights, int sel,
                         int ar, long baseValue, long limitValue) {
        write(selector, sel);
        write(base, baseValue);
        write(limit, limitValue);
        write(accessRights, ar);
    }
}
