package io.jvmx.vmx.nativekvm.vmx;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

/** The I/O instruction forms of SDM Vol. 2 and their lengths, sizes and string attributes in each code size. */
public class IoInstructionTest {

    private static IoInstruction d(int bits, int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return IoInstruction.decode(b, b.length, bits);
    }

    @Test
    public void immediateAndDxForms() {
        IoInstruction out = d(16, 0xE6, 0x80);
        assertEquals(2, out.length());
        assertFalse(out.in());
        assertEquals(1, out.size());
        assertTrue(out.immediate());
        assertEquals(0x80, out.port());
        IoInstruction in = d(32, 0xED);
        assertEquals(1, in.length());
        assertTrue(in.in());
        assertEquals(4, in.size());
        assertFalse(in.immediate());
    }

    @Test
    public void operandSizeFollowsTheCodeSizeAnd66() {
        assertEquals(2, d(16, 0xEF).size());
        assertEquals(4, d(16, 0x66, 0xEF).size());
        assertEquals(2, d(32, 0x66, 0xEF).size());
        assertEquals(4, d(64, 0x48, 0xEF).size()); // REX.W does not widen I/O beyond 32 bits
        assertEquals(2, d(64, 0x66, 0xEF).length());
    }

    @Test
    public void stringFormsCarryRepAddressSizeAndSegment() {
        IoInstruction outs = d(64, 0xF3, 0x2E, 0x6E);
        assertTrue(outs.string());
        assertTrue(outs.rep());
        assertEquals(3, outs.length());
        assertEquals(2, outs.addressSize());
        assertEquals(1, outs.segment()); // CS override
        IoInstruction ins = d(32, 0x67, 0x6D);
        assertTrue(ins.in());
        assertEquals(0, ins.addressSize());
        assertEquals(0, ins.segment()); // always ES
        assertEquals(3, d(16, 0x6E).segment()); // DS by default
    }

    @Test
    public void otherInstructionsAreNotIo() {
        assertNull(d(32, 0x90));
        assertNull(d(32, 0x0F, 0x01, 0xD0));
        assertNull(d(16, 0xE6)); // the immediate is missing
    }

    @Test
    public void matchingComparesDirectionSizeAndPort() {
        IoInstruction out = d(16, 0xEE);
        assertTrue(out.matches(false, 1, 0x3F8, 0x7_0000_03F8L)); // DX: the low 16 bits of RDX
        assertFalse(out.matches(true, 1, 0x3F8, 0x3F8));
        assertFalse(out.matches(false, 2, 0x3F8, 0x3F8));
        assertFalse(d(16, 0xE6, 0xF4).matches(false, 1, 0xF5, 0xF4));
    }
}
