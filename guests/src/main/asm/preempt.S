# preempt — a long stretch of guest code with no exits, for the VMX-preemption timer (SDM Vol. 3C, 26.5.1):
# real mode, a loop of 1,000,000 iterations x 2 instructions (DEC ECX; JNZ) = about 2,000,000 instructions. With
# the platform's 20,000-tick time slice and the timer counting once per 32 TSC ticks (IA32_VMX_MISC[4:0] = 5;
# TSC = instructions retired) the timer expires every 640,000 instructions: 3 preemption-timer exits. Expected
# serial output: "preempt: spinning" then "preempt: done"; exit code 0.

.intel_syntax noprefix
.include "serial.inc"

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    PUTS16 "preempt: spinning\n"
    mov ecx, 1000000
1:  dec ecx
    jnz 1b
    PUTS16 "preempt: done\n"
    EXIT16 0

    SERIAL_ROUTINES_16
