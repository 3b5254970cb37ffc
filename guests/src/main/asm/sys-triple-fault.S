# sys-triple-fault — a test kernel that ends in a triple fault (SDM Vol. 3A 6.15, "Interrupt 8"; Vol. 3C 26.2: a
# triple fault causes a VM exit). In 32-bit protected mode it loads an IDT limit of 0, so that no event can be
# delivered, prints
#   sys-triple-fault: IDT limit 0, now DIV by 0
# and divides by zero: the #DE cannot be delivered (#GP beyond the IDT limit, a second contributory exception: #DF),
# and an exception while delivering #DF shuts the processor down. The run ends with VM exit TRIPLE_FAULT, not with an
# exit code; anything printed after the line above means an event was delivered that could not have been.

.intel_syntax noprefix
.include "serial.inc"
.include "systest.inc"

.text
.globl _start
.code16
_start:
    SYSTEST_ENTER_PROTECTED_MODE prot
.code32
prot:
    lidt [empty_idt]
    PUTS32 "sys-triple-fault: IDT limit 0, now DIV by 0\n"
    xor eax, eax
    xor edx, edx
    xor ecx, ecx
    div ecx
    PUTS32 "sys-triple-fault: DIV returned\n"
    EXIT32 1

    SERIAL_ROUTINES_32
    SYSTEST_GDT

.pushsection .text, 1
    .p2align 2
    .word 0
empty_idt:
    .word 0
    .long 0
.popsection
