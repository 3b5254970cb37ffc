#!/bin/sh
# Rebuilds simd-kernels.bin from simd-kernels.c (gcc 12, binutils; Debian 12). The image is position-independent,
# has no relocations and no data but read-only constants, and starts with the function kernels(struct io *).
set -e
cd "$(dirname "$0")"
gcc -O2 -ftree-vectorize -fvect-cost-model=cheap -msse4.2 -mno-avx -ffreestanding -fPIC -fno-asynchronous-unwind-tables -fno-stack-protector \
    -fno-tree-loop-distribute-patterns -fno-math-errno -c simd-kernels.c -o /tmp/simd-kernels.o
ld -T simd-kernels.ld -o /tmp/simd-kernels.elf /tmp/simd-kernels.o
objcopy -O binary /tmp/simd-kernels.elf simd-kernels.bin
