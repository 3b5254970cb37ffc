package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

import java.io.ByteArrayOutputStream;
import java.util.Arrays;

/**
 * The processor of this machine as an oracle: executes one instruction in user mode (CPL 3), in 64-bit mode or in
 * compatibility mode, on registers, flags, a data page and a stack page chosen by the caller, and returns what it
 * changed, including where the instruction sent RIP.
 *
 * <p>Eight pages are mapped with {@code mmap}, below 4 GiB when the kernel can (MAP_32BIT): two spare pages, the
 * harness page, the code page, the data page, two spare pages, the stack page. The spare pages are room for a
 * signal frame the kernel might push while RSP points into the harness or stack page; nothing is kept there.
 *
 * <ul>
 * <li>The <b>harness page</b> holds the stubs (below), their context block (the registers in the SDM's order, RFLAGS,
 * the landing site, the segment selectors), and in compatibility mode the stack of the far CALL into it.</li>
 * <li>The <b>code page</b> holds the instruction under test at {@link #INSTRUCTION_OFFSET}, INT3 everywhere else
 * except at its landing sites: after the instruction (the fall-through) and wherever the case says a branch may go.
 * Each landing site is a pad that records its own offset in the context (MOV to memory and JMP change no flag and
 * no register) and jumps to the epilogue, so RIP after the instruction is known without a single-step.</li>
 * <li>RSP is the case's own, in the stack page, and so is everything PUSH, CALL, ENTER ... write there.</li>
 * </ul>
 *
 * <p>64-bit stub, called through JNA: saves the caller's RFLAGS and callee-saved registers, loads the case's RFLAGS
 * (POPFQ), RSP and the other registers from the context (RIP-relative, so they need no register), and jumps to the
 * instruction. The epilogue stores RSP first and goes back to the caller's stack, then PUSHFQ (before anything
 * changes a flag), the registers and the segment selectors, and restores the caller's DS, ES (which a case may load)
 * and flags.
 *
 * <p>Compatibility mode (Linux's 32-bit user code segment, selector 23H, SDM Vol. 3A, 5.2.1): a 64-bit stub makes a
 * far CALL to 32-bit code in the harness page, which loads DS and ES with the user data selector 2BH (Linux leaves
 * them null in 64-bit processes, and a null DS faults outside 64-bit mode), then the case's state as above with
 * 32-bit moves (absolute addresses: the pages lie below 4 GiB); its epilogue ends with a far RET back to 64-bit mode.
 * Only the low 32 bits of RAX..RDI mean anything there (R8-R15 do not exist in compatibility mode).
 *
 * <p>The instruction must not fault (a fault is a signal that kills the JVM), must land on one of its landing sites,
 * and must leave the stack inside the stack page: the form generators choose only such operands.
 */
final class NativeCpu implements AutoCloseable {
    static final int PAGE = 4096;
    static final int DATA_PAGE_BYTES = PAGE;
    static final int STACK_PAGE_BYTES = PAGE;
    /** Where in the code page the instruction under test starts: targets up to 2 KiB either way stay in the page. */
    static final int INSTRUCTION_OFFSET = 0x800;
    /** Bytes of a landing pad (64-bit: 15, compatibility mode: 16). */
    static final int LANDING_PAD_BYTES = 16;
    /** Linux x86-64's user segment selectors (arch/x86/include/asm/segment.h): __USER32_CS, __USER_DS, __USER_CS. */
    static final int USER32_CS = 0x23, USER_DS = 0x2B, USER_CS = 0x33;

    /** The RFLAGS bits a caller may choose (SDM Vol. 1, 3.4.3: the status flags, and DF). */
    static final long SETTABLE_FLAGS = Flags.STATUS | Flags.DF;

    private static final int PAGES = 8;
    private static final int HARNESS_PAGE = 2, CODE_PAGE = 3, DATA_PAGE = 4, STACK_PAGE = 7;

