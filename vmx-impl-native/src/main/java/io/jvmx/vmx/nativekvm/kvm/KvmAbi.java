package io.jvmx.vmx.nativekvm.kvm;

/**
 * The x86-64 binary interface of {@code <linux/kvm.h>} (and {@code <asm/kvm.h>}) as jvmx uses it: ioctl numbers,
 * exit reasons, capabilities, and the byte offsets of the structures it reads and writes in place. KvmAbiTest
 * compares every number here with the kernel headers where they are installed.
 */
public final class KvmAbi {
    private KvmAbi() {
    }

    // ---- ioctl numbers: _IOC(dir, 0xAE, nr, size) = dir << 30 | size << 16 | 0xAE << 8 | nr ---------------------------
    private static final int NONE = 0, WRITE = 1, READ = 2;

    static long ioc(int dir, int nr, int size) {
        return ((long) dir << 30) | ((long) size << 16) | (0xAEL << 8) | nr;
    }

    public static final long KVM_GET_API_VERSION = ioc(NONE, 0x00, 0);
    public static final long KVM_CREATE_VM = ioc(NONE, 0x01, 0);
    public static final long KVM_CHECK_EXTENSION = ioc(NONE, 0x03, 0);
    public static final long KVM_GET_VCPU_MMAP_SIZE = ioc(NONE, 0x04, 0);
    public static final long KVM_GET_SUPPORTED_CPUID = ioc(READ | WRITE, 0x05, Cpuid2.HEADER);
    public static final long KVM_CREATE_VCPU = ioc(NONE, 0x41, 0);
    public static final long KVM_SET_USER_MEMORY_REGION = ioc(WRITE, 0x46, MemoryRegion.SIZE);
    public static final long KVM_SET_TSS_ADDR = ioc(NONE, 0x47, 0);
    public static final long KVM_RUN = ioc(NONE, 0x80, 0);
    public static final long KVM_GET_REGS = ioc(READ, 0x81, Regs.SIZE);
    public static final long KVM_SET_REGS = ioc(WRITE, 0x82, Regs.SIZE);
    public static final long KVM_GET_SREGS = ioc(READ, 0x83, Sregs.SIZE);
    public static final long KVM_SET_SREGS = ioc(WRITE, 0x84, Sregs.SIZE);
    public static final long KVM_TRANSLATE = ioc(READ | WRITE, 0x85, 24);
    public static final long KVM_INTERRUPT = ioc(WRITE, 0x86, 4);
    public static final long KVM_GET_MSRS = ioc(READ | WRITE, 0x88, Msrs.HEADER);
    public static final long KVM_SET_MSRS = ioc(WRITE, 0x89, Msrs.HEADER);
    public static final long KVM_SET_SIGNAL_MASK = ioc(WRITE, 0x8B, 4);
    public static final long KVM_SET_CPUID2 = ioc(WRITE, 0x90, Cpuid2.HEADER);
    public static final long KVM_SET_GUEST_DEBUG = ioc(WRITE, 0x9B, GuestDebug.SIZE);
    public static final long KVM_GET_VCPU_EVENTS = ioc(READ, 0x9F, Events.SIZE);
    public static final long KVM_SET_VCPU_EVENTS = ioc(WRITE, 0xA0, Events.SIZE);
    public static final long KVM_GET_DEBUGREGS = ioc(READ, 0xA1, DebugRegs.SIZE);
    public static final long KVM_ENABLE_CAP = ioc(WRITE, 0xA3, EnableCap.SIZE);
    public static final long KVM_GET_TSC_KHZ = ioc(NONE, 0xA3, 0);
    public static final long KVM_GET_XCRS = ioc(READ, 0xA6, Xcrs.SIZE);
    public static final long KVM_SET_XCRS = ioc(WRITE, 0xA7, Xcrs.SIZE);
    public static final long KVM_X86_SET_MSR_FILTER = ioc(WRITE, 0xC6, MsrFilter.SIZE);

    public static final int API_VERSION = 12;

    // ---- exit reasons (kvm_run.exit_reason) -----------------------------------------------------------------------
    public static final int KVM_EXIT_UNKNOWN = 0, KVM_EXIT_EXCEPTION = 1, KVM_EXIT_IO = 2, KVM_EXIT_HYPERCALL = 3,
            KVM_EXIT_DEBUG = 4, KVM_EXIT_HLT = 5, KVM_EXIT_MMIO = 6, KVM_EXIT_IRQ_WINDOW_OPEN = 7,
            KVM_EXIT_SHUTDOWN = 8, KVM_EXIT_FAIL_ENTRY = 9, KVM_EXIT_INTR = 10, KVM_EXIT_INTERNAL_ERROR = 17,
            KVM_EXIT_SYSTEM_EVENT = 24, KVM_EXIT_X86_RDMSR = 29, KVM_EXIT_X86_WRMSR = 30;
    public static final int KVM_EXIT_IO_IN = 0, KVM_EXIT_IO_OUT = 1;
    public static final int KVM_INTERNAL_ERROR_EMULATION = 1;
    public static final long KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES = 1;

