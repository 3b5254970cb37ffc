# sys-apic — a test kernel for the local APIC a VMM gives its guest and for the MSRs a kernel touches at boot
# (SDM Vol. 3A chapter 11 "Advanced Programmable Interrupt Controller", 12.11 MTRRs, 12.12 PAT): CPUID's APIC, x2APIC,
# TSC-deadline, MTRR and PAT flags; IA32_APIC_BASE; the MTRRs' and PAT's #GP rules; then the local APIC first in xAPIC
# mode through its memory-mapped page at FEE00000H, then in x2APIC mode through MSRs 800H-8FFH: the version, ID and
# logical ID, the software enable in the SVR, TPR and PPR, ISR/IRR/EOI with interrupts taken through the IDT, the timer
# in one-shot, periodic and TSC-deadline mode (also waking the processor from HLT), a masked LVT entry, self-IPIs
# through the ICR and the SELF IPI register, the ESR, CR8 as the TPR, the x2APIC #GP rules (11.12.1.3, 11.12.2) and the
# IA32_APIC_BASE state transitions (11.12.5). Every check prints "ok   ..." or "FAIL ..." (include/systest.inc); the
# run ends with the line
#   sys-apic: all 88 checks passed
# and exit code 0 (otherwise the number of failed checks). The timer's input clock is the TSC (divide by 1 gives one
# count per TSC tick: the local-apic bundle's default); under the software processor the TSC counts instructions.

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.set APIC_BASE_ADDR,    0xFEE00000
.set IA32_APIC_BASE,    0x1B
.set IA32_MTRRCAP,      0xFE
.set IA32_MTRR_PHYSBASE0, 0x200
.set IA32_MTRR_PHYSMASK0, 0x201
.set IA32_MTRR_FIX64K,  0x250
.set IA32_PAT,          0x277
.set IA32_MTRR_DEF_TYPE, 0x2FF
.set IA32_TSC_DEADLINE, 0x6E0
.set APIC_EN,           1 << 11
.set APIC_EXTD,         1 << 10
.set APIC_BSP,          1 << 8
.set PD_APIC,           0x105000    # maps the 2-MiB page around FEE00000H (PDPT entry 3), uncacheable

# register offsets (Table 11-1); in x2APIC mode MSR 800H + offset / 16
.set R_ID,    0x20
.set R_VER,   0x30
.set R_TPR,   0x80
.set R_PPR,   0xA0
.set R_EOI,   0xB0
.set R_LDR,   0xD0
.set R_SVR,   0xF0
.set R_ISR,   0x100
.set R_IRR,   0x200
.set R_ESR,   0x280
.set R_ICR,   0x300
.set R_LVTT,  0x320
.set R_TICR,  0x380
.set R_TCCR,  0x390
.set R_TDCR,  0x3E0
.set LVT_MASKED,    1 << 16
.set LVT_PERIODIC,  1 << 17
.set LVT_DEADLINE,  2 << 17
.set DIVIDE_BY_1,   0xB
.set ICR_SELF,      1 << 18         # destination shorthand 01: self
.set WAIT_LOOPS,    400000          # how long a wait for an interrupt may take (iterations of a 3-instruction loop)

.text
.globl _start
.code16
_start:
    SYSTEST_ENTER_PROTECTED_MODE prot
.code32
prot:
    SYSTEST_PAGING64
    # the APIC page: PDPT[3] -> PD_APIC, whose entry 1F7H maps FEE00000H as a 2-MiB page with PCD and PWT
    mov edi, PD_APIC
    xor eax, eax
    mov ecx, 1024
    rep stosd
    mov dword ptr [PDPT_ADDR + 3 * 8], PD_APIC | 3
    mov dword ptr [PD_APIC + 0x1F7 * 8], APIC_BASE_ADDR | 0x9B
    SYSTEST_ENTER_LONG_MODE long
.code64
long:
    call setup_idt64
    call setup_apic_gates
    call cpuid_flags
    call msrs
    call xapic_registers
    call xapic_timer
    call xapic_priorities
    call xapic_hlt
    call enter_x2apic
    call x2apic_rules
    call x2apic_timer
    call tsc_deadline
    call apic_base_transitions
    jmp finish64

