//! `ln [-sfn] TARGET [LINK]`, `ln [-sfn] TARGET... DIR`: make links, like busybox ln.
//!
//! With -f an existing LINK is replaced atomically: the new link is made under a temporary name
//! in the same directory and renamed over the old one, so the path never disappears (a serving
//! container reading `/mnt/models` during a sidecar restart never sees it missing). A name that
//! cannot be replaced (a directory, say) is reported as busybox reports it: it exists. When no
//! temporary name can be made (a full filesystem), LINK is removed and made again, as busybox
//! does it.

use super::options::{self, Flags};
use super::path::{basename, join};
use crate::args::Args;
use crate::output::decimal;
use crate::output::{perror, Output};
use crate::sys::{self, CPath, Errno, PathBuf, Stack};

const MISSING: &[u8] = b"ln: missing file operand";
/// The name, the start of a message: one copy of its bytes (smaller).
const NAME: &[u8] = MISSING.split_at(2).0;

pub fn run(operands: Args, _out: &mut Output) -> i32 {
    let mut buf = Stack::default();
    let mut operands = operands;
    let Some(opts) = options::parse(NAME, &mut operands, b"sfn", None, &mut buf) else {
        return 1;
    };
    let Some((last, rest)) = operands.split_last() else {
        return super::usage(MISSING);
    };
    // One operand: the link goes into the current directory, named after the target.
    let dest = if rest.is_empty() {
        basename(last)
    } else {
        // The targets are taken from `operands` itself, where parse left them: no copy
        // (smaller).
        operands = rest;
        last
    };
    let mut status = 0;
    while let Some(target) = operands.next_path() {
        status |= link(target, dest, opts);
    }
    status
}

/// Makes one link to `target` at `dest`, or in it if it is a directory (or, without -n, a link
/// to one); reports a failure and returns 1.
fn link(target: &CPath, dest: &[u8], opts: Flags) -> i32 {
    // (The flags are tested where used, from the one register that holds them all: read up
    // front, they were kept in memory across the calls.)
    //
    // A copy of `dest`, for its NUL (a basename may have trailing slashes after it), and for
    // the name to join to it.
    let mut path = PathBuf::default();
    path.push(dest);
    if sys::stat(path.as_path(), !opts.has(b'n')).is_ok_and(|st| st.is_dir()) {
        join(&mut path, basename(target));
    }
    let link = path.as_path();
    // A hard link needs its target: name the missing target, as busybox does.
    let missing = if opts.has(b's') {
        None
    } else {
        sys::stat(target, false).err()
    };
    // One message for every failure: only the name differs.
    let (name, result) = match missing {
        Some(e) => (target, Err(e)),
        None => (link, make(opts, target, link)),
    };
    if let Err(e) = result {
        perror(NAME, name, e);
        return 1;
    }
    0
}

/// Makes LINK: a symbolic link with -s, else a hard link (the flag tested here, not a pointer
/// to one of the two functions: an indirect call costs more, ppc64 most of all). The link is
/// made first (nothing to replace is the common case); on EEXIST with -f the loop goes round
/// again, for a temporary name, then for the fallback. One place that makes a link: smaller
/// than a function called from several.
///
/// With -f an existing LINK is replaced atomically: a new link under a temporary name, renamed
/// over it. The temporary name is `DIR/.NAME.ln-PID` (then `-1`, `-2`... while a name is taken):
/// beside the link, so the rename stays on one filesystem, with NAME cut to 200 bytes so that
/// it stays within NAME_MAX (255). Making a link is an exclusive create, so the temporary never
/// replaces a name the run did not make, and only the run's own temporary is ever removed.
/// When no temporary can be made (no inode or space left, a quota, a read-only name...), it
/// does what busybox does: removes LINK, then makes it (the path is briefly missing).
fn make(opts: Flags, target: &CPath, link: &CPath) -> Result<(), Errno> {
    let mut tmp = PathBuf::default();
    // The pid's digits, for the temporary name (here, not in the loop: smaller).
    let mut digits = [0; 10];
    let pid = decimal(&mut digits, sys::getpid() as u32);
    // 0: LINK itself; 1 to TRIES: a temporary name; FALLBACK: LINK again, after removing it.
    const TRIES: u32 = 20;
    const FALLBACK: u32 = TRIES + 1;
    let mut step = 0;
    loop {
        let direct = step == 0 || step == FALLBACK;
        let at = if direct { link } else { tmp.as_path() };
        if step == FALLBACK {
            let _ = sys::unlink(link);
        }
        let made = if opts.has(b's') {
            sys::symlink(target, at)
        } else {
            sys::hard_link(target, at)
        };
        if direct {
            if step == FALLBACK || made != Err(sys::EEXIST) || !opts.has(b'f') {
                return made;
            }
        } else if made.is_ok() {
            // The rename fails when the name cannot be replaced: a directory (EISDIR), a name
            // with a trailing slash (ENOTDIR), a sticky directory's entry of another user
            // (EPERM). Busybox, whose -f is an unlink whose failure goes unreported, then says
            // the link exists.
            let renamed = sys::rename(at, link).map_err(|_| sys::EEXIST);
            // rename() between two names of one inode succeeds and leaves both: drop the
            // temporary (and after a failed rename, clean up). It is the run's own.
            let _ = sys::unlink(at);
            return renamed;
        } else if made != Err(sys::EEXIST) || step == TRIES {
            step = FALLBACK;
            continue;
        }
        let base = basename(link);
        tmp = PathBuf::default();
        // The link up to its last component, its directory with the slash (none for a bare
        // name). (`if let`, not `unwrap_or_default`: smaller.)
        if let Some(dir) = link.get(..base.as_ptr() as usize - link.as_ptr() as usize) {
            tmp.push(dir);
        }
        tmp.push(b".");
        tmp.push(&base[..base.len().min(200)]);
        tmp.push(b".ln-");
        tmp.push(pid);
        if step > 0 {
            let mut digits = [0; 10];
            tmp.push(b"-");
            tmp.push(decimal(&mut digits, step));
        }
        step += 1;
    }
}

#[cfg(test)]
#[path = "../tests/ln.rs"]
mod tests;
