//! `mkdir [-p] [-m MODE] DIR...`, like busybox mkdir (octal modes only).

use super::options;
use crate::args::Args;
use crate::output::{error_line, Output};
use crate::strerror::errno_text;
use crate::sys::{self, PathBuf};

/// The mode without -m: 0777 (less the umask) and no chmod. Not a valid -m mode (above 07777):
/// one number says both the mode to create with and whether to chmod. mkdir(2) keeps only the
/// permission and sticky bits of a mode, so it goes to the kernel as it is.
const NO_MODE: u32 = 0o10777;

const MISSING: &[u8] = b"mkdir: missing operand";
/// The name, the start of a message: one copy of its bytes (smaller).
const NAME: &[u8] = MISSING.split_at(5).0;

pub fn run(mut operands: Args, _out: &mut Output) -> i32 {
    let mut value = None;
    // One flag letter: the other two places NULs, never an option letter.
    let Some(opts) = options::parse(NAME, &mut operands, b"p\0\0", Some((b'm', &mut value))) else {
        return 1;
    };
    let mut mode = NO_MODE;
    if let Some(text) = value {
        let Some(m) = parse_octal_mode(text) else {
            // Octal only: symbolic modes (u+x) are refused, not guessed.
            return super::refuse(NAME, b": invalid mode '", text);
        };
        mode = m;
    }
    if operands.is_empty() {
        return super::usage(MISSING);
    }
    let parents = opts.has(b'p');
    let mut status = 0;
    // By reference: the operands are read where parse left them, not copied
    // (smaller).
    for dir in operands.by_ref() {
        status |= make(dir, mode, parents);
    }
    status
}

/// 1 to 4 octal digits. (The length first, then one `try_fold`: smaller.)
fn parse_octal_mode(text: &[u8]) -> Option<u32> {
    if !(1..=4).contains(&text.len()) {
        return None;
    }
    text.iter().try_fold(0, |mode, &c| {
        let digit = c.wrapping_sub(b'0');
        (digit <= 7).then_some(mode * 8 + digit as u32)
    })
}

/// busybox's algorithm: with -p, make each prefix ending after a run of slashes, accepting
/// existing directories; the message names the prefix that failed. Returns the exit status.
fn make(path: &[u8], mode: u32, parents: bool) -> i32 {
    // A copy, for the NUL the kernel needs after the prefix (without -p the argument's own
    // would do, but a second way costs more code than the copy). Each prefix extends the one
    // before: the part the scan passed goes in with one push (a push per byte kept a call in
    // the scan loop).
    let mut buf = PathBuf::default();
    let mut rest = path;
    loop {
        // Without -p the whole path; with -p past leading non-slashes, then the run of
        // slashes after them: one scan that stops at the first non-slash after a slash.
        // `slash` only with -p: without it no byte ends the scan. The split cannot fail
        // (`get`-style: no panic path); if it did, the empty rest would end the loop.
        let mut slash = false;
        let end = rest.iter().position(|&c| {
            let stop = slash & (c != b'/');
            slash = parents & (c == b'/');
            stop
        });
        let (part, after) = rest
            .split_at_checked(end.unwrap_or(rest.len()))
            .unwrap_or_default();
        buf.push(part);
        rest = after;
        let last = rest.is_empty();
        let prefix = buf.as_path();
        // Whole message heads: fewer pieces to store than `can't ` WHAT ` directory '`.
        let mut head: &[u8] = b"mkdir: can't create directory '";
        let result = match sys::mkdir(prefix, if last { mode } else { 0o777 }) {
            // The umask must not change an explicit -m.
            Ok(()) if last && mode != NO_MODE => {
                head = b"mkdir: can't set permissions of directory '";
                sys::chmod(prefix, mode)
            }
            // With -p an existing directory is fine. Like busybox, a failing stat names its
            // own error (`file/` -> Not a directory).
            Err(e) if parents && (e == sys::EEXIST || e == sys::EISDIR) => {
                sys::stat(prefix, true).and_then(|st| if st.is_dir() { Ok(()) } else { Err(e) })
            }
            result => result,
        };
        if let Err(e) = result {
            error_line(&[head, prefix, b"': ", errno_text(e)]);
            return 1;
        }
        if last {
            return 0;
        }
    }
}

#[cfg(test)]
#[path = "../tests/mkdir.rs"]
mod tests;
