# hello — the minimal I/O guest: real mode only, it prints one line on COM1 (polling the line status register
# before every byte, so each character is an IN from 0x3FD and an OUT to 0x3F8: two I/O exits) and ends through
# the debug-exit port. Expected serial output: "hello from jvmx" (one line); exit code 0.

.intel_syntax noprefix
.include "serial.inc"

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    PUTS16 "hello from jvmx\n"
    EXIT16 0

    SERIAL_ROUTINES_16
