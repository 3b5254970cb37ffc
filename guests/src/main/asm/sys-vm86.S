# sys-vm86 — a test kernel for virtual-8086 mode (SDM Vol. 3A, chapter 20 "8086 Emulation") and for alignment
# checking by data type (SDM Vol. 3A 6.15 "Interrupt 17—Alignment Check Exception", Table 6-7), in 32-bit
# protected mode:
#   - protected-mode virtual interrupts (CR4.PVI, 20.4): CLI/STI at CPL 3 with IOPL < 3 change VIF;
#   - #AC by data type at CPL 3 with CR0.AM = 1 and EFLAGS.AC = 1: words, segment selectors, far pointers, bit
#     strings, 80-bit x87 values, the FNSTENV/FNSAVE areas (2 or 4 bytes by operand size), the SGDT image (an
#     aligned word, then an aligned doubleword, SDM 3.5.1), 128-bit SSE (MOVAPS is #GP, MOVUPS checks its halves),
#     FXSAVE (#GP, the one of the two the SDM allows that this processor takes), SLDT/STR (LDTR and TR contents:
#     4); none at CPL 0, none without AM or AC;
#   - entering virtual-8086 mode by IRET from CPL 0 (IRET, RETURN-TO-VIRTUAL-8086-MODE) and leaving it by an
#     exception to a ring-0 handler (20.3.1.1, Figure 20-4: SS0:ESP0 from the TSS, GS FS DS ES SS ESP EFLAGS CS EIP
#     pushed, the data segment registers nulled), also through a 16-bit gate; the #GP(selector) of gates to anything
#     but a non-conforming ring-0 code segment;
#   - 8086-style segments (base = selector << 4, the FFFFH limit: #GP(0) and #SS(0)), far CALL, LDS, IRET within
#     the mode; CPL 3 (HLT, MOV from CR0: #GP(0)); the protected-mode-only instructions (#UD);
#   - the IOPL-sensitive instructions (20.2.7) with IOPL 3 and IOPL 0, without CR4.VME (methods 1 and 2 of Table 20-2)
#     and with it (VIF, VIP, the software interrupt redirection bit map: methods 3 to 6); INT3 is not INT n;
#   - I/O through the TSS I/O permission bit map, consulted whatever IOPL is (20.2.8.1);
#   - paging of the 1-MiB address space (and the 64 KiB above it) at CPL 3, and #AC in virtual-8086 mode.
# Every check prints "ok   ..." or "FAIL ..." (include/systest.inc); the run ends with the line
#   sys-vm86: all 141 checks passed
# and exit code 0 (otherwise the number of failed checks).
#
# The virtual-8086 tests run one piece of 16-bit code at a time (run_vm86): IRETD from CPL 0 with the frame in
# v86_frame and the general registers in v86_regs, until the first interrupt or exception, whose handler (v86_common)
# writes back the frame it was given (so that the next run_vm86 resumes where the code stopped), the vector, the
# error code and the registers, and returns to run_vm86's caller. The pieces end with HLT (#GP(0) at CPL 3).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.set V86_TSS_SEL,   FREE_SEL        # 0x58: the TSS of the virtual-8086 tests
.set CONFORMING_CS, FREE_SEL + 8    # 0x60: conforming 32-bit code, DPL 0
.set V86_TSS,       0x12000
.set V86_REDIR,     0x68            # the software interrupt redirection bit map (32 bytes, below the I/O map)
.set V86_IOMAP,     0x88            # the I/O permission bit map: ports 0-0x3FF, then the limit
.set V86_TSS_LIMIT, V86_IOMAP + 0x80

.set V86_SS,        0x0500          # the 8086 program's stack: 0500:1000, linear 0x6000 down
.set V86_SP,        0x1000
.set V86_DS,        0x0300          # its data segment: linear 0x3000
.set V86_ES,        0x0301
.set V86_FS,        0x0302
.set V86_GS,        0x0303
.set DATA_LIN,      0x3000
.set PORT_OK,       0x3FD           # a port the I/O permission bit map allows: COM1's line status, harmless to read
.set PORT_DENIED,   0x2F1           # one it denies

.set EFLAGS_IOPL3,  0x3000
.set EFLAGS_VM,     1 << 17
.set EFLAGS_VIF,    1 << 19
.set EFLAGS_VIP,    1 << 20
.set CR4_VME,       1 << 0
.set CR4_PVI,       1 << 1
.set CR4_OSFXSR,    1 << 9

.set PD_ADDR,       0x120000        # 32-bit paging for the paging checks: one page table for 0-4 MiB
.set PT_ADDR32,     0x121000
.set REMAPPED,      0x200000        # linear 0x4000 maps here
.set AC_AREA,       0x14000         # the #AC checks' data (user code reaches it: no paging there)

# V86 entry, eflags: runs the virtual-8086 code at <entry> (CS = 0) with EFLAGS = <eflags> | VM, the stack
# V86_SS:V86_SP and the data segment registers V86_ES, V86_DS, V86_FS, V86_GS, until its first event.
.macro V86 entry, eflags
    mov dword ptr [v86_eip], offset \entry
    mov dword ptr [v86_cs], 0
    mov dword ptr [v86_eflags], (\eflags) | EFLAGS_VM | 2
    mov dword ptr [v86_esp], V86_SP
    mov dword ptr [v86_ss], V86_SS
    mov dword ptr [v86_es], V86_ES
    mov dword ptr [v86_ds], V86_DS
    mov dword ptr [v86_fs], V86_FS
    mov dword ptr [v86_gs], V86_GS
    call run_vm86
.endm

# EVENT "what", vector, error: the run ended with this event (vector << 16 | error code).
.macro EVENT name, vector, error
    mov eax, [v86_vector]
    shl eax, 16
    or eax, [v86_error]
    CHECK32 "\name", ((\vector)<<16)|(\error)
.endm

# AT "what", label: ... at this instruction (the frame's EIP, CS = 0).
.macro AT name, label
    push ecx
    mov ecx, offset \label
    mov eax, [v86_eip]
    CHECK32 "\name", ecx
    pop ecx
.endm

