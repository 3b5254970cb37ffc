package io.jvmx.vmx.core;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.controls.PinBasedControls;
import io.jvmx.vmx.api.controls.PrimaryProcessorBasedControls;
import io.jvmx.vmx.api.controls.VmExitControls;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionInfo;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.msr.VmxBasic;
import io.jvmx.vmx.api.msr.VmxControlCapability;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.HostContext;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldType;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A minimal in-memory VMX processor for unit tests: capability MSRs shaped like a real Intel part's, a VMCS per
 * region held in a map, the VMX instruction checks vmx-core relies on (VMXON preconditions, launch state, control
 * validity against the TRUE capability MSRs), and a scripted "guest": each VM entry runs the next {@link GuestStep},
 * which decides the exit. A kick (with external-interrupt exiting on) and an open interrupt window (with
 * interrupt-window exiting on) exit before the step runs, as on hardware.
 */
public final class FakeVmxProcessor implements VmxProcessor {
    public static final int REVISION = 0x1234;

    /** What the guest does in one VM entry: change state through the fake, then call {@link #exit}. */
    @FunctionalInterface
    public interface GuestStep {
        void run(FakeVmxProcessor cpu, GeneralRegisters regs);
    }

    /** What one VM entry saw. */
    public record Entry(boolean launch, long injected, long errorCode, long xcr0, long xss, long primaryControls) {
    }

    private final ByteBufferPhysicalMemory memory;
    public final Map<Integer, Long> msrs = new HashMap<>();
    public final Map<Long, CpuidResult> cpuid = new HashMap<>();
    public long cr0 = Cr0.PG | Cr0.AM | Cr0.WP | Cr0.NE | Cr0.ET | Cr0.MP | Cr0.PE;
    public long cr3 = 0x1000;
    public long cr4 = Cr4.PAE | Cr4.PGE | Cr4.OSFXSR | Cr4.OSXMMEXCPT;
    public long xcr0 = 0x7;
    public long supportedXcr0 = 0x7;
    public final List<Long> xsetbvLog = new ArrayList<>();

    private final Map<Long, Map<Integer, Long>> vmcsData = new HashMap<>();
    private final Set<Long> launched = new java.util.HashSet<>();
    private long current = -1;
    private long vmxonRegion = -1;
    public int vmxonCount, vmxoffCount;
    public boolean closed;

    public final Deque<GuestStep> script = new ArrayDeque<>();
    /** Runs when the script is empty. */
    public volatile GuestStep idle = (c, r) -> c.exit(ExitReason.HLT, 0, 1);
    public final List<Entry> entries = java.util.Collections.synchronizedList(new ArrayList<>());
    private volatile boolean kicked;
    public volatile long kicks;
    private boolean exited;

    public FakeVmxProcessor() {
        this(4L << 20);
    }

