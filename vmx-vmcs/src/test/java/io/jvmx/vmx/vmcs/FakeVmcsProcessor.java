package io.jvmx.vmx.vmcs;

import io.jvmx.vmx.api.error.ProcessorFault;
import io.jvmx.vmx.api.error.VmInstructionError;
import io.jvmx.vmx.api.error.VmxInstructionException;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.memory.ByteBufferPhysicalMemory;
import io.jvmx.vmx.api.memory.PhysicalMemory;
import io.jvmx.vmx.api.spi.CpuidResult;
import io.jvmx.vmx.api.spi.GeneralRegisters;
import io.jvmx.vmx.api.spi.HostContext;
import io.jvmx.vmx.api.spi.VmxProcessor;
import io.jvmx.vmx.api.vmcs.VmcsField;
import io.jvmx.vmx.api.vmcs.VmcsFieldWidth;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A test double for the VMREAD/VMWRITE/RDMSR part of {@link VmxProcessor}, following SDM Vol. 3C 31.3 (VMREAD,
 * VMWRITE) and 31.4 (error numbers): VMfailInvalid without a current VMCS, error 12 for an unsupported component,
 * error 13 for VMWRITE to a VM-exit information field, the error number stored in the VM-instruction error field.
 * Guest execution is not part of these tests, so those methods refuse.
 */
final class FakeVmcsProcessor implements VmxProcessor {
    /** Every VMWRITE seen, as {encoding, value}. */
    final List<long[]> writes = new ArrayList<>();
    final Map<Integer, Long> msrs = new HashMap<>();
    final Set<VmcsField> supported = EnumSet.allOf(VmcsField.class);
    private final Map<Integer, Long> fields = new HashMap<>();
    private final PhysicalMemory memory = ByteBufferPhysicalMemory.allocate(4 * PhysicalMemory.PAGE_SIZE);
    private long current = -1;

    FakeVmcsProcessor() {
        current = 0x1000;
    }

    void noCurrentVmcs() {
        current = -1;
    }

    /** Stores a raw value in a field without VMWRITE's checks (as a back end with a dirty shadow might). */
    void poke(VmcsField field, long raw) {
        fields.put(field.encoding(), raw);
    }

    long peek(VmcsField field) {
        return fields.getOrDefault(field.encoding(), 0L);
    }

    @Override
    public long vmread(int encoding) {
        VmcsField f = component("VMREAD", encoding);
        long full = fields.getOrDefault(f.encoding(), 0L);
        return (encoding & 1) == 1 ? full >>> 32 : full;
    }

    @Override
    public void vmwrite(int encoding, long value) {
        VmcsField f = component("VMWRITE", encoding);
        if (f.isReadOnly()) {
            throw fail("VMWRITE", VmInstructionError.VMWRITE_READ_ONLY_COMPONENT);
        }
        writes.add(new long[] {encoding, value});
        long old = fields.getOrDefault(f.encoding(), 0L);
        if ((encoding & 1) == 1) {
            fields.put(f.encoding(), (old & 0xFFFF_FFFFL) | (value << 32));
        } else {
            // SDM 31.3: the high bits of the source beyond the field's width are ignored.
            fields.put(f.encoding(), value & f.width().mask());
        }
    }

    private VmcsField component(String instruction, int encoding) {
        if (current == -1) {
            throw VmxInstructionException.failInvalid(instruction, "no current VMCS");
        }
        VmcsField f = VmcsField.byEncoding(encoding & ~1).orElse(null);
        boolean high = (encoding & 1) == 1;
        if (f == null || !supported.contains(f) || (high && f.width() != VmcsFieldWidth.BITS_64)) {
            throw fail(instruction, VmInstructionError.UNSUPPORTED_VMCS_COMPONENT);
        }
        return f;
    }

    private VmxInstructionException fail(String instruction, VmInstructionError error) {
        fields.put(VmcsField.VM_INSTRUCTION_ERROR.encoding(), (long) error.number());
        return VmxInstructionException.failValid(instruction, error);
    }

    @Override
    public long rdmsr(int msr) {
        Long v = msrs.get(msr);
        if (v == null) {
            throw ProcessorFault.gp(String.format("RDMSR of unimplemented MSR %#x", msr));
        }
        return v;
    }

    @Override
    public long vmptrst() {
        return current;
    }

    @Override public String kind() { return "test"; }
    @Override public PhysicalMemory memory() { return memory; }
    @Override public CpuidResult cpuid(int leaf, int subleaf) { return CpuidResult.ZERO; }
    @Override public void wrmsr(int msr, long value) { msrs.put(msr, value); }
    @Override public long readCr(int cr) { throw refuse(); }
    @Override public void writeCr(int cr, long value) { throw refuse(); }
    @Override public long readDr(int dr) { throw refuse(); }
    @Override public long xgetbv(int xcr) { throw refuse(); }
    @Override public void xsetbv(int xcr, long value) { throw refuse(); }
    @Override public HostContext hostContext() { throw refuse(); }
    @Override public void vmxon(long vmxonRegion) { throw refuse(); }
    @Override public void vmxoff() { throw refuse(); }
    @Override public void vmclear(long vmcs) { throw refuse(); }
    @Override public void vmptrld(long vmcs) { current = vmcs; }
    @Override public void vmlaunch(GeneralRegisters guest) { throw refuse(); }
    @Override public void vmresume(GeneralRegisters guest) { throw refuse(); }
    @Override public void invept(int type, long eptp) { throw refuse(); }
    @Override public void invvpid(int type, long vpid, long linearAddress) { throw refuse(); }
    @Override public void kick() { }
    @Override public Set<ExitReason> deliverableExits() { return EnumSet.noneOf(ExitReason.class); }
    @Override public long guestInstructionsRetired() { return -1; }
    @Override public void close() { }

    private static UnsupportedOperationException refuse() {
        return new UnsupportedOperationException("not used by the VMCS-access tests");
    }
}