# FLAGS "what", mask, expected: the frame's EFLAGS AND mask.
.macro FLAGS name, mask, expected
    mov eax, [v86_eflags]
    and eax, \mask
    CHECK32 "\name", \expected
.endm

# PUSHD imm32: a doubleword push in 16-bit code (66 68 id).
.macro PUSHD imm
    .byte 0x66, 0x68
    .long \imm
.endm

# LOGGED slot, "what", expected: fault_log[slot] (USER_FAULT, include/systest.inc) must be <expected>.
.macro LOGGED slot, name, expected
    mov eax, [fault_log + \slot * 4]
    CHECK32 "\name", \expected
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
    mov eax, 1
    cpuid
    mov eax, edx
    and eax, 1 << 1
    CHECK32 "CPUID.01H:EDX.VME[1] = 1 (virtual-8086 mode extensions)", 1<<1
    call protected_virtual_interrupts
    call alignment_checks
    call v86_setup
    call v86_basics
    call v86_segments
    call v86_iopl3
    call v86_iopl0
    call v86_io
    call v86_vme
    call v86_paging
    call finish32

# ==========================================================================================================
# Protected-mode virtual interrupts (SDM 20.4): with CR4.PVI, CLI and STI at CPL 3 with IOPL < 3 change VIF and
# leave IF; STI while VIP = 1 is #GP(0). Without PVI both are #GP(0). POPF is not affected.
# ==========================================================================================================
protected_virtual_interrupts:
    mov eax, cr4
    or eax, CR4_PVI
    mov cr4, eax
    lea edi, pvi_user
    mov esi, USER_STACK
    mov edx, RFLAGS_IF | EFLAGS_VIF | 2
    call run_user32
    mov eax, [pvi_after_cli]
    and eax, RFLAGS_IF | EFLAGS_VIF
    CHECK32 "CR4.PVI: CLI at CPL 3, IOPL 0 clears VIF, not IF", RFLAGS_IF
    mov eax, [pvi_after_sti]
    and eax, RFLAGS_IF | EFLAGS_VIF
    CHECK32 "CR4.PVI: STI at CPL 3, IOPL 0 sets VIF", RFLAGS_IF|EFLAGS_VIF
    mov eax, [pvi_after_popf]
    and eax, RFLAGS_IF | EFLAGS_VIF
    CHECK32 "CR4.PVI: POPFD at CPL 3 changes neither IF nor VIF", RFLAGS_IF|EFLAGS_VIF
    lea edi, pvi_user_vip
    mov esi, USER_STACK
    mov edx, RFLAGS_IF | EFLAGS_VIP | 2
    call run_user32
    LOGGED 0, "CR4.PVI: STI while VIP = 1 is #GP(0)", EXC_GP<<16
    mov eax, cr4
    and eax, ~CR4_PVI
    mov cr4, eax
    lea edi, pvi_user_off
    mov esi, USER_STACK
    mov edx, RFLAGS_IF | 2
    call run_user32
    LOGGED 0, "without CR4.PVI: CLI at CPL 3, IOPL 0 is #GP(0)", EXC_GP<<16
    LOGGED 1, "without CR4.PVI: STI at CPL 3, IOPL 0 is #GP(0)", EXC_GP<<16
    ret

pvi_user:
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    cli
    pushfd
    pop dword ptr [pvi_after_cli]
    sti
    pushfd
    pop dword ptr [pvi_after_sti]
    push 2                          # IF = 0, VIF = 0 in the image
    popfd
    pushfd
    pop dword ptr [pvi_after_popf]
    int 0x81

pvi_user_vip:
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    USER_FAULT 0, sti
    int 0x81

pvi_user_off:
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    USER_FAULT 0, cli
    USER_FAULT 1, sti
    int 0x81

# ==========================================================================================================
# Alignment checking by data type (SDM 6.15 "Interrupt 17", Table 6-7) at CPL 3 with CR0.AM = 1, EFLAGS.AC = 1.
# ==========================================================================================================
alignment_checks:
    mov eax, cr4
    or eax, CR4_OSFXSR
    mov cr4, eax
    mov eax, cr0
    and eax, ~((1 << 2) | (1 << 3)) # EM = 0, TS = 0: the x87 and SSE instructions run
    mov cr0, eax
    fninit
    # at CPL 0 nothing is checked, even with AM and AC
    mov eax, cr0
    or eax, CR0_AM
    mov cr0, eax
    pushfd
    or dword ptr [esp], RFLAGS_AC
    popfd
    TRY32 1f
    mov eax, [AC_AREA + 1]
