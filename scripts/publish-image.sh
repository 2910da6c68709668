#!/usr/bin/env bash
# Pushes a local manifest list (every platform image in it) to a registry.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/publish-image.sh [OPTIONS] MANIFEST DESTINATION

Pushes the local manifest list MANIFEST and all its images to DESTINATION
(registry/repository:tag) with `podman manifest push --all`, as an OCI image index.

  --insecure          plain HTTP / no TLS verification (a local test registry)
  --creds USER:PASS   registry credentials (default: podman's auth file)
  --format oci|v2s2   manifest format (default: oci)
  --digestfile FILE   write the pushed index digest to FILE
  -h, --help          this help

Prints the pushed reference with its digest: DESTINATION@sha256:...
USAGE
}

tls=true creds='' format=oci digestfile=''
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --insecure) tls=false; shift ;;
    --creds) creds=${2:?--creds needs a value}; shift 2 ;;
    --format) format=${2:?--format needs a value}; shift 2 ;;
    --digestfile) digestfile=${2:?--digestfile needs a value}; shift 2 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) args+=("$1"); shift ;;
  esac
done
[ "${#args[@]}" = 2 ] || usage_error "expected MANIFEST and DESTINATION"
manifest=${args[0]} dest=${args[1]}
case "$format" in oci|v2s2) ;; *) usage_error "--format must be oci or v2s2, got '$format'" ;; esac
case "$dest" in docker://*) dest=${dest#docker://} ;; esac

need_tool podman timeout
podman manifest exists "$manifest" || die "'$manifest' is not a local manifest list (build one with scripts/build-image.sh --manifest)"
check_registry_reachable "$dest"

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
push_args=(--all --format "$format" --tls-verify="$tls" --digestfile "$tmp")
[ -z "$creds" ] || push_args+=(--creds "$creds")
log "podman manifest push --all $manifest $dest"
podman manifest push -q "${push_args[@]}" "$manifest" "docker://$dest" >&2
digest=$(cat "$tmp")
[[ $digest == sha256:* ]] || die "push gave no digest"
[ -z "$digestfile" ] || printf '%s\n' "$digest" >"$digestfile"
echo "${dest%%@*}@$digest"
