//! `mkdir [-p] [-m MODE] DIR...`, like busybox mkdir (octal and symbolic modes).

use super::options;
use crate::args::Args;
use crate::output::{error_line, Output};
use crate::strerror::errno_text;
use crate::sys::{self, PathBuf, Stack};

/// The mode without -m: 0777 (less the umask) and no chmod. Not a valid -m mode (above 07777):
/// one number says both the mode to create with and whether to chmod. mkdir(2) keeps only the
/// permission and sticky bits of a mode, so it goes to the kernel as it is.
const NO_MODE: u32 = 0o10777;

const MISSING: &[u8] = b"mkdir: missing operand";
/// The name, the start of a message: one copy of its bytes (smaller).
const NAME: &[u8] = MISSING.split_at(5).0;

pub fn run(operands: Args, _out: &mut Output) -> i32 {
    let mut buf = Stack::default();
    let mut operands = operands;
    let mut value = None;
    // One flag letter: the other two places NULs, never an option letter.
    let Some(opts) = options::parse(
        NAME,
        &mut operands,
        b"p\0\0",
        Some((b'm', &mut value)),
        &mut buf,
    ) else {
        return 1;
    };
    let mut mode = NO_MODE;
    if let Some(text) = value {
        // The umask as it is (it is set back at once): symbolic clauses naming nobody leave
        // out its bits.
        let umask = sys::umask(0);
        sys::umask(umask);
        let Some(m) = parse_mode(text, umask) else {
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

/// A mode as busybox's mkdir reads one: octal up to 07777, or symbolic clauses separated by
/// commas (`u+x`, `go=`, `a=rwx,g-w`, `u=g`, `+t`, `g+X`), applied in turn to 0777. A clause
/// naming nobody (`+x`, `=r`) leaves out the bits of `umask`. None if it is neither.
fn parse_mode(text: &[u8], umask: u32) -> Option<u32> {
    let mut mode = 0o777;
    if let [b'0'..=b'7', ..] = text {
        mode = 0;
        for &c in text {
            let digit = c.wrapping_sub(b'0');
            if digit > 7 {
                return None;
            }
            mode = mode * 8 + digit as u32;
            if mode > 0o7777 {
                return None;
            }
        }
        return Some(mode);
    }
    let mut rest = text;
    while let [c, tail @ ..] = rest {
        if *c == b',' {
            rest = tail;
            continue;
        }
        // Who: any of u g o a; something must follow them.
        let mut who = 0;
        while let [c, tail @ ..] = rest {
            who |= match c {
                b'u' => 0o4700,
                b'g' => 0o2070,
                b'o' => 0o7,
                b'a' => 0o7777,
                _ => break,
            };
            rest = tail;
            if rest.is_empty() {
                return None;
            }
        }
        // Actions, up to the comma or the end: an operator, then permissions or a class whose
        // permissions are copied (`u=g`).
        loop {
            let [op @ (b'+' | b'-' | b'='), tail @ ..] = rest else {
                return None;
            };
            rest = tail;
            if *op == b'=' {
                mode &= !if who == 0 { 0o7777 } else { who };
            }
            let mut perms = 0;
            if let [c @ (b'u' | b'g' | b'o'), tail @ ..] = rest {
                let shift = match c {
                    b'u' => 6,
                    b'g' => 3,
                    _ => 0,
                };
                perms = (mode >> shift & 7) * 0o111;
                rest = tail;
            } else {
                while let [c, tail @ ..] = rest {
                    perms |= match c {
                        b'r' => 0o444,
                        b'w' => 0o222,
                        b'x' => 0o111,
                        // Execute only if someone may already execute (a new directory is not
                        // one yet for busybox: the mode it starts from has no type).
                        b'X' if mode & 0o111 != 0 => 0o111,
                        b'X' => 0,
                        b's' => 0o6000,
                        b't' => 0o1000,
                        _ => break,
                    };
                    rest = tail;
                }
            }
            perms &= if who == 0 { !umask } else { who };
            if *op == b'-' {
                mode &= !perms;
            } else {
                mode |= perms;
            }
            if matches!(rest, [] | [b',', ..]) {
                break;
            }
        }
    }
    Some(mode)
}

/// busybox's algorithm: with -p, make each prefix ending after a run of slashes, accepting
/// existing directories; the message names the prefix that failed. Returns the exit status.
fn make(path: &[u8], mode: u32, parents: bool) -> i32 {
    // busybox creates nothing for exactly "." and "/" (and sets no mode): they exist.
    if matches!(path, b"." | b"/") {
        return 0;
    }
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
