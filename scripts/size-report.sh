#!/usr/bin/env bash
# Where the sidecar's bytes go: builds the four binaries (into a scratch folder, not dist/) and
# prints each one's size, then the largest functions and data of one architecture, from an
# unstripped build. For size work: measure before and after every change.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/size-report.sh [--arch ARCH] [--top N] [--grep PATTERN]

Prints the stripped size of the four binaries, then the N largest symbols (default 30) of
ARCH (default amd64) whose name matches PATTERN (default: all), sizes in bytes.
USAGE
}

arch=amd64 top=30 pattern=.
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --arch) [ $# -ge 2 ] || { echo "size-report.sh: --arch needs a value" >&2; exit 2; }; arch=$2; shift 2 ;;
    --top) [ $# -ge 2 ] || { echo "size-report.sh: --top needs a value" >&2; exit 2; }; top=$2; shift 2 ;;
    --grep) [ $# -ge 2 ] || { echo "size-report.sh: --grep needs a value" >&2; exit 2; }; pattern=$2; shift 2 ;;
    *) echo "size-report.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$top" in ''|*[!0-9]*) echo "size-report.sh: --top must be a number" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/architectures.sh source-path=SCRIPTDIR
. "$root/scripts/lib/architectures.sh"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"$root/scripts/build-sidecar.sh" --out "$scratch" 2>/dev/null
total=0
for a in "${MCB_ALL_ARCHS[@]}"; do
  size=$(stat -c %s "$scratch/$a/modelcar-base")
  total=$((total + size))
  printf '%-8s %6d B\n' "$a" "$size"
done
printf '%-8s %6d B\n' total "$total"

# The same build with symbols: cargo's release profile strips, so override it for one build.
CARGO_PROFILE_RELEASE_STRIP=false "$root/scripts/build-sidecar.sh" --arch "$arch" --out "$scratch/symbols" 2>/dev/null
target=$(arch_field "$arch" rust_target) || exit 2
echo
echo "largest symbols of $arch (bytes, type, name):"
nm --size-sort -S -C "$root/target/sidecar/$target/release/modelcar-base" \
  | while read -r _ size type name; do printf '%6d %s %s\n' "$((16#$size))" "$type" "$name"; done \
  | grep -E -- "$pattern" | sort -n | tail -n "$top"