    // harness page layout
    private static final int PROLOGUE_64 = 0x000;
    private static final int PROLOGUE_COMPATIBILITY = 0x100;
    private static final int ENTRY_32 = 0x180;
    private static final int EPILOGUE_64 = 0x300;
    private static final int EPILOGUE_32 = 0x480;
    private static final int CONTEXT = 0xC00;
    private static final int HARNESS_STACK_TOP = 0xFF0;

    // context block: 16 GPRs in SDM order (slot 4: RSP), then:
    private static final int CTX_RFLAGS = CONTEXT + 0x80;
    private static final int CTX_LANDED = CONTEXT + 0x88;
    private static final int CTX_REAL_RSP = CONTEXT + 0x90;
    private static final int CTX_HARNESS_ESP = CONTEXT + 0x98;
    /** ES CS SS DS FS GS after the instruction, 16 bits each. */
    private static final int CTX_SELECTORS = CONTEXT + 0xA0;
    private static final int CTX_SAVED_DS = CONTEXT + 0xB0;
    private static final int CTX_SAVED_ES = CONTEXT + 0xB2;
    /** The far pointer (offset32, selector16) of the compatibility-mode entry. */
    private static final int CTX_FAR_POINTER = CONTEXT + 0xC0;
    private static final int CONTEXT_BYTES = 0xD0;

    private static final byte INT3 = (byte) 0xCC;
    /** Never a landing offset (offsets are below 4096): the pad did not run. */
    private static final int NOT_LANDED = -1;

    /** Linux x86-64 mmap constants (asm-generic/mman-common.h, asm/mman.h) and arch_prctl codes (asm/prctl.h). */
    private static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    private static final int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_32BIT = 0x40;
    private static final int ARCH_GET_FS = 0x1003, ARCH_GET_GS = 0x1004;
    /** getauxval's AT_HWCAP2 (linux/auxvec.h) and its FSGSBASE bit (asm/hwcap2.h): the kernel set CR4.FSGSBASE. */
    private static final int AT_HWCAP2 = 26;
    private static final long HWCAP2_FSGSBASE = 1 << 1;

    /** 0F A2: CPUID (SDM Vol. 2A), allowed at CPL 3. */
    private static final byte[] CPUID = bytes(0x0F, 0xA2);
    /** 0F 02 /r: LAR EAX, ECX (SDM Vol. 2A), allowed at CPL 3: ZF = 1 and the access rights if the selector is usable. */
    private static final byte[] LAR_EAX_ECX = bytes(0x0F, 0x02, 0xC1);

    interface LibC extends Library {
        Pointer mmap(Pointer address, long length, int protection, int flags, int fd, long offset);

        int munmap(Pointer address, long length);

        int arch_prctl(int code, Pointer address);

        long getauxval(long type);
    }

    /** Loaded on first use, so that {@link #supported()} can be asked on any platform. */
    private static final class Libc {
        static final LibC LIBC = Native.load(Platform.C_LIBRARY_NAME, LibC.class);
    }

    private final Pointer pages;
    private final Pointer harness;
    private final Pointer code;
    private final Pointer data;
    private final Pointer stack;
    private final Function stub64;
    private final Function stubCompatibility;
    private final long fsBase;
    private final long gsBase;
    private final boolean compatibilityMode;
    private final long[] contextWords = new long[CONTEXT_BYTES / 8];
    private final byte[] filler = new byte[PAGE];
    private boolean closed;

