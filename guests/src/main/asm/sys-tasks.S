# sys-tasks — a test kernel for hardware task switching (SDM Vol. 3A, chapter 7) in 32-bit protected mode: JMP to a
# TSS and back, CALL to a TSS and IRET back (the previous-task link, NT, the busy bits), CALL through a task gate,
# INT n through a task gate in the IDT, an exception with an error code through a task gate (the error code on the
# new task's stack), a double fault handled by its own task (as 32-bit kernels do), and a 16-bit TSS. Each task
# checks what it finds when it starts (TR, CR0.TS, EFLAGS.NT, its registers, the link field, the busy bits) and the
# resumed task checks what was saved. In VMX non-root operation every task switch is a VM exit that the VMM performs
# (SDM Vol. 3C 26.4.2): this kernel runs with the platform's TASK_SWITCH handler. Every check prints "ok   ..." or
# "FAIL ..." (include/systest.inc); the run ends with the line
#   sys-tasks: all 32 checks passed
# and exit code 0 (otherwise the number of failed checks).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.set TSS_B,       0x58              # an available 32-bit TSS (task B)
.set TSS_C,       0x60              # task C, for the task gates
.set TSS_D,       0x68              # task D: the #GP handler task
.set TSS_E,       0x70              # task E: the #DF handler task
.set TSS_16,      0x78              # a 16-bit TSS
.set GATE_C,      0x80              # a task gate to TSS_C
.set CODE16,      0x88              # 16-bit code, base 0, limit 0xFFFF
.set NP_DATA,     0x90              # a not-present data segment (to make #NP)
.set B_ADDR,      0x12000
.set C_ADDR,      0x12100
.set D_ADDR,      0x12200
.set E_ADDR,      0x12300
.set T16_ADDR,    0x12400
.set CR0_TS,      1 << 3

.macro TSS32_DESC sel, addr
    mov dword ptr [gdt + \sel], ((\addr & 0xFFFF) << 16) | 0x67
    mov dword ptr [gdt + \sel + 4], 0x00008900 | ((\addr >> 16) & 0xFF)
.endm

# TASK32 addr, entry, stack: a 32-bit TSS at addr whose task starts at entry with the given stack, flat kernel
# segments, EFLAGS 2, no LDT, EAX = 0xA0 + the TSS's index (so that each task can tell it was loaded)
.macro TASK32 addr, entry, stack
    mov edi, \addr
    xor eax, eax
    mov ecx, 0x68 / 4
    rep stosd
    mov dword ptr [\addr + 0x20], offset \entry
    mov dword ptr [\addr + 0x24], 2
    mov dword ptr [\addr + 0x28], 0xA0 + ((\addr >> 8) & 0xF)
    mov dword ptr [\addr + 0x38], \stack
    mov word ptr [\addr + 0x48], KERNEL_DS
    mov word ptr [\addr + 0x4C], KERNEL_CS32
    mov word ptr [\addr + 0x50], KERNEL_DS
    mov word ptr [\addr + 0x54], KERNEL_DS
    mov word ptr [\addr + 0x58], KERNEL_DS
    mov word ptr [\addr + 0x5C], KERNEL_DS
    mov word ptr [\addr + 0x66], 0x68
.endm

.text
.globl _start
.code16
_start:
    SYSTEST_ENTER_PROTECTED_MODE prot
.code32
prot:
    call setup_idt32
    call setup_tss32                # task A: this code, TR = TSS_SEL
    TSS32_DESC TSS_B, B_ADDR
    TSS32_DESC TSS_C, C_ADDR
    TSS32_DESC TSS_D, D_ADDR
    TSS32_DESC TSS_E, E_ADDR
    mov dword ptr [gdt + TSS_16], ((T16_ADDR & 0xFFFF) << 16) | 0x2B
    mov dword ptr [gdt + TSS_16 + 4], 0x00008100 | ((T16_ADDR >> 16) & 0xFF)
    mov dword ptr [gdt + GATE_C], TSS_C << 16
    mov dword ptr [gdt + GATE_C + 4], 0x00008500
    mov dword ptr [gdt + CODE16], 0x0000FFFF
    mov dword ptr [gdt + CODE16 + 4], 0x00009A00
    mov dword ptr [gdt + NP_DATA], 0x0000FFFF
    mov dword ptr [gdt + NP_DATA + 4], 0x00CF1200

    call jmp_and_back
    call call_and_iret
    call task_gates
    call exception_tasks
    call sixteen_bit_task
    jmp finish32