1:  CHECK_EXC32 "CR0.AM = 1, EFLAGS.AC = 1 at CPL 0: a misaligned doubleword is no #AC", NOTHING, 0
    pushfd
    and dword ptr [esp], ~RFLAGS_AC
    popfd
    lea edi, ac_user
    mov esi, USER_STACK
    mov edx, RFLAGS_AC | 2
    call run_user32
    LOGGED 0, "#AC: a word at an odd address (2)", EXC_AC<<16
    LOGGED 1, "... a word at an even address: none", NONE_LOGGED
    LOGGED 2, "#AC: a doubleword at 4n + 2 (4)", EXC_AC<<16
    LOGGED 3, "#AC: a segment selector stored at an odd address (2)", EXC_AC<<16
    LOGGED 4, "#AC: a 48-bit far pointer (LDS) at 4n + 2 (4)", EXC_AC<<16
    LOGGED 5, "... a 32-bit far pointer (16-bit LDS) at 4n + 2 (2): none", NONE_LOGGED
    LOGGED 6, "#AC: a bit string (BT m32, r32) element at 4n + 2 (4)", EXC_AC<<16
    LOGGED 7, "... a bit string (BT m16, r16) element at 4n + 2 (2): none", NONE_LOGGED
    LOGGED 8, "#AC: an 80-bit x87 value (FLD m80) at 8n + 4 (8)", EXC_AC<<16
    LOGGED 9, "... an 80-bit x87 value at 8n: none", NONE_LOGGED
    LOGGED 10, "#AC: a 32-bit FNSTENV area at 4n + 2 (4)", EXC_AC<<16
    LOGGED 11, "... a 16-bit FNSTENV area at 4n + 2 (2): none", NONE_LOGGED
    LOGGED 12, "... a 32-bit FNSAVE area at 8n + 4 (4; its 80-bit registers are not 8-aligned): none", NONE_LOGGED
    LOGGED 13, "... a 32-bit FRSTOR area at 8n + 4 (4): none", NONE_LOGGED
    LOGGED 14, "#AC: a 32-bit FNSAVE area at 4n + 2 (4)", EXC_AC<<16
    LOGGED 15, "... a 16-bit FNSAVE area at 4n + 2 (2): none", NONE_LOGGED
    LOGGED 16, "... SGDT at 4n + 2 (an aligned word, then an aligned doubleword, SDM 3.5.1): none", NONE_LOGGED
    LOGGED 17, "#AC: SGDT at 4n (its base doubleword at 4n + 2)", EXC_AC<<16
    LOGGED 18, "MOVAPS from a misaligned 128-bit operand: #GP(0), not #AC", EXC_GP<<16
    LOGGED 19, "... MOVUPS at 16n + 8 (its 8-byte halves aligned): none", NONE_LOGGED
    LOGGED 20, "#AC: MOVUPS at 8n + 4", EXC_AC<<16
    LOGGED 21, "FXSAVE at 16n + 8: #GP(0) (this processor's choice of #GP or #AC, SDM Vol. 2A FXSAVE)", EXC_GP<<16
    LOGGED 22, "... FXSAVE at 16n: none", NONE_LOGGED
    LOGGED 23, "#AC: PUSH with ESP at 4n + 2", EXC_AC<<16
    LOGGED 24, "#AC: SLDT m16 at 4n + 2 (LDTR contents: 4)", EXC_AC<<16
    LOGGED 25, "... SLDT m16 at 4n: none", NONE_LOGGED
    LOGGED 26, "#AC: STR m16 at 4n + 2 (task register contents: 4)", EXC_AC<<16
    LOGGED 27, "... MOVUPS store at 16n + 8 (its 8-byte halves aligned): none", NONE_LOGGED
    LOGGED 28, "#AC: MOVUPS store at 8n + 4", EXC_AC<<16
    lea edi, ac_user_off
    mov esi, USER_STACK
    mov edx, 2                      # EFLAGS.AC = 0
    call run_user32
    LOGGED 0, "EFLAGS.AC = 0: no #AC", NONE_LOGGED
    mov eax, cr0
    and eax, ~CR0_AM
    mov cr0, eax
    lea edi, ac_user_off
    mov esi, USER_STACK
    mov edx, RFLAGS_AC | 2
    call run_user32
    LOGGED 0, "CR0.AM = 0: no #AC", NONE_LOGGED
    ret

ac_user:
    mov ax, USER_DS
    mov ds, ax
    mov es, ax
    USER_FAULT 0, mov ax, [AC_AREA + 1]
    USER_FAULT 1, mov ax, [AC_AREA + 2]
    USER_FAULT 2, mov eax, [AC_AREA + 2]
    USER_FAULT 3, mov [AC_AREA + 1], ds
    mov word ptr [AC_AREA + 0x26], USER_DS
    USER_FAULT 4, lds esi, [AC_AREA + 0x22]
    mov ax, USER_DS
    mov ds, ax
    mov word ptr [AC_AREA + 0x24], USER_DS
    USER_FAULT 5, lds si, [AC_AREA + 0x22]
    mov ax, USER_DS
    mov ds, ax
    mov ecx, 33                     # bit 33: the doubleword at +4, the word at +4
    USER_FAULT 6, bt dword ptr [AC_AREA + 0x3E], ecx
    USER_FAULT 7, bt word ptr [AC_AREA + 0x3E], cx
    fldz
    fstp tbyte ptr [AC_AREA + 0x40]
    USER_FAULT 8, fld tbyte ptr [AC_AREA + 0x44]
    USER_FAULT 9, fld tbyte ptr [AC_AREA + 0x40]
    USER_FAULT 10, fnstenv [AC_AREA + 0x102]
    USER_FAULT 11, data16 fnstenv [AC_AREA + 0x102]
    USER_FAULT 12, fnsave [AC_AREA + 0x204]
    USER_FAULT 13, frstor [AC_AREA + 0x204]
    USER_FAULT 14, fnsave [AC_AREA + 0x302]
    USER_FAULT 15, data16 fnsave [AC_AREA + 0x302]
    fninit
    USER_FAULT 16, sgdt [AC_AREA + 0x402]
    USER_FAULT 17, sgdt [AC_AREA + 0x404]
    USER_FAULT 18, movaps xmm0, [AC_AREA + 0x508]
    USER_FAULT 19, movups xmm0, [AC_AREA + 0x508]
    USER_FAULT 20, movups xmm0, [AC_AREA + 0x504]
    USER_FAULT 21, fxsave [AC_AREA + 0x608]
    USER_FAULT 22, fxsave [AC_AREA + 0x800]
    mov ebx, esp
    mov esp, AC_AREA + 0xA02
    USER_FAULT 23, push eax
    mov esp, ebx
    USER_FAULT 24, sldt [AC_AREA + 0xB02]
    USER_FAULT 25, sldt [AC_AREA + 0xB04]
    USER_FAULT 26, str [AC_AREA + 0xB02]
    USER_FAULT 27, movups [AC_AREA + 0xC08], xmm0
    USER_FAULT 28, movups [AC_AREA + 0xC04], xmm0
    int 0x81

ac_user_off:
    mov ax, USER_DS
    mov ds, ax
    USER_FAULT 0, mov eax, [AC_AREA + 3]
    int 0x81

# ==========================================================================================================
# Virtual-8086 mode: the framework
# ==========================================================================================================

