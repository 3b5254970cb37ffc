package io.jvmx.vmx.api.handler;

import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.MmioAccess;
import io.jvmx.vmx.api.memory.GuestPhysicalMemory;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.io.OutputStream;
import java.util.function.Supplier;

/**
 * A virtual CPU as exit handlers see it: x86_vcpu's {@code VmxVcpu} surface. Valid on the vCPU's own thread while
 * a handler runs (the VMCS is current there); {@link #id()}, {@link #state()} and {@link #queueEvent} may be used
 * from any thread.
 */
public interface VCpu {

    int id();

    VCpuState state();

    /** "software" or "kvm": the kind of processor this vCPU runs on. */
    String processorKind();

    // ---- VMCS (SDM Vol. 3C, ch. 25) ----

    long vmread(VmcsField field);

    void vmwrite(VmcsField field, long value);

    // ---- registers ----

    /** The guest GPRs that are not in the VMCS. RSP is read and written through {@link #readGpr}/{@link #writeGpr}. */
    GeneralRegisters regs();

    /** GPR by SDM number (0 = RAX ... 15 = R15); 4 (RSP) reads GUEST_RSP. */
    long readGpr(int index);

    void writeGpr(int index, long value);

    long rip();

    /**
     * Completes an instruction the VMM emulated: guest RIP advances by {@code length} bytes (the VM-exit instruction
     * length of the exit being handled), blocking by STI / MOV SS ends (SDM 25.4.2 Table 25-3), and with RFLAGS.TF = 1
     * the instruction's single-step trap becomes pending (BS in the pending debug exceptions, delivered at VM entry).
     */
    void advanceRip(int length);

    /**
     * A control register as the guest reads it: for CR0 and CR4, bits owned by the host (guest/host mask) come from
     * the read shadow (SDM 25.6.6).
     */
    long guestCr(int cr);

    /**
     * Sets a guest control register (CR0, CR3, CR4) the way x86_vcpu's {@code set_cr} does: the value the guest
     * reads goes to the read shadow, the value the processor uses is forced to the VMX fixed bits (CR0.PE/PG free
     * under unrestricted guest), and the guest/host mask owns the fixed bits. For CR0 it also keeps EFER.LMA and the
     * "IA-32e mode guest" entry control consistent with CR0.PG and EFER.LME (SDM Vol. 3A, 9.8.5).
     */
    void setGuestCr(int cr, long value);

    // ---- events (SDM Vol. 3C, 27.6 "Event Injection") ----

    /**
     * Queues an event to inject before a later VM entry: exceptions are injected at the next entry; external
     * interrupts when the guest can take them (otherwise interrupt-window exiting is turned on).
     *
     * @param errorCode the error code to deliver, or -1 for none
     */
    void queueEvent(int vector, InterruptionType type, int errorCode);

    /** Events queued and not yet injected. */
    int pendingEventCount();

    /**
     * Injects the next pending event now (writes the VM-entry interruption-information field) if the guest can take
     * it, and turns interrupt-window exiting on or off according to what is left. Returns whether it injected.
     */
    boolean injectPendingEvent();

    /** Turns interrupt-window exiting on or off (SDM 25.6.2, Table 25-6 bit 2). */
    void setInterruptWindowExiting(boolean enable);

    /**
     * Connects the guest's interrupt controller (its local APIC), or disconnects it with null. Before every VM entry
     * that injects nothing else, the vCPU asks it for an interrupt: if the guest can take one (RFLAGS.IF = 1, no
     * blocking by STI or MOV SS) the controller acknowledges its highest one and the vCPU injects it as an external
     * interrupt; if not, interrupt-window exiting is turned on so that the next entry after the window asks again
     * (SDM Vol. 3C 27.6, 26.7.5). The acknowledgement happens at the moment of delivery, as INTA does.
     */
    void setInterruptController(InterruptController controller);

    // ---- guest time ----

    /**
     * The guest's time-stamp counter now, as RDTSC in the guest would read it: the processor's TSC plus TSC_OFFSET
     * when "use TSC offsetting" is 1 (SDM Vol. 3C 26.3, RDTSC).
     */
    long guestTsc();

    /**
     * Asks for a VM exit once the guest's TSC has reached {@code guestTsc}: before every VM entry the vCPU lowers the
     * VMX-preemption timer (activating it if needed) so that it expires no earlier and as close as the timer's rate
     * allows after that moment (SDM Vol. 3C 26.7.4), also while the guest is in the HLT state. The exit is a
     * VMX_PREEMPTION_TIMER_EXPIRED; the owner's handler for that reason sees it. One deadline per owner (a device
     * class); a new one replaces the old.
     */
    void setExitDeadline(Class<?> owner, long guestTsc);

    /** Withdraws the owner's deadline. */
    void clearExitDeadline(Class<?> owner);

    // ---- extended state (XCR0 / IA32_XSS switching) ----

    long guestXcr0();

    void setGuestXcr0(long xcr0);

    /** The XCR0 bits the processor supports (CPUID.(EAX=0DH,ECX=0):EDX:EAX). */
    long supportedXcr0();

    /** CPUID as the processor executes it in root operation, with the guest's XCR0 loaded (x86_vcpu leaf 0xD). */
    CpuidResult hostCpuid(int leaf, int subleaf);

    // ---- VMX-preemption timer ----

    /** The time slice, in preemption-timer ticks, the timer is re-armed with; 0 if the timer is off. */
    long preemptionTimerSlice();

    // ---- memory and platform ----

    /**
     * The memory access behind the EPT_VIOLATION exit being handled, when the processor decoded it (the KVM
     * processor does), otherwise null: then the VMM decodes the instruction itself.
     */
    default MmioAccess mmioAccess() {
        return null;
    }

    /**
     * A device completes the decoded MMIO access of the exit being handled: {@code value} is what a read returns
     * (ignored for a write). The processor finishes the instruction at the next VM entry: do not advance RIP.
     *
     * @throws IllegalStateException if no decoded MMIO access is pending
     */
    default void completeMmio(long value) {
        throw new IllegalStateException("no decoded MMIO access is pending on vCPU " + id());
    }

    GuestPhysicalMemory guestMemory();

    /** Where the guest's console output (serial port) goes. */
    OutputStream console();

    /** Ends the guest: the run loop returns after this exit with this exit code (debug-exit devices). */
    void terminate(int exitCode, String reason);

    /** Per-vCPU state of a handler or device, created on first use and dropped with the vCPU. */
    <T> T attachment(Class<T> key, Supplier<? extends T> initial);
}
