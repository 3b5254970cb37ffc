package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * The KVM subsystem: an open {@code /dev/kvm} (the "system" file descriptor of the KVM API). Checks the API version
 * and answers capability and CPUID questions; makes VMs. Close it when done: it is one file descriptor.
 */
public final class Kvm implements AutoCloseable {
    public static final String DEVICE = "/dev/kvm";

    private final int fd;
    private final int runMmapSize;
    private boolean closed;

    private Kvm(int fd, String device) {
        this.fd = fd;
        int size;
        try {
            int version = Libc.ioctl(fd, KvmAbi.KVM_GET_API_VERSION, 0);
            if (version != KvmAbi.API_VERSION) {
                throw new KvmException(device + " speaks KVM API version " + version + "; jvmx needs "
                        + KvmAbi.API_VERSION, 0);
            }
            size = Libc.ioctl(fd, KvmAbi.KVM_GET_VCPU_MMAP_SIZE, 0);
        } catch (LastErrorException e) {
            closeQuietly(fd);
            throw KvmException.of("KVM_GET_API_VERSION on " + device, e.getErrorCode());
        } catch (RuntimeException e) {
            closeQuietly(fd);
            throw e;
        }
        this.runMmapSize = size;
    }

    /**
     * Opens {@value #DEVICE}.
     *
     * @throws KvmException with one line: missing device, no permission, wrong API version
     */
    public static Kvm open() {
        return open(DEVICE);
    }

    /** {@link #open()} of another device node (tests of the error messages). */
    static Kvm open(String device) {
        int fd;
        try {
            fd = Libc.open(device, Libc.O_RDWR | Libc.O_CLOEXEC);
        } catch (LastErrorException e) {
            int errno = e.getErrorCode();
            String why = switch (errno) {
                case Libc.ENOENT -> device + " does not exist (no KVM in this kernel, or the kvm modules are not loaded)";
                case Libc.EACCES, Libc.EPERM -> "no permission to open " + device + " (run as root or join the kvm group)";
                default -> null;
            };
            if (why != null) {
                throw new KvmException("opening " + device + " failed: " + why, errno);
            }
            throw KvmException.of("opening " + device, errno);
        } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
            throw new KvmException("opening " + device + " failed: JNA cannot reach the C library here (" + e + ")", 0);
        }
        return new Kvm(fd, device);
    }

    int fd() {
        return fd;
    }

    int runMmapSize() {
        return runMmapSize;
    }

    /** KVM_CHECK_EXTENSION: 0 if the capability is missing, otherwise its value (often 1). */
    public int checkExtension(int capability) {
        try {
            return Libc.ioctl(fd, KvmAbi.KVM_CHECK_EXTENSION, capability);
        } catch (LastErrorException e) {
            return 0;
        }
    }

    /**
     * KVM_GET_SUPPORTED_CPUID: what KVM can show a guest. Returns the raw entries (kvm_cpuid_entry2 each) and their
     * number.
     */
    public CpuidTable supportedCpuid() {
        for (int n = 64; ; n *= 2) {
            Memory m = new Memory(KvmAbi.Cpuid2.HEADER + (long) n * KvmAbi.Cpuid2.ENTRY_SIZE);
            m.clear();
            m.setInt(KvmAbi.Cpuid2.NENT, n);
            try {
                Libc.ioctl(fd, KvmAbi.KVM_GET_SUPPORTED_CPUID, Pointer.nativeValue(m));
                return CpuidTable.read(m);
            } catch (LastErrorException e) {
                if (e.getErrorCode() != Libc.E2BIG || n > 4096) {
                    throw KvmException.of("KVM_GET_SUPPORTED_CPUID", e.getErrorCode());
                }
            }
        }
    }

    /** KVM_CREATE_VM. */
    public KvmVm createVm() {
        int vm;
        try {
            vm = Libc.ioctl(fd, KvmAbi.KVM_CREATE_VM, 0);
        } catch (LastErrorException e) {
            throw KvmException.of("KVM_CREATE_VM", e.getErrorCode());
        }
        return new KvmVm(this, vm);
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            closeQuietly(fd);
        }
    }

    static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (LastErrorException ignored) {
            // nothing left to do with a descriptor that does not close
        }
    }
}
