# sys-segments — a test kernel for segmentation and protection in 32-bit protected mode (SDM Vol. 3A, chapters 3,
# 5 and 7): segment-register loads and their checks (MOV/POP to DS..GS and SS, null selectors, the LDT, RPL/DPL/CPL,
# not-present segments, the accessed flag), limit checks with expand-up and expand-down segments, read-only data and
# execute-only code, far JMP/CALL to conforming and non-conforming code, 32- and 16-bit call gates to a more
# privileged level (stack switch through the TSS, parameter copy) and RETF n back with the nulling of data segment
# registers, interrupts from CPL 3 (stack switch, IRET back), the I/O permission bitmap, LTR/LLDT/LAR/LSL/VERR/VERW,
# and the checks made before a task switch (busy bit, TSS limit, task gates, IRET with NT = 1), whose switch itself
# is a VM exit in VMX non-root operation (SDM Vol. 3C 26.4.2). Every check prints "ok   ..." or "FAIL ..." (see
# include/systest.inc); the run ends with the line
#   sys-segments: all 95 checks passed
# and exit code 0 (otherwise the number of failed checks).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

# descriptors this kernel adds to the GDT (high dword: base 31:24, G D/B L AVL, limit 19:16, P DPL S type, base 23:16)
.set NP_DATA,     0x58              # data, DPL 0, not present
.set XO_CODE,     0x60              # execute-only code, DPL 0
.set RO_DATA,     0x70              # read-only data, DPL 0
.set SMALL_DATA,  0x78              # data, base 0x14000, limit 0xFFF (byte granular)
.set DOWN32,      0x80              # expand-down data, base 0x14000, limit 0xFFF, B = 1
.set DOWN16,      0x88              # expand-down data, base 0x14000, limit 0xFFF, B = 0
.set CONF_CODE,   0x90              # conforming code, DPL 0
.set GATE32,      0xA0              # 32-bit call gate, DPL 3, 2 parameters -> KERNEL_CS32:gate32_target
.set GATE_DPL0,   0xA8              # 32-bit call gate, DPL 0
.set GATE_NP,     0xB0              # call gate, DPL 3, not present
.set GATE_DATA,   0xB8              # call gate, DPL 3, to a data segment
.set GATE16,      0xC0              # 16-bit call gate, DPL 3, 1 parameter -> KERNEL_CS32:gate16_target
.set LDT_SEL,     0xD0              # an LDT at 0x15000 with 2 entries
.set TSS_A,       0xD8              # an available 32-bit TSS, DPL 0
.set TSS_BUSY,    0xE0              # a busy 32-bit TSS
.set TSS_SHORT,   0xE8              # an available TSS with limit 0x50 (too small)
.set TASK_GATE,   0xF0              # task gate, DPL 0 -> TSS_A
.set TASK_GATE_NP, 0xF8             # task gate, not present
.set DPL1_DATA,   0x100             # data, DPL 1
.set GATE_JMP_UP, 0x108             # call gate, DPL 3, to non-conforming DPL-0 code (JMP cannot use it from CPL 3)
.set CODE_DPL1,   0x110             # 32-bit code, DPL 1
.set GATE_DPL1,   0x118             # call gate, DPL 3 -> CODE_DPL1 (its stack switch reads SS1:ESP1)
.set NP_DATA1,    0x120             # data, DPL 1, not present
.set RO_DATA1,    0x128             # read-only data, DPL 1
.set TSS16_SEL,   0x130             # a 16-bit TSS at 0x12800 (for an interrupt's stack switch through it)
.set TSS16_ADDR,  0x12800

.set LDT_ADDR,    0x15000
.set TSS_A_ADDR,  0x16000

.macro DESC sel, lo, hi
    mov dword ptr [gdt + \sel], \lo
    mov dword ptr [gdt + \sel + 4], \hi
.endm

.text
.globl _start
.code16
_start:
    SYSTEST_ENTER_PROTECTED_MODE prot
