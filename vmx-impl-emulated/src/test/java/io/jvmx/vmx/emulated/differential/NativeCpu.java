package io.jvmx.vmx.emulated.differential;

import com.sun.jna.Function;
import com.sun.jna.Library;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Platform;
import com.sun.jna.Pointer;

import java.io.ByteArrayOutputStream;

/**
 * The processor of this machine as an oracle: executes one instruction in 64-bit user mode, on registers, flags and a
 * data page chosen by the caller, and returns what it changed.
 *
 * <p>Three pages are mapped with {@code mmap}: a code page (read/write/execute), a data page and the stub page (see
 * below). The code page holds a stub: {@link #PROLOGUE} saves the callee-saved registers, loads RFLAGS (POPFQ) and
 * RAX..R15 except RSP from a context block, then comes the instruction under test at {@link #instructionOffset()}, then {@link #EPILOGUE} stores RFLAGS
 * (PUSHFQ, first, before anything changes a flag) and all registers back and returns. The stub is called through JNA
 * as {@code void stub(long *context)} (System V ABI: context in RDI).
 *
 * <p>The x87 and SSE state is the case's too ({@link FxsaveImage}): the prologue saves the JVM's with FXSAVE64 and
 * loads the case's with FXRSTOR64; the epilogue saves the result with FXSAVE64, which does not wait for pending x87
 * exceptions, and loads the JVM's back, which also drops any exception the instruction left pending and gives the
 * JVM its MXCSR and (after MMX code) an empty x87 stack again, as the System V ABI wants.
 *
 * <p>A third page, the stub page, holds what the stub's own code needs RIP-relatively: the far pointers and saved
 * RSP of 32-bit cases, and the slots of the SIGFPE handler for cases that unmask SIMD floating-point exceptions.
 *
 * <p>The instruction must not fault (a fault is a signal that kills the JVM; a #XM is the one exception the stub
 * catches), must fall through to the next instruction, and must not use RSP: callers filter such operands before
 * running a case. For the x87 that means no pending unmasked exception in the state it starts with (a waiting
 * instruction would raise #MF): see {@link FxsaveImage#checkLoadable}.
 */
final class NativeCpu implements AutoCloseable {
    static final int PAGE = 4096;
    static final int DATA_PAGE_BYTES = PAGE;

    /**
     * Context block: 16 GPRs in SDM order (slot 4: RSP right after the instruction, written by the epilogue), RFLAGS,
     * then RSP right before the instruction (written by the prologue).
     */
    private static final int CONTEXT_RFLAGS = 16 * 8;
    private static final int CONTEXT_RSP_BEFORE = CONTEXT_RFLAGS + 8;
    /**
     * Three 512-byte FXSAVE images (16-byte aligned, SDM Vol. 2A FXSAVE): the x87/SSE state the instruction starts
     * with, the state after it, and the caller's (JVM's) state, saved before and restored after the case.
     */
    private static final int CONTEXT_FXSAVE_IN = CONTEXT_RSP_BEFORE + 8;
    private static final int CONTEXT_FXSAVE_OUT = CONTEXT_FXSAVE_IN + FxsaveImage.BYTES;
    private static final int CONTEXT_FXSAVE_HOST = CONTEXT_FXSAVE_OUT + FxsaveImage.BYTES;
    private static final int CONTEXT_BYTES = CONTEXT_FXSAVE_HOST + FxsaveImage.BYTES;

    /** The RFLAGS bits a caller may choose (SDM Vol. 1, 3.4.3: the status flags, and DF). */
    static final long SETTABLE_FLAGS = Flags.STATUS | Flags.DF;

    /** Linux x86-64 mmap constants (asm-generic/mman-common.h, asm/mman.h). */
    private static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    private static final int MAP_PRIVATE = 0x02, MAP_ANONYMOUS = 0x20, MAP_32BIT = 0x40;

