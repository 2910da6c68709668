#!/usr/bin/env bash
# Runs each architecture's sidecar on that architecture's own Linux kernel: Debian's kernel
# package for it, booted by qemu-system with a tiny initramfs (the sidecar's image filesystem,
# Debian's busybox-static of that architecture as the test driver, tests/kernels/guest/).
# qemu-user would translate every system call to the host's x86-64 kernel; this does not.
#
#   kernel-boot.sh fetch [ARCH...]           download kernels and busybox into the cache (idempotent)
#   kernel-boot.sh boot ARCH [--dist DIR]    boot once, running every check; the console on stdout
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${MODELCAR_KERNEL_CACHE:-/var/cache/modelcar-base/kernels}
# One boot runs every check in well under a minute on one TCG core; the bound is for a hang.
boot_timeout=${MODELCAR_BOOT_TIMEOUT:-240}

usage() {
  cat <<USAGE
Usage: scripts/kernel-boot.sh fetch [ARCH...]
       scripts/kernel-boot.sh boot ARCH [--dist DIR]

fetch  Downloads Debian's kernel (linux-image-<version>-<flavour>) and busybox-static for each
       ARCH (default: every one in architectures.tsv) with apt-get download, keeps the kernel
       and busybox in $cache/ARCH (MODELCAR_KERNEL_CACHE), and removes the foreign dpkg
       architectures it added. Nothing is downloaded for an ARCH already in the cache.
boot   Boots ARCH's kernel under qemu-system with an initramfs holding DIR/ARCH/rootfs
       (default DIR: dist, from scripts/build-sidecar.sh) and the checks of
       tests/kernels/guest/, bounded by MODELCAR_BOOT_TIMEOUT seconds (default $boot_timeout).
       The console goes to stdout; check lines start with "MCBK ".
USAGE
}

die() { echo "kernel-boot.sh: $*" >&2; exit 1; }

# The architecture's column of architectures.tsv (one source for names, targets, ELF machines).
arch_field() {
  awk -F'\t' -v a="$1" -v f="$2" 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == a { print $col[f]; found = 1 } END { exit !found }' "$root/architectures.tsv"
}
all_archs() { awk -F'\t' 'NR > 1 { print $1 }' "$root/architectures.tsv"; }

# What booting needs beyond architectures.tsv: Debian's kernel flavour, qemu's system emulator
# and machine (TCG everywhere: no KVM assumed), the console the kernel writes to, and the
# kernel file in /boot (ppc64el ships an uncompressed vmlinux; the others' vmlinuz boots as is).
qemu_settings() {
  case "$1" in
    amd64) flavour=amd64 qemu=qemu-system-x86_64 machine=(-M pc -cpu max) console=ttyS0 image=vmlinuz ;;
    arm64) flavour=arm64 qemu=qemu-system-aarch64 machine=(-M virt -cpu cortex-a57) console=ttyAMA0 image=vmlinuz ;;
    ppc64le) flavour=powerpc64le qemu=qemu-system-ppc64 machine=(-M pseries -cpu POWER9) console=hvc0 image=vmlinux ;;
    s390x) flavour=s390x qemu=qemu-system-s390x machine=(-M s390-ccw-virtio) console=ttysclp0 image=vmlinuz ;;
    *) die "unknown architecture '$1' (architectures.tsv has: $(all_archs | paste -sd ' '))" ;;
  esac
}