.code32
prot:
    call setup_idt32
    call setup_tss32
    DESC NP_DATA,    0x0000FFFF, 0x00CF1200
    DESC XO_CODE,    0x0000FFFF, 0x00CF9800
    DESC RO_DATA,    0x0000FFFF, 0x00CF9000
    DESC SMALL_DATA, 0x40000FFF, 0x00409201
    DESC DOWN32,     0x40000FFF, 0x00409601
    DESC DOWN16,     0x40000FFF, 0x00009601
    DESC CONF_CODE,  0x0000FFFF, 0x00CF9E00
    mov eax, offset gate32_target
    mov ebx, (KERNEL_CS32 << 16)
    mov bx, ax
    mov [gdt + GATE32], ebx
    and eax, 0xFFFF0000
    or eax, 0xEC02                  # P, DPL 3, type C (32-bit call gate), 2 parameters
    mov [gdt + GATE32 + 4], eax
    mov eax, [gdt + GATE32]
    mov [gdt + GATE_DPL0], eax
    mov [gdt + GATE_NP], eax
    mov eax, [gdt + GATE32 + 4]
    and eax, 0xFFFF0000
    or eax, 0x8C00
    mov [gdt + GATE_DPL0 + 4], eax
    xor eax, 0x8C00 ^ 0x6C00        # DPL 3, P = 0
    mov [gdt + GATE_NP + 4], eax
    DESC GATE_DATA,  (KERNEL_DS << 16), 0x0000EC00
    mov eax, offset gate16_target
    mov ebx, (KERNEL_CS32 << 16)
    mov bx, ax
    mov [gdt + GATE16], ebx
    mov dword ptr [gdt + GATE16 + 4], 0x0000E401     # P, DPL 3, type 4 (16-bit call gate), 1 parameter
    mov eax, offset gate32_target
    mov ebx, (KERNEL_CS32 << 16)
    mov bx, ax
    mov [gdt + GATE_JMP_UP], ebx
    and eax, 0xFFFF0000
    or eax, 0xEC00
    mov [gdt + GATE_JMP_UP + 4], eax
    DESC LDT_SEL,    ((LDT_ADDR & 0xFFFF) << 16) | 0x0F, 0x00008201 # LDT, base 0x15000, limit 15
    mov dword ptr [LDT_ADDR], 0x0000FFFF
    mov dword ptr [LDT_ADDR + 4], 0x00CF9200         # LDT 0: data, DPL 0
    mov dword ptr [LDT_ADDR + 8], 0x0000FFFF
    mov dword ptr [LDT_ADDR + 12], 0x00CFF200        # LDT 1: data, DPL 3
    DESC TSS_A,      ((TSS_A_ADDR & 0xFFFF) << 16) | 0x67, 0x00008901
    DESC TSS_BUSY,   ((TSS_A_ADDR & 0xFFFF) << 16) | 0x67, 0x00008B01
    DESC TSS_SHORT,  ((TSS_A_ADDR & 0xFFFF) << 16) | 0x50, 0x00008901
    DESC TASK_GATE,  (TSS_A << 16), 0x00008500
    DESC TASK_GATE_NP, (TSS_A << 16), 0x00000500
    DESC DPL1_DATA,  0x0000FFFF, 0x00CFB200
    DESC CODE_DPL1,  0x0000FFFF, 0x00CFBA00
    DESC GATE_DPL1,  (CODE_DPL1 << 16), 0x0000EC00
    DESC NP_DATA1,   0x0000FFFF, 0x00CF3200
    DESC RO_DATA1,   0x0000FFFF, 0x00CFB000
    DESC TSS16_SEL,  ((TSS16_ADDR & 0xFFFF) << 16) | 0x2B, 0x00008101

    call data_segment_loads
    call limits
    call far_transfers
    call call_gates
    call interrupts_from_cpl3
    call io_permission
    call descriptor_instructions
    call task_switch_checks
    jmp finish32

# ---------------------------------------------------------------------------------------------------------
# MOV to DS/SS (SDM Vol. 2B MOV; Vol. 3A 5.5-5.6): which selectors load, which fault with which error code
data_segment_loads:
    mov ax, 0
    TRY32 1f
    mov fs, ax
1:  CHECK_EXC32 "MOV FS, null: allowed", NOTHING, 0
    TRY32 1f
    mov eax, fs:[0x9000]
1:  CHECK_EXC32 "a memory access through a null FS: #GP(0)", EXC_GP, 0
    xor eax, eax
    TRY32 1f
    mov ss, ax
