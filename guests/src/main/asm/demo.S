# demo — the showcase guest that `vcpu:run` runs: it climbs from real mode through 32-bit protected mode into
# 64-bit long mode and exercises, on the way, every exit the jvmx handler bundles own: I/O (COM1 output with
# LSR polling, the doorbell, debug-exit), CPUID (leaf 0x40000000: the hypervisor signature), CR access (CR0.PE,
# CR4.PAE, CR0.PG are owned by the host's guest/host masks), WRMSR IA32_EFER (LME), XSETBV (XCR0 = x87|SSE,
# read back with XGETBV), an external interrupt (vector 0x20 rung on doorbell port 0xF5 while RFLAGS.IF = 0, so
# it is delivered through the interrupt window after STI) and the VMX-preemption timer (a busy loop of about
# 3,000,000 instructions: several 640,000-instruction time slices). Expected serial output, line by line:
#   [real] hello from real mode
#   [real] hypervisor: RVMRVMRVMRVM
#   [real] entering protected mode
#   [prot] hello from 32-bit protected mode
#   [prot] identity-mapped the first 1 GiB with 2 MiB pages
#   [prot] entering long mode
#   [long] hello from 64-bit long mode
#   [long] efer = 0x0000000000000500
#   [long] xcr0 = 0x0000000000000003
#   [long] doorbell: vector 0x20 with interrupts disabled
#   [long] interrupt 0x20 taken
#   [long] busy loop: 1000000 iterations
#   [long] busy loop sum = 0x000000746a5a2920
#   [long] done
# and exit code 0 on port 0xF4 (exit code 1: the interrupt never arrived).
#
# Memory: the image at 0x8000, the stack below 0x7000, the page tables at 0x10000-0x12FFF, the IDT at 0x13000.

.intel_syntax noprefix
.include "serial.inc"

.set STACK_TOP,   0x7000
.set PML4_ADDR,   0x10000       # page-map level 4
.set PDPT_ADDR,   0x11000       # page-directory-pointer table
.set PD_ADDR,     0x12000       # page directory: 512 entries x 2 MiB = 1 GiB
.set IDT_ADDR,    0x13000       # 256 16-byte gates

.set CODE32_SEL,  0x08          # selectors into the GDT at the end of this file
.set DATA_SEL,    0x10
.set CODE64_SEL,  0x18

.set CR0_PE,      1 << 0
.set CR0_PG,      1 << 31
.set CR4_PAE,     1 << 5
.set CR4_OSXSAVE, 1 << 18
.set IA32_EFER,   0xC0000080
.set EFER_LME,    1 << 8

.set IRQ_VECTOR,  0x20

.text
.globl _start

# ==========================================================================================================
# Real mode (16-bit). Entered at 0x8000 with CS = DS = ES = SS = 0 (the platform's setup_vmcs_guest).
# ==========================================================================================================
.code16
_start:
    cli                             # no interrupts until there is a stack and, later, an IDT
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, STACK_TOP               # we own no stack yet: put it just below the image
    cld                             # string instructions count upwards

    PUTS16 "[real] hello from real mode\n"

    # CPUID leaf 0x40000000 is the hypervisor leaf: EBX, ECX, EDX hold a 12-byte signature. CPUID exits
    # unconditionally in VMX non-root operation (SDM Vol. 3C, 26.1.2), so the CPUID handler bundle answers.
    mov eax, 0x40000000
    cpuid
    mov dword ptr [hypervisor_signature], ebx
    mov dword ptr [hypervisor_signature + 4], ecx
    mov dword ptr [hypervisor_signature + 8], edx
    PUTS16 "[real] hypervisor: "
    mov si, offset hypervisor_signature
    call serial_puts16
    PUTS16 "\n"

    # Switch to protected mode (SDM Vol. 3A, 9.9.1): interrupts are off, load a GDT, set CR0.PE, then a far
    # JMP at once to load CS with a 32-bit code segment and flush the prefetched real-mode instructions.
    # CR0.PE is owned by the host (CR0 guest/host mask), so the MOV to CR0 is a CR-access exit.
    PUTS16 "[real] entering protected mode\n"
    lgdt [gdt_pointer]
    mov eax, cr0
    or eax, CR0_PE
    mov cr0, eax
    ljmp CODE32_SEL, offset protected_mode_entry     # CS.base is 0, so the offset is the linear address

    SERIAL_ROUTINES_16