fetch() {
  local archs=("$@") arch darch pkg version tmp added=() updated=
  [ ${#archs[@]} -gt 0 ] || mapfile -t archs < <(all_archs)
  local native
  native=$(dpkg --print-architecture)
  for arch in "${archs[@]}"; do
    qemu_settings "$arch"
    [ -s "$cache/$arch/kernel" ] && [ -x "$cache/$arch/busybox" ] && [ -s "$cache/$arch/version" ] && continue
    [ "$(id -u)" = 0 ] || die "fetching kernels needs root (dpkg --add-architecture, apt-get)"
    darch=$(arch_field "$arch" debian_arch)
    if [ "$darch" != "$native" ] && ! dpkg --print-foreign-architectures | grep -qx "$darch"; then
      echo "[kernel-boot] dpkg --add-architecture $darch" >&2
      dpkg --add-architecture "$darch"
      added+=("$darch")
      updated=
    fi
    if [ -z "$updated" ]; then
      apt-get update -qq || echo "[kernel-boot] apt-get update reported errors; trying anyway" >&2
      updated=1
    fi
    # The metapackage names the current kernel package (linux-image-6.1.0-NN-FLAVOUR).
    pkg=$(apt-cache depends "linux-image-$flavour:$darch" | awk '/Depends: linux-image-[0-9]/ { sub(/:.*/, "", $2); print $2; exit }')
    [ -n "$pkg" ] || die "no kernel package found for linux-image-$flavour:$darch"
    version=${pkg#linux-image-}
    tmp=$(mktemp -d)
    # apt-get download writes as the _apt user where it can.
    chmod 0755 "$tmp"
    chown _apt "$tmp" 2>/dev/null || true
    echo "[kernel-boot] $arch: apt-get download $pkg:$darch busybox-static:$darch" >&2
    (cd "$tmp" && apt-get download -qq "$pkg:$darch" "busybox-static:$darch")
    mkdir -p "$tmp/x"
    dpkg-deb --fsys-tarfile "$tmp"/linux-image-*.deb | tar -x -C "$tmp/x" "./boot/$image-$version"
    dpkg-deb --fsys-tarfile "$tmp"/busybox-static_*.deb | tar -x -C "$tmp/x" ./bin/busybox
    mkdir -p "$cache"
    rm -rf "$cache/$arch.tmp"
    mkdir "$cache/$arch.tmp"
    mv "$tmp/x/boot/$image-$version" "$cache/$arch.tmp/kernel"
    mv "$tmp/x/bin/busybox" "$cache/$arch.tmp/busybox"
    echo "$version" >"$cache/$arch.tmp/version"
    rm -rf "$tmp" "${cache:?}/$arch"
    mv "$cache/$arch.tmp" "$cache/$arch"
    echo "[kernel-boot] $arch: kernel $version in $cache/$arch" >&2
  done
  # Nothing of the foreign architectures was installed: take them away again.
  for darch in "${added[@]}"; do
    if [ -z "$(dpkg-query -W -f '${Package}\n' "*:$darch" 2>/dev/null)" ]; then
      echo "[kernel-boot] dpkg --remove-architecture $darch" >&2
      dpkg --remove-architecture "$darch"
    fi
  done
}

boot() {
  local arch=${1:-} dist="$root/dist"
  [ -n "$arch" ] || die "boot needs an architecture (see --help)"
  shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --dist) [ $# -ge 2 ] || die "--dist needs a value"; dist=$2; shift 2 ;;
      *) die "unknown argument '$1' (see --help)" ;;
    esac
  done
  qemu_settings "$arch"
  local kdir="$cache/$arch"
  { [ -s "$kdir/kernel" ] && [ -x "$kdir/busybox" ]; } || die "no kernel for $arch in $kdir: run scripts/kernel-boot.sh fetch $arch"
  [ -x "$dist/$arch/rootfs/bin/sh" ] || die "$dist/$arch/rootfs/bin/sh missing: run scripts/build-sidecar.sh"
  command -v "$qemu" >/dev/null || die "$qemu missing: run scripts/install-deps.sh"

  local work
  work=$(mktemp -d)
  # shellcheck disable=SC2064 # the path is fixed now
  trap "rm -rf '$work'" EXIT
  local fs="$work/fs"
  mkdir -p "$fs"/{bin,proc,sys,dev,tmp,etc,checks}
  cp "$kdir/busybox" "$fs/bin/busybox"
  cp "$root"/tests/kernels/guest/* "$fs/checks/"
  mv "$fs/checks/init" "$fs/init"
  # The sidecar's image filesystem, as a container root (bin/sh, the applet links, models/).
  cp -a "$dist/$arch/rootfs" "$fs/sc"
  printf 'root:x:0:0:root:/:/bin/sh\nmcb:x:1010:1010::/:/bin/sh\nother:x:1011:1011::/:/bin/sh\n' >"$fs/etc/passwd"
  printf 'root:x:0:\nmcb:x:1010:\nother:x:1011:\n' >"$fs/etc/group"
  chmod 0755 "$fs/init" "$fs"/checks/*.sh "$fs/bin/busybox"
  (cd "$fs" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$work/initrd.gz"

  # -no-reboot and panic=-1: a guest that dies ends qemu at once instead of hanging.
  local status=0
  timeout --kill-after=5 "$boot_timeout" "$qemu" "${machine[@]}" -m 512 -smp 1 \
    -nographic -no-reboot -nic none \
    -kernel "$kdir/kernel" -initrd "$work/initrd.gz" \
    -append "console=$console rdinit=/init quiet loglevel=3 panic=-1" </dev/null | tr -d '\r' || status=$?
  [ "$status" -ne 124 ] || echo "kernel-boot.sh: $arch: qemu did not finish within ${boot_timeout}s; killed" >&2
  return "$status"
}

case "${1:-}" in
  -h|--help) usage ;;
  fetch) shift; fetch "$@" ;;
  boot) shift; boot "$@" ;;
  *) usage >&2; exit 2 ;;
esac
