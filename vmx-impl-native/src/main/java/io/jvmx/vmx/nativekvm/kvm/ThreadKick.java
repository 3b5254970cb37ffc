package io.jvmx.vmx.nativekvm.kvm;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Pointer;

/**
 * Getting a thread out of KVM_RUN: a real-time signal sent to it, by another thread ({@link #kick}) or by a POSIX
 * timer ({@link #armTimer}). The signal's handler does nothing (one {@code ret} instruction); what matters is that
 * KVM_RUN returns EINTR. The driving thread blocks the signal outside KVM_RUN and KVM unblocks it inside
 * (KVM_SET_SIGNAL_MASK), so a signal sent while the thread is in Java stays pending until the next KVM_RUN, which then
 * returns at once: no kick is lost between the decision to enter and the entry.
 *
 * <p>One instance serves one vCPU and the thread that drives it ({@link #bindCurrentThread}).
 */
public final class ThreadKick implements AutoCloseable {
    private static final int SIGSET_BYTES = 128; // glibc's sigset_t
    private static final int SIGACTION_BYTES = 152; // glibc's struct sigaction on x86-64
    private static final int SIGEVENT_BYTES = 64;
    private static final Object INSTALL = new Object();
    private static int signal; // 0 until installed

    private final Memory set = new Memory(SIGSET_BYTES);
    private final Memory timerId = new Memory(8);
    private final Memory spec = new Memory(32);
    private final Memory zero = new Memory(16);
    private volatile long thread; // pthread_t of the bound thread, 0 if none
    private int tid;
    private boolean timerCreated;
    private boolean closed;

    /** The signal, installed on first use (SIGRTMIN + 3; glibc keeps SIGRTMIN itself, the JVM uses none of these). */
    public static int signal() {
        synchronized (INSTALL) {
            if (signal == 0) {
                int sig = Libc.__libc_current_sigrtmin() + 3;
                long page;
                try {
                    page = Libc.mmap(0, 4096, Libc.PROT_READ | Libc.PROT_WRITE,
                            Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0);
                } catch (LastErrorException e) {
                    throw KvmException.of("mmap of the kick signal's handler", e.getErrorCode());
                }
                new Pointer(page).setByte(0, (byte) 0xC3); // ret: the handler that does nothing
                Memory action = new Memory(SIGACTION_BYTES);
                action.clear();
                action.setLong(0, page); // sa_handler; sa_mask empty; sa_flags 0: KVM_RUN is not restarted
                try {
                    mprotectExec(page);
                    Libc.sigaction(sig, Pointer.nativeValue(action), 0);
                } catch (LastErrorException e) {
                    throw KvmException.of("sigaction for the kick signal " + sig, e.getErrorCode());
                } finally {
                    java.lang.ref.Reference.reachabilityFence(action); // not freed by GC while the call runs
                }
                signal = sig;
            }
            return signal;
        }
    }

    private static void mprotectExec(long page) {
        // read + execute from now on: the page was written while writable
        Libc.mprotect(page, 4096, Libc.PROT_READ | Libc.PROT_EXEC);
    }

    /**
     * Makes the calling thread the one that runs the vCPU: blocks the signal in it and returns the signal mask KVM
     * is to use during KVM_RUN (the thread's own, with the signal unblocked), as the kernel's 8-byte sigset.
     */
    public long bindCurrentThread() {
        int sig = signal();
        set.clear();
        setBit(set, sig);
        Memory old = new Memory(SIGSET_BYTES);
        old.clear();
        int rc = Libc.pthread_sigmask(Libc.SIG_BLOCK, Pointer.nativeValue(set), Pointer.nativeValue(old));
        if (rc != 0) {
            throw KvmException.of("pthread_sigmask", rc);
        }
        tid = Libc.gettid();
        thread = Libc.pthread_self();
        return old.getLong(0) & ~(1L << (sig - 1));
    }

    /** Whether the calling thread is the bound one. */
    public boolean isBoundToCurrentThread() {
        return thread != 0 && thread == Libc.pthread_self();
    }

    /** Sends the signal to the bound thread (from any thread); false if no thread is bound. */
    public synchronized boolean kick() {
        long t = thread;
        if (t == 0 || closed) {
            return false;
        }
        return Libc.pthread_kill(t, signal) == 0;
    }

    /**
     * Takes the signal if it is pending for the bound thread (call on that thread after KVM_RUN returned EINTR): the
     * thread blocks it outside KVM_RUN, so a signal that ended KVM_RUN, or came after, would otherwise stay pending
     * and end every later KVM_RUN at once.
     */
    public void drain() {
        set.clear();
        setBit(set, signal);
        zero.clear();
        while (Libc.sigtimedwait(Pointer.nativeValue(set), 0, Pointer.nativeValue(zero)) > 0) {
            // one pending instance taken; real-time signals queue, so take them all
        }
    }

    /**
     * Arms a one-shot timer that sends the signal to the bound thread after {@code nanos} (0 disarms). Replaces an
     * earlier one.
     */
    public void armTimer(long nanos) {
        if (!timerCreated) {
            if (nanos == 0) {
                return;
            }
            Memory ev = new Memory(SIGEVENT_BYTES);
            ev.clear();
            ev.setInt(8, signal()); // sigev_signo
            ev.setInt(12, Libc.SIGEV_THREAD_ID); // sigev_notify
            ev.setInt(16, tid); // _sigev_un._tid
            try {
                Libc.timer_create(Libc.CLOCK_MONOTONIC, Pointer.nativeValue(ev), Pointer.nativeValue(timerId));
            } catch (LastErrorException e) {
                throw KvmException.of("timer_create for the time slice", e.getErrorCode());
            } finally {
                java.lang.ref.Reference.reachabilityFence(ev);
            }
            timerCreated = true;
        }
        spec.clear();
        spec.setLong(16, nanos / 1_000_000_000L); // it_value.tv_sec (it_interval 0: one-shot)
        spec.setLong(24, nanos % 1_000_000_000L);
        try {
            Libc.timer_settime(timerId.getLong(0), 0, Pointer.nativeValue(spec), 0);
        } catch (LastErrorException e) {
            throw KvmException.of("timer_settime for the time slice", e.getErrorCode());
        }
    }

    /** Deletes the timer and, if called on the bound thread, unblocks the signal there again. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (timerCreated) {
            try {
                Libc.timer_delete(timerId.getLong(0));
            } catch (LastErrorException ignored) {
                // nothing more to release
            }
            timerCreated = false;
        }
        if (thread != 0 && thread == Libc.pthread_self()) {
            set.clear();
            setBit(set, signal);
            Libc.pthread_sigmask(Libc.SIG_UNBLOCK, Pointer.nativeValue(set), 0); // a pending kick lands, harmlessly
        }
        thread = 0;
    }

    private static void setBit(Memory sigset, int sig) {
        int bit = sig - 1;
        long word = sigset.getLong((bit / 64) * 8L);
        sigset.setLong((bit / 64) * 8L, word | (1L << (bit % 64)));
    }
}