# v86_setup: the TSS of these tests (SS0:ESP0, the redirection bit map with only INT 21H's bit clear, the I/O map
# with only PORT_DENIED's bit set), loaded into TR; a conforming ring-0 code segment; the IDT's vectors 0-33H to
# v86_stubs (interrupt gates, DPL 0 except INT3, INTO and 20H-22H, 31H-33H: DPL 3 so that INT n reaches them
# from CPL 3), 31H to a DPL-3 code segment, 32H to the conforming one, 33H a 16-bit gate; the 8086 program's data.
v86_setup:
    mov edi, V86_TSS
    xor eax, eax
    mov ecx, (V86_TSS_LIMIT + 4) / 4
    rep stosd
    mov dword ptr [V86_TSS + 4], RSP0_STACK
    mov dword ptr [V86_TSS + 8], KERNEL_DS
    mov word ptr [V86_TSS + 0x66], V86_IOMAP
    mov edi, V86_TSS + V86_REDIR
    mov eax, 0xFFFFFFFF
    mov ecx, 8
    rep stosd
    and byte ptr [V86_TSS + V86_REDIR + 0x21 / 8], 0xFF & ~(1 << (0x21 & 7))
    or byte ptr [V86_TSS + V86_IOMAP + PORT_DENIED / 8], 1 << (PORT_DENIED & 7)
    mov byte ptr [V86_TSS + V86_TSS_LIMIT], 0xFF
    mov dword ptr [gdt + V86_TSS_SEL], ((V86_TSS & 0xFFFF) << 16) | V86_TSS_LIMIT
    mov dword ptr [gdt + V86_TSS_SEL + 4], 0x00008900 | ((V86_TSS >> 16) & 0xFF)
    mov dword ptr [gdt + CONFORMING_CS], 0x0000FFFF
    mov dword ptr [gdt + CONFORMING_CS + 4], 0x00CF9E00
    mov ax, V86_TSS_SEL
    ltr ax
    xor ecx, ecx
1:  mov eax, ecx
    shl eax, 4
    add eax, offset v86_stubs
    mov edi, ecx
    mov edx, 0x8E00
    cmp ecx, EXC_BP
    je 2f
    cmp ecx, EXC_OF
    je 2f
    cmp ecx, 0x20
    jb 3f
    cmp ecx, 0x30
    je 3f
2:  mov edx, 0xEE00
3:  call set_gate32
    inc ecx
    cmp ecx, 0x34
    jb 1b
    mov word ptr [IDT_ADDR + 0x31 * 8 + 2], USER_CS32
    mov word ptr [IDT_ADDR + 0x32 * 8 + 2], CONFORMING_CS
    mov eax, offset v86_gate16
    mov edi, 0x33
    mov edx, 0xE600                 # a 16-bit interrupt gate, DPL 3
    call set_gate32
    # the 8086 program's data and its interrupt vector table entry for INT 21H
    mov word ptr [DATA_LIN + 0x100], 0xBEEF
    mov word ptr [DATA_LIN + 0x110], 0x5678
    mov word ptr [DATA_LIN + 0x112], 0x1234
    mov word ptr [0x21 * 4], offset v86_int21
    mov word ptr [0x21 * 4 + 2], 0
    ret

# run_vm86: IRETD to virtual-8086 mode with v86_frame and v86_regs (RETURN-TO-VIRTUAL-8086-MODE); returns when
# v86_common has recorded the first event. Preserves EBX, EBP, ESI, EDI.
run_vm86:
    push ebx
    push ebp
    push esi
    push edi
    mov [kernel_saved_esp], esp
    push dword ptr [v86_gs]
    push dword ptr [v86_fs]
    push dword ptr [v86_ds]
    push dword ptr [v86_es]
    push dword ptr [v86_ss]
    push dword ptr [v86_esp]
    push dword ptr [v86_eflags]
    push dword ptr [v86_cs]
    push dword ptr [v86_eip]
    mov eax, [v86_eax]
    mov ebx, [v86_ebx]
    mov ecx, [v86_ecx]
    mov edx, [v86_edx]
    mov esi, [v86_esi]
    mov edi, [v86_edi]
    mov ebp, [v86_ebp]
    iretd

    .p2align 4
v86_stubs:
.irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47,48,49,50,51
    .p2align 4
    .if (\v == 8) || ((\v >= 10) && (\v <= 14)) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
    .else
    push 0
    .endif
    push \v
    jmp v86_common
.endr

# v86_common: [esp] vector, [esp + 4] error code, then the frame of an event from virtual-8086 mode (EIP CS EFLAGS
# ESP SS ES DS FS GS). DS is null here: the first accesses go through SS (SS0, a flat data segment).
v86_common:
    mov ss:[v86_eax], eax
    mov word ptr ss:[v86_in_ds], ds
    mov word ptr ss:[v86_in_es], es
    mov word ptr ss:[v86_in_fs], fs
    mov word ptr ss:[v86_in_gs], gs
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    test dword ptr [esp + 16], EFLAGS_VM
    jz v86_unexpected
    mov [v86_ebx], ebx
    mov [v86_ecx], ecx
    mov [v86_edx], edx
    mov [v86_esi], esi
    mov [v86_edi], edi
    mov [v86_ebp], ebp
    lea eax, [esp + 8]
    mov [v86_frame_at], eax
    mov eax, cr2
    mov [v86_cr2], eax
    pop dword ptr [v86_vector]
    pop dword ptr [v86_error]
    pop dword ptr [v86_eip]
    pop dword ptr [v86_cs]
    pop dword ptr [v86_eflags]
    pop dword ptr [v86_esp]
    pop dword ptr [v86_ss]
    pop dword ptr [v86_es]
    pop dword ptr [v86_ds]
    pop dword ptr [v86_fs]
    pop dword ptr [v86_gs]
v86_back:
    mov esp, [kernel_saved_esp]
    pop edi
    pop esi
    pop ebp
    pop ebx
    ret

v86_unexpected:
    PUTS32 "unexpected exception outside virtual-8086 mode: vector "
    mov eax, [esp]
    call serial_hex32
    PUTS32 " error "
    mov eax, [esp + 4]
    call serial_hex32
    PUTS32 " at "
    mov eax, [esp + 8]
    call serial_hex32
    PUTS32 "\n"
    EXIT32 0xEE

