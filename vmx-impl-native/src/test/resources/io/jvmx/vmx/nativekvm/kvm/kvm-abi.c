/* Prints the numbers of <linux/kvm.h> that KvmAbi hard-codes, one "NAME VALUE" a line (KvmAbiTest compares). */
#include <linux/kvm.h>
#include <stddef.h>
#include <stdio.h>

#define V(name, value) printf("%s %lld\n", name, (long long)(value))
#define N(x) V(#x, x)
#define OFF(prefix, type, field) V(prefix #field, offsetof(type, field))

int main(void) {
    N(KVM_GET_API_VERSION); N(KVM_CREATE_VM); N(KVM_CHECK_EXTENSION); N(KVM_GET_VCPU_MMAP_SIZE);
    N(KVM_GET_SUPPORTED_CPUID); N(KVM_CREATE_VCPU); N(KVM_SET_USER_MEMORY_REGION); N(KVM_SET_TSS_ADDR);
    N(KVM_RUN); N(KVM_GET_REGS); N(KVM_SET_REGS); N(KVM_GET_SREGS); N(KVM_SET_SREGS); N(KVM_TRANSLATE);
    N(KVM_INTERRUPT); N(KVM_GET_MSRS); N(KVM_SET_MSRS); N(KVM_SET_SIGNAL_MASK); N(KVM_SET_CPUID2);
    N(KVM_SET_GUEST_DEBUG); N(KVM_GET_VCPU_EVENTS); N(KVM_SET_VCPU_EVENTS); N(KVM_ENABLE_CAP); N(KVM_GET_TSC_KHZ);
    N(KVM_GET_DEBUGREGS); N(KVM_GET_XCRS); N(KVM_SET_XCRS); N(KVM_X86_SET_MSR_FILTER); N(KVM_API_VERSION);

    N(KVM_EXIT_UNKNOWN); N(KVM_EXIT_EXCEPTION); N(KVM_EXIT_IO); N(KVM_EXIT_HYPERCALL); N(KVM_EXIT_DEBUG);
    N(KVM_EXIT_HLT); N(KVM_EXIT_MMIO); N(KVM_EXIT_IRQ_WINDOW_OPEN); N(KVM_EXIT_SHUTDOWN); N(KVM_EXIT_FAIL_ENTRY);
    N(KVM_EXIT_INTR); N(KVM_EXIT_INTERNAL_ERROR); N(KVM_EXIT_SYSTEM_EVENT); N(KVM_EXIT_X86_RDMSR);
    N(KVM_EXIT_X86_WRMSR); N(KVM_EXIT_IO_IN); N(KVM_EXIT_IO_OUT); N(KVM_INTERNAL_ERROR_EMULATION);
    N(KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);

    N(KVM_CAP_IRQCHIP); N(KVM_CAP_HLT); N(KVM_CAP_USER_MEMORY); N(KVM_CAP_SET_TSS_ADDR); N(KVM_CAP_EXT_CPUID);
    N(KVM_CAP_NR_MEMSLOTS); N(KVM_CAP_SET_GUEST_DEBUG); N(KVM_CAP_VCPU_EVENTS); N(KVM_CAP_XCRS);
    N(KVM_CAP_GET_TSC_KHZ); N(KVM_CAP_SYNC_REGS); N(KVM_CAP_IMMEDIATE_EXIT); N(KVM_CAP_X86_USER_SPACE_MSR);
    N(KVM_CAP_X86_MSR_FILTER); N(KVM_CAP_EXIT_ON_EMULATION_FAILURE);
    N(KVM_MSR_EXIT_REASON_INVAL); N(KVM_MSR_EXIT_REASON_UNKNOWN); N(KVM_MSR_EXIT_REASON_FILTER);
    N(KVM_MSR_FILTER_DEFAULT_DENY); N(KVM_MSR_FILTER_READ); N(KVM_MSR_FILTER_WRITE);
    N(KVM_SYNC_X86_REGS); N(KVM_SYNC_X86_SREGS); N(KVM_SYNC_X86_EVENTS);
    N(KVM_VCPUEVENT_VALID_NMI_PENDING); N(KVM_VCPUEVENT_VALID_SHADOW);
    N(KVM_X86_SHADOW_INT_MOV_SS); N(KVM_X86_SHADOW_INT_STI); N(KVM_GUESTDBG_ENABLE); N(KVM_GUESTDBG_SINGLESTEP);
    N(KVM_MEM_READONLY); N(KVM_CPUID_FLAG_SIGNIFCANT_INDEX);

    OFF("run.", struct kvm_run, request_interrupt_window); OFF("run.", struct kvm_run, immediate_exit);
    OFF("run.", struct kvm_run, exit_reason); OFF("run.", struct kvm_run, ready_for_interrupt_injection);
    OFF("run.", struct kvm_run, if_flag); OFF("run.", struct kvm_run, flags); OFF("run.", struct kvm_run, cr8);
    OFF("run.", struct kvm_run, apic_base); OFF("run.", struct kvm_run, io.direction);
    OFF("run.", struct kvm_run, io.size); OFF("run.", struct kvm_run, io.port); OFF("run.", struct kvm_run, io.count);
    OFF("run.", struct kvm_run, io.data_offset); OFF("run.", struct kvm_run, mmio.phys_addr);
    OFF("run.", struct kvm_run, mmio.data); OFF("run.", struct kvm_run, mmio.len);
    OFF("run.", struct kvm_run, mmio.is_write); OFF("run.", struct kvm_run, fail_entry.hardware_entry_failure_reason);
    OFF("run.", struct kvm_run, fail_entry.cpu); OFF("run.", struct kvm_run, internal.suberror);
    OFF("run.", struct kvm_run, internal.ndata); OFF("run.", struct kvm_run, internal.data);
    OFF("run.", struct kvm_run, emulation_failure.flags); OFF("run.", struct kvm_run, emulation_failure.insn_size);
    OFF("run.", struct kvm_run, emulation_failure.insn_bytes); OFF("run.", struct kvm_run, msr.error);
    OFF("run.", struct kvm_run, msr.reason); OFF("run.", struct kvm_run, msr.index);
    OFF("run.", struct kvm_run, msr.data); OFF("run.", struct kvm_run, debug.arch.exception);
    OFF("run.", struct kvm_run, debug.arch.pc); OFF("run.", struct kvm_run, debug.arch.dr6);
    OFF("run.", struct kvm_run, debug.arch.dr7); OFF("run.", struct kvm_run, system_event.type);
    OFF("run.", struct kvm_run, kvm_valid_regs); OFF("run.", struct kvm_run, kvm_dirty_regs);
    OFF("run.", struct kvm_run, s.regs.regs); OFF("run.", struct kvm_run, s.regs.sregs);
    OFF("run.", struct kvm_run, s.regs.events);

    OFF("regs.", struct kvm_regs, rax); OFF("regs.", struct kvm_regs, rbx); OFF("regs.", struct kvm_regs, rcx);
    OFF("regs.", struct kvm_regs, rdx); OFF("regs.", struct kvm_regs, rsi); OFF("regs.", struct kvm_regs, rdi);
    OFF("regs.", struct kvm_regs, rsp); OFF("regs.", struct kvm_regs, rbp); OFF("regs.", struct kvm_regs, r8);
    OFF("regs.", struct kvm_regs, r15); OFF("regs.", struct kvm_regs, rip); OFF("regs.", struct kvm_regs, rflags);
    V("regs.size", sizeof(struct kvm_regs));

    OFF("segment.", struct kvm_segment, base); OFF("segment.", struct kvm_segment, limit);
    OFF("segment.", struct kvm_segment, selector); OFF("segment.", struct kvm_segment, type);
    OFF("segment.", struct kvm_segment, present); OFF("segment.", struct kvm_segment, dpl);
    OFF("segment.", struct kvm_segment, db); OFF("segment.", struct kvm_segment, s);
    OFF("segment.", struct kvm_segment, l); OFF("segment.", struct kvm_segment, g);
    OFF("segment.", struct kvm_segment, avl); OFF("segment.", struct kvm_segment, unusable);
    V("segment.size", sizeof(struct kvm_segment));
    OFF("dtable.", struct kvm_dtable, base); OFF("dtable.", struct kvm_dtable, limit);
    V("dtable.size", sizeof(struct kvm_dtable));

    OFF("sregs.", struct kvm_sregs, cs); OFF("sregs.", struct kvm_sregs, ds); OFF("sregs.", struct kvm_sregs, es);
    OFF("sregs.", struct kvm_sregs, fs); OFF("sregs.", struct kvm_sregs, gs); OFF("sregs.", struct kvm_sregs, ss);
    OFF("sregs.", struct kvm_sregs, tr); OFF("sregs.", struct kvm_sregs, ldt); OFF("sregs.", struct kvm_sregs, gdt);
    OFF("sregs.", struct kvm_sregs, idt); OFF("sregs.", struct kvm_sregs, cr0); OFF("sregs.", struct kvm_sregs, cr2);
    OFF("sregs.", struct kvm_sregs, cr3); OFF("sregs.", struct kvm_sregs, cr4); OFF("sregs.", struct kvm_sregs, cr8);
    OFF("sregs.", struct kvm_sregs, efer); OFF("sregs.", struct kvm_sregs, apic_base);
    OFF("sregs.", struct kvm_sregs, interrupt_bitmap); V("sregs.size", sizeof(struct kvm_sregs));

    OFF("events.", struct kvm_vcpu_events, exception.injected); OFF("events.", struct kvm_vcpu_events, exception.nr);
    OFF("events.", struct kvm_vcpu_events, exception.has_error_code);
    OFF("events.", struct kvm_vcpu_events, exception.pending);
    OFF("events.", struct kvm_vcpu_events, exception.error_code);
    OFF("events.", struct kvm_vcpu_events, interrupt.injected); OFF("events.", struct kvm_vcpu_events, interrupt.nr);
    OFF("events.", struct kvm_vcpu_events, interrupt.soft); OFF("events.", struct kvm_vcpu_events, interrupt.shadow);
    OFF("events.", struct kvm_vcpu_events, nmi.injected); OFF("events.", struct kvm_vcpu_events, nmi.pending);
    OFF("events.", struct kvm_vcpu_events, nmi.masked); OFF("events.", struct kvm_vcpu_events, sipi_vector);
    OFF("events.", struct kvm_vcpu_events, flags); V("events.size", sizeof(struct kvm_vcpu_events));

    OFF("region.", struct kvm_userspace_memory_region, slot);
    OFF("region.", struct kvm_userspace_memory_region, flags);
    OFF("region.", struct kvm_userspace_memory_region, guest_phys_addr);
    OFF("region.", struct kvm_userspace_memory_region, memory_size);
    OFF("region.", struct kvm_userspace_memory_region, userspace_addr);
    V("region.size", sizeof(struct kvm_userspace_memory_region));

    V("cpuid2.header", sizeof(struct kvm_cpuid2)); OFF("cpuid2.", struct kvm_cpuid2, nent);
    OFF("cpuid_entry2.", struct kvm_cpuid_entry2, function); OFF("cpuid_entry2.", struct kvm_cpuid_entry2, index);
    OFF("cpuid_entry2.", struct kvm_cpuid_entry2, flags); OFF("cpuid_entry2.", struct kvm_cpuid_entry2, eax);
    OFF("cpuid_entry2.", struct kvm_cpuid_entry2, ebx); OFF("cpuid_entry2.", struct kvm_cpuid_entry2, ecx);
    OFF("cpuid_entry2.", struct kvm_cpuid_entry2, edx); V("cpuid_entry2.size", sizeof(struct kvm_cpuid_entry2));

    V("msrs.header", sizeof(struct kvm_msrs)); OFF("msr_entry.", struct kvm_msr_entry, index);
    OFF("msr_entry.", struct kvm_msr_entry, data); V("msr_entry.size", sizeof(struct kvm_msr_entry));

    OFF("msr_filter.", struct kvm_msr_filter, flags); OFF("msr_filter.", struct kvm_msr_filter, ranges);
    V("msr_filter.max_ranges", KVM_MSR_FILTER_MAX_RANGES); V("msr_filter.size", sizeof(struct kvm_msr_filter));
    OFF("msr_filter_range.", struct kvm_msr_filter_range, flags);
    OFF("msr_filter_range.", struct kvm_msr_filter_range, nmsrs);
    OFF("msr_filter_range.", struct kvm_msr_filter_range, base);
    OFF("msr_filter_range.", struct kvm_msr_filter_range, bitmap);
    V("msr_filter_range.size", sizeof(struct kvm_msr_filter_range));

    OFF("enable_cap.", struct kvm_enable_cap, cap); OFF("enable_cap.", struct kvm_enable_cap, flags);
    OFF("enable_cap.", struct kvm_enable_cap, args); V("enable_cap.size", sizeof(struct kvm_enable_cap));
    OFF("xcrs.", struct kvm_xcrs, nr_xcrs); OFF("xcrs.", struct kvm_xcrs, flags); OFF("xcrs.", struct kvm_xcrs, xcrs);
    OFF("xcr.", struct kvm_xcr, xcr); OFF("xcr.", struct kvm_xcr, value); V("xcr.size", sizeof(struct kvm_xcr));
    V("xcrs.size", sizeof(struct kvm_xcrs));
    OFF("debugregs.", struct kvm_debugregs, db); OFF("debugregs.", struct kvm_debugregs, dr6);
    OFF("debugregs.", struct kvm_debugregs, dr7); OFF("debugregs.", struct kvm_debugregs, flags);
    V("debugregs.size", sizeof(struct kvm_debugregs));
    OFF("guest_debug.", struct kvm_guest_debug, control); OFF("guest_debug.", struct kvm_guest_debug, arch.debugreg);
    V("guest_debug.size", sizeof(struct kvm_guest_debug));
    return 0;
}
