#!/bin/sh
# The checks that need a whole machine (run by /init as root, busybox sh): KServe's sidecar
# scripts in a container-like root, SIGTERM as PID 1 and not, the capability drop, the model
# read through /proc/<pid>/root by a capless root and by a second UID. Each prints
# "MCBK PASS name" or "MCBK FAIL name: why"; tests/kernels/test_kernels.py wants every name.

MODEL='weights of the kernel test'
# The sidecar's image filesystem (/sc/bin/sh and its applets), with a model in it, as a
# modelcar; /sc/mnt plays the emptyDir shared with the server.
printf '%s\n' "$MODEL" >/sc/models/model.bin
# The same model at / too, for a sidecar that runs there (the second-UID check).
mkdir -p /models && cp /sc/models/model.bin /models/model.bin

pass() { echo "MCBK PASS $1"; }
fail() { echo "MCBK FAIL $1: $2"; }
verdict() { if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2"; fi; }

# Waits up to 10 s for LINK to read TARGET.
wait_link() {
  n=0
  while [ "$(readlink "$1" 2>/dev/null)" != "$2" ]; do
    n=$((n + 1))
    [ $n -le 500 ] || return 1
    usleep 20000
  done
  # Let it reach its sleep.
  usleep 100000
}

# True once PID has exited (gone, or a zombie waiting for our `wait`).
exited() {
  [ ! -e "/proc/$1/stat" ] || [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" = Z ]
}

# Sends SIGTERM to SIG_PID and waits up to 5 s for WAIT_PID (the same, or unshare above it) to
# exit (NAME for the log): sets st to its exit status, or says it still runs (and kills it). Not in a $(...): only
# this shell can wait for its children.
term_and_wait() {
  kill -TERM "$1"
  n=0
  while ! exited "$2"; do
    n=$((n + 1))
    if [ $n -gt 250 ]; then
      st="still running after 5 s"
      kill -KILL "$1" "$2"
      wait "$2"
      return
    fi
    usleep 20000
  done
  wait "$2"
  st=$?
  echo "MCBK INFO $3 exited after $n polls of 20 ms"
}

field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"; }

# The capability sets and no_new_privs of a sleeping root sidecar (src/caps.rs's promise).
check_caps() {
  why=""
  for f in CapInh CapPrm CapEff CapBnd CapAmb; do
    v=$(field "$1" $f)
    echo "MCBK INFO $2 sidecar $f $v"
    [ "$v" = 0000000000000000 ] || why="$why $f=$v"
  done
  [ "$(field "$1" NoNewPrivs)" = 1 ] || why="$why NoNewPrivs=$(field "$1" NoNewPrivs)"
  verdict "$2-caps-dropped" "$why"
}

# One KServe sidecar script, chrooted in /sc as a container would be, as root: the link names
# the sidecar's own /proc/<pid>/root, the model reads through it from outside, the capabilities
# are gone, SIGTERM ends it with status 0.
sidecar() {
  name=$1 script=$2 link=$3
  rm -rf /sc/mnt && mkdir /sc/mnt
  chroot /sc /bin/sh -c "$script" >/tmp/sidecar.out 2>/tmp/sidecar.err &
  pid=$!
  if ! wait_link "/sc$link" "/proc/$pid/root/models"; then
    fail "$name-link" "no link /sc$link -> /proc/$pid/root/models (it is '$(readlink "/sc$link")'; stderr: $(cat /tmp/sidecar.err))"
    kill -KILL $pid; wait $pid
    return
  fi
  pass "$name-link"
  got=$(cat "/sc$link/model.bin" 2>&1)
  verdict "$name-model-read" "$([ "$got" = "$MODEL" ] || echo "read '$got'")"
  check_caps $pid "$name"
  term_and_wait $pid $pid "$name"
  verdict "$name-sigterm-exit-0" "$([ "$st" = 0 ] || echo "status $st")"
  verdict "$name-quiet" "$([ -s /tmp/sidecar.out ] || [ -s /tmp/sidecar.err ] && echo "stdout '$(cat /tmp/sidecar.out)' stderr '$(cat /tmp/sidecar.err)'")"
}

# The scripts of tests/kserve_scripts.rs, as Kubernetes hands them to the shell ($$ -> $).
# shellcheck disable=SC2016 # $$ is the sidecar's to expand
{
  sidecar kserve-v0.12 'ln -s /proc/$$/root/models /mnt/models && sleep infinity' /mnt/models
  sidecar kserve-v0.15 'ln -sf /proc/$$/root/models /mnt/models && sleep infinity' /mnt/models
  sidecar kserve-mkdir 'mkdir -p /mnt/models && ln -sf /proc/$$/root/models /mnt/models/base && sleep infinity' /mnt/models/base
  sidecar kserve-space "mkdir -p '/mnt/my models' && ln -sf /proc/\$\$/root/models '/mnt/my models/base' && sleep infinity" '/mnt/my models/base'
}

# The bounding set of a process that did not drop it: the check above can tell.
verdict control-init-keeps-caps "$([ "$(field $$ CapBnd)" != 0000000000000000 ] || echo "this shell has CapBnd 0")"

# A restart: `ln -sf` replaces the old sidecar's link, `ln -s` fails on it like busybox.
# shellcheck disable=SC2016
{
  rm -rf /sc/mnt && mkdir /sc/mnt && ln -s /proc/999999/root/models /sc/mnt/models
  chroot /sc /bin/sh -c 'ln -sf /proc/$$/root/models /mnt/models && sleep infinity' 2>/tmp/sidecar.err &
  pid=$!
  if wait_link /sc/mnt/models "/proc/$pid/root/models"; then pass restart-replaces-link; else fail restart-replaces-link "$(readlink /sc/mnt/models)"; fi
  kill -TERM $pid; wait $pid
  rm -f /sc/mnt/models && ln -s /proc/999999/root/models /sc/mnt/models
  chroot /sc /bin/sh -c 'ln -s /proc/$$/root/models /mnt/models && sleep infinity' >/tmp/sidecar.out 2>/tmp/sidecar.err
  st=$?
  verdict restart-ln-s-fails "$([ $st = 1 ] && [ "$(cat /tmp/sidecar.err)" = "ln: /mnt/models: File exists" ] && [ "$(readlink /sc/mnt/models)" = /proc/999999/root/models ] || echo "status $st, stderr '$(cat /tmp/sidecar.err)', link $(readlink /sc/mnt/models)")"
}

# As PID 1 of a new pid namespace the kernel gives SIGTERM no default action: only a handler
# ends the process. $$ is then 1, which the link shows.
# shellcheck disable=SC2016
{
  rm -rf /sc/mnt && mkdir /sc/mnt
  unshare -p -f chroot /sc /bin/sh -c 'ln -sf /proc/$$/root/models /mnt/models && sleep infinity' &
  upid=$!
  if wait_link /sc/mnt/models /proc/1/root/models; then
    pass pid1-link
    read -r child _ </proc/$upid/task/$upid/children
    nspid=$(field "$child" NSpid | tr -s '\t ' ' ')
    verdict pid1-is-pid-1 "$([ "$nspid" = "$child 1" ] || echo "NSpid '$nspid'")"
    check_caps "$child" pid1
    term_and_wait "$child" $upid pid1
    verdict pid1-sigterm-exit-0 "$([ "$st" = 0 ] || echo "status $st")"
  else
    fail pid1-link "$(readlink /sc/mnt/models)"
    kill -KILL $upid; wait $upid
  fi
}

# The contrast: busybox's sleep as PID 1 has no handler, and SIGTERM does nothing.
unshare -p -f sleep 1000 &
upid=$!
usleep 300000
read -r child _ </proc/$upid/task/$upid/children
kill -TERM "$child"
usleep 1000000
verdict control-busybox-pid1-ignores-sigterm "$(exited $upid && echo "busybox sleep exited")"
kill -KILL "$child" 2>/dev/null
wait $upid

# A serving container running as root with `capabilities: drop: [ALL]` reads the model through
# /proc/<pid>/root: here the reader is our sidecar itself, as root, after its `sleep 0` dropped
# every capability (ls and test: openat, getdents64, statx through the link).
# shellcheck disable=SC2016
{
  rm -rf /sc/mnt && mkdir /sc/mnt
  chroot /sc /bin/sh -c 'ln -sf /proc/$$/root/models /mnt/models && sleep infinity' &
  pid=$!
  wait_link /sc/mnt/models "/proc/$pid/root/models"
  got=$(/sc/bin/sh -c "sleep 0 && ls /sc/mnt/models && [ -f /proc/$pid/root/models/model.bin ] && echo readable" 2>&1)
  verdict capless-root-reads-model "$([ "$got" = "model.bin
readable" ] || echo "got '$got'")"
  # The contrast: a root process holding its capabilities (busybox sleep) is closed to it.
  sleep 1000 &
  bpid=$!
  got=$(/sc/bin/sh -c "sleep 0 && ls /proc/$bpid/root/" 2>&1)
  verdict control-capless-root-denied "$([ "$got" = "ls: /proc/$bpid/root/: Permission denied" ] || echo "got '$got'")"
  kill -KILL $bpid; wait $bpid
  kill -TERM $pid; wait $pid
}

# KServe's uidModelcar: sidecar and server run as one non-root UID (1010 here). The sidecar,
# switched by su, links from /; another process of that UID reads the model through the link;
# a third UID is refused by the kernel's ptrace rule.
# shellcheck disable=SC2016
{
  mkdir -p /tmp/uid && chown 1010:1010 /tmp/uid
  su -s /sc/bin/sh mcb -c 'ln -sf /proc/$$/root/models /tmp/uid/models && sleep infinity' >/tmp/sidecar.out 2>/tmp/sidecar.err &
  pid=$!
  if wait_link /tmp/uid/models "/proc/$pid/root/models"; then
    uids=$(field $pid Uid | tr -s '\t ' ' ')
    verdict uid-sidecar-runs-as-1010 "$([ "$uids" = "1010 1010 1010 1010" ] || echo "Uid '$uids'")"
    verdict uid-sidecar-has-no-caps "$([ "$(field $pid CapPrm)" = 0000000000000000 ] || echo "CapPrm $(field $pid CapPrm)")"
    got=$(su -s /bin/sh mcb -c 'cat /tmp/uid/models/model.bin' 2>&1)
    verdict uid-second-process-reads-model "$([ "$got" = "$MODEL" ] || echo "got '$got'")"
    got=$(su -s /bin/sh mcb -c "cat /proc/$pid/root/models/model.bin" 2>&1)
    verdict uid-reads-proc-pid-root "$([ "$got" = "$MODEL" ] || echo "got '$got'")"
    got=$(su -s /bin/sh other -c 'cat /tmp/uid/models/model.bin' 2>&1)
    verdict control-other-uid-denied "$([ "$got" = "cat: can't open '/tmp/uid/models/model.bin': Permission denied" ] || echo "got '$got'")"
    term_and_wait $pid $pid uid
    verdict uid-sigterm-exit-0 "$([ "$st" = 0 ] || echo "status $st")"
    verdict uid-quiet "$([ -s /tmp/sidecar.out ] || [ -s /tmp/sidecar.err ] && echo "stdout '$(cat /tmp/sidecar.out)' stderr '$(cat /tmp/sidecar.err)'")"
  else
    fail uid-sidecar-link "no link (stderr: $(cat /tmp/sidecar.err))"
    kill -KILL $pid; wait $pid
  fi
}