# v86_gate16: INT 33H through a 16-bit interrupt gate: a frame of words (IP CS FLAGS SP SS ES DS FS GS).
v86_gate16:
    mov ax, KERNEL_DS
    mov ds, ax
    mov es, ax
    mov [v86_w16_at], esp
    xor ecx, ecx
1:  movzx eax, word ptr [esp + ecx * 2]
    mov [v86_w16 + ecx * 4], eax
    inc ecx
    cmp ecx, 9
    jb 1b
    mov dword ptr [v86_vector], 0x33
    mov dword ptr [v86_error], 0
    jmp v86_back

# ==========================================================================================================
# Entering and leaving the mode; the frame; CPL 3
# ==========================================================================================================
v86_basics:
    V86 v_hlt, EFLAGS_IOPL3
    EVENT "virtual-8086 mode entered by IRETD from CPL 0: HLT there is #GP(0) (CPL 3)", EXC_GP, 0
    AT "... the frame's EIP is the HLT's, CS 0", v_hlt
    mov eax, [v86_cs]
    CHECK32 "... the frame's CS is the 8086 program's", 0
    FLAGS "... the EFLAGS image has VM = 1 and IOPL 3", EFLAGS_VM|EFLAGS_IOPL3, EFLAGS_VM|EFLAGS_IOPL3
    mov eax, [v86_ss]
    shl eax, 16
    or eax, [v86_esp]
    CHECK32 "... SS and ESP pushed", (V86_SS<<16)|V86_SP
    mov eax, [v86_es]
    shl eax, 16
    or eax, [v86_ds]
    CHECK32 "... ES and DS pushed (doublewords)", (V86_ES<<16)|V86_DS
    mov eax, [v86_fs]
    shl eax, 16
    or eax, [v86_gs]
    CHECK32 "... FS and GS pushed", (V86_FS<<16)|V86_GS
    mov eax, [v86_in_ds]
    or eax, [v86_in_fs]
    CHECK32 "... then DS, ES, FS and GS are null in the handler", 0
    mov eax, [v86_frame_at]
    CHECK32 "... the frame is on the stack of SS0:ESP0 (its EIP at ESP0 - 36)", RSP0_STACK-36
    V86 v_cr0, EFLAGS_IOPL3
    EVENT "MOV from CR0 in virtual-8086 mode: #GP(0)", EXC_GP, 0
    AT "... at the MOV", v_cr0
    V86 v_lar, EFLAGS_IOPL3
    EVENT "LAR in virtual-8086 mode: #UD", EXC_UD, 0
    V86 v_sldt, EFLAGS_IOPL3
    EVENT "SLDT in virtual-8086 mode: #UD", EXC_UD, 0
    V86 v_verr, EFLAGS_IOPL3
    EVENT "VERR in virtual-8086 mode: #UD", EXC_UD, 0
    V86 v_arpl, EFLAGS_IOPL3
    EVENT "ARPL in virtual-8086 mode: #UD", EXC_UD, 0
    # resuming after an event: the handler's IRETD goes back into the mode (here through the same frame)
    V86 v_resume, EFLAGS_IOPL3
    mov eax, [v86_eip]
    inc eax                         # past the HLT
    mov [v86_eip], eax
    call run_vm86
    AT "IRETD back to virtual-8086 mode resumes the 8086 program where its frame says", v_resume_2
    mov eax, [v86_ebx]
    and eax, 0xFFFF
    CHECK32 "... with its registers", 0x1234
    # exceptions through gates that do not lead to ring 0
    V86 v_int30, EFLAGS_IOPL3
    EVENT "INT 30H to a DPL-0 gate: #GP(30H * 8 + 2)", EXC_GP, 0x30*8+2
    V86 v_int31, EFLAGS_IOPL3
    EVENT "INT 31H to a gate whose code segment has DPL 3: #GP(its selector)", EXC_GP, USER_CS32&~3
    V86 v_int32, EFLAGS_IOPL3
    EVENT "INT 32H to a conforming ring-0 code segment: #GP(its selector)", EXC_GP, CONFORMING_CS
    # a 16-bit gate: words
    mov dword ptr [v86_w16_at], 0
    V86 v_int33, EFLAGS_IOPL3
    mov eax, [v86_w16_at]
    CHECK32 "INT 33H through a 16-bit interrupt gate: 9 words on the ring-0 stack", RSP0_STACK-18
    mov eax, [v86_w16]
    mov ecx, offset v_int33_end
    CHECK32 "... IP after the INT", ecx
    mov eax, [v86_w16 + 8]
    and eax, EFLAGS_IOPL3 | 2
    CHECK32 "... FLAGS", EFLAGS_IOPL3|2
    mov eax, [v86_w16 + 12]
    shl eax, 16
    or eax, [v86_w16 + 16]
    CHECK32 "... SP and SS", (V86_SP<<16)|V86_SS
    mov eax, [v86_w16 + 24]
    shl eax, 16
    or eax, [v86_w16 + 32]
    CHECK32 "... DS and GS", (V86_DS<<16)|V86_GS
    ret

# ==========================================================================================================
# 8086-style segments
# ==========================================================================================================
v86_segments:
    V86 v_seg, EFLAGS_IOPL3
    mov eax, [v86_ebx]
    and eax, 0xFFFF
    CHECK32 "MOV DS, 0310H reads linear 3100H at DS:0 (base = selector * 16)", 0xBEEF
    mov eax, [v86_ds]
    CHECK32 "LDS loads the selector of the far pointer", 0x1234
    mov eax, [v86_esi]
    and eax, 0xFFFF
    CHECK32 "... and its offset", 0x5678
    V86 v_limit, EFLAGS_IOPL3
    EVENT "a word at DS:FFFFH crosses the limit FFFFH: #GP(0)", EXC_GP, 0
    AT "... at the MOV", v_limit
    V86 v_stack_limit, EFLAGS_IOPL3
    EVENT "a PUSH at SS:FFFFH crosses the limit: #SS(0)", EXC_SS, 0
    V86 v_far, EFLAGS_IOPL3
    mov eax, [v86_cs]
    CHECK32 "far CALL to 0080:xxxx loads CS 8086-style", 0x80
    mov eax, [v86_eip]
    mov ecx, offset v_far_target-0x800
    CHECK32 "... and IP (the HLT at linear 800H + IP)", ecx
    mov eax, [v86_esp]
    CHECK32 "... the return CS:IP pushed", V86_SP-4
    V86 v_iret, EFLAGS_IOPL3
    mov eax, [v86_cs]
    shl eax, 16
    or eax, [v86_eip]
    mov ecx, offset v_iret_target - 0x800
    or ecx, 0x80 << 16
    CHECK32 "IRET within virtual-8086 mode (IOPL 3) pops IP, CS", ecx
    FLAGS "... FLAGS, but not IOPL (3 stays 3)", EFLAGS_VM|EFLAGS_IOPL3|RFLAGS_IF, EFLAGS_VM|EFLAGS_IOPL3
    V86 v_iretd_far, EFLAGS_IOPL3
    EVENT "IRETD to EIP 10000H, beyond CS's limit: #GP(0)", EXC_GP, 0
    AT "... at the IRETD", v_iretd_far_at
    mov eax, [v86_esp]
    CHECK32 "... nothing popped", V86_SP-12
    ret