# ==========================================================================================================
# 32-bit protected mode, flat segments, paging off.
# ==========================================================================================================
.code32
protected_mode_entry:
    # The far JMP loaded CS only; the data segment registers still hold real-mode values (SDM 9.9.1 step 9).
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK_TOP

    PUTS32 "[prot] hello from 32-bit protected mode\n"

    # 4-level paging structures (SDM Vol. 3A, 4.5): PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] maps 2 MiB page i
    # (PS = 1) at physical i * 2 MiB: an identity map of the first 1 GiB, which holds all of guest RAM, this
    # code, its stack and the IDT. Entries: P (bit 0) | R/W (bit 1) [| PS (bit 7)]. Clear the tables first:
    # the memory may hold anything.
    mov edi, PML4_ADDR
    xor eax, eax
    mov ecx, 3 * 4096 / 4
    rep stosd
    mov dword ptr [PML4_ADDR], PDPT_ADDR | 0x3
    mov dword ptr [PDPT_ADDR], PD_ADDR | 0x3
    mov edi, PD_ADDR
    mov eax, 0x83                   # 2 MiB page 0: P | R/W | PS
    mov ecx, 512
1:  mov dword ptr [edi], eax        # bits 31:0 of the entry (the address bits 31:21 and the flags)
    mov dword ptr [edi + 4], 0      # bits 63:32 (address bits above 4 GiB, XD): zero
    add eax, 0x200000
    add edi, 8
    dec ecx
    jnz 1b
    PUTS32 "[prot] identity-mapped the first 1 GiB with 2 MiB pages\n"

    # Enter IA-32e mode (SDM Vol. 3A, 9.8.5), paging being off:
    #   1. CR4.PAE = 1 (IA-32e paging is an extension of PAE paging). CR4.OSXSAVE = 1 as well, so that
    #      XGETBV/XSETBV do not #UD later (SDM Vol. 1, 13.3). CR4.PAE is owned by the host: a CR-access exit.
    #   2. CR3 = the PML4's physical address.
    #   3. IA32_EFER.LME = 1 (RDMSR/WRMSR; the WRMSR is intercepted by the MSR bitmap: an exit).
    #   4. CR0.PG = 1: the processor sets EFER.LMA, and we run in compatibility mode (CS.L = 0).
    #   5. A far JMP to a code segment with L = 1 enters 64-bit mode.
    PUTS32 "[prot] entering long mode\n"
    mov eax, cr4
    or eax, CR4_PAE | CR4_OSXSAVE
    mov cr4, eax
    mov eax, PML4_ADDR
    mov cr3, eax
    mov ecx, IA32_EFER
    rdmsr
    or eax, EFER_LME
    wrmsr
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    ljmp CODE64_SEL, offset long_mode_entry

    SERIAL_ROUTINES_32

# ==========================================================================================================
# 64-bit mode.
# ==========================================================================================================
.code64
long_mode_entry:
    # DS, ES and SS bases are ignored in 64-bit mode (SDM Vol. 3A, 3.4.4), but SS must still be a valid data
    # segment for the IRETQ of the interrupt handler. The upper halves of the general registers are undefined
    # after the switch (SDM Vol. 1, 3.4.1.1), so set the whole RSP.
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov rsp, STACK_TOP

    PUTS64 "[long] hello from 64-bit long mode\n"

    # IA32_EFER now reads LME | LMA (bits 8 and 10): the processor set LMA when paging was enabled.
    mov ecx, IA32_EFER
    rdmsr
    shl rdx, 32
    or rax, rdx
    PUTS64 "[long] efer = "
    call serial_hex64
    PUTS64 "\n"

    # XCR0 (SDM Vol. 1, 13.3): bit 0 (x87) must always be 1, bit 1 enables SSE state. XSETBV exits
    # unconditionally in VMX non-root operation (SDM Vol. 3C, 26.1.2); the XSETBV handler checks the value.
    xor ecx, ecx                    # ECX = 0 selects XCR0
    mov eax, 3                      # x87 | SSE
    xor edx, edx
    xsetbv
    xor ecx, ecx
    xgetbv                          # EDX:EAX = XCR0, the upper halves of RDX and RAX cleared
    shl rdx, 32
    or rax, rdx
    PUTS64 "[long] xcr0 = "
    call serial_hex64
    PUTS64 "\n"

    # A 64-bit IDT (SDM Vol. 3A, 6.14.1): 16-byte gates. Only vector 0x20 is present, so any other event
    # would end in a triple fault, which the host sees as a VM exit, rather than run somewhere unexpected.
    mov rdi, IDT_ADDR
    xor eax, eax
    mov ecx, 256 * 16 / 8
    rep stosq
    lea rax, [rip + interrupt_0x20_handler]
    mov rdi, IDT_ADDR + IRQ_VECTOR * 16
    mov word ptr [rdi], ax              # offset 15:0
    mov word ptr [rdi + 2], CODE64_SEL  # segment selector
    mov word ptr [rdi + 4], 0x8E00      # IST = 0; type 0xE (64-bit interrupt gate); DPL 0; P = 1
    shr rax, 16
    mov word ptr [rdi + 6], ax          # offset 31:16
    shr rax, 16
    mov dword ptr [rdi + 8], eax        # offset 63:32
    mov dword ptr [rdi + 12], 0         # reserved
    lidt [rip + idt_pointer]

    # An external interrupt through the interrupt window. With RFLAGS.IF = 0 the host cannot inject the
    # vector rung on the doorbell: it arms interrupt-window exiting (SDM Vol. 3C, 25.2), the window opens once
    # IF = 1 and the one-instruction STI shadow has passed (SDM Vol. 3A, 6.8.3), and the host injects the
    # interrupt at the next VM entry (SDM Vol. 3C, 27.6). The handler sets interrupt_seen.
    PUTS64 "[long] doorbell: vector 0x20 with interrupts disabled\n"
    cli
    mov byte ptr [rip + interrupt_seen], 0
    mov al, IRQ_VECTOR
    out DOORBELL_PORT, al
    sti
    nop                             # in the STI shadow: still no interrupt here
    nop
    nop
    mov ecx, 100000                 # wait a bounded time: a lost interrupt must end the run, not hang it
