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
        let joined;
        let link = if sys::stat(dest, !no_deref).is_ok_and(|st| st.is_dir()) {
            joined = join(dest, basename(target));
            joined.as_bytes()
        } else {
            dest
        };
        if !symbolic {
            // A hard link needs its target: name the missing target, as busybox does.
            if let Err(e) = sys::stat(target, false) {
                perror(b"ln", target, e);
                status = 1;
                continue;
            }
        }
        if let Err(e) = make_link(target, link, symbolic, force) {
            perror(b"ln", link, e);
            status = 1;
        }
    }
    status
}

fn make_link(target: &[u8], link: &[u8], symbolic: bool, force: bool) -> Result<(), Errno> {
    let create = |path: &[u8]| {
        if symbolic {
            sys::symlink(target, path)
        } else {
            sys::hard_link(target, path)
        }
    };
    if !force {
        return create(link);
    }
    match sys::stat(link, false) {
        // Replacing a directory is not what -f does: report it as busybox does.
        Ok(st) if st.is_dir() => return Err(sys::EEXIST),
        Ok(_) => {}
        Err(_) => return create(link),
    }
    let tmp = temp_name(link);
    let tmp = tmp.as_bytes();
    match create(tmp) {
        // Our own temporary name, left by a run that was killed between create and rename.
        Err(sys::EEXIST) => {
            let _ = sys::unlink(tmp);
            create(tmp)?;
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
