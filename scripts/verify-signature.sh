#!/usr/bin/env bash
# Verifies the cosign (keyless, Sigstore) signature of a published image.
set -euo pipefail
# shellcheck source=lib/common.sh source-path=SCRIPTDIR
source "$(dirname "$0")/lib/common.sh"

usage() {
  cat <<'USAGE'
Usage: scripts/verify-signature.sh [OPTIONS] IMAGE

Checks IMAGE's keyless cosign signature: who signed it (the certificate identity, e.g.
the release workflow) and who vouched for that identity (the OIDC issuer).

  --certificate-identity ID          exact signer identity, e.g.
      https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/heads/main
  --certificate-identity-regexp RE   or a regular expression for it
  --certificate-oidc-issuer URL      default: https://token.actions.githubusercontent.com
  -h, --help                         this help

Needs cosign (https://github.com/sigstore/cosign) in PATH and network access to the
registry and to Sigstore (Rekor, Fulcio roots).
USAGE
}

identity='' identity_re='' issuer=https://token.actions.githubusercontent.com image=''
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --certificate-identity) identity=${2:?--certificate-identity needs a value}; shift 2 ;;
    --certificate-identity-regexp) identity_re=${2:?--certificate-identity-regexp needs a value}; shift 2 ;;
    --certificate-oidc-issuer) issuer=${2:?--certificate-oidc-issuer needs a value}; shift 2 ;;
    -*) usage_error "unknown option '$1'" ;;
    *) [ -z "$image" ] || usage_error "only one IMAGE"; image=$1; shift ;;
  esac
done
[ -n "$image" ] || usage_error "IMAGE is required"
[ -n "$identity$identity_re" ] || usage_error "--certificate-identity or --certificate-identity-regexp is required (verifying without an identity proves nothing)"
[ -z "$identity" ] || [ -z "$identity_re" ] || usage_error "give --certificate-identity or --certificate-identity-regexp, not both"
command -v cosign >/dev/null 2>&1 ||
  die "cosign not found in PATH: install it from https://github.com/sigstore/cosign/releases (it is not packaged for Debian 12)"

id_args=()
if [ -n "$identity" ]; then id_args=(--certificate-identity "$identity"); else id_args=(--certificate-identity-regexp "$identity_re"); fi
log "cosign verify $image (issuer $issuer)"
cosign verify "${id_args[@]}" --certificate-oidc-issuer "$issuer" "$image"
