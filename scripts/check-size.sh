#!/usr/bin/env bash
# Fails when a sidecar binary is larger than its limit in sidecar-size-limits.tsv, or when a
# limit is above the 20 KiB ceiling. Prints each size against its limit.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/check-size.sh [--dist DIR] [--limits FILE]

Checks DIR/ARCH/modelcar-base (default DIR: dist, as scripts/build-sidecar.sh writes it) for
every architecture of architectures.tsv against FILE (default: sidecar-size-limits.tsv).
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=lib/architectures.sh source-path=SCRIPTDIR
. "$root/scripts/lib/architectures.sh"
dist="$root/dist" limits="$root/sidecar-size-limits.tsv"
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --dist) [ $# -ge 2 ] || { echo "check-size.sh: --dist needs a value" >&2; exit 2; }; dist=$2; shift 2 ;;
    --limits) [ $# -ge 2 ] || { echo "check-size.sh: --limits needs a value" >&2; exit 2; }; limits=$2; shift 2 ;;
    *) echo "check-size.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -r "$limits" ] || { echo "check-size.sh: cannot read $limits" >&2; exit 2; }

CEILING=20480
failed=0
for arch in "${MCB_ALL_ARCHS[@]}"; do
  limit=$(awk -F'\t' -v arch="$arch" '$1 == arch { print $2 }' "$limits")
  case "$limit" in
    ''|*[!0-9]*) echo "check-size.sh: $limits has no limit for $arch" >&2; failed=1; continue ;;
  esac
  if [ "$limit" -gt "$CEILING" ]; then
    echo "check-size.sh: $arch's limit $limit is above the ceiling of $CEILING bytes" >&2
    failed=1
  fi
  bin="$dist/$arch/modelcar-base"
  [ -f "$bin" ] || { echo "check-size.sh: $bin is missing (run scripts/build-sidecar.sh)" >&2; failed=1; continue; }
  size=$(stat -c %s "$bin")
  if [ "$size" -gt "$limit" ]; then
    printf 'check-size.sh: %s is %d bytes, over its limit of %d (%s)\n' "$arch" "$size" "$limit" "$limits" >&2
    failed=1
  else
    printf '%-8s %6d B  (limit %d)\n' "$arch" "$size" "$limit"
  fi
done
exit "$failed"
