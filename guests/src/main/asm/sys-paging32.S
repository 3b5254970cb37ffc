# sys-paging32 — a test kernel for the paging modes outside IA-32e mode (SDM Vol. 3A, 4.3 and 4.4): 32-bit paging
# with 4-KiB pages and, with CR4.PSE, 4-MiB pages (without PSE the PS flag is ignored; bit 21 of a 4-MiB PDE is
# reserved), the error code and CR2 of its page faults, U/S and R/W with CR0.WP, SMEP, the accessed and dirty flags
# of 4-byte entries, INVLPG of a 4-MiB page and CR4.PGE; then PAE paging: 2-MiB pages, execute-disable with EFER.NXE
# (and XD reserved without it), reserved bits 62:MAXPHYADDR, the PDPTE registers (loaded by MOV to CR3, which faults
# on a reserved PDPTE bit and then changes nothing; memory written later is not used until the next load), and
# CR4.PCIDE, which cannot be set outside IA-32e mode. Every check prints "ok   ..." or "FAIL ..."
# (include/systest.inc); the run ends with the line
#   sys-paging32: all 31 checks passed
# and exit code 0 (otherwise the number of failed checks).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

# 32-bit paging: the page directory, the page table of 0-4 MiB (4-KiB pages), PD[1]: 4 MiB at 4 MiB
.set PD32,        0x100000
.set PT32,        0x101000
.set V_PAGE,      0x204000          # the victim page (its PTE is rewritten)
.set V_PTE32,     PT32 + (V_PAGE >> 12) * 4
.set F1,          0x300000
.set F2,          0x301000
.set USER_PAGE,   0x205000          # a user page holding a RET (for SMEP)
.set BIG4M_A,     0x400000
.set BIG4M_B,     0x800000
.set MARK1,       0x11111111
.set MARK2,       0x22222222
# PAE paging: the PDPT (32-byte aligned), the PD of the first GiB, its PT for 0-2 MiB
.set PDPT,        0x110000
.set PDPT_SPARE,  0x110100          # a second PDPT for the reserved-bit check
.set PD_PAE,      0x111000
.set PT_PAE,      0x112000
.set V_PTE_PAE,   PT_PAE + (V_PAGE >> 12) * 8   # V_PAGE is in 2-4 MiB: mapped through PD_PAE[1] -> PT_PAE2
.set PT_PAE2,     0x113000
.set V_PTE_PAE2,  PT_PAE2 + ((V_PAGE - 0x200000) >> 12) * 8

.text
.globl _start
.code16
_start:
    SYSTEST_ENTER_PROTECTED_MODE prot
.code32
prot:
    call setup_idt32
    call setup_tss32
    mov dword ptr [F1], MARK1
    mov dword ptr [F2], MARK2
    mov dword ptr [BIG4M_A + 0x1234], MARK1
    mov dword ptr [BIG4M_B + 0x1234], MARK2
    mov dword ptr [BIG4M_A + 0x5234], MARK1
    mov dword ptr [BIG4M_B + 0x5234], MARK2
    mov byte ptr [USER_PAGE], 0xC3  # RET
    # 32-bit paging structures: PD[0] -> PT32 (identity 0-4 MiB, supervisor; the image and the user stack pages
    # user-accessible), PD[1] = a 4-MiB page at 4 MiB, PD[2] the same at 8 MiB
    mov edi, PD32
    xor eax, eax
    mov ecx, 2 * 4096 / 4
    rep stosd
    mov dword ptr [PD32], PT32 | 7
    mov edi, PT32
    mov eax, 3
    mov ecx, 1024
1:  mov [edi], eax
    add eax, 0x1000
    add edi, 4
    dec ecx
    jnz 1b
    mov edi, PT32 + (0x8000 >> 12) * 4      # the image: user-accessible (the kernel's code runs there too)
    mov ecx, 8
1:  or dword ptr [edi], 4
    add edi, 4
    dec ecx
    jnz 1b
    mov edi, PT32 + (0x50000 >> 12) * 4     # the user stack
    mov ecx, 16
1:  or dword ptr [edi], 4
    add edi, 4
    dec ecx
    jnz 1b
    or dword ptr [PT32 + (USER_PAGE >> 12) * 4], 4
    mov dword ptr [PD32 + 4], BIG4M_A | 0x83
    mov dword ptr [PD32 + 8], BIG4M_B | 0x83
    mov eax, PD32
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG | CR0_WP
    mov cr0, eax

    call four_mib_pages
    call faults32
    call rights32
    call accessed_dirty32
    call invalidation32
    call pcide_outside_ia32e
    call pae_paging
    jmp finish32

