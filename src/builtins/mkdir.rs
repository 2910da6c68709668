//! `mkdir [-p] [-m MODE] DIR...`, like busybox mkdir (octal modes only).

use super::options;
use crate::args::Args;
use crate::output::{error_line, Output};
use crate::sys;

pub fn run(args: Args, _out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"mkdir", args, b"p", Some(b'm')) else {
        return 1;
    };
    let mode = match opts.value {
        None => None,
        Some(text) => match parse_octal_mode(text) {
            Some(m) => Some(m),
            None => {
                // Octal only: symbolic modes (u+x) are refused, not guessed.
                error_line(&[b"mkdir: invalid mode '", text, b"'"]);
                return 1;
            }
        },
    };
    if opts.operands.is_empty() {
        error_line(&[b"mkdir: missing operand"]);
        return 1;
    }
    let parents = opts.has(b'p');
    let mut status = 0;
    for dir in opts.operands {
        if make(dir, mode, parents).is_err() {
            status = 1;
        }
    }
    status
}

fn parse_octal_mode(text: &[u8]) -> Option<u32> {
    if text.is_empty() || text.len() > 4 || !text.iter().all(|c| (b'0'..=b'7').contains(c)) {
        return None;
    }
    Some(text.iter().fold(0, |m, &d| m * 8 + (d - b'0') as u32))
}

/// busybox's algorithm: with -p, make each prefix ending after a run of slashes, accepting
/// existing directories; the message names the prefix that failed.
fn make(path: &[u8], mode: Option<u32>, parents: bool) -> Result<(), ()> {
    let mut end = 0;
    loop {
        let mut last = true;
        if parents {
            // Past leading non-slashes, then the run of slashes after them.
            while end < path.len() && path[end] != b'/' {
                end += 1;
            }
            while end < path.len() && path[end] == b'/' {
                end += 1;
            }
            last = end >= path.len();
        } else {
            end = path.len();
        }
        let prefix = &path[..end];
        let create_mode = if last { mode.unwrap_or(0o777) } else { 0o777 };
        match sys::mkdir(prefix, create_mode) {
            Ok(()) => {
                if last {
                    if let Some(m) = mode {
                        // The umask must not change an explicit -m.
                        if let Err(e) = sys::chmod(prefix, m) {
                            fail(b"set permissions of", prefix, e);
                            return Err(());
                        }
                    }
                    return Ok(());
                }
            }
            Err(e) => {
                let exists = e == sys::EEXIST || e == sys::EISDIR;
                if !exists || !parents {
                    fail(b"create", prefix, e);
                    return Err(());
                }
                // Exists: fine if it is a directory. Like busybox, a failing stat names its
                // own error (`file/` -> Not a directory).
                match sys::stat(prefix, true) {
                    Ok(st) if st.is_dir() => {}
                    Ok(_) => {
                        fail(b"create", prefix, e);
                        return Err(());
                    }
                    Err(stat_error) => {
                        fail(b"create", prefix, stat_error);
                        return Err(());
                    }
                }
                if last {
                    return Ok(());
                }
            }
        }
    }
}

fn fail(what: &[u8], path: &[u8], e: sys::Errno) {
    error_line(&[
        b"mkdir: can't ",
        what,
        b" directory '",
        path,
        b"': ",
        crate::errors::errno_text(e),
    ]);
}

#[cfg(test)]
#[path = "../tests/mkdir.rs"]
mod tests;
