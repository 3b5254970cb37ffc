package io.jvmx.vmx.api.spi;

import org.osgi.annotation.versioning.ProviderType;

import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.memory.PhysicalMemory;

import io.jvmx.vmx.api.exit.MmioAccess;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One logical processor that supports VMX, seen from VMX root operation: the instructions of SDM Vol. 3C,
 * chapter 31, plus what a VMM reads and writes on its own processor (CPUID, MSRs, CR0/CR4, XCR0).
 *
 * <p>Conventions: VMX instruction failures throw {@link VmxInstructionException} (VMfailInvalid / VMfailValid
 * with the SDM error number, which is also stored in the current VMCS); faults the processor raises in root
 * operation (#UD, #GP) throw {@link ProcessorFault}. {@link #vmlaunch} and {@link #vmresume} return when the guest
 * exits: the exit reason and exit information are then in the current VMCS, and the guest's general-purpose
 * registers in the {@link GeneralRegisters} passed in (as x86_vcpu's entry/exit trampolines do). A failed VM entry
 * because of guest state is a VM exit with bit 31 of the exit reason set, not an exception (SDM 27.8).
 *
 * <p>Threads: one thread drives a processor (as one logical processor executes one instruction stream); only
 * {@link #kick()} may be called from other threads.
 */
@ProviderType
public interface VmxProcessor extends AutoCloseable {

    /** "software" or "kvm". */
    String kind();

    /** The host-physical memory this processor addresses (VMXON region, VMCSs, bitmaps, EPT, guest frames). */
    PhysicalMemory memory();

    /** CPUID executed in VMX root operation: what this processor implements. */
    CpuidResult cpuid(int leaf, int subleaf);

    /** RDMSR; {@link ProcessorFault} #GP for an MSR the processor does not have. */
    long rdmsr(int msr);

    /** WRMSR; {@link ProcessorFault} #GP for a read-only MSR, a reserved bit, or a locked IA32_FEATURE_CONTROL. */
    void wrmsr(int msr, long value);

    /** MOV from CR0, CR3 or CR4 of the host. */
    long readCr(int cr);

    /** MOV to CR0, CR3 or CR4 of the host; #GP if VMX operation forbids the value (SDM 24.8). */
    void writeCr(int cr, long value);

    /**
     * MOV from DR0-DR3 or DR6 in VMX root operation. VM entries and exits switch only DR7 (SDM Vol. 3C 27.3.2.1,
     * 28.5.1), so after a VM exit these hold the guest's values: a VMM that completes an instruction for the guest
     * reads its breakpoints here. #UD for another register ({@link #checkReadableDr}).
     */
    long readDr(int dr);

    /** The register check of {@link #readDr}: {@link ProcessorFault} #UD unless {@code dr} is 0-3 or 6. */
    static void checkReadableDr(int dr) {
        if (dr != 6 && (dr < 0 || dr > 3)) {
            throw ProcessorFault.ud("MOV from DR" + dr + " in VMX root operation (DR0-DR3 and DR6)");
        }
    }

    /** XGETBV. */
    long xgetbv(int xcr);

    /** XSETBV (the host's own, e.g. when switching to the guest's XCR0); #GP for an unsupported value. */
    void xsetbv(int xcr, long value);

    /** The host state to record in the VMCS host-state area. */
    HostContext hostContext();

    void vmxon(long vmxonRegion);

    void vmxoff();

    void vmclear(long vmcs);

    void vmptrld(long vmcs);

    /** VMPTRST: the current-VMCS pointer, or all ones if there is none. */
    long vmptrst();

    /** VMREAD of a component of the current VMCS by encoding (full or high access). */
    long vmread(int encoding);

    /** VMWRITE of a component of the current VMCS by encoding (full or high access). */
    void vmwrite(int encoding, long value);

    /** VMLAUNCH: enters the guest; returns at the next VM exit (or throws for VMfail). */
    void vmlaunch(GeneralRegisters guest);

    /** VMRESUME: as {@link #vmlaunch} for a launched VMCS. */
    void vmresume(GeneralRegisters guest);

    /** INVEPT type 1 (single context, for {@code eptp}) or 2 (all contexts). */
    void invept(int type, long eptp);

    /**
     * INVVPID (SDM Vol. 3C, 31.3) with the INVVPID descriptor {@code vpid} (bits 63:0: the VPID in bits 15:0,
     * bits 63:16 reserved) and {@code linearAddress} (bits 127:64): type 0 individual address, 1 single context,
     * 2 all contexts, 3 single context retaining globals, as IA32_VMX_EPT_VPID_CAP bits 40-43 allow.
     */
    void invvpid(int type, long vpid, long linearAddress);

    /**
     * Makes a guest that runs on this processor exit soon, as an IPI would: an EXTERNAL_INTERRUPT exit at the
     * next instruction boundary when external-interrupt exiting is on (otherwise the request stays pending until it
     * is). Safe from any thread; does nothing if no guest runs.
     */
    void kick();

    /** The exit reasons this processor can deliver to the VMM (all of them, for the software processor). */
    Set<ExitReason> deliverableExits();

    /**
     * The CPUID leaves a processor answers for its guests itself because it cannot deliver CPUID exits (KVM answers
     * CPUID in the kernel from a table it must have before the guest runs); empty for a processor that delivers
     * them (the software processor). The VMM asks its CPUID handlers about each and gives the answers to
     * {@link #setGuestCpuid} before the first VM entry.
     */
    default List<CpuidLeaf> guestCpuidLeaves() {
        return List.of();
    }

    /**
     * The VMM's CPUID answers for the leaves of {@link #guestCpuidLeaves}, used from the next VM entry on (a leaf
     * without an answer keeps the processor's own). Only before the first VM entry of the current VMCS.
     *
     * @throws UnsupportedOperationException for a processor that delivers CPUID exits
     */
    default void setGuestCpuid(Map<CpuidLeaf, CpuidResult> answers) {
        throw new UnsupportedOperationException(kind() + " processor delivers CPUID exits: no CPUID table to set");
    }

    /**
     * The memory access of the last exit if it was an EPT_VIOLATION the processor decoded (see {@link MmioAccess}),
     * otherwise null. The software processor leaves decoding to the VMM and returns null.
     */
    default MmioAccess pendingMmioAccess() {
        return null;
    }

    /**
     * Completes the pending MMIO read with {@code value} (its low {@code size} bytes): at the next VM entry the
     * processor finishes the instruction that read it (destination, RIP). For a pending write it only
     * acknowledges it.
     *
     * @throws IllegalStateException if no decoded MMIO access is pending
     */
    default void completeMmio(long value) {
        throw new IllegalStateException(kind() + " processor has no decoded MMIO access pending");
    }

    /** Guest instructions retired since this processor was opened, or -1 if the processor cannot count them. */
    long guestInstructionsRetired();

    /** Releases the processor and its memory. */
    @Override
    void close();
}
