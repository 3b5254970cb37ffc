#!/bin/sh
# Builds x87-kernel.bin from x87-kernel.c: GCC for the x87 alone (no SSE, no MMX: long double arithmetic is all x87
# code; -ffast-math lets GCC inline fmodl, remainderl, rintl, floorl, ceill, truncl and ldexpl as FPREM, FPREM1,
# FRNDINT and FSCALE), then the text and its constants as one flat, position-independent block (the constants are
# addressed RIP-relative). The binary is checked in: the differential test runs exactly these bytes, whatever GCC
# the machine has. Built with GCC 12.2.0 (Debian 12.2.0-14+deb12u1) and GNU ld 2.40.
set -eu
cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -m64 -mno-sse -mno-mmx -mfpmath=387 -ffreestanding -ffast-math -fno-pic -fno-asynchronous-unwind-tables \
    -fno-stack-protector -ffunction-sections -c x87-kernel.c -o "$tmp/k.o"
cat > "$tmp/flat.ld" <<'LD'
ENTRY(x87_kernel)
SECTIONS {
    . = 0;
    .text : { *(.text.x87_kernel) *(.text*) }
    .rodata : { *(.rodata*) }
    /DISCARD/ : { *(.comment) *(.note*) *(.eh_frame*) *(.data*) *(.bss*) }
}
LD
ld -T "$tmp/flat.ld" -o "$tmp/k.elf" "$tmp/k.o"
objcopy -O binary "$tmp/k.elf" x87-kernel.bin