    /**
     * The stub before the instruction (Intel syntax; opcodes from SDM Vol. 2: PUSH 50+rd, PUSH FF /6, POPFQ 9D,
     * MOV r64, r/m64 REX.W 8B /r, MOV r/m64, r64 REX.W 89 /r, FXSAVE64 REX.W 0F AE /0, FXRSTOR64 REX.W 0F AE /1).
     */
    private static final byte[] PROLOGUE = bytes(
            0x53,                               // push rbx        ; callee-saved (System V ABI)
            0x55,                               // push rbp
            0x41, 0x54,                         // push r12
            0x41, 0x55,                         // push r13
            0x41, 0x56,                         // push r14
            0x41, 0x57,                         // push r15
            0x57,                               // push rdi        ; the context, for the epilogue
            0x48, 0x0F, 0xAE, 0x87, 0x90, 0x04, 0x00, 0x00, // fxsave64 [rdi+0x490]  ; the JVM's x87/SSE state
            0x48, 0x0F, 0xAE, 0x8F, 0x90, 0x00, 0x00, 0x00, // fxrstor64 [rdi+0x90] ; the case's
            0xFF, 0xB7, 0x80, 0x00, 0x00, 0x00, // push qword [rdi+0x80]
            0x9D,                               // popfq           ; the input flags
            0x48, 0x89, 0xA7, 0x88, 0x00, 0x00, 0x00, // mov [rdi+0x88], rsp ; RSP before the instruction
            0x48, 0x8B, 0x07,                   // mov rax, [rdi]
            0x48, 0x8B, 0x4F, 0x08,             // mov rcx, [rdi+0x08]
            0x48, 0x8B, 0x57, 0x10,             // mov rdx, [rdi+0x10]
            0x48, 0x8B, 0x5F, 0x18,             // mov rbx, [rdi+0x18]
            0x48, 0x8B, 0x6F, 0x28,             // mov rbp, [rdi+0x28]
            0x48, 0x8B, 0x77, 0x30,             // mov rsi, [rdi+0x30]
            0x4C, 0x8B, 0x47, 0x40,             // mov r8,  [rdi+0x40]
            0x4C, 0x8B, 0x4F, 0x48,             // mov r9,  [rdi+0x48]
            0x4C, 0x8B, 0x57, 0x50,             // mov r10, [rdi+0x50]
            0x4C, 0x8B, 0x5F, 0x58,             // mov r11, [rdi+0x58]
            0x4C, 0x8B, 0x67, 0x60,             // mov r12, [rdi+0x60]
            0x4C, 0x8B, 0x6F, 0x68,             // mov r13, [rdi+0x68]
            0x4C, 0x8B, 0x77, 0x70,             // mov r14, [rdi+0x70]
            0x4C, 0x8B, 0x7F, 0x78,             // mov r15, [rdi+0x78]
            0x48, 0x8B, 0x7F, 0x38);            // mov rdi, [rdi+0x38] ; last: it held the context

