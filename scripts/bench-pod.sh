#!/usr/bin/env bash
# Pod start time for a big model on containerd over CRI: from PullImage to the server having
# read every byte, cold, for each way of building the modelcar, next to the limit (the same
# blobs fetched in parallel and read once). Prints a Markdown table. Not a test: numbers only.
# The work is in scripts/lib/bench_pod.py (on the CRI harness of tests/cri); --help lists the
# options.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/tests/containers.conf}"
die() { printf 'bench-pod.sh: %s\n' "$*" >&2; exit 1; }

py="$root/.venv/bin/python"
[ -x "$py" ] || die "$py is missing (scripts/install-deps.sh makes the venv)"
case " $* " in
  *" -h "*|*" --help "*) exec "$py" "$root/scripts/lib/bench_pod.py" --pack-bin x --help ;;
esac
[ "$(id -u)" = 0 ] || die "needs root (containerd, dropping the page cache)"
for tool in containerd ctr runc cargo skopeo podman curl docker-registry; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done

# The same dist/ for the embedded sidecars as the CRI tests use.
[ -x "$root/dist/amd64/rootfs/bin/sh" ] || "$root/scripts/build-sidecar.sh" >/dev/null
printf '[bench-pod] building modelcar-pack (release)\n' >&2
(cd "$root" && cargo build --release -q -p modelcar-pack)
pack="${CARGO_TARGET_DIR:-$root/target}/release/modelcar-pack"
[ -x "$pack" ] || die "$pack was not built"
exec nice -n 5 "$py" "$root/scripts/lib/bench_pod.py" --pack-bin "$pack" "$@"