# ---------------------------------------------------------------------------------------------------------
# Vol. 2A CPUID: APIC (01H:EDX[9]), MTRR (EDX[12]), PAT (EDX[16]), x2APIC (ECX[21]), TSC-deadline (ECX[24])
cpuid_flags:
    mov eax, 1
    cpuid
    mov eax, edx
    and eax, (1 << 9) | (1 << 12) | (1 << 16)
    CHECK64 "CPUID.01H:EDX: APIC, MTRR and PAT", ((1 << 9) | (1 << 12) | (1 << 16))
    mov eax, ecx
    and eax, (1 << 21) | (1 << 24)
    CHECK64 "CPUID.01H:ECX: x2APIC and TSC-deadline", ((1 << 21) | (1 << 24))
    mov eax, 1
    cpuid
    mov eax, ebx
    shr eax, 24
    CHECK64 "CPUID.01H:EBX[31:24]: initial APIC ID 0", 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 11.4.4 IA32_APIC_BASE; 12.11 MTRRs; 12.12.2 PAT
msrs:
    mov ecx, IA32_APIC_BASE
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK64 "IA32_APIC_BASE after reset: FEE00000H, EN, BSP", (APIC_BASE_ADDR | APIC_EN | APIC_BSP)
    mov ecx, IA32_MTRRCAP
    rdmsr
    CHECK64 "IA32_MTRRCAP: 8 variable ranges, fixed ranges, WC", 0x508
    mov ecx, IA32_MTRR_DEF_TYPE
    mov eax, 0xC06                  # E, FE, default type WB
    xor edx, edx
    wrmsr
    rdmsr
    CHECK64 "IA32_MTRR_DEF_TYPE: E, FE and WB written and read back", 0xC06
    TRY64 1f
    mov ecx, IA32_MTRR_DEF_TYPE
    mov eax, 0x1C06                 # bit 12 is reserved
    wrmsr
1:  CHECK_EXC64 "IA32_MTRR_DEF_TYPE with a reserved bit: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, IA32_MTRR_DEF_TYPE
    mov eax, 0xC02                  # memory type 2 is reserved
    wrmsr
1:  CHECK_EXC64 "IA32_MTRR_DEF_TYPE with memory type 2: #GP(0)", EXC_GP, 0
    mov ecx, IA32_MTRR_PHYSBASE0
    mov eax, 0x00100006             # 1 MiB, WB
    xor edx, edx
    wrmsr
    mov ecx, IA32_MTRR_PHYSMASK0
    mov eax, 0xFFF00800             # 1 MiB, valid
    mov edx, 0x3FFF                 # up to MAXPHYADDR 46
    wrmsr
    rdmsr
    shl rdx, 32
    or rax, rdx
    mov rbx, 0x00003FFFFFF00800
    CHECK64 "IA32_MTRR_PHYSMASK0 written and read back", rbx
    TRY64 1f
    mov ecx, IA32_MTRR_PHYSMASK0
    mov eax, 0xFFF00801             # bits 10:0 are reserved
    wrmsr
1:  CHECK_EXC64 "IA32_MTRR_PHYSMASK0 with a reserved bit: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, IA32_MTRR_PHYSBASE0
    mov eax, 0x00100003             # type 3 is reserved
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "IA32_MTRR_PHYSBASE0 with memory type 3: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, IA32_MTRR_FIX64K
    mov eax, 0x06060606
    mov edx, 0x06060607             # byte 7: type 7 is UC- of the PAT, not an MTRR type
    wrmsr
1:  CHECK_EXC64 "IA32_MTRR_FIX64K_00000 with memory type 7: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, IA32_PAT
    mov eax, 0x00070406
    mov edx, 0x00070402             # PA6 = 2 is reserved
    wrmsr
1:  CHECK_EXC64 "IA32_PAT with memory type 2: #GP(0)", EXC_GP, 0
    mov ecx, IA32_PAT
    mov eax, 0x00070106             # PA1 = WC
    mov edx, 0x00070406
    wrmsr
    rdmsr
    CHECK64 "IA32_PAT: WC written and read back", 0x00070106
    ret