    /** The stub after the instruction (POP r/m64 8F /0, PUSHFQ 9C, LEA REX.W 8D /r, CLD FC, RET C3). */
    private static final byte[] EPILOGUE = bytes(
            0x9C,                               // pushfq          ; first: nothing may touch the flags before
            0x57,                               // push rdi        ; the instruction's RDI
            0x48, 0x8B, 0x7C, 0x24, 0x10,       // mov rdi, [rsp+0x10] ; the context
            0x48, 0x0F, 0xAE, 0x87, 0x90, 0x02, 0x00, 0x00, // fxsave64 [rdi+0x290]  ; the case's result (no wait)
            0x48, 0x0F, 0xAE, 0x8F, 0x90, 0x04, 0x00, 0x00, // fxrstor64 [rdi+0x490] ; the JVM's state back
            0x48, 0x89, 0x07,                   // mov [rdi], rax
            0x48, 0x89, 0x4F, 0x08,             // mov [rdi+0x08], rcx
            0x48, 0x89, 0x57, 0x10,             // mov [rdi+0x10], rdx
            0x48, 0x89, 0x5F, 0x18,             // mov [rdi+0x18], rbx
            0x48, 0x89, 0x6F, 0x28,             // mov [rdi+0x28], rbp
            0x48, 0x89, 0x77, 0x30,             // mov [rdi+0x30], rsi
            0x4C, 0x89, 0x47, 0x40,             // mov [rdi+0x40], r8
            0x4C, 0x89, 0x4F, 0x48,             // mov [rdi+0x48], r9
            0x4C, 0x89, 0x57, 0x50,             // mov [rdi+0x50], r10
            0x4C, 0x89, 0x5F, 0x58,             // mov [rdi+0x58], r11
            0x4C, 0x89, 0x67, 0x60,             // mov [rdi+0x60], r12
            0x4C, 0x89, 0x6F, 0x68,             // mov [rdi+0x68], r13
            0x4C, 0x89, 0x77, 0x70,             // mov [rdi+0x70], r14
            0x4C, 0x89, 0x7F, 0x78,             // mov [rdi+0x78], r15
            0x48, 0x8D, 0x44, 0x24, 0x10,       // lea rax, [rsp+0x10] ; RSP after the instruction
            0x48, 0x89, 0x47, 0x20,             // mov [rdi+0x20], rax
            0x8F, 0x47, 0x38,                   // pop qword [rdi+0x38] ; the instruction's RDI
            0x8F, 0x87, 0x80, 0x00, 0x00, 0x00, // pop qword [rdi+0x80] ; the flags
            0x5F,                               // pop rdi
            0xFC,                               // cld             ; the ABI wants DF = 0 at a return
            0x41, 0x5F,                         // pop r15
            0x41, 0x5E,                         // pop r14
            0x41, 0x5D,                         // pop r13
            0x41, 0x5C,                         // pop r12
            0x5D,                               // pop rbp
            0x5B,                               // pop rbx
            0xC3);                              // ret

    static {
        // the FXSAVE64/FXRSTOR64 displacements written out above are the context offsets
        checkDisplacements(PROLOGUE, CONTEXT_FXSAVE_HOST, CONTEXT_FXSAVE_IN);
        checkDisplacements(EPILOGUE, CONTEXT_FXSAVE_OUT, CONTEXT_FXSAVE_HOST);
    }

    private static void checkDisplacements(byte[] stub, int... expected) {
        int found = 0;
        for (int i = 0; i + 8 <= stub.length && found < expected.length; i++) {
            if (stub[i] == 0x48 && stub[i + 1] == 0x0F && stub[i + 2] == (byte) 0xAE
                    && (stub[i + 3] == (byte) 0x87 || stub[i + 3] == (byte) 0x8F)) {
                int disp = (stub[i + 4] & 0xFF) | (stub[i + 5] & 0xFF) << 8 | (stub[i + 6] & 0xFF) << 16
                        | (stub[i + 7] & 0xFF) << 24;
                if (disp != expected[found]) {
                    throw new IllegalStateException(String.format("stub displacement %#x, context offset %#x", disp,
                            expected[found]));
                }
                found++;
            }
        }
        if (found != expected.length) {
            throw new IllegalStateException("the stub lacks its FXSAVE64/FXRSTOR64 instructions");
        }
    }

    /** Linux x86-64's user segments (arch/x86/include/asm/segment.h): 32-bit code, data, 64-bit code. */
    private static final int USER32_CS = 0x23, USER_DS = 0x2B, USER_CS = 0x33;

    /** The stub page: {@link #STUB_PAGE_FROM_CODE} bytes after the code page. */
    static final int STUB_PAGE_FROM_CODE = 2 * PAGE;
    /**
     * Stub-page slots of the SIGFPE handler (for cases that may raise #XM): the trap number it records (-1: none),
     * the RIP of the instruction under test, where to resume, and the handler it replaced.
     */
    private static final int TRAP_OUT = 0x010, FAULT_RIP = 0x018, RESUME_RIP = 0x020, OLD_HANDLER = 0x028;
    /** Stub-page slots of 32-bit cases: the far pointer to the 32-bit code (offset, selector), the data selector, RSP. */
    private static final int FAR_TO_32 = 0x040, DATA_SELECTOR = 0x048, RSP_SAVE = 0x050;

