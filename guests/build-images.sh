#!/usr/bin/env bash
# Rebuilds every guest image from its source: src/main/asm/<name>.S -> <outdir>/<name>.img.
#
# Usage: build-images.sh [outdir]     (default: src/main/resources/guests, the committed images)
#
# Each source is assembled with GNU as (Intel syntax, .code16/.code32/.code64 regions), linked at the load
# address 0x8000 with src/main/asm/flat.ld and turned into a flat binary whose first byte is the entry point.
# The output is deterministic: the same sources give the same bytes on every run and every machine with
# GNU binutils (ImagesMatchSourcesTest checks that the committed images match).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
asm_dir="$here/src/main/asm"
out_dir="${1:-$here/src/main/resources/guests}"

for tool in as ld objcopy; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "build-images.sh: '$tool' (GNU binutils) is not on the PATH; install binutils to rebuild the guest images" >&2
        exit 1
    fi
done

mkdir -p "$out_dir"
out_dir="$(cd "$out_dir" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

shopt -s nullglob
sources=("$asm_dir"/*.S)
if [ ${#sources[@]} -eq 0 ]; then
    echo "build-images.sh: no sources in $asm_dir" >&2
    exit 1
fi

# A fixed locale keeps the tools' behaviour (and the glob order above) the same everywhere.
export LC_ALL=C

for src in "${sources[@]}"; do
    name="$(basename "$src" .S)"
    as --64 -I "$asm_dir/include" -o "$work/$name.o" "$src"
    ld -m elf_x86_64 -nostdlib -T "$asm_dir/flat.ld" -o "$work/$name.elf" "$work/$name.o"
    objcopy -O binary -j .text "$work/$name.elf" "$work/$name.img"
    chmod 0644 "$work/$name.img"          # data, not a program of this machine
    mv -f "$work/$name.img" "$out_dir/$name.img"
    printf '%-14s %6d bytes  %s\n' "$name" "$(wc -c < "$out_dir/$name.img")" "$out_dir/$name.img"
done
