package io.jvmx.vmx.emulated.vmx;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.msr.Msr;
import io.jvmx.vmx.emulated.cpu.ConfigurationMsrs;
import io.jvmx.vmx.emulated.cpu.CpuState;

/**
 * The MSRs of the software processor (SDM Vol. 4, Table 2-2, for the architectural MSRs this processor has), read
 * and written with RDMSR/WRMSR semantics at CPL 0: #GP(0) for an MSR that does not exist, a read-only MSR, a
 * reserved bit, a non-canonical base, or a locked IA32_FEATURE_CONTROL. The MTRRs and IA32_MISC_ENABLE are the
 * guest's own {@link ConfigurationMsrs}. The local APIC's MSRs (IA32_APIC_BASE, IA32_TSC_DEADLINE, x2APIC) do not exist:
 * the guest's local APIC is the VMM's device, reached through MSR-bitmap exits. Used by the VMM in root operation and by
 * the VM-entry/VM-exit MSR-load and MSR-store areas (SDM 27.4, 28.4, 28.6).
 */
final class ModelSpecificRegisters {
    static final int IA32_TIME_STAMP_COUNTER = Msr.IA32_TIME_STAMP_COUNTER;

    /** IA32_FEATURE_CONTROL starts unlocked with VMX disabled, as firmware that leaves it to the OS. */
    private long featureControl;
    private final CpuState state;

    ModelSpecificRegisters(CpuState state) {
        this.state = state;
    }

    long featureControl() {
        return featureControl;
    }

    static ProcessorFault gp(String format, Object... args) {
        return ProcessorFault.gp(String.format(format, args));
    }

    long read(int msr) {
        Long vmx = VmxCapabilities.read(msr);
        if (vmx != null) {
            return vmx;
        }
        switch (msr) {
            case IA32_TIME_STAMP_COUNTER:
                return state.tsc;
            case Msr.IA32_FEATURE_CONTROL:
                return featureControl;
            case Msr.IA32_PAT:
                return state.pat;
            case Msr.IA32_DEBUGCTL:
                return state.debugctl;
            case Msr.IA32_EFER:
                return state.efer;
            case Msr.IA32_FS_BASE:
                return state.seg[CpuState.FS].base;
            case Msr.IA32_GS_BASE:
                return state.seg[CpuState.GS].base;
            default:
                break;
        }
        if (ProcessorModel.SYSENTER) {
            switch (msr) {
                case Msr.IA32_SYSENTER_CS: return state.sysenterCs;
                case Msr.IA32_SYSENTER_ESP: return state.sysenterEsp;
                case Msr.IA32_SYSENTER_EIP: return state.sysenterEip;
                default: break;
            }
        }
        if (ProcessorModel.SYSCALL) {
            switch (msr) {
                case Msr.IA32_STAR: return state.star;
                case Msr.IA32_LSTAR: return state.lstar;
                case Msr.IA32_CSTAR: return state.cstar;
                case Msr.IA32_FMASK: return state.fmask;
                default: break;
            }
        }
        if (msr == Msr.IA32_KERNEL_GS_BASE) {
            return state.kernelGsBase; // exists with IA-32e mode (CPUID.80000001H:EDX.LM)
        }
        if (msr == Msr.IA32_TSC_AUX && ProcessorModel.RDTSCP) {
            return state.tscAux;
        }
        if (ConfigurationMsrs.has(msr)) {
            return state.configurationMsrs.read(msr);
        }
        throw gp("RDMSR of MSR %#x, which this processor does not have", msr);
    }

    private static long canonical(int msr, long value) {
        if (!ProcessorModel.canonical(value)) {
            throw gp("WRMSR %#x: %#x is not canonical", msr, value);
        }
        return value;
    }

