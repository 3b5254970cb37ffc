package io.jvmx.vmx.emulated.cpu;

/**
 * CRC32 (SSE4.2; F2 0F 38 F0 /r with an 8-bit source, F2 0F 38 F1 /r with a 16-, 32- or 64-bit one; SDM Vol. 2A
 * CRC32): accumulates the source, least significant byte first, into the CRC-32C (Castagnoli, polynomial 11EDC6F41H)
 * held in the low 32 bits of the destination. The SDM's bit-reflected formulation is the reflected table-driven CRC
 * without the initial and final inversion that CRC-32C checksums add. The destination is r32, or r64 with REX.W,
 * whose bits 63:32 are cleared. No flag changes.
 */
final class Crc32Ops {
    private Crc32Ops() {
    }

    /** The CRC-32C polynomial, bit-reflected. */
    private static final int POLYNOMIAL_REFLECTED = 0x82F6_3B78;
    /** The CRC of each byte value (one step of the reflected shift register per table entry). */
    private static final int[] TABLE = new int[256];

    static {
        for (int b = 0; b < 256; b++) {
            int c = b;
            for (int k = 0; k < 8; k++) {
                c = (c >>> 1) ^ (POLYNOMIAL_REFLECTED & -(c & 1));
            }
            TABLE[b] = c;
        }
    }

    /** CRC32 Gy, Eb (F2 0F 38 F0). */
    static final Op CRC32_BYTE = new Crc32(true);
    /** CRC32 Gy, Ev (F2 0F 38 F1): 16 bits with 66H, 64 with REX.W. */
    static final Op CRC32 = new Crc32(false);

    static final class Crc32 extends Op {
        private final boolean byteSource;

        Crc32(boolean byteSource) {
            super(byteSource ? "CRC32 Gy,Eb" : "CRC32 Gy,Ev");
            this.byteSource = byteSource;
        }

        @Override
        void run(Executor x, Insn i) {
            // the 66H of a 16-bit source is an operand-size prefix; REX.W makes both the source (F1) and the
            // destination 64-bit
            int size = byteSource ? 1 : i.opSize;
            int destination = i.mode == Insn.MODE64 && (i.rex & 8) != 0 ? 8 : 4;
            long v = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            int crc = (int) x.getReg(i.reg, 4);
            for (int k = 0; k < size; k++) {
                crc = (crc >>> 8) ^ TABLE[(crc ^ (int) (v >>> (8 * k))) & 0xFF];
            }
            x.setReg(i.reg, destination, crc & 0xFFFF_FFFFL);
            x.done();
        }
    }
}