    private NativeCpu(Pointer pages) {
        this.pages = pages;
        this.harness = pages.share((long) HARNESS_PAGE * PAGE);
        this.code = pages.share((long) CODE_PAGE * PAGE);
        this.data = pages.share((long) DATA_PAGE * PAGE);
        this.stack = pages.share((long) STACK_PAGE * PAGE);
        Arrays.fill(filler, INT3);
        harness.write(0, filler, 0, PAGE);
        code.write(0, filler, 0, PAGE);
        writeStubs();
        stub64 = Function.getFunction(harness.share(PROLOGUE_64));
        stubCompatibility = Function.getFunction(harness.share(PROLOGUE_COMPATIBILITY));
        Memory base = new Memory(8);
        fsBase = Libc.LIBC.arch_prctl(ARCH_GET_FS, base) == 0 ? base.getLong(0) : 0;
        gsBase = Libc.LIBC.arch_prctl(ARCH_GET_GS, base) == 0 ? base.getLong(0) : 0;
        compatibilityMode = below4GiB(address(pages) + (long) PAGES * PAGE) && userCompatibilityCodeSegment();
    }

    static final String UNSUPPORTED = "executing x86-64 instructions natively needs Linux on x86-64, not "
            + System.getProperty("os.name") + " on " + System.getProperty("os.arch");

    /** Linux on x86-64: the stubs are x86-64 code, mapped with Linux's mmap flags, using Linux's selectors. */
    static boolean supported() {
        return Platform.isLinux() && Platform.isIntel() && Platform.is64Bit();
    }

