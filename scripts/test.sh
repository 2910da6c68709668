#!/usr/bin/env bash
# The test command: installs what it needs, builds, lints and runs every test suite.
# Used as-is by CI (.ci/run). Each stage runs even if an earlier one failed; the summary
# lists them and the exit status is non-zero if any failed.
set -euo pipefail

ALL_STAGES=(install build kernels lint unit-and-integration differential fuzz system cri)

usage() {
  cat <<USAGE
Usage: scripts/test.sh [STAGE...]

Runs all stages by default, in order: ${ALL_STAGES[*]}
  install               scripts/install-deps.sh (apt, rustup targets, binfmt, .venv)
  build                 scripts/build-sidecar.sh (the four static sidecar binaries), then
                        scripts/check-size.sh (each within sidecar-size-limits.tsv)
  kernels               each binary booted on its own architecture's Debian kernel
                        (qemu-system, scripts/kernel-boot.sh), running every check once
  lint                  cargo fmt --check, clippy -D warnings (also on the no-libc build),
                        shellcheck, the sidecar's dependency tree (libc only)
  unit-and-integration  cargo test --workspace (sidecar vs busybox, modelcar-pack)
  differential          generated scripts run by ours, busybox sh and dash, compared
                        (tests/differential; longer runs: scripts/differential.sh)
  fuzz                  a bounded cargo-fuzz run of the parser and interpreter, then
                        the corpora run on all four binaries, compared with amd64
  system                pytest tests/system (podman, registry, kube play, KServe modes)
  cri                   pytest tests/cri (the KServe pod and the unpack image on a private
                        containerd over CRI)
Env: FUZZ_SECONDS (default 20 per target), DIFFERENTIAL_COUNT (default 1200 scripts).
USAGE
}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

stages=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) usage; exit 0 ;;
    *) printf '%s\n' "${ALL_STAGES[@]}" | grep -qx -- "$arg" \
         || { echo "test.sh: unknown stage '$arg' (stages: ${ALL_STAGES[*]})" >&2; exit 2; }
       stages+=("$arg") ;;
  esac
done
[ ${#stages[@]} -gt 0 ] || stages=("${ALL_STAGES[@]}")

export CARGO_TERM_COLOR=never
export CONTAINERS_CONF="$root/tests/containers.conf"

stage_install() { scripts/install-deps.sh; }

stage_build() { scripts/build-sidecar.sh && scripts/check-size.sh; }

stage_kernels() { .venv/bin/pytest -q -p no:cacheprovider tests/kernels; }

stage_lint() {
  cargo fmt --all -- --check
  cargo clippy --workspace --all-targets --locked -- -D warnings
  # The real sidecar's own code (entry point, memcpy & co, each architecture's system calls)
  # only exists with this cfg.
  local target
  awk -F'\t' 'NR > 1 { print $2 }' architectures.tsv | while read -r target; do
    RUSTFLAGS="--cfg modelcar_static" CARGO_TARGET_DIR=target/clippy-static \
      cargo clippy --locked -p modelcar-base --target "$target" -- -D warnings
  done
  # The sidecar's only dependency is libc.
  local deps
  deps=$(cargo tree --locked -p modelcar-base -e normal --prefix none | sed 's/ (.*//' | sort -u)
  if [ "$(echo "$deps" | awk '{print $1}' | sort -u | tr '\n' ' ')" != "libc modelcar-base " ]; then
    echo "lint: the sidecar must depend on libc only; cargo tree says:" >&2
    echo "$deps" >&2
    return 1
  fi
  mapfile -t shell_scripts < <(git ls-files '*.sh' .ci/run)
  shellcheck "${shell_scripts[@]}"
}

stage_unit-and-integration() { cargo test --workspace --locked; }

stage_differential() {
  .venv/bin/pytest -q -p no:cacheprovider tests/differential
}

stage_fuzz() {
  local seconds=${FUZZ_SECONDS:-20} target
  for target in parse run; do
    (cd fuzz && cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -max_len=4096 -dict=sh.dict -close_fd_mask=2 2>&1 | tail -n 5)
  done
  # The fuzzers run the amd64 code; each architecture has its own code generation settings.
  scripts/compare-archs.py fuzz/corpus/run fuzz/corpus/parse
}

stage_system() { .venv/bin/pytest -q -p no:cacheprovider tests/system; }

stage_cri() { .venv/bin/pytest -q -p no:cacheprovider tests/cri; }

passed=0 failed=0 failed_names=()
for stage in "${stages[@]}"; do
  echo "=== test.sh: stage $stage" >&2
  start=$(date +%s)
  # A subshell outside any `if`, so that `set -e` stops the stage at its first failing command.
  set +e
  (set -e; "stage_$stage")
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "=== test.sh: stage $stage passed in $(( $(date +%s) - start ))s" >&2
  else
    failed=$((failed + 1)); failed_names+=("$stage")
    echo "=== test.sh: stage $stage FAILED after $(( $(date +%s) - start ))s" >&2
  fi
done
[ "$failed" -eq 0 ] || echo "test.sh: failed stages: ${failed_names[*]}" >&2
echo "stages: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