# ---------------------------------------------------------------------------------------------------------
# xAPIC mode (11.4): the registers in the page at FEE00000H
xapic_registers:
    mov ecx, R_VER
    call apic_read
    and eax, 0xFF00FF
    CHECK64 "version register: version 14H, Max LVT Entry 5", 0x050014
    mov ecx, R_ID
    call apic_read
    CHECK64 "ID register: APIC ID 0 in bits 31:24", 0
    mov ecx, R_SVR
    call apic_read
    CHECK64 "SVR after reset: FFH (software-disabled)", 0xFF
    mov ecx, R_LVTT
    mov eax, 0x40                   # unmasked, but the APIC is software-disabled (11.4.7.2)
    call apic_write
    call apic_read
    CHECK64 "a software-disabled APIC keeps LVT entries masked", (LVT_MASKED | 0x40)
    mov ecx, R_SVR
    mov eax, 0x1FF
    call apic_write
    call apic_read
    CHECK64 "SVR: APIC software-enabled, spurious vector FFH", 0x1FF
    mov ecx, R_TPR
    mov eax, 0x20
    call apic_write
    call apic_read
    CHECK64 "TPR written and read back", 0x20
    mov ecx, R_PPR
    call apic_read
    CHECK64 "PPR = TPR while nothing is in service (11.8.3.1)", 0x20
    mov ecx, R_TPR
    xor eax, eax
    call apic_write
    TRY64 1f
    mov ecx, 0x802
    rdmsr
1:  CHECK_EXC64 "RDMSR of an x2APIC register in xAPIC mode: #GP(0) (11.12.2)", EXC_GP, 0
    # the ESR: a self-IPI with vector 5 is "send illegal vector" (11.5.3)
    mov ecx, R_ESR
    call apic_write
    mov ecx, R_ICR
    mov eax, ICR_SELF | 5
    call apic_write
    mov ecx, R_ESR
    xor eax, eax
    call apic_write                 # latches the errors seen since the last write
    call apic_read
    CHECK64 "ESR after a self-IPI with vector 5: send illegal vector", 0x20
    ret

# ---------------------------------------------------------------------------------------------------------
# 11.5.4 the timer in one-shot and periodic mode
xapic_timer:
    mov ecx, R_TDCR
    mov eax, DIVIDE_BY_1
    call apic_write
    mov ecx, R_LVTT
    mov eax, 0x40                   # one-shot, vector 40H
    call apic_write
    call reset_irqs
    mov eax, 3000
    mov ebx, 1
    call run_timer
    mov eax, [rip + irq_count]
    CHECK64 "one-shot timer: one interrupt", 1
    mov eax, [rip + last_vector]
    CHECK64 "... through IDT vector 40H", 0x40
    mov eax, [rip + isr_seen]
    CHECK64 "... in service (ISR bit 40H) while its handler runs", 1
    mov ecx, R_ISR + 0x20
    call apic_read
    CHECK64 "... and no more after the handler's EOI", 0
    mov ecx, R_TCCR
    call apic_read
    CHECK64 "one-shot timer: current count 0 after it expired", 0
    sti
    mov ebx, 2
    call wait_irqs
    cli
    mov eax, [rip + irq_count]
    CHECK64 "one-shot timer: no second interrupt", 1
    # the current count goes down from the initial count
    mov ecx, R_TICR
    mov eax, 1000000
    call apic_write
    mov ecx, R_TCCR
    call apic_read
    mov ebx, eax
    call apic_read
    cmp eax, ebx
    setb al
    cmp ebx, 1000000
    setbe bl
    and al, bl
    movzx eax, al
    CHECK64 "current count: at most the initial count, and going down", 1
    mov ecx, R_TICR
    xor eax, eax
    call apic_write                 # 0 stops the timer
    mov ecx, R_TCCR
    call apic_read
    CHECK64 "initial count 0 stops the timer: current count 0", 0
    # periodic
    mov ecx, R_LVTT
    mov eax, LVT_PERIODIC | 0x40
    call apic_write
    call reset_irqs
    mov eax, 4000
    mov ebx, 3
    call run_timer
    mov ecx, R_TICR
    xor eax, eax
    call apic_write
    mov eax, [rip + irq_count]
    CHECK64 "periodic timer: three interrupts, one per period", 3
    mov rax, [rip + irq_tsc + 16]
    sub rax, [rip + irq_tsc + 8]
    cmp rax, 4000
    setae al
    movzx eax, al
    CHECK64 "... a period (4000 TSC ticks) apart at least", 1
    # divide by 2: the count lasts twice as long
    mov ecx, R_LVTT
    mov eax, 0x40
    call apic_write
    mov ecx, R_TDCR
    xor eax, eax                    # 000: divide by 2
    call apic_write
    call reset_irqs
    call read_tsc
    mov [rip + start_tsc], rax
    mov eax, 3000
    mov ebx, 1
    call run_timer
    mov rax, [rip + irq_tsc]
    sub rax, [rip + start_tsc]
    cmp rax, 6000
    setae al
    movzx eax, al
    CHECK64 "divide by 2: 3000 counts last at least 6000 TSC ticks", 1
    mov ecx, R_TDCR
    mov eax, DIVIDE_BY_1
    call apic_write
    # masked
    mov ecx, R_LVTT
    mov eax, LVT_MASKED | 0x40
    call apic_write
    call reset_irqs
    mov eax, 500
    mov ebx, 1
    call run_timer
    mov eax, [rip + irq_count]
    CHECK64 "masked LVT timer entry: no interrupt", 0
    mov ecx, R_IRR + 0x20
    call apic_read
    CHECK64 "... and nothing requested in the IRR", 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 11.8.3 TPR, PPR, IRR, ISR, EOI
