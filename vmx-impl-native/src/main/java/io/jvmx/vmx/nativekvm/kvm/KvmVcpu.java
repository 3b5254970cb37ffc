package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * A KVM vCPU: its file descriptor and its {@code struct kvm_run}, mapped once and read and written in place
 * ({@link #run()} is a direct buffer over the mapping). The registers, segment registers and events travel in
 * kvm_run's synchronized-register area (KVM_CAP_SYNC_REGS), so an exit costs one ioctl: KVM_RUN.
 */
public final class KvmVcpu implements AutoCloseable {
    private final KvmVm vm;
    private final int fd;
    private final long runAddress;
    private final long runSize;
    private final ByteBuffer run;
    private final Memory scratch = new Memory(512);
    private boolean closed;

    KvmVcpu(KvmVm vm, int fd, int runSize) {
        this.vm = vm;
        this.fd = fd;
        long addr;
        try {
            addr = Libc.mmap(0, runSize, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        } catch (LastErrorException e) {
            Kvm.closeQuietly(fd);
            throw KvmException.of("mmap of kvm_run (" + runSize + " bytes)", e.getErrorCode());
        }
        this.runAddress = addr;
        this.runSize = runSize;
        this.run = new Pointer(addr).getByteBuffer(0, runSize).order(ByteOrder.LITTLE_ENDIAN);
    }

    public KvmVm vm() {
        return vm;
    }

    /** The mapped {@code struct kvm_run} (offsets: {@link KvmAbi.Run}). */
    public ByteBuffer run() {
        return run;
    }

    /**
     * KVM_RUN. Returns the exit reason; a signal or {@code immediate_exit} gives {@link KvmAbi#KVM_EXIT_INTR}.
     *
     * @throws KvmException for any other failure (the message names the call and errno)
     */
    public int enter() {
        try {
            Libc.ioctl(fd, KvmAbi.KVM_RUN, 0);
        } catch (LastErrorException e) {
            if (e.getErrorCode() == Libc.EINTR || e.getErrorCode() == Libc.EAGAIN) {
                return KvmAbi.KVM_EXIT_INTR;
            }
            throw KvmException.of("KVM_RUN", e.getErrorCode());
        }
        return run.getInt(KvmAbi.Run.EXIT_REASON);
    }

    /** KVM_SET_CPUID2. */
    public void setCpuid(CpuidTable table) {
        Memory m = table.toNative();
        ioctl(KvmAbi.KVM_SET_CPUID2, Pointer.nativeValue(m), "KVM_SET_CPUID2 (" + table.entries().size() + " entries)");
        java.lang.ref.Reference.reachabilityFence(m); // not freed by GC while the call runs
    }

    /** KVM_INTERRUPT: an external interrupt for the next entry (only without an in-kernel irqchip). */
    public void interrupt(int vector) {
        scratch.setInt(0, vector);
        ioctl(KvmAbi.KVM_INTERRUPT, Pointer.nativeValue(scratch), "KVM_INTERRUPT vector " + vector);
    }

    /** KVM_SET_GUEST_DEBUG with {@code control} (KVM_GUESTDBG_*) and no debug registers. */
    public void setGuestDebug(int control) {
        scratch.clear(KvmAbi.GuestDebug.SIZE);
        scratch.setInt(KvmAbi.GuestDebug.CONTROL, control);
        ioctl(KvmAbi.KVM_SET_GUEST_DEBUG, Pointer.nativeValue(scratch), "KVM_SET_GUEST_DEBUG " + control);
    }

    /** KVM_SET_MSRS of one MSR; false if KVM refused it (the guest would see #GP on a WRMSR of that value). */
    public boolean setMsr(int index, long value) {
        scratch.clear(KvmAbi.Msrs.HEADER + KvmAbi.Msrs.ENTRY_SIZE);
        scratch.setInt(KvmAbi.Msrs.NMSRS, 1);
        scratch.setInt(KvmAbi.Msrs.HEADER + KvmAbi.Msrs.ENTRY_INDEX, index);
        scratch.setLong(KvmAbi.Msrs.HEADER + KvmAbi.Msrs.ENTRY_DATA, value);
        return ioctl(KvmAbi.KVM_SET_MSRS, Pointer.nativeValue(scratch), "KVM_SET_MSRS") == 1;
    }

    /** KVM_GET_MSRS of one MSR, or null if KVM does not have it. */
    public Long getMsr(int index) {
        scratch.clear(KvmAbi.Msrs.HEADER + KvmAbi.Msrs.ENTRY_SIZE);
        scratch.setInt(KvmAbi.Msrs.NMSRS, 1);
        scratch.setInt(KvmAbi.Msrs.HEADER + KvmAbi.Msrs.ENTRY_INDEX, index);
        if (ioctl(KvmAbi.KVM_GET_MSRS, Pointer.nativeValue(scratch), "KVM_GET_MSRS") != 1) {
            return null;
        }
        return scratch.getLong(KvmAbi.Msrs.HEADER + KvmAbi.Msrs.ENTRY_DATA);
    }

    /** KVM_GET_DEBUGREGS: DR0-DR3 ({@code dr} 0-3) or DR6 (6) as the guest has them. */
    public long debugRegister(int dr) {
        scratch.clear(KvmAbi.DebugRegs.SIZE);
        ioctl(KvmAbi.KVM_GET_DEBUGREGS, Pointer.nativeValue(scratch), "KVM_GET_DEBUGREGS");
        return scratch.getLong(dr == 6 ? KvmAbi.DebugRegs.DR6 : KvmAbi.DebugRegs.DB + 8L * dr);
    }

    /** KVM_SET_XCRS of XCR0. */
    public void setXcr0(long value) {
        scratch.clear(KvmAbi.Xcrs.SIZE);
        scratch.setInt(KvmAbi.Xcrs.NR_XCRS, 1);
        scratch.setInt(KvmAbi.Xcrs.XCRS + KvmAbi.Xcrs.XCR_XCR, 0);
        scratch.setLong(KvmAbi.Xcrs.XCRS + KvmAbi.Xcrs.XCR_VALUE, value);
        ioctl(KvmAbi.KVM_SET_XCRS, Pointer.nativeValue(scratch), String.format("KVM_SET_XCRS XCR0=%#x", value));
    }

    /** KVM_GET_TSC_KHZ: the guest's TSC frequency. */
    public long tscKhz() {
        return ioctl(KvmAbi.KVM_GET_TSC_KHZ, 0, "KVM_GET_TSC_KHZ");
    }

    /** KVM_SET_SIGNAL_MASK: the signal mask while in KVM_RUN (the kernel's 8-byte sigset). */
    public void setSignalMask(long mask) {
        scratch.setInt(0, 8);
        scratch.setLong(4, mask);
        ioctl(KvmAbi.KVM_SET_SIGNAL_MASK, Pointer.nativeValue(scratch), "KVM_SET_SIGNAL_MASK");
    }

    /** KVM_SET_REGS / KVM_SET_SREGS / KVM_SET_VCPU_EVENTS from the synchronized-register area of kvm_run. */
    public void setRegsFromRun(int which) {
        if ((which & KvmAbi.KVM_SYNC_X86_REGS) != 0) {
            ioctl(KvmAbi.KVM_SET_REGS, runAddress + KvmAbi.Run.SYNC_REGS, "KVM_SET_REGS");
        }
        if ((which & KvmAbi.KVM_SYNC_X86_SREGS) != 0) {
            ioctl(KvmAbi.KVM_SET_SREGS, runAddress + KvmAbi.Run.SYNC_SREGS, "KVM_SET_SREGS");
        }
        if ((which & KvmAbi.KVM_SYNC_X86_EVENTS) != 0) {
            ioctl(KvmAbi.KVM_SET_VCPU_EVENTS, runAddress + KvmAbi.Run.SYNC_EVENTS, "KVM_SET_VCPU_EVENTS");
        }
    }

    /** KVM_GET_REGS / KVM_GET_SREGS / KVM_GET_VCPU_EVENTS into the synchronized-register area of kvm_run. */
    public void getRegsIntoRun(int which) {
        if ((which & KvmAbi.KVM_SYNC_X86_REGS) != 0) {
            ioctl(KvmAbi.KVM_GET_REGS, runAddress + KvmAbi.Run.SYNC_REGS, "KVM_GET_REGS");
        }
        if ((which & KvmAbi.KVM_SYNC_X86_SREGS) != 0) {
            ioctl(KvmAbi.KVM_GET_SREGS, runAddress + KvmAbi.Run.SYNC_SREGS, "KVM_GET_SREGS");
        }
        if ((which & KvmAbi.KVM_SYNC_X86_EVENTS) != 0) {
            ioctl(KvmAbi.KVM_GET_VCPU_EVENTS, runAddress + KvmAbi.Run.SYNC_EVENTS, "KVM_GET_VCPU_EVENTS");
        }
    }

    private int ioctl(long request, long arg, String what) {
        try {
            return Libc.ioctl(fd, request, arg);
        } catch (LastErrorException e) {
            throw KvmException.of(what, e.getErrorCode());
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Libc.munmap(runAddress, runSize);
        } catch (LastErrorException ignored) {
            // the mapping goes with the process at the latest
        }
        Kvm.closeQuietly(fd);
    }
}
