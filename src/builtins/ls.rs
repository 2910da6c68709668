//! `ls [-1Aa] [FILE...]`: names, one per line, sorted bytewise (the C locale), like busybox ls
//! writing to a pipe. Files named on the command line come first, then each directory's
//! entries (under a `DIR:` header when more than one operand was given).

use super::options;
use crate::args::Args;
use crate::output::{perror, Output};
use crate::sys::{self, Errno, Stack};

/// `show` for the operands: the files (FILES) or the directories (FILES + 1) among them.
const FILES: u8 = 4;

pub fn run(args: Args, out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"ls", args, b"1Aa", None) else {
        return 1;
    };
    // Which directory entries to list: 2 all (-a), 1 all but . and .. (-A), 0 no hidden ones.
    let show = if opts.has(b'a') {
        2
    } else {
        opts.has(b'A') as u8
    };
    let operands = if opts.operands.is_empty() {
        Args::new(b".\0")
    } else {
        opts.operands
    };
    let (mut status, mut count) = (0, 0);
    for op in operands {
        count += 1;
        if let Err(e) = is_dir(op) {
            perror(b"ls", op, e);
            status = 1;
        }
    }
    let headers = count > 1;
    let mut first = true;
    for kind in FILES..FILES + 2 {
        let mut prev = None;
        while let Some(op) = next(operands, kind, prev) {
            prev = Some(op);
            if kind == FILES {
                out.line(op);
            } else {
                // A blank line before each directory's header but the first thing listed.
                if headers && !first {
                    out.write(b"\n");
                }
                if let Err(e) = list(op, show, headers, out) {
                    perror(b"ls", op, e);
                    status = 1;
                }
            }
            first = false;
        }
    }
    status
}

/// One directory's entries, under a header if `headers`.
fn list(dir: &[u8], show: u8, headers: bool, out: &mut Output) -> Result<(), Errno> {
    let mut names = Stack::default();
    sys::read_dir(dir, &mut names)?;
    if headers {
        out.write(dir);
        out.line(b":");
    }
    let names = Args::new(names.as_slice());
    let mut prev = None;
    while let Some(name) = next(names, show, prev) {
        out.line(name);
        prev = Some(name);
    }
    Ok(())
}

/// Whether an operand is a directory (through symlinks; a dangling one is a file).
fn is_dir(op: &[u8]) -> Result<bool, Errno> {
    let st = sys::stat(op, true).or_else(|_| sys::stat(op, false))?;
    Ok(st.is_dir())
}

/// The item after `prev` in bytewise order among those `show` selects, equal items in their
/// order in `items` (their addresses): a selection sort that needs no memory, as directories
/// in a modelcar hold a handful of names and core's sort routines would double the binary's
/// size.
fn next<'a>(items: Args<'a>, show: u8, prev: Option<&'a [u8]>) -> Option<&'a [u8]> {
    let mut best: Option<&[u8]> = None;
    for item in items {
        let skip = if show >= FILES {
            // Operands whose stat fails are left out.
            is_dir(item) != Ok(show > FILES)
        } else {
            // Hidden names start with a dot; -A shows all but . and .., -a all.
            show < 2
                && matches!(item, [b'.', rest @ ..] if show == 0 || matches!(rest, [] | [b'.']))
        };
        if skip || prev.is_some_and(|p| !before(p, item)) || best.is_some_and(|b| !before(item, b))
        {
            continue;
        }
        best = Some(item);
    }
    best
}

/// Bytewise order, then the order of the items' addresses (their positions in the list).
fn before(a: &[u8], b: &[u8]) -> bool {
    (a, a.as_ptr()) < (b, b.as_ptr())
}

#[cfg(test)]
#[path = "../tests/ls.rs"]
mod tests;
