package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/**
 * The C library functions the KVM API needs, bound by JNA's direct mapping (a JNI stub per method, no reflection per
 * call), because KVM_RUN and its neighbours are on the exit path. Pointers are passed as native addresses. Methods
 * that declare {@link LastErrorException} throw it with errno when the call returns -1.
 */
final class Libc {
    static final int O_RDWR = 2;
    static final int O_CLOEXEC = 0x80000;
    static final int PROT_READ = 1, PROT_WRITE = 2, PROT_EXEC = 4;
    static final int MAP_SHARED = 1, MAP_PRIVATE = 2, MAP_ANONYMOUS = 0x20, MAP_NORESERVE = 0x4000;
    static final long MAP_FAILED = -1L;
    static final int SIG_BLOCK = 0, SIG_UNBLOCK = 1;
    static final int EINTR = 4, EAGAIN = 11, ENOENT = 2, EACCES = 13, EPERM = 1, ENXIO = 6, EINVAL = 22,
            E2BIG = 7, EBUSY = 16, EFAULT = 14, ENOMEM = 12;
    static final int CLOCK_MONOTONIC = 1;
    static final int SIGEV_THREAD_ID = 4;

    static {
        Native.register(Platform.C_LIBRARY_NAME);
    }

    private Libc() {
    }

    static native int open(String path, int flags) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int ioctl(int fd, long request, long arg) throws LastErrorException;

    static native long mmap(long addr, long length, int prot, int flags, int fd, long offset) throws LastErrorException;

    static native int munmap(long addr, long length) throws LastErrorException;

    static native int mprotect(long addr, long length, int prot) throws LastErrorException;

    static native long pthread_self();

    static native int pthread_kill(long thread, int signal);

    static native int pthread_sigmask(int how, long set, long oldset);

    static native int sigaction(int signal, long action, long oldaction) throws LastErrorException;

    static native int __libc_current_sigrtmin();

    static native int gettid();

    static native int sigtimedwait(long set, long info, long timeout);

    static native int timer_create(int clock, long sigevent, long timerIdOut) throws LastErrorException;

    static native int timer_settime(long timerId, int flags, long newValue, long oldValue) throws LastErrorException;

    static native int timer_delete(long timerId) throws LastErrorException;

    static native String strerror(int errno);
}