xapic_priorities:
    mov ecx, R_LVTT
    mov eax, 0x40
    call apic_write
    mov ecx, R_TPR
    mov eax, 0x50                   # class 5 blocks class 4
    call apic_write
    call reset_irqs
    sti
    mov ecx, R_TICR
    mov eax, 300
    call apic_write
    mov ebx, 1
    call wait_irqs
    mov eax, [rip + irq_count]
    CHECK64 "TPR 50H holds back vector 40H", 0
    mov ecx, R_IRR + 0x20
    call apic_read
    CHECK64 "... which waits in the IRR", 1
    mov ecx, R_TPR
    xor eax, eax
    call apic_write                 # the interrupt comes at the next instruction boundary with IF = 1
    nop
    cli
    mov eax, [rip + irq_count]
    CHECK64 "TPR 0: the waiting interrupt is delivered", 1
    # an interrupt whose handler leaves it in service holds back its own priority class
    mov byte ptr [rip + no_eoi], 1
    call reset_irqs
    mov ecx, R_ICR
    mov eax, ICR_SELF | 0x41
    call apic_write                 # with IF = 0: requested, not delivered
    mov ecx, R_IRR + 0x20
    call apic_read
    CHECK64 "self-IPI 41H with IF = 0: requested in the IRR", 2
    sti
    nop
    cli
    mov eax, [rip + irq_count]
    CHECK64 "... delivered once IF = 1", 1
    mov byte ptr [rip + no_eoi], 0
    mov ecx, R_PPR
    call apic_read
    CHECK64 "PPR: the class of the interrupt in service (40H)", 0x40
    mov ecx, R_ICR
    mov eax, ICR_SELF | 0x42
    call apic_write
    sti
    nop
    nop
    cli
    mov eax, [rip + irq_count]
    CHECK64 "self-IPI 42H (same class) waits while 41H is in service", 1
    mov rdx, APIC_BASE_ADDR
    sti
    mov dword ptr [rdx + R_EOI], 0  # C7 /0: the EOI ends 41H, and 42H comes
    nop
    cli
    mov eax, [rip + irq_count]
    CHECK64 "EOI of 41H: 42H is delivered", 2
    mov eax, [rip + last_vector]
    CHECK64 "... through vector 42H", 0x42
    mov ecx, R_ISR + 0x20
    call apic_read
    CHECK64 "ISR empty after both EOIs", 0
    ret

# ---------------------------------------------------------------------------------------------------------
# HLT until the timer's interrupt: the TSC moves on to the expiry
xapic_hlt:
    call reset_irqs
    call read_tsc
    mov [rip + start_tsc], rax
    mov ecx, R_TICR
    mov eax, 50000
    call apic_write
    sti
    hlt
    cli
    mov eax, [rip + irq_count]
    CHECK64 "HLT: the one-shot timer's interrupt wakes the processor", 1
    mov rax, [rip + irq_tsc]
    sub rax, [rip + start_tsc]
    cmp rax, 50000
    setae al
    movzx eax, al
    CHECK64 "... not before 50000 TSC ticks", 1
    ret

