//! `ln [-sfn] TARGET [LINK]`, `ln [-sfn] TARGET... DIR`: make links, like busybox ln.
//!
//! With -f an existing LINK is replaced atomically: the new link is made under a temporary name
//! in the same directory and renamed over the old one, so the path never disappears (a serving
//! container reading `/mnt/models` during a sidecar restart never sees it missing).

use super::options::{self, Options};
use super::path::{basename, join};
use crate::args::Args;
use crate::expand::decimal;
use crate::output::{error_line, perror, Output};
use crate::sys::{self, Errno, PathBuf};

pub fn run(args: Args, _out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"ln", args, b"sfn", None) else {
        return 1;
    };
    let Some((last, rest)) = opts.operands.split_last() else {
        error_line(&[b"ln: missing file operand"]);
        return 1;
    };
    // One operand: the link goes into the current directory, named after the target.
    let (targets, dest) = if rest.is_empty() {
        (opts.operands, basename(last))
    } else {
        (rest, last)
    };
    let mut status = 0;
    for target in targets {
        // A destination that is a directory (or, without -n, a link to one) receives the link.
        status |= if sys::stat(dest, !opts.has(b'n')).is_ok_and(|st| st.is_dir()) {
            link_in_dir(target, dest, &opts)
        } else {
            link(target, dest, &opts)
        };
    }
    status
}

/// `DIR/basename(TARGET)`, in a frame of its own: its PATH_MAX buffer is not on the stack of
/// the common case (KServe links to a new name).
#[inline(never)]
fn link_in_dir(target: &[u8], dir: &[u8], opts: &Options) -> i32 {
    let mut path = PathBuf::default();
    join(&mut path, dir, basename(target));
    link(target, path.as_bytes(), opts)
}

/// Makes one link; reports a failure and returns 1.
fn link(target: &[u8], link: &[u8], opts: &Options) -> i32 {
    // The flags are read here, not passed in: one argument instead of two at each call.
    let (symbolic, force) = (opts.has(b's'), opts.has(b'f'));
    let create: Create = if symbolic {
        sys::symlink
    } else {
        sys::hard_link
    };
    // A hard link needs its target: name the missing target, as busybox does.
    let missing = if symbolic {
        None
    } else {
        sys::stat(target, false).err()
    };
    // One message for every failure: only the name differs.
    let (name, result) = match missing {
        Some(e) => (target, Err(e)),
        None if !force => (link, create(target, link)),
        None => (
            link,
            match sys::stat(link, false) {
                // Replacing a directory is not what -f does: report it as busybox does.
                Ok(st) if st.is_dir() => Err(sys::EEXIST),
                Ok(_) => replace(create, target, link),
                Err(_) => create(target, link),
            },
        ),
    };
    if let Err(e) = result {
        perror(b"ln", name, e);
        return 1;
    }
    0
}

type Create = fn(&[u8], &[u8]) -> Result<(), Errno>;

/// Replaces an existing LINK atomically: a new link under a temporary name, renamed over it.
/// The temporary name is `DIR/.NAME.ln-PID`: beside the link, so the rename stays on one
/// filesystem, with NAME cut to 200 bytes so that it stays within NAME_MAX (255) whatever the
/// link's length.
#[inline(never)]
fn replace(create: Create, target: &[u8], link: &[u8]) -> Result<(), Errno> {
    let base = basename(link);
    // The link up to its last component, its directory with the slash (none for a bare name).
    let dir = link.get(..base.as_ptr() as usize - link.as_ptr() as usize);
    let mut tmp = PathBuf::default();
    tmp.push(dir.unwrap_or_default());
    tmp.push(b".");
    tmp.push(&base[..base.len().min(200)]);
    tmp.push(b".ln-");
    let mut digits = [0; 10];
    tmp.push(decimal(&mut digits, sys::getpid() as u32));
    let tmp = tmp.as_bytes();
    // A name left by a run killed between create and rename (same pid: a container's PID 1)
    // goes first.
    let _ = sys::unlink(tmp);
    create(target, tmp)?;
    let renamed = sys::rename(tmp, link);
    // rename() between two names of one inode succeeds and leaves both: drop the temporary
    // (and after a failed rename, clean up).
    let _ = sys::unlink(tmp);
    renamed
}

#[cfg(test)]
#[path = "../tests/ln.rs"]
mod tests;
