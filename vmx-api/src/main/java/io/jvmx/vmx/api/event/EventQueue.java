package io.jvmx.vmx.api.event;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * The events a vCPU's VMM has queued, and the choice of the one to inject at the next VM entry. One event per entry,
 * in this order (SDM Vol. 3A 6.9 gives exceptions of the current instruction precedence over interrupts):
 * <ol>
 * <li>exceptions, software interrupts and software exceptions, in the order queued: a VMM queues them for the
 * instruction the guest is on, whatever its interruptibility (x86_vcpu looks only at the oldest event, so an
 * exception queued behind an interrupt that waits for RFLAGS.IF would wait with it, and the faulting instruction
 * would run again without it);</li>
 * <li>then NMIs, unless blocked by MOV SS or by NMI (SDM 25.4.2; 27.3.1.5 rejects an NMI injected under MOV-SS
 * blocking);</li>
 * <li>then external interrupts, when RFLAGS.IF = 1 and there is no blocking by STI or MOV SS (27.3.1.5).</li>
 * </ol>
 * An event the VMM wrote into the VM-entry interruption-information field itself stays there, and the queue waits.
 * Interrupt-window exiting is on while an external interrupt waits, so that the guest exits as soon as it can take it
 * (SDM 25.6.2), and while anything waits behind an event the VMM wrote itself. Thread-safe: events may be queued from any thread.
 */
public final class EventQueue {
    /** Interruptibility state bits (SDM 25.4.2, Table 25-3). */
    private static final long BLOCKING_BY_STI = 1, BLOCKING_BY_MOV_SS = 2, BLOCKING_BY_NMI = 8;

    private final List<PendingEvent> events = new ArrayList<>();

    public synchronized void add(PendingEvent e) {
        events.add(e);
    }

    public synchronized int size() {
        return events.size();
    }

    public synchronized boolean isEmpty() {
        return events.isEmpty();
    }

    /** The queued events, oldest first (a copy). */
    public synchronized List<PendingEvent> snapshot() {
        return List.copyOf(events);
    }

    /**
     * Writes the next deliverable event into {@code vcpu}'s VM-entry event-injection fields and turns interrupt-window
     * exiting on or off for what is left. Returns whether it injected.
     */
    public synchronized boolean injectNext(VCpu vcpu) {
        PendingEvent chosen = null;
        boolean occupied = (vcpu.vmread(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION) & InterruptionInfo.VALID) != 0;
        if (!occupied) {
            long blocking = vcpu.vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE);
            chosen = take(e -> e.type() != InterruptionType.EXTERNAL_INTERRUPT && e.type() != InterruptionType.NMI);
            if (chosen == null && (blocking & (BLOCKING_BY_MOV_SS | BLOCKING_BY_NMI)) == 0) {
                chosen = take(e -> e.type() == InterruptionType.NMI);
            }
            if (chosen == null && canTakeExternalInterrupt(vcpu)) {
                chosen = take(e -> e.type() == InterruptionType.EXTERNAL_INTERRUPT);
            }
            if (chosen != null) {
                inject(vcpu, chosen.vector(), chosen.type(), chosen.errorCode());
            }
        }
        // behind an event the VMM wrote itself, anything waiting gets the next interrupt window as its chance
        boolean exitForMore = occupied && !events.isEmpty();
        for (PendingEvent e : events) {
            exitForMore |= e.type() == InterruptionType.EXTERNAL_INTERRUPT;
        }
        vcpu.setInterruptWindowExiting(exitForMore);
        return chosen != null;
    }

    /** Whether an external interrupt is queued. */
    public synchronized boolean hasExternalInterrupt() {
        for (PendingEvent e : events) {
            if (e.type() == InterruptionType.EXTERNAL_INTERRUPT) {
                return true;
            }
        }
        return false;
    }

    /** RFLAGS.IF = 1 and no blocking by STI or MOV SS (SDM 25.4.2, 27.3.1.5). */
    public static boolean canTakeExternalInterrupt(VCpu vcpu) {
        return (vcpu.vmread(VmcsField.GUEST_INTERRUPTIBILITY_STATE) & (BLOCKING_BY_STI | BLOCKING_BY_MOV_SS)) == 0
                && (vcpu.vmread(VmcsField.GUEST_RFLAGS) & Rflags.IF) != 0;
    }

    private PendingEvent take(java.util.function.Predicate<PendingEvent> which) {
        for (Iterator<PendingEvent> it = events.iterator(); it.hasNext(); ) {
            PendingEvent e = it.next();
            if (which.test(e)) {
                it.remove();
                return e;
            }
        }
        return null;
    }

    /**
     * Writes an event into the VM-entry interruption information, error code and instruction length (SDM 25.8.3),
     * for the next VM entry to deliver. The caller has checked that the guest can take it.
     */
    public static void inject(VCpu vcpu, int vector, InterruptionType type, int errorCode) {
        // SDM 27.3.1.4: an error code is delivered exactly for the hardware exceptions that push one, and never when
        // the guest is in real mode (unrestricted guest with CR0.PE = 0)
        boolean deliverError = type == InterruptionType.HARDWARE_EXCEPTION
                && InterruptionInfo.exceptionHasErrorCode(vector)
                && (vcpu.vmread(VmcsField.GUEST_CR0) & Cr0.PE) != 0;
        if (deliverError) {
            vcpu.vmwrite(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE, Math.max(0, errorCode));
        }
        if (type.usesInstructionLength()) {
            vcpu.vmwrite(VmcsField.VM_ENTRY_INSTRUCTION_LENGTH, vcpu.vmread(VmcsField.VM_EXIT_INSTRUCTION_LENGTH));
        }
        vcpu.vmwrite(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION,
                InterruptionInfo.injection(vector, type, deliverError).encode() & 0xFFFF_FFFFL);
    }
}
