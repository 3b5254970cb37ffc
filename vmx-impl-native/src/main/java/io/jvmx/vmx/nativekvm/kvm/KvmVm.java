package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

import java.util.ArrayList;
import java.util.List;

/**
 * A KVM virtual machine (the VM file descriptor): guest-physical memory slots, the MSR filter, and its vCPUs.
 * {@link #close} closes the vCPUs it made and then the VM descriptor; the memory behind the slots belongs to the
 * caller.
 */
public final class KvmVm implements AutoCloseable {
    private final Kvm kvm;
    private final int fd;
    private final List<KvmVcpu> vcpus = new ArrayList<>();
    private final Memory region = new Memory(KvmAbi.MemoryRegion.SIZE);
    private boolean closed;

    KvmVm(Kvm kvm, int fd) {
        this.kvm = kvm;
        this.fd = fd;
    }

    public Kvm kvm() {
        return kvm;
    }

    /**
     * KVM_SET_USER_MEMORY_REGION: maps {@code size} bytes of this process at {@code hostAddress} to guest-physical
     * {@code gpa} in slot {@code slot}; a size of 0 deletes the slot.
     */
    public void setMemoryRegion(int slot, long gpa, long size, long hostAddress, boolean readOnly) {
        region.setInt(KvmAbi.MemoryRegion.SLOT, slot);
        region.setInt(KvmAbi.MemoryRegion.FLAGS, readOnly && size != 0 ? KvmAbi.KVM_MEM_READONLY : 0);
        region.setLong(KvmAbi.MemoryRegion.GUEST_PHYS_ADDR, gpa);
        region.setLong(KvmAbi.MemoryRegion.MEMORY_SIZE, size);
        region.setLong(KvmAbi.MemoryRegion.USERSPACE_ADDR, size == 0 ? 0 : hostAddress);
        try {
            Libc.ioctl(fd, KvmAbi.KVM_SET_USER_MEMORY_REGION, Pointer.nativeValue(region));
        } catch (LastErrorException e) {
            throw KvmException.of(String.format("KVM_SET_USER_MEMORY_REGION slot %d (guest-physical %#x, %d bytes%s)",
                    slot, gpa, size, readOnly ? ", read-only" : ""), e.getErrorCode());
        }
    }

    /** KVM_SET_TSS_ADDR: three pages of guest-physical space KVM may use for real mode on Intel hosts. */
    public void setTssAddress(long gpa) {
        try {
            Libc.ioctl(fd, KvmAbi.KVM_SET_TSS_ADDR, gpa);
        } catch (LastErrorException e) {
            throw KvmException.of(String.format("KVM_SET_TSS_ADDR %#x", gpa), e.getErrorCode());
        }
    }

    /** KVM_ENABLE_CAP on the VM with one argument. */
    public void enableCap(int capability, long arg0) {
        Memory m = new Memory(KvmAbi.EnableCap.SIZE);
        m.clear();
        m.setInt(KvmAbi.EnableCap.CAP, capability);
        m.setLong(KvmAbi.EnableCap.ARGS, arg0);
        try {
            Libc.ioctl(fd, KvmAbi.KVM_ENABLE_CAP, Pointer.nativeValue(m));
        } catch (LastErrorException e) {
            throw KvmException.of("KVM_ENABLE_CAP " + capability, e.getErrorCode());
        } finally {
            java.lang.ref.Reference.reachabilityFence(m); // not freed by GC while the call runs
        }
    }

    /**
     * KVM_X86_SET_MSR_FILTER with default deny: an MSR access is left to KVM only where a range allows it (bit set);
     * everything else exits to user space (with KVM_CAP_X86_USER_SPACE_MSR's filter reason enabled).
     *
     * @param ranges each {@code {flags (KVM_MSR_FILTER_READ/WRITE), base, nmsrs}} with its bitmap (1 = allowed)
     */
    public void setMsrFilter(List<MsrRange> ranges) {
        if (ranges.size() > KvmAbi.MsrFilter.MAX_RANGES) {
            throw new IllegalArgumentException("at most " + KvmAbi.MsrFilter.MAX_RANGES + " MSR filter ranges");
        }
        long bytes = 0;
        for (MsrRange r : ranges) {
            bytes += r.bitmap().length;
        }
        Memory bitmaps = new Memory(Math.max(8, bytes));
        Memory filter = new Memory(KvmAbi.MsrFilter.SIZE);
        filter.clear();
        filter.setInt(KvmAbi.MsrFilter.FLAGS, KvmAbi.KVM_MSR_FILTER_DEFAULT_DENY);
        long at = 0;
        for (int i = 0; i < ranges.size(); i++) {
            MsrRange r = ranges.get(i);
            long e = KvmAbi.MsrFilter.RANGES + (long) i * KvmAbi.MsrFilter.RANGE_SIZE;
            bitmaps.write(at, r.bitmap(), 0, r.bitmap().length);
            filter.setInt(e + KvmAbi.MsrFilter.RANGE_FLAGS, r.flags());
            filter.setInt(e + KvmAbi.MsrFilter.RANGE_NMSRS, r.bitmap().length * 8);
            filter.setInt(e + KvmAbi.MsrFilter.RANGE_BASE, r.base());
            filter.setLong(e + KvmAbi.MsrFilter.RANGE_BITMAP, Pointer.nativeValue(bitmaps) + at);
            at += r.bitmap().length;
        }
        try {
            // KVM copies the bitmaps during the call: they need not outlive it
            Libc.ioctl(fd, KvmAbi.KVM_X86_SET_MSR_FILTER, Pointer.nativeValue(filter));
        } catch (LastErrorException e) {
            throw KvmException.of("KVM_X86_SET_MSR_FILTER", e.getErrorCode());
        } finally {
            // the native memory must not be freed (by GC) while the call runs
            java.lang.ref.Reference.reachabilityFence(bitmaps);
            java.lang.ref.Reference.reachabilityFence(filter);
        }
    }

    /** One range of an MSR filter: MSRs {@code base} ... {@code base + 8 * bitmap.length - 1}. */
    public record MsrRange(int flags, int base, byte[] bitmap) {
    }

    /** KVM_CREATE_VCPU with its kvm_run mapped. */
    public KvmVcpu createVcpu(int id) {
        int vcpuFd;
        try {
            vcpuFd = Libc.ioctl(fd, KvmAbi.KVM_CREATE_VCPU, id);
        } catch (LastErrorException e) {
            throw KvmException.of("KVM_CREATE_VCPU " + id, e.getErrorCode());
        }
        KvmVcpu v = new KvmVcpu(this, vcpuFd, kvm.runMmapSize());
        vcpus.add(v);
        return v;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (KvmVcpu v : vcpus) {
            v.close();
        }
        vcpus.clear();
        Kvm.closeQuietly(fd);
    }
}
