# bench-crc32 — CPU benchmark, table-driven CRC-32 over 4096 bytes, N = 100 passes; expected serial output:
#   bench-crc32: 100 passes over 4096 bytes, crc32 = 0xa2484559
# and exit code 0 on port 0xF4. N lives in the parameter block at image offset 0x08 (guest-physical 0x8008; see
# include/bench.inc), so tools can change it without reassembling; the line above is for the default N. The CRC is
# zlib's (reflected polynomial 0xEDB88320, as Ethernet and PNG): the result is the CRC-32 of the buffer repeated
# N times, as java.util.zip.CRC32 or zlib's crc32 compute it. About 3,300,000 guest instructions on jvmx: one table
# load, shifts and XORs per byte. The guest builds its 256-entry table with shifts and XORs; the SSE4.2 CRC32
# instruction is not used (it computes the Castagnoli polynomial, and it would measure one instruction rather than
# the interpreter).
#
# Memory: the image at 0x8000, the stack below 0x7000, the page tables at 0x10000-0x12FFF, the table at 0x20000,
# the buffer at 0x21000. The buffer holds the top bytes of the LCG x = 1664525 x + 1013904223 (mod 2^32), x0 = 1.

.intel_syntax noprefix
.include "serial.inc"
.include "bench.inc"

.set CRC_TABLE, BENCH_DATA                  # 256 x 32-bit entries
.set CRC_BUFFER, BENCH_DATA + 0x1000
.set CRC_BUFFER_BYTES, 4096
.set CRC_POLYNOMIAL, 0xEDB88320             # x^32 + x^26 + ... + 1, bit-reversed

.text
.globl _start
.code16
_start:
    BENCH_PARAMETER_BLOCK 100
    REAL_MODE_ENTRY
    BENCH_ENTER_LONG_MODE crc_main

# 64-bit mode from here on.
crc_main:
    # table[b] = b shifted right 8 times, XORed with the polynomial after each shift that drops a 1
    xor ebx, ebx
1:  mov eax, ebx
    mov ecx, 8
2:  mov edx, eax
    and edx, 1
    neg edx                         # 0, or all ones when the bit shifted out is 1
    and edx, CRC_POLYNOMIAL
    shr eax, 1
    xor eax, edx
    dec ecx
    jnz 2b
    mov dword ptr [CRC_TABLE + rbx * 4], eax
    inc ebx
    cmp ebx, 256
    jb 1b

    # buffer[k] = bits 31:24 of x(k+1)
    mov eax, 1
    xor ecx, ecx
3:  imul eax, eax, 1664525
    add eax, 1013904223
    mov edx, eax
    shr edx, 24
    mov byte ptr [CRC_BUFFER + rcx], dl
    inc ecx
    cmp ecx, CRC_BUFFER_BYTES
    jb 3b

    call bench_iteration_count
    mov r12d, eax                   # passes left
    mov r13d, eax                   # N, for the report
    mov ebx, CRC_TABLE
    mov eax, 0xFFFFFFFF             # CRC-32 starts with all ones ...
pass:
    mov esi, CRC_BUFFER
    mov edi, CRC_BUFFER + CRC_BUFFER_BYTES
4:  mov edx, eax                    # crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    xor dl, byte ptr [rsi]
    movzx edx, dl
    shr eax, 8
    xor eax, dword ptr [rbx + rdx * 4]
    inc rsi
    cmp rsi, rdi
    jne 4b
    dec r12d
    jnz pass
    not eax                         # ... and ends inverted
    mov r14d, eax

    PUTS64 "bench-crc32: "
    mov eax, r13d
    call bench_dec64
    PUTS64 " passes over 4096 bytes, crc32 = "
    mov eax, r14d
    call bench_hex32
    PUTS64 "\n"
    EXIT64 0

    SERIAL_ROUTINES_64
    BENCH_ROUTINES_64
    BENCH_GDT
