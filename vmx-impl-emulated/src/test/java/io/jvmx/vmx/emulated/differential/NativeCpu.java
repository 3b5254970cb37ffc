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
 * <p>Two pages are mapped with {@code mmap}: a code page (read/write/execute) and a data page. The code page holds a
 * stub: {@link #PROLOGUE} saves the callee-saved registers, loads RFLAGS (POPFQ) and RAX..R15 except RSP from a context
 * block, then comes the instruction under test at {@link #instructionOffset()}, then {@link #EPILOGUE} stores RFLAGS
 * (PUSHFQ, first, before anything changes a flag) and all registers back and returns. The stub is called through JNA
 * as {@code void stub(long *context)} (System V ABI: context in RDI).
 *
 * <p>The x87 and SSE state is the case's too: the prologue saves the JVM's with FXSAVE64 and loads the case's with
 * FXRSTOR64; the epilogue saves the result with FXSAVE64, which does not wait for pending x87 exceptions, and loads
 * the JVM's back, which also drops any exception the instruction left pending.
 *
 * <p>The instruction must not fault (a fault is a signal that kills the JVM), must fall through to the next
 * instruction, and must not use RSP: callers filter such operands before running a case. For the x87 that means no
 * pending unmasked exception in the state it starts with (a waiting instruction would raise #MF): see
 * {@link X87Image#checkLoadable}.
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
    private static final int CONTEXT_X87_IN = CONTEXT_RSP_BEFORE + 8;
    private static final int CONTEXT_X87_OUT = CONTEXT_X87_IN + MachineState.X87_IMAGE_BYTES;
    private static final int CONTEXT_X87_HOST = CONTEXT_X87_OUT + MachineState.X87_IMAGE_BYTES;
    private static final int CONTEXT_BYTES = CONTEXT_X87_HOST + MachineState.X87_IMAGE_BYTES;

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
        checkDisplacements(PROLOGUE, CONTEXT_X87_HOST, CONTEXT_X87_IN);
        checkDisplacements(EPILOGUE, CONTEXT_X87_OUT, CONTEXT_X87_HOST);
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

    /** 0F A2: CPUID (SDM Vol. 2A), allowed at CPL 3. */
    private static final byte[] CPUID = bytes(0x0F, 0xA2);

    interface LibC extends Library {
        Pointer mmap(Pointer address, long length, int protection, int flags, int fd, long offset);

        int munmap(Pointer address, long length);
    }

    /** Loaded on first use, so that {@link #supported()} can be asked on any platform. */
    private static final class Libc {
        static final LibC LIBC = Native.load(Platform.C_LIBRARY_NAME, LibC.class);
    }

    private final Pointer pages;
    private final Pointer code;
    private final Pointer data;
    /** The context block, 16-byte aligned for the FXSAVE images. */
    private final Memory context = (Memory) new Memory(CONTEXT_BYTES + 16).align(16);
    private final Function stub;
    private final long[] contextWords = new long[CONTEXT_X87_IN / 8];
    private boolean closed;

    private NativeCpu(Pointer pages) {
        this.pages = pages;
        this.code = pages;
        this.data = pages.share(PAGE);
        byte[] filler = new byte[PAGE];
        java.util.Arrays.fill(filler, (byte) 0xCC); // INT3 around the stub
        code.write(0, filler, 0, PAGE);
        code.write(0, PROLOGUE, 0, PROLOGUE.length);
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
        Pointer p = Libc.LIBC.mmap(null, 2 * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
        if (failed(p)) {
            p = Libc.LIBC.mmap(null, 2 * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
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

    /** Offset of the instruction under test in the code page. */
    int instructionOffset() {
        return PROLOGUE.length;
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
        if (closed) {
            throw new IllegalStateException("closed");
        }
        if ((input.rflags & ~(SETTABLE_FLAGS | Flags.FIXED_1)) != 0) {
            throw new IllegalArgumentException(String.format("RFLAGS %#x: only CF PF AF ZF SF OF DF may be set",
                    input.rflags));
        }
        if (instruction.length == 0 || instruction.length > 15) {
            throw new IllegalArgumentException("an instruction has 1 to 15 bytes, not " + instruction.length);
        }
        int at = instructionOffset();
        code.write(at, instruction, 0, instruction.length);
        code.write(at + instruction.length, EPILOGUE, 0, EPILOGUE.length);
        data.write(0, input.data, 0, input.data.length);
        System.arraycopy(input.gpr, 0, contextWords, 0, MachineState.REGISTERS);
        contextWords[CONTEXT_RFLAGS / 8] = input.rflags | Flags.FIXED_1;
        context.write(0, contextWords, 0, CONTEXT_X87_IN / 8);
        byte[] x87 = input.x87 != null ? input.x87 : X87Image.initial();
        X87Image.checkLoadable(x87);
        context.write(CONTEXT_X87_IN, x87, 0, MachineState.X87_IMAGE_BYTES);
        context.write(CONTEXT_X87_OUT, X87Image.unwritten(), 0, MachineState.X87_IMAGE_BYTES);

        stub.invoke(Void.class, new Object[] {context});

        context.read(0, contextWords, 0, CONTEXT_X87_IN / 8);
        MachineState out = new MachineState(input.data.length);
        System.arraycopy(contextWords, 0, out.gpr, 0, MachineState.REGISTERS);
        out.gpr[MachineState.RSP] = contextWords[MachineState.RSP] - contextWords[CONTEXT_RSP_BEFORE / 8];
        out.rflags = contextWords[CONTEXT_RFLAGS / 8];
        data.read(0, out.data, 0, out.data.length);
        if (input.x87 != null) {
            out.x87 = new byte[MachineState.X87_IMAGE_BYTES];
            context.read(CONTEXT_X87_OUT, out.x87, 0, out.x87.length);
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
            Libc.LIBC.munmap(pages, 2 * PAGE);
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