    void write(int msr, long value) {
        if (VmxCapabilities.read(msr) != null) {
            throw gp("WRMSR to read-only VMX capability MSR %#x", msr);
        }
        switch (msr) {
            case IA32_TIME_STAMP_COUNTER -> state.tsc = value;
            case Msr.IA32_FEATURE_CONTROL -> {
                // SDM 24.7: once the lock bit is set, WRMSR to the MSR faults until reset.
                if ((featureControl & Msr.FEATURE_CONTROL_LOCK) != 0) {
                    throw gp("IA32_FEATURE_CONTROL is locked (%#x)", featureControl);
                }
                // Bits 0-2 exist; VMX inside SMX (bit 1) is not supported (CPUID.1:ECX.SMX = 0).
                if ((value & ~(Msr.FEATURE_CONTROL_LOCK | Msr.FEATURE_CONTROL_VMX_OUTSIDE_SMX)) != 0) {
                    throw gp("IA32_FEATURE_CONTROL %#x sets reserved or unsupported bits", value);
                }
                featureControl = value;
            }
            case Msr.IA32_PAT -> {
                if (!VmEntryChecks.validPat(value)) {
                    throw gp("IA32_PAT %#x holds a reserved memory type", value);
                }
                state.pat = value;
            }
            case Msr.IA32_DEBUGCTL -> {
                if ((value & ~VmEntryChecks.DEBUGCTL_SUPPORTED) != 0) {
                    throw gp("IA32_DEBUGCTL %#x sets bits this processor does not implement", value);
                }
                state.debugctl = value;
            }
            case Msr.IA32_EFER -> writeEfer(value);
            case Msr.IA32_FS_BASE -> state.seg[CpuState.FS].base = canonical(msr, value);
            case Msr.IA32_GS_BASE -> state.seg[CpuState.GS].base = canonical(msr, value);
            case Msr.IA32_KERNEL_GS_BASE -> state.kernelGsBase = canonical(msr, value);
            default -> writeOptional(msr, value);
        }
    }

    private void writeOptional(int msr, long value) {
        if (ProcessorModel.SYSENTER) {
            switch (msr) {
                case Msr.IA32_SYSENTER_CS -> { state.sysenterCs = value & 0xFFFF_FFFFL; return; }
                case Msr.IA32_SYSENTER_ESP -> { state.sysenterEsp = canonical(msr, value); return; }
                case Msr.IA32_SYSENTER_EIP -> { state.sysenterEip = canonical(msr, value); return; }
                default -> { }
            }
        }
        if (ProcessorModel.SYSCALL) {
            switch (msr) {
                case Msr.IA32_STAR -> { state.star = value; return; }
                case Msr.IA32_LSTAR -> { state.lstar = canonical(msr, value); return; }
                case Msr.IA32_CSTAR -> { state.cstar = canonical(msr, value); return; }
                case Msr.IA32_FMASK -> { state.fmask = value & 0xFFFF_FFFFL; return; }
                default -> { }
            }
        }
        if (msr == Msr.IA32_TSC_AUX && ProcessorModel.RDTSCP) {
            if ((value >>> 32) != 0) {
                throw gp("IA32_TSC_AUX %#x: bits 63:32 are reserved", value);
            }
            state.tscAux = value;
            return;
        }
        if (ConfigurationMsrs.has(msr)) {
            String fault = state.configurationMsrs.write(msr, value);
            if (fault != null) {
                throw gp("%s", fault);
            }
            return;
        }
        throw gp("WRMSR to MSR %#x, which this processor does not have", msr);
    }

    /** SDM Vol. 3A 2.2.1 / WRMSR: reserved bits fault; LME cannot change while paging is on; LMA is read-only. */
    private void writeEfer(long value) {
        if ((value & ~ProcessorModel.EFER_IMPLEMENTED) != 0) {
            throw gp("IA32_EFER %#x sets reserved bits", value);
        }
        if ((state.cr0 & Cr0.PG) != 0 && ((value ^ state.efer) & Efer.LME) != 0) {
            throw gp("IA32_EFER.LME cannot change while CR0.PG = 1");
        }
        state.efer = (value & ~Efer.LMA) | (state.efer & Efer.LMA);
    }
}
