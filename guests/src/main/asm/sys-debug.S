# sys-debug — a test kernel for the debug features (SDM Vol. 3B, chapter 18) in 64-bit mode: single-step traps
# (RFLAGS.TF, 18.3.1.4) and which instructions they follow (POPF setting and clearing TF, INT n, STI, MOV SS
# holding the trap for one instruction (Vol. 3A 6.8.3), each REP string iteration), the debug registers: instruction
# breakpoints (faults, suppressed by RF = 1, 18.3.1.1), data write and read/write breakpoints of each length
# (traps), I/O breakpoints with CR4.DE, general detect (DR7.GD, DR6.BD), DR4/DR5 aliasing, DR6 and DR7's fixed bits,
# MOV DR's #GP and #UD; INT1, INT3 and INTO; and the priority of a single-step trap over the next instruction's
# breakpoint (Vol. 3A 6.9, Table 6-2). Every check prints "ok   ..." or "FAIL ..." (include/systest.inc); the run
# ends with the line
#   sys-debug: all 57 checks passed
# and exit code 0 (otherwise the number of failed checks).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.set DR6_INIT, 0xFFFF0FF0           # DR6 with no condition reported (bits 31:16 and 11:4 read as 1)
.set DR6_BS,   0x4000
.set DR6_BD,   0x2000

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
    lea rax, [rip + db_handler]
    mov edi, EXC_DB
    mov edx, 0x8E00
    call set_gate64
    lea rax, [rip + int82_handler]
    mov edi, 0x82
    mov edx, 0x8E00
    call set_gate64

    call single_step
    call single_step_special
    call instruction_breakpoints
    call data_breakpoints
    call io_breakpoints
    call debug_register_access
    call software_exceptions
    jmp finish64

# reset_db: forget the recorded #DBs; DR6 back to its initial value
reset_db:
    mov dword ptr [rip + db_count], 0
    xor eax, eax
    mov dr6, rax
    ret

# db_handler: records, for each #DB, the RIP it returns to, DR6, the RFLAGS image and RCX; clears DR6 (18.2.3:
# the processor never clears it) and returns.
db_handler:
    push rax
    push rbx
    push rcx
    mov ecx, [rip + db_count]
    cmp ecx, 16
    jae 1f
    lea rbx, [rip + db_rips]
    mov rax, [rsp + 24]
    mov [rbx + rcx * 8], rax
    lea rbx, [rip + db_dr6s]
    mov rax, dr6
    mov [rbx + rcx * 8], rax
    lea rbx, [rip + db_flags]
    mov rax, [rsp + 40]
    mov [rbx + rcx * 8], rax
    lea rbx, [rip + db_rcx]
    mov rax, [rsp]
    mov [rbx + rcx * 8], rax
1:  inc dword ptr [rip + db_count]
    xor eax, eax
    mov dr6, rax
    pop rcx
    pop rbx
    pop rax
    iretq

int82_handler:
    nop
    iretq

# ---------------------------------------------------------------------------------------------------------
# 18.3.1.4: a single-step trap follows every instruction that starts with TF = 1
single_step:
    call reset_db
    pushfq
    or qword ptr [rsp], RFLAGS_TF
    popfq                           # sets TF: no trap after it
s1: nop
s2: nop
s3: pushfq
s4: and qword ptr [rsp], ~RFLAGS_TF
s5: popfq                           # starts with TF = 1: it traps, though it clears TF
s6: nop
    mov eax, [rip + db_count]
    CHECK64 "TF: one trap per instruction from the one after POPF to the POPF clearing it", 5
    mov rax, [rip + db_rips]
    lea rbx, [rip + s2]
    CHECK64 "the first trap returns to the instruction after the stepped one", rbx
    mov rax, [rip + db_rips + 4 * 8]
    lea rbx, [rip + s6]
    CHECK64 "the POPF that clears TF traps after itself", rbx
    mov rax, [rip + db_dr6s]
    CHECK64 "DR6 of a single-step trap: BS", DR6_INIT | DR6_BS
    mov rax, [rip + db_flags]
    and eax, RFLAGS_TF | RFLAGS_RF
    CHECK64 "the image of a single-step trap has TF = 1, RF = 0", RFLAGS_TF
    mov rax, [rip + db_flags + 4 * 8]
    and eax, RFLAGS_TF
    CHECK64 "... and TF = 0 after the POPF that cleared it", 0
    # REP MOVSB: a trap after every iteration, RIP on the instruction until the last (18.3.1.4)
    call reset_db
    lea rsi, [rip + step_src]
    lea rdi, [rip + step_dst]
    mov ecx, 3
    pushfq
    or qword ptr [rsp], RFLAGS_TF
    popfq