# ==========================================================================================================
# IOPL 3, no CR4.VME: the IOPL-sensitive instructions run (method 1 of Table 20-2)
# ==========================================================================================================
v86_iopl3:
    V86 v_flags, EFLAGS_IOPL3|RFLAGS_IF
    mov eax, [v86_eax]
    and eax, RFLAGS_IF
    CHECK32 "IOPL 3: CLI clears IF", 0
    mov eax, [v86_ebx]
    and eax, RFLAGS_IF | EFLAGS_IOPL3
    CHECK32 "IOPL 3: STI sets IF; PUSHF pushes FLAGS as they are", RFLAGS_IF|EFLAGS_IOPL3
    mov eax, [v86_ecx]
    and eax, EFLAGS_VM | RFLAGS_RF | EFLAGS_IOPL3
    CHECK32 "IOPL 3: PUSHFD pushes EFLAGS with VM and RF cleared", EFLAGS_IOPL3
    V86 v_popf, EFLAGS_IOPL3
    FLAGS "IOPL 3: POPF and POPFD change IF, but neither IOPL nor VM", EFLAGS_VM|EFLAGS_IOPL3|RFLAGS_IF, EFLAGS_VM|EFLAGS_IOPL3
    V86 v_int20, EFLAGS_IOPL3|RFLAGS_IF
    EVENT "IOPL 3, CR4.VME = 0: INT 20H goes to the protected-mode handler", 0x20, 0
    AT "... with the return address after the INT", v_int20_end
    FLAGS "... its EFLAGS image as it was (IF = 1)", RFLAGS_IF|EFLAGS_VM, RFLAGS_IF|EFLAGS_VM
    ret

# ==========================================================================================================
# IOPL 0, no CR4.VME: they trap to the monitor (method 2)
# ==========================================================================================================
v86_iopl0:
    V86 v_cli, RFLAGS_IF
    EVENT "IOPL 0: CLI is #GP(0)", EXC_GP, 0
    AT "... at the CLI", v_cli
    V86 v_sti, 0
    EVENT "IOPL 0: STI is #GP(0)", EXC_GP, 0
    V86 v_pushf, 0
    EVENT "IOPL 0: PUSHF is #GP(0)", EXC_GP, 0
    AT "... at the PUSHF", v_pushf
    V86 v_popf_ax, 0
    EVENT "IOPL 0: POPF is #GP(0)", EXC_GP, 0
    AT "... at the POPF", v_popf_ax_at
    V86 v_int20, 0
    EVENT "IOPL 0, CR4.VME = 0: INT 20H is #GP(0), not the gate", EXC_GP, 0
    AT "... at the INT", v_int20
    V86 v_iret0, 0
    EVENT "IOPL 0: IRET is #GP(0)", EXC_GP, 0
    V86 v_int3, 0
    EVENT "IOPL 0: INT3 is no INT n: it reaches its DPL-3 gate", EXC_BP, 0
    V86 v_into, 1<<11
    EVENT "IOPL 0: INTO (OF = 1) reaches its DPL-3 gate", EXC_OF, 0
    ret

# ==========================================================================================================
# I/O: the I/O permission bit map of the TSS decides, whatever IOPL is (SDM 20.2.8.1)
# ==========================================================================================================
v86_io:
    V86 v_in_ok, 0
    AT "IOPL 0: IN from a port the I/O bit map allows completes", v_in_ok_end
    V86 v_in_denied, 0
    EVENT "IOPL 0: IN from a port the I/O bit map denies: #GP(0)", EXC_GP, 0
    V86 v_in_denied, EFLAGS_IOPL3
    EVENT "IOPL 3: the bit map still decides: #GP(0)", EXC_GP, 0
    AT "... at the IN", v_in_denied_at
    V86 v_in_beyond, EFLAGS_IOPL3
    EVENT "IOPL 3: a port beyond the TSS limit: #GP(0)", EXC_GP, 0
    V86 v_outsb, 0
    EVENT "IOPL 0: OUTSB to a denied port: #GP(0)", EXC_GP, 0
    ret

