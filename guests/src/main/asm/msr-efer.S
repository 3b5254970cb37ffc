# msr-efer — RDMSR/WRMSR of IA32_EFER (0xC0000080) in real mode. The guest reads EFER, sets LME (bit 8, IA-32e
# mode enable; legal while paging is off, LMA stays 0: SDM Vol. 3A, 9.8.5) with WRMSR, which the MSR bitmap
# intercepts (an exit handled by the MSR handler bundle), and reads EFER back. Both values are reported on port
# 0xE0 (before, then after). Expected serial output:
#   msr-efer: efer before = 0x00000000
#   msr-efer: efer after wrmsr = 0x00000100
# and exit code 0. Exit code 1: LME did not read back as set.

.intel_syntax noprefix
.include "serial.inc"

.set IA32_EFER, 0xC0000080
.set EFER_LME, 1 << 8

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    mov ecx, IA32_EFER
    rdmsr                           # EDX:EAX = EFER
    out REPORT_PORT, eax
    PUTS16 "msr-efer: efer before = "
    call serial_hex16
    PUTS16 "\n"

    or eax, EFER_LME
    wrmsr
    mov ecx, IA32_EFER
    rdmsr
    out REPORT_PORT, eax
    PUTS16 "msr-efer: efer after wrmsr = "
    call serial_hex16
    PUTS16 "\n"

    test eax, EFER_LME
    jnz 1f
    PUTS16 "msr-efer: LME did not read back as set\n"
    EXIT16 1
1:
    EXIT16 0

    SERIAL_ROUTINES_16
