#!/usr/bin/env bash
# Benchmarks modelcar-pack against olot and podman build on the same generated model, next to
# two limits (cp of the same bytes, sha256 of them), on the ordinary filesystem and on a
# loop-mounted XFS with reflink=1; and modelcar-pack --push against skopeo copy of the same
# layout to a loopback docker-registry. Prints a Markdown table. Not a test: numbers only.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/bench-pack.sh [OPTIONS]

Packs one generated model (random bytes, in a few files) with:
  modelcar-pack (release build)   -o oci:DIR
  olot                            onto an OCI layout of the base image (skopeo copy)
  podman build                    -f Containerfile-modelcar FROM the base image
                                  (+ skopeo copy to an OCI layout, timed separately)
and measures the limits: cp --reflink=never of the same files, SHA-256 of them (openssl).
Conversion: the same files as a ModelKit in a local OCI layout, converted by modelcar-pack
(oci:DIR:TAG input), next to cp and to unpacking its layers with tar and packing again.
Then the push to a docker-registry on 127.0.0.1 (empty before every run):
  modelcar-pack --push            pack and upload in one step (and with -j 1: one upload at a time)
  skopeo copy --all               the layout modelcar-pack -o wrote, as skopeo pushes it
                                  (it gzips uncompressed layers on the way)
  skopeo copy --all --preserve-digests   the same layout, the same bytes as --push
Then again on a loop-mounted XFS (reflink=1): cp, sha256sum, modelcar-pack, olot.
Before each run the model is read (warm page cache) and `sync` flushes earlier writes, so
this compares the tools, not the disk's cold read or write-back speed. Wall time, MB/s and peak RSS come from /usr/bin/time -v.

Options:
  --size-mb N     model size in MiB (default 2048)
  --files N       number of weight files (default 4)
  --runs N        runs per tool, the fastest is reported (default 3; podman build: 1)
  --workdir DIR   where to work (default: a new folder under /var/tmp); removed at the end
  --no-xfs        skip the XFS/reflink part (it needs root, mkfs.xfs and a loop device)
  --no-podman     skip podman build
  --no-push       skip the registry part
  -h, --help      this help

Needs: cargo, podman, skopeo, docker-registry, curl, /usr/bin/time (apt 'time'), .venv/bin/olot,
scripts/build-image.sh.
USAGE
}

size_mb=2048
files=4
runs=3
after_each=""
workdir=""
do_xfs=1
do_podman=1
do_push=1
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --size-mb) size_mb=${2:?--size-mb needs a value}; shift 2 ;;
    --files) files=${2:?--files needs a value}; shift 2 ;;
    --runs) runs=${2:?--runs needs a value}; shift 2 ;;
    --workdir) workdir=${2:?--workdir needs a value}; shift 2 ;;
    --no-xfs) do_xfs=0; shift ;;
    --no-podman) do_podman=0; shift ;;
    --no-push) do_push=0; shift ;;
    *) echo "bench-pack.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$size_mb$files$runs" in *[!0-9]*) echo "bench-pack.sh: --size-mb, --files and --runs take numbers" >&2; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
export CONTAINERS_CONF="$root/tests/containers.conf"
log() { printf '[bench-pack] %s\n' "$*" >&2; }
die() { printf 'bench-pack.sh: %s\n' "$*" >&2; exit 1; }

for tool in cargo skopeo sha256sum openssl; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/install-deps.sh installs it)"
done
[ -x /usr/bin/time ] || die "/usr/bin/time is missing: apt-get install time"
olot="$root/.venv/bin/olot"
[ -x "$olot" ] || die "$olot is missing (scripts/install-deps.sh makes the venv)"
if [ "$do_podman" = 1 ]; then command -v podman >/dev/null || die "podman is missing"; fi
if [ "$do_push" = 1 ]; then
  for tool in docker-registry curl python3; do
    command -v "$tool" >/dev/null || die "$tool is missing (or pass --no-push)"
  done
fi
if [ "$do_xfs" = 1 ]; then
  [ "$(id -u)" = 0 ] || die "the XFS part needs root (or pass --no-xfs)"
  command -v mkfs.xfs >/dev/null || die "mkfs.xfs is missing (apt-get install xfsprogs), or pass --no-xfs"
fi

if [ -z "$workdir" ]; then
  workdir=$(mktemp -d /var/tmp/modelcar-bench.XXXXXX)
