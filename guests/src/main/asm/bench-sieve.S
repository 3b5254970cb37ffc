# bench-sieve — CPU benchmark, sieve of Eratosthenes below 8192 repeated N = 50 times; expected serial output:
#   bench-sieve: 50 passes, 1028 primes below 8192 per pass, 51400 in total
# and exit code 0 on port 0xF4. N lives in the parameter block at image offset 0x08 (guest-physical 0x8008; see
# include/bench.inc), so tools can change it without reassembling; the line above is for the default N.
# About 4,900,000 guest instructions on jvmx: byte stores with a stride (the crossing-out), a byte-load loop (the
# count), compares and branches; every pass starts again from a fresh flag array (REP STOSQ).
#
# Memory: the image at 0x8000, the stack below 0x7000, the page tables at 0x10000-0x12FFF, the flags at 0x20000.

.intel_syntax noprefix
.include "serial.inc"
.include "bench.inc"

.set SIEVE_LIMIT, 8192              # numbers 0 .. 8191
.set SIEVE_FLAGS, BENCH_DATA        # one byte per number: 1 = still a prime candidate

.text
.globl _start
.code16
_start:
    BENCH_PARAMETER_BLOCK 50
    REAL_MODE_ENTRY
    BENCH_ENTER_LONG_MODE sieve_main

# 64-bit mode from here on.
sieve_main:
    call bench_iteration_count
    mov r12d, eax                   # passes left
    mov r13d, eax                   # N, for the report
    xor r14d, r14d                  # primes counted over all passes
pass:
    # Every number a candidate (rep stosq of 0x01 bytes), then 0 and 1 are not primes.
    mov edi, SIEVE_FLAGS
    mov rax, 0x0101010101010101
    mov ecx, SIEVE_LIMIT / 8
    rep stosq
    mov word ptr [SIEVE_FLAGS], 0

    # For each i with i * i < 8192 that is still a candidate, cross out i * i, i * i + i, ...
    mov ebx, 2
outer:
    mov eax, ebx
    imul eax, ebx
    cmp eax, SIEVE_LIMIT
    jae count
    cmp byte ptr [SIEVE_FLAGS + rbx], 0
    je next
cross_out:
    mov byte ptr [SIEVE_FLAGS + rax], 0
    add eax, ebx
    cmp eax, SIEVE_LIMIT
    jb cross_out
next:
    inc ebx
    jmp outer

    # The primes are the candidates left.
count:
    xor eax, eax
    xor ecx, ecx
1:  movzx edx, byte ptr [SIEVE_FLAGS + rcx]
    add eax, edx
    inc ecx
    cmp ecx, SIEVE_LIMIT
    jb 1b
    mov r15d, eax                   # primes in this pass
    add r14, rax
    dec r12d
    jnz pass

    PUTS64 "bench-sieve: "
    mov eax, r13d
    call bench_dec64
    PUTS64 " passes, "
    mov eax, r15d
    call bench_dec64
    PUTS64 " primes below 8192 per pass, "
    mov rax, r14
    call bench_dec64
    PUTS64 " in total\n"
    EXIT64 0

    SERIAL_ROUTINES_64
    BENCH_ROUTINES_64
    BENCH_GDT
