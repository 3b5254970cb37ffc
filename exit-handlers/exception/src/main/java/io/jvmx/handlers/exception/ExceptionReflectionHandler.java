package io.jvmx.handlers.exception;

import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.osgi.service.component.annotations.Component;

/**
 * Exceptions the exception bitmap intercepts (basic exit reason 0, SDM Vol. 3C 26.2) go back to the guest, as a
 * VMM does with a condition the guest created (SDM Vol. 3C 31.7.1.1 "Reflecting Exceptions to Guest Software"): the
 * exception in the VM-exit interruption information is injected at the next VM entry with its type and error code;
 * RIP is left alone, so a fault is delivered on the faulting instruction, and a software exception (INT3, INTO, INT1)
 * with the exit's instruction length (SDM 27.6.1.1). The platform intercepts #UD, as x86_vcpu does; without a
 * handler the first UD2 of a guest (Linux's BUG/WARN, a test kernel's #UD check) would stop it.
 *
 * <p>If the exception happened while another hardware exception was being delivered (IDT-vectoring information
 * valid, SDM 28.2.4), the two combine as the processor would have combined them (SDM Vol. 3A 6.15, Table 6-5): a
 * contributory exception during a contributory one, or a contributory exception or page fault during a page fault,
 * becomes a double fault; anything else is handled serially (the new exception alone: a fault restarts the
 * instruction, which raises the first event again; an interrupt whose delivery faulted is lost, as on the
 * processor). A fault during the delivery of a double fault is a shutdown, which is not a handler's to decide:
 * PASS.
 *
 * <p>Not reflected (PASS, so that the exit reaches the caller or another handler): NMIs, which belong to the host;
 * #PF and #DB, whose delivery also sets CR2 or DR6, state that the VCpu interface does not carry; and anything that
 * is not an exception.
 */
@Component(service = VmExitHandler.class, property = VmExitHandler.EXIT_REASON + "=EXCEPTION_OR_NMI")
public final class ExceptionReflectionHandler implements VmExitHandler {
    /** Interruptibility state bit 3, blocking by NMI (SDM Vol. 3C 25.4.2, Table 25-3). */
    static final long BLOCKING_BY_NMI = 1 << 3;

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        InterruptionInfo info = InterruptionInfo.decode(vcpu.vmread(VmcsField.VM_EXIT_INTERRUPTION_INFORMATION));
        if (!info.valid() || !isException(info.type()) || info.vector() == Exceptions.PF
                || info.vector() == Exceptions.DB) {
            return ExitAction.PASS;
        }
        int vector = info.vector();
        InterruptionType type = info.type();
        int errorCode = info.errorCodeValid() ? (int) vcpu.vmread(VmcsField.VM_EXIT_INTERRUPTION_ERROR_CODE) : -1;
        InterruptionInfo original = InterruptionInfo.decode(vcpu.vmread(VmcsField.IDT_VECTORING_INFORMATION));
        if (original.valid() && original.type() == InterruptionType.HARDWARE_EXCEPTION
                && type == InterruptionType.HARDWARE_EXCEPTION) {
            switch (combine(original.vector(), vector)) {
                case DOUBLE_FAULT:
                    vector = Exceptions.DF;
                    errorCode = 0; // #DF pushes 0 (SDM Vol. 3A 6.15, "Interrupt 8")
                    break;
                case SHUTDOWN:
                    return ExitAction.PASS;
                default:
                    break;
            }
        }
        if (info.nmiUnblocking() && info.vector() != Exceptions.DF) {
            // the exception's IRET had unblocked NMIs; the fault will restart it, so they are blocked again until
            // it completes (SDM Vol. 3C 31.7.1.2; 28.2.3; bit 12 is undefined for #DF)
            vcpu.vmwrite(VmcsField.GUEST_INTERRUPTIBILITY_STATE,
                    vcpu.vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE) | BLOCKING_BY_NMI);
        }
        vcpu.queueEvent(vector, type, errorCode);
        return ExitAction.HANDLED;
    }

    private static boolean isException(InterruptionType type) {
        return type == InterruptionType.HARDWARE_EXCEPTION || type == InterruptionType.SOFTWARE_EXCEPTION
                || type == InterruptionType.PRIVILEGED_SOFTWARE_EXCEPTION;
    }

    /** What the processor does with a second exception during the delivery of a first (SDM Vol. 3A Table 6-5). */
    enum Combination { SERIAL, DOUBLE_FAULT, SHUTDOWN }

    static Combination combine(int first, int second) {
        ExceptionClass a = ExceptionClass.of(first);
        ExceptionClass b = ExceptionClass.of(second);
        if (first == Exceptions.DF) {
            return b == ExceptionClass.BENIGN ? Combination.SERIAL : Combination.SHUTDOWN; // 6.15 "Interrupt 8"
        }
        if (a == ExceptionClass.CONTRIBUTORY && b == ExceptionClass.CONTRIBUTORY
                || a == ExceptionClass.PAGE_FAULT && b != ExceptionClass.BENIGN) {
            return Combination.DOUBLE_FAULT;
        }
        return Combination.SERIAL;
    }

    /** The exception classes of SDM Vol. 3A Table 6-4 (#VE counts as a page fault, as the SDM's note says). */
    enum ExceptionClass {
        BENIGN, CONTRIBUTORY, PAGE_FAULT;

        static ExceptionClass of(int vector) {
            switch (vector) {
                case Exceptions.DE:
                case Exceptions.TS:
                case Exceptions.NP:
                case Exceptions.SS:
                case Exceptions.GP:
                case Exceptions.CP:
                    return CONTRIBUTORY;
                case Exceptions.PF:
                case Exceptions.VE:
                    return PAGE_FAULT;
                default:
                    return BENIGN;
            }
        }
    }
}