    /** Maps the pages, below 4 GiB if the kernel can (MAP_32BIT), which 32-bit addresses and compatibility mode need. */
    static NativeCpu open() {
        if (!supported()) {
            throw new IllegalStateException(UNSUPPORTED);
        }
        int prot = PROT_READ | PROT_WRITE | PROT_EXEC;
        long length = (long) PAGES * PAGE;
        Pointer p = Libc.LIBC.mmap(null, length, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (failed(p)) {
            p = Libc.LIBC.mmap(null, length, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        }
        if (failed(p)) {
            throw new IllegalStateException("mmap of executable pages failed: errno " + Native.getLastError());
        }
        return new NativeCpu(p);
    }

    private static boolean failed(Pointer p) {
        return p == null || Pointer.nativeValue(p) == -1L;
    }

    private static long address(Pointer p) {
        return Pointer.nativeValue(p);
    }

    private static boolean below4GiB(long end) {
        return end <= (1L << 32);
    }

    /** Linear address of the code page. */
    long codeAddress() {
        return address(code);
    }

    /** Linear address of the data page. */
    long dataAddress() {
        return address(data);
    }

    /** Linear address of the stack page. */
    long stackAddress() {
        return address(stack);
    }

    /** FS.base and GS.base of the thread that runs the cases (64-bit mode uses them with FS/GS overrides). */
    long fsBase() {
        return fsBase;
    }

    long gsBase() {
        return gsBase;
    }

    boolean dataBelow4GiB() {
        return below4GiB(dataAddress() + DATA_PAGE_BYTES);
    }

    /**
     * Whether user code may execute RDFSBASE and its siblings: the kernel has set CR4.FSGSBASE (without it they are
     * #UD, which natively kills the JVM) and says so in the auxiliary vector.
     */
    boolean userFsGsBase() {
        return (Libc.LIBC.getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
    }

    /** Whether compatibility-mode cases can run: the pages lie below 4 GiB and selector 23H is 32-bit user code. */
    boolean compatibilityModeAvailable() {
        return compatibilityMode;
    }

    /**
     * LAR of 23H (SDM Vol. 2A, LAR): a present, readable, 32-bit (D = 1, L = 0) code segment of DPL 3. A kernel
     * without 32-bit support may not have one; a far CALL to it would then kill the JVM.
     */
    private boolean userCompatibilityCodeSegment() {
        MachineState in = new MachineState();
        in.gpr[1] = USER32_CS;
        in.gpr[MachineState.RSP] = stackAddress() + STACK_PAGE_BYTES / 2;
        in.rflags = Flags.FIXED_1;
        MachineState out = execute(Mode.LONG_64, LAR_EAX_ECX, new int[0], in);
        long ar = out.gpr[0];
        boolean valid = (out.rflags & Flags.ZF) != 0;
        boolean present = (ar & 0x8000) != 0;
        boolean dpl3 = (ar >>> 13 & 3) == 3;
        boolean readableCode = (ar >>> 8 & 0x1A) == 0x1A;
        boolean big = (ar & (1L << 22)) != 0 && (ar & (1L << 21)) == 0;
        return valid && present && dpl3 && readableCode && big;
    }

    // ---- running a case ---------------------------------------------------------------------------------------------

    /**
     * Executes {@code instruction} in {@code mode} with the registers (RSP included), flags ({@link #SETTABLE_FLAGS}
     * only), data page and stack page of {@code input}; a landing pad waits after the instruction and at each of
     * {@code landingSites} (code-page offsets). Returns the registers, RFLAGS, selectors, RIP (the landing site
     * reached), data page and stack page afterwards.
     */
    MachineState execute(Mode mode, byte[] instruction, int[] landingSites, MachineState input) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if (mode == Mode.COMPATIBILITY_32 && !compatibilityMode) {
            throw new IllegalStateException("compatibility mode is not available here");
        }
        if ((input.rflags & ~(SETTABLE_FLAGS | Flags.FIXED_1)) != 0) {
            throw new IllegalArgumentException(String.format("RFLAGS %#x: only CF PF AF ZF SF OF DF may be set",
                    input.rflags));
        }
        if (instruction.length == 0 || instruction.length > 15) {
            throw new IllegalArgumentException("an instruction has 1 to 15 bytes, not " + instruction.length);
        }
        long rsp = input.gpr[MachineState.RSP];
        if (rsp < stackAddress() + 0x100 || rsp > stackAddress() + STACK_PAGE_BYTES - 0x100) {
            throw new IllegalArgumentException(String.format("RSP %#x is not inside the stack page", rsp));
        }
        int fallThrough = INSTRUCTION_OFFSET + instruction.length;
        code.write(INSTRUCTION_OFFSET, instruction, 0, instruction.length);
        writePad(mode, fallThrough);
        for (int site : landingSites) {
            writePad(mode, site);
        }
        data.write(0, input.data, 0, input.data.length);
        stack.write(0, input.stack, 0, input.stack.length);
        Arrays.fill(contextWords, 0);
        System.arraycopy(input.gpr, 0, contextWords, 0, MachineState.REGISTERS);
        contextWords[(CTX_RFLAGS - CONTEXT) / 8] = input.rflags | Flags.FIXED_1;
        contextWords[(CTX_LANDED - CONTEXT) / 8] = NOT_LANDED & 0xFFFF_FFFFL;
        contextWords[(CTX_FAR_POINTER - CONTEXT) / 8] = (harnessAddress(ENTRY_32) & 0xFFFF_FFFFL)
                | (long) USER32_CS << 32;
        harness.write(CONTEXT, contextWords, 0, contextWords.length);

        (mode == Mode.LONG_64 ? stub64 : stubCompatibility).invoke(Void.class, new Object[0]);

        harness.read(CONTEXT, contextWords, 0, contextWords.length);
        MachineState out = new MachineState();
        System.arraycopy(contextWords, 0, out.gpr, 0, MachineState.REGISTERS);
        out.rflags = contextWords[(CTX_RFLAGS - CONTEXT) / 8];
        int landed = (int) contextWords[(CTX_LANDED - CONTEXT) / 8];
        out.rip = landed == NOT_LANDED ? -1 : codeAddress() + landed;
        long selectors = contextWords[(CTX_SELECTORS - CONTEXT) / 8];
        long selectors2 = contextWords[(CTX_SELECTORS - CONTEXT) / 8 + 1];
        for (int k = 0; k < 6; k++) {
            out.selectors[k] = (int) ((k < 4 ? selectors >>> (16 * k) : selectors2 >>> (16 * (k - 4))) & 0xFFFF);
        }
        data.read(0, out.data, 0, out.data.length);
        stack.read(0, out.stack, 0, out.stack.length);

        // INT3 again where the instruction and the pads were
        code.write(INSTRUCTION_OFFSET, filler, 0, instruction.length);
        code.write(fallThrough, filler, 0, LANDING_PAD_BYTES);
        for (int site : landingSites) {
            code.write(site, filler, 0, LANDING_PAD_BYTES);
        }
        return out;
    }

    /** CPUID executed natively in 64-bit mode (leaf in EAX, subleaf in ECX). */
    int[] cpuid(int leaf, int subleaf) {
        MachineState in = new MachineState();
        in.gpr[0] = leaf & 0xFFFF_FFFFL;
        in.gpr[1] = subleaf & 0xFFFF_FFFFL;
        in.gpr[MachineState.RSP] = stackAddress() + STACK_PAGE_BYTES / 2;
        in.rflags = Flags.FIXED_1;
        MachineState out = execute(Mode.LONG_64, CPUID, new int[0], in);
        return new int[] {(int) out.gpr[0], (int) out.gpr[3], (int) out.gpr[1], (int) out.gpr[2]};
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.LIBC.munmap(pages, (long) PAGES * PAGE);
        }
    }

    static byte[] bytes(int... values) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(values.length);
        for (int v : values) {
            b.write(v);
        }
        return b.toByteArray();
    }

