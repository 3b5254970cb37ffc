package io.jvmx.vmx.nativekvm.kvm;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assume.assumeTrue;

import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Cpuid2;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.EnableCap;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Events;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.GuestDebug;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.MemoryRegion;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.MsrFilter;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Msrs;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Regs;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Run;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Segment;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Sregs;
import io.jvmx.vmx.nativekvm.kvm.KvmAbi.Xcrs;
import org.junit.BeforeClass;
import org.junit.Test;

import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Every ioctl number, constant and structure offset of {@link KvmAbi} against {@code <linux/kvm.h>}: a small C
 * program (kvm-abi.c beside this test) prints the header's values, compiled with the system's cc. Skipped, with the
 * reason, where the headers or a C compiler are missing; the numbers themselves are x86-64 Linux ABI and do not
 * depend on the running kernel.
 */
public class KvmAbiTest {
    private static Map<String, Long> header;

    @BeforeClass
    public static void compileAndRunTheHeaderProbe() throws Exception {
        assumeTrue("no kernel headers: /usr/include/linux/kvm.h is missing (Debian: linux-libc-dev)",
                Files.exists(Path.of("/usr/include/linux/kvm.h")));
        Path dir = Files.createTempDirectory("kvm-abi");
        Path src = dir.resolve("kvm-abi.c");
        try (InputStream in = KvmAbiTest.class.getResourceAsStream("kvm-abi.c")) {
            Files.copy(in, src);
        }
        Path exe = dir.resolve("kvm-abi");
        String cc = null;
        for (String candidate : new String[] {"cc", "gcc", "clang"}) {
            try {
                Process p = new ProcessBuilder(candidate, "-o", exe.toString(), src.toString()).redirectErrorStream(true)
                        .start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(candidate + " did not finish", p.waitFor(60, TimeUnit.SECONDS));
                if (p.exitValue() != 0) {
                    throw new AssertionError(candidate + " could not compile kvm-abi.c against the headers:\n" + out);
                }
                cc = candidate;
                break;
            } catch (java.io.IOException notInstalled) {
                // try the next compiler
            }
        }
        assumeTrue("no C compiler (cc, gcc, clang) to compile the header probe", cc != null);
        Process run = new ProcessBuilder(exe.toString()).start();
        String out = new String(run.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(run.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, run.exitValue());
        header = new HashMap<>();
        for (String line : out.split("\n")) {
            String[] kv = line.trim().split(" ");
            header.put(kv[0], Long.parseLong(kv[1]));
        }
    }

    private static void check(Map<String, Long> ours) {
        StringBuilder wrong = new StringBuilder();
        for (Map.Entry<String, Long> e : ours.entrySet()) {
            Long h = header.get(e.getKey());
            if (h == null) {
                wrong.append(e.getKey()).append(": not printed by kvm-abi.c\n");
            } else if (h.longValue() != e.getValue()) {
                wrong.append(String.format("%s: KvmAbi %d (%#x), kvm.h %d (%#x)%n", e.getKey(), e.getValue(),
                        e.getValue(), h, h));
            }
        }
        assertEquals("KvmAbi differs from <linux/kvm.h>:\n" + wrong, "", wrong.toString());
    }

    @Test
    public void ioctlNumbers() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("KVM_GET_API_VERSION", KvmAbi.KVM_GET_API_VERSION);
        m.put("KVM_CREATE_VM", KvmAbi.KVM_CREATE_VM);
        m.put("KVM_CHECK_EXTENSION", KvmAbi.KVM_CHECK_EXTENSION);
        m.put("KVM_GET_VCPU_MMAP_SIZE", KvmAbi.KVM_GET_VCPU_MMAP_SIZE);
        m.put("KVM_GET_SUPPORTED_CPUID", KvmAbi.KVM_GET_SUPPORTED_CPUID);
        m.put("KVM_CREATE_VCPU", KvmAbi.KVM_CREATE_VCPU);
        m.put("KVM_SET_USER_MEMORY_REGION", KvmAbi.KVM_SET_USER_MEMORY_REGION);
        m.put("KVM_SET_TSS_ADDR", KvmAbi.KVM_SET_TSS_ADDR);
        m.put("KVM_RUN", KvmAbi.KVM_RUN);
        m.put("KVM_GET_REGS", KvmAbi.KVM_GET_REGS);
        m.put("KVM_SET_REGS", KvmAbi.KVM_SET_REGS);
        m.put("KVM_GET_SREGS", KvmAbi.KVM_GET_SREGS);
        m.put("KVM_SET_SREGS", KvmAbi.KVM_SET_SREGS);
        m.put("KVM_TRANSLATE", KvmAbi.KVM_TRANSLATE);
        m.put("KVM_INTERRUPT", KvmAbi.KVM_INTERRUPT);
        m.put("KVM_GET_MSRS", KvmAbi.KVM_GET_MSRS);
        m.put("KVM_SET_MSRS", KvmAbi.KVM_SET_MSRS);
        m.put("KVM_SET_SIGNAL_MASK", KvmAbi.KVM_SET_SIGNAL_MASK);
        m.put("KVM_SET_CPUID2", KvmAbi.KVM_SET_CPUID2);
        m.put("KVM_SET_GUEST_DEBUG", KvmAbi.KVM_SET_GUEST_DEBUG);
        m.put("KVM_GET_VCPU_EVENTS", KvmAbi.KVM_GET_VCPU_EVENTS);
        m.put("KVM_SET_VCPU_EVENTS", KvmAbi.KVM_SET_VCPU_EVENTS);
        m.put("KVM_GET_DEBUGREGS", KvmAbi.KVM_GET_DEBUGREGS);
        m.put("KVM_ENABLE_CAP", KvmAbi.KVM_ENABLE_CAP);
        m.put("KVM_GET_TSC_KHZ", KvmAbi.KVM_GET_TSC_KHZ);
        m.put("KVM_GET_XCRS", KvmAbi.KVM_GET_XCRS);
        m.put("KVM_SET_XCRS", KvmAbi.KVM_SET_XCRS);
        m.put("KVM_X86_SET_MSR_FILTER", KvmAbi.KVM_X86_SET_MSR_FILTER);
        m.put("KVM_API_VERSION", (long) KvmAbi.API_VERSION);
        check(m);
    }