# ---------------------------------------------------------------------------------------------------------
# 4.3: PS is ignored without CR4.PSE; with it a PDE maps 4 MiB (Table 4-4: bit 21 reserved)
four_mib_pages:
    TRY32 1f
    mov eax, [BIG4M_A + 0x1234]
1:  CHECK_EXC32 "CR4.PSE = 0: PS ignored, the PDE points to a page table (zeros): #PF(0)", EXC_PF, 0
    mov eax, cr4
    or eax, CR4_PSE
    mov cr4, eax
    mov eax, [BIG4M_A + 0x1234]
    CHECK32 "CR4.PSE = 1: a 4-MiB page", MARK1
    mov dword ptr [PD32 + 4], BIG4M_A | 0x83 | (1 << 21)
    invlpg [BIG4M_A]
    TRY32 1f
    mov eax, [BIG4M_A + 0x1234]
1:  CHECK_EXC32 "a 4-MiB PDE with bit 21 set: #PF(P|RSVD)", EXC_PF, 9
    mov dword ptr [PD32 + 4], BIG4M_A | 0x83
    invlpg [BIG4M_A]
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.7 with 32-bit paging
faults32:
    mov dword ptr [V_PTE32], 0
    invlpg [V_PAGE]
    TRY32 1f
    mov eax, [V_PAGE + 0x20]
1:  CHECK_EXC32 "32-bit paging: read of a not-present page: #PF(0)", EXC_PF, 0
    mov eax, [exc_cr2]
    CHECK32 "... CR2", V_PAGE + 0x20
    TRY32 1f
    mov dword ptr [V_PAGE], 1
1:  CHECK_EXC32 "... a write: #PF(W)", EXC_PF, 2
    TRY32 1f
    mov eax, V_PAGE
    jmp eax
1:  CHECK_EXC32 "a fetch from a not-present page: #PF(0), no I/D without NX or SMEP", EXC_PF, 0
    mov dword ptr [V_PTE32], V_PAGE | 1
    invlpg [V_PAGE]
    TRY32 1f
    mov dword ptr [V_PAGE], 1
1:  CHECK_EXC32 "a supervisor write to a read-only page with WP = 1: #PF(P|W)", EXC_PF, 3
    mov dword ptr [V_PTE32], V_PAGE | 3
    invlpg [V_PAGE]
    ret

# ---------------------------------------------------------------------------------------------------------
rights32:
    lea edi, user_read_v
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [fault_log]
    CHECK32 "32-bit paging: user read of a supervisor page: #PF(P|U)", (EXC_PF << 16) | 5
    mov dword ptr [V_PTE32], V_PAGE | 5
    invlpg [V_PAGE]
    lea edi, user_write_v
    mov esi, USER_STACK
    mov edx, 2
    call run_user32
    mov eax, [fault_log]
    CHECK32 "... user write to a read-only user page: #PF(P|W|U)", (EXC_PF << 16) | 7
    mov dword ptr [V_PTE32], V_PAGE | 3
    invlpg [V_PAGE]
    # SMEP: a supervisor fetch from a user page; this code's own pages must be supervisor pages from here on
    mov edi, PT32 + (0x8000 >> 12) * 4
    mov ecx, 8
1:  and dword ptr [edi], ~4
    add edi, 4
    dec ecx
    jnz 1b
    mov eax, cr3
    mov cr3, eax
    mov eax, cr4
    or eax, CR4_SMEP
    mov cr4, eax
    mov [rip_esp], esp
    TRY32 1f
    mov eax, USER_PAGE
    call eax
1:  mov esp, [rip_esp]              # the CALL pushed before the fetch faulted
    mov eax, cr4
    and eax, ~CR4_SMEP
    mov cr4, eax
    CHECK_EXC32 "SMEP, 32-bit paging: supervisor fetch from a user page: #PF(P|I)", EXC_PF, 0x11
    ret

.set NONE_LOGGED, 0xFFFF0000
user_read_v:
    mov ax, USER_DS
    mov ds, ax
    TRY32 1f
    mov eax, [V_PAGE]
1:  call log_fault
    int 0x81
user_write_v:
    mov ax, USER_DS
    mov ds, ax
    TRY32 1f
    mov dword ptr [V_PAGE], 3
1:  call log_fault
    int 0x81

# log_fault: fault_log[0] = vector << 16 | error code of the last exception, or NONE_LOGGED
log_fault:
    mov eax, [exc_vector]
    cmp eax, NOTHING
    mov eax, NONE_LOGGED
    je 1f
    mov eax, [exc_vector]
    shl eax, 16
    or eax, [exc_error]