    // ---- the stubs --------------------------------------------------------------------------------------------------

    private long harnessAddress(int offset) {
        return address(harness) + offset;
    }

    /**
     * A landing pad at {@code site} of the code page: MOV DWORD [landed], site (C7 /0 id: RIP-relative in 64-bit
     * mode; in compatibility mode absolute, with SS: because the instruction may have loaded DS), then JMP rel32 (E9)
     * to the mode's epilogue.
     */
    private void writePad(Mode mode, int site) {
        Asm a = new Asm(codeAddress() + site);
        if (mode == Mode.LONG_64) {
            a.bytes(0xC7, 0x05).ripRelative(harnessAddress(CTX_LANDED), 4).imm32(site);
            a.bytes(0xE9).rel32(harnessAddress(EPILOGUE_64));
        } else {
            a.bytes(0x36, 0xC7, 0x05).absolute(harnessAddress(CTX_LANDED)).imm32(site);
            a.bytes(0xE9).rel32(harnessAddress(EPILOGUE_32));
        }
        byte[] b = a.toBytes();
        code.write(site, b, 0, b.length);
    }

    /** Register numbers of the SDM's order, RSP excluded, with the REX bits MOV r64 <-> m64 needs. */
    private static final int[] LOADED = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    private static final int[] LOADED_32 = {0, 1, 2, 3, 5, 6, 7};

