package io.jvmx.handlers.xsetbv;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import org.osgi.service.component.annotations.Component;

/**
 * XSETBV (basic exit reason 55; XSETBV exits unconditionally in VMX non-root operation, SDM Vol. 3C 26.1.2).
 * ECX selects the XCR (only XCR0 exists) and EDX:EAX is the value (upper halves of RDX/RAX ignored). The value is
 * checked as the XSETBV instruction page (SDM Vol. 2D) and SDM Vol. 1 13.3 require; a valid one becomes the guest's
 * XCR0 and RIP moves past the instruction, an invalid one raises #GP(0) in the guest with RIP on the XSETBV, as the
 * processor would. x86_vcpu's check rejects every value (it needs the AVX-512 bits both set and clear) and returns an
 * error that panics the hypervisor; a guest mistake never crashes jvmx.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=XSETBV")
public final class XsetbvHandler implements VmExitHandler {

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        long index = vcpu.readGpr(GeneralRegisters.RCX) & 0xFFFF_FFFFL;
        long value = ((vcpu.readGpr(GeneralRegisters.RDX) & 0xFFFF_FFFFL) << 32)
                | (vcpu.readGpr(GeneralRegisters.RAX) & 0xFFFF_FFFFL);
        if (index != 0 || !isValidXcr0(value, vcpu.supportedXcr0())) {
            vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
            return ExitAction.HANDLED;
        }
        vcpu.setGuestXcr0(value);
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    /** The #GP(0) conditions of XSETBV for XCR0 (SDM Vol. 2D "XSETBV"; Vol. 1 13.3). */
    static boolean isValidXcr0(long xcr0, long supported) {
        if ((xcr0 & Xcr0.X87) == 0) {
            return false; // XCR0[0] must be 1
        }
        if ((xcr0 & ~supported) != 0) {
            return false; // a bit not enumerated by CPUID.(EAX=0DH,ECX=0):EDX:EAX is reserved
        }
        if ((xcr0 & Xcr0.AVX) != 0 && (xcr0 & Xcr0.SSE) == 0) {
            return false; // XCR0[2:1] = 10b
        }
        long avx512 = xcr0 & Xcr0.AVX512;
        if (avx512 != 0 && (avx512 != Xcr0.AVX512 || (xcr0 & Xcr0.AVX) == 0)) {
            return false; // XCR0[7:5] must be 000b or 111b, and 111b needs XCR0[2] = 1
        }
        if (Long.bitCount(xcr0 & (Xcr0.BNDREGS | Xcr0.BNDCSR)) == 1) {
            return false; // XCR0[4:3] must be 00b or 11b
        }
        if (Long.bitCount(xcr0 & (Xcr0.TILECFG | Xcr0.TILEDATA)) == 1) {
            return false; // XCR0[18:17] must be 00b or 11b
        }
        return true;
    }
}