    /** MOV [rip+d], RSP (REX.W 89 /r) or MOV RSP, [rip+d] (REX.W 8B /r) for a stub-page slot. */
    private static byte[] ripRelative(int at, int opcode, int slot) {
        int d = STUB_PAGE_FROM_CODE + slot - (at + 7);
        return new byte[] {0x48, (byte) opcode, 0x25, (byte) d, (byte) (d >>> 8), (byte) (d >>> 16), (byte) (d >>> 24)};
    }

    /** JMP FAR m16:32 (FF /5) with a RIP-relative operand in the stub page, at code-page offset {@code at}. */
    private static byte[] ripRelativeFarJump(int at, int slot) {
        int d = STUB_PAGE_FROM_CODE + slot - (at + 6);
        return new byte[] {(byte) 0xFF, 0x2D, (byte) d, (byte) (d >>> 8), (byte) (d >>> 16), (byte) (d >>> 24)};
    }

    /**
     * 32-bit code: MOV DS, SS:m16 and MOV ES, SS:m16 (36 8E /3, 36 8E /0) from the stub page: in compatibility mode
     * the null DS and ES a 64-bit process has would fault (Vol. 3A, 5.4.1), SS holds the flat user data selector;
     * no stack (RSP's upper half is gone) and no register is needed.
     */
    private static byte[] loadDataSegments(long stubPage) {
        long a = stubPage + DATA_SELECTOR;
        return new byte[] {0x36, (byte) 0x8E, 0x1D, (byte) a, (byte) (a >>> 8), (byte) (a >>> 16),
                (byte) (a >>> 24), 0x36, (byte) 0x8E, 0x05, (byte) a, (byte) (a >>> 8), (byte) (a >>> 16),
                (byte) (a >>> 24)};
    }

    /**
     * Bytes between the prologue and the instruction: the way into 32-bit code (save RSP, JMP FAR, load DS and ES),
     * one-byte NOPs (90) in 64-bit cases, so that the instruction is at the same offset in both.
     */
    private static final int TO_32_BIT_CODE = 7 + 6 + 14;
    /** After the instruction of a 32-bit case: JMP FAR back to 64-bit code, restore RSP. */
    private static final int WAY_BACK_FROM_32_BIT_CODE = 7 + 7;
    private static final byte[] NOPS = nops(TO_32_BIT_CODE);

