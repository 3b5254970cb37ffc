# sys-paging — a test kernel for 4-level paging (SDM Vol. 3A, chapter 4) in 64-bit mode: the page-fault error
# code and CR2 (4.7) for not-present, protection and reserved-bit faults at every level, 2-MiB and 1-GiB pages,
# execute-disable (4.6 with IA32_EFER.NXE), CR0.WP, user/supervisor rights, SMEP, SMAP with EFLAGS.AC (STAC/CLAC)
# and SMAP on implicit supervisor accesses from CPL 3, accessed and dirty flags (4.8), and the invalidations the
# SDM requires (4.10.4): INVLPG of one page and of every 4-KiB part of a 2-MiB page, MOV to CR3, global pages with
# CR4.PGE, PCIDs (CR4.PCIDE, CR3 bit 63) and the four INVPCID types with their #GP rules; alignment checking (#AC,
# SDM 6.15 "Interrupt 17"). Every check prints "ok   ..." or "FAIL ..." (see include/systest.inc); the run ends
# with the line
#   sys-paging: all 69 checks passed
# and exit code 0 (otherwise the number of failed checks).

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.set V_PAGE,      0x204000          # the victim page of the TLB checks (its PTE is rewritten)
.set F1,          0x300000          # two frames with different contents
.set F2,          0x301000
.set V_PTE,       PT_ADDR + ((V_PAGE - TEST_AREA) >> 12) * 8
.set MARK1,       0x1111111111111111
.set MARK2,       0x2222222222222222

# A separate hierarchy under PML4[1] (linear 0x8000000000) for faults in upper-level entries.
.set HI,          0x8000000000
.set PDPT2,       0x105000
.set PD2,         0x106000
.set PT2,         0x107000
.set BIG1,        0x400000          # a 2-MiB frame
.set BIG2,        0x600000          # another one

.set PTE_P,       1
.set PTE_RW,      2
.set PTE_US,      4
.set PTE_A,       0x20
.set PTE_D,       0x40
.set PTE_PS,      0x80
.set PTE_G,       0x100
.set PTE_XD,      1 << 63

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
    mov rax, cr0
    or rax, CR0_WP
    mov cr0, rax
    # the frames' contents
    mov rax, MARK1
    mov [F1], rax
    mov rax, MARK2
    mov [F2], rax
    # MAXPHYADDR (CPUID.80000008H:EAX[7:0]): bits M and up of an entry's address field are reserved (4.1.4)
    mov eax, 0x80000008
    cpuid
    movzx ecx, al
    mov eax, 1
    shl rax, cl
    mov [rip + reserved_bit], rax
    # the upper-level hierarchy: PML4[1] -> PDPT2; PDPT2[0] -> PD2; PD2[0] -> PT2; PT2[0] -> F1
    mov rdi, PDPT2
    xor eax, eax
    mov ecx, 3 * 4096 / 8
    rep stosq
    mov qword ptr [PML4_ADDR + 8], PDPT2 | 3
    mov qword ptr [PDPT2], PD2 | 3
    mov qword ptr [PD2], PT2 | 3
    mov qword ptr [PT2], F1 | 3
    mov r13, HI                     # the base of every access to that hierarchy

    call features
    call basic_faults
    call reserved_bits
    call large_pages
    call accessed_dirty
    call user_rights
    call smep_smap
    call tlb_invalidation
    call global_pages
    call pcids
    call alignment_check
    jmp finish64

# ---------------------------------------------------------------------------------------------------------
features:
    mov eax, 1
    cpuid
    mov eax, ecx
    shr eax, 17
    and eax, 1
    CHECK64 "CPUID.1:ECX.PCID[17] = 1", 1
    mov eax, 7
    xor ecx, ecx
    cpuid
    mov eax, ebx
    shr eax, 10
    and eax, 1
    CHECK64 "CPUID.7.0:EBX.INVPCID[10] = 1", 1
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.7: the error code's P, W/R, I/D bits and CR2
basic_faults:
    mov rax, [V_PAGE]               # a present page reads
    mov qword ptr [V_PTE], 0        # not present
    invlpg [V_PAGE]
    TRY64 1f
    mov rax, [V_PAGE + 0x18]