r1: rep movsb
r2: pushfq
    and qword ptr [rsp], ~RFLAGS_TF
    popfq
    mov eax, [rip + db_count]
    CHECK64 "REP MOVSB with RCX = 3 and TF: a trap per iteration (and 3 more after it)", 6
    mov rax, [rip + db_rips]
    lea rbx, [rip + r1]
    CHECK64 "the first iteration's trap returns to the REP instruction", rbx
    mov rax, [rip + db_rips + 2 * 8]
    lea rbx, [rip + r2]
    CHECK64 "the last iteration's trap returns after it", rbx
    mov eax, dword ptr [rip + step_dst]
    and eax, 0xFFFFFF
    CHECK64 "and the bytes were copied", 0x332211
    ret

# ---------------------------------------------------------------------------------------------------------
single_step_special:
    # INT n with TF = 1: delivery clears TF; the trap comes at the handler's first instruction, whose image has
    # TF = 0 (18.3.1.4: "to single step an interrupt handler, single step an INT n instruction")
    call reset_db
    pushfq
    or qword ptr [rsp], RFLAGS_TF
    popfq
i1: int 0x82
i2: pushfq
    and qword ptr [rsp], ~RFLAGS_TF
    popfq
    mov rax, [rip + db_rips]
    lea rbx, [rip + int82_handler]
    CHECK64 "single-stepping INT n traps at the handler's first instruction", rbx
    mov rax, [rip + db_flags]
    and eax, RFLAGS_TF
    CHECK64 "... with TF = 0 in its image", 0
    mov rax, [rip + db_rips + 8]
    lea rbx, [rip + i2 + 1]
    CHECK64 "the handler runs untraced; after its IRET stepping goes on", rbx
    # MOV SS holds the trap until the next instruction has completed (6.8.3): one trap, after the two
    call reset_db
    mov ax, ss
    pushfq
    or qword ptr [rsp], RFLAGS_TF
    popfq
m1: mov ss, ax
m2: nop
m3: nop
m4: pushfq
    and qword ptr [rsp], ~RFLAGS_TF
    popfq
    mov rax, [rip + db_rips]
    lea rbx, [rip + m3]
    CHECK64 "MOV SS with TF: the trap comes after the next instruction", rbx
    mov rax, [rip + db_rips + 8]
    lea rbx, [rip + m4]
    CHECK64 "... then one per instruction again", rbx
    # STI does not hold a single-step trap
    call reset_db
    pushfq
    or qword ptr [rsp], RFLAGS_TF
    popfq
t1: sti
t2: cli
t3: pushfq
    and qword ptr [rsp], ~RFLAGS_TF
    popfq
    mov rax, [rip + db_rips]
    lea rbx, [rip + t2]
    CHECK64 "STI with TF: the trap follows STI itself", rbx
    ret

# ---------------------------------------------------------------------------------------------------------
# 18.2.4: instruction breakpoints are faults before the instruction; RF = 1 suppresses them for one instruction
instruction_breakpoints:
    call reset_db
    lea rax, [rip + b1]
    mov dr0, rax
    mov eax, 0x401                  # L0, R/W0 = 00 (execution), LEN0 = 00
    mov dr7, rax
    mov dword ptr [rip + bp_hits], 0
b1: inc dword ptr [rip + bp_hits]
    xor eax, eax
    mov dr7, rax
    mov eax, [rip + db_count]
    CHECK64 "an instruction breakpoint: one #DB", 1
    mov rax, [rip + db_rips]
    lea rbx, [rip + b1]
    CHECK64 "... a fault: its RIP is the instruction's", rbx
    mov rax, [rip + db_dr6s]
    CHECK64 "... DR6.B0 = 1, BS = 0", DR6_INIT | 1
    mov rax, [rip + db_flags]
    and eax, RFLAGS_RF
    CHECK64 "... the fault's image has RF = 1", RFLAGS_RF
    mov eax, [rip + bp_hits]
    CHECK64 "... and the instruction ran once, after the IRET (RF = 1)", 1
    # a breakpoint that is not enabled (L0 = G0 = 0) does nothing
    call reset_db
    mov eax, 0x400
    mov dr7, rax
    inc dword ptr [rip + bp_hits]
    mov eax, [rip + db_count]
    CHECK64 "a disabled breakpoint: no #DB", 0
    # priority (6.9): the single-step trap of one instruction comes before the breakpoint of the next
    call reset_db
    lea rax, [rip + p2]
    mov dr0, rax
    mov eax, 0x402                  # G0
    mov dr7, rax
    pushfq
    or qword ptr [rsp], RFLAGS_TF
    popfq
