#!/usr/bin/env bash
# Builds the static sidecar binary for each architecture and lays out the image's filesystem:
#   OUT/<arch>/modelcar-base        the binary
#   OUT/<arch>/rootfs/bin/sh        the binary again, as the image's /bin/sh
#   OUT/<arch>/rootfs/bin/<applet>  relative symlinks to sh
#   OUT/<arch>/rootfs/models/       empty: a modelcar puts its model here
set -euo pipefail

# shellcheck source=lib/architectures.sh source-path=SCRIPTDIR
. "$(dirname "$0")/lib/architectures.sh"
mapfile -t applets < <(grep -v '^#' "$(dirname "$0")/../applets.txt")

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
[ ${#archs[@]} -gt 0 ] || archs=("${MCB_ALL_ARCHS[@]}")

# Every build setting is in .cargo/sidecar.toml (the same for all four, plus ppc64le's own
# code generation settings). The libc crate names the C libraries on every gnu target, whatever
# its features (-lc -lm -lrt -lpthread...); nothing here uses them, so empty archives (in the
# folder that file names) satisfy the linker.
no_libc="$root/target/sidecar/no-libc"
mkdir -p "$no_libc"
for lib in c m rt pthread util dl gcc gcc_s gcc_eh; do
  printf '!<arch>\n' >"$no_libc/lib$lib.a"
done

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

# Whether two trees hold the same names, types, modes, symlink targets and file contents.
same_tree() {
  [ -d "$2" ] || return 1
  [ "$(cd "$1" && find . -printf '%p %y %m %l\n' | sort)" = "$(cd "$2" && find . -printf '%p %y %m %l\n' | sort)" ] \
    && diff -r --no-dereference "$1" "$2" >/dev/null
}

mkdir -p "$root/target/sidecar"
stage=$(mktemp -d "$root/target/sidecar/layout.XXXXXX")
trap 'rm -rf "$stage"' EXIT

for arch in "${archs[@]}"; do
  target=$(arch_field "$arch" rust_target)
  echo "[build-sidecar] $arch ($target)" >&2
  # From the root: the settings' paths are relative to it. No RUSTFLAGS: they would replace
  # the file's.
  (cd "$root" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS CARGO_TARGET_DIR="$root/target/sidecar" \
    cargo --config .cargo/sidecar.toml build --quiet --release --locked \
    --package modelcar-base --target "$target")
  bin="$root/target/sidecar/$target/release/modelcar-base"
  dest="$out/$arch"
  # Laid out outside OUT, and moved there only if it differs from what is there: cargo
  # rebuilds modelcar-pack (which embeds OUT) in every profile when anything in OUT, the
  # folders included, has a newer timestamp, though not a byte changed.
  new="$stage/$arch"
  mkdir -p "$new/rootfs/bin" "$new/rootfs/models"
  install -m 0755 "$bin" "$new/modelcar-base"
  strip_section_headers "$new/modelcar-base"
  cp -p "$new/modelcar-base" "$new/rootfs/bin/sh"
  for applet in modelcar-base "${applets[@]}"; do
    ln -s sh "$new/rootfs/bin/$applet"
  done
  if same_tree "$new" "$dest"; then
    rm -rf "$new"
  else
    rm -rf "$dest"
    mkdir -p "$out"
    mv "$new" "$dest"
  fi
  printf '[build-sidecar] %s: %s bytes\n' "$arch" "$(stat -c %s "$dest/modelcar-base")" >&2
done
