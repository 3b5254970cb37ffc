# sys-long — a test kernel for the system architecture of IA-32e mode (SDM Vol. 3A, chapters 5-7): null selectors
# in 64-bit mode, interrupt delivery with the IST and the 16-byte stack alignment (6.14), 64-bit call gates from CPL 3
# with RETF back (5.8.3.1), compatibility mode (far JMP/RETF/IRETQ between 64-bit and 32-bit code, INTO there),
# SYSCALL/SYSRET and SYSENTER/SYSEXIT with their #UD and #GP conditions (Vol. 2B), no task switches in IA-32e mode,
# and the exception classes of 6.15 (contributory, benign, page faults; #DF, its IST stack; the EXT bit) with other
# error codes of 6.13. Every check prints "ok   ..." or "FAIL ..." (include/systest.inc); the run ends with the line
#   sys-long: all 63 checks passed
# and exit code 0 (otherwise the number of failed checks).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.set GATE64,      0x58              # a 64-bit call gate, DPL 3 -> KERNEL_CS64:gate64_target (16 bytes)
.set GATE64_DPL0, 0x68              # the same with DPL 0
.set GATE64_BAD,  0x78              # DPL 3, its upper half's type not 0
.set GATE64_C32,  0x88              # DPL 3, to 32-bit code
.set GATE16_LEG,  0x98              # a 16-bit call gate (not valid in IA-32e mode)
.set SE_CS,       0xB0              # SYSENTER's layout: 64-bit code DPL 0, data DPL 0 at + 8, and at + 32 and + 40
.set SE_USER_CS,  SE_CS + 32        # the 64-bit code DPL 3 and data DPL 3 that SYSEXIT (REX.W) loads
.set IA32_STAR,   0xC0000081
.set IA32_LSTAR,  0xC0000082
.set IA32_FMASK,  0xC0000084
.set IA32_SYSENTER_CS,  0x174
.set IA32_SYSENTER_ESP, 0x175
.set IA32_SYSENTER_EIP, 0x176
.set RFLAGS_DF,   1 << 10
.set BROKEN_PAGE, 0x205000          # a test-area page made not present: stacks placed on it fault

.text
.globl _start
.code16
_start:
    SYSTEST_ENTER_PROTECTED_MODE prot
.code32
prot:
    SYSTEST_PAGING64
    SYSTEST_ENTER_LONG_MODE long
.code64
long:
    call setup_idt64
    call null_selectors
    call ist_and_alignment
    call call_gates64
    call compatibility_mode
    call syscall_sysret
    call sysenter_sysexit
    call no_task_switches
    call exception_classes
    jmp finish64

# set_call_gate64: writes a 64-bit call gate at GDT offset EDI: target RAX, selector SI, P/DPL/type word DX
set_call_gate64:
    push rbx
    lea rbx, [rip + gdt]
    add rbx, rdi
    mov word ptr [rbx], ax
    mov word ptr [rbx + 2], si
    mov word ptr [rbx + 4], dx
    push rax
    shr rax, 16
    mov word ptr [rbx + 6], ax
    shr rax, 16
    mov dword ptr [rbx + 8], eax
    mov dword ptr [rbx + 12], 0
    pop rax
    pop rbx
    ret

# ---------------------------------------------------------------------------------------------------------
# 3.4.4, Vol. 2B MOV: null selectors in 64-bit mode
null_selectors:
    xor eax, eax
    TRY64 1f
    mov ds, ax
    mov rbx, [rip + scratch]        # 64-bit mode does not use DS
1:  CHECK_EXC64 "64-bit mode: MOV DS, null, then a DS access: allowed", NOTHING, 0
    xor eax, eax
    TRY64 1f
    mov ss, ax
    push rax
    pop rax
1:  mov ax, KERNEL_DS
    mov ss, ax
    mov ds, ax
    CHECK_EXC64 "64-bit mode: MOV SS, null (RPL = CPL = 0), then the stack: allowed", NOTHING, 0
    mov eax, 3
    TRY64 1f
    mov ss, ax