1:  CHECK_EXC32 "MOV SS, null: #GP(0)", EXC_GP, 0
    mov ax, 0x1F8 + 0x100           # beyond the GDT limit (64 descriptors)
    TRY32 1f
    mov ds, ax
1:  CHECK_EXC32 "a selector beyond the GDT limit: #GP(selector)", EXC_GP, 0x2F8
    mov ax, TSS_SEL
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "a system descriptor (TSS) into ES: #GP(selector)", EXC_GP, TSS_SEL
    mov ax, XO_CODE
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "execute-only code into ES: #GP(selector)", EXC_GP, XO_CODE
    mov ax, KERNEL_CS32
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "readable code into ES: allowed", NOTHING, 0
    mov ax, KERNEL_DS | 3
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "RPL 3 > DPL 0 of a data segment: #GP(selector)", EXC_GP, KERNEL_DS
    mov ax, CONF_CODE | 3
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "RPL 3 with conforming readable code: allowed", NOTHING, 0
    mov ax, NP_DATA
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "a not-present data segment: #NP(selector)", EXC_NP, NP_DATA
    mov ax, NP_DATA
    TRY32 1f
    mov ss, ax
1:  CHECK_EXC32 "a not-present stack segment: #SS(selector)", EXC_SS, NP_DATA
    mov ax, RO_DATA
    TRY32 1f
    mov ss, ax
1:  CHECK_EXC32 "read-only data into SS: #GP(selector)", EXC_GP, RO_DATA
    mov ax, KERNEL_DS | 1
    TRY32 1f
    mov ss, ax
1:  CHECK_EXC32 "SS with RPL != CPL: #GP(selector)", EXC_GP, KERNEL_DS
    mov ax, DPL1_DATA
    TRY32 1f
    mov ss, ax
1:  CHECK_EXC32 "SS with DPL != CPL: #GP(selector)", EXC_GP, DPL1_DATA
    mov ax, DPL1_DATA | 1
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "data of DPL 1 with RPL 1 at CPL 0: allowed", NOTHING, 0
    # the accessed flag is set by the load (3.4.5.1)
    and byte ptr [gdt + SMALL_DATA + 5], 0xFE
    mov ax, SMALL_DATA
    mov es, ax
    movzx eax, byte ptr [gdt + SMALL_DATA + 5]
    CHECK32 "loading a segment sets its accessed flag", 0x93
    # the LDT (TI = 1)
    xor eax, eax
    lldt ax
    mov ax, 0x04
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "TI = 1 with a null LDTR: #GP(selector)", EXC_GP, 4
    mov ax, LDT_SEL
    lldt ax
    mov ax, 0x0C
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "an LDT data segment: allowed", NOTHING, 0
    mov ax, 0x14
    TRY32 1f
    mov es, ax
1:  CHECK_EXC32 "beyond the LDT limit: #GP(selector)", EXC_GP, 0x14
    mov ax, KERNEL_DS
    mov es, ax
    mov fs, ax
    ret

# ---------------------------------------------------------------------------------------------------------
# 5.3 limit checking, 3.4.5.1 expand-down segments, 5.9-5.10 type checking
limits:
    mov [saved_esp], esp
    mov ax, SMALL_DATA
    mov es, ax
    TRY32 1f
    mov eax, es:[0xFFC]
1:  CHECK_EXC32 "a dword at the last 4 bytes of the limit: allowed", NOTHING, 0
    TRY32 1f
    mov eax, es:[0xFFD]
1:  CHECK_EXC32 "a dword crossing the limit: #GP(0)", EXC_GP, 0
    mov ax, SMALL_DATA
    mov ss, ax
    mov esp, 0x1000                 # a push would start at 0xFFC: inside
    TRY32 1f
    push eax
    mov eax, ss:[0x1000]
1:  mov ax, KERNEL_DS
    mov ss, ax
    mov esp, [saved_esp]
    CHECK_EXC32 "beyond the limit through SS: #SS(0)", EXC_SS, 0
    # expand-down, B = 1: valid offsets are limit + 1 .. 0xFFFFFFFF
    mov ax, DOWN32
    mov es, ax
    TRY32 1f
    mov eax, es:[0x1000]
1:  CHECK_EXC32 "expand-down: the offset just above the limit: allowed", NOTHING, 0
    TRY32 1f
    mov eax, es:[0xFFF]