    @Test
    public void exitReasonsCapabilitiesAndFlags() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("KVM_EXIT_UNKNOWN", (long) KvmAbi.KVM_EXIT_UNKNOWN);
        m.put("KVM_EXIT_EXCEPTION", (long) KvmAbi.KVM_EXIT_EXCEPTION);
        m.put("KVM_EXIT_IO", (long) KvmAbi.KVM_EXIT_IO);
        m.put("KVM_EXIT_HYPERCALL", (long) KvmAbi.KVM_EXIT_HYPERCALL);
        m.put("KVM_EXIT_DEBUG", (long) KvmAbi.KVM_EXIT_DEBUG);
        m.put("KVM_EXIT_HLT", (long) KvmAbi.KVM_EXIT_HLT);
        m.put("KVM_EXIT_MMIO", (long) KvmAbi.KVM_EXIT_MMIO);
        m.put("KVM_EXIT_IRQ_WINDOW_OPEN", (long) KvmAbi.KVM_EXIT_IRQ_WINDOW_OPEN);
        m.put("KVM_EXIT_SHUTDOWN", (long) KvmAbi.KVM_EXIT_SHUTDOWN);
        m.put("KVM_EXIT_FAIL_ENTRY", (long) KvmAbi.KVM_EXIT_FAIL_ENTRY);
        m.put("KVM_EXIT_INTR", (long) KvmAbi.KVM_EXIT_INTR);
        m.put("KVM_EXIT_INTERNAL_ERROR", (long) KvmAbi.KVM_EXIT_INTERNAL_ERROR);
        m.put("KVM_EXIT_SYSTEM_EVENT", (long) KvmAbi.KVM_EXIT_SYSTEM_EVENT);
        m.put("KVM_EXIT_X86_RDMSR", (long) KvmAbi.KVM_EXIT_X86_RDMSR);
        m.put("KVM_EXIT_X86_WRMSR", (long) KvmAbi.KVM_EXIT_X86_WRMSR);
        m.put("KVM_EXIT_IO_IN", (long) KvmAbi.KVM_EXIT_IO_IN);
        m.put("KVM_EXIT_IO_OUT", (long) KvmAbi.KVM_EXIT_IO_OUT);
        m.put("KVM_INTERNAL_ERROR_EMULATION", (long) KvmAbi.KVM_INTERNAL_ERROR_EMULATION);
        m.put("KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES",
                KvmAbi.KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
        m.put("KVM_CAP_IRQCHIP", (long) KvmAbi.KVM_CAP_IRQCHIP);
        m.put("KVM_CAP_HLT", (long) KvmAbi.KVM_CAP_HLT);
        m.put("KVM_CAP_USER_MEMORY", (long) KvmAbi.KVM_CAP_USER_MEMORY);
        m.put("KVM_CAP_SET_TSS_ADDR", (long) KvmAbi.KVM_CAP_SET_TSS_ADDR);
        m.put("KVM_CAP_EXT_CPUID", (long) KvmAbi.KVM_CAP_EXT_CPUID);
        m.put("KVM_CAP_NR_MEMSLOTS", (long) KvmAbi.KVM_CAP_NR_MEMSLOTS);
        m.put("KVM_CAP_SET_GUEST_DEBUG", (long) KvmAbi.KVM_CAP_SET_GUEST_DEBUG);
        m.put("KVM_CAP_VCPU_EVENTS", (long) KvmAbi.KVM_CAP_VCPU_EVENTS);
        m.put("KVM_CAP_XCRS", (long) KvmAbi.KVM_CAP_XCRS);
        m.put("KVM_CAP_GET_TSC_KHZ", (long) KvmAbi.KVM_CAP_GET_TSC_KHZ);
        m.put("KVM_CAP_SYNC_REGS", (long) KvmAbi.KVM_CAP_SYNC_REGS);
        m.put("KVM_CAP_IMMEDIATE_EXIT", (long) KvmAbi.KVM_CAP_IMMEDIATE_EXIT);
        m.put("KVM_CAP_X86_USER_SPACE_MSR", (long) KvmAbi.KVM_CAP_X86_USER_SPACE_MSR);
        m.put("KVM_CAP_X86_MSR_FILTER", (long) KvmAbi.KVM_CAP_X86_MSR_FILTER);
        m.put("KVM_CAP_EXIT_ON_EMULATION_FAILURE", (long) KvmAbi.KVM_CAP_EXIT_ON_EMULATION_FAILURE);
        m.put("KVM_MSR_EXIT_REASON_INVAL", KvmAbi.KVM_MSR_EXIT_REASON_INVAL);
        m.put("KVM_MSR_EXIT_REASON_UNKNOWN", KvmAbi.KVM_MSR_EXIT_REASON_UNKNOWN);
        m.put("KVM_MSR_EXIT_REASON_FILTER", KvmAbi.KVM_MSR_EXIT_REASON_FILTER);
        m.put("KVM_MSR_FILTER_DEFAULT_DENY", (long) KvmAbi.KVM_MSR_FILTER_DEFAULT_DENY);
        m.put("KVM_MSR_FILTER_READ", (long) KvmAbi.KVM_MSR_FILTER_READ);
        m.put("KVM_MSR_FILTER_WRITE", (long) KvmAbi.KVM_MSR_FILTER_WRITE);
        m.put("KVM_SYNC_X86_REGS", (long) KvmAbi.KVM_SYNC_X86_REGS);
        m.put("KVM_SYNC_X86_SREGS", (long) KvmAbi.KVM_SYNC_X86_SREGS);
        m.put("KVM_SYNC_X86_EVENTS", (long) KvmAbi.KVM_SYNC_X86_EVENTS);
        m.put("KVM_VCPUEVENT_VALID_NMI_PENDING", (long) KvmAbi.KVM_VCPUEVENT_VALID_NMI_PENDING);
        m.put("KVM_VCPUEVENT_VALID_SHADOW", (long) KvmAbi.KVM_VCPUEVENT_VALID_SHADOW);
        m.put("KVM_X86_SHADOW_INT_MOV_SS", (long) KvmAbi.KVM_X86_SHADOW_INT_MOV_SS);
        m.put("KVM_X86_SHADOW_INT_STI", (long) KvmAbi.KVM_X86_SHADOW_INT_STI);
        m.put("KVM_GUESTDBG_ENABLE", (long) KvmAbi.KVM_GUESTDBG_ENABLE);
        m.put("KVM_GUESTDBG_SINGLESTEP", (long) KvmAbi.KVM_GUESTDBG_SINGLESTEP);
        m.put("KVM_MEM_READONLY", (long) KvmAbi.KVM_MEM_READONLY);
        m.put("KVM_CPUID_FLAG_SIGNIFCANT_INDEX", (long) KvmAbi.KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
        check(m);
    }

    @Test
    public void kvmRunLayout() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("run.request_interrupt_window", (long) Run.REQUEST_INTERRUPT_WINDOW);
        m.put("run.immediate_exit", (long) Run.IMMEDIATE_EXIT);
        m.put("run.exit_reason", (long) Run.EXIT_REASON);
        m.put("run.ready_for_interrupt_injection", (long) Run.READY_FOR_INTERRUPT_INJECTION);
        m.put("run.if_flag", (long) Run.IF_FLAG);
        m.put("run.flags", (long) Run.FLAGS);
        m.put("run.cr8", (long) Run.CR8);
        m.put("run.apic_base", (long) Run.APIC_BASE);
        m.put("run.io.direction", (long) Run.IO_DIRECTION);
        m.put("run.io.size", (long) Run.IO_SIZE);
        m.put("run.io.port", (long) Run.IO_PORT);
        m.put("run.io.count", (long) Run.IO_COUNT);
        m.put("run.io.data_offset", (long) Run.IO_DATA_OFFSET);
        m.put("run.mmio.phys_addr", (long) Run.MMIO_PHYS_ADDR);
        m.put("run.mmio.data", (long) Run.MMIO_DATA);
        m.put("run.mmio.len", (long) Run.MMIO_LEN);
        m.put("run.mmio.is_write", (long) Run.MMIO_IS_WRITE);
        m.put("run.fail_entry.hardware_entry_failure_reason", (long) Run.FAIL_ENTRY_REASON);
        m.put("run.fail_entry.cpu", (long) Run.FAIL_ENTRY_CPU);
        m.put("run.internal.suberror", (long) Run.INTERNAL_SUBERROR);
        m.put("run.internal.ndata", (long) Run.INTERNAL_NDATA);
        m.put("run.internal.data", (long) Run.INTERNAL_DATA);
        m.put("run.emulation_failure.flags", (long) Run.EMULATION_FLAGS);
        m.put("run.emulation_failure.insn_size", (long) Run.EMULATION_INSN_SIZE);
        m.put("run.emulation_failure.insn_bytes", (long) Run.EMULATION_INSN_BYTES);
        m.put("run.msr.error", (long) Run.MSR_ERROR);
        m.put("run.msr.reason", (long) Run.MSR_REASON);
        m.put("run.msr.index", (long) Run.MSR_INDEX);
        m.put("run.msr.data", (long) Run.MSR_DATA);
        m.put("run.debug.arch.exception", (long) Run.DEBUG_EXCEPTION);
        m.put("run.debug.arch.pc", (long) Run.DEBUG_PC);
        m.put("run.debug.arch.dr6", (long) Run.DEBUG_DR6);
        m.put("run.debug.arch.dr7", (long) Run.DEBUG_DR7);
        m.put("run.system_event.type", (long) Run.SYSTEM_EVENT_TYPE);
        m.put("run.kvm_valid_regs", (long) Run.VALID_REGS);
        m.put("run.kvm_dirty_regs", (long) Run.DIRTY_REGS);
        m.put("run.s.regs.regs", (long) Run.SYNC_REGS);
        m.put("run.s.regs.sregs", (long) Run.SYNC_SREGS);
        m.put("run.s.regs.events", (long) Run.SYNC_EVENTS);
        check(m);
    }

