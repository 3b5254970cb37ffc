# exit-loop — the exit-heavy guest of benchmarks/kvm/run: N times `out 0x80, al` (an intercepted port), then
# `out 0xF4, al` with AL = 0 (the debug-exit port) and HLT. Real mode, loaded and entered at 0x8000 (CS = 0).
# N is the 32-bit value at image offset 0x08 (after the magic "ITER" at 0x04), as in the benchmark guests.
.intel_syntax noprefix
.code16
.text
.globl _start
_start:
    jmp short start
    .p2align 2
    .ascii "ITER"
iterations:
    .long 100000
start:
    cli
    xor ax, ax
    mov ds, ax
    mov ecx, dword ptr [iterations]
    xor al, al
again:
    out 0x80, al                    # the exit being measured
    dec ecx
    jnz again
    out 0xF4, al                    # debug exit, code 0
    hlt