p1: nop
p2: nop
p3: pushfq
    and qword ptr [rsp], ~RFLAGS_TF
    popfq
    xor eax, eax
    mov dr7, rax
    mov rax, [rip + db_dr6s]
    CHECK64 "single step into a breakpoint: first the trap (BS)", DR6_INIT | DR6_BS
    mov rax, [rip + db_dr6s + 8]
    CHECK64 "... then the breakpoint fault (B0), at the same RIP", DR6_INIT | 1
    mov rax, [rip + db_rips + 8]
    lea rbx, [rip + p2]
    CHECK64 "... whose RIP is the instruction's", rbx
    mov rax, [rip + db_rips + 16]
    lea rbx, [rip + p3]
    CHECK64 "... then the instruction's own trap", rbx
    ret

# ---------------------------------------------------------------------------------------------------------
# 18.2.4-18.2.5: data breakpoints are traps after the access; LEN covers 1, 2, 4 or 8 bytes
data_breakpoints:
    call reset_db
    lea rax, [rip + watched]
    mov dr1, rax
    mov eax, 0x00D00408             # L1, R/W1 = 01 (writes), LEN1 = 11 (4 bytes)
    mov dr7, rax
    mov eax, [rip + watched]        # a read: nothing
w1: mov dword ptr [rip + watched], 7
w2: nop
    xor eax, eax
    mov dr7, rax
    mov eax, [rip + db_count]
    CHECK64 "a write breakpoint ignores reads, traps on the write", 1
    mov rax, [rip + db_rips]
    lea rbx, [rip + w2]
    CHECK64 "... a trap: RIP after the writing instruction", rbx
    mov rax, [rip + db_dr6s]
    CHECK64 "... DR6.B1", DR6_INIT | 2
    # BS set before stays set (the processor never clears DR6's other bits)
    call reset_db
    mov eax, DR6_BS
    mov dr6, rax
    mov eax, 0x00D00408
    mov dr7, rax
    mov byte ptr [rip + watched + 3], 1     # the last byte of the 4
    xor eax, eax
    mov dr7, rax
    mov rax, [rip + db_dr6s]
    CHECK64 "a 1-byte write to the range's last byte: B1, and BS not cleared", DR6_INIT | DR6_BS | 2
    # a write that only overlaps the range
    call reset_db
    mov eax, 0x00D00408
    mov dr7, rax
    mov word ptr [rip + watched + 3], 1     # bytes 3 and 4: one of them in the range
    mov word ptr [rip + watched + 4], 1     # bytes 4 and 5: none
    xor eax, eax
    mov dr7, rax
    mov eax, [rip + db_count]
    CHECK64 "a write overlapping the range traps, one beside it does not", 1
    # R/W = 11 (reads and writes), LEN = 10 (8 bytes): the address's low 3 bits are ignored
    call reset_db
    lea rax, [rip + watched + 5]
    mov dr3, rax
    mov eax, 0xB0000440             # L3 (bit 6), R/W3 = 11, LEN3 = 10
    mov dr7, rax
    mov al, [rip + watched]         # byte 0: inside the aligned 8 bytes
    xor eax, eax
    mov dr7, rax
    mov eax, [rip + db_count]
    CHECK64 "a read/write breakpoint traps on a read; LEN = 8 aligns the range", 1
    mov rax, [rip + db_dr6s]
    CHECK64 "... DR6.B3", DR6_INIT | 8
    # a REP STOSB over a watched byte traps after the iteration that wrote it, with RIP still on the REP
    # instruction while iterations remain (RCX tells which iteration it was)
    call reset_db
    lea rax, [rip + watched + 2]
    mov dr0, rax
    mov eax, 0x00010401             # L0, R/W0 = 01, LEN0 = 00 (1 byte)
    mov dr7, rax
    lea rdi, [rip + watched]
    mov ecx, 6
    xor eax, eax
x1: rep stosb
    xor eax, eax
    mov dr7, rax
    mov eax, [rip + db_count]
    CHECK64 "REP STOSB over a watched byte: one trap", 1
    mov rax, [rip + db_rips]
    lea rbx, [rip + x1]
    CHECK64 "... returning to the REP instruction", rbx
    mov rax, [rip + db_rcx]
    CHECK64 "... after the third iteration (RCX = 3)", 3
    ret

# ---------------------------------------------------------------------------------------------------------
# I/O breakpoints (R/W = 10) exist with CR4.DE = 1 (18.2.4)
io_breakpoints:
    call reset_db
    mov rax, cr4
    or eax, CR4_DE
    mov cr4, rax
    mov eax, 0xE0                   # the report port: a port a VMM answers
    mov dr2, rax
    mov eax, 0x02000410             # L2, R/W2 = 10, LEN2 = 00
    mov dr7, rax
    mov al, 0
o1: out 0xE0, al
o2: xor eax, eax
    mov dr7, rax
    mov eax, [rip + db_count]
    CHECK64 "an I/O breakpoint (CR4.DE = 1): OUT to the port traps", 1
    mov rax, [rip + db_rips]
    lea rbx, [rip + o2]
    CHECK64 "... after the OUT", rbx
    mov rax, [rip + db_dr6s]
    CHECK64 "... DR6.B2", DR6_INIT | 4
    ret

