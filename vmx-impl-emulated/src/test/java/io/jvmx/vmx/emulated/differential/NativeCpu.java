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
 * <p>Ten pages are mapped with {@code mmap}, below 4 GiB when the kernel can (MAP_32BIT): two spare pages, the
 * harness page, the code page, the data page, two spare pages, the stack page, a spare page, the state page. The
 * spare pages before the harness and the stack page are room for a signal frame the kernel might push while RSP
 * points into the harness or stack page; nothing is kept there. The one after the stack page keeps the state page
 * away from it: the guest maps none of the spare pages, so an access beyond the stack page faults there.
 *
 * <ul>
 * <li>The <b>harness page</b> holds the stubs (below), their context block (the registers in the SDM's order, RFLAGS,
 * the landing site, the segment selectors), and in compatibility mode the stack of the far CALL into it.</li>
 * <li>The <b>code page</b> holds the instruction under test at {@link #INSTRUCTION_OFFSET}, INT3 everywhere else
 * except at its landing sites: after the instruction (the fall-through) and wherever the case says a branch may go.
 * Each landing site is a pad that records its own offset in the context (MOV to memory and JMP change no flag and
 * no register) and jumps to the epilogue, so RIP after the instruction is known without a single-step.</li>
 * <li>RSP is the case's own, in the stack page, and so is everything PUSH, CALL, ENTER ... write there.</li>
 * <li>The <b>state page</b> holds three 512-byte FXSAVE images (16-byte aligned, SDM Vol. 2A FXSAVE): the x87/SSE
 * state the instruction starts with ({@link FxsaveImage}; FNINIT's for a case without one), the state after it, and
 * the caller's (JVM's) state, saved before and restored after the case.</li>
 * </ul>
 *
 * <p>64-bit stub, called through JNA: saves the caller's RFLAGS and callee-saved registers, saves the JVM's x87 and SSE
 * state with FXSAVE64 and loads the case's with FXRSTOR64, loads the case's RFLAGS (POPFQ), RSP and the other
 * registers from the context (RIP-relative, so they need no register), and jumps to the instruction. The epilogue
 * stores RSP first and goes back to the caller's stack, then PUSHFQ (before anything changes a flag), the registers
 * and the segment selectors, saves the result's x87 and SSE state with FXSAVE64 (which does not wait for pending x87
 * exceptions) and loads the JVM's back (which also drops any exception the instruction left pending and gives the
 * JVM its MXCSR and, after MMX code, an empty x87 stack again, as the System V ABI wants), and restores the caller's
 * DS, ES (which a case may load) and flags.
 *
 * <p>Compatibility mode (Linux's 32-bit user code segment, selector 23H, SDM Vol. 3A, 5.2.1): a 64-bit stub makes a
 * far CALL to 32-bit code in the harness page, which loads DS and ES with the user data selector 2BH (Linux leaves
 * them null in 64-bit processes, and a null DS faults outside 64-bit mode), then the case's state as above with
 * 32-bit moves (absolute addresses: the pages lie below 4 GiB); its epilogue ends with a far RET back to 64-bit mode.
 * Only the low 32 bits of RAX..RDI mean anything there (R8-R15 do not exist in compatibility mode). The x87 and SSE
 * state goes in and out in the 64-bit code around the far CALL (FXRSTOR64 before it, FXSAVE64 after it).
 *
 * <p>The instruction must not fault (a fault is a signal that kills the JVM; a #XM of a 64-bit case is the one
 * exception the stub catches, see {@link #handler}), must land on one of its landing sites, and must leave the stack
 * inside the stack page: the form generators choose only such operands. For the x87 that means no pending unmasked
 * exception in the state it starts with (a waiting instruction would raise #MF): see
 * {@link FxsaveImage#checkLoadable}.
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

    private static final int PAGES = 10;
    private static final int HARNESS_PAGE = 2, CODE_PAGE = 3, DATA_PAGE = 4, STACK_PAGE = 7, STATE_PAGE = 9;
    /** State-page offsets of the FXSAVE images: the case's, the result's, the JVM's. */
    private static final int FXSAVE_IN = 0x000, FXSAVE_OUT = 0x200, FXSAVE_HOST = 0x400;

    // harness page layout
    private static final int PROLOGUE_64 = 0x000;
    private static final int PROLOGUE_COMPATIBILITY = 0x100;
    private static final int ENTRY_32 = 0x180;
    private static final int EPILOGUE_64 = 0x300;
    private static final int EPILOGUE_32 = 0x480;
    private static final int HANDLER = 0x600;
    /**
     * Slots of the SIGFPE handler (for cases that may raise #XM): the trap number it records (-1: none), the RIP of
     * the instruction under test, where to resume, and the handler it replaced.
     */
    private static final int TRAP_OUT = 0xB00, FAULT_RIP = 0xB08, RESUME_RIP = 0xB10, OLD_HANDLER = 0xB18;
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

    /** Linux's SIGFPE, sigaction's flags (asm-generic/signal.h) and glibc's struct sigaction and stack_t. */
    private static final int SIGFPE = 8;
    private static final int SA_SIGINFO = 4, SA_ONSTACK = 0x0800_0000, SA_RESTART = 0x1000_0000;
    /** struct sigaction: handler, sa_mask (128 bytes), sa_flags (int), sa_restorer. */
    private static final int SIGACTION_BYTES = 152, SIGACTION_FLAGS = 136;
    /** stack_t: ss_sp, ss_flags (int), ss_size. */
    private static final int STACK_T_BYTES = 24, STACK_T_FLAGS = 8, STACK_T_SIZE = 16;
    /** The SIGFPE handler's own stack: a signal frame holds the whole XSAVE state, some KiB on current processors. */
    private static final int ALTERNATE_STACK_BYTES = 64 * 1024;

    /** 0F A2: CPUID (SDM Vol. 2A), allowed at CPL 3. */
    private static final byte[] CPUID = bytes(0x0F, 0xA2);
    /** 0F 02 /r: LAR EAX, ECX (SDM Vol. 2A), allowed at CPL 3: ZF = 1 and the access rights if the selector is usable. */
    private static final byte[] LAR_EAX_ECX = bytes(0x0F, 0x02, 0xC1);

    interface LibC extends Library {
        Pointer mmap(Pointer address, long length, int protection, int flags, int fd, long offset);

        int munmap(Pointer address, long length);

        int arch_prctl(int code, Pointer address);

        long getauxval(long type);

        int sigaction(int signal, Pointer action, Pointer oldAction);

        int sigaltstack(Pointer stack, Pointer oldStack);
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
    private final Pointer state;
    private final Function stub64;
    private final Function stubCompatibility;
    private final long fsBase;
    private final long gsBase;
    private final boolean compatibilityMode;
    private final long[] contextWords = new long[CONTEXT_BYTES / 8];
    private final byte[] filler = new byte[PAGE];
    /** struct sigaction of the SIGFPE handler and of the one it replaces; the handler's stack_t and the old one. */
    private final Memory action = new Memory(SIGACTION_BYTES), oldAction = new Memory(SIGACTION_BYTES);
    private final Memory alternateStack = new Memory(ALTERNATE_STACK_BYTES);
    private final Memory stackT = new Memory(STACK_T_BYTES), oldStackT = new Memory(STACK_T_BYTES);
    private boolean closed;

    private NativeCpu(Pointer pages) {
        this.pages = pages;
        this.harness = pages.share((long) HARNESS_PAGE * PAGE);
        this.code = pages.share((long) CODE_PAGE * PAGE);
        this.data = pages.share((long) DATA_PAGE * PAGE);
        this.stack = pages.share((long) STACK_PAGE * PAGE);
        this.state = pages.share((long) STATE_PAGE * PAGE);
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

    /** Linear address of the state page (the FXSAVE images; the guest keeps its own there). */
    long stateAddress() {
        return address(state);
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
        if (instruction.length == 0 || instruction.length > 15) {
            throw new IllegalArgumentException("an instruction has 1 to 15 bytes, not " + instruction.length);
        }
        return executeCode(mode, instruction, landingSites, input);
    }

    /**
     * Executes a sequence of instructions as {@link #execute} does one: it must end on one of its landing sites (the
     * fall-through after its last byte, or another), with no access beyond the data and stack pages.
     */
    MachineState executeCode(Mode mode, byte[] instruction, int[] landingSites, MachineState input) {
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
        if (instruction.length == 0 || INSTRUCTION_OFFSET + instruction.length + LANDING_PAD_BYTES > PAGE) {
            throw new IllegalArgumentException(instruction.length + " bytes of code do not fit in the code page");
        }
        boolean traps = input.unmasksSimdExceptions();
        if (traps && mode != Mode.LONG_64) {
            // no signal may come in compatibility mode: the kernel's frame would go where RSP's low half points
            throw new IllegalArgumentException("only 64-bit cases may unmask SIMD floating-point exceptions");
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
        byte[] fxsave = input.fxsave != null ? input.fxsave : FxsaveImage.initial();
        FxsaveImage.checkLoadable(fxsave);
        state.write(FXSAVE_IN, fxsave, 0, FxsaveImage.BYTES);
        state.write(FXSAVE_OUT, FxsaveImage.unwritten(), 0, FxsaveImage.BYTES);

        Function stub = mode == Mode.LONG_64 ? stub64 : stubCompatibility;
        if (traps) {
            harness.setLong(TRAP_OUT, -1);
            harness.setLong(FAULT_RIP, codeAddress() + INSTRUCTION_OFFSET);
            harness.setLong(RESUME_RIP, codeAddress() + fallThrough);
            runCatchingSimdExceptions(stub);
        } else {
            stub.invoke(Void.class, new Object[0]);
        }

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
        if (traps) {
            long trap = harness.getLong(TRAP_OUT);
            out.exception = trap == -1 ? -1 : (int) trap;
        }
        if (input.fxsave != null) {
            out.fxsave = new byte[FxsaveImage.BYTES];
            state.read(FXSAVE_OUT, out.fxsave, 0, out.fxsave.length);
        }

        // INT3 again where the instruction and the pads were
        code.write(INSTRUCTION_OFFSET, filler, 0, instruction.length);
        code.write(fallThrough, filler, 0, LANDING_PAD_BYTES);
        for (int site : landingSites) {
            code.write(site, filler, 0, LANDING_PAD_BYTES);
        }
        return out;
    }

    /**
     * Runs {@code stub} with {@link #handler} as the SIGFPE handler, on a stack of its own (SA_ONSTACK), so that the
     * kernel's signal frame does not land in the case's stack page.
     */
    private void runCatchingSimdExceptions(Function stub) {
        action.clear();
        action.setLong(0, harnessAddress(HANDLER));
        action.setInt(SIGACTION_FLAGS, SA_SIGINFO | SA_ONSTACK | SA_RESTART);
        stackT.clear();
        stackT.setPointer(0, alternateStack);
        stackT.setInt(STACK_T_FLAGS, 0);
        stackT.setLong(STACK_T_SIZE, ALTERNATE_STACK_BYTES);
        if (Libc.LIBC.sigaltstack(stackT, oldStackT) != 0) {
            throw new IllegalStateException("sigaltstack failed: errno " + Native.getLastError());
        }
        try {
            if (Libc.LIBC.sigaction(SIGFPE, action, oldAction) != 0) {
                throw new IllegalStateException("sigaction failed: errno " + Native.getLastError());
            }
            harness.setLong(OLD_HANDLER, oldAction.getLong(0));
            try {
                stub.invoke(Void.class, new Object[0]);
            } finally {
                Libc.LIBC.sigaction(SIGFPE, oldAction, null);
            }
        } finally {
            Libc.LIBC.sigaltstack(oldStackT, null);
        }
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
        loadCaseState(a);
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
        saveCaseState(a);
        restoreCaller(a);
        place(a, EPILOGUE_64, EPILOGUE_32);

        // compatibility mode: the 64-bit entry (called through JNA), a far CALL to 32-bit code and back
        a = new Asm(harnessAddress(PROLOGUE_COMPATIBILITY));
        saveCaller(a);
        a.bytes(0x48, 0x89, 0x25).ripRelative(harnessAddress(CTX_REAL_RSP), 0);    // mov [real rsp], rsp
        loadCaseState(a);
        a.bytes(0x48, 0x8D, 0x25).ripRelative(harnessAddress(HARNESS_STACK_TOP), 0); // lea rsp, [harness stack]
        a.bytes(0xFF, 0x1D).ripRelative(harnessAddress(CTX_FAR_POINTER), 0);       // call far m16:32
        saveCaseState(a);
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
        place(a, EPILOGUE_32, HANDLER);

        a = new Asm(harnessAddress(HANDLER));
        handler(a);
        place(a, HANDLER, TRAP_OUT);
    }

    /** FXSAVE64 of the JVM's x87/SSE state, FXRSTOR64 of the case's (REX.W 0F AE /0, /1 with RIP + disp32). */
    private void loadCaseState(Asm a) {
        a.bytes(0x48, 0x0F, 0xAE, 0x05).ripRelative(stateAddress() + FXSAVE_HOST, 0); // fxsave64 [host]
        a.bytes(0x48, 0x0F, 0xAE, 0x0D).ripRelative(stateAddress() + FXSAVE_IN, 0);   // fxrstor64 [in]
    }

    /** FXSAVE64 of the case's result (no wait for pending x87 exceptions), FXRSTOR64 of the JVM's state. */
    private void saveCaseState(Asm a) {
        a.bytes(0x48, 0x0F, 0xAE, 0x05).ripRelative(stateAddress() + FXSAVE_OUT, 0);  // fxsave64 [out]
        a.bytes(0x48, 0x0F, 0xAE, 0x0D).ripRelative(stateAddress() + FXSAVE_HOST, 0); // fxrstor64 [host]
    }

    /**
     * The SIGFPE handler for cases that may raise #XM (installed for the duration of such a case only). Linux x86-64
     * calls it as handler(signal, siginfo, ucontext); the ucontext's general registers start at offset 40 (after
     * uc_flags, uc_link and the 24-byte uc_stack), RIP is gregs[16] (offset 0xA8) and the trap number gregs[20]
     * (offset 0xC8). If the fault is at the instruction under test, the handler records the trap number and moves
     * RIP to the fall-through landing site (the kernel restores the FP state of the fault, MXCSR flags included, on
     * return); else it jumps to the handler it replaced (the JVM's), so that any other SIGFPE is handled as before.
     */
    private void handler(Asm a) {
        a.bytes(0x48, 0x8B, 0x82, 0xA8, 0x00, 0x00, 0x00);                        // mov rax, [rdx+0xA8] ; RIP
        a.bytes(0x48, 0x3B, 0x05).ripRelative(harnessAddress(FAULT_RIP), 0);        // cmp rax, [fault rip]
        a.bytes(0x75, 29);                                                         // jne chain
        a.bytes(0x48, 0x8B, 0x82, 0xC8, 0x00, 0x00, 0x00);                        // mov rax, [rdx+0xC8] ; TRAPNO
        a.bytes(0x48, 0x89, 0x05).ripRelative(harnessAddress(TRAP_OUT), 0);         // mov [trap out], rax
        a.bytes(0x48, 0x8B, 0x05).ripRelative(harnessAddress(RESUME_RIP), 0);       // mov rax, [resume rip]
        a.bytes(0x48, 0x89, 0x82, 0xA8, 0x00, 0x00, 0x00);                        // mov [rdx+0xA8], rax
        a.bytes(0xC3);                                                             // ret
        a.bytes(0xFF, 0x25).ripRelative(harnessAddress(OLD_HANDLER), 0);            // chain: jmp [old handler]
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
