package io.jvmx.vmx.api.exit;

/**
 * Exit qualification for I/O instructions: SDM Vol. 3C, 28.2.1, Table 28-5.
 *
 * @param size       access size in bytes (bits 2:0 hold size - 1: 0, 1 or 3)
 * @param in         bit 3: direction (false = OUT, true = IN)
 * @param string     bit 4: string instruction (INS/OUTS)
 * @param rep        bit 5: REP prefixed
 * @param immediate  bit 6: operand encoding (false = DX, true = immediate)
 * @param port       bits 31:16: port number
 */
public record IoQualification(int size, boolean in, boolean string, boolean rep, boolean immediate, int port) {

    public static IoQualification decode(long q) {
        return new IoQualification((int) (q & 7) + 1, ((q >>> 3) & 1) != 0, ((q >>> 4) & 1) != 0,
                ((q >>> 5) & 1) != 0, ((q >>> 6) & 1) != 0, (int) ((q >>> 16) & 0xFFFF));
    }

    /** Bits 31:16, the port, without a record: a device's first question on the exit path, which allocates nothing. */
    public static int port(long q) {
        return (int) ((q >>> 16) & 0xFFFF);
    }

    public long encode() {
        return encode(size, in, string, rep, immediate, port);
    }

    /** The qualification without a record: for the exit path, which allocates nothing. */
    public static long encode(int size, boolean in, boolean string, boolean rep, boolean immediate, int port) {
        return (size - 1) | (in ? 1L << 3 : 0) | (string ? 1L << 4 : 0) | (rep ? 1L << 5 : 0)
                | (immediate ? 1L << 6 : 0) | ((long) (port & 0xFFFF) << 16);
    }
}