1:  CHECK_EXC32 "expand-down: the limit itself: #GP(0)", EXC_GP, 0
    TRY32 1f
    mov al, es:[0xFFFFFFFF]
1:  CHECK_EXC32 "expand-down, B = 1: offset 0xFFFFFFFF: allowed", NOTHING, 0
    mov ax, DOWN16
    mov es, ax
    TRY32 1f
    mov al, es:[0xFFFF]
1:  CHECK_EXC32 "expand-down, B = 0: offset 0xFFFF: allowed", NOTHING, 0
    TRY32 1f
    mov al, es:[0x10000]
1:  CHECK_EXC32 "expand-down, B = 0: offset 0x10000: #GP(0)", EXC_GP, 0
    # type checks
    mov ax, RO_DATA
    mov es, ax
    TRY32 1f
    mov byte ptr es:[0x14000], 1
1:  CHECK_EXC32 "a write through read-only data: #GP(0)", EXC_GP, 0
    TRY32 1f
    mov byte ptr cs:[0x14000], 1
1:  CHECK_EXC32 "a write through CS: #GP(0)", EXC_GP, 0
    TRY32 1f
    mov eax, cs:[0x14000]
1:  CHECK_EXC32 "a read through readable CS: allowed", NOTHING, 0
    mov ax, KERNEL_DS
    mov es, ax
    ret

# ---------------------------------------------------------------------------------------------------------
# far JMP/CALL to code segments (Vol. 2A JMP, CALL; Vol. 3A 5.8.1)
far_transfers:
    TRY32 1f
    lcall CONF_CODE, offset conforming_target
1:  CHECK_EXC32 "far CALL to conforming code: allowed", NOTHING, 0
    mov eax, [rip_cs]
    and eax, 3
    CHECK32 "... and CS.RPL stays the CPL", 0
    TRY32 1f
    ljmp USER_CS32, offset 1f
1:  CHECK_EXC32 "far JMP to non-conforming code of DPL 3 from CPL 0: #GP(selector)", EXC_GP, USER_CS32 & 0xFFFC
    TRY32 1f
    ljmp KERNEL_DS, offset 1f
1:  CHECK_EXC32 "far JMP to a data segment: #GP(selector)", EXC_GP, KERNEL_DS
    mov byte ptr [gdt + CONF_CODE + 5], 0x1E        # P = 0
    TRY32 1f
    lcall CONF_CODE, offset conforming_target
1:  CHECK_EXC32 "far CALL to a not-present code segment: #NP(selector)", EXC_NP, CONF_CODE
    mov byte ptr [gdt + CONF_CODE + 5], 0x9E
    TRY32 1f
    ljmp 0, offset 1f
1:  CHECK_EXC32 "far JMP to the null selector: #GP(0)", EXC_GP, 0
    ret

conforming_target:
    mov ax, cs
    mov [rip_cs], eax
    lret

# ---------------------------------------------------------------------------------------------------------
# Call gates (5.8.3-5.8.5): from CPL 3 through a DPL-3 gate to DPL-0 code, with the stack switch and copy
gate32_target:
    mov [gate_esp], esp
    mov ax, ss
    mov [gate_ss], eax
    mov ax, cs
    mov [gate_cs], eax
    # the frame: EIP, CS, the 2 parameters, ESP, SS (from ESP upwards)
    mov eax, [esp + 8]
    mov [gate_p0], eax
    mov eax, [esp + 12]
    mov [gate_p1], eax
    mov eax, [esp + 20]
    mov [gate_old_ss], eax
    mov ax, KERNEL_DS               # a DPL-0 DS: RETF to CPL 3 must null it
    mov ds, ax
    lret 8

gate16_target:
    mov [gate_esp], esp
    movzx eax, word ptr [esp + 4]   # the parameter (IP, CS, parameter, SP, SS as words)
    mov [gate_p0], eax
    movzx eax, word ptr [esp + 8]
    mov [gate_old_ss], eax
    .byte 0x66                      # 16-bit RETF 2: pops IP, CS, then SP and SS
    lret 2

