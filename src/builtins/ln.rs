//! `ln [-sfn] TARGET [LINK]`, `ln [-sfn] TARGET... DIR`: make links, like busybox ln.
//!
//! With -f an existing LINK is replaced atomically: the new link is made under a temporary name
//! in the same directory and renamed over the old one, so the path never disappears (a serving
//! container reading `/mnt/models` during a sidecar restart never sees it missing).

use super::options;
use super::path::{basename, dirname, join};
use crate::args::Args;
use crate::expand::decimal;
use crate::output::{error_line, perror, Output};
use crate::sys::{self, Errno, PathBuf};

pub fn run(args: Args, _out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"ln", args, b"sfn", None) else {
        return 1;
    };
    let (symbolic, force, no_deref) = (opts.has(b's'), opts.has(b'f'), opts.has(b'n'));
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
        let result = if sys::stat(dest, !no_deref).is_ok_and(|st| st.is_dir()) {
            link_in_dir(target, dest, symbolic, force)
        } else {
            link(target, dest, symbolic, force)
        };
        status |= result;
    }
    status
}

/// `DIR/basename(TARGET)`, in a frame of its own: its PATH_MAX buffer is not on the stack of
/// the common case (KServe links to a new name).
#[inline(never)]
fn link_in_dir(target: &[u8], dir: &[u8], symbolic: bool, force: bool) -> i32 {
    link(
        target,
        join(dir, basename(target)).as_bytes(),
        symbolic,
        force,
    )
}

/// Makes one link; reports a failure and returns 1.
fn link(target: &[u8], link: &[u8], symbolic: bool, force: bool) -> i32 {
    if !symbolic {
        // A hard link needs its target: name the missing target, as busybox does.
        if let Err(e) = sys::stat(target, false) {
            perror(b"ln", target, e);
            return 1;
        }
    }
    let create: Create = if symbolic {
        sys::symlink
    } else {
        sys::hard_link
    };
    let result = if !force {
        create(target, link)
    } else {
        match sys::stat(link, false) {
            // Replacing a directory is not what -f does: report it as busybox does.
            Ok(st) if st.is_dir() => Err(sys::EEXIST),
            Ok(_) => replace(create, target, link),
            Err(_) => create(target, link),
        }
    };
    if let Err(e) = result {
        perror(b"ln", link, e);
        return 1;
    }
    0
}

type Create = fn(&[u8], &[u8]) -> Result<(), Errno>;

/// Replaces an existing LINK atomically: a new link under a temporary name, renamed over it.
#[inline(never)]
fn replace(create: Create, target: &[u8], link: &[u8]) -> Result<(), Errno> {
    let tmp = temp_name(link);
    let tmp = tmp.as_bytes();
    match create(target, tmp) {
        // Our own temporary name, left by a run that was killed between create and rename.
        Err(sys::EEXIST) => {
            let _ = sys::unlink(tmp);
            create(target, tmp)?;
        }
        result => result?,
    }
    let renamed = sys::rename(tmp, link);
    // rename() between two names of one inode succeeds and leaves both: drop the temporary
    // (and after a failed rename, clean up).
    let _ = sys::unlink(tmp);
    renamed
}

/// `DIR/.NAME.ln-PID`: beside the link, so the rename stays on one filesystem. NAME is cut to
/// 200 bytes so the temporary name stays within NAME_MAX (255) whatever the link's length.
fn temp_name(link: &[u8]) -> PathBuf {
    let base = basename(link);
    let mut name = join(dirname(link), b".");
    name.push(&base[..base.len().min(200)]);
    name.push(b".ln-");
    let mut digits = [0; 10];
    name.push(decimal(&mut digits, sys::getpid() as u32));
    name
}

#[cfg(test)]
#[path = "../tests/ln.rs"]
mod tests;