# busy_type: EAX = the type (bits 4:0 of the access byte) of the TSS descriptor whose selector is in EBX
busy_type:
    movzx eax, byte ptr [gdt + ebx + 5]
    and eax, 0x1F
    ret

# ---------------------------------------------------------------------------------------------------------
# 7.3: JMP to a TSS: the old task's state is saved, its busy bit cleared; JMP back resumes it after its JMP
jmp_and_back:
    TASK32 B_ADDR, task_b_jmp, 0x70000
    mov ebx, 0x1234
    mov esi, 0x5678
    clts
    ljmp TSS_B, 0
a_after_jmp:
    CHECK32 "JMP back to task A: EAX as task A saved it", 0x5A5A
    mov eax, ebx
    CHECK32 "... EBX too", 0x1234
    mov eax, esi
    CHECK32 "... and ESI", 0x5678
    str ax
    movzx eax, ax
    CHECK32 "... TR = task A's TSS again", TSS_SEL
    mov eax, [TSS_ADDR + 0x20]
    mov edx, offset a_after_jmp
    CHECK32 "task A's saved EIP: the instruction after its JMP", edx
    ret

task_b_jmp:
    mov [b_eax], eax
    str ax
    movzx eax, ax
    CHECK32 "JMP to a TSS: the new task runs with TR = its TSS", TSS_B
    mov eax, [b_eax]
    CHECK32 "... with its registers from the TSS", 0xA0
    mov eax, cr0
    and eax, CR0_TS
    CHECK32 "... CR0.TS set by the switch", CR0_TS
    pushfd
    pop eax
    and eax, RFLAGS_NT
    CHECK32 "... NT = 0 after JMP", 0
    mov ebx, TSS_SEL
    call busy_type
    CHECK32 "... JMP cleared the old task's busy bit", 0x09
    mov ebx, TSS_B
    call busy_type
    CHECK32 "... and set the new task's", 0x0B
    mov eax, [TSS_ADDR + 0x28 + 3 * 4]
    CHECK32 "... the old task's EBX is in its TSS", 0x1234
    mov eax, 0x5A5A
    mov [TSS_ADDR + 0x28], eax      # what task A finds in EAX when it resumes
    ljmp TSS_SEL, 0

# ---------------------------------------------------------------------------------------------------------
# CALL to a TSS nests: link, NT = 1, the old task stays busy; IRET with NT = 1 returns
call_and_iret:
    TASK32 B_ADDR, task_b_call, 0x70000
    lcall TSS_B, 0
    mov [a_eax], eax
    pushfd
    pop eax
    and eax, RFLAGS_NT
    CHECK32 "IRET back: task A's NT as it was (0)", 0
    mov ebx, TSS_B
    call busy_type
    CHECK32 "... the returning task's busy bit cleared", 0x09
    mov ebx, TSS_SEL
    call busy_type
    CHECK32 "... task A busy", 0x0B
    mov eax, [B_ADDR + 0x24]
    and eax, RFLAGS_NT
    CHECK32 "... and task B's EFLAGS saved with NT cleared", 0
    ret

task_b_call:
    pushfd
    pop eax
    and eax, RFLAGS_NT
    CHECK32 "CALL to a TSS: NT = 1 in the new task", RFLAGS_NT
    movzx eax, word ptr [B_ADDR]
    CHECK32 "... its previous-task link = the caller's TSS", TSS_SEL
    mov ebx, TSS_SEL
    call busy_type
    CHECK32 "... the caller stays busy", 0x0B
    iretd

# ---------------------------------------------------------------------------------------------------------
# a task gate in the GDT (CALL) and one in the IDT (INT n)
task_gates:
    TASK32 C_ADDR, task_c, 0x71000
    mov dword ptr [c_runs], 0
    lcall GATE_C, 0
    mov eax, [c_runs]
    CHECK32 "CALL through a task gate runs the gate's task", 1
    mov dword ptr [IDT_ADDR + 0x40 * 8], TSS_C << 16
    mov dword ptr [IDT_ADDR + 0x40 * 8 + 4], 0x00008500     # a task gate, DPL 0
    TASK32 C_ADDR, task_c, 0x71000
    int 0x40
int40_return:
    mov eax, [c_runs]
    CHECK32 "INT n through a task gate in the IDT runs the task, IRET returns", 2
    mov eax, [TSS_ADDR + 0x20]
    mov edx, offset int40_return
    CHECK32 "... task A's saved EIP: after the INT n", edx
    ret

