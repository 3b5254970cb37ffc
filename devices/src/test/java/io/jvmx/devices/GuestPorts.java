package io.jvmx.devices;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;

import static org.junit.Assert.assertEquals;

/** IN and OUT (DX forms, one byte long) as IO_INSTRUCTION exits a device handler sees (SDM Vol. 3C Table 28-5). */
public final class GuestPorts {
    private GuestPorts() {
    }

    public static ExitAction out(VmExitHandler device, FakeVCpu v, int port, int size, long rax) throws Exception {
        v.writeGpr(GeneralRegisters.RAX, rax);
        long q = new IoQualification(size, false, false, false, false, port).encode();
        return device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 1));
    }

    /** An IN the device must take; the value it returns in AL, AX or EAX. */
    public static long in(VmExitHandler device, FakeVCpu v, int port, int size) throws Exception {
        long q = new IoQualification(size, true, false, false, false, port).encode();
        assertEquals(ExitAction.HANDLED, device.handle(v, v.exit(ExitReason.IO_INSTRUCTION, q, 1)));
        return v.readGpr(GeneralRegisters.RAX) & (size == 4 ? 0xFFFF_FFFFL : (1L << (8 * size)) - 1);
    }

    /** A VMX-preemption timer exit (an exit deadline came). */
    public static ExitAction timerExit(VmExitHandler device, FakeVCpu v) throws Exception {
        return device.handle(v, v.exit(ExitReason.VMX_PREEMPTION_TIMER_EXPIRED, 0, 0));
    }
}
