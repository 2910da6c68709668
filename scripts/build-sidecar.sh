#!/usr/bin/env bash
# Builds the static sidecar binary for each architecture and lays out the image's filesystem:
#   OUT/<arch>/modelcar-base        the binary
#   OUT/<arch>/rootfs/bin/sh        the binary again, as the image's /bin/sh
#   OUT/<arch>/rootfs/bin/<applet>  relative symlinks to sh
#   OUT/<arch>/rootfs/models/       empty: a modelcar puts its model here
set -euo pipefail

ALL_ARCHS=(amd64 arm64 ppc64le s390x)
APPLETS=(modelcar-base ln mkdir sleep echo ls test "[" true false)

usage() {
  cat <<'USAGE'
Usage: scripts/build-sidecar.sh [--arch ARCH]... [--out DIR]

Builds the static no_std sidecar for each ARCH (amd64, arm64, ppc64le, s390x;
default: all four) into DIR (default: dist) as DIR/ARCH/modelcar-base, plus the
image filesystem DIR/ARCH/rootfs (bin/sh and its applet links, empty models/).

Needs the Rust targets that scripts/install-deps.sh installs (no C toolchain).
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/dist"
archs=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --arch) [ $# -ge 2 ] || { echo "build-sidecar.sh: --arch needs a value" >&2; exit 2; }
            IFS=, read -r -a more <<<"$2"; archs+=("${more[@]}"); shift 2 ;;
    --out) [ $# -ge 2 ] || { echo "build-sidecar.sh: --out needs a value" >&2; exit 2; }
           out=$2; shift 2 ;;
    *) echo "build-sidecar.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#archs[@]} -gt 0 ] || archs=("${ALL_ARCHS[@]}")

# One way for every architecture: no C runtime at all (the binary has its own _start and
# system calls, see src/sys/), linked by rust-lld as a non-PIE static executable (no
# relocations to process at start) without unwind tables (panic=abort), build id, RELRO or
# page padding between segments.
link_script="$root/scripts/sidecar-link.ld"
rustflags="--cfg modelcar_static -C relocation-model=static -C force-unwind-tables=no \
-C target-feature=+crt-static -C linker=rust-lld -C linker-flavor=ld.lld -C link-self-contained=no \
-C link-arg=-static -C link-arg=--build-id=none -C link-arg=-znorelro -C link-arg=-znoseparate-code \
-C link-arg=-T -C link-arg=$link_script"

# The libc crate names the C libraries on gnu targets (-lc -lm -lrt -lpthread...); nothing here
# uses them, so empty archives satisfy the linker.
no_libc="$root/target/sidecar/no-libc"
mkdir -p "$no_libc"
for lib in c m rt pthread util dl gcc gcc_s gcc_eh; do
  printf '!<arch>\n' >"$no_libc/lib$lib.a"
done
rustflags="$rustflags -C link-arg=-L$no_libc"

# Rust target for one architecture. rustup has no musl std for ppc64le and s390x; nothing here
# uses a libc, so the gnu targets serve as well (they only provide core).
target_for() {
  case "$1" in
    amd64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    ppc64le) echo powerpc64le-unknown-linux-gnu ;;
    s390x) echo s390x-unknown-linux-gnu ;;
    *) echo "build-sidecar.sh: unknown architecture '$1' (expected one of: ${ALL_ARCHS[*]})" >&2; return 1 ;;
  esac
}

for arch in "${archs[@]}"; do
  target=$(target_for "$arch")
  echo "[build-sidecar] $arch ($target)" >&2
  CARGO_TARGET_DIR="$root/target/sidecar" RUSTFLAGS="$rustflags ${SIDECAR_EXTRA_RUSTFLAGS:-}" \
    cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml" \
    --package modelcar-base --target "$target"
  bin="$root/target/sidecar/$target/release/modelcar-base"
  dest="$out/$arch"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp/rootfs/bin" "$dest.tmp/rootfs/models"
  install -m 0755 "$bin" "$dest.tmp/modelcar-base"
  install -m 0755 "$bin" "$dest.tmp/rootfs/bin/sh"
  for applet in "${APPLETS[@]}"; do
    ln -s sh "$dest.tmp/rootfs/bin/$applet"
  done
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  printf '[build-sidecar] %s: %s bytes\n' "$arch" "$(stat -c %s "$dest/modelcar-base")" >&2
done