call_gates:
    mov dword ptr [gate_esp], 0
    lea edi, user_gate32
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [gate_esp]
    CHECK32 "CALL through a call gate switches to SS0:ESP0 (6 dwords pushed)", (RSP0_STACK-24)
    mov eax, [gate_ss]
    CHECK32 "... SS = SS0", KERNEL_DS
    mov eax, [gate_cs]
    CHECK32 "... CS = the gate's, RPL = DPL 0", KERNEL_CS32
    mov eax, [gate_p0]
    CHECK32 "... the first parameter copied", 0x1111
    mov eax, [gate_p1]
    CHECK32 "... the second parameter copied", 0x2222
    mov eax, [gate_old_ss]
    CHECK32 "... the caller's SS pushed", USER_DS
    mov eax, [user_after_esp]
    CHECK32 "RETF 8 back to CPL 3: the caller's ESP, the parameters released", USER_STACK
    mov eax, [user_after_ds]
    CHECK32 "... and DS (DPL 0) is nulled", 0
    mov eax, [user_after_cs]
    CHECK32 "... at CPL 3", USER_CS32
    # 16-bit gate: words pushed, one parameter
    lea edi, user_gate16
    mov esi, 0x7000                 # a 16-bit gate saves SP, 16 bits: a stack below 64 KiB
    mov edx, 2
    call run_user32
    mov eax, [gate_esp]
    CHECK32 "a 16-bit call gate pushes words (5 of them)", (RSP0_STACK-10)
    mov eax, [gate_p0]
    CHECK32 "... its parameter copied", 0x3333
    mov eax, [gate_old_ss]
    CHECK32 "... the caller's SS pushed", USER_DS
    mov eax, [user_after_esp]
    CHECK32 "16-bit RETF 2 back to CPL 3", 0x7000
    # faults
    lea edi, user_gate_faults
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [fault_log]
    CHECK32 "a call gate with DPL 0 from CPL 3: #GP(gate)", (EXC_GP << 16) | GATE_DPL0
    mov eax, [fault_log + 4]
    CHECK32 "a not-present call gate: #NP(gate)", (EXC_NP << 16) | GATE_NP
    mov eax, [fault_log + 8]
    CHECK32 "a call gate to a data segment: #GP(code selector)", (EXC_GP << 16) | KERNEL_DS
    mov eax, [fault_log + 12]
    CHECK32 "JMP through a call gate to more privileged code: #GP(code selector)", (EXC_GP << 16) | KERNEL_CS32
    # the TSS's stack for the new CPL is checked as the switch loads it (5.8.5, CALL "MORE-PRIVILEGE"); a gate to
    # DPL-1 code reads SS1:ESP1, so the faults themselves are still delivered through SS0:ESP0
    mov eax, [fault_log + 16]
    CHECK32 "a call gate to CPL 1, SS1 not present: #SS(SS1)", (EXC_SS << 16) | NP_DATA1
    mov eax, [fault_log + 20]
    CHECK32 "... SS1 read-only data: #TS(SS1)", (EXC_TS << 16) | RO_DATA1
    mov eax, [fault_log + 24]
    CHECK32 "... SS1 with RPL != the new CPL: #TS(SS1)", (EXC_TS << 16) | DPL1_DATA
    mov eax, [fault_log + 28]
    CHECK32 "... SS1 null: #TS(0)", (EXC_TS << 16)
    ret

user_gate32:
    mov ax, USER_DS
    mov ds, ax
    push 0x2222
    push 0x1111
    lcall GATE32, 0
    mov ax, ds
    movzx eax, ax
    mov bx, USER_DS                 # DS came back null: reload it before writing anything
    mov ds, bx
    mov [user_after_ds], eax
    mov [user_after_esp], esp
    mov ax, cs
    movzx eax, ax
    mov [user_after_cs], eax
    add esp, 8
    int 0x81

user_gate16:
    mov ax, USER_DS
    mov ds, ax
    .byte 0x66
    push 0x3333                     # a word
    lcall GATE16, 0
    mov [user_after_esp], esp
    int 0x81

