package io.jvmx.handlers.msr;

import io.jvmx.handlers.testkit.FakeVCpu;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.junit.Test;

import java.util.List;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

/** Conformance of the RDMSR/WRMSR handler for IA32_EFER: SDM Vol. 2B "RDMSR"/"WRMSR", Vol. 3A 2.2.1 and 9.8.5. */
public class MsrHandlerTest {

    private static final int RAX = GeneralRegisters.RAX, RCX = GeneralRegisters.RCX, RDX = GeneralRegisters.RDX;
    private final MsrHandler handler = new MsrHandler();

    /** RDMSR / WRMSR are 0F 32 / 0F 30: 2 bytes. */
    private ExitAction rdmsr(FakeVCpu v, int msr) throws Exception {
        v.writeGpr(RCX, msr & 0xFFFF_FFFFL);
        return handler.handle(v, v.exit(ExitReason.RDMSR, 0, 2));
    }

    private ExitAction wrmsr(FakeVCpu v, int msr, long value) throws Exception {
        v.writeGpr(RCX, msr & 0xFFFF_FFFFL);
        v.writeGpr(RAX, value & 0xFFFF_FFFFL);
        v.writeGpr(RDX, value >>> 32);
        return handler.handle(v, v.exit(ExitReason.WRMSR, 0, 2));
    }

    private static long efer(FakeVCpu v) {
        return v.vmread(VmcsField.GUEST_IA32_EFER);
    }

    /** A refused WRMSR: #GP(0), EFER unchanged, RIP on the instruction. */
    private void assertGp(FakeVCpu v, long value) throws Exception {
        long before = efer(v);
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, wrmsr(v, Msr.IA32_EFER, value));
        assertEquals(List.of(new PendingEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0)), v.pendingEvents());
        assertEquals(before, efer(v));
        assertEquals(rip, v.rip());
    }

    /** RDMSR IA32_EFER returns GUEST_IA32_EFER in EDX:EAX and advances RIP (SDM Vol. 2B RDMSR). */
    @Test
    public void rdmsrEferReturnsGuestEfer() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        v.vmwrite(VmcsField.GUEST_IA32_EFER, efer(v) | Efer.NXE | Efer.SCE);
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, rdmsr(v, Msr.IA32_EFER));
        assertEquals(Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE, v.readGpr(RAX));
        assertEquals(0, v.readGpr(RDX));
        assertEquals(rip + 2, v.rip());
    }

    /** RDMSR clears bits 63:32 of RAX and RDX (SDM Vol. 2B RDMSR). */
    @Test
    public void rdmsrClearsUpperHalves() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(RAX, -1);
        v.writeGpr(RDX, -1);
        rdmsr(v, Msr.IA32_EFER);
        assertEquals(0, v.readGpr(RAX));
        assertEquals(0, v.readGpr(RDX));
    }

    /** WRMSR IA32_EFER sets SCE/NXE/LME (paging off) into GUEST_IA32_EFER and advances RIP (SDM Vol. 2B WRMSR). */
    @Test
    public void wrmsrEferWritesGuestEfer() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        assertEquals(ExitAction.HANDLED, wrmsr(v, Msr.IA32_EFER, Efer.SCE | Efer.LME | Efer.NXE));
        assertEquals(Efer.SCE | Efer.LME | Efer.NXE, efer(v));
        assertEquals(rip + 2, v.rip());
        assertTrue(v.pendingEvents().isEmpty());
    }

    /** A reserved EFER bit (1, 9, 12, 32) is #GP(0) (SDM Vol. 2B WRMSR; Vol. 3A 2.2.1 Figure 2-4). */
    @Test
    public void reservedEferBitsRaiseGp() throws Exception {
        assertGp(new FakeVCpu(), 1L << 1);
        assertGp(new FakeVCpu(), 1L << 9);
        assertGp(new FakeVCpu(), 1L << 12);
        assertGp(new FakeVCpu(), 1L << 32);
    }

    /** Changing EFER.LME while CR0.PG = 1 is #GP(0) (SDM Vol. 3A 9.8.5). */
    @Test
    public void changingLmeWithPagingOnRaisesGp() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.setGuestCr(0, Cr0.PE | Cr0.PG | Cr0.ET);
        assertGp(v, Efer.LME);
        FakeVCpu longMode = new FakeVCpu().enter64BitMode();
        assertGp(longMode, Efer.LMA);
    }

    /** With paging on, writing the same LME (e.g. to set NXE in long mode) is fine. */
    @Test
    public void unchangedLmeWithPagingOnIsAccepted() throws Exception {
        FakeVCpu v = new FakeVCpu().enter64BitMode();
        wrmsr(v, Msr.IA32_EFER, Efer.LME | Efer.LMA | Efer.NXE);
        assertTrue(v.pendingEvents().isEmpty());
        assertEquals(Efer.LME | Efer.LMA | Efer.NXE, efer(v));
    }

    /** EFER.LMA is read-only: a written LMA is replaced by the current one, both ways (SDM Vol. 3A 2.2.1). */
    @Test
    public void lmaIsReadOnly() throws Exception {
        FakeVCpu off = new FakeVCpu();
        wrmsr(off, Msr.IA32_EFER, Efer.LMA | Efer.SCE);
        assertEquals(Efer.SCE, efer(off));
        FakeVCpu on = new FakeVCpu().enter64BitMode();
        wrmsr(on, Msr.IA32_EFER, Efer.LME);
        assertEquals(Efer.LME | Efer.LMA, efer(on));
    }

    /** Any other MSR: PASS for RDMSR and WRMSR, nothing changed, so the exit reaches the caller (as x86_vcpu). */
    @Test
    public void otherMsrsPass() throws Exception {
        FakeVCpu v = new FakeVCpu();
        long rip = v.rip();
        v.writeGpr(RAX, 0x1234);
        assertEquals(ExitAction.PASS, rdmsr(v, Msr.IA32_PAT));
        assertEquals(ExitAction.PASS, wrmsr(v, Msr.IA32_LSTAR, 0xFFFF_8000_0000_0000L));
        assertEquals(rip, v.rip());
        assertEquals(0, efer(v));
        assertTrue(v.pendingEvents().isEmpty());
    }

    /** The MSR number is ECX: the upper half of RCX is ignored (SDM Vol. 2B RDMSR). */
    @Test
    public void upperHalfOfRcxIsIgnored() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(RCX, 0xFFFF_FFFF_0000_0000L | (Msr.IA32_EFER & 0xFFFF_FFFFL));
        assertEquals(ExitAction.HANDLED, handler.handle(v, v.exit(ExitReason.RDMSR, 0, 2)));
    }

    /** RIP advances by the VM-exit instruction length field (SDM 28.2.5), e.g. 3 with a REX prefix. */
    @Test
    public void ripAdvancesByTheInstructionLengthField() throws Exception {
        FakeVCpu v = new FakeVCpu();
        v.writeGpr(RCX, Msr.IA32_EFER & 0xFFFF_FFFFL);
        long rip = v.rip();
        handler.handle(v, v.exit(ExitReason.RDMSR, 0, 3));
        assertEquals(rip + 3, v.rip());
    }
}