    private static byte[] nops(int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) 0x90);
        return b;
    }

    /** 0F A2: CPUID (SDM Vol. 2A), allowed at CPL 3. */
    private static final byte[] CPUID = bytes(0x0F, 0xA2);

    interface LibC extends Library {
        Pointer mmap(Pointer address, long length, int protection, int flags, int fd, long offset);

        int munmap(Pointer address, long length);

        int sigaction(int signal, Pointer action, Pointer oldAction);
    }

    /**
     * The SIGFPE handler for cases that may raise #XM (installed for the duration of such a case only). Linux x86-64
     * calls it as handler(signal, siginfo, ucontext); the ucontext's general registers start at offset 40 (after
     * uc_flags, uc_link and the 24-byte uc_stack), RIP is gregs[16] (offset 0xA8) and the trap number gregs[20]
     * (offset 0xC8). If the fault is at the instruction under test, the handler records the trap number and moves
     * RIP past the instruction (the kernel restores the FP state of the fault, MXCSR flags included, on return);
     * else it jumps to the handler it replaced (the JVM's), so that any other SIGFPE is handled as before.
     */
    private static final int HANDLER_OFFSET = 0xE00;
    private static final int SIGFPE = 8;
    private static final int SA_SIGINFO = 4, SA_RESTART = 0x1000_0000;
    /** glibc's struct sigaction: handler, sa_mask (128 bytes), sa_flags (int), sa_restorer. */
    private static final int SIGACTION_BYTES = 152, SIGACTION_FLAGS = 136;

    private static byte[] handler() {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int[] head = {0x48, 0x8B, 0x82, 0xA8, 0x00, 0x00, 0x00};             // mov rax, [rdx+0xA8]  ; RIP
        write(b, head);
        ripRelative(b, new int[] {0x48, 0x3B, 0x05}, FAULT_RIP);             // cmp rax, [rip+FAULT_RIP]
        write(b, new int[] {0x75, 29});                                       // jne chain
        write(b, new int[] {0x48, 0x8B, 0x82, 0xC8, 0x00, 0x00, 0x00});       // mov rax, [rdx+0xC8]  ; TRAPNO
        ripRelative(b, new int[] {0x48, 0x89, 0x05}, TRAP_OUT);              // mov [rip+TRAP_OUT], rax
        ripRelative(b, new int[] {0x48, 0x8B, 0x05}, RESUME_RIP);            // mov rax, [rip+RESUME_RIP]
        write(b, new int[] {0x48, 0x89, 0x82, 0xA8, 0x00, 0x00, 0x00});       // mov [rdx+0xA8], rax
        write(b, new int[] {0xC3});                                           // ret
        ripRelative(b, new int[] {0xFF, 0x25}, OLD_HANDLER);                 // chain: jmp [rip+OLD_HANDLER]
        return b.toByteArray();
    }

    private static void write(ByteArrayOutputStream b, int[] bytes) {
        for (int v : bytes) {
            b.write(v);
        }
    }

    private static void ripRelative(ByteArrayOutputStream b, int[] opcode, int slot) {
        write(b, opcode);
        int next = HANDLER_OFFSET + b.size() + 4;
        int d = STUB_PAGE_FROM_CODE + slot - next;
        for (int k = 0; k < 4; k++) {
            b.write(d >>> (8 * k));
        }
    }

    /** Loaded on first use, so that {@link #supported()} can be asked on any platform. */
    private static final class Libc {
        static final LibC LIBC = Native.load(Platform.C_LIBRARY_NAME, LibC.class);
    }

    private final Pointer pages;
    private final Pointer code;
    private final Pointer data;
    /** The stub page: slots of the 32-bit entry and of the SIGFPE handler. */
    private final Pointer stubPage;
    private static final int PAGES = 3;
    /** The context block, 16-byte aligned for the FXSAVE images. */
    private final Memory context = new Memory(CONTEXT_BYTES + 16).align(16);
    private final Function stub;
    private final long[] contextWords = new long[CONTEXT_FXSAVE_IN / 8];
    /** struct sigaction of the SIGFPE handler and of the one it replaces. */
    private final Memory action = new Memory(SIGACTION_BYTES), oldAction = new Memory(SIGACTION_BYTES);
    private boolean closed;

    private NativeCpu(Pointer pages) {
        this.pages = pages;
        this.code = pages;
        this.data = pages.share(PAGE);
        this.stubPage = pages.share(STUB_PAGE_FROM_CODE);
        byte[] filler = new byte[PAGE];
        java.util.Arrays.fill(filler, (byte) 0xCC); // INT3 around the stub
        code.write(0, filler, 0, PAGE);
        code.write(0, PROLOGUE, 0, PROLOGUE.length);
        byte[] h = handler();
        code.write(HANDLER_OFFSET, h, 0, h.length);
        stub = Function.getFunction(code);
    }

    static final String UNSUPPORTED = "executing x86-64 instructions natively needs Linux on x86-64, not "
            + System.getProperty("os.name") + " on " + System.getProperty("os.arch");

    /** Linux on x86-64: the stub is x86-64 code for the System V ABI, mapped with Linux's mmap flags. */
    static boolean supported() {
        return Platform.isLinux() && Platform.isIntel() && Platform.is64Bit();
    }

    /**
     * Maps the pages, below 4 GiB if the kernel can (MAP_32BIT), so that forms with a 32-bit address size (67 prefix)
     * can reach the data page; see {@link #dataBelow4GiB()}.
     */
    static NativeCpu open() {
        if (!supported()) {
            throw new IllegalStateException(UNSUPPORTED);
        }
        int prot = PROT_READ | PROT_WRITE | PROT_EXEC;
        Pointer p = Libc.LIBC.mmap(null, PAGES * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (failed(p)) {
            p = Libc.LIBC.mmap(null, PAGES * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        }
        if (failed(p)) {
            throw new IllegalStateException("mmap of an executable page failed: errno " + Native.getLastError());
        }
        return new NativeCpu(p);
    }

    private static boolean failed(Pointer p) {
        return p == null || Pointer.nativeValue(p) == -1L;
    }

    /** Linear address of the code page (the stub starts there). */
    long codeAddress() {
        return Pointer.nativeValue(code);
    }

    /** Offset of the instruction under test in the code page (after the place of the way into 32-bit code). */
    int instructionOffset() {
        return PROLOGUE.length + TO_32_BIT_CODE;
    }

    /** Linear address of the data page. */
    long dataAddress() {
        return Pointer.nativeValue(data);
    }

    boolean dataBelow4GiB() {
        return (dataAddress() + DATA_PAGE_BYTES) <= (1L << 32);
    }

    /**
     * Executes {@code instruction} with the registers, flags ({@link #SETTABLE_FLAGS} only) and data page of
     * {@code input}; returns the registers, RFLAGS and data page afterwards (RSP: its change).
     */
    MachineState execute(byte[] instruction, MachineState input) {
        if (instruction.length == 0 || instruction.length > 15) {
            throw new IllegalArgumentException("an instruction has 1 to 15 bytes, not " + instruction.length);
        }
        return executeCode(instruction, input);
    }

    /**
     * Executes a sequence of instructions (that ends by falling through its last byte, with no access beyond the
     * data page and the registers the stub saves) as {@link #execute} does one instruction.
     */
    MachineState executeCode(byte[] instruction, MachineState input) {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if ((input.rflags & ~(SETTABLE_FLAGS | Flags.FIXED_1)) != 0) {
            throw new IllegalArgumentException(String.format("RFLAGS %#x: only CF PF AF ZF SF OF DF may be set",
                    input.rflags));
        }
        if (instructionOffset() + instruction.length + WAY_BACK_FROM_32_BIT_CODE + EPILOGUE.length > HANDLER_OFFSET) {
            throw new IllegalArgumentException(instruction.length + " bytes of code do not fit before the handler");
        }
        int at = instructionOffset();
        long stub32 = Pointer.nativeValue(stubPage);
        boolean traps = input.unmasksSimdExceptions();
        if (input.compat) {
            if (input.fxsave == null || stub32 + PAGE > 1L << 32 || traps) {
                // no signal may come in compatibility mode: the kernel's frame would go where RSP's low half points
                throw new IllegalArgumentException("32-bit cases need x87/SSE state, pages below 4 GiB and no traps");
            }
            // 64-bit: JMP FAR m16:32 to the 32-bit code segment; 32-bit: MOV DS/ES, m16 (flat user data), the
            // instruction (Vol. 1, 3.2.1 compatibility mode). RSP is saved first: the processor leaves bits 63:32 of
            // RSP undefined across the mode switches (Vol. 1, 3.4.1.1), and this one clears them.
            int p = PROLOGUE.length;
            code.write(p, ripRelative(p, 0x89, RSP_SAVE), 0, 7);
            code.write(p + 7, ripRelativeFarJump(p + 7, FAR_TO_32), 0, 6);
            byte[] segments = loadDataSegments(stub32);
            code.write(p + 13, segments, 0, segments.length);
            stubPage.setInt(FAR_TO_32, (int) (codeAddress() + p + 13));
            stubPage.setShort(FAR_TO_32 + 4, (short) USER32_CS);
            stubPage.setShort(DATA_SELECTOR, (short) USER_DS);
        } else {
            code.write(PROLOGUE.length, NOPS, 0, NOPS.length);
        }
        code.write(at, instruction, 0, instruction.length);
        int after = at + instruction.length;
        if (input.compat) {
            // back to 64-bit code: JMP FAR ptr16:32 (EA) to the 64-bit user code segment, right after it
            long back = codeAddress() + after + 7;
            byte[] far = {(byte) 0xEA, (byte) back, (byte) (back >>> 8), (byte) (back >>> 16),
                    (byte) (back >>> 24), (byte) USER_CS, 0};
            code.write(after, far, 0, far.length);
            after += far.length;
            code.write(after, ripRelative(after, 0x8B, RSP_SAVE), 0, 7);
            after += 7;
        }
        code.write(after, EPILOGUE, 0, EPILOGUE.length);
        data.write(0, input.data, 0, input.data.length);
        System.arraycopy(input.gpr, 0, contextWords, 0, MachineState.REGISTERS);
        contextWords[CONTEXT_RFLAGS / 8] = input.rflags | Flags.FIXED_1;
        context.write(0, contextWords, 0, contextWords.length);
        byte[] fxsave = input.fxsave != null ? input.fxsave : FxsaveImage.initial();
        FxsaveImage.checkLoadable(fxsave);
        context.write(CONTEXT_FXSAVE_IN, fxsave, 0, FxsaveImage.BYTES);
        context.write(CONTEXT_FXSAVE_OUT, FxsaveImage.unwritten(), 0, FxsaveImage.BYTES);

        if (traps) {
            stubPage.setLong(TRAP_OUT, -1);
            stubPage.setLong(FAULT_RIP, codeAddress() + at);
            stubPage.setLong(RESUME_RIP, codeAddress() + at + instruction.length);
            action.clear();
            action.setLong(0, codeAddress() + HANDLER_OFFSET);
            action.setInt(SIGACTION_FLAGS, SA_SIGINFO | SA_RESTART);
            if (Libc.LIBC.sigaction(SIGFPE, action, oldAction) != 0) {
                throw new IllegalStateException("sigaction failed: errno " + Native.getLastError());
            }
            stubPage.setLong(OLD_HANDLER, oldAction.getLong(0));
            try {
                stub.invoke(Void.class, new Object[] {context});
            } finally {
                Libc.LIBC.sigaction(SIGFPE, oldAction, null);
            }
        } else {
            stub.invoke(Void.class, new Object[] {context});
        }

        context.read(0, contextWords, 0, contextWords.length);
        MachineState out = new MachineState(input.data.length);
        System.arraycopy(contextWords, 0, out.gpr, 0, MachineState.REGISTERS);
        out.gpr[MachineState.RSP] = contextWords[MachineState.RSP] - contextWords[CONTEXT_RSP_BEFORE / 8];
        out.rflags = contextWords[CONTEXT_RFLAGS / 8];
        data.read(0, out.data, 0, out.data.length);
        if (traps) {
            long trap = stubPage.getLong(TRAP_OUT);
            out.exception = trap == -1 ? -1 : (int) trap;
        }
        if (input.fxsave != null) {
            out.fxsave = new byte[FxsaveImage.BYTES];
            context.read(CONTEXT_FXSAVE_OUT, out.fxsave, 0, out.fxsave.length);
        }
        return out;
    }

    /** CPUID executed natively (leaf in EAX, subleaf in ECX). */
    int[] cpuid(int leaf, int subleaf) {
        MachineState in = new MachineState(DATA_PAGE_BYTES);
        in.gpr[0] = leaf & 0xFFFF_FFFFL;
        in.gpr[1] = subleaf & 0xFFFF_FFFFL;
        in.rflags = Flags.FIXED_1;
        MachineState out = execute(CPUID, in);
        return new int[] {(int) out.gpr[0], (int) out.gpr[3], (int) out.gpr[1], (int) out.gpr[2]};
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            Libc.LIBC.munmap(pages, PAGES * PAGE);
        }
    }

    static byte[] bytes(int... values) {
        ByteArrayOutputStream b = new ByteArrayOutputStream(values.length);
        for (int v : values) {
            b.write(v);
        }
        return b.toByteArray();
    }
}
