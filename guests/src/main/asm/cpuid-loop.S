# cpuid-loop — the hot-swap workload: real mode, 1000 iterations of { CPUID leaf 0x40000000; OUT of EBX (the
# first four signature bytes, "RVMR" = 0x524d5652 with the default CPUID handler) to report port 0xE0 }. CPUID
# exits unconditionally (SDM Vol. 3C, 26.1.2), so a run is exactly 1000 CPUID exits and 1000 reports, while the
# tests replace the CPUID handler bundle underneath: every report shows which handler answered that CPUID, and
# none may be lost or doubled. No other CPUID and no other OUT to 0xE0 is executed. Expected serial output:
# "cpuid-loop done" (after the 1000 reports); exit code 0.

.intel_syntax noprefix
.include "serial.inc"

.set ITERATIONS, 1000

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    mov si, ITERATIONS              # SI: CPUID writes EAX, EBX, ECX and EDX, so the counter lives elsewhere
1:  mov eax, 0x40000000
    cpuid
    mov eax, ebx
    out REPORT_PORT, eax            # 32-bit OUT: one report per CPUID
    dec si
    jnz 1b

    PUTS16 "cpuid-loop done\n"
    EXIT16 0

    SERIAL_ROUTINES_16
