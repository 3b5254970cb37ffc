package io.jvmx.vmx.emulated.cpu;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.jvmx.vmx.api.arch.Exceptions;

import org.junit.Test;

/** The instruction decoder against the encodings of SDM Vol. 2, chapter 2, and the opcode maps of Vol. 2D, App. A. */
public class DecoderTest {

    static Insn decode(int mode, int... bytes) {
        Insn i = new Insn();
        Decoder.decode(i, mode, off -> {
            if (off >= bytes.length) {
                throw new AssertionError("the decoder read byte " + off + " of a " + bytes.length + "-byte instruction");
            }
            return bytes[off] & 0xFF;
        }, new CpuFault());
        return i;
    }

    @Test
    public void oneByteOpcodesAndOperandSizesPerMode() {
        // 01 D8: ADD EAX, EBX / ADD AX, BX (SDM Vol. 1, 3.6: default operand size from CS.D)
        Insn add32 = decode(Insn.MODE32, 0x01, 0xD8);
        assertEquals(2, add32.len);
        assertEquals(Insn.MAP_1, add32.map);
        assertEquals(0x01, add32.opcode);
        assertEquals(4, add32.opSize);
        assertEquals(3, add32.mod);
        assertEquals(3, add32.reg); // EBX
        assertEquals(0, add32.rm);  // EAX
        assertEquals(2, decode(Insn.MODE16, 0x01, 0xD8).opSize);
        assertEquals(4, decode(Insn.MODE16, 0x66, 0x01, 0xD8).opSize); // 66H toggles
        assertEquals(2, decode(Insn.MODE64, 0x66, 0x01, 0xD8).opSize);
        assertEquals(8, decode(Insn.MODE64, 0x48, 0x01, 0xD8).opSize); // REX.W (2.2.1.2)
        assertEquals(8, decode(Insn.MODE64, 0x66, 0x48, 0x01, 0xD8).opSize); // REX.W wins over 66H
    }

    @Test
    public void rexMustImmediatelyPrecedeTheOpcode() {
        // 2.2.1: "REX prefixes ... must immediately precede the opcode"; a legacy prefix after REX cancels it
        Insn ignored = decode(Insn.MODE64, 0x48, 0x66, 0x01, 0xD8);
        assertEquals(0, ignored.rex);
        assertEquals(2, ignored.opSize);
        Insn r = decode(Insn.MODE64, 0x4D, 0x01, 0xD8); // REX.WRB: ADD R8, R11
        assertEquals(11, r.reg);
        assertEquals(8, r.rm);
        // outside 64-bit mode 40-4F are INC/DEC
        Insn inc = decode(Insn.MODE32, 0x48);
        assertEquals(1, inc.len);
        assertEquals(0x48, inc.opcode);
    }

    @Test
    public void immediateSizes() {
        assertEquals(5, decode(Insn.MODE32, 0x05, 1, 2, 3, 4).len); // ADD EAX, imm32 (Iz)
        Insn add16 = decode(Insn.MODE16, 0x05, 0xFE, 0xFF);
        assertEquals(3, add16.len);
        assertEquals(-2, add16.imm); // Iz is sign-extended to the operand size
        Insn movImm64 = decode(Insn.MODE64, 0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 0x88); // MOV RAX, imm64 (Iv)
        assertEquals(10, movImm64.len);
        assertEquals(0x8807060504030201L, movImm64.imm);
        Insn addImm32in64 = decode(Insn.MODE64, 0x48, 0x05, 0xFF, 0xFF, 0xFF, 0xFF); // Iz stays 32 bits with REX.W
        assertEquals(6, addImm32in64.len);
        assertEquals(-1, addImm32in64.imm);
        Insn cmp83 = decode(Insn.MODE32, 0x83, 0xF8, 0x80); // CMP EAX, Ib (sign-extended)
        assertEquals(3, cmp83.len);
        assertEquals(-128, cmp83.imm);
        assertEquals(7, cmp83.regOp());
        // ENTER Iw, Ib; RET Iw; far pointers Ap (ptr16:16 / ptr16:32)
        Insn enter = decode(Insn.MODE32, 0xC8, 0x10, 0x00, 0x03);
        assertEquals(4, enter.len);
        assertEquals(0x10, enter.imm);
        assertEquals(3, enter.imm2);
        assertEquals(3, decode(Insn.MODE32, 0xC2, 0x08, 0x00).len);
        Insn far32 = decode(Insn.MODE32, 0xEA, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00);
        assertEquals(7, far32.len);
        assertEquals(0x12345678L, far32.imm);
        assertEquals(8, far32.imm2);
        assertEquals(5, decode(Insn.MODE16, 0x9A, 0x00, 0x80, 0x00, 0xF0).len);
    }