1:  mov [fault_log], eax
    mov dword ptr [exc_resume], 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.8 with 4-byte entries
accessed_dirty32:
    mov dword ptr [V_PTE32], V_PAGE | 3
    and dword ptr [PD32], ~0x20
    invlpg [V_PAGE]
    mov eax, [V_PAGE]
    mov eax, [V_PTE32]
    and eax, 0x60
    CHECK32 "32-bit paging: a read sets A in the PTE, not D", 0x20
    mov eax, [PD32]
    and eax, 0x20
    CHECK32 "... and A in the PDE", 0x20
    mov dword ptr [V_PAGE], 4
    mov eax, [V_PTE32]
    and eax, 0x60
    CHECK32 "... a write sets D", 0x60
    and dword ptr [PD32 + 4], ~0x60
    invlpg [BIG4M_A]
    mov dword ptr [BIG4M_A + 8], 5
    mov eax, [PD32 + 4]
    and eax, 0x60
    CHECK32 "a write through a 4-MiB page sets A and D in its PDE", 0x60
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.10.4 with 32-bit paging: INVLPG in a 4-MiB page; CR4.PGE
invalidation32:
    mov eax, [BIG4M_A + 0x1234]
    mov eax, [BIG4M_A + 0x5234]
    mov dword ptr [PD32 + 4], BIG4M_B | 0x83
    invlpg [BIG4M_A + 0x300000]     # anywhere in the 4-MiB page
    mov eax, [BIG4M_A + 0x5234]
    CHECK32 "INVLPG anywhere in a 4-MiB page invalidates all of it", MARK2
    mov dword ptr [PD32 + 4], BIG4M_A | 0x83
    invlpg [BIG4M_A]
    mov eax, cr4
    or eax, CR4_PGE
    mov cr4, eax
    mov dword ptr [V_PTE32], F1 | 3 | 0x100
    invlpg [V_PAGE]
    mov eax, [V_PAGE]
    mov dword ptr [V_PTE32], F2 | 3 | 0x100
    mov eax, cr4
    and eax, ~CR4_PGE
    mov cr4, eax
    mov eax, [V_PAGE]
    CHECK32 "32-bit paging: clearing CR4.PGE invalidates a global translation", MARK2
    mov dword ptr [V_PTE32], F1 | 3
    invlpg [V_PAGE]
    mov eax, [V_PAGE]
    mov dword ptr [V_PTE32], F2 | 3
    mov eax, cr3
    mov cr3, eax
    mov eax, [V_PAGE]
    CHECK32 "32-bit paging: MOV to CR3 invalidates", MARK2
    mov dword ptr [V_PTE32], V_PAGE | 3
    invlpg [V_PAGE]
    ret

# ---------------------------------------------------------------------------------------------------------
pcide_outside_ia32e:
    mov eax, cr4
    or eax, CR4_PCIDE
    TRY32 1f
    mov cr4, eax
1:  CHECK_EXC32 "setting CR4.PCIDE outside IA-32e mode: #GP(0)", EXC_GP, 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.4: PAE paging
pae_paging:
    # the structures: PDPT[0] -> PD_PAE; PD_PAE[0] -> PT_PAE (identity 0-2 MiB, the image user-accessible),
    # PD_PAE[1] -> PT_PAE2 (identity 2-4 MiB, 4-KiB pages), PD_PAE[2] = a 2-MiB page at 4 MiB; PDPT[1] not present
    mov edi, PDPT
    xor eax, eax
    mov ecx, (PT_PAE2 + 4096 - PDPT) / 4
    rep stosd
    mov dword ptr [PDPT], PD_PAE | 1
    mov dword ptr [PD_PAE], PT_PAE | 7
    mov dword ptr [PD_PAE + 8], PT_PAE2 | 7
    mov dword ptr [PD_PAE + 16], BIG4M_A | 0x83
    mov edi, PT_PAE                 # both page tables (PT_PAE2 follows PT_PAE): identity 0-4 MiB
    mov eax, 3
    mov ecx, 1024
1:  mov [edi], eax
    add eax, 0x1000
    add edi, 8
    dec ecx
    jnz 1b
    mov edi, PT_PAE + (0x8000 >> 12) * 8
    mov ecx, 8
1:  or dword ptr [edi], 4
    add edi, 8
    dec ecx
    jnz 1b
    mov edi, PT_PAE + (0x50000 >> 12) * 8
    mov ecx, 16