    private void writeStubs() {
        // 64-bit prologue (called through JNA)
        Asm a = new Asm(harnessAddress(PROLOGUE_64));
        saveCaller(a);
        a.bytes(0x48, 0x89, 0x25).ripRelative(harnessAddress(CTX_REAL_RSP), 0);     // mov [real rsp], rsp
        a.bytes(0x8C, 0x1D).ripRelative(harnessAddress(CTX_SAVED_DS), 0);           // mov [saved ds], ds
        a.bytes(0x8C, 0x05).ripRelative(harnessAddress(CTX_SAVED_ES), 0);           // mov [saved es], es
        a.bytes(0xFF, 0x35).ripRelative(harnessAddress(CTX_RFLAGS), 0);             // push qword [rflags]
        a.bytes(0x9D);                                                             // popfq
        a.bytes(0x48, 0x8B, 0x25).ripRelative(harnessAddress(CONTEXT + 8 * 4), 0);  // mov rsp, [rsp slot]
        for (int r : LOADED) {                                                     // mov r, [slot r]
            a.bytes(0x48 | (r >= 8 ? 4 : 0), 0x8B, (r & 7) << 3 | 5).ripRelative(harnessAddress(CONTEXT + 8 * r), 0);
        }
        a.bytes(0xE9).rel32(codeAddress() + INSTRUCTION_OFFSET);                  // jmp instruction
        place(a, PROLOGUE_64, PROLOGUE_COMPATIBILITY);

        // 64-bit epilogue
        a = new Asm(harnessAddress(EPILOGUE_64));
        a.bytes(0x48, 0x89, 0x25).ripRelative(harnessAddress(CONTEXT + 8 * 4), 0); // mov [rsp slot], rsp
        a.bytes(0x48, 0x8B, 0x25).ripRelative(harnessAddress(CTX_REAL_RSP), 0);    // mov rsp, [real rsp]
        a.bytes(0x9C);                                                             // pushfq
        a.bytes(0x8F, 0x05).ripRelative(harnessAddress(CTX_RFLAGS), 0);            // pop qword [rflags]
        for (int r : LOADED) {                                                     // mov [slot r], r
            a.bytes(0x48 | (r >= 8 ? 4 : 0), 0x89, (r & 7) << 3 | 5).ripRelative(harnessAddress(CONTEXT + 8 * r), 0);
        }
        for (int k = 0; k < 6; k++) {                                              // mov [selector k], sreg k
            a.bytes(0x8C, k << 3 | 5).ripRelative(harnessAddress(CTX_SELECTORS + 2 * k), 0);
        }
        a.bytes(0x8E, 0x1D).ripRelative(harnessAddress(CTX_SAVED_DS), 0);           // mov ds, [saved ds]
        a.bytes(0x8E, 0x05).ripRelative(harnessAddress(CTX_SAVED_ES), 0);           // mov es, [saved es]
        restoreCaller(a);
        place(a, EPILOGUE_64, EPILOGUE_32);

        // compatibility mode: the 64-bit entry (called through JNA), a far CALL to 32-bit code and back
        a = new Asm(harnessAddress(PROLOGUE_COMPATIBILITY));
        saveCaller(a);
        a.bytes(0x48, 0x89, 0x25).ripRelative(harnessAddress(CTX_REAL_RSP), 0);    // mov [real rsp], rsp
        a.bytes(0x48, 0x8D, 0x25).ripRelative(harnessAddress(HARNESS_STACK_TOP), 0); // lea rsp, [harness stack]
        a.bytes(0xFF, 0x1D).ripRelative(harnessAddress(CTX_FAR_POINTER), 0);       // call far m16:32
        a.bytes(0x48, 0x8B, 0x25).ripRelative(harnessAddress(CTX_REAL_RSP), 0);    // mov rsp, [real rsp]
        restoreCaller(a);
        place(a, PROLOGUE_COMPATIBILITY, ENTRY_32);

        // compatibility mode: the 32-bit prologue (every access SS-relative: DS is null when it starts)
        a = new Asm(harnessAddress(ENTRY_32));
        a.bytes(0x36, 0x89, 0x25).absolute(harnessAddress(CTX_HARNESS_ESP));       // mov [ss:harness esp], esp
        a.bytes(0x36, 0x8C, 0x1D).absolute(harnessAddress(CTX_SAVED_DS));          // mov [ss:saved ds], ds
        a.bytes(0x36, 0x8C, 0x05).absolute(harnessAddress(CTX_SAVED_ES));          // mov [ss:saved es], es
        a.bytes(0x8C, 0xD0);                                                       // mov eax, ss
        a.bytes(0x8E, 0xD8);                                                       // mov ds, eax
        a.bytes(0x8E, 0xC0);                                                       // mov es, eax
        a.bytes(0x36, 0xFF, 0x35).absolute(harnessAddress(CTX_RFLAGS));            // push dword [ss:rflags]
        a.bytes(0x9D);                                                             // popfd
        a.bytes(0x36, 0x8B, 0x25).absolute(harnessAddress(CONTEXT + 8 * 4));       // mov esp, [ss:rsp slot]
        for (int r : LOADED_32) {                                                  // mov r32, [ss:slot r]
            a.bytes(0x36, 0x8B, r << 3 | 5).absolute(harnessAddress(CONTEXT + 8 * r));
        }
        a.bytes(0xE9).rel32(codeAddress() + INSTRUCTION_OFFSET);                  // jmp instruction
        place(a, ENTRY_32, EPILOGUE_64);

        // compatibility mode: the 32-bit epilogue
        a = new Asm(harnessAddress(EPILOGUE_32));
        a.bytes(0x36, 0x89, 0x25).absolute(harnessAddress(CONTEXT + 8 * 4));       // mov [ss:rsp slot], esp
        a.bytes(0x36, 0x8B, 0x25).absolute(harnessAddress(CTX_HARNESS_ESP));       // mov esp, [ss:harness esp]
        a.bytes(0x9C);                                                             // pushfd
        a.bytes(0x36, 0x8F, 0x05).absolute(harnessAddress(CTX_RFLAGS));            // pop dword [ss:rflags]
        for (int r : LOADED_32) {                                                  // mov [ss:slot r], r32
            a.bytes(0x36, 0x89, r << 3 | 5).absolute(harnessAddress(CONTEXT + 8 * r));
        }
        for (int k = 0; k < 6; k++) {                                              // mov [ss:selector k], sreg k
            a.bytes(0x36, 0x8C, k << 3 | 5).absolute(harnessAddress(CTX_SELECTORS + 2 * k));
        }
        a.bytes(0x36, 0x8E, 0x1D).absolute(harnessAddress(CTX_SAVED_DS));          // mov ds, [ss:saved ds]
        a.bytes(0x36, 0x8E, 0x05).absolute(harnessAddress(CTX_SAVED_ES));          // mov es, [ss:saved es]
        a.bytes(0xCB);                                                             // retf
        place(a, EPILOGUE_32, CONTEXT);
    }

