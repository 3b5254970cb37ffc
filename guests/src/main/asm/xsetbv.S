# xsetbv — XSETBV/XGETBV in real mode (CPL 0, so both are allowed; SDM Vol. 2C, XSETBV). It sets CR4.OSXSAVE
# (a plain MOV to CR4, legal in real mode), writes XCR0 = 3 (x87 | SSE: valid), reads it back with XGETBV and
# reports the value on port 0xE0 (0x00000003). Then it writes XCR0 = 2 (SSE without x87), which the SDM says
# must raise #GP(0) (XCR0 bit 0 must be 1; x86_vcpu's check rejects every value, a bug jvmx must not copy). The
# XSETBV handler injects #GP; in real mode it is delivered through the IVT entry for vector 13, whose handler
# reports 0xBAD0000D on port 0xE0 and exits with code 13. Expected serial output:
#   xsetbv: xcr0 = 0x00000003
#   xsetbv: #GP on xcr0 = 2
# and exit code 13. Other exit codes: 1 = XGETBV did not read back 3; 2 = XCR0 = 2 was accepted (no #GP).

.intel_syntax noprefix
.include "serial.inc"

.set CR4_OSXSAVE, 1 << 18
.set GP_VECTOR, 13

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    # Real-mode IVT entry for #GP (SDM Vol. 3A, 20.1.4): offset then segment, at linear 4 * vector.
    mov word ptr [GP_VECTOR * 4], offset general_protection_handler
    mov word ptr [GP_VECTOR * 4 + 2], 0

    # XSETBV and XGETBV raise #UD unless CR4.OSXSAVE = 1 (SDM Vol. 1, 13.3).
    mov eax, cr4
    or eax, CR4_OSXSAVE
    mov cr4, eax

    # XCR0 = 3: valid.
    xor ecx, ecx                    # ECX = 0 selects XCR0
    mov eax, 3
    xor edx, edx
    xsetbv
    xor ecx, ecx
    xgetbv
    out REPORT_PORT, eax
    PUTS16 "xsetbv: xcr0 = "
    call serial_hex16
    PUTS16 "\n"
    cmp eax, 3
    je 1f
    PUTS16 "xsetbv: XGETBV did not read back 3\n"
    EXIT16 1
1:
    # XCR0 = 2: x87 clear, invalid: #GP(0) (SDM Vol. 2C, XSETBV, "Protected Mode Exceptions"), so the next
    # instructions must never run.
    xor ecx, ecx
    mov eax, 2
    xor edx, edx
    xsetbv
    PUTS16 "xsetbv: xcr0 = 2 was accepted, but XCR0 bit 0 must be 1\n"
    EXIT16 2

# #GP arrives here through the IVT (FLAGS, CS, IP pushed; real mode pushes no error code).
general_protection_handler:
    mov eax, 0xBAD0000D
    out REPORT_PORT, eax
    PUTS16 "xsetbv: #GP on xcr0 = 2\n"
    EXIT16 13

    SERIAL_ROUTINES_16
