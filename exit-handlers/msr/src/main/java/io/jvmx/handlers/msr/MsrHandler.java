package io.jvmx.handlers.msr;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.osgi.service.component.annotations.Component;

/**
 * RDMSR (31) and WRMSR (32) of IA32_EFER, which jvmx's MSR bitmap intercepts so that EFER changes are exits (SDM Vol.
 * 3C 25.6.9, 26.1.3). The guest's EFER lives in GUEST_IA32_EFER (loaded at entry, saved at exit: "load/save
 * IA32_EFER"). RDMSR returns it in EDX:EAX; WRMSR takes EDX:EAX with the SDM's checks (Vol. 2B "WRMSR", Vol. 3A 2.2.1
 * and 9.8.5): a reserved bit (anything but SCE, LME, LMA, NXE) or a change of LME while CR0.PG = 1 is #GP(0) and RIP
 * stays on the instruction; LMA is read-only (the processor sets it from CR0.PG and LME), so the written LMA is
 * replaced by the current one. Other MSRs: PASS, so the exit reaches the caller of run, as x86_vcpu returns it.
 */
@Component(service = VmExitHandler.class,
        property = {VmExitHandler.EXIT_REASON + "=RDMSR", VmExitHandler.EXIT_REASON + "=WRMSR"})
public final class MsrHandler implements VmExitHandler {

    /** IA32_EFER bits SDM Vol. 3A 2.2.1 (Figure 2-4) defines; the others are reserved. */
    static final long EFER_DEFINED = Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE;
    private static final long LOW_32 = 0xFFFF_FFFFL;

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        int msr = (int) vcpu.readGpr(GeneralRegisters.RCX);
        if (msr != Msr.IA32_EFER) {
            return ExitAction.PASS;
        }
        if (exit.reason() == ExitReason.RDMSR) {
            long efer = vcpu.vmread(VmcsField.GUEST_IA32_EFER);
            // RDMSR clears bits 63:32 of RAX and RDX (SDM Vol. 2B "RDMSR")
            vcpu.writeGpr(GeneralRegisters.RAX, efer & LOW_32);
            vcpu.writeGpr(GeneralRegisters.RDX, efer >>> 32);
        } else if (exit.reason() == ExitReason.WRMSR) {
            long value = ((vcpu.readGpr(GeneralRegisters.RDX) & LOW_32) << 32)
                    | (vcpu.readGpr(GeneralRegisters.RAX) & LOW_32);
            long current = vcpu.vmread(VmcsField.GUEST_IA32_EFER);
            boolean paging = (vcpu.guestCr(0) & Cr0.PG) != 0;
            if ((value & ~EFER_DEFINED) != 0 || (paging && ((value ^ current) & Efer.LME) != 0)) {
                vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
                return ExitAction.HANDLED;
            }
            vcpu.vmwrite(VmcsField.GUEST_IA32_EFER, (value & ~Efer.LMA) | (current & Efer.LMA));
        } else {
            return ExitAction.PASS; // registered for RDMSR/WRMSR only; another reason is not ours
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }
}
