# cr-access — every form of control-register access in real mode (SDM Vol. 3C, 26.1.3 and Table 28-3): MOV to
# CR0 (setting CR0.TS), CLTS, LMSW (setting TS again), SMSW, MOV to CR4 (setting CR4.OSFXSR), MOV from CR0, CR4
# and CR3. x86_vcpu's handler assumes a 3-byte MOV to CR and panics on CLTS, LMSW and MOV from CR; jvmx's must
# handle them all. Each value read back is reported on port 0xE0, in this order: CR0 at entry; CR0 after MOV
# (TS set); CR0 after CLTS (TS clear); the machine status word after LMSW (SMSW, zero-extended; TS set);
# CR4 after MOV (OSFXSR set); CR3. The guest checks the bits itself. Expected serial output: one line per
# value ("cr-access: cr0 at entry = 0x...", ...), then "cr-access: all control-register accesses behaved";
# exit code 0. Other exit codes: 1 = TS not set by MOV to CR0; 2 = TS not cleared by CLTS; 3 = TS not set by
# LMSW (as seen by SMSW); 4 = OSFXSR not set by MOV to CR4.

.intel_syntax noprefix
.include "serial.inc"

.set CR0_TS, 1 << 3
.set CR4_OSFXSR, 1 << 9

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    # MOV from CR0: bits the host owns read from the CR0 read shadow (SDM Vol. 3C, 26.3).
    mov eax, cr0
    out REPORT_PORT, eax
    PUTS16 "cr-access: cr0 at entry = "
    call serial_hex16
    PUTS16 "\n"

    # MOV to CR0 setting TS (task switched: the next x87/SSE instruction would raise #NM).
    or eax, CR0_TS
    mov cr0, eax
    mov eax, cr0
    out REPORT_PORT, eax
    PUTS16 "cr-access: cr0 after mov (ts set) = "
    call serial_hex16
    PUTS16 "\n"
    test eax, CR0_TS
    jnz 1f
    PUTS16 "cr-access: MOV to CR0 did not set TS\n"
    EXIT16 1
1:
    # CLTS clears CR0.TS (SDM Vol. 2A, CLTS).
    clts
    mov eax, cr0
    out REPORT_PORT, eax
    PUTS16 "cr-access: cr0 after clts = "
    call serial_hex16
    PUTS16 "\n"
    test eax, CR0_TS
    jz 1f
    PUTS16 "cr-access: CLTS did not clear TS\n"
    EXIT16 2
1:
    # LMSW loads CR0 bits 3:0 (PE, MP, EM, TS) from a 16-bit operand; it can set PE but never clear it
    # (SDM Vol. 2A, LMSW). PE stays 0 here: SMSW gave 0 in bit 0 and we keep it.
    smsw ax
    or ax, CR0_TS
    lmsw ax
    xor eax, eax
    smsw ax                         # SMSW: CR0 bits 15:0
    out REPORT_PORT, eax
    PUTS16 "cr-access: msw after lmsw (ts set) = "
    call serial_hex16
    PUTS16 "\n"
    test eax, CR0_TS
    jnz 1f
    PUTS16 "cr-access: LMSW did not set TS\n"
    EXIT16 3
1:
    clts                            # leave TS clear again

    # MOV to CR4 setting OSFXSR (the OS supports FXSAVE/FXRSTOR), read back with MOV from CR4.
    mov eax, cr4
    or eax, CR4_OSFXSR
    mov cr4, eax
    mov eax, cr4
    out REPORT_PORT, eax
    PUTS16 "cr-access: cr4 after mov (osfxsr set) = "
    call serial_hex16
    PUTS16 "\n"
    test eax, CR4_OSFXSR
    jnz 1f
    PUTS16 "cr-access: MOV to CR4 did not set OSFXSR\n"
    EXIT16 4
1:
    # MOV from CR3 (a CR-access exit when "CR3-store exiting" is set).
    mov eax, cr3
    out REPORT_PORT, eax
    PUTS16 "cr-access: cr3 = "
    call serial_hex16
    PUTS16 "\n"

    PUTS16 "cr-access: all control-register accesses behaved\n"
    EXIT16 0

    SERIAL_ROUTINES_16
