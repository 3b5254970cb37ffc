# interrupt — an external interrupt delivered through the interrupt window, in real mode. The guest installs an
# IVT entry for vector 0x30, disables interrupts (CLI), rings doorbell port 0xF5 with 0x30 (the host queues
# external interrupt 0x30; with RFLAGS.IF = 0 it cannot inject it and arms interrupt-window exiting), then
# executes STI: after the one-instruction STI shadow (SDM Vol. 3A, 6.8.3) the window opens, the host injects
# the vector and the handler prints a line and sets a flag. Expected serial output: "interrupt 0x30" (from the
# handler) and "interrupt: done"; exit code 0. Exit code 1: the interrupt did not arrive within ~400,000
# instructions.

.intel_syntax noprefix
.include "serial.inc"

.set VECTOR, 0x30

.text
.globl _start
.code16
_start:
    REAL_MODE_ENTRY

    # Real-mode IVT entry (SDM Vol. 3A, 20.1.4): offset then segment, at linear 4 * vector.
    mov word ptr [VECTOR * 4], offset interrupt_handler
    mov word ptr [VECTOR * 4 + 2], 0
    mov byte ptr [interrupt_seen], 0

    PUTS16 "interrupt: doorbell 0x30 with interrupts disabled\n"
    mov al, VECTOR
    out DOORBELL_PORT, al
    sti
    nop                             # the STI shadow: the interrupt cannot arrive before this instruction ends
    nop
    nop

    mov ecx, 100000                 # wait a bounded time: a lost interrupt ends the run instead of hanging it
1:  cmp byte ptr [interrupt_seen], 0
    jne 2f
    dec ecx
    jnz 1b
    PUTS16 "interrupt: vector 0x30 never arrived\n"
    EXIT16 1
2:
    PUTS16 "interrupt: done\n"
    EXIT16 0

# Real-mode delivery pushes FLAGS, CS and IP and clears IF (SDM Vol. 3A, 20.1.4); IRET restores them.
interrupt_handler:
    PUTS16 "interrupt 0x30\n"
    mov byte ptr [interrupt_seen], 1
    iret

    SERIAL_ROUTINES_16

.pushsection .text, 1
interrupt_seen:
    .byte 0
.popsection