else
  mkdir -p "$workdir"
fi
tag="mcb-bench-$$"
base_image="localhost/$tag/base:latest"
mnt="$workdir/xfs"
reg_pid=""
reg_port=""
cleanup() {
  reg_stop
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt" || umount -l "$mnt" || true; fi
  if [ "$do_podman" = 1 ]; then
    podman rmi -f "$base_image" "localhost/$tag/modelcar:latest" >/dev/null 2>&1 || true
  fi
  rm -rf "$workdir"
}
# A docker-registry on a free loopback port, with its storage under the workdir.
reg_stop() {
  if [ -n "$reg_pid" ]; then
    kill "$reg_pid" 2>/dev/null || true
    wait "$reg_pid" 2>/dev/null || true
    reg_pid=""
  fi
}
reg_fresh() { # (re)starts the registry empty, so nothing can be skipped as already there
  local i
  reg_stop
  rm -rf "$workdir/registry"
  mkdir -p "$workdir/registry"
  [ -n "$reg_port" ] || reg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  printf 'version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: %s}\nhttp:\n  addr: 127.0.0.1:%s\n' \
    "$workdir/registry/data" "$reg_port" >"$workdir/registry/config.yml"
  docker-registry serve "$workdir/registry/config.yml" >"$workdir/registry/log" 2>&1 &
  reg_pid=$!
  for i in $(seq 1 100); do
    curl -sf "http://127.0.0.1:$reg_port/v2/" >/dev/null && return 0
    kill -0 "$reg_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$workdir/registry/log" >&2
  die "docker-registry did not come up on 127.0.0.1:$reg_port"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building modelcar-pack (release)"
(cd "$root" && cargo build --release -q -p modelcar-pack)
target=${CARGO_TARGET_DIR:-$root/target}
pack="$target/release/modelcar-pack"
[ -x "$pack" ] || die "$pack was not built"

# The base image as podman builds it, and as an OCI layout for olot.
log "building the base image and its OCI layout"
[ -x "$root/dist/amd64/modelcar-base" ] || "$root/scripts/build-sidecar.sh" >/dev/null
"$root/scripts/build-image.sh" --no-build --tag "$base_image" >/dev/null
skopeo copy --quiet "containers-storage:$base_image" "oci:$workdir/base-layout:base"

gen_model() { # DIR: files of random bytes + a config and a model card
  local dir=$1 per i
  mkdir -p "$dir/weights"
  per=$((size_mb / files))
  for i in $(seq 1 "$files"); do
    head -c "$((per << 20))" /dev/urandom >"$dir/weights/model-$i-of-$files.safetensors"
  done
  printf '{"model_type": "bench"}\n' >"$dir/config.json"
  printf '# Bench model\n\nRandom bytes.\n' >"$dir/README.md"
}

warm() { find "$1" -type f -exec cat {} + >/dev/null; }

bytes_of() { du -sb --apparent-size "$1" | cut -f1; }

rows=()
notes=()
# measure FS NAME MODEL CMD...: runs CMD $runs times under /usr/bin/time -v (after a sync and
# with the model in the page cache) and records the fastest run: this machine is shared.
measure() {
  local fs=$1 name=$2 model=$3 t i wall rss best="" best_rss="" bytes mbs
  shift 3
  for i in $(seq 1 "$runs"); do
    warm "$model"
    sync
    t=$(mktemp "$workdir/time.XXXXXX")
    /usr/bin/time -v -o "$t" "$@" >/dev/null 2>"$t.err" || { cat "$t.err" >&2; die "$name failed"; }
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$t")
    rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$t")
    rm -f "$t" "$t.err"
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$wall best_rss=$rss
    fi
    [ -z "$after_each" ] || eval "$after_each"
  done
  bytes=$(bytes_of "$model")
  mbs=$(awk -v b="$bytes" -v w="$best" 'BEGIN { printf "%.0f", (w > 0 ? b / 1e6 / w : 0) }')
  rows+=("$fs|$name|$best|$mbs|$best_rss")
  log "$fs: $name: best of $runs ${best}s, ${mbs} MB/s, ${best_rss} MiB peak RSS"
}

bench_fs() { # FS-LABEL DIR
  local fs=$1 dir=$2 model="$2/model"
  log "$fs: generating a ${size_mb} MiB model in $files files"
  gen_model "$model"
  after_each="rm -rf '$dir/cp-copy'"
  measure "$fs" "cp --reflink=never (limit)" "$model" cp -r --reflink=never "$model" "$dir/cp-copy"
  after_each=""
  # The hash limit: OpenSSL's SHA-256 uses SHA-NI; coreutils' sha256sum does not (shown too).
  # shellcheck disable=SC2016  # $1 is for the inner sh
  measure "$fs" "sha256 (openssl, limit)" "$model" sh -c 'find "$1" -type f -print0 | sort -z | xargs -0 openssl dgst -sha256' sh "$model"
  # shellcheck disable=SC2016
  measure "$fs" "sha256sum (coreutils)" "$model" sh -c 'find "$1" -type f -print0 | sort -z | xargs -0 sha256sum' sh "$model"
  after_each="rm -rf '$dir/pack-out'"
  measure "$fs" "modelcar-pack" "$model" "$pack" "$model" -o "oci:$dir/pack-out:bench" -q
  # Conversion: the same files as a ModelKit in a local layout (written untimed), to a
  # modelcar; against cp of the same bytes (above) and against unpacking its layers with tar
  # and packing the folder again.
  printf 'manifestVersion: 1.0.0\nmodel:\n  path: weights\n  parts:\n    - path: config.json\ndocs:\n  - path: README.md\n' >"$dir/Kitfile"
  "$pack" "$model" -f "$dir/Kitfile" --format modelkit -o "oci:$dir/kit:bench" -q >/dev/null
  local manifest
  manifest=$(awk -F'"digest":"' '{split($2, a, "\""); print a[1]; exit}' "$dir/kit/index.json")
  grep -o '"layers":\[.*\]' "$dir/kit/blobs/sha256/${manifest#sha256:}" | grep -o 'sha256:[0-9a-f]*' >"$dir/kit-layers"
  after_each="rm -rf '$dir/conv-out'"
  measure "$fs" "modelcar-pack oci:ModelKit (convert)" "$dir/kit" "$pack" "oci:$dir/kit:bench" -o "oci:$dir/conv-out:bench" -q
  notes+=("$fs, convert: $("$pack" "oci:$dir/kit:bench" -o "oci:$dir/conv-out:bench" 2>&1 >/dev/null | grep -o '[0-9]* model bytes, [0-9]* reflinked')")
  rm -rf "$dir/conv-out"
  after_each="rm -rf '$dir/unpacked' '$dir/conv-out'"
  # shellcheck disable=SC2016  # $1.. are for the inner sh
  measure "$fs" "  vs tar -x layers + modelcar-pack" "$dir/kit" sh -c 'mkdir "$1" && while read -r d; do tar -xf "$2/blobs/sha256/${d#sha256:}" -C "$1"; done <"$3" && exec "$4" "$1" -o "oci:$5:bench" -q' \
    sh "$dir/unpacked" "$dir/kit" "$dir/kit-layers" "$pack" "$dir/conv-out"
  after_each=""
  rm -rf "$dir/kit" "$dir/kit-layers" "$dir/Kitfile"
  # olot appends to a copy of the base layout, made again (untimed) for every run.
  after_each="rm -rf '$dir/olot-out'; cp -r '$workdir/base-layout' '$dir/olot-out'"
  cp -r "$workdir/base-layout" "$dir/olot-out"
  measure "$fs" "olot" "$model" "$olot" "$dir/olot-out" --root-dir "$model" -m "$model/README.md" \
    "$model/config.json" "$model"/weights/*
  after_each=""
  rm -rf "$dir/olot-out"
  if [ "$fs" = "ext4/overlay (ordinary)" ] && [ "$do_push" = 1 ]; then
    bench_push "$fs" "$dir" "$model"
  fi
  if [ "$fs" = "ext4/overlay (ordinary)" ] && [ "$do_podman" = 1 ]; then
    # podman build wants the model inside the build context; one run (it is slow).
    cp -r "$root/Containerfile-modelcar" "$dir/"
    local saved=$runs
    runs=1
    measure "$fs" "podman build" "$model" podman build -q --layers=false -f "$dir/Containerfile-modelcar" \
      --build-arg "BASE_IMAGE=$base_image" --build-arg MODEL_DIR=model -t "localhost/$tag/modelcar:latest" "$dir"
    measure "$fs" "  + skopeo copy to oci:" "$model" skopeo copy --quiet \
      "containers-storage:localhost/$tag/modelcar:latest" "oci:$dir/podman-out:bench"
    runs=$saved
    rm -rf "$dir/podman-out"
  fi
  rm -rf "$model"
}

# wall seconds of the last row named NAME
wall_of() {
  local r n w
  for r in "${rows[@]}"; do
    IFS='|' read -r _ n w _ _ <<<"$r"
    if [ "$n" = "$1" ]; then echo "$w"; fi
  done | tail -n 1
}

bench_push() { # FS DIR MODEL: one step (pack + upload) against pack, then skopeo copy
  local fs=$1 dir=$2 model=$3 pack_s sk bytes
  after_each="reg_fresh"
  reg_fresh
  local dest="127.0.0.1:$reg_port/bench/model:v1"
  measure "$fs" "modelcar-pack --push" "$model" "$pack" "$model" --push "$dest" --insecure -q
  # One upload at a time, as --push did before it uploaded side by side (-j also sets the
  # layers packed at once: 1 here, 2 by default on 2 cores).
  measure "$fs" "  modelcar-pack --push -j 1 (1 upload, 1 layer packed at a time)" "$model" "$pack" "$model" --push "$dest" --insecure -q -j 1
  "$pack" "$model" -o "oci:$dir/push-src:bench" -q >/dev/null
  measure "$fs" "  skopeo copy --all (gzips)" "$model" skopeo copy --quiet --all \
    --dest-tls-verify=false "oci:$dir/push-src:bench" "docker://$dest"
  measure "$fs" "  skopeo copy --all --preserve-digests" "$model" skopeo copy --quiet --all \
    --preserve-digests --dest-tls-verify=false "oci:$dir/push-src:bench" "docker://$dest"
  after_each=""
  reg_stop
  rm -rf "$dir/push-src" "$workdir/registry"
  # The two-step totals, for the comparison the issue asks for.
  pack_s=$(wall_of modelcar-pack)
  bytes=$(bytes_of "$model")
  for sk in "skopeo copy --all (gzips)" "skopeo copy --all --preserve-digests"; do
    awk -v p="$pack_s" -v s="$(wall_of "  $sk")" -v b="$bytes" -v n="modelcar-pack -o + $sk" -v f="$fs" \
      'BEGIN { w = p + s; printf "%s|%s|%.2f|%.0f|-\n", f, n, w, b / 1e6 / w }' >"$workdir/sum"
    rows+=("$(cat "$workdir/sum")")
  done
}

fstype=$(stat -f -c %T "$workdir")
bench_fs "ext4/overlay (ordinary)" "$workdir/plain"
if [ "$fstype" != ext2/ext3 ]; then log "note: $workdir is on $fstype"; fi

if [ "$do_xfs" = 1 ]; then
  mkdir -p "$mnt"
  truncate -s "$((size_mb * 4 + 2048))M" "$workdir/xfs.img"
  mkfs.xfs -q -m reflink=1 "$workdir/xfs.img"
  mount -o loop "$workdir/xfs.img" "$mnt"
  bench_fs "XFS reflink=1 (loop)" "$mnt"
  umount "$mnt"
  rm -f "$workdir/xfs.img"
fi

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
echo
echo "Model: ${size_mb} MiB in ${files} files + config.json + README.md; fastest of $runs runs (podman: 1); $(date -u +%Y-%m-%d), $(nproc) cores ($cpu), $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| filesystem | tool | wall s | MB/s | peak RSS MiB | vs olot |"
echo "|---|---|---:|---:|---:|---:|"
for r in "${rows[@]}"; do
  IFS='|' read -r fs name wall mbs rss <<<"$r"
  olot_wall=""
  for o in "${rows[@]}"; do
    IFS='|' read -r ofs oname owall _ _ <<<"$o"
    if [ "$ofs" = "$fs" ] && [ "$oname" = olot ]; then olot_wall=$owall; fi
  done
  # Pushes do more than olot does: no ratio for them.
  case "$name" in *push*|*"skopeo copy --all"*) olot_wall="" ;; esac
  ratio=$(awk -v o="$olot_wall" -v w="$wall" 'BEGIN { if (o == "" || w == 0) print "-"; else printf "%.1fx", o / w }')
  echo "| $fs | $name | $wall | $mbs | $rss | $ratio |"
done
if [ "${#notes[@]}" -gt 0 ]; then
  echo
  for n in "${notes[@]}"; do echo "- $n"; done
fi
