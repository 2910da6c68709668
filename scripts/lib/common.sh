# Shared helpers for the image scripts. Source it; it defines functions only.
# shellcheck shell=bash

# The repository root, whatever the caller's working directory.
MCB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# The four platforms the base image ships for (Go/OCI names, as podman's $TARGETARCH), from
# architectures.tsv.
# shellcheck source=architectures.sh source-path=SCRIPTDIR
. "$MCB_ROOT/scripts/lib/architectures.sh"
MCB_ARCHES=("${MCB_ALL_ARCHS[@]}")

# podman on these machines needs runc and explicit ulimits (see tests/containers.conf);
# respect a caller's own choice.
export CONTAINERS_CONF="${CONTAINERS_CONF:-$MCB_ROOT/tests/containers.conf}"

mcb_prog=$(basename "$0")
log() { printf '[%s] %s\n' "$mcb_prog" "$*" >&2; }
die() { printf '%s: error: %s\n' "$mcb_prog" "$*" >&2; exit 1; }
# Usage errors exit 2, like the shells and coreutils do.
usage_error() { printf '%s: %s (see --help)\n' "$mcb_prog" "$*" >&2; exit 2; }

need_tool() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || die "required tool '$t' not found in PATH (run scripts/install-deps.sh)"
  done
}

# Turns "linux/amd64,arm64" or "all" into the arch list in MCB_PLATFORM_ARCHES,
# refusing anything the image does not ship for.
parse_platforms() {
  local spec=$1 item arch known
  MCB_PLATFORM_ARCHES=()
  if [ "$spec" = all ]; then
    MCB_PLATFORM_ARCHES=("${MCB_ARCHES[@]}")
    return
  fi
  IFS=, read -r -a items <<<"$spec"
  [ "${#items[@]}" -gt 0 ] || usage_error "empty --platform"
  for item in "${items[@]}"; do
    arch=${item#linux/}
    known=
    for a in "${MCB_ARCHES[@]}"; do [ "$a" = "$arch" ] && known=1; done
    [ -n "$known" ] || usage_error "unknown platform '$item' (supported: ${MCB_ARCHES[*]/#/linux/}, or 'all')"
    MCB_PLATFORM_ARCHES+=("$arch")
  done
}

# The host's arch in Go/OCI naming.
host_arch() {
  # uname -m names the machine as qemu-user does (the table's qemu_user column).
  local arch
  arch=$(awk -F'\t' -v m="$(uname -m)" 'NR > 1 && $4 == m { print $1 }' "$MCB_ARCH_TABLE")
  [ -n "$arch" ] || die "unsupported host architecture $(uname -m)"
  echo "$arch"
}

# A fixed build date: SOURCE_DATE_EPOCH, else the last commit's date, else 0.
source_date_epoch() {
  if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
    [[ $SOURCE_DATE_EPOCH =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be an integer, got '$SOURCE_DATE_EPOCH'"
    echo "$SOURCE_DATE_EPOCH"
  elif git -C "$MCB_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$MCB_ROOT" log -1 --format=%ct 2>/dev/null || echo 0
  else
    echo 0
  fi
}

# Fails at once when a registry's host:port does not accept TCP connections,
# instead of letting podman retry for a long time.
check_registry_reachable() {
  local ref=$1 hostport host port
  hostport=${ref%%/*}
  # A reference without a registry host ("name:tag") goes to docker.io.
  case "$hostport" in
    *.*|*:*|localhost) ;;
    *) hostport=docker.io ;;
  esac
  host=${hostport%:*}
  port=${hostport##*:}
  [ "$host" != "$hostport" ] || port=443
  # shellcheck disable=SC2016 # $0/$1 expand in the inner bash
  if ! timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; then
    die "registry $hostport is unreachable (no TCP connection to $host:$port within 5 s)"
  fi
}

# The ELF e_machine of FILE as a decimal number (62 x86-64, 183 aarch64, 21 ppc64, 22 s390).
elf_machine() {
  local f=$1 magic data lo hi
  magic=$(od -An -c -N4 "$f" 2>/dev/null | tr -d ' ')
  [ "$magic" = '177ELF' ] || { echo none; return; }
  data=$(od -An -tu1 -j5 -N1 "$f" | tr -d ' ')
  read -r lo hi < <(od -An -tu1 -j18 -N2 "$f")
  # EI_DATA 2 = big-endian (s390x).
  if [ "$data" = 2 ]; then echo $((lo * 256 + hi)); else echo $((hi * 256 + lo)); fi
}

# The e_machine a binary for ARCH must carry.
arch_elf_machine() {
  arch_field "$1" elf_machine || die "no ELF machine known for arch '$1'"
}

# Per-arch image name for manifest list NAME: localhost/x:1.0 -> localhost/x:1.0-amd64.
arch_image_name() {
  local name=$1 arch=$2 last=${1##*/}
  if [[ $last == *:* ]]; then echo "$name-$arch"; else echo "$name:latest-$arch"; fi
}

# Removes manifest list NAME and its per-arch images (quietly: they may not exist).
remove_manifest_list() {
  local name=$1 a
  podman manifest rm "$name" >/dev/null 2>&1 || podman rmi "$name" >/dev/null 2>&1 || true
  for a in "${MCB_ARCHES[@]}"; do podman rmi "$(arch_image_name "$name" "$a")" >/dev/null 2>&1 || true; done
}

# build_manifest_list NAME CONTEXT "ARCH..." PODMAN-BUILD-ARGS...
# Builds one image per arch, then adds them to a fresh list in the order given, so the
# list's digest depends only on its content (parallel `podman build --manifest` adds
# them in whatever order the builds finish). Removes everything again on failure.
build_manifest_list() {
  local name=$1 context=$2 arches arch img
  read -r -a arches <<<"$3"
  shift 3
  remove_manifest_list "$name"
  MCB_CLEANUP_MANIFEST=$name
  for arch in "${arches[@]}"; do
    img=$(arch_image_name "$name" "$arch")
    log "podman build --platform linux/$arch -t $img"
    podman build -q --platform "linux/$arch" "$@" -t "$img" "$context" >/dev/null
  done
  podman manifest create "$name" >/dev/null
  for arch in "${arches[@]}"; do
    podman manifest add "$name" "containers-storage:$(arch_image_name "$name" "$arch")" >/dev/null
  done
  MCB_CLEANUP_MANIFEST=
}

# An EXIT trap for scripts that build manifest lists: no half-built list survives a failure.
MCB_CLEANUP_MANIFEST=
cleanup_manifest_on_failure() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -n "$MCB_CLEANUP_MANIFEST" ]; then
    log "failed: removing the half-built manifest list $MCB_CLEANUP_MANIFEST"
    remove_manifest_list "$MCB_CLEANUP_MANIFEST"
  fi
  return "$rc"
}
# Also on Ctrl-C and SIGTERM: bash runs the EXIT trap only when it exits by itself.
install_manifest_cleanup() {
  trap cleanup_manifest_on_failure EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# Fails unless the local manifest list LIST holds an image for every ARCH given.
require_list_platforms() {
  local list=$1 json arch
  shift
  json=$(podman manifest inspect "$list" 2>/dev/null) || die "'$list' is not a local manifest list (needed for a multi-arch build)"
  for arch in "$@"; do
    grep -q "\"architecture\": *\"$arch\"" <<<"$json" || die "base manifest list '$list' has no linux/$arch image"
  done
}
