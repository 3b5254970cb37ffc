#!/usr/bin/env bash
# Fetches and builds what a Linux boot on jvmx needs, into guests/linux/boot/ (not committed: kernel binaries stay
# out of the repository):
#
#   vmlinuz          Debian's stock x86-64 kernel (package linux-image-amd64 -> linux-image-6.1.0-N-amd64), as shipped
#   initramfs.cpio   a newc cpio archive: busybox (Debian's busybox-static) and a tiny /init that prints the marker
#                    "jvmx-linux: init started", runs a few commands, prints "jvmx-linux: init done" and then ends the
#                    machine by writing 0 to the debug-exit port 0xF4 through /dev/port (exit code 0); if that fails
#                    it reboots: the reset through the keyboard controller (0xFE to port 0x64) also ends the run
#   kernel.version   the kernel package's name and version
#
# Usage: guests/linux/prepare.sh [output-dir]     (default: guests/linux/boot beside this script)
# Needs: apt-get (Debian), dpkg-deb, cpio (installed with apt-get when missing). Re-running reuses what is there;
# delete the folder to fetch anew.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="$(mkdir -p "${1:-$here/boot}" && cd "${1:-$here/boot}" && pwd)"
work="$out/.work"
mkdir -p "$work"

sudo=""
if [[ "$(id -u)" -ne 0 ]]; then
    sudo="sudo"
fi
apt_ready=0
need_apt_lists() {
    if [[ $apt_ready -eq 0 ]]; then
        $sudo apt-get update -qq
        apt_ready=1
    fi
}

if ! command -v cpio >/dev/null 2>&1; then
    need_apt_lists
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq cpio
fi

# ---- the kernel: what the linux-image-amd64 meta-package points at now
if [[ ! -s "$out/vmlinuz" ]]; then
    pkg="$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)"
    if [[ -z "$pkg" ]]; then
        need_apt_lists
        pkg="$(apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n 1)"
    fi
    [[ -n "$pkg" ]] || { echo "prepare: cannot resolve linux-image-amd64 to a kernel package" >&2; exit 1; }
    # the -unsigned package holds the same kernel without the Secure Boot signature; either will do
    echo "prepare: fetching $pkg" >&2
    rm -rf "$work/kernel" && mkdir -p "$work/kernel"
    (cd "$work/kernel" && apt-get download "$pkg" >/dev/null)
    dpkg-deb -x "$work/kernel"/*.deb "$work/kernel/root"
    cp "$work/kernel/root/boot/"vmlinuz-* "$out/vmlinuz"
    dpkg-deb -f "$work/kernel"/*.deb Package Version | paste -sd' ' > "$out/kernel.version"
    rm -rf "$work/kernel"
fi

# ---- busybox
if [[ ! -s "$work/busybox" ]]; then
    echo "prepare: fetching busybox-static" >&2
    rm -rf "$work/bb" && mkdir -p "$work/bb"
    (cd "$work/bb" && apt-get download busybox-static >/dev/null)
    dpkg-deb -x "$work/bb"/*.deb "$work/bb/root"
    cp "$work/bb/root/bin/busybox" "$work/busybox"
    rm -rf "$work/bb"
fi

# ---- the initramfs
root="$work/initramfs"
rm -rf "$root"
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,etc}
cp "$work/busybox" "$root/bin/busybox"
ln -s busybox "$root/bin/sh"
cat > "$root/init" <<'INIT'
#!/bin/sh
# jvmx's test init: a marker, a few commands that exercise user space, then the end of the machine.
/bin/busybox --install -s
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo "jvmx-linux: init started"
uname -a
echo "jvmx-linux: uptime $(cut -d' ' -f1 /proc/uptime) s"
grep -m1 'model name' /proc/cpuinfo
grep MemTotal /proc/meminfo
echo "jvmx-linux: $(ls /bin | wc -l) busybox applets; 6 * 7 = $((6 * 7))"
echo "jvmx-linux: init done"
# debug-exit port 0xF4 (244): the byte written is the run's exit code
printf '\000' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
reboot -f
INIT
chmod 755 "$root/init"
(cd "$root" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) > "$out/initramfs.cpio"
echo "prepare: $(cat "$out/kernel.version"): $out/vmlinuz ($(stat -c %s "$out/vmlinuz") bytes)," \
    "$out/initramfs.cpio ($(stat -c %s "$out/initramfs.cpio") bytes)" >&2
