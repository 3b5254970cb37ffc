package io.jvmx.vmx.emulated.differential;

import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;
import io.jvmx.vmx.emulated.differential.InstructionForm.Mode;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Random;

/**
 * Compiler output on both processors: simd-kernels.c (test resources), compiled by gcc with SSE4.2 and
 * auto-vectorization into a flat position-independent image (simd-kernels.sh), is called with CALL RAX from the
 * case's instruction slot, on a random buffer. Its loops and intrinsics are the code that compilers and string
 * libraries emit (see the source); the whole function must agree: the buffer it writes, the registers it leaves
 * (return value, scratch registers, XMM registers, MXCSR flags), the flags.
 *
 * <p>The image is copied to the start of the data page (which is executable on both sides) and the buffer (struct
 * io of the source) follows at {@link #BUFFER}; RDI points to it (System V ABI). The stack is the case's stack page,
 * RSP 16-byte aligned before the call as the ABI wants; what the code spills there (below RSP too: the red zone) is
 * compared with the rest of the page. It returns to the fall-through landing site.
 */
final class CompiledKernelForms {
    private CompiledKernelForms() {
    }

    private static final int BUFFER = 0x800;
    /** Offsets in struct io: a, b (float[32]), c, d (double[16]), ints (int32_t[32]), text (uint8_t[128]). */
    private static final int A = 0, B = 128, C = 256, D = 384, INTS = 512, TEXT = 640, END = 1280;
    private static final byte[] IMAGE = load("simd-kernels.bin");

    static void addTo(List<InstructionForm> forms) {
        forms.add(new InstructionForm("CALL r/m64 (FF /2) into gcc's SSE4.2 code of simd-kernels.c, register",
                Mode.LONG_64, Feature.SSE42, false, CompiledKernelForms::generate, 5));
    }

    private static byte[] generate(CaseBuilder b) {
        Random r = b.random;
        MachineState in = b.input;
        in.setMxcsr(SimdValues.mxcsr(r));
        for (int k = 0; k < 32; k++) {
            in.setXmm(k, r.nextLong());
        }
        System.arraycopy(IMAGE, 0, in.data, 0, IMAGE.length);
        for (int k = 0; k < 32; k++) {
            b.setData(BUFFER + A + 4 * k, 4, r.nextInt(3) == 0 ? SimdValues.single(r) : Float.floatToRawIntBits(
                    (float) (r.nextGaussian() * 100)));
            b.setData(BUFFER + B + 4 * k, 4, r.nextInt(3) == 0 ? SimdValues.single(r) : Float.floatToRawIntBits(
                    (float) (r.nextGaussian() * 100)));
            b.setData(BUFFER + INTS + 4 * k, 4, r.nextInt(3) == 0 ? r.nextInt() : r.nextInt(2001) - 1000);
        }
        for (int k = 0; k < 16; k++) {
            b.setData(BUFFER + C + 8 * k, 8, r.nextInt(3) == 0 ? SimdValues.dbl(r)
                    : Double.doubleToRawLongBits(Math.abs(r.nextGaussian() * 1e3)));
            b.setData(BUFFER + D + 8 * k, 8, r.nextInt(3) == 0 ? SimdValues.dbl(r)
                    : Double.doubleToRawLongBits(r.nextGaussian()));
        }
        String alphabet = "abcdefghxyzAEIOU .,";
        for (int k = 0; k < 128; k++) {
            int c = r.nextInt(40) == 0 ? 0 : alphabet.charAt(r.nextInt(alphabet.length()));
            b.setData(BUFFER + TEXT + k, 1, c);
        }
        for (int k = BUFFER + END; k < NativeCpu.DATA_PAGE_BYTES; k++) {
            in.data[k] = 0;
        }
        Reg target = b.fixed(0, 8);
        b.fixed(7, 8);
        b.setFull(0, b.dataAddress);
        b.setFull(7, b.dataAddress + BUFFER);
        b.setRsp(b.rsp() & ~15L); // aligned for gcc's code: 16 bytes before the CALL (System V ABI, 3.2.2)
        b.note("rax = simd-kernels.bin at data+0, rdi = data+" + Integer.toHexString(BUFFER));
        return new Encoder().opcode(0xFF).modrm(2, target).bytes();
    }

    private static byte[] load(String name) {
        try (InputStream s = CompiledKernelForms.class.getResourceAsStream(name)) {
            if (s == null) {
                throw new IllegalStateException(name + " is not on the test class path");
            }
            byte[] b = s.readAllBytes();
            if (b.length > BUFFER) {
                throw new IllegalStateException(name + " is " + b.length + " bytes: more than fit before the buffer");
            }
            return b;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