1:  CHECK_EXC64 "read of a not-present page: #PF(0)", EXC_PF, 0
    mov rax, [rip + exc_cr2]
    CHECK64 "CR2 = the faulting linear address", V_PAGE + 0x18
    TRY64 1f
    mov qword ptr [V_PAGE + 8], 0
1:  CHECK_EXC64 "write to a not-present page: #PF(W)", EXC_PF, 2
    # read-only page, CR0.WP = 1: a supervisor write faults (4.6.1)
    mov qword ptr [V_PTE], V_PAGE | PTE_P
    invlpg [V_PAGE]
    TRY64 1f
    mov qword ptr [V_PAGE], 5
1:  CHECK_EXC64 "supervisor write to a read-only page, WP = 1: #PF(P|W)", EXC_PF, 3
    # CR0.WP = 0: supervisor writes ignore R/W
    mov rax, cr0
    and eax, ~CR0_WP
    mov cr0, rax
    TRY64 1f
    mov qword ptr [V_PAGE], 5
1:  CHECK_EXC64 "supervisor write to a read-only page, WP = 0: allowed", NOTHING, 0
    mov rax, [V_PAGE]
    CHECK64 "the write with WP = 0 happened", 5
    mov rax, cr0
    or eax, CR0_WP
    mov cr0, rax
    # execute-disable with EFER.NXE = 1: a fetch faults with I/D = 1
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_RW
    invlpg [V_PAGE]
    mov byte ptr [V_PAGE], 0xC3     # RET
    mov rax, PTE_XD | V_PAGE | PTE_P | PTE_RW
    mov [V_PTE], rax
    invlpg [V_PAGE]
    TRY64 1f
    mov rax, V_PAGE
    jmp rax
1:  CHECK_EXC64 "fetch from an execute-disable page: #PF(P|I)", EXC_PF, 0x11
    mov rax, [rip + exc_rip]
    CHECK64 "the fetch fault's RIP is the target", V_PAGE
    mov rax, [V_PAGE]               # reads are still allowed
    and eax, 0xFF
    CHECK64 "reads of an execute-disable page are allowed", 0xC3
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_RW
    invlpg [V_PAGE]
    ret

# ---------------------------------------------------------------------------------------------------------
# Reserved bits (Tables 4-14 to 4-19): #PF with RSVD = 1 and P = 1; a not-present entry's other bits are ignored
reserved_bits:
    mov rax, [r13]
    CHECK64 "the PML4[1] hierarchy maps F1", MARK1
    mov rax, [rip + reserved_bit]
    or rax, F1 | 3
    mov [PT2], rax
    TRY64 1f
    mov rax, [r13]
1:  CHECK_EXC64 "PTE with bit MAXPHYADDR set: #PF(P|RSVD)", EXC_PF, 9
    TRY64 1f
    mov qword ptr [r13], 1
1:  CHECK_EXC64 "... a write: #PF(P|W|RSVD)", EXC_PF, 0xB
    mov qword ptr [PT2], F1 | 3
    invlpg [r13]
    # PS in a PML4E is reserved
    mov qword ptr [PML4_ADDR + 8], PDPT2 | 3 | PTE_PS
    TRY64 1f
    mov rax, [r13]
1:  CHECK_EXC64 "PML4E with PS = 1: #PF(P|RSVD)", EXC_PF, 9
    mov qword ptr [PML4_ADDR + 8], PDPT2 | 3
    invlpg [r13]
    # a reserved bit in a PDE beats a not-present PTE below it (the walk stops at the PDE)
    mov qword ptr [PT2], 0
    mov rax, [rip + reserved_bit]
    or rax, PT2 | 3
    mov [PD2], rax
    TRY64 1f
    mov rax, [r13]
1:  CHECK_EXC64 "reserved bit in the PDE above a not-present PTE: #PF(P|RSVD)", EXC_PF, 9
    # a not-present entry's other bits are ignored
    mov rax, [rip + reserved_bit]
    or rax, PT2 | 2
    mov [PD2], rax
    TRY64 1f
    mov rax, [r13]
