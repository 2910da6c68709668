# The architectures table (architectures.tsv at the repository root), for shell scripts.
# Source it; it defines MCB_ALL_ARCHS and functions only.
# shellcheck shell=bash

MCB_ARCH_TABLE="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/architectures.tsv"
# The architectures' names (Go/OCI names, as podman's $TARGETARCH), in the table's order.
mapfile -t MCB_ALL_ARCHS < <(awk -F'\t' 'NR > 1 { print $1 }' "$MCB_ARCH_TABLE")

# arch_field ARCH COLUMN: ARCH's value in COLUMN (rust_target, elf_machine, qemu_user,
# debian_arch); fails with a message naming the known architectures for an unknown ARCH.
arch_field() {
  local value
  value=$(awk -F'\t' -v arch="$1" -v column="$2" '
    NR == 1 { for (i = 1; i <= NF; i++) if ($i == column) c = i; next }
    $1 == arch && c { print $c }' "$MCB_ARCH_TABLE")
  if [ -z "$value" ]; then
    printf '%s: unknown architecture %s (expected one of: %s)\n' \
      "$(basename "$0")" "'$1'" "${MCB_ALL_ARCHS[*]}" >&2
    return 1
  fi
  printf '%s\n' "$value"
}
