package io.jvmx.apic.device;

import io.jvmx.apic.ApicFault;
import io.jvmx.apic.LocalApic;
import io.jvmx.apic.mmio.GuestCode;
import io.jvmx.apic.mmio.MmioInstruction;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.exit.CrAccessQualification;
import io.jvmx.vmx.api.exit.EptViolationQualification;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.exit.InterruptionType;
import io.jvmx.vmx.api.exit.VmExitInfo;
import io.jvmx.vmx.api.handler.CpuidContribution;
import io.jvmx.vmx.api.handler.ExitAction;
import io.jvmx.vmx.api.handler.InterruptLine;
import io.jvmx.vmx.api.handler.VCpu;
import io.jvmx.vmx.api.handler.VmExitHandler;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.vmcs.VmcsField;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;

import java.util.Map;

/**
 * The guest's local APIC as the VMM's device. In VMX the local APIC a guest programs is not the processor's: the VMM
 * emulates it (SDM Vol. 3C 29.5: "a VMM can virtualize ... MSR-based APIC accesses by configuring the MSR bitmaps";
 * the APIC-virtualization controls of chapter 29 only speed this up). This component is that emulation, one
 * {@link LocalApic} per vCPU (a vCPU attachment, so it survives a stop and start of this bundle), reached through
 * the exits the platform's VMCS setup causes:
 *
 * <ul>
 *   <li>EPT_VIOLATION at the xAPIC page (IA32_APIC_BASE, default FEE00000H; guest RAM ends far below it, so the EPT
 *       does not map it): the MOV that touched it is read and emulated ({@link MmioInstruction});</li>
 *   <li>RDMSR/WRMSR of IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range 800H-8FFH, which the MSR bitmap
 *       intercepts; a refused access is #GP(0) with RIP on the instruction;</li>
 *   <li>CR_ACCESS of CR8, the TPR's other name in 64-bit mode (SDM Vol. 3A 11.8.6): CR8-load and CR8-store exiting
 *       are on;</li>
 *   <li>VMX_PREEMPTION_TIMER_EXPIRED: the APIC timer's deadline, asked for with {@link VCpu#setExitDeadline} so that
 *       the exit comes when the guest's TSC reaches it, also in HLT; the exit is passed on to the time-slice handler.
 *   </li>
 * </ul>
 * At every one of them the timer catches up with the guest's TSC first. The APIC is the vCPU's
 * {@link io.jvmx.vmx.api.handler.InterruptController}: the vCPU takes its interrupts at VM entry when the guest can
 * (interrupt window otherwise). Through {@link CpuidContribution} the guest sees CPUID.01H:EDX.APIC (while
 * IA32_APIC_BASE.EN = 1), ECX.x2APIC and ECX.TSC-deadline, and its initial APIC ID 0 in EBX[31:24]: each vCPU of jvmx
 * is the only processor of its machine, its bootstrap processor.
 *
 * <p>Exits that are not the APIC's (another MSR, another CR, an EPT violation elsewhere) are passed on. The ranking
 * (100) puts this device before the MSR, CR-access and preemption-timer handlers (ranking 0).
 *
 * <p>Configuration {@value #TSC_PER_TICK}: TSC ticks per tick of the timer's input clock (default 1: under the
 * software processor, whose TSC advances by one per instruction, a timer count of N at divide-by-1 lasts N
 * instructions).
 */
@Component(service = {VmExitHandler.class, CpuidContribution.class}, configurationPid = "io.jvmx.apic",
        property = {VmExitHandler.EXIT_REASON + "=EPT_VIOLATION", VmExitHandler.EXIT_REASON + "=RDMSR",
                VmExitHandler.EXIT_REASON + "=WRMSR", VmExitHandler.EXIT_REASON + "=CR_ACCESS",
                VmExitHandler.EXIT_REASON + "=VMX_PREEMPTION_TIMER_EXPIRED", "service.ranking:Integer=100"})
public final class LocalApicDevice implements VmExitHandler, CpuidContribution {