# ---------------------------------------------------------------------------------------------------------
# 11.12: x2APIC mode
enter_x2apic:
    mov ecx, IA32_APIC_BASE
    rdmsr
    or eax, APIC_EXTD
    wrmsr
    rdmsr
    CHECK64 "IA32_APIC_BASE: EXTD set, x2APIC mode", (APIC_BASE_ADDR | APIC_EN | APIC_EXTD | APIC_BSP)
    mov byte ptr [rip + x2apic], 1
    mov ecx, R_ID
    call apic_read
    CHECK64 "x2APIC ID (MSR 802H): 0", 0
    mov ecx, R_LDR
    call apic_read
    CHECK64 "logical x2APIC ID (MSR 80DH): cluster 0, bit 0 (11.12.10.2)", 1
    mov ecx, R_SVR
    call apic_read
    CHECK64 "SVR kept across the switch to x2APIC mode", 0x1FF
    mov ecx, R_VER
    call apic_read
    and eax, 0xFF00FF
    CHECK64 "version (MSR 803H)", 0x050014
    ret

x2apic_rules:
    TRY64 1f
    mov ecx, 0x80B
    rdmsr
1:  CHECK_EXC64 "RDMSR of EOI (write-only): #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x83F
    rdmsr
1:  CHECK_EXC64 "RDMSR of SELF IPI (write-only): #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x802
    xor eax, eax
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "WRMSR of the x2APIC ID (read-only): #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x808
    mov eax, 0x100
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "WRMSR of TPR with reserved bit 8: #GP(0) (11.12.1.3)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x808
    xor eax, eax
    mov edx, 1
    wrmsr
1:  CHECK_EXC64 "WRMSR of TPR with bit 32 set: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x80B
    mov eax, 1
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "WRMSR of EOI with a non-zero value: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x809
    rdmsr
1:  CHECK_EXC64 "RDMSR 809H (APR does not exist in x2APIC mode): #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, 0x831
    rdmsr
1:  CHECK_EXC64 "RDMSR 831H (ICR high half does not exist in x2APIC mode): #GP(0)", EXC_GP, 0
    # CR8 is TPR[7:4] (11.8.6)
    mov eax, 3
    mov cr8, rax
    mov ecx, R_TPR
    call apic_read
    CHECK64 "MOV CR8, 3: TPR = 30H", 0x30
    mov ecx, R_TPR
    mov eax, 0x5F
    call apic_write
    mov rax, cr8
    CHECK64 "TPR 5FH: MOV from CR8 reads 5", 5
    xor eax, eax
    mov cr8, rax
    TRY64 1f
    mov eax, 0x10
    mov cr8, rax
1:  CHECK_EXC64 "MOV CR8 with bit 4 set: #GP(0)", EXC_GP, 0
    ret

x2apic_timer:
    mov ecx, R_LVTT
    mov eax, 0x43
    call apic_write
    call reset_irqs
    mov eax, 2500
    mov ebx, 1
    call run_timer
    mov eax, [rip + irq_count]
    CHECK64 "x2APIC one-shot timer: one interrupt", 1
    mov eax, [rip + last_vector]
    CHECK64 "... vector 43H", 0x43
    mov eax, [rip + isr_seen]
    CHECK64 "... in service (MSR 812H bit 3) in its handler", 1
    mov ecx, R_LVTT
    mov eax, LVT_PERIODIC | 0x43
    call apic_write
    call reset_irqs
    mov eax, 3000
    mov ebx, 4
    call run_timer
    mov ecx, R_TICR
    xor eax, eax
    call apic_write
    mov eax, [rip + irq_count]
    CHECK64 "x2APIC periodic timer: four interrupts", 4
    # SELF IPI (11.12.11)
    call reset_irqs
    mov ecx, 0x83F
    mov eax, 0x44
    xor edx, edx
    wrmsr
    sti
    nop
    cli
    mov eax, [rip + last_vector]
    CHECK64 "SELF IPI register: vector 44H delivered", 0x44
    # the ICR is one 64-bit register (11.12.9): destination 0 (this APIC), physical, fixed
    call reset_irqs
    mov ecx, 0x830
    mov eax, 0x45
    xor edx, edx
    wrmsr
    rdmsr
    CHECK64 "ICR (MSR 830H) reads back what was written", 0x45
    sti
    nop
    cli
    mov eax, [rip + last_vector]
    CHECK64 "... and the IPI to APIC ID 0 arrived as vector 45H", 0x45
    ret

