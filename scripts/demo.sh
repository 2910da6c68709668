#!/usr/bin/env bash
# The main command: build everything and serve the sample model through a KServe-shaped pod.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/demo.sh [--model DIR] [--skip-deps] [--keep]

On a fresh Debian 12 machine (as root): installs the dependencies, builds the static
sidecar binaries, the modelcar-base image and a modelcar holding the model, then runs the
Pod KServe makes for `storageUri: oci://...` with `podman kube play`. The serving container
(busybox from FROM scratch) reads the model through /mnt/models -> /proc/<pid>/root/models
and prints each file's sha256, which the demo checks against the files on the host. Then it
stops the pod and reports how long the shutdown took.

  --model DIR   the model folder to pack (default: sample-model)
  --skip-deps   do not run scripts/install-deps.sh
  --keep        leave the pod running (remove it with: podman kube down <printed yaml>)
  -h, --help    this help
USAGE
}

model="$MCB_ROOT/sample-model" skip_deps='' keep=''
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --model) model=${2:?--model needs a value}; shift 2 ;;
    --skip-deps) skip_deps=1; shift ;;
    --keep) keep=1; shift ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done
[ -d "$model" ] || die "model folder '$model' does not exist"
model=$(cd "$model" && pwd)

step() { printf '\n==> %s\n' "$*" >&2; }
now_ns() { date +%s%N; }
ms_since() { echo $(( ($(now_ns) - $1) / 1000000 )); }

if [ -z "$skip_deps" ]; then
  step "Installing dependencies (scripts/install-deps.sh)"
  "$MCB_ROOT/scripts/install-deps.sh"
fi
need_tool podman sha256sum sed busybox

step "Building the static sidecar for amd64, arm64, ppc64le, s390x (scripts/build-sidecar.sh)"
"$MCB_ROOT/scripts/build-sidecar.sh" >&2
ls -l "$MCB_ROOT"/dist/*/modelcar-base >&2

base=localhost/modelcar-base:demo
modelcar=localhost/modelcar-sample:demo
serving=localhost/modelcar-demo-server:latest
step "Building the base image $base (scripts/build-image.sh)"
"$MCB_ROOT/scripts/build-image.sh" --no-build --tag "$base" >/dev/null
step "Building the modelcar $modelcar from $model (scripts/build-modelcar.sh)"
"$MCB_ROOT/scripts/build-modelcar.sh" --model "$model" --base "$base" --tag "$modelcar" >/dev/null
for img in "$base" "$modelcar"; do
  echo "$img: $(podman image inspect --format '{{.Size}}' "$img") bytes unpacked" >&2
done

step "Building the stand-in model server (FROM scratch + busybox + serve.sh)"
ctx=$(mktemp -d)
workdir=$(mktemp -d)
pod=modelcar-demo-$$
yaml="$workdir/pod.yaml"
cleanup() {
  local rc=$?
  rm -rf "$ctx"
  if [ -z "$keep" ] || [ "$rc" -ne 0 ]; then
    podman kube down "$yaml" >/dev/null 2>&1 || true
    podman pod rm -f -t 0 "$pod" >/dev/null 2>&1 || true
    podman volume rm -f "$pod-kserve-provision-location" >/dev/null 2>&1 || true
    rm -rf "$workdir"
  fi
  return "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
cp "$(command -v busybox)" "$ctx/busybox"
cp "$MCB_ROOT/tests/system/serving/serve.sh" "$ctx/serve.sh"
podman build -q --layers=false --timestamp 0 -f "$MCB_ROOT/tests/system/serving/Containerfile" \
  -t "$serving" "$ctx" >/dev/null

# The Kubernetes Pod, adapted for podman 4.3 (see the template's header): Kubernetes' `$$` -> `$`,
# restartPolicy Never, and a per-pod emptyDir name.
sed -e "s|@POD_NAME@|$pod|g" -e "s|@MODELCAR_IMAGE@|$modelcar|g" -e "s|@SERVING_IMAGE@|$serving|g" \
    -e 's/\$\$/$/g' -e 's/restartPolicy: Always/restartPolicy: Never/' \
    -e "s/name: kserve-provision-location/name: $pod-kserve-provision-location/" \
    "$MCB_ROOT/tests/system/pods/kserve-modelcar.yaml" >"$yaml"

step "podman kube play $yaml"
grep -A3 -- '- sh' "$yaml" | grep -- 'ln -sf' >&2
for attempt in 1 2 3; do
  if out=$(podman kube play "$yaml" 2>&1); then break; fi
  # podman 4.3 now and then fails to remove a finished init container: retry only that.
  if [[ $out == *"as it is running"* ]] && [ "$attempt" -lt 3 ]; then
    podman kube down "$yaml" >/dev/null 2>&1 || true
    continue
  fi
  die "podman kube play failed: $out"
done

step "The serving container reads the model through /mnt/models"
deadline=$((SECONDS + 60))
logs=''
until [[ $logs == *MCB-OK* || $logs == *MCB-FAIL* ]]; do
  [ "$SECONDS" -lt "$deadline" ] || die "no answer from the serving container within 60 s: $logs"
  sleep 0.2
  logs=$(podman logs "$pod-kserve-container" 2>&1)
done
printf '%s\n' "$logs" >&2
[[ $logs != *MCB-FAIL* ]] || die "the serving container could not read the model"
expected=$(cd "$model" && find . -type f | LC_ALL=C sort | while IFS= read -r f; do sha256sum "$f"; done)
got=$(printf '%s\n' "$logs" | sed -n 's/^MCB-FILE //p')
if [ "$(LC_ALL=C sort <<<"$expected")" != "$(LC_ALL=C sort <<<"$got")" ]; then
  die "the served files differ from $model: expected
$expected
got
$got"
fi
echo "OK: $(wc -l <<<"$got") files served through $(sed -n 's/^MCB-LINK //p' <<<"$logs"), every sha256 matches $model" >&2

if [ -n "$keep" ]; then
  echo "The pod keeps running; remove it with: podman kube down $yaml" >&2
  exit 0
fi

step "Tearing down: SIGTERM to the modelcar sidecar, then podman kube down"
t0=$(now_ns)
podman stop -t 10 "$pod-modelcar" >/dev/null
stop_ms=$(ms_since "$t0")
read -r code finished < <(podman inspect --format '{{.State.ExitCode}} {{.State.FinishedAt.UnixNano}}' "$pod-modelcar")
own_ms=$(( (finished - t0) / 1000000 ))
t1=$(now_ns)
podman kube down "$yaml" >/dev/null
down_ms=$(ms_since "$t1")
echo "Shutdown: the sidecar exited with status $code, ${own_ms} ms after \`podman stop\` began (${stop_ms} ms until podman returned); podman kube down of the rest took ${down_ms} ms" >&2
[ "$code" = 0 ] || die "the sidecar did not exit 0 on SIGTERM (status $code)"