1:  CHECK_EXC64 "MOV SS, null with RPL 3 at CPL 0: #GP(0)", EXC_GP, 0
    lea rdi, [rip + user_null_ss + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "MOV SS, null at CPL 3: #GP(0)", EXC_GP, 0
    ret

user_null_ss:
    TRY64 1f
    mov eax, 3
    mov ss, ax
1:  int 0x81

run_user_here:
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2
    jmp run_user64

# ---------------------------------------------------------------------------------------------------------
# 6.14.2: IA-32e interrupt delivery pushes SS:RSP always, aligns RSP to 16 first; 6.14.5: the IST
ist_and_alignment:
    lea rax, [rip + frame_handler]
    mov edi, 0x90
    mov edx, 0x8E01                 # IST 1
    call set_gate64
    mov edi, 0x91
    mov edx, 0x8E00                 # no IST
    call set_gate64
    int 0x90
    mov rax, [rip + handler_rsp]
    CHECK64 "an IST-1 gate: the frame on IST1 (5 qwords)", (IST1_STACK-40)
    mov rax, [rip + handler_old_rsp]
    lea rbx, [rsp]
    CHECK64 "... with the interrupted RSP in it", rbx
    mov rbx, rsp
    mov rax, rsp
    and rax, ~0xF
    sub rax, 8                      # RSP = 16n + 8
    mov rsp, rax
    int 0x91
    mov rsp, rbx
    sub rax, 8                      # the aligned value: 16n, then 5 pushes
    and rax, ~0xF
    sub rax, 40
    mov rbx, rax
    mov rax, [rip + handler_rsp]
    CHECK64 "no IST: RSP aligned to 16 before the pushes", rbx
    mov rax, [rip + handler_ss]
    CHECK64 "... SS pushed at the same privilege too", KERNEL_DS
    ret

frame_handler:
    mov [rip + handler_rsp], rsp
    push rax
    mov rax, [rsp + 32]
    mov [rip + handler_old_rsp], rax
    mov rax, [rsp + 40]
    mov [rip + handler_ss], rax
    pop rax
    iretq

# ---------------------------------------------------------------------------------------------------------
# 5.8.3.1: 64-bit call gates
call_gates64:
    lea rax, [rip + gate64_target]
    mov edi, GATE64
    mov esi, KERNEL_CS64
    mov edx, 0xEC00                 # P, DPL 3, type C
    call set_call_gate64
    mov edi, GATE64_DPL0
    mov edx, 0x8C00
    call set_call_gate64
    mov edi, GATE64_BAD
    mov edx, 0xEC00
    call set_call_gate64
    lea rbx, [rip + gdt]
    mov byte ptr [rbx + GATE64_BAD + 13], 0x0C      # the upper half's type field: must be 0
    mov edi, GATE64_C32
    mov esi, KERNEL_CS32
    call set_call_gate64
    mov edi, GATE16_LEG
    mov esi, KERNEL_CS64
    mov edx, 0xE400                 # type 4
    call set_call_gate64
    lea rdi, [rip + user_call_gate + USER_ALIAS]
    call run_user_here
    mov rax, [rip + gate_rsp]
    CHECK64 "CALL through a 64-bit call gate: RSP0 from the TSS, 4 qwords pushed", (RSP0_STACK-32)
    mov rax, [rip + gate_ss]
    CHECK64 "... SS = null with RPL = the new CPL", 0
    mov rax, [rip + gate_frame + 8]
    CHECK64 "... the caller's CS in the frame", USER_CS64
    mov rax, [rip + gate_frame + 16]
    CHECK64 "... the caller's RSP", (USER_ALIAS+USER_STACK)
    mov rax, [rip + gate_frame + 24]
    CHECK64 "... the caller's SS", USER_DS
    mov rax, [rip + user_back_cs]
    CHECK64 "RETF (REX.W) back to CPL 3", USER_CS64
    mov rax, [rip + user_back_rsp]
    CHECK64 "... with the caller's RSP", (USER_ALIAS+USER_STACK)
    mov rax, [rip + fault_log]
    CHECK64 "a 64-bit call gate of DPL 0 from CPL 3: #GP(gate)", (EXC_GP << 16) | GATE64_DPL0
    mov rax, [rip + fault_log + 8]
    CHECK64 "a 64-bit call gate whose upper type is not 0: #GP(gate)", (EXC_GP << 16) | GATE64_BAD
    mov rax, [rip + fault_log + 16]
    CHECK64 "a 64-bit call gate to 32-bit code: #GP(code selector)", (EXC_GP << 16) | KERNEL_CS32
    mov rax, [rip + fault_log + 24]
    CHECK64 "a 16-bit call gate in IA-32e mode: #GP(gate)", (EXC_GP << 16) | GATE16_LEG
    ret

gate64_target:
    mov [rip + gate_rsp], rsp
    mov ax, ss
    movzx eax, ax
    mov [rip + gate_ss], rax
    mov rax, [rsp + 8]
    mov [rip + gate_frame + 8], rax
    mov rax, [rsp + 16]
    mov [rip + gate_frame + 16], rax
    mov rax, [rsp + 24]
    mov [rip + gate_frame + 24], rax
    .byte 0x48, 0xCB                # RETF with REX.W: pops RIP, CS, RSP, SS (8 bytes each)

# USER_FAULT64 slot, instruction: USER_FAULT (include/systest.inc) in 64-bit code.
.macro USER_FAULT64 slot, instr:vararg
    TRY64 1f
    \instr
1:  mov eax, [rip + exc_vector]
    cmp eax, NOTHING
    mov eax, NONE_LOGGED
    je 2f
    mov eax, [rip + exc_vector]
    shl eax, 16
    or eax, [rip + exc_error]
2:  mov [rip + fault_log + \slot * 8], rax
    mov qword ptr [rip + exc_resume], 0
.endm

user_call_gate:
    call fword ptr [rip + far_gate64]
    mov ax, cs
    movzx eax, ax
    mov [rip + user_back_cs], rax
    mov [rip + user_back_rsp], rsp
    USER_FAULT64 0, call fword ptr [rip + far_gate64_dpl0]
    USER_FAULT64 1, call fword ptr [rip + far_gate64_bad]
    USER_FAULT64 2, call fword ptr [rip + far_gate64_c32]
    USER_FAULT64 3, call fword ptr [rip + far_gate16]
    int 0x81

# ---------------------------------------------------------------------------------------------------------
# compatibility mode (IA-32e with CS.L = 0): far transfers between it and 64-bit mode
compatibility_mode:
    mov [rip + saved_rsp], rsp
    mov rsp, 0x7000                 # a stack 32-bit code can address
    jmp fword ptr [rip + far_compat]        # JMP m16:32 to 32-bit code
.code32
compat_entry:
    mov eax, 0x12345678
    push eax
    pop ebx
    mov [compat_ebx], ebx
    # INTO exists in compatibility mode: #OF, a trap
    mov dword ptr [exc_resume], 1
    mov dword ptr [exc_vector], NOTHING
    mov al, 0x7F
    add al, 1                       # OF = 1
    into
    mov eax, [exc_vector]
    mov [compat_into], eax
    ljmp KERNEL_CS64, offset compat_back
.code64
compat_back:
    mov rsp, [rip + saved_rsp]
    mov eax, [rip + compat_ebx]
    CHECK64 "far JMP to 32-bit code in IA-32e mode: compatibility mode runs", 0x12345678
    mov eax, [rip + compat_into]
    CHECK64 "INTO with OF = 1 in compatibility mode: #OF", EXC_OF
    # IRETQ to compatibility mode (and SS:RSP popped)
    mov [rip + saved_rsp], rsp
    push KERNEL_DS
    push 0x7000
    pushfq
    push KERNEL_CS32
    lea rax, [rip + compat_iret_target]
    push rax
    iretq
.code32
compat_iret_target:
    mov [compat_esp], esp
    ljmp KERNEL_CS64, offset compat_iret_back
.code64
compat_iret_back:
    mov rsp, [rip + saved_rsp]
    mov eax, [rip + compat_esp]
    CHECK64 "IRETQ to compatibility mode: RSP from the frame", 0x7000
    ret

# ---------------------------------------------------------------------------------------------------------
# SYSCALL and SYSRET (Vol. 2B)
syscall_sysret:
    mov ecx, IA32_EFER
    rdmsr
    and eax, ~EFER_SCE
    wrmsr
    TRY64 1f
    syscall
1:  CHECK_EXC64 "SYSCALL with EFER.SCE = 0: #UD", EXC_UD, 0
    mov ecx, IA32_EFER
    rdmsr
    or eax, EFER_SCE
    wrmsr
    mov ecx, IA32_STAR
    xor eax, eax
    mov edx, (0x20 << 16) | KERNEL_CS64     # SYSRET base 0x20 (USER_CS32), SYSCALL CS 0x08
    wrmsr
    mov ecx, IA32_LSTAR
    lea rax, [rip + syscall_entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    mov ecx, IA32_FMASK
    mov eax, RFLAGS_AC | RFLAGS_DF
    xor edx, edx
    wrmsr
    lea rdi, [rip + user_syscall + USER_ALIAS]
    call run_user_here
    mov rax, [rip + sc_rcx]
    lea rbx, [rip + user_syscall_ret + USER_ALIAS]
    CHECK64 "SYSCALL: RCX = the next RIP", rbx
    mov rax, [rip + sc_r11]
    CHECK64 "... R11 = RFLAGS (DF and AC set by the user)", (2|RFLAGS_DF|RFLAGS_AC)
    mov rax, [rip + sc_rflags]
    CHECK64 "... RFLAGS masked by IA32_FMASK", 2
    mov rax, [rip + sc_cs]
    CHECK64 "... CS = STAR[47:32] (RPL 0)", KERNEL_CS64
    mov rax, [rip + sc_ss]
    CHECK64 "... SS = STAR[47:32] + 8", KERNEL_DS
    mov rax, [rip + user_back_cs]
    CHECK64 "SYSRET (REX.W): CS = STAR[63:48] + 16, RPL 3", USER_CS64
    mov rax, [rip + user_back_ss]
    CHECK64 "... SS = STAR[63:48] + 8, RPL 3", USER_DS
    mov rax, [rip + user_back_flags]
    CHECK64 "... RFLAGS from R11", (2|RFLAGS_DF|RFLAGS_AC)
    mov rax, [rip + compat_cs]
    CHECK64 "SYSRET without REX.W: compatibility mode, CS = STAR[63:48]", USER_CS32
    mov rax, [rip + fault_log]
    CHECK64 "SYSRET at CPL 3: #GP(0)", EXC_GP << 16
    mov rax, 0x0000800000000000
    mov rcx, rax
    TRY64 1f
    .byte 0x48, 0x0F, 0x07          # SYSRETQ
1:  CHECK_EXC64 "SYSRET to a non-canonical RCX: #GP(0)", EXC_GP, 0
    mov rax, [rip + exc_cs]
    CHECK64 "... raised at CPL 0", KERNEL_CS64
    ret

syscall_entry:
    pushfq                          # RFLAGS as SYSCALL left them, before anything changes the status flags
    pop rax
    cmp qword ptr [rip + sysret_to_compat], 0
    jne 1f
    mov [rip + sc_rflags], rax
    mov [rip + sc_rcx], rcx
    mov [rip + sc_r11], r11
    mov ax, cs
    movzx eax, ax
    mov [rip + sc_cs], rax
    mov ax, ss
    movzx eax, ax
    mov [rip + sc_ss], rax
    .byte 0x48, 0x0F, 0x07          # SYSRETQ
1:  lea rcx, [rip + user_compat_target + USER_ALIAS]
    .byte 0x0F, 0x07                # SYSRET without REX.W: to compatibility mode

user_syscall:
    std
    pushfq
    or qword ptr [rsp], RFLAGS_AC
    popfq
    mov qword ptr [rip + sysret_to_compat], 0
    syscall
user_syscall_ret:
    pushfq
    pop rax
    mov [rip + user_back_flags], rax
    cld
    pushfq
    and qword ptr [rsp], ~RFLAGS_AC
    popfq
    mov ax, cs
    movzx eax, ax
    mov [rip + user_back_cs], rax
    mov ax, ss
    movzx eax, ax
    mov [rip + user_back_ss], rax
    USER_FAULT64 0, .byte 0x0F, 0x07        # SYSRET
    mov qword ptr [rip + sysret_to_compat], 1
    syscall
.code32
user_compat_target:
    mov bx, USER_DS                 # DS is null at CPL 3 (IRET nulled the kernel's): load a user one
    mov ds, bx
    mov ax, cs
    movzx eax, ax
    mov [compat_cs + USER_ALIAS], eax      # through the user alias: the kernel's pages are supervisor pages
    int 0x81
.code64

# ---------------------------------------------------------------------------------------------------------
# SYSENTER and SYSEXIT (Vol. 2B), in IA-32e mode
sysenter_sysexit:
    mov ecx, IA32_SYSENTER_CS
    xor eax, eax
    xor edx, edx
    wrmsr
    TRY64 1f
    sysenter
1:  CHECK_EXC64 "SYSENTER with IA32_SYSENTER_CS = 0: #GP(0)", EXC_GP, 0
    lea rbx, [rip + gdt]
    mov rax, 0x00AF9A000000FFFF
    mov [rbx + SE_CS], rax
    mov rax, 0x00CF92000000FFFF
    mov [rbx + SE_CS + 8], rax
    mov rax, 0x00AFFA000000FFFF
    mov [rbx + SE_USER_CS], rax
    mov rax, 0x00CFF2000000FFFF
    mov [rbx + SE_USER_CS + 8], rax
    mov ecx, IA32_SYSENTER_CS
    mov eax, SE_CS
    wrmsr
    mov ecx, IA32_SYSENTER_ESP
    mov eax, RSP0_STACK - 0x100
    wrmsr
    mov ecx, IA32_SYSENTER_EIP
    lea rax, [rip + sysenter_entry]
    mov rdx, rax
    shr rdx, 32
    wrmsr
    lea rdi, [rip + user_sysenter + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2 | RFLAGS_IF
    call run_user64
    mov rax, [rip + se_rsp]
    CHECK64 "SYSENTER: RSP = IA32_SYSENTER_ESP", (RSP0_STACK-0x100)
    mov rax, [rip + se_cs]
    CHECK64 "... CS = IA32_SYSENTER_CS", SE_CS
    mov rax, [rip + se_ss]
    CHECK64 "... SS = CS + 8", (SE_CS+8)
    mov rax, [rip + se_flags]
    and eax, RFLAGS_IF
    CHECK64 "... IF cleared", 0
    mov rax, [rip + user_back_cs]
    CHECK64 "SYSEXIT (REX.W): CS = IA32_SYSENTER_CS + 32, RPL 3", (SE_USER_CS|3)
    mov rax, [rip + user_back_ss]
    CHECK64 "... SS = CS + 8", ((SE_USER_CS+8)|3)
    mov rax, [rip + user_back_rsp]
    CHECK64 "... RSP = RCX", (USER_ALIAS+USER_STACK-0x40)
    mov rax, [rip + fault_log]
    CHECK64 "SYSEXIT at CPL 3: #GP(0)", EXC_GP << 16
    mov rdx, 0x0000800000000000
    mov rcx, rsp
    TRY64 1f
    .byte 0x48, 0x0F, 0x35          # SYSEXIT with REX.W
1:  CHECK_EXC64 "SYSEXIT (REX.W) to a non-canonical RDX: #GP(0)", EXC_GP, 0
    ret

sysenter_entry:
    mov [rip + se_rsp], rsp
    mov ax, cs
    movzx eax, ax
    mov [rip + se_cs], rax
    mov ax, ss
    movzx eax, ax
    mov [rip + se_ss], rax
    pushfq
    pop rax
    mov [rip + se_flags], rax
    lea rdx, [rip + user_sysexit_ret + USER_ALIAS]
    mov rcx, USER_ALIAS + USER_STACK - 0x40
    .byte 0x48, 0x0F, 0x35          # SYSEXIT with REX.W

user_sysenter:
    sysenter
user_sysexit_ret:
    mov ax, cs
    movzx eax, ax
    mov [rip + user_back_cs], rax
    mov ax, ss
    movzx eax, ax
    mov [rip + user_back_ss], rax
    mov [rip + user_back_rsp], rsp
    USER_FAULT64 0, .byte 0x0F, 0x35        # SYSEXIT
    int 0x81

# ---------------------------------------------------------------------------------------------------------
# No task switches in IA-32e mode (Vol. 2A JMP/CALL/IRET, Vol. 3A 7.7)
no_task_switches:
    TRY64 1f
    jmp fword ptr [rip + far_tss]
1:  CHECK_EXC64 "far JMP to a TSS in IA-32e mode: #GP(selector)", EXC_GP, TSS_SEL
    mov dword ptr [IDT_ADDR + 0x92 * 16], TSS_SEL << 16
    mov dword ptr [IDT_ADDR + 0x92 * 16 + 4], 0x8500        # a task gate
    TRY64 1f
    int 0x92
1:  CHECK_EXC64 "a task gate in the IA-32e IDT: #GP(vector * 8 + 2)", EXC_GP, (0x92*8+2)
    pushfq
    or qword ptr [rsp], RFLAGS_NT
    popfq
    TRY64 1f
    iretq
1:  pushfq
    and qword ptr [rsp], ~RFLAGS_NT
    popfq
    CHECK_EXC64 "IRETQ with NT = 1: #GP(0)", EXC_GP, 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 6.15: exception classes and #DF; 6.13: error codes
exception_classes:
    # contributory during contributory: #DF (error code 0), on the IST of the #DF gate
    lea rax, [rip + exc_stubs64 + EXC_DF * 16]
    mov edi, EXC_DF
    mov edx, 0x8E01
    call set_gate64
    and byte ptr [IDT_ADDR + EXC_GP * 16 + 5], 0x7F         # #GP's gate not present
    mov ax, 0x400
    TRY64 1f
    mov ds, ax                      # #GP(0x400), whose delivery meets #NP
1:  or byte ptr [IDT_ADDR + EXC_GP * 16 + 5], 0x80
    CHECK_EXC64 "#GP, its gate not present (#NP): #DF(0)", EXC_DF, 0
    mov rax, [rip + exc_frame]
    CHECK64 "... delivered on the #DF gate's IST", (IST1_STACK-40)
    # benign then contributory: handled one after the other
    and byte ptr [IDT_ADDR + EXC_NM * 16 + 5], 0x7F
    mov rax, cr0
    or eax, 0xA                     # CR0.MP and CR0.TS: FWAIT raises #NM (Vol. 3A 2.5, Table 2-2)
    mov cr0, rax
    TRY64 1f
    fwait
1:  mov rax, cr0
    and eax, ~0xA
    mov cr0, rax
    or byte ptr [IDT_ADDR + EXC_NM * 16 + 5], 0x80
    CHECK_EXC64 "#NM with its gate not present: #NP(7 * 8 + 2 + EXT)", EXC_NP, (EXC_NM*8+3)
    and byte ptr [IDT_ADDR + EXC_BP * 16 + 5], 0x7F
    TRY64 1f
    int3
1:  or byte ptr [IDT_ADDR + EXC_BP * 16 + 5], 0x80
    CHECK_EXC64 "INT3 with its gate not present: #NP(3 * 8 + 2), EXT = 0", EXC_NP, (EXC_BP*8+2)
    # contributory then a page fault: the page fault is delivered
    mov qword ptr [PT_ADDR + ((BROKEN_PAGE - TEST_AREA) >> 12) * 8], 0
    invlpg [BROKEN_PAGE]
    mov qword ptr [TSS_ADDR + 0x2C], BROKEN_PAGE + 0x1000   # IST2: a stack on the not-present page
    or byte ptr [IDT_ADDR + EXC_GP * 16 + 4], 2             # #GP uses IST2
    mov ax, 0x400
    TRY64 1f
    mov ds, ax
1:  and byte ptr [IDT_ADDR + EXC_GP * 16 + 4], 0xF8
    CHECK_EXC64 "#GP whose stack is not present: the #PF is delivered", EXC_PF, 2
    mov rax, [rip + exc_cr2]
    CHECK64 "... CR2 = the first push", (BROKEN_PAGE+0x1000-8)
    # a page fault during a page fault's delivery: #DF
    or byte ptr [IDT_ADDR + EXC_PF * 16 + 4], 2             # #PF uses IST2
    TRY64 1f
    mov rax, [BROKEN_PAGE]
1:  and byte ptr [IDT_ADDR + EXC_PF * 16 + 4], 0xF8
    CHECK_EXC64 "#PF whose delivery page-faults: #DF(0)", EXC_DF, 0
    # a contributory exception during a page fault's delivery: #DF
    and byte ptr [IDT_ADDR + EXC_PF * 16 + 5], 0x7F
    TRY64 1f
    mov rax, [BROKEN_PAGE]
1:  or byte ptr [IDT_ADDR + EXC_PF * 16 + 5], 0x80
    CHECK_EXC64 "#PF with its gate not present (#NP): #DF(0)", EXC_DF, 0
    mov qword ptr [TSS_ADDR + 0x2C], IST2_STACK
    mov qword ptr [PT_ADDR + ((BROKEN_PAGE - TEST_AREA) >> 12) * 8], BROKEN_PAGE | 3
    invlpg [BROKEN_PAGE]
    # error codes and faults of 6.15
    mov rbx, 0x0000800000000000
    TRY64 1f
    mov rax, [rbx]
1:  CHECK_EXC64 "a non-canonical data address: #GP(0)", EXC_GP, 0
    mov rbp, 0x0000800000000000
    TRY64 1f
    mov rax, [rbp]
1:  CHECK_EXC64 "a non-canonical address through SS (RBP base): #SS(0)", EXC_SS, 0
    mov rax, 0x0000800000000000
    TRY64 1f
jmp_nc:
    jmp rax
1:  CHECK_EXC64 "a near JMP to a non-canonical address: #GP(0)", EXC_GP, 0
    lea rbx, [rip + jmp_nc]
    mov rax, [rip + exc_rip]
    CHECK64 "... a fault of the JMP itself", rbx
    xor ecx, ecx
    TRY64 1f
    div ecx
1:  CHECK_EXC64 "DIV by 0: #DE", EXC_DE, 0
    mov rax, [rip + exc_rflags]
    and eax, RFLAGS_RF
    CHECK64 "... a fault: RF = 1 in its image", RFLAGS_RF
    sidt [rip + saved_idtr]
    mov word ptr [rip + small_idtr], 0x40 * 16 - 1          # vectors 0-0x3F only
    mov rax, IDT_ADDR
    mov [rip + small_idtr + 2], rax
    lidt [rip + small_idtr]
    TRY64 1f
    int 0x40
1:  lidt [rip + saved_idtr]
    CHECK_EXC64 "INT n beyond the IDT limit: #GP(n * 8 + 2)", EXC_GP, (0x40*8+2)
    ret

    SYSTEST_FRAMEWORK64 "sys-long"
    SERIAL_ROUTINES_64
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 3
scratch:            .quad 0
handler_rsp:        .quad 0
handler_old_rsp:    .quad 0
handler_ss:         .quad 0
gate_rsp:           .quad 0
gate_ss:            .quad 0
gate_frame:         .quad 0, 0, 0, 0
user_back_cs:       .quad 0
user_back_ss:       .quad 0
user_back_rsp:      .quad 0
user_back_flags:    .quad 0
fault_log:          .quad 0, 0, 0, 0, 0, 0, 0, 0
saved_rsp:          .quad 0
sc_rcx:             .quad 0
sc_r11:             .quad 0
sc_rflags:          .quad 0
sc_cs:              .quad 0
sc_ss:              .quad 0
se_rsp:             .quad 0
se_cs:              .quad 0
se_ss:              .quad 0
se_flags:           .quad 0
sysret_to_compat:   .quad 0
compat_cs:          .quad 0
compat_ebx:         .long 0
compat_into:        .long 0
compat_esp:         .long 0
    .p2align 3
far_gate64:         .long 0
                    .word GATE64
far_gate64_dpl0:    .long 0
                    .word GATE64_DPL0
far_gate64_bad:     .long 0
                    .word GATE64_BAD
far_gate64_c32:     .long 0
                    .word GATE64_C32
far_gate16:         .long 0
                    .word GATE16_LEG
far_compat:         .long compat_entry
                    .word KERNEL_CS32
far_tss:            .long 0
                    .word TSS_SEL
    .p2align 3
                    .word 0, 0, 0
saved_idtr:         .word 0
                    .quad 0
                    .word 0, 0, 0
small_idtr:         .word 0
                    .quad 0
.popsection