    // ---- capabilities (KVM_CHECK_EXTENSION) -----------------------------------------------------------------------
    public static final int KVM_CAP_IRQCHIP = 0, KVM_CAP_HLT = 1, KVM_CAP_USER_MEMORY = 3, KVM_CAP_SET_TSS_ADDR = 4,
            KVM_CAP_EXT_CPUID = 7, KVM_CAP_NR_MEMSLOTS = 10, KVM_CAP_SET_GUEST_DEBUG = 23, KVM_CAP_VCPU_EVENTS = 41,
            KVM_CAP_XCRS = 56, KVM_CAP_GET_TSC_KHZ = 61, KVM_CAP_SYNC_REGS = 74, KVM_CAP_IMMEDIATE_EXIT = 136,
            KVM_CAP_X86_USER_SPACE_MSR = 188, KVM_CAP_X86_MSR_FILTER = 189,
            KVM_CAP_EXIT_ON_EMULATION_FAILURE = 204;

    public static final long KVM_MSR_EXIT_REASON_INVAL = 1, KVM_MSR_EXIT_REASON_UNKNOWN = 2,
            KVM_MSR_EXIT_REASON_FILTER = 4;
    public static final int KVM_MSR_FILTER_DEFAULT_DENY = 1;
    public static final int KVM_MSR_FILTER_READ = 1, KVM_MSR_FILTER_WRITE = 2;
    public static final int KVM_SYNC_X86_REGS = 1, KVM_SYNC_X86_SREGS = 2, KVM_SYNC_X86_EVENTS = 4;
    public static final int KVM_VCPUEVENT_VALID_NMI_PENDING = 1, KVM_VCPUEVENT_VALID_SHADOW = 4;
    public static final int KVM_X86_SHADOW_INT_MOV_SS = 1, KVM_X86_SHADOW_INT_STI = 2;
    public static final int KVM_GUESTDBG_ENABLE = 1, KVM_GUESTDBG_SINGLESTEP = 2;
    public static final int KVM_MEM_READONLY = 2;
    public static final int KVM_CPUID_FLAG_SIGNIFCANT_INDEX = 1;

    /** struct kvm_run: the header, the exit union at 32, the synchronized registers at 304. */
    public static final class Run {
        private Run() {
        }

        public static final int REQUEST_INTERRUPT_WINDOW = 0, IMMEDIATE_EXIT = 1, EXIT_REASON = 8,
                READY_FOR_INTERRUPT_INJECTION = 12, IF_FLAG = 13, FLAGS = 14, CR8 = 16, APIC_BASE = 24;
        /** The exit union. */
        public static final int EXIT = 32;
        public static final int IO_DIRECTION = 32, IO_SIZE = 33, IO_PORT = 34, IO_COUNT = 36, IO_DATA_OFFSET = 40;
        public static final int MMIO_PHYS_ADDR = 32, MMIO_DATA = 40, MMIO_LEN = 48, MMIO_IS_WRITE = 52;
        public static final int FAIL_ENTRY_REASON = 32, FAIL_ENTRY_CPU = 40;
        public static final int INTERNAL_SUBERROR = 32, INTERNAL_NDATA = 36, INTERNAL_DATA = 40;
        public static final int EMULATION_FLAGS = 40, EMULATION_INSN_SIZE = 48, EMULATION_INSN_BYTES = 49;
        public static final int MSR_ERROR = 32, MSR_REASON = 40, MSR_INDEX = 44, MSR_DATA = 48;
        public static final int DEBUG_EXCEPTION = 32, DEBUG_PC = 40, DEBUG_DR6 = 48, DEBUG_DR7 = 56;
        public static final int SYSTEM_EVENT_TYPE = 32;
        public static final int VALID_REGS = 288, DIRTY_REGS = 296;
        /** struct kvm_sync_regs: regs, then sregs, then events. */
        public static final int SYNC_REGS = 304, SYNC_SREGS = SYNC_REGS + Regs.SIZE,
                SYNC_EVENTS = SYNC_SREGS + Sregs.SIZE;
    }

    /** struct kvm_regs: 18 u64 in this order. */
    public static final class Regs {
        private Regs() {
        }

        public static final int RAX = 0, RBX = 8, RCX = 16, RDX = 24, RSI = 32, RDI = 40, RSP = 48, RBP = 56, R8 = 64,
                R9 = 72, R10 = 80, R11 = 88, R12 = 96, R13 = 104, R14 = 112, R15 = 120, RIP = 128, RFLAGS = 136;
        public static final int SIZE = 144;