    @Test
    public void groupThreeHasAnImmediateOnlyForTest() {
        // Table A-6: F6 /0 and /1 TEST Eb, Ib; /2../7 (NOT NEG MUL IMUL DIV IDIV) have none
        assertEquals(3, decode(Insn.MODE32, 0xF6, 0xC0, 0x01).len);
        assertEquals(2, decode(Insn.MODE32, 0xF6, 0xD0).len);
        assertEquals(6, decode(Insn.MODE32, 0xF7, 0xC0, 1, 2, 3, 4).len);
        assertEquals(2, decode(Insn.MODE32, 0xF7, 0xF1).len); // DIV ECX
    }

    @Test
    public void branchDisplacements() {
        Insn jcc8 = decode(Insn.MODE32, 0x75, 0xFE);
        assertEquals(2, jcc8.len);
        assertEquals(-2, jcc8.imm);
        Insn jcc16 = decode(Insn.MODE16, 0x0F, 0x85, 0xFC, 0xFF);
        assertEquals(4, jcc16.len);
        assertEquals(-4, jcc16.imm);
        // 64-bit mode: near branches take a 32-bit displacement whatever 66H says (Intel; Vol. 2A, Jcc and JMP)
        Insn call64 = decode(Insn.MODE64, 0x66, 0xE8, 0x10, 0, 0, 0);
        assertEquals(6, call64.len);
        assertEquals(0x10, call64.imm);
    }

    @Test
    public void moffsFollowTheAddressSize() {
        // A0-A3: MOV AL/rAX, moffs (Ob/Ov): the offset has the address size (Table A-2 note)
        assertEquals(5, decode(Insn.MODE32, 0xA1, 1, 2, 3, 4).len);
        assertEquals(3, decode(Insn.MODE16, 0xA1, 1, 2).len);
        Insn far = decode(Insn.MODE64, 0xA1, 1, 2, 3, 4, 5, 6, 7, 8);
        assertEquals(9, far.len);
        assertEquals(0x0807060504030201L, far.imm);
        assertEquals(6, decode(Insn.MODE64, 0x67, 0xA1, 1, 2, 3, 4).len); // 67H: a 32-bit offset
    }

    @Test
    public void sixteenBitAddressing() {
        // Table 2-1: [BX+SI+disp8]; [BP+DI] defaults to SS; mod 00 rm 110 is disp16 alone
        Insn bxsi = decode(Insn.MODE16, 0x8B, 0x40, 0x05); // MOV AX, [BX+SI+5]
        assertEquals(Executor.RBX, bxsi.base);
        assertEquals(Executor.RSI, bxsi.index);
        assertEquals(5, bxsi.disp);
        assertEquals(CpuState.DS, bxsi.eaSeg);
        Insn bpdi = decode(Insn.MODE16, 0x8B, 0x03); // MOV AX, [BP+DI]
        assertEquals(Executor.RBP, bpdi.base);
        assertEquals(CpuState.SS, bpdi.eaSeg);
        Insn direct = decode(Insn.MODE16, 0x8B, 0x06, 0x34, 0x12); // MOV AX, [0x1234]
        assertEquals(4, direct.len);
        assertEquals(-1, direct.base);
        assertEquals(0x1234, direct.disp);
        Insn es = decode(Insn.MODE16, 0x26, 0x8B, 0x03); // ES override
        assertEquals(CpuState.ES, es.eaSeg);
    }

    @Test
    public void sibAndRipRelative() {
        // Table 2-3: SIB with base 101b and mod 00 has no base but a disp32; index 100b means none
        Insn noBase = decode(Insn.MODE32, 0x8B, 0x04, 0x8D, 0x00, 0x10, 0x00, 0x00); // MOV EAX, [ECX*4+0x1000]
        assertEquals(7, noBase.len);
        assertEquals(-1, noBase.base);
        assertEquals(Executor.RCX, noBase.index);
        assertEquals(2, noBase.scale);
        assertEquals(0x1000, noBase.disp);
        Insn espBase = decode(Insn.MODE32, 0x8B, 0x44, 0x24, 0x08); // MOV EAX, [ESP+8]: SS default
        assertEquals(Executor.RSP, espBase.base);
        assertEquals(-1, espBase.index);
        assertEquals(CpuState.SS, espBase.eaSeg);
        Insn r12 = decode(Insn.MODE64, 0x4A, 0x8B, 0x04, 0x24); // REX.X: index 100b is R12 (2.2.1.2)
        assertEquals(12, r12.index);
        // 2.2.1.6: mod 00 rm 101 is RIP + disp32 in 64-bit mode, disp32 alone elsewhere
        Insn rip = decode(Insn.MODE64, 0x8B, 0x05, 0xF0, 0xFF, 0xFF, 0xFF);
        assertTrue(rip.ripRel);
        assertEquals(-16, rip.disp);
        assertFalse(decode(Insn.MODE32, 0x8B, 0x05, 0, 0, 0, 0).ripRel);
        // the 64-bit-mode null segment prefixes are ignored (Vol. 1, 3.3.7.1); FS and GS stay
        assertEquals(CpuState.DS, decode(Insn.MODE64, 0x26, 0x8B, 0x00).eaSeg);
        assertEquals(CpuState.GS, decode(Insn.MODE64, 0x65, 0x8B, 0x00).eaSeg);
    }

