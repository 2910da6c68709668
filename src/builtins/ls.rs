//! `ls [-1Aa] [FILE]`: a directory's entries, one per line, sorted bytewise (the C locale), like
//! busybox ls writing to a pipe; a file's name as given. One operand at most: the sidecar only
//! ever lists one directory, and several need headers and an order of their own.

use super::options;
use crate::args::Args;
use crate::output::{error_line, Output};
use crate::strerror::errno_text;
use crate::sys::{self, CPath, Stack};

pub fn run(operands: Args, out: &mut Output) -> i32 {
    let mut buf = Stack::default();
    let mut operands = operands;
    let Some(opts) = options::parse(b"ls", &mut operands, b"1Aa", None, &mut buf) else {
        return 1;
    };
    let op = operands.next_path().unwrap_or(CPath::DOT);
    if !operands.is_empty() {
        return super::usage(b"ls: only one operand is supported");
    }
    list(op, opts.has(b'a'), opts.has(b'A'), out)
}

/// A directory's entries (`every`: -a, `almost`: -A), or a file's name. Returns the status.
fn list(op: &CPath, mut every: bool, almost: bool, out: &mut Output) -> i32 {
    let mut names = Stack::default();
    // Reading first: no stat for a directory, the common case.
    if let Err(e) = sys::read_dir(op, &mut names) {
        // Not a directory: its name, if it exists. Like busybox, a dangling symlink is missing
        // (coreutils would list it). Errors share one message call: `ls: OP: strerror`, or for
        // a directory that cannot be read busybox's words (an unreadable model, a random UID on
        // OpenShift, fails the prefetch check with busybox's line).
        // The short form is the long one without its quotes: `ls: ` starts the head, `: ` ends
        // the tail, so only a length and a start differ.
        'file: {
            let (quoted, e) = match sys::stat(op, true) {
                Ok(st) if !st.is_dir() => break 'file,
                Ok(_) => (true, e),
                Err(e) => (false, e),
            };
            const HEAD: &[u8] = b"ls: can't open '";
            const TAIL: &[u8] = b"': ";
            let head = HEAD.get(..if quoted { HEAD.len() } else { b"ls: ".len() });
            let tail = TAIL.get(!quoted as usize..);
            error_line(&[
                head.unwrap_or_default(),
                op,
                tail.unwrap_or_default(),
                errno_text(e),
            ]);
            return 1;
        }
        // A file: the one name listed, as given (a dot file too). One listing loop writes all
        // lines: smaller than a second line call.
        names.push(op);
        names.push(b"\0");
        every = true;
    }
    let all = names.as_slice();
    // The offsets of the names shown: no memory beyond them. Hidden names start with a dot;
    // -A shows all but . and .., -a all.
    let mut index = Stack::default();
    for n in Args::new(all) {
        if every || !matches!(n, [b'.', rest @ ..] if !almost || matches!(rest, [] | [b'.'])) {
            // The offset from the addresses: no running count (smaller).
            let at = n.as_ptr() as usize - all.as_ptr() as usize;
            index.push(&(at as u32).to_ne_bytes());
        }
    }
    // Shell sort with halving gaps: short code, and not quadratic (a selection sort took seconds
    // of CPU for a model of thousands of files, and KServe gives a modelcar 10m CPU). Entries
    // are unique, so the order is total.
    let t = index.as_mut_words();
    let mut gap = t.len() / 2;
    while gap > 0 {
        for i in gap..t.len() {
            let mut j = i;
            while let Some(k) = j.checked_sub(gap) {
                // `get`: no bounds-check panic path (both are in range). The lower one first:
                // smaller.
                let (Some(&y), Some(&x)) = (t.get(k), t.get(j)) else {
                    break;
                };
                if !before(all, x, y) {
                    break;
                }
                t.swap(j, k);
                j = k;
            }
        }
        gap /= 2;
    }
    for &at in t.iter() {
        // As busybox in the C locale, each byte outside printable ASCII is written as `?`: a
        // name holding a newline or an escape sequence cannot pass for two names or move the
        // terminal's cursor.
        for &b in name(all, at) {
            out.write(&[if (b' '..=b'~').contains(&b) { b } else { b'?' }]);
        }
        out.write(b"\n");
    }
    0
}

/// Whether the name at offset `a` sorts before the one at `b`: bytewise, as slices compare,
/// since a name's NUL is below every byte of a longer one. Names are unique, so one differs.
fn before(all: &[u8], a: u32, b: u32) -> bool {
    // Byte by byte, each one checked (the end is never reached: `all` ends with a NUL):
    // cheaper than zipping two iterators, which works out both lengths first, and
    // smaller than reading a 0 past the end.
    let (mut a, mut b) = (a as usize, b as usize);
    while let (Some(&x), Some(&y)) = (all.get(a), all.get(b)) {
        if x != y || x == 0 {
            return x < y;
        }
        a += 1;
        b += 1;
    }
    false
}

/// The NUL-terminated name at offset `at`. Indexed, not `get`: the check is a call to core's
/// slicing function, which the shell already has (smaller); an offset is always in range.
fn name(all: &[u8], at: u32) -> &[u8] {
    Args::new(&all[at as usize..]).next().unwrap_or_default()
}

#[cfg(test)]
#[path = "../tests/ls.rs"]
mod tests;
