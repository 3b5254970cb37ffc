# cpuid — what the CPUID handler shows the guest (real mode). Leaf 0x40000000: the 12-byte hypervisor signature
# in EBX, ECX, EDX. Leaf 1: ECX bit 31 ("hypervisor present", set by the handler) and EDX bit 7 (MCE, machine-check
# exception, cleared by the handler: the guest gets no machine checks; x86_vcpu clears EAX bit 7 instead, a bug).
# Leaf 1 ECX and EDX are also reported, in that order, on port 0xE0. Expected serial output:
#   cpuid: hypervisor signature RVMRVMRVMRVM
#   cpuid: leaf 1 ecx = 0x........ edx = 0x........
#   cpuid: leaf 1 ecx.hypervisor[31] = 1
#   cpuid: leaf 1 edx.mce[7] = 0
# (the middle line depends on the host processor); exit code 0.

.intel_syntax noprefix
.include "serial.inc"

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    # Leaf 0x40000000: the signature, printed as a string.
    mov eax, 0x40000000
    cpuid
    mov dword ptr [signature], ebx
    mov dword ptr [signature + 4], ecx
    mov dword ptr [signature + 8], edx
    PUTS16 "cpuid: hypervisor signature "
    mov si, offset signature
    call serial_puts16
    PUTS16 "\n"

    # Leaf 1 (SDM Vol. 2A, CPUID, Table 3-10 and 3-11).
    mov eax, 1
    xor ecx, ecx
    cpuid
    mov dword ptr [leaf1_ecx], ecx
    mov dword ptr [leaf1_edx], edx
    mov eax, ecx
    out REPORT_PORT, eax
    mov eax, edx
    out REPORT_PORT, eax

    PUTS16 "cpuid: leaf 1 ecx = "
    mov eax, dword ptr [leaf1_ecx]
    call serial_hex16
    PUTS16 " edx = "
    mov eax, dword ptr [leaf1_edx]
    call serial_hex16
    PUTS16 "\n"

    PUTS16 "cpuid: leaf 1 ecx.hypervisor[31] = "
    mov eax, dword ptr [leaf1_ecx]
    shr eax, 31
    call print_bit
    PUTS16 "cpuid: leaf 1 edx.mce[7] = "
    mov eax, dword ptr [leaf1_edx]
    shr eax, 7
    call print_bit

    EXIT16 0

# print_bit: send bit 0 of AL as '0' or '1', then a newline.
print_bit:
    and al, 1
    add al, '0'
    call serial_putc16
    mov al, '\n'
    call serial_putc16
    ret

    SERIAL_ROUTINES_16

.pushsection .text, 1
signature:
    .zero 13                        # EBX, ECX, EDX and a NUL
    .p2align 2
leaf1_ecx:
    .long 0
leaf1_edx:
    .long 0
.popsection
