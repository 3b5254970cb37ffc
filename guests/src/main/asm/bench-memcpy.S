# bench-memcpy — CPU benchmark, 8 KiB copied by a load/store loop, REP MOVSB, REP MOVSQ, N = 300 passes; expected:
#   bench-memcpy: 300 passes over 8192 bytes, checksum = 0x3601c0ec9b837f61
# and exit code 0 on port 0xF4. N lives in the parameter block at image offset 0x08 (guest-physical 0x8008; see
# include/bench.inc), so tools can change it without reassembling; the line above is for the default N.
# About 4,300,000 guest instructions on jvmx (which retires a REP string instruction once per iteration).
#
# Pass p (1 .. N), with buffers A, B, C of 1024 qwords:
#   A[p mod 1024] += p;  B <- A (load/store loop);  B[7p mod 1024] ^= p;  C <- B (REP MOVSB);  A <- C (REP MOVSQ)
# Each pass's changes reach the checksum only through all three copies, so a copy that went wrong shows.
# A starts as A[i] = i * 0x9E3779B97F4A7C15 (mod 2^64); the checksum is h = rol(h, 5) ^ A[i] over i = 0 .. 1023.
#
# Memory: the image at 0x8000, the stack below 0x7000, the page tables at 0x10000-0x12FFF, A at 0x20000,
# B at 0x24000, C at 0x28000.

.intel_syntax noprefix
.include "serial.inc"
.include "bench.inc"

.set COPY_QWORDS, 1024
.set COPY_BYTES, COPY_QWORDS * 8
.set BUFFER_A, BENCH_DATA
.set BUFFER_B, BENCH_DATA + 0x4000
.set BUFFER_C, BENCH_DATA + 0x8000

.text
.globl _start
.code16
_start:
    BENCH_PARAMETER_BLOCK 300
    REAL_MODE_ENTRY
    BENCH_ENTER_LONG_MODE memcpy_main

# 64-bit mode from here on.
memcpy_main:
    mov rdx, 0x9E3779B97F4A7C15     # 2^64 / golden ratio: consecutive multiples differ in every byte
    xor eax, eax
    xor ecx, ecx
1:  mov qword ptr [BUFFER_A + rcx * 8], rax
    add rax, rdx
    inc ecx
    cmp ecx, COPY_QWORDS
    jb 1b

    call bench_iteration_count
    mov r12d, eax                   # N
    mov r13d, 1                     # p
pass:
    mov eax, r13d
    and eax, COPY_QWORDS - 1
    add qword ptr [BUFFER_A + rax * 8], r13

    xor ecx, ecx                    # B <- A, one qword per load and store
2:  mov rax, qword ptr [BUFFER_A + rcx * 8]
    mov qword ptr [BUFFER_B + rcx * 8], rax
    inc ecx
    cmp ecx, COPY_QWORDS
    jb 2b

    imul eax, r13d, 7
    and eax, COPY_QWORDS - 1
    xor qword ptr [BUFFER_B + rax * 8], r13

    mov esi, BUFFER_B               # C <- B, byte by byte
    mov edi, BUFFER_C
    mov ecx, COPY_BYTES
    rep movsb

    mov esi, BUFFER_C               # A <- C, qword by qword
    mov edi, BUFFER_A
    mov ecx, COPY_QWORDS
    rep movsq

    inc r13d
    cmp r13d, r12d
    jbe pass

    xor eax, eax
    xor ecx, ecx
3:  rol rax, 5
    xor rax, qword ptr [BUFFER_A + rcx * 8]
    inc ecx
    cmp ecx, COPY_QWORDS
    jb 3b
    mov r14, rax

    PUTS64 "bench-memcpy: "
    mov eax, r12d
    call bench_dec64
    PUTS64 " passes over 8192 bytes, checksum = "
    mov rax, r14
    call serial_hex64
    PUTS64 "\n"
    EXIT64 0

    SERIAL_ROUTINES_64
    BENCH_ROUTINES_64
    BENCH_GDT