# ---------------------------------------------------------------------------------------------------------
# 11.5.4.1 TSC-deadline mode
tsc_deadline:
    mov ecx, R_LVTT
    mov eax, LVT_DEADLINE | 0x46
    call apic_write
    mov ecx, R_TICR
    mov eax, 1000
    call apic_write
    call apic_read
    CHECK64 "TSC-deadline mode: writes of the initial count are ignored", 0
    call reset_irqs
    call read_tsc
    add rax, 20000
    mov [rip + deadline], rax
    mov rdx, rax
    shr rdx, 32
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK64 "IA32_TSC_DEADLINE reads back the armed deadline", [rip + deadline]
    sti
    mov ebx, 1
    call wait_irqs
    cli
    mov eax, [rip + last_vector]
    CHECK64 "the deadline passed: vector 46H", 0x46
    mov rax, [rip + irq_tsc]
    cmp rax, [rip + deadline]
    setae al
    movzx eax, al
    CHECK64 "... not before the deadline", 1
    mov ecx, IA32_TSC_DEADLINE
    rdmsr
    shl rdx, 32
    or rax, rdx
    CHECK64 "IA32_TSC_DEADLINE is 0 once it fired", 0
    # a deadline in the past fires at once
    call reset_irqs
    mov ecx, IA32_TSC_DEADLINE
    mov eax, 1
    xor edx, edx
    wrmsr
    sti
    nop
    cli
    mov eax, [rip + irq_count]
    CHECK64 "a deadline already passed fires at once", 1
    # disarming with 0
    call reset_irqs
    rdtsc
    add eax, 3000
    adc edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    xor eax, eax
    xor edx, edx
    wrmsr
    sti
    mov ebx, 1
    call wait_irqs
    cli
    mov eax, [rip + irq_count]
    CHECK64 "writing 0 disarms the deadline", 0
    # HLT until the deadline
    call reset_irqs
    call read_tsc
    add rax, 100000
    mov [rip + deadline], rax
    mov rdx, rax
    shr rdx, 32
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    sti
    hlt
    cli
    mov eax, [rip + irq_count]
    CHECK64 "HLT until the TSC deadline: woken by its interrupt", 1
    mov rax, [rip + irq_tsc]
    cmp rax, [rip + deadline]
    setae al
    movzx eax, al
    CHECK64 "... at or after the deadline", 1
    # leaving TSC-deadline mode disarms
    rdtsc
    add eax, 3000
    adc edx, 0
    mov ecx, IA32_TSC_DEADLINE
    wrmsr
    mov ecx, R_LVTT
    mov eax, 0x46
    call apic_write
    mov ecx, IA32_TSC_DEADLINE
    rdmsr
    CHECK64 "one-shot mode again: IA32_TSC_DEADLINE reads 0", 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 11.12.5 the IA32_APIC_BASE state transitions
apic_base_transitions:
    TRY64 1f
    mov ecx, IA32_APIC_BASE
    mov eax, APIC_BASE_ADDR | APIC_EN | APIC_BSP
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "x2APIC to xAPIC directly: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, IA32_APIC_BASE
    mov eax, APIC_BASE_ADDR | APIC_EXTD | APIC_BSP
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "EXTD without EN: #GP(0)", EXC_GP, 0
    TRY64 1f
    mov ecx, IA32_APIC_BASE
    mov eax, APIC_BASE_ADDR | APIC_EN | APIC_EXTD | APIC_BSP | 0x200
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "reserved bit 9 of IA32_APIC_BASE: #GP(0)", EXC_GP, 0
    mov ecx, IA32_APIC_BASE
    mov eax, APIC_BASE_ADDR | APIC_BSP
    xor edx, edx
    wrmsr                           # disabled
    mov byte ptr [rip + x2apic], 0
    mov eax, 1
    cpuid
    mov eax, edx
    and eax, 1 << 9
    CHECK64 "a disabled APIC: CPUID.01H:EDX.APIC = 0 (11.4.3)", 0
    TRY64 1f
    mov ecx, IA32_APIC_BASE
    mov eax, APIC_BASE_ADDR | APIC_EN | APIC_EXTD | APIC_BSP
    xor edx, edx
    wrmsr
1:  CHECK_EXC64 "disabled to x2APIC directly: #GP(0)", EXC_GP, 0
    mov ecx, IA32_APIC_BASE
    mov eax, APIC_BASE_ADDR | APIC_EN | APIC_BSP
    xor edx, edx
    wrmsr                           # xAPIC mode again
    mov ecx, R_SVR
    call apic_read
    CHECK64 "enabled again: the registers are in their reset state (SVR FFH)", 0xFF
    mov ecx, R_LVTT
    call apic_read
    CHECK64 "... LVT timer masked", LVT_MASKED
    ret

