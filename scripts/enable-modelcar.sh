#!/usr/bin/env bash
# Turns KServe modelcars on: sets enableModelcar=true (and optionally uidModelcar,
# ociModelMode) inside the storageInitializer JSON of the inferenceservice-config
# ConfigMap, leaving every other key and every other data entry as it was.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: scripts/enable-modelcar.sh [OPTIONS]

Patch KServe's inferenceservice-config ConfigMap so that storageUri: oci://...
runs the model image as a modelcar sidecar.

Options:
  -n, --namespace NS   namespace of the ConfigMap (default: kserve)
  --uid N              also set uidModelcar=N (the UID of the modelcar sidecar AND
                       the serving container; both must match to read the model)
  --no-uid             remove uidModelcar (containers keep their image's user)
                       (default: leave uidModelcar as it is)
  --mode MODE          also set enableOciModelSupport=true and ociModelMode=MODE
                       (modelcar | native | fetch; KServe releases with all three modes)
  --from-file FILE     read the ConfigMap from FILE (JSON, or YAML when python3 with
                       PyYAML or yq is available) instead of the cluster; implies --dry-run
  --dry-run            print the patched ConfigMap as JSON; change nothing
  --context CTX        kubectl context to use
  -h, --help           show this help

Without --dry-run/--from-file it needs kubectl and jq, reads the ConfigMap,
and changes only data.storageInitializer with `kubectl patch --type merge`.
A cluster without the ConfigMap (KServe not installed) is refused; nothing changes.
The KServe controller reads the ConfigMap when it mutates new pods: existing
InferenceService pods keep their old spec until they are recreated.
USAGE
}

die() { echo "enable-modelcar.sh: $*" >&2; exit 1; }

ns=kserve uid="" drop_uid=0 mode="" from_file="" dry_run=0 context=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    -n|--namespace) [ $# -ge 2 ] || die "$1 needs a value"; ns=$2; shift 2 ;;
    --uid) [ $# -ge 2 ] || die "--uid needs a value"; uid=$2; shift 2 ;;
    --no-uid) drop_uid=1; shift ;;
    --mode) [ $# -ge 2 ] || die "--mode needs a value"; mode=$2; shift 2 ;;
    --from-file) [ $# -ge 2 ] || die "--from-file needs a value"; from_file=$2; dry_run=1; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    --context) [ $# -ge 2 ] || die "--context needs a value"; context=$2; shift 2 ;;
    *) echo "enable-modelcar.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

if [ -n "$uid" ]; then
  if ! [[ "$uid" =~ ^[0-9]{1,10}$ ]] || [ "$uid" -gt 2147483647 ]; then
    die "--uid must be a non-negative integer UID, got '$uid'"
  fi
  [ "$drop_uid" = 0 ] || die "--uid and --no-uid exclude each other"
fi
case "$mode" in ""|modelcar|native|fetch) ;; *) die "--mode must be modelcar, native or fetch, got '$mode'" ;; esac
command -v jq >/dev/null || die "jq not found (apt-get install jq)"

kube() {
  if [ -n "$context" ]; then kubectl --context "$context" "$@"; else kubectl "$@"; fi
}

# Prints the ConfigMap as JSON on stdout.
read_configmap() {
  if [ -n "$from_file" ]; then
    [ -r "$from_file" ] || die "cannot read '$from_file'"
    if jq -e . "$from_file" >/dev/null 2>&1; then
      cat "$from_file"
    elif python3 -c 'import yaml' 2>/dev/null; then
      python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' "$from_file" \
        || die "'$from_file' is neither JSON nor YAML"
    elif command -v yq >/dev/null; then
      yq . "$from_file" || die "'$from_file' is neither JSON nor YAML"
    else
      die "'$from_file' is not JSON, and neither python3 with PyYAML nor yq is there to read YAML"
    fi
    return
  fi
  command -v kubectl >/dev/null || die "kubectl not found (or use --from-file FILE)"
  local out err
  err=$(mktemp)
  if ! out=$(kube get configmap inferenceservice-config -n "$ns" -o json 2>"$err"); then
    if grep -q 'NotFound' "$err"; then
      rm -f "$err"
      die "ConfigMap inferenceservice-config not found in namespace '$ns': is KServe installed there (try --namespace)? Nothing was changed."
    fi
    cat "$err" >&2; rm -f "$err"
    die "could not read ConfigMap inferenceservice-config in namespace '$ns' (see kubectl's error above). Nothing was changed."
  fi
  rm -f "$err"
  printf '%s\n' "$out"
}

cm=$(read_configmap)
jq -e 'type == "object"' <<<"$cm" >/dev/null 2>&1 || die "the input is not a Kubernetes object. Nothing was changed."
kind=$(jq -r '.kind // ""' <<<"$cm")
name=$(jq -r '.metadata.name // ""' <<<"$cm")
if [ "$kind" != ConfigMap ] || [ "$name" != inferenceservice-config ]; then
  die "expected ConfigMap inferenceservice-config, got kind '$kind' name '$name'. Nothing was changed."
fi
jq -e '.data.storageInitializer | type == "string"' <<<"$cm" >/dev/null \
  || die "ConfigMap inferenceservice-config has no data.storageInitializer. Nothing was changed."
jq -e '.data.storageInitializer | fromjson | type == "object"' <<<"$cm" >/dev/null 2>&1 \
  || die "data.storageInitializer is not a JSON object; fix it by hand first. Nothing was changed."

# The new storageInitializer value: same JSON with only our keys changed.
new_si=$(jq -c --arg uid "$uid" --argjson drop "$drop_uid" --arg mode "$mode" '
  .data.storageInitializer | fromjson
  | .enableModelcar = true
  | if $uid != "" then .uidModelcar = ($uid | tonumber) else . end
  | if $drop == 1 then del(.uidModelcar) else . end
  | if $mode != "" then .enableOciModelSupport = true | .ociModelMode = $mode else . end
' <<<"$cm")

if [ "$dry_run" = 1 ]; then
  jq --arg si "$new_si" '.data.storageInitializer = $si' <<<"$cm"
  exit 0
fi

patch=$(jq -cn --arg si "$new_si" '{data: {storageInitializer: $si}}')
kube patch configmap inferenceservice-config -n "$ns" --type merge -p "$patch" >/dev/null \
  || die "kubectl patch failed (see above)"
echo "enable-modelcar.sh: storageInitializer in $ns/inferenceservice-config is now: $new_si" >&2
