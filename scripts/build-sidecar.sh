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

Needs the Rust targets and cross linkers that scripts/install-deps.sh installs.
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

# The common flags: non-PIE static code (no relocations to process at start), no unwind tables
# (panic=abort; scripts/sidecar-link.ld discards the ones precompiled objects carry), and a
# layout without page padding between segments.
link_script="$root/scripts/sidecar-link.ld"
common_rustflags="-C relocation-model=static -C force-unwind-tables=no -C target-feature=+crt-static"

# Rust target for one architecture.
target_for() {
  case "$1" in
    amd64) echo x86_64-unknown-linux-musl ;;
    arm64) echo aarch64-unknown-linux-musl ;;
    # No musl std from rustup for these two: the gnu targets give core/alloc, and the link
    # uses Debian's musl for the architecture (musl-dev:ppc64el / musl-dev:s390x).
    ppc64le) echo powerpc64le-unknown-linux-gnu ;;
    s390x) echo s390x-unknown-linux-gnu ;;
    *) echo "build-sidecar.sh: unknown architecture '$1' (expected one of: ${ALL_ARCHS[*]})" >&2; return 1 ;;
  esac
}

# Linking against Debian's static musl with the architecture's gcc, without the toolchain's
# own crt objects (their crtbegin.o would keep .eh_frame alive).
debian_musl_flags() {
  local musl=$1 gcc=$2 f
  for f in "$musl/libc.a" "$musl/crt1.o"; do
    [ -e "$f" ] || { echo "build-sidecar.sh: $f missing (run scripts/install-deps.sh)" >&2; return 1; }
  done
  command -v "$gcc" >/dev/null || { echo "build-sidecar.sh: $gcc missing (run scripts/install-deps.sh)" >&2; return 1; }
  echo "-C linker=$gcc -C link-self-contained=no -C link-arg=-nostdlib -C link-arg=-static \
-C link-arg=$musl/crt1.o -C link-arg=$musl/crti.o -C link-arg=-L$musl -C link-arg=-l:libc.a \
-C link-arg=-lgcc -C link-arg=$musl/crtn.o -C link-arg=-Wl,-z,norelro \
-C link-arg=-Wl,-z,noseparate-code -C link-arg=-Wl,--build-id=none -C link-arg=-Wl,-T,$link_script"
}

rustflags_for() {
  case "$1" in
    amd64) echo "$common_rustflags $(debian_musl_flags /usr/lib/x86_64-linux-musl gcc)" ;;
    # rust-lld and the toolchain's musl: no aarch64 cross gcc needed.
    arm64) echo "$common_rustflags -C linker=rust-lld -C link-arg=-z -C link-arg=norelro \
-C link-arg=--build-id=none -C link-arg=-T -C link-arg=$link_script" ;;
    ppc64le) echo "$common_rustflags $(debian_musl_flags /usr/lib/powerpc64le-linux-musl powerpc64le-linux-gnu-gcc)" ;;
    s390x) echo "$common_rustflags $(debian_musl_flags /usr/lib/s390x-linux-musl s390x-linux-gnu-gcc)" ;;
  esac
}

for arch in "${archs[@]}"; do
  target=$(target_for "$arch")
  flags=$(rustflags_for "$arch" | tr -d '\\\n')
  echo "[build-sidecar] $arch ($target)" >&2
  CARGO_TARGET_DIR="$root/target/sidecar" RUSTFLAGS="$flags" \
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
