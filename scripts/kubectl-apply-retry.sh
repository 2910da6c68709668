#!/usr/bin/env bash
# Runs `kubectl apply ARGS...` and retries while the cluster is still settling:
# CRDs not yet served ("no matches for kind"), admission webhooks without endpoints
# or certificates yet, the API server briefly away. Any other error (a bad manifest,
# a denied request) fails at once: retrying cannot fix it.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/kubectl-apply-retry.sh [--attempts N] [--delay SECONDS] [--] KUBECTL_APPLY_ARGS...

Example: scripts/kubectl-apply-retry.sh --attempts 20 --delay 3 -- -f isvc-examples/sklearn-oci.yaml

Runs `kubectl apply KUBECTL_APPLY_ARGS...` up to N times (default 10), waiting
SECONDS between tries (default 5), but only while the error is one that a
settling cluster gives (CRD not yet known, webhook not ready, API server away).
Exit status: 0 on success, kubectl's status on a permanent error, 1 when the
attempts run out.
USAGE
}

die() { echo "kubectl-apply-retry.sh: $*" >&2; exit 2; }

attempts=10 delay=5
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --attempts) [ $# -ge 2 ] || die "--attempts needs a value"; attempts=$2; shift 2 ;;
    --delay) [ $# -ge 2 ] || die "--delay needs a value"; delay=$2; shift 2 ;;
    --) shift; break ;;
    *) break ;;
  esac
done
if ! [[ "$attempts" =~ ^[0-9]{1,4}$ ]] || [ "$attempts" -lt 1 ] || [ "$attempts" -gt 1000 ]; then
  die "--attempts must be an integer from 1 to 1000, got '$attempts'"
fi
[[ "$delay" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--delay must be a number of seconds, got '$delay'"
[ $# -gt 0 ] || die "nothing to apply: give kubectl apply arguments, e.g. -f FILE (see --help)"
command -v kubectl >/dev/null || die "kubectl not found"

# Messages of a cluster that is still coming up (CRDs registering, webhook pods or
# their cert-manager certificates not ready, API server restarting).
transient='no matches for kind|ensure CRDs are installed first|the server could not find the requested resource|failed calling webhook|no endpoints available for service|connection refused|i/o timeout|context deadline exceeded|TLS handshake timeout|x509: certificate signed by unknown authority|the server is currently unable to handle the request|ServiceUnavailable|etcdserver: request timed out'

err=$(mktemp)
trap 'rm -f "$err"' EXIT
for ((i = 1; i <= attempts; i++)); do
  status=0
  kubectl apply "$@" 2>"$err" || status=$?
  if [ "$status" = 0 ]; then
    exit 0
  fi
  cat "$err" >&2
  if ! grep -Eq "$transient" "$err"; then
    echo "kubectl-apply-retry.sh: kubectl apply failed with a permanent error (status $status); not retrying" >&2
    exit "$status"
  fi
  if [ "$i" -lt "$attempts" ]; then
    echo "kubectl-apply-retry.sh: attempt $i/$attempts failed while the cluster settles; retrying in ${delay}s" >&2
    sleep "$delay"
  fi
done
echo "kubectl-apply-retry.sh: giving up after $attempts attempts" >&2
exit 1