    /** PUSHFQ, then the registers the System V ABI wants kept: RBX RBP R12-R15. */
    private static void saveCaller(Asm a) {
        a.bytes(0x9C, 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57);
    }

    /** The reverse of {@link #saveCaller}, then RET: the caller gets its RFLAGS back (DF = 0 as the ABI wants). */
    private static void restoreCaller(Asm a) {
        a.bytes(0x41, 0x5F, 0x41, 0x5E, 0x41, 0x5D, 0x41, 0x5C, 0x5D, 0x5B, 0x9D, 0xC3);
    }

    private void place(Asm a, int offset, int limit) {
        byte[] b = a.toBytes();
        if (offset + b.length > limit) {
            throw new IllegalStateException("a stub overruns its space at " + Integer.toHexString(offset));
        }
        harness.write(offset, b, 0, b.length);
    }

    /** Lays out machine code at a known linear address, so that relative and absolute operands can be computed. */
    private static final class Asm {
        private final long start;
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Asm(long start) {
            this.start = start;
        }

        Asm bytes(int... values) {
            for (int v : values) {
                out.write(v);
            }
            return this;
        }

        Asm imm32(long v) {
            for (int k = 0; k < 4; k++) {
                out.write((int) (v >>> (8 * k)));
            }
            return this;
        }

        /** disp32 of RIP-relative addressing: from the end of the instruction, {@code trailing} bytes after it. */
        Asm ripRelative(long target, int trailing) {
            long next = start + out.size() + 4 + trailing;
            return imm32(checked(target - next));
        }

        /** rel32 of JMP/CALL: from the end of the instruction (this is its last field). */
        Asm rel32(long target) {
            return imm32(checked(target - (start + out.size() + 4)));
        }

        /** A 32-bit absolute address (compatibility mode: the pages are below 4 GiB when it is used). */
        Asm absolute(long target) {
            return imm32(target);
        }

        private static long checked(long displacement) {
            if (displacement != (int) displacement) {
                throw new IllegalStateException("a displacement beyond 2 GiB");
            }
            return displacement;
        }

        byte[] toBytes() {
            return out.toByteArray();
        }
    }
}
