package io.jvmx.apic.mmio;

import static io.jvmx.apic.mmio.MmioInstruction.CodeSize.BITS_16;
import static io.jvmx.apic.mmio.MmioInstruction.CodeSize.BITS_32;
import static io.jvmx.apic.mmio.MmioInstruction.CodeSize.BITS_64;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/**
 * Decoding of the MOVs that reach a memory-mapped register (SDM Vol. 2A chapter 2 and Vol. 2B "MOV"); the byte
 * sequences are what GNU as assembles for the instructions in the comments.
 */
public class MmioInstructionTest {

    private static MmioInstruction decode(MmioInstruction.CodeSize size, int... bytes) {
        byte[] code = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            code[i] = (byte) bytes[i];
        }
        return MmioInstruction.decode(code, size);
    }

    @Test
    public void loadsAndStoresOfRegisters() {
        // mov eax, [rdx + rcx]
        assertEquals(new MmioInstruction(false, 4, 0, 0, 3), decode(BITS_64, 0x8B, 0x04, 0x0A));
        // mov [rdx + rcx], eax
        assertEquals(new MmioInstruction(true, 4, 0, 0, 3), decode(BITS_64, 0x89, 0x04, 0x0A));
        // mov r9d, [rax + 0x300]  (REX.R)
        assertEquals(new MmioInstruction(false, 4, 9, 0, 7), decode(BITS_64, 0x44, 0x8B, 0x88, 0x00, 0x03, 0, 0));
        // mov [rip + 0x1234], esi  (RIP-relative disp32)
        assertEquals(new MmioInstruction(true, 4, 6, 0, 6), decode(BITS_64, 0x89, 0x35, 0x34, 0x12, 0, 0));
        // mov rax, [rbx]  (REX.W: 8 bytes)
        assertEquals(8, decode(BITS_64, 0x48, 0x8B, 0x03).operandSize());
        // mov ecx, [ebx + 0xB0] in 32-bit code, disp8 form: mov ecx, [ebx - 0x10]
        assertEquals(new MmioInstruction(false, 4, 1, 0, 3), decode(BITS_32, 0x8B, 0x4B, 0xF0));
        // mov eax, [esp + 8*edi + 0x20]: SIB and disp8
        assertEquals(4, decode(BITS_32, 0x8B, 0x44, 0xFC, 0x20).length());
        // mov eax, [4*ecx + 0xFEE00000]: SIB without base, disp32
        assertEquals(7, decode(BITS_32, 0x8B, 0x04, 0x8D, 0x00, 0x00, 0xE0, 0xFE).length());
    }

    @Test
    public void storesOfImmediatesAreSignExtended() {
        // mov dword ptr [rdx + 0xB0], 0
        assertEquals(new MmioInstruction(true, 4, -1, 0, 10),
                decode(BITS_64, 0xC7, 0x82, 0xB0, 0, 0, 0, 0, 0, 0, 0));
        // mov qword ptr [rax], -1  (imm32 sign-extended to 64 bits)
        assertEquals(-1L, decode(BITS_64, 0x48, 0xC7, 0x00, 0xFF, 0xFF, 0xFF, 0xFF).immediate());
        // mov word ptr [eax], 0x8001 (66 prefix: imm16)
        MmioInstruction w = decode(BITS_32, 0x66, 0xC7, 0x00, 0x01, 0x80);
        assertEquals(2, w.operandSize());
        assertEquals((short) 0x8001, w.immediate());
        assertEquals(5, w.length());
    }

    @Test
    public void moffsFormsTakeAnAddressSizedOffset() {
        // mov eax, [0xFEE00030] in 32-bit code
        assertEquals(new MmioInstruction(false, 4, 0, 0, 5), decode(BITS_32, 0xA1, 0x30, 0x00, 0xE0, 0xFE));
        // movabs [0xFEE000B0], eax in 64-bit code: an 8-byte offset
        assertEquals(new MmioInstruction(true, 4, 0, 0, 9), decode(BITS_64, 0xA3, 0xB0, 0, 0xE0, 0xFE, 0, 0, 0, 0));
    }

    @Test
    public void prefixesAndAddressSizes() {
        // fs: mov eax, [ebx] with an address-size prefix in 64-bit code
        assertEquals(4, decode(BITS_64, 0x64, 0x67, 0x8B, 0x03).length());
        // 16-bit code: mov ax, [bx + si + 0x1234] (disp16); 66 makes it mov eax
        assertEquals(new MmioInstruction(false, 2, 0, 0, 4), decode(BITS_16, 0x8B, 0x80, 0x34, 0x12));
        assertEquals(new MmioInstruction(false, 4, 0, 0, 5), decode(BITS_16, 0x66, 0x8B, 0x80, 0x34, 0x12));
        // 16-bit code: mov [0x1234], ax (mod 00, rm 110: disp16)
        assertEquals(4, decode(BITS_16, 0x89, 0x06, 0x34, 0x12).length());
        // a REX followed by another prefix does not count (SDM Vol. 2A 2.2.1)
        assertEquals(0, decode(BITS_64, 0x44, 0x66, 0x8B, 0x03).register());
    }

    @Test
    public void otherInstructionsAreRefusedWithTheirBytes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> decode(BITS_64, 0x0F, 0xB6, 0x03)); // movzx
        assertTrue(e.getMessage(), e.getMessage().contains("0F B6 03"));
        assertThrows("a register operand", IllegalArgumentException.class, () -> decode(BITS_64, 0x89, 0xC0));
        assertThrows("C7 /1 is not MOV", IllegalArgumentException.class, () -> decode(BITS_64, 0xC7, 0x08, 0, 0, 0, 0));
        assertThrows("truncated", IllegalArgumentException.class, () -> decode(BITS_64, 0x8B, 0x04));
    }
}
