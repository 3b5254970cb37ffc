package io.jvmx.devices.port;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.exit.IoQualification;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.junit.Test;

import static org.junit.Assert.assertEquals;

/** IN/OUT register semantics: SDM Vol. 2A "IN", Vol. 2B "OUT", Vol. 1 3.4.1.1. */
public class PortIoTest {

    private static IoQualification io(int size, boolean in) {
        return new IoQualification(size, in, false, false, false, 0x3F8);
    }

    /** OUT sends AL, AX or EAX: the rest of RAX is not part of the data. */
    @Test
    public void outDataIsSizeMasked() {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RAX, 0x1122_3344_5566_7788L);
        assertEquals(0x88, PortIo.outData(v, io(1, false)));
        assertEquals(0x7788, PortIo.outData(v, io(2, false)));
        assertEquals(0x5566_7788L, PortIo.outData(v, io(4, false)));
    }

    /** IN AL / IN AX keep the other bits of RAX (8/16-bit register writes, SDM Vol. 1 3.4.1.1). */
    @Test
    public void inToAlAndAxKeepsTheRestOfRax() {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RAX, 0x1122_3344_5566_7788L);
        PortIo.completeIn(v, io(1, true), 0xAB);
        assertEquals(0x1122_3344_5566_77ABL, v.readGpr(GeneralRegisters.RAX));
        PortIo.completeIn(v, io(2, true), 0xCDEF);
        assertEquals(0x1122_3344_5566_CDEFL, v.readGpr(GeneralRegisters.RAX));
    }

    /** IN EAX zero-extends into RAX (32-bit register writes in 64-bit mode, SDM Vol. 1 3.4.1.1). */
    @Test
    public void inToEaxZeroExtends() {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(GeneralRegisters.RAX, -1);
        PortIo.completeIn(v, io(4, true), 0x1234_5678L);
        assertEquals(0x1234_5678L, v.readGpr(GeneralRegisters.RAX));
    }
}