user_gate_faults:
    mov ax, USER_DS
    mov ds, ax
    USER_FAULT 0, lcall GATE_DPL0, 0
    USER_FAULT 1, lcall GATE_NP, 0
    USER_FAULT 2, lcall GATE_DATA, 0
    USER_FAULT 3, ljmp GATE_JMP_UP, 0
    # without paging the TSS is writable from CPL 3 here: change SS1 (offset 0x10) between the calls
    mov word ptr [TSS_ADDR + 0x10], NP_DATA1 | 1
    USER_FAULT 4, lcall GATE_DPL1, 0
    mov word ptr [TSS_ADDR + 0x10], RO_DATA1 | 1
    USER_FAULT 5, lcall GATE_DPL1, 0
    mov word ptr [TSS_ADDR + 0x10], DPL1_DATA
    USER_FAULT 6, lcall GATE_DPL1, 0
    mov word ptr [TSS_ADDR + 0x10], 0
    USER_FAULT 7, lcall GATE_DPL1, 0
    int 0x81

# ---------------------------------------------------------------------------------------------------------
# 6.12.1: an interrupt from CPL 3 to a DPL-0 handler switches to SS0:ESP0 and pushes SS, ESP, EFLAGS, CS, EIP
interrupts_from_cpl3:
    mov eax, offset int90_handler
    mov edi, 0x90
    mov edx, 0xEE00                 # DPL 3
    call set_gate32
    lea edi, user_int90
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [int_frame]
    lea ebx, user_int90_ret
    CHECK32 "INT n from CPL 3: the frame's EIP", ebx
    mov eax, [int_frame + 4]
    CHECK32 "... CS", USER_CS32
    mov eax, [int_frame + 12]
    CHECK32 "... the user ESP", USER_STACK
    mov eax, [int_frame + 16]
    CHECK32 "... the user SS", USER_DS
    mov eax, [int_esp]
    CHECK32 "... on the stack from the TSS (ESP0)", (RSP0_STACK-20)
    mov eax, [user_after_cs]
    CHECK32 "IRET back to CPL 3", USER_CS32
    # a DPL-0 gate from CPL 3: #GP(vector * 8 + 2)
    mov eax, offset int90_handler
    mov edi, 0x91
    mov edx, 0x8E00
    call set_gate32
    lea edi, user_int91
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [fault_log]
    CHECK32 "INT n through a DPL-0 gate from CPL 3: #GP(n * 8 + 2)", (EXC_GP << 16) | (0x91 * 8 + 2)
    # with a 16-bit TSS in TR the stack switch takes SS0:SP0 from its words at 4 and 2 (7.6)
    mov edi, TSS16_ADDR
    xor eax, eax
    mov ecx, 0x2C / 4
    rep stosd
    mov word ptr [TSS16_ADDR + 2], 0x3F00
    mov word ptr [TSS16_ADDR + 4], KERNEL_DS
    mov ax, TSS16_SEL
    ltr ax
    lea edi, user_int90
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    and byte ptr [gdt + TSS_SEL + 5], ~2                    # the kernel's TSS available again, for LTR
    mov ax, TSS_SEL
    ltr ax
    mov eax, [int_esp]
    CHECK32 "INT n from CPL 3 with a 16-bit TSS: the stack is its SS0:SP0", (0x3F00-20)
    mov eax, [int_frame + 12]
    CHECK32 "... the user ESP pushed", USER_STACK
    ret

int90_handler:
    push ds
    push eax
    mov ax, KERNEL_DS
    mov ds, ax
    lea eax, [esp + 8]
    mov [int_esp], eax
    mov eax, [esp + 8]
    mov [int_frame], eax
    mov eax, [esp + 12]
    mov [int_frame + 4], eax
    mov eax, [esp + 20]
    mov [int_frame + 12], eax
    mov eax, [esp + 24]
    mov [int_frame + 16], eax
    pop eax
    pop ds
    iretd

user_int90:
    mov ax, USER_DS
    mov ds, ax
    int 0x90
user_int90_ret:
    mov ax, cs
    movzx eax, ax
    mov [user_after_cs], eax
    int 0x81

user_int91:
    mov ax, USER_DS
    mov ds, ax
    USER_FAULT 0, int 0x91
    int 0x81