    @Test
    public void registerAndEventStructures() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("regs.rax", (long) Regs.RAX);
        m.put("regs.rbx", (long) Regs.RBX);
        m.put("regs.rcx", (long) Regs.RCX);
        m.put("regs.rdx", (long) Regs.RDX);
        m.put("regs.rsi", (long) Regs.RSI);
        m.put("regs.rdi", (long) Regs.RDI);
        m.put("regs.rsp", (long) Regs.RSP);
        m.put("regs.rbp", (long) Regs.RBP);
        m.put("regs.r8", (long) Regs.R8);
        m.put("regs.r15", (long) Regs.R15);
        m.put("regs.rip", (long) Regs.RIP);
        m.put("regs.rflags", (long) Regs.RFLAGS);
        m.put("regs.size", (long) Regs.SIZE);
        m.put("segment.base", (long) Segment.BASE);
        m.put("segment.limit", (long) Segment.LIMIT);
        m.put("segment.selector", (long) Segment.SELECTOR);
        m.put("segment.type", (long) Segment.TYPE);
        m.put("segment.present", (long) Segment.PRESENT);
        m.put("segment.dpl", (long) Segment.DPL);
        m.put("segment.db", (long) Segment.DB);
        m.put("segment.s", (long) Segment.S);
        m.put("segment.l", (long) Segment.L);
        m.put("segment.g", (long) Segment.G);
        m.put("segment.avl", (long) Segment.AVL);
        m.put("segment.unusable", (long) Segment.UNUSABLE);
        m.put("segment.size", (long) Segment.SIZE);
        m.put("dtable.base", (long) Segment.DTABLE_BASE);
        m.put("dtable.limit", (long) Segment.DTABLE_LIMIT);
        m.put("dtable.size", (long) Segment.DTABLE_SIZE);
        m.put("sregs.cs", (long) Sregs.CS);
        m.put("sregs.ds", (long) Sregs.DS);
        m.put("sregs.es", (long) Sregs.ES);
        m.put("sregs.fs", (long) Sregs.FS);
        m.put("sregs.gs", (long) Sregs.GS);
        m.put("sregs.ss", (long) Sregs.SS);
        m.put("sregs.tr", (long) Sregs.TR);
        m.put("sregs.ldt", (long) Sregs.LDT);
        m.put("sregs.gdt", (long) Sregs.GDT);
        m.put("sregs.idt", (long) Sregs.IDT);
        m.put("sregs.cr0", (long) Sregs.CR0);
        m.put("sregs.cr2", (long) Sregs.CR2);
        m.put("sregs.cr3", (long) Sregs.CR3);
        m.put("sregs.cr4", (long) Sregs.CR4);
        m.put("sregs.cr8", (long) Sregs.CR8);
        m.put("sregs.efer", (long) Sregs.EFER);
        m.put("sregs.apic_base", (long) Sregs.APIC_BASE);
        m.put("sregs.interrupt_bitmap", (long) Sregs.INTERRUPT_BITMAP);
        m.put("sregs.size", (long) Sregs.SIZE);
        m.put("events.exception.injected", (long) Events.EXCEPTION_INJECTED);
        m.put("events.exception.nr", (long) Events.EXCEPTION_NR);
        m.put("events.exception.has_error_code", (long) Events.EXCEPTION_HAS_ERROR_CODE);
        m.put("events.exception.pending", (long) Events.EXCEPTION_PENDING);
        m.put("events.exception.error_code", (long) Events.EXCEPTION_ERROR_CODE);
        m.put("events.interrupt.injected", (long) Events.INTERRUPT_INJECTED);
        m.put("events.interrupt.nr", (long) Events.INTERRUPT_NR);
        m.put("events.interrupt.soft", (long) Events.INTERRUPT_SOFT);
        m.put("events.interrupt.shadow", (long) Events.INTERRUPT_SHADOW);
        m.put("events.nmi.injected", (long) Events.NMI_INJECTED);
        m.put("events.nmi.pending", (long) Events.NMI_PENDING);
        m.put("events.nmi.masked", (long) Events.NMI_MASKED);
        m.put("events.sipi_vector", (long) Events.SIPI_VECTOR);
        m.put("events.flags", (long) Events.FLAGS);
        m.put("events.size", (long) Events.SIZE);
        check(m);
    }

    @Test
    public void memoryCpuidMsrAndCapabilityStructures() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("region.slot", (long) MemoryRegion.SLOT);
        m.put("region.flags", (long) MemoryRegion.FLAGS);
        m.put("region.guest_phys_addr", (long) MemoryRegion.GUEST_PHYS_ADDR);
        m.put("region.memory_size", (long) MemoryRegion.MEMORY_SIZE);
        m.put("region.userspace_addr", (long) MemoryRegion.USERSPACE_ADDR);
        m.put("region.size", (long) MemoryRegion.SIZE);
        m.put("cpuid2.header", (long) Cpuid2.HEADER);
        m.put("cpuid2.nent", (long) Cpuid2.NENT);
        m.put("cpuid_entry2.function", (long) Cpuid2.ENTRY_FUNCTION);
        m.put("cpuid_entry2.index", (long) Cpuid2.ENTRY_INDEX);
        m.put("cpuid_entry2.flags", (long) Cpuid2.ENTRY_FLAGS);
        m.put("cpuid_entry2.eax", (long) Cpuid2.ENTRY_EAX);
        m.put("cpuid_entry2.ebx", (long) Cpuid2.ENTRY_EBX);
        m.put("cpuid_entry2.ecx", (long) Cpuid2.ENTRY_ECX);
        m.put("cpuid_entry2.edx", (long) Cpuid2.ENTRY_EDX);
        m.put("cpuid_entry2.size", (long) Cpuid2.ENTRY_SIZE);
        m.put("msrs.header", (long) Msrs.HEADER);
        m.put("msr_entry.index", (long) Msrs.ENTRY_INDEX);
        m.put("msr_entry.data", (long) Msrs.ENTRY_DATA);
        m.put("msr_entry.size", (long) Msrs.ENTRY_SIZE);
        m.put("msr_filter.flags", (long) MsrFilter.FLAGS);
        m.put("msr_filter.ranges", (long) MsrFilter.RANGES);
        m.put("msr_filter.max_ranges", (long) MsrFilter.MAX_RANGES);
        m.put("msr_filter.size", (long) MsrFilter.SIZE);
        m.put("msr_filter_range.flags", (long) MsrFilter.RANGE_FLAGS);
        m.put("msr_filter_range.nmsrs", (long) MsrFilter.RANGE_NMSRS);
        m.put("msr_filter_range.base", (long) MsrFilter.RANGE_BASE);
        m.put("msr_filter_range.bitmap", (long) MsrFilter.RANGE_BITMAP);
        m.put("msr_filter_range.size", (long) MsrFilter.RANGE_SIZE);
        m.put("enable_cap.cap", (long) EnableCap.CAP);
        m.put("enable_cap.flags", (long) EnableCap.FLAGS);
        m.put("enable_cap.args", (long) EnableCap.ARGS);
        m.put("enable_cap.size", (long) EnableCap.SIZE);
        m.put("xcrs.nr_xcrs", (long) Xcrs.NR_XCRS);
        m.put("xcrs.flags", (long) Xcrs.FLAGS);
        m.put("xcrs.xcrs", (long) Xcrs.XCRS);
        m.put("xcr.xcr", (long) Xcrs.XCR_XCR);
        m.put("xcr.value", (long) Xcrs.XCR_VALUE);
        m.put("xcr.size", (long) Xcrs.XCR_SIZE);
        m.put("xcrs.size", (long) Xcrs.SIZE);
        m.put("debugregs.db", (long) KvmAbi.DebugRegs.DB);
        m.put("debugregs.dr6", (long) KvmAbi.DebugRegs.DR6);
        m.put("debugregs.dr7", (long) KvmAbi.DebugRegs.DR7);
        m.put("debugregs.flags", (long) KvmAbi.DebugRegs.FLAGS);
        m.put("debugregs.size", (long) KvmAbi.DebugRegs.SIZE);
        m.put("guest_debug.control", (long) GuestDebug.CONTROL);
        m.put("guest_debug.arch.debugreg", (long) GuestDebug.DEBUGREG);
        m.put("guest_debug.size", (long) GuestDebug.SIZE);
        check(m);
    }
}
