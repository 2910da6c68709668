#!/usr/bin/env bash
# Builds a modelcar (model files under /models on top of modelcar-base) from Containerfile-modelcar.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/build-modelcar.sh --model DIR [OPTIONS]

Builds a modelcar image with podman: FROM the base image, the files of DIR under /models.

  --model DIR       folder holding the model files (required; must exist and not be empty)
  --base IMAGE      base image or manifest list (default: localhost/modelcar-base:latest)
  --tag NAME        name of a single-platform modelcar (default: localhost/modelcar:latest)
  --manifest NAME   build every platform into the manifest list NAME (replaced if it exists;
                    a failed build leaves none behind); --base must then be a manifest list
  --platform LIST   comma-separated linux/<arch> or 'all' (default: host; with --manifest: all)
  --timestamp N     creation time and file mtimes in epoch seconds (default: $SOURCE_DATE_EPOCH,
                    else the last commit's time)
  -h, --help        this help

Files must be world-readable: the serving container reads them through /proc/<pid>/root
under its own UID.
USAGE
}

model='' base=localhost/modelcar-base:latest tag=localhost/modelcar:latest manifest=''
platform_spec='' timestamp=''
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --model) model=${2:?--model needs a value}; shift 2 ;;
    --base) base=${2:?--base needs a value}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; shift 2 ;;
    --manifest) manifest=${2:?--manifest needs a value}; shift 2 ;;
    --platform) platform_spec=${2:?--platform needs a value}; shift 2 ;;
    --timestamp) timestamp=${2:?--timestamp needs a value}; shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

need_tool podman find
[ -n "$model" ] || usage_error "--model DIR is required"
[ -e "$model" ] || die "model folder '$model' does not exist"
[ -d "$model" ] || die "model path '$model' is not a folder"
[ -n "$(find "$model" -mindepth 1 -print -quit)" ] ||
  die "model folder '$model' is empty (KServe's modelcar-init check would refuse the image)"
unreadable=$(find "$model" -type f ! -perm -o=r -print -quit)
[ -z "$unreadable" ] || log "warning: '$unreadable' is not world-readable; a non-root serving container cannot read it"
model=$(cd "$model" && pwd)

if [ -z "$platform_spec" ]; then
  if [ -n "$manifest" ]; then platform_spec=all; else platform_spec=linux/$(host_arch); fi
fi
parse_platforms "$platform_spec"
arches=("${MCB_PLATFORM_ARCHES[@]}")
[ -n "$manifest" ] || [ "${#arches[@]}" = 1 ] || usage_error "several platforms need --manifest NAME"
[ -n "$timestamp" ] || timestamp=$(source_date_epoch)
[[ $timestamp =~ ^[0-9]+$ ]] || usage_error "--timestamp must be epoch seconds, got '$timestamp'"
podman image exists "$base" || die "base image '$base' not found in local storage (build it with scripts/build-image.sh, or podman pull it)"

# The model folder is the whole build context, so nothing else of the caller's tree is sent.
build_args=(
  --layers=false --no-cache --timestamp "$timestamp"
  --build-arg "BASE_IMAGE=$base" --build-arg MODEL_DIR=.
  -f "$MCB_ROOT/Containerfile-modelcar"
)

if [ -z "$manifest" ]; then
  log "podman build --platform linux/${arches[0]} -t $tag (model: $model)"
  podman build -q --platform "linux/${arches[0]}" "${build_args[@]}" -t "$tag" "$model" >/dev/null
  podman image inspect --format '{{.Id}}' "$tag"
  exit 0
fi

require_list_platforms "$base" "${arches[@]}"
install_manifest_cleanup
build_manifest_list "$manifest" "$model" "${arches[*]}" "${build_args[@]}"
echo "$manifest"
