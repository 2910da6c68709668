#!/bin/sh
# Every system call the sidecar makes, through its error paths: the builtins with inputs that
# succeed and that fail (ENOENT, EEXIST, EACCES, ENOTDIR, ENOSPC, EBADF...). Run in the guest
# on each architecture's kernel, and on the host with the amd64 binary: the outcomes must be
# the same (tests/kernels/test_kernels.py compares them).
#
#   cases.sh SH WORK USER_SWITCH [BUSYBOX]
# SH: the sidecar; WORK: a directory to create; USER_SWITCH: su (busybox, /etc/passwd has mcb
# as UID 1010) or setpriv (util-linux); BUSYBOX: the busybox that inspects results.
# Each case prints one line: MCBK CASE NAME STATUS STDOUT STDERR AFTER (base64, "b:" first).
# The scripts and AFTER commands are expanded later, by the sidecar or by report().
# shellcheck disable=SC2016
set -u
SH=$1 WORK=$2 SWITCH=$3 BB=${4:-busybox}
umask 022
rm -rf "$WORK" && mkdir -p "$WORK" && chmod 0755 "$WORK"
T=$WORK/t
mkdir "$T" "$T/dir" "$T/ro" "$T/private" "$T/bigdir"
echo data >"$T/file"
: >"$T/dir/entry"
: >"$T/dir/.hidden"
ln -s dir "$T/link-to-dir"
ln -s /elsewhere "$T/existing-link"
: >"$T/ro/existing"
echo secret >"$T/private/secret"
chmod 0700 "$T/private"
# Enough names for getdents64 to be called more than once (the sidecar reads 4 KiB at a time).
i=0
while [ $i -lt 300 ]; do
  : >"$T/bigdir/a-file-name-long-enough-to-fill-the-buffer-$i"
  i=$((i + 1))
done
# Container roots for KServe's prefetch check (the init container): a model, an empty
# /models, none.
for r in ok empty none; do
  mkdir -p "$WORK/root-$r/bin"
  cp "$SH" "$WORK/root-$r/bin/sh"
done
mkdir "$WORK/root-ok/models" "$WORK/root-empty/models"
echo weights >"$WORK/root-ok/models/model.bin"

b64() { printf 'b:'; "$BB" base64 -w 0 "$@"; }

as_user() {
  case "$SWITCH" in
    su) "$BB" su -s "$SH" mcb -c "$1" ;;
    setpriv) /usr/bin/setpriv --reuid=1010 --regid=1010 --clear-groups "$SH" -c "$1" ;;
  esac
}

# case NAME root|user SCRIPT [AFTER]: runs SCRIPT in $T, then AFTER (busybox sh, in $T).
case_() {
  cd "$T" || exit 1
  if [ "$2" = root ]; then
    "$SH" -c "$3" >"$WORK/out" 2>"$WORK/err"
  else
    as_user "$3" >"$WORK/out" 2>"$WORK/err"
  fi
  report "$1" $?
}

report() {
  (cd "$T" && eval "${AFTER:-:}") >"$WORK/after" 2>&1
  echo "MCBK CASE $1 $2 $(b64 "$WORK/out") $(b64 "$WORK/err") $(b64 "$WORK/after")"
  AFTER=
}

# With stdout redirected: NAME TARGET SCRIPT (TARGET /dev/full, or "closed").
case_out() {
  cd "$T" || exit 1
  : >"$WORK/out"
  if [ "$2" = closed ]; then
    "$SH" -c "$3" >&- 2>"$WORK/err"
  else
    "$SH" -c "$3" >"$2" 2>"$WORK/err"
  fi
  report "$1" $?
}

# In one of the prefetch roots, as a container: NAME ROOT SCRIPT.
case_chroot() {
  cd / || exit 1
  "$BB" chroot "$WORK/root-$2" /bin/sh -c "$3" >"$WORK/out" 2>"$WORK/err"
  report "$1" $?
}