    public FakeVmxProcessor(long bytes) {
        memory = ByteBufferPhysicalMemory.allocate(bytes);
        msrs.put(Msr.IA32_FEATURE_CONTROL, 0L);
        msrs.put(Msr.IA32_VMX_BASIC,
                new VmxBasic(REVISION, 4096, false, false, VmxBasic.MEMORY_TYPE_WRITE_BACK, true, true, false).encode());
        // Default1 classes as on real parts (SDM Vol. 3D, A.2); the TRUE MSRs let some of them be 0.
        int pin1 = PinBasedControls.EXTERNAL_INTERRUPT_EXITING | PinBasedControls.NMI_EXITING
                | PinBasedControls.VIRTUAL_NMIS | PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER | 0x16;
        caps(Msr.IA32_VMX_PINBASED_CTLS, 0x16, pin1);
        caps(Msr.IA32_VMX_TRUE_PINBASED_CTLS, 0x16, pin1);
        int proc1 = ~(PrimaryProcessorBasedControls.ACTIVATE_TERTIARY_CONTROLS
                | PrimaryProcessorBasedControls.MONITOR_TRAP_FLAG);
        caps(Msr.IA32_VMX_PROCBASED_CTLS, 0x0401E172, proc1);
        caps(Msr.IA32_VMX_TRUE_PROCBASED_CTLS, 0x04006172, proc1);
        caps(Msr.IA32_VMX_PROCBASED_CTLS2, 0, 0x2 | 0x80 | 0x8 | 0x20); // EPT, unrestricted, RDTSCP, VPID
        int exit1 = 0x00036DFF | VmExitControls.HOST_ADDRESS_SPACE_SIZE | VmExitControls.ACKNOWLEDGE_INTERRUPT_ON_EXIT | VmExitControls.SAVE_IA32_PAT
                | VmExitControls.LOAD_IA32_PAT | VmExitControls.SAVE_IA32_EFER | VmExitControls.LOAD_IA32_EFER
                | VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE;
        caps(Msr.IA32_VMX_EXIT_CTLS, 0x00036DFF, exit1);
        caps(Msr.IA32_VMX_TRUE_EXIT_CTLS, 0x00036DFB, exit1);
        int entry1 = 0x11FF | (1 << 9) | (1 << 14) | (1 << 15);
        caps(Msr.IA32_VMX_ENTRY_CTLS, 0x11FF, entry1);
        caps(Msr.IA32_VMX_TRUE_ENTRY_CTLS, 0x11FB, entry1);
        msrs.put(Msr.IA32_VMX_MISC, 5L);
        msrs.put(Msr.IA32_VMX_CR0_FIXED0, Cr0.PG | Cr0.NE | Cr0.PE);
        msrs.put(Msr.IA32_VMX_CR0_FIXED1, 0xFFFF_FFFFL);
        msrs.put(Msr.IA32_VMX_CR4_FIXED0, Cr4.VMXE);
        msrs.put(Msr.IA32_VMX_CR4_FIXED1, 0x3727FFL);
        // 4-level walk (6), UC (8), WB (14), INVEPT (20), single (25) and all-context (26)
        msrs.put(Msr.IA32_VMX_EPT_VPID_CAP, (1L << 6) | (1L << 8) | (1L << 14) | (1L << 20) | (1L << 25) | (1L << 26));
        msrs.put(Msr.IA32_PAT, 0x0007_0406_0007_0406L);
        msrs.put(Msr.IA32_EFER, 0xD01L);
        msrs.put(Msr.IA32_XSS, 0L);
        cpuid.put(key(1, 0), new CpuidResult(0x906EA, 0, (1 << 5) | (1 << 26), 0));
        cpuid.put(key(0x8000_0001, 0), new CpuidResult(0, 0, 0, 1 << 27));
        cpuid.put(key(0xD, 1), new CpuidResult(1 << 3, 0, 0, 0));
    }

    private void caps(int msr, int allowed0, int allowed1) {
        msrs.put(msr, new VmxControlCapability("", allowed0, allowed1 | allowed0).encode());
    }

    private static long key(int leaf, int sub) {
        return ((long) leaf << 32) | (sub & 0xFFFF_FFFFL);
    }

    public VmxControlCapability cap(int msr) {
        return VmxControlCapability.decode(Integer.toHexString(msr), msrs.get(msr));
    }

    // ---------------------------------------------------------------- plain processor

    @Override
    public String kind() {
        return "fake";
    }

    @Override
    public PhysicalMemory memory() {
        return memory;
    }

    @Override
    public CpuidResult cpuid(int leaf, int subleaf) {
        if (leaf == 0xD && subleaf == 0) {
            // EBX: bytes XSAVE needs for the components enabled in XCR0 (SDM Vol. 1, 13.2): legacy area + header
            // (576) plus 256 for AVX
            int ebx = 576 + ((xcr0 & 4) != 0 ? 256 : 0);
            return new CpuidResult((int) supportedXcr0, ebx, 832, (int) (supportedXcr0 >>> 32));
        }
        return cpuid.getOrDefault(key(leaf, leaf == 0xD || leaf == 7 ? subleaf : 0), CpuidResult.ZERO);
    }

    @Override
    public long rdmsr(int msr) {
        Long v = msrs.get(msr);
        if (v == null) {
            throw ProcessorFault.gp(String.format("RDMSR of unknown MSR %#x", msr));
        }
        return v;
    }

    @Override
    public void wrmsr(int msr, long value) {
        if (msr == Msr.IA32_FEATURE_CONTROL && (msrs.get(msr) & Msr.FEATURE_CONTROL_LOCK) != 0) {
            throw ProcessorFault.gp("IA32_FEATURE_CONTROL is locked");
        }
        if (!msrs.containsKey(msr) || (msr >= Msr.IA32_VMX_BASIC && msr <= Msr.IA32_VMX_EXIT_CTLS2)) {
            throw ProcessorFault.gp(String.format("WRMSR to %#x", msr));
        }
        msrs.put(msr, value);
    }