# ---------------------------------------------------------------------------------------------------------
# 19.5 (Vol. 1): I/O at CPL > IOPL consults the TSS's I/O permission bitmap
io_permission:
    or byte ptr [TSS_ADDR + IOMAP_OFFSET + (0x3FE >> 3)], 1 << (0x3FE & 7)   # deny port 0x3FE (COM1's MSR)
    lea edi, user_io
    mov esi, USER_STACK
    mov edx, 2                      # IOPL 0
    call run_user32
    mov eax, [fault_log]
    CHECK32 "IN from an allowed port at CPL 3 > IOPL: allowed", NONE_LOGGED
    mov eax, [fault_log + 4]
    CHECK32 "IN from a denied port: #GP(0)", EXC_GP << 16
    mov eax, [fault_log + 8]
    CHECK32 "a 2-byte IN covering a denied port: #GP(0)", EXC_GP << 16
    mov eax, [fault_log + 12]
    CHECK32 "a port beyond the TSS limit: #GP(0)", EXC_GP << 16
    lea edi, user_io_iopl3
    mov esi, USER_STACK
    mov edx, 2 | (3 << 12)          # IOPL 3
    call run_user32
    mov eax, [fault_log + 4]
    CHECK32 "with IOPL = 3 the bitmap is not consulted", NONE_LOGGED
    ret

user_io:
    mov ax, USER_DS
    mov ds, ax
    mov edx, 0x3FD                  # COM1's line status register: a port a VMM's UART answers
    USER_FAULT 0, in al, dx
    mov edx, 0x3FE
    USER_FAULT 1, in al, dx
    mov edx, 0x3FD
    USER_FAULT 2, in ax, dx
    mov edx, 0x400
    USER_FAULT 3, in al, dx
    int 0x81

user_io_iopl3:
    mov ax, USER_DS
    mov ds, ax
    mov edx, 0x3FE
    USER_FAULT 1, in al, dx
    int 0x81

# ---------------------------------------------------------------------------------------------------------
# LTR, LLDT, LAR, LSL, VERR, VERW (Vol. 2A/2B)
descriptor_instructions:
    mov ax, TSS_BUSY
    TRY32 1f
    ltr ax
1:  CHECK_EXC32 "LTR of a busy TSS: #GP(selector)", EXC_GP, TSS_BUSY
    mov ax, KERNEL_DS
    TRY32 1f
    lldt ax
1:  CHECK_EXC32 "LLDT of a data segment: #GP(selector)", EXC_GP, KERNEL_DS
    movzx eax, byte ptr [gdt + TSS_SEL + 5]
    CHECK32 "LTR marked the kernel's TSS busy (type 0xB)", 0x8B
    mov eax, TSS_SEL
    lar eax, eax
    setz bl
    and eax, 0x00FFFF00
    CHECK32 "LAR of a busy 32-bit TSS: its access rights", 0x00008B00
    movzx eax, bl
    CHECK32 "... ZF = 1", 1
    mov eax, SMALL_DATA
    lsl eax, eax
    CHECK32 "LSL of a byte-granular segment: its limit", 0xFFF
    mov eax, KERNEL_DS
    lsl eax, eax
    CHECK32 "LSL of a 4-KiB-granular segment: the scaled limit", 0xFFFFFFFF
    mov eax, GATE_DPL0
    lsl eax, eax
    setz al
    movzx eax, al
    CHECK32 "LSL of a call gate: ZF = 0", 0
    mov eax, XO_CODE
    verr ax
    setz al
    movzx eax, al
    CHECK32 "VERR of execute-only code: ZF = 0", 0
    mov eax, KERNEL_CS32
    verr ax
    setz al
    movzx eax, al
    CHECK32 "VERR of readable code: ZF = 1", 1
    mov eax, RO_DATA
    verw ax
    setz al
    movzx eax, al
    CHECK32 "VERW of read-only data: ZF = 0", 0
    lea edi, user_descriptor_checks
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [fault_log]
    CHECK32 "VERR at CPL 3 of DPL-0 data: ZF = 0", 0
    mov eax, [fault_log + 4]
    CHECK32 "VERR at CPL 3 of conforming readable code: ZF = 1", 1
    mov eax, [fault_log + 8]
    CHECK32 "LTR at CPL 3: #GP(0)", EXC_GP << 16
    ret

user_descriptor_checks:
    mov ax, USER_DS
    mov ds, ax
    mov eax, KERNEL_DS
    verr ax
    setz al
    movzx eax, al
    mov [fault_log], eax
    mov eax, CONF_CODE
    verr ax
    setz al
    movzx eax, al
    mov [fault_log + 4], eax
    mov ax, TSS_A
    USER_FAULT 2, ltr ax
    int 0x81