# ==========================================================================================================
# CR4.VME (20.3): VIF and VIP, the redirection bit map (methods 3 to 6)
# ==========================================================================================================
v86_vme:
    mov eax, cr4
    or eax, CR4_VME
    mov cr4, eax
    V86 v_cli, RFLAGS_IF|EFLAGS_VIF
    FLAGS "VME, IOPL 0: CLI clears VIF, not IF", RFLAGS_IF|EFLAGS_VIF, RFLAGS_IF
    AT "... and runs on", v_cli_end
    V86 v_sti, 0
    FLAGS "VME, IOPL 0: STI sets VIF, not IF", RFLAGS_IF|EFLAGS_VIF, EFLAGS_VIF
    V86 v_sti, EFLAGS_VIP
    EVENT "VME, IOPL 0: STI while VIP = 1 is #GP(0)", EXC_GP, 0
    AT "... at the STI", v_sti
    V86 v_pushf, RFLAGS_IF
    mov eax, [v86_eax]
    and eax, RFLAGS_IF | EFLAGS_IOPL3
    CHECK32 "VME, IOPL 0: PUSHF pushes VIF (0) as IF and IOPL 3", EFLAGS_IOPL3
    V86 v_pushf, EFLAGS_VIF
    mov eax, [v86_eax]
    and eax, RFLAGS_IF | EFLAGS_IOPL3
    CHECK32 "... VIF (1) as IF", RFLAGS_IF|EFLAGS_IOPL3
    V86 v_pushfd, 0
    EVENT "VME, IOPL 0: PUSHFD is #GP(0)", EXC_GP, 0
    mov dword ptr [v86_eax], RFLAGS_IF
    V86 v_popf_ax, RFLAGS_IF
    FLAGS "VME, IOPL 0: POPF of IF = 1 sets VIF", RFLAGS_IF|EFLAGS_VIF|EFLAGS_IOPL3, RFLAGS_IF|EFLAGS_VIF
    mov dword ptr [v86_eax], EFLAGS_IOPL3
    V86 v_popf_ax, RFLAGS_IF|EFLAGS_VIF
    FLAGS "... of IF = 0 clears VIF; IF and IOPL stay", RFLAGS_IF|EFLAGS_VIF|EFLAGS_IOPL3, RFLAGS_IF
    mov dword ptr [v86_eax], RFLAGS_TF
    V86 v_popf_ax, 0
    EVENT "VME, IOPL 0: POPF of TF = 1 is #GP(0)", EXC_GP, 0
    mov dword ptr [v86_eax], RFLAGS_IF
    V86 v_popf_ax, EFLAGS_VIP
    EVENT "VME, IOPL 0: POPF of IF = 1 while VIP = 1 is #GP(0)", EXC_GP, 0
    AT "... at the POPF", v_popf_ax_at
    V86 v_popfd, 0
    EVENT "VME, IOPL 0: POPFD is #GP(0)", EXC_GP, 0
    # INT 21H: its bit in the redirection bit map is clear: through the 8086 program's own vector table
    V86 v_int21, RFLAGS_IF|EFLAGS_VIF
    AT "VME, IOPL 0: INT 21H (bit clear) is redirected to the 8086 program's IVT entry", v86_int21_hlt
    mov eax, [v86_eax]
    and eax, 0xFFFF
    mov ecx, offset v_int21_end
    CHECK32 "... IP pushed", ecx
    mov eax, [v86_ebx]
    and eax, 0xFFFF
    CHECK32 "... CS pushed", 0
    mov eax, [v86_ecx]
    and eax, RFLAGS_IF | EFLAGS_IOPL3
    CHECK32 "... FLAGS pushed with VIF as IF and IOPL 3", RFLAGS_IF|EFLAGS_IOPL3
    FLAGS "... VIF cleared, IF kept", RFLAGS_IF|EFLAGS_VIF, RFLAGS_IF
    V86 v_int20, RFLAGS_IF
    EVENT "VME, IOPL 0: INT 20H (bit set) is #GP(0)", EXC_GP, 0
    V86 v_int21, EFLAGS_IOPL3|RFLAGS_IF
    AT "VME, IOPL 3: INT 21H (bit clear) is redirected too", v86_int21_hlt
    mov eax, [v86_ecx]
    and eax, RFLAGS_IF | EFLAGS_IOPL3
    CHECK32 "... FLAGS pushed as they are", RFLAGS_IF|EFLAGS_IOPL3
    FLAGS "... IF cleared", RFLAGS_IF, 0
    V86 v_int20, EFLAGS_IOPL3
    EVENT "VME, IOPL 3: INT 20H (bit set) goes to the protected-mode handler", 0x20, 0
    mov dword ptr [v86_eax], RFLAGS_IF
    V86 v_iret_ax, 0
    AT "VME, IOPL 0: IRET (16-bit) returns", v_iret_ax_target
    FLAGS "... IF = 1 popped into VIF; IF and IOPL stay", RFLAGS_IF|EFLAGS_VIF|EFLAGS_IOPL3, EFLAGS_VIF
    mov dword ptr [v86_eax], RFLAGS_TF
    V86 v_iret_ax, 0
    EVENT "VME, IOPL 0: IRET of TF = 1 is #GP(0)", EXC_GP, 0
    mov dword ptr [v86_eax], RFLAGS_IF
    V86 v_iret_ax, EFLAGS_VIP
    EVENT "VME, IOPL 0: IRET of IF = 1 while VIP = 1 is #GP(0)", EXC_GP, 0
    V86 v_iretd, 0
    EVENT "VME, IOPL 0: IRETD is #GP(0)", EXC_GP, 0
    V86 v_nop, EFLAGS_VIF|EFLAGS_VIP
    EVENT "VME, IOPL 0: VIF = VIP = 1 as the mode is entered: #GP(0) before the first instruction", EXC_GP, 0
    AT "... at it", v_nop
    V86 v_nop, EFLAGS_IOPL3|EFLAGS_VIF|EFLAGS_VIP
    AT "VME, IOPL 3: VIF = VIP = 1 mean nothing", v_nop_end
    mov eax, cr4
    and eax, ~CR4_VME
    mov cr4, eax
    ret

# ==========================================================================================================
# Paging at CPL 3 (SDM 20.2.5): the 8086 program's linear addresses are translated; its accesses are user-mode
# accesses; addresses from 100000H to 10FFEFH exist. Alignment checking applies (CPL 3).
# ==========================================================================================================
v86_paging:
    mov edi, PD_ADDR
    xor eax, eax
    mov ecx, 2 * 4096 / 4
    rep stosd
    mov dword ptr [PD_ADDR], PT_ADDR32 | 7
    mov edi, PT_ADDR32
    mov eax, 7                      # identity, P | R/W | U/S
    mov ecx, 1024