    /** The guest's DR0-DR3 and DR6 as a test sets them (index 0-3, 6). */
    public final long[] dr = new long[7];

    @Override
    public long readDr(int n) {
        VmxProcessor.checkReadableDr(n);
        return dr[n];
    }

    @Override
    public long readCr(int cr) {
        return switch (cr) {
            case 0 -> cr0;
            case 3 -> cr3;
            case 4 -> cr4;
            default -> throw ProcessorFault.ud("CR" + cr);
        };
    }

    @Override
    public void writeCr(int cr, long value) {
        if (vmxonRegion >= 0 && cr == 4 && (value & Cr4.VMXE) == 0) {
            throw ProcessorFault.gp("clearing CR4.VMXE in VMX operation (SDM 24.8)");
        }
        switch (cr) {
            case 0 -> cr0 = value;
            case 3 -> cr3 = value;
            case 4 -> cr4 = value;
            default -> throw ProcessorFault.ud("CR" + cr);
        }
    }

    @Override
    public long xgetbv(int xcr) {
        if ((cr4 & Cr4.OSXSAVE) == 0) {
            throw ProcessorFault.ud("XGETBV with CR4.OSXSAVE = 0");
        }
        return xcr0;
    }

    @Override
    public void xsetbv(int xcr, long value) {
        if ((cr4 & Cr4.OSXSAVE) == 0) {
            throw ProcessorFault.ud("XSETBV with CR4.OSXSAVE = 0");
        }
        if (xcr != 0 || (value & 1) == 0 || (value & ~supportedXcr0) != 0) {
            throw ProcessorFault.gp(String.format("XSETBV %#x", value));
        }
        xsetbvLog.add(value);
        xcr0 = value;
    }

    @Override
    public HostContext hostContext() {
        return new HostContext(cr0, cr3, cr4 | Cr4.VMXE, 0x8, 0x10, 0, 0, 0, 0, 0x18, 0, 0, 0x5000, 0x6000, 0x7000,
                msrs.get(Msr.IA32_PAT), msrs.get(Msr.IA32_EFER), 0x9000, 0xA000);
    }

    // ---------------------------------------------------------------- VMX instructions

    @Override
    public void vmxon(long region) {
        if ((cr4 & Cr4.VMXE) == 0) {
            throw ProcessorFault.ud("VMXON with CR4.VMXE = 0");
        }
        long fc = msrs.get(Msr.IA32_FEATURE_CONTROL);
        if ((fc & Msr.FEATURE_CONTROL_LOCK) == 0 || (fc & Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX) == 0) {
            throw ProcessorFault.gp("VMXON not enabled in IA32_FEATURE_CONTROL");
        }
        if (vmxonRegion >= 0) {
            throw VmxInstructionException.failInvalid("VMXON", "already in VMX operation");
        }
        if (memory.read32(region) != REVISION) {
            throw VmxInstructionException.failInvalid("VMXON", "wrong revision identifier");
        }
        vmxonRegion = region;
        vmxonCount++;
    }

    @Override
    public void vmxoff() {
        if (vmxonRegion < 0) {
            throw ProcessorFault.ud("VMXOFF outside VMX operation");
        }
        vmxonRegion = -1;
        current = -1;
        vmxoffCount++;
    }

    private void requireVmx(String insn) {
        if (vmxonRegion < 0) {
            throw ProcessorFault.ud(insn + " outside VMX operation");
        }
    }

    @Override
    public void vmclear(long vmcs) {
        requireVmx("VMCLEAR");
        if (vmcs == vmxonRegion) {
            throw VmxInstructionException.failValid("VMCLEAR", VmInstructionError.VMCLEAR_VMXON_POINTER);
        }
        vmcsData.computeIfAbsent(vmcs, k -> new HashMap<>());
        launched.remove(vmcs);
        if (current == vmcs) {
            current = -1;
        }
    }