# ---------------------------------------------------------------------------------------------------------
# Before a task switch (SDM Vol. 2A JMP/CALL/IRET, Vol. 3A 7.3; in VMX non-root operation the switch itself is a
# VM exit, SDM Vol. 3C 26.4.2): the faults the processor raises first
task_switch_checks:
    TRY32 1f
    ljmp TSS_BUSY, 0
1:  CHECK_EXC32 "JMP to a busy TSS: #GP(selector)", EXC_GP, TSS_BUSY
    TRY32 1f
    lcall TSS_SHORT, 0
1:  CHECK_EXC32 "CALL to a TSS whose limit is below 0x67: #TS(selector)", EXC_TS, TSS_SHORT
    TRY32 1f
    ljmp TASK_GATE_NP, 0
1:  CHECK_EXC32 "JMP through a not-present task gate: #NP(gate)", EXC_NP, TASK_GATE_NP
    mov byte ptr [gdt + TSS_A + 5], 0x09            # P = 0
    TRY32 1f
    ljmp TASK_GATE, 0
1:  CHECK_EXC32 "JMP through a task gate to a not-present TSS: #NP(TSS)", EXC_NP, TSS_A
    mov byte ptr [gdt + TSS_A + 5], 0x89
    lea edi, user_task_faults
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [fault_log]
    CHECK32 "CALL to a DPL-0 TSS from CPL 3: #GP(selector)", (EXC_GP << 16) | TSS_A
    mov eax, [fault_log + 4]
    CHECK32 "JMP through a DPL-0 task gate from CPL 3: #GP(gate)", (EXC_GP << 16) | TASK_GATE
    # IRET with NT = 1 returns to the task in the TSS's link field: it must be busy
    mov word ptr [TSS_ADDR], TSS_A
    pushfd
    or dword ptr [esp], RFLAGS_NT
    popfd
    TRY32 1f
    iretd
1:  CHECK_EXC32 "IRET with NT = 1 to an available TSS: #TS(link)", EXC_TS, TSS_A
    mov eax, [exc_rflags]
    and eax, RFLAGS_NT
    CHECK32 "... NT still 1 in the fault's image (nothing changed)", RFLAGS_NT
    pushfd
    and dword ptr [esp], ~RFLAGS_NT
    popfd
    mov word ptr [TSS_ADDR], 0x1C   # TI = 1
    pushfd
    or dword ptr [esp], RFLAGS_NT
    popfd
    TRY32 1f
    iretd
1:  CHECK_EXC32 "IRET with NT = 1 and a link with TI = 1: #TS(link)", EXC_TS, 0x1C
    pushfd
    and dword ptr [esp], ~RFLAGS_NT
    popfd
    mov word ptr [TSS_ADDR], 0
    # a task gate in the IDT: an exception delivered through it, after the TSS's checks
    mov dword ptr [IDT_ADDR + 0x92 * 8], TSS_BUSY << 16        # task gate: the TSS selector in bits 31:16
    mov dword ptr [IDT_ADDR + 0x92 * 8 + 4], 0x8500                # P, DPL 0, type 5
    TRY32 1f
    int 0x92
1:  CHECK_EXC32 "INT n through a task gate to a busy TSS: #GP(TSS)", EXC_GP, TSS_BUSY
    ret

user_task_faults:
    mov ax, USER_DS
    mov ds, ax
    USER_FAULT 0, lcall TSS_A, 0
    USER_FAULT 1, ljmp TASK_GATE, 0
    int 0x81

    SYSTEST_FRAMEWORK32 "sys-segments"
    SERIAL_ROUTINES_32
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 2
rip_cs:         .long 0
gate_esp:       .long 0
gate_ss:        .long 0
gate_cs:        .long 0
gate_p0:        .long 0
gate_p1:        .long 0
gate_old_ss:    .long 0
user_after_esp: .long 0
user_after_ds:  .long 0
user_after_cs:  .long 0
int_esp:        .long 0
int_frame:      .long 0, 0, 0, 0, 0
fault_log:      .long 0, 0, 0, 0, 0, 0, 0, 0
saved_esp:      .long 0
.popsection