# write, writev
case_ echo root 'echo hello world; echo -n no newline; echo; echo "a  b" c'
case_out echo-enospc /dev/full 'echo hello'
case_out echo-ebadf closed 'echo hello'
# symlinkat, linkat, renameat2, unlinkat, statx
AFTER='$BB readlink new-link' case_ ln-s root 'ln -s /proc/1/root/models new-link'
AFTER='$BB readlink existing-link' case_ ln-s-eexist root 'ln -s /x existing-link'
AFTER='$BB readlink existing-link; $BB ls -a' case_ ln-sf-replace root 'ln -sf /new/target existing-link'
case_ ln-s-enoent root 'ln -s /x missing/link'
case_ ln-s-enotdir root 'ln -s /x file/link'
AFTER='$BB readlink dir/target' case_ ln-s-into-dir root 'ln -s /some/target dir'
AFTER='$BB ls -a dir' case_ ln-sfn-on-dir root 'ln -sfn /x dir'
AFTER='$BB stat -c %h file' case_ ln-hard root 'ln file hard'
case_ ln-hard-enoent root 'ln nothing hard2'
AFTER='$BB readlink link-to-dir' case_ ln-sfn-replace root 'ln -sfn /new link-to-dir'
AFTER='$BB stat -c %h file; $BB ls -a dir' case_ ln-f-hard-replace root 'ln -f file dir/entry'
AFTER='$BB ls -a dir/sub' case_ ln-sf-onto-a-directory root 'mkdir dir/sub && ln -sf /x/sub dir'
case_ ln-hard-eexist root 'ln file dir/entry'
case_ ln-s-eacces user 'ln -s /x ro/link'
# No temporary name can be made (EACCES), so ln -f unlinks (refused too) and links, as busybox
# does: the error left is the link's, EEXIST, and ro/existing stays as it was.
AFTER='$BB readlink ro/existing; $BB ls ro' case_ ln-sf-readonly-dir-eexist user 'ln -sf /x ro/existing'
case_ ln-usage root 'ln'
case_ ln-bad-option root 'ln -z a b'
# mkdirat, fchmodat
AFTER='$BB stat -c "%a %n" newdir' case_ mkdir root 'mkdir newdir'
case_ mkdir-eexist root 'mkdir dir'
case_ mkdir-enoent root 'mkdir a/b/c'
case_ mkdir-enotdir root 'mkdir file/sub'
AFTER='$BB find p | $BB sort' case_ mkdir-p root 'mkdir -p p/q/r p/q/s && mkdir -p p/q'
case_ mkdir-p-on-file root 'mkdir -p file'
case_ mkdir-p-enotdir root 'mkdir -p file/sub/deeper'
AFTER='$BB stat -c "%a %n" m700 sticky' case_ mkdir-m root 'mkdir -m 700 m700 && mkdir -m 1777 sticky'
AFTER='$BB stat -c "%a %n" pm pm/x' case_ mkdir-pm root 'mkdir -p -m 705 pm/x'
case_ mkdir-m-invalid root 'mkdir -m 9 x'
case_ mkdir-eacces user 'mkdir ro/x'
case_ mkdir-p-eacces user 'mkdir -p private/x/y'
# openat, getdents64, close
case_ ls root 'ls dir; ls -a dir; ls -A dir; ls file; ls dir file'
case_ ls-enoent root 'ls nothing'
case_ ls-eacces user 'ls private'
case_ ls-many root 'ls bigdir'
# statx through test
case_ test root '[ -d dir ] && echo d; [ -f file ] && echo f; [ -e nothing ] || echo none; test -e link-to-dir && echo e; [ -d file ] || echo notdir; [ -f existing-link ] || echo dangling'
case_ test-denied user '[ -e private/secret ] || echo hidden; [ -d private ] && echo dir'
# nanosleep
case_ sleep root 'sleep 0; sleep 0.05; sleep 0s; echo slept'
case_ sleep-invalid root 'sleep abc'
case_ sleep-usage root 'sleep'
# The interpreter (mmap of its stack, exit_group)
case_ sh-cmdsubst root 'echo "[$(ls dir)]" $(echo a   b)'
case_ sh-status root 'false || echo failed; exit 3'
case_ sh-not-found root 'nosuchcommand arg'
case_ sh-syntax root 'if then'
# KServe's prefetch check in the modelcar-init container, on each root
PREFETCH="echo 'Pre-fetching modelcar quay.io/x/model:1: ' && [ -d /models ] && [ \"\$(ls -A /models)\" ] && echo 'OK ... Prefetched and valid (/models exists)' || (echo 'NOK ... Prefetched but modelcar is invalid (/models does not exist or is empty)' && exit 1)"
case_chroot prefetch-ok ok "$PREFETCH"
case_chroot prefetch-empty empty "$PREFETCH"
case_chroot prefetch-none none "$PREFETCH"
echo "MCBK CASES END"