1:  CHECK_EXC64 "not-present PDE with a reserved bit: #PF(0)", EXC_PF, 0
    mov qword ptr [PD2], PT2 | 3
    mov qword ptr [PT2], F1 | 3
    invlpg [r13]
    # XD is reserved while EFER.NXE = 0
    mov ecx, IA32_EFER
    rdmsr
    and eax, ~EFER_NXE
    wrmsr
    mov rax, PTE_XD | F1 | 3
    mov [PT2], rax
    TRY64 1f
    mov rax, [r13]
1:  CHECK_EXC64 "XD = 1 with EFER.NXE = 0: #PF(P|RSVD)", EXC_PF, 9
    mov qword ptr [PT2], F1 | 3
    mov ecx, IA32_EFER
    rdmsr
    or eax, EFER_NXE
    wrmsr
    invlpg [r13]
    # a 2-MiB page has bits 20:13 reserved; a 1-GiB page bits 29:13
    mov qword ptr [PD2 + 8], BIG1 | 3 | PTE_PS | 0x2000
    TRY64 1f
    mov rax, [r13 + 0x200000]
1:  CHECK_EXC64 "2-MiB PDE with bit 13 set: #PF(P|RSVD)", EXC_PF, 9
    mov qword ptr [PD2 + 8], 0
    mov qword ptr [PDPT2 + 8], 3 | PTE_PS | 0x10000000
    TRY64 1f
    mov rax, [r13 + 0x40000000]
1:  CHECK_EXC64 "1-GiB PDPTE with bit 28 set: #PF(P|RSVD)", EXC_PF, 9
    mov qword ptr [PDPT2 + 8], 0
    invlpg [r13 + 0x40000000]
    ret

