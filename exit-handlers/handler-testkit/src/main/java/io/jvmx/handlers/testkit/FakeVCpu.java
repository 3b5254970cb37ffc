package io.jvmx.handlers.testkit;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmEntryControls;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.event.EventQueue;
import io.jvmx.vmx.api.event.PendingEvent;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.InterruptController;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VCpuState;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * A {@link VCpu} over an in-memory VMCS, for unit tests of handlers and devices. The real implementation is
 * {@code io.jvmx.vmx.core.VmxVcpu} (vmx-core); the end-to-end tests (itests) run the same handlers on it with the
 * software processor. This class keeps the semantics handlers rely on, and nothing more:
 *
 * <ul>
 *   <li>VMCS fields read 0 until written; VMWRITE keeps the field's width (SDM Vol. 3C, 25.11.2) and fails with
 *       VM-instruction error 13 on a read-only (VM-exit information) field, as VMWRITE does (SDM 31.4). The
 *       processor's side of an exit is {@link #exit} / {@link #setExitField}.</li>
 *   <li>{@link #readGpr}/{@link #writeGpr} index 4 is GUEST_RSP (the guest's RSP lives in the VMCS);
 *       {@link #advanceRip} also ends blocking by STI / MOV SS, as executing the instruction would.</li>
 *   <li>{@link #guestCr} composes CR0/CR4 from the read shadow (host-owned bits) and the guest field (SDM 25.6.6);
 *       {@link #setGuestCr} is x86_vcpu's {@code set_cr} with IA32_VMX_CR0_FIXED0 = PE|NE|PG,
 *       IA32_VMX_CR0_FIXED1 = 0xFFFFFFFF, IA32_VMX_CR4_FIXED0 = VMXE, IA32_VMX_CR4_FIXED1 = 0xFFFFFFFF, plus the jvmx
 *       additions (CR0 mask owns PE and PG, CR4 mask owns PAE; EFER.LMA and "IA-32e mode guest" follow CR0.PG and
 *       EFER.LME, SDM Vol. 3A 9.8.5). The read shadow holds exactly the value written.</li>
 *   <li>Events: {@link #queueEvent} queues; {@link #injectPendingEvent} writes the VM-entry interruption-information
 *       field by the same rule as the vCPU, {@link io.jvmx.vmx.api.event.EventQueue}'s (SDM 27.6).</li>
 *   <li>{@link #terminate} records the exit code; the console is a byte buffer.</li>
 * </ul>
 */
public final class FakeVCpu implements VCpu {

    public static final long CR0_FIXED0 = Cr0.PE | Cr0.NE | Cr0.PG;
    public static final long CR0_FIXED1 = 0xFFFF_FFFFL;
    public static final long CR4_FIXED0 = Cr4.VMXE;
    public static final long CR4_FIXED1 = 0xFFFF_FFFFL;

    /** Offsets and sizes of the XSAVE standard format, components 2-9 (CPUID.(EAX=0DH,ECX=i):EBX/EAX). */
    private static final int[][] XSAVE_COMPONENTS = {
            {2, 576, 256}, {3, 960, 64}, {4, 1024, 64}, {5, 1088, 64}, {6, 1152, 512}, {7, 1664, 1024},
            {9, 2688, 8}};

    private final int id;
    private final Map<VmcsField, Long> vmcs = new EnumMap<>(VmcsField.class);
    private final GeneralRegisters regs = new GeneralRegisters();
    private final EventQueue pending = new EventQueue();
    private final Map<Class<?>, Object> attachments = new HashMap<>();
    private final Map<Long, CpuidResult> cpuidTable = new HashMap<>();
    private final Console console = new Console();
    private final ArrayGuestMemory memory;

    private long guestXcr0 = Xcr0.X87;
    private long supportedXcr0 = Xcr0.X87 | Xcr0.SSE | Xcr0.AVX;
    private long preemptionTimerSlice;
    private long guestTsc;
    private InterruptController interruptController;
    private final Map<Class<?>, Long> exitDeadlines = new HashMap<>();
    private Integer exitCode;
    private String terminationReason;

    public FakeVCpu() {
        this(0);
    }

    /** A vCPU in the state x86_vcpu's {@code setup_vmcs_guest} leaves (real mode at 0x8000) and jvmx's controls. */
    public FakeVCpu(int id) {
        this.id = id;
        this.memory = new ArrayGuestMemory(1 << 20);
        setGuestCr(0, Cr0.NW | Cr0.CD | Cr0.ET);
        setGuestCr(4, 0);
        vmwrite(VmcsField.GUEST_CR3, 0);
        vmwrite(VmcsField.GUEST_RIP, 0x8000);
        vmwrite(VmcsField.GUEST_RFLAGS, Rflags.FIXED_1);
        vmwrite(VmcsField.GUEST_CS_ACCESS_RIGHTS, 0x9B);
        vmwrite(VmcsField.GUEST_IA32_EFER, 0);
        vmwrite(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS,
                PinBasedControls.NMI_EXITING | PinBasedControls.EXTERNAL_INTERRUPT_EXITING);
        vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS,
                PrimaryProcessorBasedControls.USE_IO_BITMAPS | PrimaryProcessorBasedControls.USE_MSR_BITMAPS
                        | PrimaryProcessorBasedControls.ACTIVATE_SECONDARY_CONTROLS);
        vmwrite(VmcsField.VM_ENTRY_CONTROLS, VmEntryControls.LOAD_IA32_PAT | VmEntryControls.LOAD_IA32_EFER);
    }

    // ---- the processor's side of an exit (what tests set up) ----

    /**
     * Records a VM exit as the processor would (exit reason, qualification, instruction length) and returns the
     * {@link VmExitInfo} the run loop would pass to the handler.
     */
    public VmExitInfo exit(ExitReason reason, long qualification, int instructionLength) {
        setExitField(VmcsField.EXIT_REASON, reason.number());
        setExitField(VmcsField.EXIT_QUALIFICATION, qualification);
        setExitField(VmcsField.VM_EXIT_INSTRUCTION_LENGTH, instructionLength);
        // SDM 27.2 / 28.2: the valid bit of the VM-entry interruption-information field is cleared on VM exit
        vmcs.put(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, 0L);
        return VmExitInfo.of(reason.number(), instructionLength, rip(), qualification);
    }

    /** Writes any field, read-only ones included: what the processor does at VM exit. */
    public void setExitField(VmcsField field, long value) {
        vmcs.put(field, value & field.width().mask());
    }

    /** Puts the guest in 64-bit mode: CR4.PAE, EFER.LME, CR0.PE|PG (so EFER.LMA = 1) and CS.L = 1. */
    public FakeVCpu enter64BitMode() {
        setGuestCr(4, guestCr(4) | Cr4.PAE);
        vmwrite(VmcsField.GUEST_IA32_EFER, vmread(VmcsField.GUEST_IA32_EFER) | Efer.LME);
        setGuestCr(0, (guestCr(0) | Cr0.PE | Cr0.PG) & ~(Cr0.NW | Cr0.CD));
        vmwrite(VmcsField.GUEST_CS_ACCESS_RIGHTS, 0xA09B); // L = bit 13, G = bit 15
        return this;
    }

    public FakeVCpu setSupportedXcr0(long xcr0) {
        this.supportedXcr0 = xcr0;
        return this;
    }

    public FakeVCpu setPreemptionTimerSlice(long ticks) {
        this.preemptionTimerSlice = ticks;
        return this;
    }

    /** What CPUID(leaf, subleaf) returns on the host; unset leaves return zeros (leaf 0xD sub-leaf 0 is computed). */
    public FakeVCpu putHostCpuid(int leaf, int subleaf, CpuidResult result) {
        cpuidTable.put(cpuidKey(leaf, subleaf), result);
        return this;
    }

    // ---- what tests inspect ----

    /** Events queued and not yet injected, oldest first. */
    public List<PendingEvent> pendingEvents() {
        return pending.snapshot();
    }

    /** The VM-entry interruption-information field, decoded. */
    public InterruptionInfo entryInterruptionInfo() {
        return InterruptionInfo.decode(vmread(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION));
    }

    public boolean interruptWindowExiting() {
        return (vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS)
                & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0;
    }

    public String consoleText() {
        return console.toString(StandardCharsets.ISO_8859_1);
    }

    /** How often the console was flushed (devices flush at the end of a line). */
    public int consoleFlushes() {
        return console.flushes;
    }

    public boolean terminated() {
        return exitCode != null;
    }

    /** The exit code given to {@link #terminate}; null while not terminated. */
    public Integer exitCode() {
        return exitCode;
    }

    public String terminationReason() {
        return terminationReason;
    }

    public ArrayGuestMemory memory() {
        return memory;
    }

    // ---- VCpu ----

    @Override
    public int id() {
        return id;
    }

    @Override
    public VCpuState state() {
        return terminated() ? VCpuState.STOPPED : VCpuState.RUNNING;
    }

    @Override
    public String processorKind() {
        return "fake";
    }

    @Override
    public long vmread(VmcsField field) {
        return vmcs.getOrDefault(field, 0L);
    }

    @Override
    public void vmwrite(VmcsField field, long value) {
        if (field.isReadOnly()) {
            throw VmxInstructionException.failValid("VMWRITE " + field, VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        }
        vmcs.put(field, value & field.width().mask());
    }

    @Override
    public GeneralRegisters regs() {
        return regs;
    }

    // GPRs, RIP, advanceRip and guestCr: VCpu's default methods, the same rules as VmxVcpu's

    @Override
    public void setGuestCr(int cr, long value) {
        switch (cr) {
            case 0 -> {
                // x86_vcpu set_cr: NW/CD kept off in the real CR0, PE/PG free under unrestricted guest
                long must0 = CR0_FIXED1 & ~(Cr0.NW | Cr0.CD);
                long must1 = CR0_FIXED0 & ~(Cr0.PG | Cr0.PE);
                vmwrite(VmcsField.GUEST_CR0, (value & must0) | must1);
                vmwrite(VmcsField.CR0_READ_SHADOW, value);
                vmwrite(VmcsField.CR0_GUEST_HOST_MASK, must1 | ~must0 | Cr0.PE | Cr0.PG);
                syncLongModeActive((value & Cr0.PG) != 0);
            }
            case 3 -> vmwrite(VmcsField.GUEST_CR3, value);
            case 4 -> {
                long must0 = CR4_FIXED1;
                long must1 = CR4_FIXED0;
                vmwrite(VmcsField.GUEST_CR4, (value & must0) | must1);
                vmwrite(VmcsField.CR4_READ_SHADOW, value);
                vmwrite(VmcsField.CR4_GUEST_HOST_MASK, must1 | ~must0 | Cr4.PAE);
            }
            default -> throw new IllegalArgumentException("CR" + cr + " is not held in the VMCS");
        }
    }

    @Override
    public void queueEvent(int vector, InterruptionType type, int errorCode) {
        pending.add(new PendingEvent(vector, type, errorCode));
    }

    @Override
    public int pendingEventCount() {
        return pending.size();
    }

    /** The same rule as VmxVcpu's: {@link EventQueue}. */
    @Override
    public boolean injectPendingEvent() {
        return pending.injectNext(this);
    }

    @Override
    public void setInterruptWindowExiting(boolean enable) {
        long controls = vmread(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        long bit = PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING;
        vmwrite(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS, enable ? controls | bit : controls & ~bit);
    }

    @Override
    public void setInterruptController(InterruptController controller) {
        this.interruptController = controller;
    }

    /** The controller a device connected, or null. */
    public InterruptController interruptController() {
        return interruptController;
    }

    /** The guest TSC the next {@link #guestTsc} returns: tests move time by hand. */
    public FakeVCpu setGuestTsc(long tsc) {
        this.guestTsc = tsc;
        return this;
    }

    @Override
    public long guestTsc() {
        return guestTsc;
    }

    @Override
    public void setExitDeadline(Class<?> owner, long guestTsc) {
        exitDeadlines.put(owner, guestTsc);
    }

    @Override
    public void clearExitDeadline(Class<?> owner) {
        exitDeadlines.remove(owner);
    }

    /** The exit deadline the owner asked for, if any. */
    public java.util.OptionalLong exitDeadline(Class<?> owner) {
        Long d = exitDeadlines.get(owner);
        return d == null ? java.util.OptionalLong.empty() : java.util.OptionalLong.of(d);
    }

    @Override
    public long guestXcr0() {
        return guestXcr0;
    }

    @Override
    public void setGuestXcr0(long xcr0) {
        this.guestXcr0 = xcr0;
    }

    @Override
    public long supportedXcr0() {
        return supportedXcr0;
    }

    @Override
    public CpuidResult hostCpuid(int leaf, int subleaf) {
        CpuidResult r = cpuidTable.get(cpuidKey(leaf, subleaf));
        if (r != null) {
            return r;
        }
        if (leaf == 0xD && subleaf == 0) {
            // SDM Vol. 2A CPUID leaf 0DH: EBX = size for the components enabled in XCR0 (the guest's, loaded)
            return new CpuidResult((int) supportedXcr0, xsaveSize(guestXcr0), xsaveSize(supportedXcr0),
                    (int) (supportedXcr0 >>> 32));
        }
        return CpuidResult.ZERO;
    }

    @Override
    public long preemptionTimerSlice() {
        return preemptionTimerSlice;
    }

    @Override
    public ArrayGuestMemory guestMemory() {
        return memory;
    }

    @Override
    public ByteArrayOutputStream console() {
        return console;
    }

    @Override
    public void terminate(int exitCode, String reason) {
        this.exitCode = exitCode;
        this.terminationReason = reason;
    }

    @Override
    public <T> T attachment(Class<T> key, Supplier<? extends T> initial) {
        return key.cast(attachments.computeIfAbsent(key, k -> initial.get()));
    }

    // ---- internals ----

    /** The console: bytes in memory, flushes counted. */
    private static final class Console extends ByteArrayOutputStream {
        private int flushes;

        @Override
        public void flush() {
            flushes++;
        }
    }


    private void syncLongModeActive(boolean paging) {
        long efer = vmread(VmcsField.GUEST_IA32_EFER);
        long entry = vmread(VmcsField.VM_ENTRY_CONTROLS);
        boolean lma = paging && (efer & Efer.LME) != 0;
        vmwrite(VmcsField.GUEST_IA32_EFER, lma ? efer | Efer.LMA : efer & ~Efer.LMA);
        vmwrite(VmcsField.VM_ENTRY_CONTROLS,
                lma ? entry | VmEntryControls.IA32E_MODE_GUEST : entry & ~VmEntryControls.IA32E_MODE_GUEST);
    }

    private static int xsaveSize(long xcr0) {
        int size = 576; // legacy region (512) + XSAVE header (64)
        for (int[] c : XSAVE_COMPONENTS) {
            if ((xcr0 & (1L << c[0])) != 0) {
                size = Math.max(size, c[1] + c[2]);
            }
        }
        return size;
    }

    private static long cpuidKey(int leaf, int subleaf) {
        return ((long) leaf << 32) | (subleaf & 0xFFFF_FFFFL);
    }


    /** Everything a test may want to print when an assertion fails. */
    @Override
    public String toString() {
        List<String> events = new ArrayList<>();
        pending.snapshot().forEach(e -> events.add(e.toString()));
        return String.format("FakeVCpu[%d] rip=%#x rsp=%#x cr0=%#x cr4=%#x efer=%#x %s pending=%s", id, rip(),
                vmread(VmcsField.GUEST_RSP), guestCr(0), guestCr(4), vmread(VmcsField.GUEST_IA32_EFER), regs, events);
    }
}
