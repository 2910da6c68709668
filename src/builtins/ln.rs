//! `ln [-sfn] TARGET [LINK]`, `ln [-sfn] TARGET... DIR`: make links, like busybox ln.
//!
//! With -f an existing LINK is replaced atomically: the new link is made under a temporary name
//! in the same directory and renamed over the old one, so the path never disappears (a serving
//! container reading `/mnt/models` during a sidecar restart never sees it missing).

use super::options;
use super::path::{basename, dirname, join};
use crate::expand::push_decimal;
use crate::output::{perror, Output};
use crate::sys::{self, Errno};
use alloc::vec::Vec;

pub fn run(args: &[Vec<u8>], _out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"ln", args, b"sfn", None) else {
        return 1;
    };
    let (symbolic, force, no_deref) = (opts.has(b's'), opts.has(b'f'), opts.has(b'n'));
    let (targets, dest): (&[Vec<u8>], &[u8]) = match opts.operands {
        [] => {
            crate::output::error_line(&[b"ln: missing file operand"]);
            return 1;
        }
        // One operand: the link goes into the current directory, named after the target.
        [only] => (core::slice::from_ref(only), basename(only)),
        [targets @ .., last] => (targets, last.as_slice()),
    };
    let mut status = 0;
    for target in targets {
        let mut link = dest.to_vec();
        // A destination that is a directory (or, without -n, a link to one) receives the link.
        if sys::stat(dest, !no_deref).is_ok_and(|st| st.is_dir()) {
            link = join(dest, basename(target));
        }
        if !symbolic {
            // A hard link needs its target: name the missing target, as busybox does.
            if let Err(e) = sys::stat(target, false) {
                perror(b"ln", target, e);
                status = 1;
                continue;
            }
        }
        if let Err(e) = make_link(target, &link, symbolic, force) {
            perror(b"ln", &link, e);
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
    create(&tmp)?;
    if let Err(e) = sys::rename(&tmp, link) {
        let _ = sys::unlink(&tmp);
        return Err(e);
    }
    // rename() between two names of one inode succeeds and leaves both: drop the temporary.
    let _ = sys::unlink(&tmp);
    Ok(())
}

/// `DIR/.NAME.ln-PID`: beside the link, so the rename stays on one filesystem.
fn temp_name(link: &[u8]) -> Vec<u8> {
    let mut name = alloc::vec![b'.'];
    name.extend_from_slice(basename(link));
    name.extend_from_slice(b".ln-");
    push_decimal(&mut name, sys::getpid() as u64);
    join(dirname(link), &name)
}