# ---------------------------------------------------------------------------------------------------------
# 2-MiB and 1-GiB pages (4.5, Tables 4-17 and 4-16)
large_pages:
    mov rax, MARK1
    mov [BIG1 + 0x12340], rax
    mov qword ptr [PD2 + 8], BIG1 | 3 | PTE_PS
    invlpg [r13 + 0x200000]
    mov rax, [r13 + 0x212340]
    CHECK64 "a 2-MiB page maps offset 0x12340 of its frame", MARK1
    # 1-GiB page at HI + 1 GiB -> physical 0: the image's first byte is CLI (0xFA)
    mov qword ptr [PDPT2 + 8], 3 | PTE_PS
    invlpg [r13 + 0x40000000]
    mov rax, HI + 0x40000000 + 0x8000
    movzx eax, byte ptr [rax]
    CHECK64 "a 1-GiB page maps physical 0x8000 at offset 0x8000", 0xFA
    mov qword ptr [PDPT2 + 8], 0
    invlpg [r13 + 0x40000000]
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.8: the accessed flag of every entry used, the dirty flag of the leaf on writes
accessed_dirty:
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_RW
    and qword ptr [PD0_ADDR + 8], ~PTE_A
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov rax, [V_PTE]
    and eax, PTE_A | PTE_D
    CHECK64 "a read sets A, not D, in the PTE", PTE_A
    mov rax, [PD0_ADDR + 8]
    and eax, PTE_A
    CHECK64 "... and A in the PDE above it", PTE_A
    mov qword ptr [V_PAGE], 7
    mov rax, [V_PTE]
    and eax, PTE_A | PTE_D
    CHECK64 "a write sets D", PTE_A | PTE_D
    # D clear again, the TLB entry kept: the next write must set D again (a write needs a dirty translation)
    and qword ptr [V_PTE], ~PTE_D
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov qword ptr [V_PAGE], 8
    mov rax, [V_PTE]
    and eax, PTE_D
    CHECK64 "a write through a translation made by a read sets D", PTE_D
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.6.1: user-mode accesses (CPL 3), run from the user alias of this image
user_rights:
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_RW
    invlpg [V_PAGE]
    lea rdi, [rip + user_read_v + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "user read of a supervisor page: #PF(P|U)", EXC_PF, 5
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_US
    invlpg [V_PAGE]
    lea rdi, [rip + user_write_v + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "user write to a read-only user page: #PF(P|W|U)", EXC_PF, 7
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_US | PTE_RW
    invlpg [V_PAGE]
    lea rdi, [rip + user_write_v + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "user write to a writable user page: allowed", NOTHING, 0
    mov qword ptr [V_PTE], 0
    invlpg [V_PAGE]
    lea rdi, [rip + user_read_v + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "user read of a not-present page: #PF(U)", EXC_PF, 4
    # user fetch from a supervisor page
    lea rdi, [rip + user_fetch_kernel + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "user fetch from a supervisor page: #PF(P|U|I)", EXC_PF, 0x15
    mov qword ptr [V_PTE], V_PAGE | PTE_P | PTE_RW
    invlpg [V_PAGE]
    # privileged instructions at CPL 3
    lea rdi, [rip + user_invlpg + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "INVLPG at CPL 3: #GP(0)", EXC_GP, 0
    ret

# run_user_here: RDI = user code (alias address); arms nothing: the user code arms TRY64 itself.
run_user_here:
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2
    jmp run_user64

user_read_v:
    TRY64 1f
    mov rax, [V_PAGE]
1:  int 0x81
user_write_v:
    TRY64 1f
    mov qword ptr [V_PAGE], 9
1:  int 0x81
user_fetch_kernel:
    TRY64 1f
    lea rax, [rip + user_ret - USER_ALIAS]     # the supervisor address of a RET
    call rax
1:  int 0x81
user_invlpg:
    TRY64 1f
    invlpg [V_PAGE]
1:  int 0x81
user_ret:
    ret

# ---------------------------------------------------------------------------------------------------------
# SMEP and SMAP (4.6.1)
smep_smap:
    mov rax, cr4
    or eax, CR4_SMEP
    mov cr4, rax
    TRY64 1f
    lea rax, [rip + user_ret + USER_ALIAS]
    jmp rax
1:  CHECK_EXC64 "SMEP: supervisor fetch from a user page: #PF(P|I)", EXC_PF, 0x11
    mov rax, cr4
    and eax, ~CR4_SMEP
    mov cr4, rax
    # SMAP: explicit supervisor accesses to user pages need EFLAGS.AC = 1
    mov rax, cr4
    or eax, CR4_SMAP
    mov cr4, rax
    clac
    TRY64 1f
    mov rax, [rip + smap_word + USER_ALIAS]
1:  CHECK_EXC64 "SMAP, AC = 0: supervisor read of a user page: #PF(P)", EXC_PF, 1
    TRY64 1f
    mov qword ptr [rip + smap_word + USER_ALIAS], 3
1:  CHECK_EXC64 "SMAP, AC = 0: supervisor write to a user page: #PF(P|W)", EXC_PF, 3
    stac
    TRY64 1f
    mov qword ptr [rip + smap_word + USER_ALIAS], 4
    mov rax, [rip + smap_word + USER_ALIAS]
1:  clac
    CHECK_EXC64 "SMAP, AC = 1 (STAC): explicit accesses allowed", NOTHING, 0
    CHECK64 "... and the value went through", 4
    # implicit supervisor access from CPL 3: a descriptor in an LDT on a user page (4.6: SMAP applies whatever
    # EFLAGS.AC is). The LDT holds one user data segment with A = 1 (no accessed-flag write).
    lea rax, [rip + user_ldt]
    mov rcx, 0x00CFF3000000FFFF
    mov [rax], rcx
    add rax, USER_ALIAS             # the LDT's base: the user alias
    call set_ldt_descriptor
    mov ax, FREE_SEL
    lldt ax
    lea rdi, [rip + user_load_ldt_ds + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2 | RFLAGS_AC          # AC = 1 does not matter for implicit accesses
    call run_user64
    CHECK_EXC64 "SMAP: CPL-3 descriptor load from an LDT on a user page: #PF(P)", EXC_PF, 1
    mov rax, [rip + exc_cr2]
    lea rbx, [rip + user_ldt + USER_ALIAS]
    CHECK64 "... CR2 = the descriptor's address", rbx
    mov rax, cr4
    and eax, ~CR4_SMAP
    mov cr4, rax
    lea rdi, [rip + user_load_ldt_ds + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "without SMAP the same load works", NOTHING, 0
    xor eax, eax
    lldt ax
    ret

# set_ldt_descriptor: the GDT's FREE_SEL = an LDT (type 2) of 8 bytes at base RAX (16-byte descriptor, SDM 7.2.3)
set_ldt_descriptor:
    push rdi
    push rcx
    lea rdi, [rip + gdt + FREE_SEL]
    mov rcx, rax
    and ecx, 0xFFFFFF
    shl rcx, 16
    or rcx, 7                       # limit 7
    mov [rdi], rcx
    mov byte ptr [rdi + 5], 0x82    # P, type 2
    mov rcx, rax
    shr rcx, 24
    mov byte ptr [rdi + 7], cl
    shr rcx, 8
    mov [rdi + 8], rcx
    pop rcx
    pop rdi
    ret

user_load_ldt_ds:
    TRY64 1f
    mov ax, 0x07                    # LDT index 0, TI = 1, RPL 3
    mov ds, ax
1:  int 0x81

# ---------------------------------------------------------------------------------------------------------
# 4.10.4: the invalidations the SDM requires. No VM exit may come between making a translation and checking
# that it is gone (a VM entry without VPID drops every translation, which would hide a missing invalidation).
tlb_invalidation:
    # INVLPG of a 4-KiB page
    mov qword ptr [V_PTE], F1 | 3
    invlpg [V_PAGE]
    mov rax, [V_PAGE]               # the translation to F1
    mov qword ptr [V_PTE], F2 | 3
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    CHECK64 "INVLPG: the next access uses the new PTE", MARK2
    # INVLPG anywhere in a 2-MiB page drops what every 4-KiB part of it made
    mov rax, MARK1
    mov [BIG1 + 0x5000], rax
    mov rax, MARK2
    mov [BIG2 + 0x5000], rax
    mov qword ptr [PD2 + 8], BIG1 | 3 | PTE_PS
    invlpg [r13 + 0x200000]
    mov rax, [r13 + 0x205000]
    mov rax, [r13 + 0x207000]
    mov rbx, [r13 + 0x205000]        # MARK1, through the 2-MiB page
    mov qword ptr [PD2 + 8], BIG2 | 3 | PTE_PS
    invlpg [r13 + 0x207000]          # another 4-KiB part of the same 2-MiB page
    mov rax, [r13 + 0x205000]
    CHECK64 "INVLPG in a 2-MiB page invalidates all of it", MARK2
    mov rax, rbx
    CHECK64 "... (before, the page read the old frame)", MARK1
    # MOV to CR3 drops the non-global translations
    mov qword ptr [V_PTE], F1 | 3
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov qword ptr [V_PTE], F2 | 3
    mov rax, cr3
    mov cr3, rax
    mov rax, [V_PAGE]
    CHECK64 "MOV to CR3 invalidates non-global translations", MARK2
    # a not-present entry is never cached: the fault does not stick once the entry is present
    mov qword ptr [V_PTE], 0
    invlpg [V_PAGE]
    TRY64 1f
    mov rax, [V_PAGE]
1:  mov qword ptr [V_PTE], F1 | 3
    mov rax, [V_PAGE]
    CHECK64 "a present entry is used after a not-present fault, without INVLPG", MARK1
    mov qword ptr [rip + exc_resume], 0
    # INVLPG of a non-canonical address is a no-op, not a fault
    mov rax, 0x0000800000000000
    TRY64 1f
    invlpg [rax]
1:  CHECK_EXC64 "INVLPG of a non-canonical address: no fault", NOTHING, 0
    ret

# ---------------------------------------------------------------------------------------------------------
# 4.10.2.4: global translations (CR4.PGE) survive MOV to CR3 but not a change of CR4.PGE nor INVLPG
global_pages:
    mov rax, cr4
    or eax, CR4_PGE
    mov cr4, rax
    mov qword ptr [V_PTE], F1 | 3 | PTE_G
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov qword ptr [V_PTE], F2 | 3 | PTE_G
    mov rax, cr4
    and eax, ~CR4_PGE
    mov cr4, rax
    or eax, CR4_PGE
    mov cr4, rax
    mov rax, [V_PAGE]
    CHECK64 "clearing CR4.PGE invalidates global translations", MARK2
    mov qword ptr [V_PTE], F1 | 3 | PTE_G
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov qword ptr [V_PTE], F2 | 3 | PTE_G
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    CHECK64 "INVLPG invalidates a global translation", MARK2
    mov rax, cr4
    and eax, ~CR4_PGE
    mov cr4, rax
    mov qword ptr [V_PTE], V_PAGE | 3
    invlpg [V_PAGE]
    ret

# ---------------------------------------------------------------------------------------------------------
# PCIDs (4.10.1) and INVPCID (Vol. 2A INVPCID)
pcids:
    # without CR4.PCIDE, CR3 bit 63 is reserved
    mov rax, PML4_ADDR | (1 << 63)
    TRY64 1f
    mov cr3, rax
1:  CHECK_EXC64 "MOV to CR3 with bit 63 and CR4.PCIDE = 0: #GP(0)", EXC_GP, 0
    # CR4.PCIDE may be set only while CR3[11:0] = 0
    mov rax, PML4_ADDR | 1
    mov cr3, rax
    mov rax, cr4
    or eax, CR4_PCIDE
    TRY64 1f
    mov cr4, rax
1:  CHECK_EXC64 "setting CR4.PCIDE with CR3[11:0] != 0: #GP(0)", EXC_GP, 0
    mov rax, PML4_ADDR
    mov cr3, rax
    mov rax, cr4
    or eax, CR4_PCIDE
    TRY64 1f
    mov cr4, rax
1:  CHECK_EXC64 "setting CR4.PCIDE with PCID 0: allowed", NOTHING, 0
    mov rax, PML4_ADDR | 2
    mov cr3, rax
    mov rax, PML4_ADDR | 3 | (1 << 63)
    mov cr3, rax
    mov rax, cr3
    CHECK64 "MOV to CR3 with bit 63 does not store it", PML4_ADDR | 3
    # MOV to CR3 without bit 63 invalidates the new PCID's translations
    mov qword ptr [V_PTE], F1 | 3
    invlpg [V_PAGE]
    mov rax, [V_PAGE]               # PCID 3 caches F1
    mov qword ptr [V_PTE], F2 | 3
    mov rax, PML4_ADDR | 3
    mov cr3, rax
    mov rax, [V_PAGE]
    CHECK64 "MOV to CR3 (bit 63 = 0) invalidates the PCID's translations", MARK2
    # INVPCID, each type: the translation made under PCID 3 must be gone
    lea r12, [rip + invpcid_desc]
    mov qword ptr [r12], 3
    mov qword ptr [r12 + 8], V_PAGE
.irp type, 0, 1, 2, 3
    mov qword ptr [V_PTE], F1 | 3
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov qword ptr [V_PTE], F2 | 3
    mov eax, \type
    invpcid rax, [r12]
    mov rax, [V_PAGE]
    CHECK64 "INVPCID type \type invalidates the translation", MARK2
.endr
    # type 2 (all contexts, globals included) drops a global translation
    mov rax, cr4
    or eax, CR4_PGE
    mov cr4, rax
    mov qword ptr [V_PTE], F1 | 3 | PTE_G
    invlpg [V_PAGE]
    mov rax, [V_PAGE]
    mov qword ptr [V_PTE], F2 | 3 | PTE_G
    mov eax, 2
    invpcid rax, [r12]
    mov rax, [V_PAGE]
    CHECK64 "INVPCID type 2 invalidates global translations", MARK2
    mov rax, cr4
    and eax, ~CR4_PGE
    mov cr4, rax
    # the #GP rules
    mov eax, 4
    TRY64 1f
    invpcid rax, [r12]
1:  CHECK_EXC64 "INVPCID type 4: #GP(0)", EXC_GP, 0
    mov qword ptr [r12], 0x1003
    xor eax, eax
    TRY64 1f
    invpcid rax, [r12]
1:  CHECK_EXC64 "INVPCID descriptor with bit 12 set: #GP(0)", EXC_GP, 0
    mov qword ptr [r12], 3
    mov rax, 0x0000800000000000
    mov [r12 + 8], rax
    xor eax, eax
    TRY64 1f
    invpcid rax, [r12]
1:  CHECK_EXC64 "INVPCID type 0, non-canonical address: #GP(0)", EXC_GP, 0
    mov qword ptr [r12 + 8], V_PAGE
    lea rdi, [rip + user_invpcid + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "INVPCID at CPL 3: #GP(0)", EXC_GP, 0
    # back to PCID 0, then CR4.PCIDE = 0; now PCIDs other than 0 are #GP for types 0 and 1
    mov rax, PML4_ADDR
    mov cr3, rax
    mov rax, cr4
    and eax, ~CR4_PCIDE
    mov cr4, rax
    mov eax, 1
    TRY64 1f
    invpcid rax, [r12]
1:  CHECK_EXC64 "INVPCID type 1, PCID 3 with CR4.PCIDE = 0: #GP(0)", EXC_GP, 0
    mov eax, 3
    TRY64 1f
    invpcid rax, [r12]
1:  CHECK_EXC64 "INVPCID type 3 with CR4.PCIDE = 0: allowed", NOTHING, 0
    mov qword ptr [V_PTE], V_PAGE | 3
    invlpg [V_PAGE]
    ret

user_invpcid:
    TRY64 1f
    lea rbx, [rip + invpcid_desc]
    xor eax, eax
    invpcid rax, [rbx]
1:  int 0x81

# ---------------------------------------------------------------------------------------------------------
# #AC (SDM 6.15 "Interrupt 17"): CR0.AM = 1, EFLAGS.AC = 1, CPL 3, a misaligned data reference; error code 0
alignment_check:
    mov rax, cr0
    or eax, CR0_AM
    mov cr0, rax
    lea rdi, [rip + user_misaligned + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2 | RFLAGS_AC
    call run_user64
    CHECK_EXC64 "misaligned 4-byte read at CPL 3, AM = AC = 1: #AC(0)", EXC_AC, 0
    lea rdi, [rip + user_aligned + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK
    mov edx, 2 | RFLAGS_AC
    call run_user64
    CHECK_EXC64 "aligned 4-byte read at CPL 3, AM = AC = 1: no #AC", NOTHING, 0
    lea rdi, [rip + user_misaligned + USER_ALIAS]
    call run_user_here
    CHECK_EXC64 "misaligned read at CPL 3 with AC = 0: no #AC", NOTHING, 0
    lea rax, [rip + user_misaligned_push_done + USER_ALIAS]   # armed here: a TRY64 there would push first
    mov [rip + exc_resume], rax
    mov dword ptr [rip + exc_vector], NOTHING
    lea rdi, [rip + user_misaligned_push + USER_ALIAS]
    mov rsi, USER_ALIAS + USER_STACK - 4
    mov edx, 2 | RFLAGS_AC
    call run_user64
    CHECK_EXC64 "PUSH to a misaligned stack at CPL 3, AM = AC = 1: #AC(0)", EXC_AC, 0
    stac
    TRY64 1f
    mov eax, [rip + ac_data + 1]
1:  clac
    CHECK_EXC64 "misaligned read at CPL 0 with AC = 1: no #AC", NOTHING, 0
    mov rax, cr0
    and eax, ~CR0_AM
    mov cr0, rax
    ret

user_misaligned:
    TRY64 1f
    mov eax, [rip + ac_data + 1]
1:  int 0x81
user_aligned:
    TRY64 1f
    mov eax, [rip + ac_data]
1:  int 0x81
user_misaligned_push:
    push rax
user_misaligned_push_done:
    int 0x81

    SYSTEST_FRAMEWORK64 "sys-paging"
    SERIAL_ROUTINES_64
    SYSTEST_GDT
    SYSTEST_DATA

.pushsection .text, 1
    .p2align 4
reserved_bit:   .quad 0
invpcid_desc:   .quad 0, 0
smap_word:      .quad 0
ac_data:        .quad 0
    .p2align 3
user_ldt:       .quad 0
.popsection
