package io.jvmx.devices.port;

import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.spi.GeneralRegisters;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The register side of IN and OUT (SDM Vol. 2A "IN", Vol. 2B "OUT"): OUT sends AL, AX or EAX; IN loads AL, AX or EAX.
 * The access size comes from the exit qualification (SDM Vol. 3C 28.2.1 Table 28-5).
 */
public final class PortIo {
    private PortIo() {
    }

    /** What an IN from a port with nothing to say returns: all ones, as an undriven ISA data bus. */
    public static final long FLOATING_BUS = -1L;

    /** Bits 8 * size - 1 : 0. */
    public static long sizeMask(int size) {
        return size >= 8 ? -1L : (1L << (8 * size)) - 1;
    }

    /** The data of an OUT: AL, AX or EAX. */
    public static long outData(VCpu vcpu, IoQualification q) {
        return vcpu.readGpr(GeneralRegisters.RAX) & sizeMask(q.size());
    }

    /**
     * Completes an IN: AL and AX are merged into RAX, the rest of RAX is kept; EAX is zero-extended into RAX, as every
     * 32-bit register write in 64-bit mode (SDM Vol. 1 3.4.1.1), and the upper half is not visible outside it.
     */
    public static void completeIn(VCpu vcpu, IoQualification q, long value) {
        long mask = sizeMask(q.size());
        long rax = vcpu.readGpr(GeneralRegisters.RAX);
        long result = q.size() == 4 ? value & mask : (rax & ~mask) | (value & mask);
        vcpu.writeGpr(GeneralRegisters.RAX, result);
    }

    /** One line on the vCPU's console (device notes and records), flushed. */
    public static void consoleLine(VCpu vcpu, String line) throws IOException {
        OutputStream out = vcpu.console();
        out.write((line + "\n").getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }
}