task_c:
    inc dword ptr [c_runs]
    movzx eax, word ptr [C_ADDR]
    CHECK32 "task C: its link is task A", TSS_SEL
    iretd

# ---------------------------------------------------------------------------------------------------------
# exceptions handled by their own tasks: #GP with its error code on the new stack; #DF
exception_tasks:
    TASK32 D_ADDR, task_d, 0x72000
    mov dword ptr [IDT_ADDR + EXC_GP * 8], TSS_D << 16
    mov dword ptr [IDT_ADDR + EXC_GP * 8 + 4], 0x00008500
    mov ax, 0x400                   # beyond the GDT: #GP(0x400)
gp_here:
    mov ds, ax
gp_resume:
    mov eax, [d_error]
    CHECK32 "#GP through a task gate: its error code on the handler task's stack", 0x400
    mov eax, [d_eip]
    mov edx, offset gp_here
    CHECK32 "... task A's saved EIP: the faulting instruction", edx
    # #DF through a task gate, as a 32-bit kernel handles it: #GP's gate not present makes #NP, then #DF
    TASK32 E_ADDR, task_e, 0x73000
    mov dword ptr [IDT_ADDR + EXC_GP * 8 + 4], 0x00000500   # the #GP task gate, not present
    mov dword ptr [IDT_ADDR + EXC_DF * 8], TSS_E << 16
    mov dword ptr [IDT_ADDR + EXC_DF * 8 + 4], 0x00008500
    mov ax, 0x400
    mov ds, ax
df_resume:
    mov eax, [e_error]
    CHECK32 "#DF through a task gate: error code 0 on its task's stack", 0
    mov eax, [e_runs]
    CHECK32 "... its task ran once", 1
    call setup_idt32                # the stubs again
    ret

task_d:
    pop eax                         # the error code the switch pushed
    mov [d_error], eax
    mov eax, [TSS_ADDR + 0x20]
    mov [d_eip], eax
    mov dword ptr [TSS_ADDR + 0x20], offset gp_resume      # resume task A after the faulting MOV
    iretd

task_e:
    pop eax
    mov [e_error], eax
    inc dword ptr [e_runs]
    mov dword ptr [TSS_ADDR + 0x20], offset df_resume
    iretd

# ---------------------------------------------------------------------------------------------------------
# a 16-bit TSS (7.6): IP, FLAGS, the word registers, ES/CS/SS/DS, LDT; the task runs 16-bit code
sixteen_bit_task:
    mov edi, T16_ADDR
    xor eax, eax
    mov ecx, 0x2C / 4
    rep stosd
    mov word ptr [T16_ADDR + 0x0E], offset task_16
    mov word ptr [T16_ADDR + 0x10], 2
    mov word ptr [T16_ADDR + 0x12], 0x1616                 # AX
    mov word ptr [T16_ADDR + 0x1A], 0x7000                 # SP
    mov word ptr [T16_ADDR + 0x22], KERNEL_DS16            # ES
    mov word ptr [T16_ADDR + 0x24], CODE16                 # CS
    mov word ptr [T16_ADDR + 0x26], KERNEL_DS16            # SS
    mov word ptr [T16_ADDR + 0x28], KERNEL_DS16            # DS
    ljmp TSS_16, 0
t16_back:
    mov eax, [t16_ax]
    CHECK32 "a 16-bit TSS: the task ran with AX from it", 0x1616
    mov eax, [t16_cs]
    CHECK32 "... in its 16-bit code segment", CODE16
    mov ebx, TSS_16
    call busy_type
    CHECK32 "... JMP away cleared its busy bit (type 1)", 0x01
    mov eax, [T16_ADDR + 0x0E]
    and eax, 0xFFFF
    mov edx, offset task_16_end
    CHECK32 "... its IP saved in the 16-bit TSS", edx
    ret

.code16
task_16:
    mov [t16_ax], ax
    mov ax, cs
    mov [t16_cs], ax
    ljmp TSS_SEL, 0
task_16_end:
.code32

    SYSTEST_FRAMEWORK32 "sys-tasks"
    SERIAL_ROUTINES_32
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 2
a_eax:      .long 0
b_eax:      .long 0
c_runs:     .long 0
d_error:    .long 0
d_eip:      .long 0
e_error:    .long 0
e_runs:     .long 0
t16_ax:     .long 0
t16_cs:     .long 0
.popsection