1:  mov [edi], eax
    add eax, 0x1000
    add edi, 4
    dec ecx
    jnz 1b
    mov dword ptr [PT_ADDR32 + 4 * 4], REMAPPED | 7
    mov dword ptr [PT_ADDR32 + 5 * 4], 0x5000 | 3     # supervisor only
    mov word ptr [REMAPPED], 0x1357
    mov word ptr [0x100000], 0x2468
    mov eax, PD_ADDR
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    V86 v_page_read, EFLAGS_IOPL3
    mov eax, [v86_ebx]
    and eax, 0xFFFF
    CHECK32 "paging: 0400:0000 reads linear 4000H, mapped to 200000H", 0x1357
    mov eax, [v86_ecx]
    and eax, 0xFFFF
    CHECK32 "FFFF:0010 reads linear 100000H (no wrap at 1 MiB)", 0x2468
    V86 v_page_write, EFLAGS_IOPL3
    EVENT "a write to a supervisor page: #PF(P | W | U)", EXC_PF, 7
    mov eax, [v86_cr2]
    CHECK32 "... CR2 is the linear address", 0x5010
    mov eax, cr0
    or eax, CR0_AM
    mov cr0, eax
    V86 v_misaligned, EFLAGS_IOPL3|RFLAGS_AC
    EVENT "CR0.AM = 1, EFLAGS.AC = 1: a misaligned word in virtual-8086 mode is #AC(0)", EXC_AC, 0
    V86 v_misaligned, EFLAGS_IOPL3
    AT "... with EFLAGS.AC = 0 it is read", v_misaligned_end
    mov eax, cr0
    and eax, ~(CR0_AM | CR0_PG)
    mov cr0, eax
    ret

# ==========================================================================================================
# The 8086 programs (16-bit code at CS = 0: their addresses are their offsets)
# ==========================================================================================================
.code16
v_hlt:
    hlt
v_cr0:
    mov eax, cr0
    hlt
v_lar:
    lar ax, bx
    hlt
v_sldt:
    sldt ax
    hlt
v_verr:
    verr ax
    hlt
v_arpl:
    arpl ax, bx
    hlt
v_resume:
    mov bx, 0x1234
    hlt
v_resume_2:
    hlt
v_int30:
    int 0x30
    hlt
v_int31:
    int 0x31
    hlt
v_int32:
    int 0x32
    hlt
v_int33:
    int 0x33
v_int33_end:
    hlt
v_seg:
    mov ax, 0x0310
    mov ds, ax
    mov bx, [0]
    mov ax, 0x0300
    mov ds, ax
    lds si, [0x110]
    hlt
v_limit:
    mov ax, [0xFFFF]
    hlt
v_stack_limit:
    mov sp, 1
    push ax
    hlt
v_far:
    lcall 0x0080, offset v_far_target - 0x800
v_far_target:
    hlt
v_iret:
    push 2                          # FLAGS: IOPL 0, IF 0
    push 0x0080
    push offset v_iret_target - 0x800
    iret
v_iret_target:
    hlt
v_iretd_far:
    PUSHD 2
    PUSHD 0
    PUSHD 0x10000
v_iretd_far_at:
    iretd
    hlt
v_flags:
    cli
    pushf
    pop ax
    sti
    pushf
    pop bx
    pushfd
    pop ecx
    hlt
v_popf:
    push 0x0200                     # IF = 1, IOPL 0
    popf
    PUSHD 0                         # VM = 0, IOPL 0, IF = 0
    popfd
    hlt
v_int20:
    int 0x20
v_int20_end:
    hlt
v_cli:
    cli
v_cli_end:
    hlt
v_sti:
    sti
    hlt
v_pushf:
    pushf
    pop ax
    hlt
v_pushfd:
    pushfd
    hlt
v_popf_ax:
    push ax
v_popf_ax_at:
    popf
    hlt
v_popfd:
    PUSHD 0
    popfd
    hlt
v_iret0:
    iret
    hlt
v_int3:
    int3
    hlt
v_into:
    into
    hlt
v_in_ok:
    mov dx, PORT_OK
    in al, dx
v_in_ok_end:
    hlt
v_in_denied:
    mov dx, PORT_DENIED
v_in_denied_at:
    in al, dx
    hlt
v_in_beyond:
    mov dx, 0x400
    in al, dx
    hlt
v_outsb:
    mov dx, PORT_DENIED
    xor si, si
    outsb
    hlt
v_int21:
    int 0x21
v_int21_end:
    hlt
v86_int21:
    pop ax                          # IP
    pop bx                          # CS
    pop cx                          # FLAGS
v86_int21_hlt:
    hlt
v_iret_ax:
    push ax                         # FLAGS from AX
    push 0
    push offset v_iret_ax_target
    iret
v_iret_ax_target:
    hlt
v_iretd:
    iretd
    hlt
v_nop:
    nop
v_nop_end:
    hlt
v_page_read:
    mov ax, 0x0400
    mov ds, ax
    mov bx, [0]
    mov ax, 0xFFFF
    mov ds, ax
    mov cx, [0x10]
    hlt
v_page_write:
    mov ax, 0x0500
    mov ds, ax
    mov [0x10], ax
    hlt
v_misaligned:
    mov ax, [1]
v_misaligned_end:
    hlt
.code32

    SYSTEST_FRAMEWORK32 "sys-vm86"
    SERIAL_ROUTINES_32
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 2
pvi_after_cli:  .long 0
pvi_after_sti:  .long 0
pvi_after_popf: .long 0
fault_log:      .fill 29, 4, 0
v86_frame:
v86_eip:        .long 0
v86_cs:         .long 0
v86_eflags:     .long 0
v86_esp:        .long 0
v86_ss:         .long 0
v86_es:         .long 0
v86_ds:         .long 0
v86_fs:         .long 0
v86_gs:         .long 0
v86_regs:
v86_eax:        .long 0
v86_ebx:        .long 0
v86_ecx:        .long 0
v86_edx:        .long 0
v86_esi:        .long 0
v86_edi:        .long 0
v86_ebp:        .long 0
v86_vector:     .long 0
v86_error:      .long 0
v86_cr2:        .long 0
v86_frame_at:   .long 0
v86_in_ds:      .word 0
v86_in_es:      .word 0
v86_in_fs:      .word 0
v86_in_gs:      .word 0
v86_w16_at:     .long 0
v86_w16:        .long 0, 0, 0, 0, 0, 0, 0, 0, 0
.popsection