    @Override
    public void vmptrld(long vmcs) {
        requireVmx("VMPTRLD");
        if (memory.read32(vmcs) != REVISION) {
            throw VmxInstructionException.failValid("VMPTRLD", VmInstructionError.VMPTRLD_INCORRECT_REVISION);
        }
        vmcsData.computeIfAbsent(vmcs, k -> new HashMap<>());
        current = vmcs;
    }

    @Override
    public long vmptrst() {
        return current;
    }

    private Map<Integer, Long> currentVmcs(String insn) {
        requireVmx(insn);
        if (current < 0) {
            throw VmxInstructionException.failInvalid(insn, "no current VMCS");
        }
        return vmcsData.get(current);
    }

    /** The encodings VMREAD was given, in order, while not null (tests set it to a list to watch). */
    public volatile List<Integer> vmreads;

    @Override
    public long vmread(int encoding) {
        List<Integer> log = vmreads;
        if (log != null) {
            log.add(encoding);
        }
        Map<Integer, Long> f = currentVmcs("VMREAD");
        if (!VmcsField.isSupportedEncoding(encoding)) {
            throw VmxInstructionException.failValid("VMREAD", VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
        }
        if ((encoding & 1) == 1) {
            return f.getOrDefault(encoding & ~1, 0L) >>> 32;
        }
        return f.getOrDefault(encoding, 0L);
    }

    @Override
    public void vmwrite(int encoding, long value) {
        Map<Integer, Long> f = currentVmcs("VMWRITE");
        if (!VmcsField.isSupportedEncoding(encoding)) {
            throw VmxInstructionException.failValid("VMWRITE", VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
        }
        VmcsField field = VmcsField.byEncoding(encoding & ~1).orElseThrow();
        if (field.type() == VmcsFieldType.VM_EXIT_INFORMATION) {
            throw VmxInstructionException.failValid("VMWRITE", VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        }
        if ((encoding & 1) == 1) {
            f.put(encoding & ~1, (f.getOrDefault(encoding & ~1, 0L) & 0xFFFF_FFFFL) | (value << 32));
        } else {
            f.put(encoding, value & field.width().mask());
        }
    }

    /** Test access to the current VMCS, including VM-exit information fields. */
    public long field(VmcsField f) {
        return vmcsData.get(current).getOrDefault(f.encoding(), 0L);
    }

    public void setField(VmcsField f, long v) {
        vmcsData.get(current).put(f.encoding(), v & f.width().mask());
    }

    @Override
    public void vmlaunch(GeneralRegisters guest) {
        currentVmcs("VMLAUNCH");
        if (launched.contains(current)) {
            throw VmxInstructionException.failValid("VMLAUNCH", VmInstructionError.VMLAUNCH_NON_CLEAR_VMCS);
        }
        enter(true, guest);
    }

    @Override
    public void vmresume(GeneralRegisters guest) {
        currentVmcs("VMRESUME");
        if (!launched.contains(current)) {
            throw VmxInstructionException.failValid("VMRESUME", VmInstructionError.VMRESUME_NON_LAUNCHED_VMCS);
        }
        enter(false, guest);
    }

    /** SDM 26.2.1: the control checks vmx-core can get wrong; then one guest step. */
    private void enter(boolean launch, GeneralRegisters guest) {
        int pin = (int) field(VmcsField.PIN_BASED_VM_EXECUTION_CONTROLS);
        int primary = (int) field(VmcsField.PRIMARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS);
        int exitCtl = (int) field(VmcsField.PRIMARY_VM_EXIT_CONTROLS);
        boolean ok = cap(Msr.IA32_VMX_TRUE_PINBASED_CTLS).isValid(pin)
                && cap(Msr.IA32_VMX_TRUE_PROCBASED_CTLS).isValid(primary)
                && cap(Msr.IA32_VMX_PROCBASED_CTLS2).isValid((int) field(VmcsField.SECONDARY_PROCESSOR_BASED_VM_EXECUTION_CONTROLS))
                && cap(Msr.IA32_VMX_TRUE_EXIT_CTLS).isValid(exitCtl)
                && cap(Msr.IA32_VMX_TRUE_ENTRY_CTLS).isValid((int) field(VmcsField.VM_ENTRY_CONTROLS))
                // SDM 26.2.1.2: saving the timer value needs an active timer
                && ((exitCtl & VmExitControls.SAVE_VMX_PREEMPTION_TIMER_VALUE) == 0
                || (pin & PinBasedControls.ACTIVATE_VMX_PREEMPTION_TIMER) != 0);
        if (!ok) {
            throw VmxInstructionException.failValid(launch ? "VMLAUNCH" : "VMRESUME",
                    VmInstructionError.ENTRY_INVALID_CONTROL_FIELDS);
        }
        long info = field(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION);
        entries.add(new Entry(launch, info, field(VmcsField.VM_ENTRY_EXCEPTION_ERROR_CODE), xcr0,
                msrs.get(Msr.IA32_XSS), primary));
        launched.add(current);
        // SDM 28.2 (and 27.8): every VM exit clears the valid bit of the VM-entry interruption-information field
        setField(VmcsField.VM_ENTRY_INTERRUPTION_INFORMATION, info & ~(long) InterruptionInfo.VALID);
        exited = false;
        boolean injected = (info & InterruptionInfo.VALID) != 0;
        if (kicked && (pin & PinBasedControls.EXTERNAL_INTERRUPT_EXITING) != 0) {
            kicked = false;
            setField(VmcsField.VM_EXIT_INTERRUPTION_INFORMATION, InterruptionInfo.injection(0xEF,
                    InterruptionType.EXTERNAL_INTERRUPT, false).encode() & 0xFFFF_FFFFL);
            exit(ExitReason.EXTERNAL_INTERRUPT, 0, 0);
            return;
        }
        if (!injected && (primary & PrimaryProcessorBasedControls.INTERRUPT_WINDOW_EXITING) != 0
                && (field(VmcsField.GUEST_RFLAGS) & Rflags.IF) != 0
                && (field(VmcsField.GUEST_INTERRUPTIBILITY_STATE) & 3) == 0) {
            exit(ExitReason.INTERRUPT_WINDOW, 0, 0);
            return;
        }
        GuestStep step;
        synchronized (script) {
            step = script.poll();
        }
        (step != null ? step : idle).run(this, guest);
        if (!exited) {
            throw new AssertionError("guest step did not exit");
        }
    }

    /** Writes the exit fields, as the processor does at a VM exit (SDM 28.2). */
    public void exit(ExitReason reason, long qualification, int length) {
        exitRaw(reason.number(), qualification, length);
    }

    public void exitRaw(int reasonField, long qualification, int length) {
        setField(VmcsField.EXIT_REASON, reasonField & 0xFFFF_FFFFL);
        setField(VmcsField.EXIT_QUALIFICATION, qualification);
        setField(VmcsField.VM_EXIT_INSTRUCTION_LENGTH, length);
        exited = true;
    }

    public void script(GuestStep... steps) {
        synchronized (script) {
            script.addAll(List.of(steps));
        }
    }

    @Override
    public void invept(int type, long eptp) {
        requireVmx("INVEPT");
    }

    @Override
    public void invvpid(int type, long vpid, long linearAddress) {
        requireVmx("INVVPID");
    }

    @Override
    public void kick() {
        kicks++;
        kicked = true;
    }

    @Override
    public Set<ExitReason> deliverableExits() {
        return EnumSet.allOf(ExitReason.class);
    }

    /** Leaves of a CPUID table this fake answers itself (as KVM does); empty: it delivers CPUID exits. */
    public final List<io.jvmx.vmx.api.spi.CpuidLeaf> tableLeaves = new ArrayList<>();
    /** What the VMM gave for them (setGuestCpuid), or null before it did. */
    public volatile Map<io.jvmx.vmx.api.spi.CpuidLeaf, CpuidResult> guestCpuid;
    public int guestCpuidCalls;

    @Override
    public List<io.jvmx.vmx.api.spi.CpuidLeaf> guestCpuidLeaves() {
        return List.copyOf(tableLeaves);
    }

    @Override
    public void setGuestCpuid(Map<io.jvmx.vmx.api.spi.CpuidLeaf, CpuidResult> answers) {
        guestCpuidCalls++;
        guestCpuid = Map.copyOf(answers);
    }

    @Override
    public long guestInstructionsRetired() {
        return entries.size();
    }

    @Override
    public void close() {
        closed = true;
    }

    public boolean inVmxOperation() {
        return vmxonRegion >= 0;
    }

    public boolean isLaunched(long vmcs) {
        return launched.contains(vmcs);
    }
}
