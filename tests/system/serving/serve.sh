#!/bin/busybox sh
# shellcheck shell=dash
# A stand-in model server (run by busybox sh in a FROM-scratch image): waits for the model
# at $MODEL_PATH like a server in MODEL_INIT_MODE=async does, then prints one line per file:
#   MCB-WAITED <50 ms steps>   MCB-LINK <link target>   MCB-FILE <sha256>  ./<path>   MCB-OK   or   MCB-FAIL <why>
# `serve.sh --once` reads and exits (for podman exec); otherwise it then waits for SIGTERM.
m=${MODEL_PATH:-/mnt/models}
trap 'exit 0' TERM INT

wait_for_model() {
  n=0
  while :; do
    if out=$(ls -A "$m/" 2>&1); then
      [ -n "$out" ] && return 0
    else
      # Permission denied does not heal by waiting: report it at once.
      case "$out" in *"ermission denied"*) echo "MCB-FAIL $out"; exit 1 ;; esac
    fi
    n=$((n + 1))
    if [ "$n" -ge "${WAIT_STEPS:-400}" ]; then echo "MCB-FAIL timed out waiting for $m: $out"; exit 1; fi
    sleep 0.05
  done
}

read_model() {
  if [ -L "$m" ]; then echo "MCB-LINK $(readlink "$m")"; else echo "MCB-LINK none"; fi
  cd "$m/" || { echo "MCB-FAIL cannot enter $m"; exit 1; }
  # One pipeline, so names with spaces or glob characters stay intact.
  find . -type f | sort | while IFS= read -r f; do
    sum=$(sha256sum "$f" 2>&1) || { echo "MCB-FAIL cannot read $f: $sum"; exit 1; }
    echo "MCB-FILE $sum"
  done || exit 1
  echo "MCB-OK"
}

wait_for_model
echo "MCB-WAITED $n"
read_model
[ "${1:-}" = --once ] && exit 0
# Wait for SIGTERM; take the background sleep along so the container empties at once.
sleep 2147483647 &
trap 'kill $! 2>/dev/null; exit 0' TERM INT
wait