    @Test
    public void movToControlRegisterIgnoresMod() {
        // MOV CR, r (0F 22): "the mod field is ignored" (Vol. 2B MOV): 0F 22 18 is MOV CR3, EAX, 3 bytes long
        Insn mov = decode(Insn.MODE32, 0x0F, 0x22, 0x18);
        assertEquals(3, mov.len);
        assertEquals(3, mov.reg);
        assertEquals(0, mov.rm);
        assertEquals(3, mov.mod);
        Insn cr8 = decode(Insn.MODE64, 0x44, 0x0F, 0x20, 0xC0); // REX.R: CR8
        assertEquals(8, cr8.reg);
    }

    @Test
    public void threeByteMapsAndMandatoryPrefixes() {
        Insn movbe = decode(Insn.MODE64, 0x0F, 0x38, 0xF0, 0x07); // MOVBE EAX, [RDI]
        assertEquals(Insn.MAP_0F38, movbe.map);
        assertEquals(0xF0, movbe.opcode);
        assertEquals(4, movbe.len);
        Insn pshufb = decode(Insn.MODE64, 0x66, 0x0F, 0x3A, 0x0F, 0xC1, 0x04); // PALIGNR xmm0, xmm1, 4 (Ib)
        assertEquals(Insn.MAP_0F3A, pshufb.map);
        assertEquals(6, pshufb.len);
        assertEquals(4, pshufb.imm);
        assertTrue(pshufb.opPrefix);
        Insn popcnt = decode(Insn.MODE64, 0xF3, 0x48, 0x0F, 0xB8, 0xC1); // POPCNT RAX, RCX
        assertEquals(0xF3, popcnt.rep);
        assertEquals(8, popcnt.opSize);
    }

    @Test
    public void vexPrefixes() {
        // 2.3.5: C4 RXB.mmmmm W.vvvv.L.pp; ANDN RAX, RBX, RCX = C4 E2 E0 F2 C1 (VEX.LZ.0F38.W1 F2 /r)
        Insn andn = decode(Insn.MODE64, 0xC4, 0xE2, 0xE0, 0xF2, 0xC1);
        assertTrue(andn.vex);
        assertEquals(Insn.MAP_0F38, andn.map);
        assertEquals(0xF2, andn.opcode);
        assertEquals(8, andn.opSize);
        assertEquals(3, andn.vvvv); // ~1100b = 0011b: RBX
        assertEquals(0, andn.reg);
        assertEquals(1, andn.rm);
        assertEquals(5, andn.len);
        // C5: two-byte VEX, map 0F implied: VZEROUPPER = C5 F8 77
        Insn vz = decode(Insn.MODE64, 0xC5, 0xF8, 0x77);
        assertTrue(vz.vex);
        assertEquals(Insn.MAP_0F, vz.map);
        assertEquals(3, vz.len);
        // outside 64-bit mode C5 with ModRM.mod != 11b is LDS (2.3.5)
        Insn lds = decode(Insn.MODE32, 0xC5, 0x06);
        assertFalse(lds.vex);
        assertEquals(2, lds.len);
        assertTrue("a prefix before VEX is #UD", decode(Insn.MODE64, 0x66, 0xC5, 0xF8, 0x77).vexBadPrefix);
    }

    @Test
    public void moreThanFifteenBytesIsGeneralProtection() {
        // 2.3.11: an instruction longer than 15 bytes raises #GP(0)
        int[] bytes = new int[16];
        java.util.Arrays.fill(bytes, 0x66);
        bytes[15] = 0x90;
        try {
            decode(Insn.MODE32, bytes);
            fail("16 bytes decoded");
        } catch (CpuFault f) {
            assertEquals(Exceptions.GP, f.vector);
            assertEquals(0, f.errorCode);
        }
    }

    @Test
    public void blockEndingInstructions() {
        assertTrue(decode(Insn.MODE32, 0xFB).endsBlock);               // STI
        assertTrue(decode(Insn.MODE32, 0x0F, 0x22, 0xC0).endsBlock);   // MOV CR0
        assertTrue(decode(Insn.MODE32, 0xFF, 0x18).endsBlock);         // CALL FAR [EAX]
        assertFalse(decode(Insn.MODE32, 0xFF, 0x10).endsBlock);        // CALL [EAX]
        assertFalse(decode(Insn.MODE32, 0x75, 0xFE).endsBlock);        // JNZ
    }
}
