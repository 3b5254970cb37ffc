# ept-violation — an access to guest-physical memory that the EPT does not map. Guest RAM is 16 MiB; the guest
# reads one byte at guest-physical 0x02000000 (32 MiB). A real-mode segment cannot reach that address (its
# limit is 0xFFFF), so the guest first enters flat 32-bit protected mode (SDM Vol. 3A, 9.9.1; paging stays off,
# so linear = guest-physical). The read is an EPT violation (SDM Vol. 3C, 29.3.3: no EPT entry is present),
# which the VMM must return to the caller of run as an EPT_VIOLATION exit (x86_vcpu surfaces it as "halt", a
# bug). Expected serial output: "ept-violation: reading guest-physical 0x02000000"; the run then stops with
# exit reason EPT_VIOLATION (48) and no exit code. If the caller maps the page and resumes the guest, it prints
# "ept-violation: read returned 0x........" and exits with code 0.

.intel_syntax noprefix
.include "serial.inc"

.set TARGET, 0x02000000
.set CODE32_SEL, 0x08
.set DATA_SEL, 0x10

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    PUTS16 "ept-violation: entering flat protected mode\n"
    lgdt [gdt_pointer]
    mov eax, cr0
    or eax, 1                       # CR0.PE
    mov cr0, eax
    ljmp CODE32_SEL, offset protected_mode_entry

    SERIAL_ROUTINES_16

.code32
protected_mode_entry:
    mov ax, DATA_SEL
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, 0x7000

    PUTS32 "ept-violation: reading guest-physical 0x02000000\n"
    xor eax, eax
    mov al, byte ptr [TARGET]       # the EPT violation: the VMM stops here
    PUTS32 "ept-violation: read returned "
    call serial_hex32
    PUTS32 "\n"
    EXIT32 0

    SERIAL_ROUTINES_32

.pushsection .text, 1
    .p2align 3
# Flat 4 GiB segments with base 0 (SDM Vol. 3A, 3.4.5).
gdt:
    .quad 0                         # 0x00: null
    .quad 0x00CF9A000000FFFF        # 0x08: 32-bit code
    .quad 0x00CF92000000FFFF        # 0x10: data
gdt_end:
gdt_pointer:
    .word gdt_end - gdt - 1
    .long gdt
.popsection
