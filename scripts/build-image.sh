#!/usr/bin/env bash
# Builds the modelcar-base image (one platform) or its multi-arch manifest list, reproducibly;
# with --variant unpack, the modelcar-unpack init image (Containerfile-unpack) the same way.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/build-image.sh [OPTIONS]

Builds the modelcar-base image from Containerfile with podman.

  --platform LIST   comma-separated linux/amd64, linux/arm64, linux/ppc64le, linux/s390x,
                    or 'all'. Default: the host's platform (with --manifest: all).
  --tag NAME        name of a single-platform image (default: localhost/modelcar-base:latest)
  --manifest NAME   build every platform into the manifest list NAME (an existing list of
                    that name is replaced; a failed build leaves no list behind). The
                    per-platform images are tagged NAME-<arch> (NAME:latest-<arch>).
  --dist DIR        take the binaries from DIR/<arch>/rootfs (default: dist), built first
                    by scripts/build-sidecar.sh unless --no-build
  --no-build        do not run scripts/build-sidecar.sh; DIR must already hold the binaries
  --from-source     compile in the Containerfile's builder stage instead (pulls the Rust image)
  --timestamp N     creation time and file mtimes, in epoch seconds
                    (default: $SOURCE_DATE_EPOCH, else the last commit's time)
  --version V       org.opencontainers.image.version label (default: Cargo.toml's version)
  --revision R      org.opencontainers.image.revision label (default: git HEAD)
  --user UID        the image's USER (default 0; see README.md, "The base image" for the UID rule;
                    unpack: 65532:65532)
  --variant V       base (Containerfile, the default) or unpack (Containerfile-unpack: the
                    static modelcar-pack init image; binaries from scripts/build-unpack.sh,
                    --dist default dist-unpack, --tag default localhost/modelcar-unpack:latest)
  -h, --help        this help

Prints the image ID (single platform) or the manifest list's name (--manifest).
USAGE
}

platform_spec='' tag=localhost/modelcar-base:latest manifest='' dist="$MCB_ROOT/dist"
build_sidecar=1 from_source='' timestamp='' version='' revision='' user='' variant=base
dist_given='' tag_given=''
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --platform) platform_spec=${2:?--platform needs a value}; shift 2 ;;
    --tag) tag=${2:?--tag needs a value}; tag_given=1; shift 2 ;;
    --manifest) manifest=${2:?--manifest needs a value}; shift 2 ;;
    --dist) dist=${2:?--dist needs a value}; dist_given=1; shift 2 ;;
    --no-build) build_sidecar=; shift ;;
    --from-source) from_source=1; shift ;;
    --timestamp) timestamp=${2:?--timestamp needs a value}; shift 2 ;;
    --version) version=${2:?--version needs a value}; shift 2 ;;
    --revision) revision=${2:?--revision needs a value}; shift 2 ;;
    --user) user=${2:?--user needs a value}; shift 2 ;;
    --variant) variant=${2:?--variant needs a value}; shift 2 ;;
    *) usage_error "unknown argument '$1'" ;;
  esac
done

need_tool podman od git
# What differs between the two images: Containerfile, binaries, default name and user.
case "$variant" in
  base) containerfile=Containerfile builder_script=build-sidecar.sh bin_path=bin/sh user_arg=MODELCAR_USER
    [ -n "$user" ] || user=0 ;;
  unpack) containerfile=Containerfile-unpack builder_script=build-unpack.sh bin_path=modelcar-pack
    user_arg=UNPACK_USER
    [ -n "$user" ] || user=65532:65532
    [ -n "$dist_given" ] || dist="$MCB_ROOT/dist-unpack"
    [ -n "$tag_given" ] || tag=localhost/modelcar-unpack:latest ;;
  *) usage_error "--variant must be base or unpack, got '$variant'" ;;
esac
if [ -z "$platform_spec" ]; then
  if [ -n "$manifest" ]; then platform_spec=all; else platform_spec=linux/$(host_arch); fi
fi
parse_platforms "$platform_spec"
arches=("${MCB_PLATFORM_ARCHES[@]}")
[ -n "$manifest" ] || [ "${#arches[@]}" = 1 ] || usage_error "several platforms need --manifest NAME"
[[ $user =~ ^[0-9]+(:[0-9]+)?$ ]] || usage_error "--user must be a numeric UID[:GID], got '$user'"
[ -n "$timestamp" ] || timestamp=$(source_date_epoch)
[[ $timestamp =~ ^[0-9]+$ ]] || usage_error "--timestamp must be epoch seconds, got '$timestamp'"
[ -n "$version" ] || version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$MCB_ROOT/Cargo.toml" | head -1)
[ -n "$revision" ] || revision=$(git -C "$MCB_ROOT" rev-parse HEAD 2>/dev/null || echo unknown)
created=$(date -u -d "@$timestamp" +%Y-%m-%dT%H:%M:%SZ)

# No layer cache: buildah 1.28 reuses a cached step even when a build arg changed.
build_args=(
  --layers=false --no-cache --timestamp "$timestamp"
  --build-arg "VERSION=$version" --build-arg "REVISION=$revision"
  --build-arg "CREATED=$created" --build-arg "$user_arg=$user"
  -f "$MCB_ROOT/$containerfile"
)

if [ -z "$from_source" ]; then
  if [ -n "$build_sidecar" ]; then
    [ -x "$MCB_ROOT/scripts/$builder_script" ] || die "scripts/$builder_script not found"
    sidecar_args=()
    for a in "${arches[@]}"; do sidecar_args+=(--arch "$a"); done
    if [ "$variant" = unpack ]; then
      # modelcar-pack embeds all four sidecars, whatever platforms this image has.
      log "building the sidecar binaries modelcar-pack embeds"
      "$MCB_ROOT/scripts/build-sidecar.sh" >&2
    fi
    log "building the $variant binaries: ${arches[*]}"
    "$MCB_ROOT/scripts/$builder_script" "${sidecar_args[@]}" --out "$dist" >&2
  fi
  dist=$(cd "$dist" 2>/dev/null && pwd) || die "binaries folder '$dist' does not exist (run scripts/build-sidecar.sh)"
  # Refuse a binary of the wrong architecture: a published base image once shipped
  # its x86-64 binary as the arm64 variant.
  for a in "${arches[@]}"; do
    bin="$dist/$a/rootfs/$bin_path"
    [ -f "$bin" ] || die "missing $bin (run scripts/$builder_script --arch $a)"
    got=$(elf_machine "$bin") want=$(arch_elf_machine "$a")
    [ "$got" = "$want" ] || die "$bin is not a $a binary (ELF machine $got, want $want)"
  done
  build_args+=(--build-context "builder=$dist")
fi

platforms=$(printf 'linux/%s,' "${arches[@]}")
platforms=${platforms%,}

if [ -z "$manifest" ]; then
  log "podman build --platform $platforms -t $tag"
  podman build -q --platform "$platforms" "${build_args[@]}" -t "$tag" "$MCB_ROOT" >/dev/null
  podman image inspect --format '{{.Id}}' "$tag"
  exit 0
fi

install_manifest_cleanup
build_manifest_list "$manifest" "$MCB_ROOT" "${arches[*]}" "${build_args[@]}"
MCB_CLEANUP_MANIFEST=$manifest
count=$(podman manifest inspect "$manifest" | grep -c '"architecture"')
[ "$count" = "${#arches[@]}" ] || die "manifest list $manifest has $count platforms, expected ${#arches[@]}"
MCB_CLEANUP_MANIFEST=
echo "$manifest"