1:  or dword ptr [edi], 4
    add edi, 8
    dec ecx
    jnz 1b
    # paging off, PAE on, CR3, paging on (SDM 4.1.2: CR4.PAE changes only with paging off here)
    mov eax, cr0
    and eax, ~CR0_PG
    mov cr0, eax
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax
    mov eax, PDPT
    mov cr3, eax
    mov eax, cr0
    or eax, CR0_PG
    mov cr0, eax
    mov eax, [BIG4M_A + 0x1234]
    CHECK32 "PAE paging: a 2-MiB page", MARK1
    mov eax, [V_PAGE]
    mov eax, [PT_PAE + (0x8000 >> 12) * 8]
    and eax, 0x20
    CHECK32 "... walked through 8-byte entries (A set in the PTE of the code)", 0x20
    # XD with EFER.NXE = 0 is a reserved bit
    mov dword ptr [V_PTE_PAE2 + 4], 0x80000000
    invlpg [V_PAGE]
    TRY32 1f
    mov eax, [V_PAGE]
1:  CHECK_EXC32 "PAE: XD with EFER.NXE = 0: #PF(P|RSVD)", EXC_PF, 9
    mov ecx, IA32_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    invlpg [V_PAGE]
    TRY32 1f
    mov eax, [V_PAGE]
1:  CHECK_EXC32 "PAE with EFER.NXE = 1: reading an XD page is allowed", NOTHING, 0
    mov byte ptr [V_PAGE], 0xC3
    mov [rip_esp], esp
    TRY32 1f
    mov eax, V_PAGE
    call eax
1:  mov esp, [rip_esp]
    CHECK_EXC32 "PAE: a fetch from an XD page: #PF(P|I)", EXC_PF, 0x11
    mov dword ptr [V_PTE_PAE2 + 4], 0
    invlpg [V_PAGE]
    # reserved bits 62:MAXPHYADDR (here: bit 62)
    mov dword ptr [V_PTE_PAE2 + 4], 0x40000000
    invlpg [V_PAGE]
    TRY32 1f
    mov eax, [V_PAGE]
1:  CHECK_EXC32 "PAE: PTE bit 62 (above MAXPHYADDR): #PF(P|RSVD)", EXC_PF, 9
    mov dword ptr [V_PTE_PAE2 + 4], 0
    invlpg [V_PAGE]
    # the PDPTE registers: PDPT[1] (linear 1-2 GiB) was not present when CR3 was loaded
    mov dword ptr [PDPT + 8], PD_PAE | 1
    TRY32 1f
    mov eax, [0x40000000 + BIG4M_A + 0x1234]
1:  CHECK_EXC32 "a PDPTE written after MOV to CR3 is not used: #PF(0)", EXC_PF, 0
    mov eax, cr3
    mov cr3, eax
    xor edx, edx
    TRY32 1f
    mov edx, [0x40000000 + BIG4M_A + 0x1234]
1:  CHECK_EXC32 "... until CR3 is loaded again", NOTHING, 0
    mov eax, edx
    CHECK32 "... then it maps", MARK1
    # a reserved bit in a present PDPTE: MOV to CR3 is #GP(0) and loads nothing
    mov edi, PDPT_SPARE
    mov esi, PDPT
    mov ecx, 8
    rep movsd
    mov dword ptr [PDPT_SPARE + 8], PD_PAE | 1 | 2           # bit 1 is reserved in a PAE PDPTE (Table 4-8)
    mov eax, PDPT_SPARE
    TRY32 1f
    mov cr3, eax
1:  CHECK_EXC32 "MOV to CR3 with a reserved PDPTE bit: #GP(0)", EXC_GP, 0
    mov eax, cr3
    CHECK32 "... CR3 unchanged", PDPT
    # INVLPG in a 2-MiB page
    mov eax, [BIG4M_A + 0x5234]
    mov eax, [BIG4M_A + 0x1234]
    mov dword ptr [PD_PAE + 16], BIG4M_B | 0x83
    invlpg [BIG4M_A + 0x100000]
    mov eax, [BIG4M_A + 0x5234]
    CHECK32 "PAE: INVLPG anywhere in a 2-MiB page invalidates all of it", MARK2
    mov dword ptr [PD_PAE + 16], BIG4M_A | 0x83
    invlpg [BIG4M_A]
    ret

    SYSTEST_FRAMEWORK32 "sys-paging32"
    SERIAL_ROUTINES_32
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 2
fault_log:      .long 0
rip_esp:        .long 0
.popsection
