#!/usr/bin/env bash
# Benchmark: unpack a modelcar (default 2 GiB, 4 files) from a docker-registry on 127.0.0.1
# with modelcar-pack unpack, with KServe's own storage initializer code
# (kserve-storage's Storage._download_oci, what oci+fetch:// runs), and with oras-py; and the
# limit: the same layer blobs fetched in parallel with curl and written to disk.
# Prints a table: wall time, peak RSS, bytes; then image sizes (ours vs KServe's Python env).
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/bench-unpack.sh [--size-mib N] [--runs N]

  --size-mib N   model size in MiB, split over 4 files (default 2048)
  --runs N       runs per tool; the table shows the best (default 1)

Needs docker-registry, curl, jq, the .venv with kserve-storage and oras (scripts/install-deps.sh),
and dist-unpack/amd64 (built by scripts/build-unpack.sh if missing). Page cache is warm (the
registry's files were just written): all tools read the same cached blobs.
USAGE
}

size_mib=2048 runs=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --size-mib) size_mib=${2:?--size-mib needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
[[ $size_mib =~ ^[0-9]+$ && $size_mib -ge 4 ]] || usage_error "--size-mib must be a number >= 4"
need_tool docker-registry curl jq /usr/bin/time python3
py="$MCB_ROOT/.venv/bin/python"
[ -x "$py" ] || die "no .venv (run scripts/install-deps.sh)"
"$py" -c 'import kserve_storage, oras.client' 2>/dev/null || die "kserve-storage or oras missing from .venv (run scripts/install-deps.sh)"
bin="$MCB_ROOT/dist-unpack/amd64/rootfs/modelcar-pack"
[ -x "$bin" ] || "$MCB_ROOT/scripts/build-unpack.sh" --arch amd64

tmp=$(mktemp -d /tmp/mcb-bench-unpack.XXXXXX)
reg_pid=''
cleanup() {
  [ -z "$reg_pid" ] || { kill "$reg_pid" 2>/dev/null || true; wait "$reg_pid" 2>/dev/null || true; }
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/registry.yml" <<EOF
version: 0.1
log: {level: error}
storage:
  filesystem: {rootdirectory: $tmp/registry}
http:
  addr: 127.0.0.1:$port
EOF
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg_pid=$!
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
curl -fs "http://127.0.0.1:$port/v2/" >/dev/null || die "docker-registry did not start: $(cat "$tmp/registry.log")"

log "making a $size_mib MiB model (4 random files)"
mkdir "$tmp/model"
for i in 1 2 3 4; do
  head -c "$((size_mib / 4))M" /dev/urandom >"$tmp/model/model-0000$i-of-00004.safetensors"
done
echo '{"architectures": ["Bench"]}' >"$tmp/model/config.json"
ref="127.0.0.1:$port/bench/model:v1"
"$bin" "$tmp/model" --push "$ref" --insecure -q >/dev/null

# The amd64 manifest's layers, for the limit.
index=$(curl -fs -H 'Accept: application/vnd.oci.image.index.v1+json' "http://127.0.0.1:$port/v2/bench/model/manifests/v1")
mdigest=$(jq -r '.manifests[] | select(.platform.architecture=="amd64") | .digest' <<<"$index")
manifest=$(curl -fs -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://127.0.0.1:$port/v2/bench/model/manifests/$mdigest")
mapfile -t layers < <(jq -r '.layers[].digest' <<<"$manifest")
total=$(jq '[.layers[].size] | add' <<<"$manifest")

# measure NAME CMD...: best wall time and its peak RSS over $runs runs; the output dir is
# $tmp/out (emptied before each run).
results=()
measure() {
  local name=$1 best='' rss='' t m
  shift
  for _ in $(seq "$runs"); do
    rm -rf "$tmp/out"
    mkdir "$tmp/out"
    sync
    /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err" || {
      cat "$tmp/err" >&2
      die "$name failed"
    }
    read -r t m <"$tmp/time"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t rss=$m; fi
  done
  local written
  written=$(du -sb "$tmp/out" | cut -f1)
  results+=("$name|$best|$rss|$written")
  log "$name: $best s, peak RSS $rss KiB, $written bytes written"
}

fetch_parallel() {
  local d pids=()
  for d in "${layers[@]}"; do
    curl -fs -o "$tmp/out/${d#sha256:}" "http://127.0.0.1:$port/v2/bench/model/blobs/$d" &
    pids+=($!)
  done
  for d in "${pids[@]}"; do wait "$d"; done
}

measure "limit: curl, layers in parallel, written" bash -c "$(declare -p tmp port layers); $(declare -f fetch_parallel); fetch_parallel"
measure "modelcar-pack unpack" "$bin" unpack --insecure "$ref" "$tmp/out/models" -q
measure "kserve-storage _download_oci" env KSERVE_OCI_INSECURE_REGISTRY=true "$py" -c \
  "import sys; from kserve_storage import Storage; Storage._download_oci(sys.argv[1], sys.argv[2])" \
  "oci://$ref" "$tmp/out/models"
measure "oras-py pull (blobs to files, no extraction)" "$py" -c \
  "import sys, oras.client; oras.client.OrasClient(insecure=True).pull(target=sys.argv[1], outdir=sys.argv[2])" \
  "127.0.0.1:$port/bench/model@$mdigest" "$tmp/out"

# Sizes: our whole image (binary + CA file) vs what KServe's storage initializer installs
# for Python (kserve-storage and its dependencies, as installed in .venv).
ours=$(du -sb "$MCB_ROOT/dist-unpack/amd64/rootfs" | cut -f1)
theirs=$("$py" - <<'EOF'
import importlib.metadata as md, re
seen, todo, total = set(), ["kserve-storage"], 0
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
while todo:
    n = norm(todo.pop())
    if n in seen:
        continue
    seen.add(n)
    try:
        d = md.distribution(n)
    except md.PackageNotFoundError:
        continue
    for f in d.files or []:
        try:
            total += f.locate().stat().st_size
        except OSError:
            pass
    for r in d.requires or []:
        if "extra ==" not in r:
            todo.append(re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0])
print(total, len(seen))
EOF
)

limit=$(cut -d'|' -f2 <<<"${results[0]}")
echo
echo "Unpack of a $size_mib MiB modelcar ($total layer bytes, ${#layers[@]} layers, amd64) from docker-registry on 127.0.0.1"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs); best of $runs run(s); warm page cache"
printf '%-48s %9s %9s %12s %14s\n' tool seconds "x limit" "peak RSS" "bytes written"
for r in "${results[@]}"; do
  IFS='|' read -r name t m w <<<"$r"
  printf '%-48s %9.2f %9.2f %9d KiB %14d\n' "$name" "$t" "$(awk -v a="$t" -v b="$limit" 'BEGIN{print a/b}')" "$m" "$w"
done
echo
printf '%-48s %14d bytes\n' "modelcar-unpack image (binary + CA file)" "$ours"
printf '%-48s %14d bytes (%s distributions)\n' "kserve-storage + dependencies (installed)" "${theirs% *}" "${theirs#* }"
