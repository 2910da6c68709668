//! `ls [-1Aa] [FILE...]`: names, one per line, sorted bytewise (the C locale), like busybox ls
//! writing to a pipe. Files named on the command line come first, then each directory's
//! entries (under a `DIR:` header when more than one operand was given).

use super::options;
use crate::args::Args;
use crate::output::{perror, Output};
use crate::sys::{self, Errno, Stack};

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
    // Files first, then directories; operands whose stat fails are left out.
    for dirs in [false, true] {
        let mut index = Stack::default();
        let all = operands.as_bytes();
        for &at in sorted(all, &mut index, &|op| is_dir(op) == Ok(dirs)).iter() {
            let op = name(all, at);
            if !dirs {
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
    let all = names.as_slice();
    let mut index = Stack::default();
    // Hidden names start with a dot; -A shows all but . and .., -a all.
    let shown = |n: &[u8]| {
        show == 2 || !matches!(n, [b'.', rest @ ..] if show == 0 || matches!(rest, [] | [b'.']))
    };
    for &at in sorted(all, &mut index, &shown).iter() {
        out.line(name(all, at));
    }
    Ok(())
}

/// Whether an operand is a directory (through symlinks; a dangling one is a file).
fn is_dir(op: &[u8]) -> Result<bool, Errno> {
    let st = sys::stat(op, true).or_else(|_| sys::stat(op, false))?;
    Ok(st.is_dir())
}

/// The offsets in `all` (NUL-terminated items) of the items `keep` accepts, in bytewise order
/// (equal items in their order), kept in `index`: no memory beyond the offsets, and not
/// quadratic (a selection sort took seconds of CPU for a model of thousands of files, and
/// KServe gives a modelcar 10m CPU).
fn sorted<'i>(all: &[u8], index: &'i mut Stack, keep: &dyn Fn(&[u8]) -> bool) -> &'i [u32] {
    let mut at = 0;
    for item in Args::new(all) {
        if keep(item) {
            index.push(&(at as u32).to_ne_bytes());
        }
        at += item.len() + 1;
    }
    // Shell sort with halving gaps: short code, and far from quadratic on directory listings.
    let t = index.as_mut_words();
    let mut gap = t.len() / 2;
    while gap > 0 {
        for i in gap..t.len() {
            let mut j = i;
            while j >= gap && before(all, t[j], t[j - gap]) {
                t.swap(j, j - gap);
                j -= gap;
            }
        }
        gap /= 2;
    }
    t
}

/// Bytewise order of the items at two offsets, then the order of the offsets.
fn before(all: &[u8], a: u32, b: u32) -> bool {
    (name(all, a), a) < (name(all, b), b)
}

/// The NUL-terminated item at offset `at`.
fn name(all: &[u8], at: u32) -> &[u8] {
    Args::new(all.get(at as usize..).unwrap_or_default())
        .next()
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "../tests/ls.rs"]
mod tests;