        /** Offset of a GPR by the SDM's number (0 = RAX, 1 = RCX, 2 = RDX, 3 = RBX, 4 = RSP, ... 15 = R15). */
        public static int gpr(int sdmIndex) {
            return switch (sdmIndex) {
                case 0 -> RAX;
                case 1 -> RCX;
                case 2 -> RDX;
                case 3 -> RBX;
                case 4 -> RSP;
                case 5 -> RBP;
                case 6 -> RSI;
                case 7 -> RDI;
                default -> R8 + 8 * (sdmIndex - 8);
            };
        }
    }

    /** struct kvm_segment (24 bytes) and struct kvm_dtable (16 bytes). */
    public static final class Segment {
        private Segment() {
        }

        public static final int BASE = 0, LIMIT = 8, SELECTOR = 12, TYPE = 14, PRESENT = 15, DPL = 16, DB = 17,
                S = 18, L = 19, G = 20, AVL = 21, UNUSABLE = 22;
        public static final int SIZE = 24;
        public static final int DTABLE_BASE = 0, DTABLE_LIMIT = 8, DTABLE_SIZE = 16;
    }

    /** struct kvm_sregs. */
    public static final class Sregs {
        private Sregs() {
        }

        public static final int CS = 0, DS = 24, ES = 48, FS = 72, GS = 96, SS = 120, TR = 144, LDT = 168, GDT = 192,
                IDT = 208, CR0 = 224, CR2 = 232, CR3 = 240, CR4 = 248, CR8 = 256, EFER = 264, APIC_BASE = 272,
                INTERRUPT_BITMAP = 280;
        public static final int SIZE = 312;
    }

    /** struct kvm_vcpu_events. */
    public static final class Events {
        private Events() {
        }

        public static final int EXCEPTION_INJECTED = 0, EXCEPTION_NR = 1, EXCEPTION_HAS_ERROR_CODE = 2,
                EXCEPTION_PENDING = 3, EXCEPTION_ERROR_CODE = 4, INTERRUPT_INJECTED = 8, INTERRUPT_NR = 9,
                INTERRUPT_SOFT = 10, INTERRUPT_SHADOW = 11, NMI_INJECTED = 12, NMI_PENDING = 13, NMI_MASKED = 14,
                SIPI_VECTOR = 16, FLAGS = 20;
        public static final int SIZE = 64;
    }

    /** struct kvm_userspace_memory_region. */
    public static final class MemoryRegion {
        private MemoryRegion() {
        }

        public static final int SLOT = 0, FLAGS = 4, GUEST_PHYS_ADDR = 8, MEMORY_SIZE = 16, USERSPACE_ADDR = 24;
        public static final int SIZE = 32;
    }

    /** struct kvm_cpuid2 and its struct kvm_cpuid_entry2. */
    public static final class Cpuid2 {
        private Cpuid2() {
        }

        public static final int NENT = 0, HEADER = 8;
        public static final int ENTRY_FUNCTION = 0, ENTRY_INDEX = 4, ENTRY_FLAGS = 8, ENTRY_EAX = 12, ENTRY_EBX = 16,
                ENTRY_ECX = 20, ENTRY_EDX = 24, ENTRY_SIZE = 40;
    }

    /** struct kvm_msrs and struct kvm_msr_entry. */
    public static final class Msrs {
        private Msrs() {
        }

        public static final int NMSRS = 0, HEADER = 8, ENTRY_INDEX = 0, ENTRY_DATA = 8, ENTRY_SIZE = 16;
    }

    /** struct kvm_msr_filter with its 16 struct kvm_msr_filter_range. */
    public static final class MsrFilter {
        private MsrFilter() {
        }

        public static final int FLAGS = 0, RANGES = 8, MAX_RANGES = 16;
        public static final int RANGE_FLAGS = 0, RANGE_NMSRS = 4, RANGE_BASE = 8, RANGE_BITMAP = 16, RANGE_SIZE = 24;
        public static final int SIZE = RANGES + MAX_RANGES * RANGE_SIZE;
    }

    /** struct kvm_enable_cap. */
    public static final class EnableCap {
        private EnableCap() {
        }

        public static final int CAP = 0, FLAGS = 4, ARGS = 8, SIZE = 104;
    }

    /** struct kvm_xcrs. */
    public static final class Xcrs {
        private Xcrs() {
        }

        public static final int NR_XCRS = 0, FLAGS = 4, XCRS = 8, XCR_XCR = 0, XCR_VALUE = 8, XCR_SIZE = 16, SIZE = 392;
    }

    /** struct kvm_debugregs. */
    public static final class DebugRegs {
        private DebugRegs() {
        }

        public static final int DB = 0, DR6 = 32, DR7 = 40, FLAGS = 48, SIZE = 128;
    }

    /** struct kvm_guest_debug. */
    public static final class GuestDebug {
        private GuestDebug() {
        }

        public static final int CONTROL = 0, DEBUGREG = 8, SIZE = 72;
    }
}