1:  cmp byte ptr [rip + interrupt_seen], 0
    jne 2f
    dec ecx
    jnz 1b
    PUTS64 "[long] interrupt 0x20 never arrived\n"
    EXIT64 1
2:

    # About 3,000,000 instructions (3 per iteration): with a 20,000-tick time slice and the timer counting
    # once per 32 TSC ticks (IA32_VMX_MISC[4:0] = 5) the VMX-preemption timer expires every 640,000
    # instructions (SDM Vol. 3C, 26.5.1), so the loop is preempted several times. The sum,
    # 1 + 2 + ... + 1000000 = 500000500000 = 0x746a5a2920, shows that no state was lost across those exits.
    PUTS64 "[long] busy loop: 1000000 iterations\n"
    xor eax, eax
    mov ecx, 1000000
1:  add rax, rcx
    dec rcx
    jnz 1b
    PUTS64 "[long] busy loop sum = "
    call serial_hex64
    PUTS64 "\n"

    PUTS64 "[long] done\n"
    EXIT64 0

# Vector 0x20. An interrupt gate clears RFLAGS.IF on entry; IRETQ restores it (SDM Vol. 3A, 6.14.2-6.14.3).
interrupt_0x20_handler:
    PUTS64 "[long] interrupt 0x20 taken\n"
    mov byte ptr [rip + interrupt_seen], 1
    iretq

    SERIAL_ROUTINES_64

# ==========================================================================================================
# Data (subsection 1 of .text, after the code and the strings above).
# ==========================================================================================================
.pushsection .text, 1
hypervisor_signature:
    .zero 13                        # EBX, ECX, EDX of CPUID 0x40000000 and a NUL

interrupt_seen:
    .byte 0

    .p2align 3
# The GDT (SDM Vol. 3A, 3.4.5): flat 4 GiB segments with base 0. Access byte 0x9A: present, DPL 0, code,
# readable; 0x92: present, DPL 0, data, writable. Flags nibble 0xC: 4 KiB granularity, 32-bit (D = 1);
# 0xA: 4 KiB granularity, 64-bit code (L = 1, D = 0).
gdt:
    .quad 0                         # 0x00: the null descriptor
    .quad 0x00CF9A000000FFFF        # 0x08: 32-bit code
    .quad 0x00CF92000000FFFF        # 0x10: data
    .quad 0x00AF9A000000FFFF        # 0x18: 64-bit code
gdt_end:

gdt_pointer:                        # LGDT operand: limit, then base (24 bits used with a 16-bit operand)
    .word gdt_end - gdt - 1
    .long gdt

    .p2align 3
idt_pointer:                        # LIDT operand in 64-bit mode: limit, then a 64-bit base
    .word 256 * 16 - 1
    .quad IDT_ADDR
.popsection