# ---------------------------------------------------------------------------------------------------------
# apic_read: EAX = register ECX (an xAPIC offset) through the page or, in x2APIC mode, RDMSR 800H + ECX / 16.
# apic_write: register ECX = EAX. Both keep ECX.
apic_read:
    cmp byte ptr [rip + x2apic], 0
    jne 1f
    push rdx
    mov edx, APIC_BASE_ADDR
    mov eax, [rdx + rcx]            # 8B /r with a SIB: the load the APIC device emulates
    pop rdx
    ret
1:  push rcx
    push rdx
    shr ecx, 4
    add ecx, 0x800
    rdmsr
    pop rdx
    pop rcx
    ret

apic_write:
    cmp byte ptr [rip + x2apic], 0
    jne 1f
    push rdx
    mov edx, APIC_BASE_ADDR
    mov [rdx + rcx], eax            # 89 /r
    pop rdx
    ret
1:  push rcx
    push rdx
    shr ecx, 4
    add ecx, 0x800
    xor edx, edx
    wrmsr
    pop rdx
    pop rcx
    ret

# run_timer: with interrupts enabled, starts the timer with initial count EAX and waits (wait_irqs) for EBX of them
run_timer:
    push rcx
    sti
    mov ecx, R_TICR
    call apic_write
    call wait_irqs
    cli
    pop rcx
    ret

# read_tsc: RAX = the TSC (RDTSC's EDX:EAX); RDX is lost
read_tsc:
    rdtsc
    shl rdx, 32
    or rax, rdx
    ret

reset_irqs:
    mov dword ptr [rip + irq_count], 0
    mov dword ptr [rip + last_vector], 0
    mov dword ptr [rip + isr_seen], 0
    ret

# wait_irqs: until irq_count >= EBX, or WAIT_LOOPS iterations
wait_irqs:
    push rcx
    mov ecx, WAIT_LOOPS
1:  cmp [rip + irq_count], ebx
    jae 2f
    dec ecx
    jnz 1b
2:  pop rcx
    ret

# IDT gates 40H-46H to the handler below (interrupt gates: IF = 0 inside)
setup_apic_gates:
    mov edi, 0x40
1:  mov eax, edi
    sub eax, 0x40
    shl eax, 4
    lea rdx, [rip + irq_stubs]
    add rax, rdx
    push rdx
    mov edx, 0x8E00
    call set_gate64
    pop rdx
    inc edi
    cmp edi, 0x47
    jb 1b
    ret

    .p2align 4
irq_stubs:
.irp v, 0x40,0x41,0x42,0x43,0x44,0x45,0x46
    .p2align 4
    push \v
    jmp irq_common
.endr

# records the vector, the TSC, whether the vector is in service, and (unless no_eoi) signals EOI
irq_common:
    push rax
    push rcx
    push rdx
    push rbx
    mov ebx, [rsp + 32]
    mov [rip + last_vector], ebx
    call read_tsc
    mov ecx, [rip + irq_count]
    and ecx, 3
    lea rdx, [rip + irq_tsc]
    mov [rdx + rcx * 8], rax
    inc dword ptr [rip + irq_count]
    mov ecx, ebx
    shr ecx, 5
    shl ecx, 4
    add ecx, R_ISR                  # the ISR register that holds the vector's bit
    call apic_read
    mov ecx, ebx
    and ecx, 31
    shr eax, cl
    and eax, 1
    mov [rip + isr_seen], eax
    cmp byte ptr [rip + no_eoi], 0
    jne 1f
    mov ecx, R_EOI
    xor eax, eax
    call apic_write
1:  pop rbx
    pop rdx
    pop rcx
    pop rax
    add rsp, 8
    iretq

    SYSTEST_FRAMEWORK64 "sys-apic"
    SERIAL_ROUTINES_64
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 3
irq_tsc:            .quad 0, 0, 0, 0
start_tsc:          .quad 0
deadline:           .quad 0
irq_count:          .long 0
last_vector:        .long 0
isr_seen:           .long 0
x2apic:             .byte 0
no_eoi:             .byte 0
.popsection