# ---------------------------------------------------------------------------------------------------------
# MOV DR (Vol. 2B) and the register formats (18.2)
debug_register_access:
    # DR4/DR5: aliases of DR6/DR7 with CR4.DE = 0, #UD with CR4.DE = 1
    TRY64 1f
    mov rax, dr4
1:  CHECK_EXC64 "MOV from DR4 with CR4.DE = 1: #UD", EXC_UD, 0
    mov rax, cr4
    and eax, ~CR4_DE
    mov cr4, rax
    xor eax, eax
    mov dr6, rax
    mov rax, dr4
    CHECK64 "with CR4.DE = 0, DR4 reads DR6 (fixed bits set)", DR6_INIT
    mov rax, dr7
    mov rbx, dr5
    cmp rax, rbx
    sete al
    movzx eax, al
    CHECK64 "... and DR5 reads DR7", 1
    xor eax, eax
    mov dr7, rax
    mov rax, dr7
    CHECK64 "DR7 reads bit 10 as 1", 0x400
    mov rax, 1 << 32
    TRY64 1f
    mov dr7, rax
1:  CHECK_EXC64 "MOV to DR7 with a bit of 63:32 set: #GP(0)", EXC_GP, 0
    # general detect: a MOV DR with DR7.GD = 1 is a #DB fault, DR6.BD = 1, and GD is cleared for the handler
    call reset_db
    mov eax, 0x2400
    mov dr7, rax
g1: mov rax, dr0
    mov rax, dr7
    mov [rip + saved_dr7], rax
    mov eax, [rip + db_count]
    CHECK64 "MOV DR with DR7.GD = 1: one #DB", 1
    mov rax, [rip + db_rips]
    lea rbx, [rip + g1]
    CHECK64 "... a fault: RIP on the MOV DR", rbx
    mov rax, [rip + db_dr6s]
    CHECK64 "... DR6.BD", DR6_INIT | DR6_BD
    mov rax, [rip + saved_dr7]
    CHECK64 "... and DR7.GD cleared as the handler started", 0x400
    # CPL 3
    lea rdi, [rip + user_mov_dr + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2
    call run_user64
    CHECK_EXC64 "MOV DR at CPL 3: #GP(0)", EXC_GP, 0
    ret

user_mov_dr:
    TRY64 1f
    mov rax, dr7
1:  int 0x81

# ---------------------------------------------------------------------------------------------------------
# INT3, INT1 and INTO (Vol. 2A INT n/INTO/INT3/INT1)
software_exceptions:
    mov qword ptr [rip + exc_resume], 1     # a trap: return where it leaves
    mov dword ptr [rip + exc_vector], NOTHING
    int3
3:  CHECK_EXC64 "INT3: #BP", EXC_BP, 0
    mov rax, [rip + exc_rip]
    lea rbx, [rip + 3b]
    CHECK64 "... a trap: RIP after INT3", rbx
    mov rax, [rip + exc_rflags]
    and eax, RFLAGS_RF
    CHECK64 "... RF = 0 in its image", 0
    call reset_db
2:  .byte 0xF1                      # INT1 (ICEBP)
3:  mov eax, [rip + db_count]
    CHECK64 "INT1: one #DB", 1
    mov rax, [rip + db_rips]
    lea rbx, [rip + 3b]
    CHECK64 "... a trap: RIP after INT1", rbx
    mov rax, [rip + db_dr6s]
    CHECK64 "... DR6 unchanged (INT1 reports no condition)", DR6_INIT
    TRY64 1f
    .byte 0xCE                      # INTO: invalid in 64-bit mode
1:  CHECK_EXC64 "INTO in 64-bit mode: #UD", EXC_UD, 0
    # a gate of DPL 0 is out of reach of INT3 at CPL 3: #GP(vector * 8 + 2)
    lea rdi, [rip + user_int3 + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2
    call run_user64
    CHECK_EXC64 "INT3 at CPL 3 through a DPL-0 gate: #GP(3 * 8 + 2)", EXC_GP, (3*8+2)
    ret

user_int3:
    TRY64 1f
    int3
1:  int 0x81

    SYSTEST_FRAMEWORK64 "sys-debug"
    SERIAL_ROUTINES_64
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 4
db_rips:        .zero 16 * 8
db_dr6s:        .zero 16 * 8
db_flags:       .zero 16 * 8
db_rcx:         .zero 16 * 8
db_count:       .long 0
bp_hits:        .long 0
    .p2align 3
watched:        .quad 0, 0
saved_dr7:      .quad 0
step_src:       .byte 0x11, 0x22, 0x33, 0
step_dst:       .long 0
.popsection
