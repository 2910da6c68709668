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
# relocations to process at start) without unwind tables (panic=abort), build id or RELRO, and
# as one segment (read-only data beside the code, no page padding): every page the sidecar
# maps is a page it keeps resident while it sleeps.
link_script="$root/scripts/sidecar-link.ld"
rustflags="--cfg modelcar_static -C relocation-model=static -C force-unwind-tables=no \
-C target-feature=+crt-static -C linker=rust-lld -C linker-flavor=ld.lld -C link-self-contained=no \
-C link-arg=-static -C link-arg=--build-id=none -C link-arg=-znorelro -C link-arg=-znoseparate-code -C link-arg=--no-rosegment \
-C link-arg=-T -C link-arg=$link_script"

# The libc crate names the C libraries on gnu targets (-lc -lm -lrt -lpthread...); nothing here
# uses them, so empty archives satisfy the linker.
no_libc="$root/target/sidecar/no-libc"
mkdir -p "$no_libc"
for lib in c m rt pthread util dl gcc gcc_s gcc_eh; do
  printf '!<arch>\n' >"$no_libc/lib$lib.a"
done
rustflags="$rustflags -C link-arg=-L$no_libc"

# Rust target for one architecture: the gnu targets only provide `core` here (no libc is
# linked), and rustup has them for all four (it has no musl std for ppc64le or s390x).
target_for() {
  case "$1" in
    amd64) echo x86_64-unknown-linux-gnu ;;
    arm64) echo aarch64-unknown-linux-gnu ;;
    ppc64le) echo powerpc64le-unknown-linux-gnu ;;
    s390x) echo s390x-unknown-linux-gnu ;;
    *) echo "build-sidecar.sh: unknown architecture '$1' (expected one of: ${ALL_ARCHS[*]})" >&2; return 1 ;;
  esac
}

# Drops what follows the loaded segments (the linker's .comment, the section names and the
# section header table: ~600 bytes the kernel never reads) and clears the ELF header's
# pointers to them, as sstrip does. ELF64: e_shoff at 0x28 (8 bytes), e_shnum and e_shstrndx
# at 0x3c (2 + 2 bytes); zeroes read the same in either byte order.
strip_section_headers() {
  local bin=$1 end=0 type offset filesz
  while read -r type offset _ _ filesz _; do
    [ "$type" = LOAD ] && [ $((offset + filesz)) -gt "$end" ] && end=$((offset + filesz))
  done < <(readelf -lW "$bin")
  [ "$end" -gt 64 ] || { echo "build-sidecar.sh: no loadable segments in $bin" >&2; return 1; }
  truncate -s "$end" "$bin"
  printf '\0\0\0\0\0\0\0\0' | dd of="$bin" bs=1 seek=$((0x28)) conv=notrunc status=none
  printf '\0\0\0\0' | dd of="$bin" bs=1 seek=$((0x3c)) conv=notrunc status=none
}

# Code generation settings, measured on the binaries' size:
# - no jump or lookup tables: a switch becomes compares and branches. A jump table entry is a
#   64-bit address on s390x and x86_64, and the sidecar's switches are small: the tables cost
#   more than the code they replace.
# - tail merging of even one-instruction tails (LLVM's default is 3), and the instructions that
#   begin both sides of a branch hoisted above it, once.
# - s390x: LLVM aligns some functions (the cold ones from core) to 16 bytes, padding with
#   `bcr 0,%r7`; 2 bytes, the instruction size, is enough. (The other three already align
#   functions no more than their instructions need.)
# - ppc64le and s390x: an inlining threshold of 25 (opt-level z's is 5). Their calls cost more
#   (saved registers, the stack frame's save area), so inlining a little more saves space. The
#   measured sizes do not move steadily with it (at 50 both grow by ~600 bytes): measure again
#   when changing it.
# - amd64 and arm64: no instructions speculated (hoisted above a branch) to turn the branch
#   into a select.
# - ppc64le, the largest (each saved register is an instruction, each address two): the
#   register allocator told which registers each callee really uses (-enable-ipra), so
#   callers keep values in the others instead of saving them; and no optimisation that
#   spends registers or instructions on speed in loops (loop-invariant code motion, strength
#   reduction, counter-register loops, update-form memory access, constant hoisting, GEP
#   splitting, speculation past one instruction). Found
#   by a sweep over LLVM's options: together 1,064 bytes less (16,856 -> 15,792 B, 2026-11-25).
rustflags="$rustflags -C jump-tables=no -C llvm-args=-tail-merge-size=1 \
-C llvm-args=-hoist-common-insts=true"
arch_rustflags() {
  case "$1" in
    amd64|arm64) echo " -C llvm-args=-phi-node-folding-threshold=0" ;;
    ppc64le) echo " -C llvm-args=-inline-threshold=25 -C llvm-args=-enable-ipra \
-C llvm-args=-disable-machine-licm -C llvm-args=-disable-lsr -C llvm-args=-disable-ppc-ctrloops \
-C llvm-args=-disable-ppc-instr-form-prep -C llvm-args=-disable-constant-hoisting \
-C llvm-args=-phi-node-folding-threshold=1 -C llvm-args=-ppc-gep-opt=false" ;;
    s390x) echo " -C llvm-args=-align-all-functions=1 -C llvm-args=-inline-threshold=25" ;;
  esac
}

for arch in "${archs[@]}"; do
  target=$(target_for "$arch")
  echo "[build-sidecar] $arch ($target)" >&2
  CARGO_TARGET_DIR="$root/target/sidecar" RUSTFLAGS="$rustflags$(arch_rustflags "$arch")" \
    cargo build --quiet --release --locked --manifest-path "$root/Cargo.toml" \
    --package modelcar-base --target "$target"
  bin="$root/target/sidecar/$target/release/modelcar-base"
  dest="$out/$arch"
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp/rootfs/bin" "$dest.tmp/rootfs/models"
  install -m 0755 "$bin" "$dest.tmp/modelcar-base"
  strip_section_headers "$dest.tmp/modelcar-base"
  cp -p "$dest.tmp/modelcar-base" "$dest.tmp/rootfs/bin/sh"
  for applet in "${APPLETS[@]}"; do
    ln -s sh "$dest.tmp/rootfs/bin/$applet"
  done
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  printf '[build-sidecar] %s: %s bytes\n' "$arch" "$(stat -c %s "$dest/modelcar-base")" >&2
done