    /** Component property: TSC ticks per tick of the APIC timer's input clock. */
    public static final String TSC_PER_TICK = "apic.timer.tscPerTick";
    /** CPUID.01H bits (SDM Vol. 2A, Tables 3-10 and 3-11). */
    static final int EDX1_APIC = 1 << 9, ECX1_X2APIC = 1 << 21, ECX1_TSC_DEADLINE = 1 << 24;
    /** MAXPHYADDR when CPUID.80000008H does not say (SDM Vol. 2A CPUID: 36 without the leaf). */
    private static final int DEFAULT_PHYSICAL_ADDRESS_BITS = 36;

    private volatile long tscPerTick = 1;

    public LocalApicDevice() {
    }

    @Activate
    void activate(Map<String, ?> properties) {
        Object raw = properties.get(TSC_PER_TICK);
        if (raw != null) {
            long v;
            try {
                v = raw instanceof Number n ? n.longValue() : Long.parseLong(raw.toString().trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(TSC_PER_TICK + " must be a whole number of TSC ticks, got " + raw);
            }
            if (v < 1) {
                throw new IllegalArgumentException(TSC_PER_TICK + " must be at least 1, got " + v);
            }
            tscPerTick = v;
        }
    }

    /**
     * This vCPU's local APIC, created at the first use and then connected: it takes the vCPU's INTR line at LINT0 (the
     * 8259A's interrupts, {@link InterruptLine}) and becomes the vCPU's interrupt controller.
     */
    public LocalApic apic(VCpu vcpu) {
        LocalApic apic = vcpu.attachment(LocalApic.class, () -> {
            int bits = Integer.compareUnsigned(vcpu.hostCpuid(0x8000_0000, 0).eax(), 0x8000_0008) >= 0
                    ? vcpu.hostCpuid(0x8000_0008, 0).eax() & 0xFF : DEFAULT_PHYSICAL_ADDRESS_BITS;
            return new LocalApic(0, tscPerTick, bits,
                    () -> vcpu.queueEvent(Exceptions.NMI, InterruptionType.NMI, -1));
        });
        if (!apic.lint0Connected()) { // outside the attachment's creation: attachments are not created re-entrantly
            InterruptLine line = vcpu.attachment(InterruptLine.class, InterruptLine::new);
            apic.connectLint0(line);
            line.connectLocalApic(vcpu, apic);
        }
        return apic;
    }

    @Override
    public ExitAction handle(VCpu vcpu, VmExitInfo exit) {
        LocalApic apic = apic(vcpu);
        long now = vcpu.guestTsc();
        apic.advanceTo(now);
        ExitAction action = switch (exit.reason()) {
            case RDMSR, WRMSR -> msr(vcpu, apic, exit, now);
            case EPT_VIOLATION -> mmio(vcpu, apic, exit, now);
            case CR_ACCESS -> cr8(vcpu, apic, exit);
            default -> ExitAction.PASS; // the preemption timer: the timer has caught up; the slice is the other's
        };
        long next = apic.nextTimerEvent();
        if (next == Long.MAX_VALUE) {
            vcpu.clearExitDeadline(LocalApic.class);
        } else {
            vcpu.setExitDeadline(LocalApic.class, next);
        }
        return action;
    }

    private static ExitAction msr(VCpu vcpu, LocalApic apic, VmExitInfo exit, long now) {
        int msr = (int) vcpu.readGpr(GeneralRegisters.RCX);
        boolean read = exit.reason() == ExitReason.RDMSR;
        long value = (vcpu.readGpr(GeneralRegisters.RDX) & 0xFFFF_FFFFL) << 32
                | (vcpu.readGpr(GeneralRegisters.RAX) & 0xFFFF_FFFFL);
        try {
            if (msr == Msr.IA32_APIC_BASE) {
                if (read) {
                    value = apic.apicBase();
                } else {
                    apic.writeApicBase(value);
                }
            } else if (msr == Msr.IA32_TSC_DEADLINE) {
                if (read) {
                    value = apic.readTscDeadline(now);
                } else {
                    apic.writeTscDeadline(value, now);
                }
            } else if (LocalApic.isX2ApicMsr(msr)) {
                if (read) {
                    value = apic.readMsr(msr, now);
                } else {
                    apic.writeMsr(msr, value, now);
                }
            } else {
                return ExitAction.PASS;
            }
        } catch (ApicFault refused) {
            vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
            return ExitAction.HANDLED; // a fault: RIP stays on the instruction
        }
        if (read) {
            vcpu.writeGpr(GeneralRegisters.RAX, value & 0xFFFF_FFFFL); // RDMSR clears bits 63:32 of RAX and RDX
            vcpu.writeGpr(GeneralRegisters.RDX, value >>> 32);
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    /**
     * A load or store in the xAPIC page. Only while the APIC is in xAPIC mode: disabled or in x2APIC mode the page
     * is not the APIC's (SDM 11.12.2), and the violation goes on to whoever else maps memory there.
     */
    private static ExitAction mmio(VCpu vcpu, LocalApic apic, VmExitInfo exit, long now) {
        long gpa = vcpu.vmread(VmcsField.GUEST_PHYSICAL_ADDRESS);
        long base = apic.baseAddress();
        EptViolationQualification q = EptViolationQualification.decode(exit.qualification());
        if (!apic.xApicMode() || gpa < base || gpa >= base + 0x1000 || q.fetch()) {
            return ExitAction.PASS;
        }
        MmioInstruction insn = MmioInstruction.decode(GuestCode.fetch(vcpu), GuestCode.codeSize(vcpu));
        if (insn.store() != q.write()) {
            throw new IllegalStateException(String.format("the instruction at RIP %#x is a %s, the EPT violation "
                    + "says %s", vcpu.rip(), insn.store() ? "store" : "load", q.write() ? "write" : "read"));
        }
        if (insn.operandSize() != 4) {
            // SDM 11.4.1: APIC registers are accessed with 32-bit loads and stores; other sizes are undefined
            throw new IllegalStateException(String.format("a %d-byte access to the local APIC at %#x (RIP %#x): the "
                    + "registers take 32-bit accesses only (SDM Vol. 3A 11.4.1)", insn.operandSize(), gpa, vcpu.rip()));
        }
        int offset = (int) (gpa - base);
        if (insn.store()) {
            long value = insn.register() < 0 ? insn.immediate() : vcpu.readGpr(insn.register());
            apic.writeMmio(offset, (int) value, now);
        } else {
            // a 32-bit load zero-extends into the 64-bit register (SDM Vol. 1 3.4.1.1)
            vcpu.writeGpr(insn.register(), apic.readMmio(offset, now) & 0xFFFF_FFFFL);
        }
        vcpu.advanceRip(insn.length());
        return ExitAction.HANDLED;
    }

    /** MOV to/from CR8 (SDM Vol. 3A 11.8.6); bits 63:4 of a value written must be 0 (Vol. 2B MOV CR: #GP(0)). */
    private static ExitAction cr8(VCpu vcpu, LocalApic apic, VmExitInfo exit) {
        CrAccessQualification q = CrAccessQualification.decode(exit.qualification());
        if (q.crNumber() != 8) {
            return ExitAction.PASS;
        }
        switch (q.accessType()) {
            case MOV_TO_CR -> {
                long value = vcpu.readGpr(q.gpr());
                if ((value & ~0xFL) != 0) {
                    vcpu.queueEvent(Exceptions.GP, InterruptionType.HARDWARE_EXCEPTION, 0);
                    return ExitAction.HANDLED;
                }
                apic.writeCr8(value);
            }
            case MOV_FROM_CR -> vcpu.writeGpr(q.gpr(), apic.cr8());
            default -> {
                return ExitAction.PASS; // CLTS and LMSW concern CR0
            }
        }
        vcpu.advanceRip(exit.instructionLength());
        return ExitAction.HANDLED;
    }

    @Override
    public CpuidResult contribute(VCpu vcpu, int leaf, int subleaf, CpuidResult answer) {
        if (leaf != 1) {
            return answer;
        }
        LocalApic apic = apic(vcpu);
        int edx = apic.enabled() ? answer.edx() | EDX1_APIC : answer.edx() & ~EDX1_APIC; // SDM 11.4.3
        return answer.withEdx(edx).withEcx(answer.ecx() | ECX1_X2APIC | ECX1_TSC_DEADLINE)
                .withEbx(answer.ebx() & 0x00FF_FFFF); // initial APIC ID 0 in bits 31:24
    }
}
