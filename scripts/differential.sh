#!/usr/bin/env bash
# A longer run of the three-way differential (ours vs busybox sh vs dash) than CI's, by hand:
#   scripts/differential.sh [--count N] [--seed S] [--jobs J] [--minimise] [--show CLASS]...
# Needs root (each shell runs in a chroot of its own) and dist/amd64/modelcar-base
# (scripts/build-sidecar.sh). Prints the failing scripts, a count per class, and exits 1 if
# any script differs from both references, is refused although both run it, or hangs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
case "${1:-}" in
  -h|--help) exec "$root/.venv/bin/python" "$root/tests/differential/differential.py" --help ;;
esac
[ -x "$root/.venv/bin/python" ] || { echo "differential.sh: .venv missing: run scripts/install-deps.sh" >&2; exit 2; }
command -v dash >/dev/null || { echo "differential.sh: dash missing: run scripts/install-deps.sh" >&2; exit 2; }
exec nice "$root/.venv/bin/python" "$root/tests/differential/differential.py" "$@"
