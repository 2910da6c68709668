//! `ls [-1Aa] [FILE...]`: names, one per line, sorted bytewise (the C locale), like busybox ls
//! writing to a pipe. Files named on the command line come first, then each directory's
//! entries (under a `DIR:` header when more than one operand was given).

use super::options;
use crate::args::Args;
use crate::output::{perror, Output};
use crate::sys::{self, Stack};

pub fn run(args: Args, out: &mut Output) -> i32 {
    let Some(opts) = options::parse(b"ls", args, b"1Aa", None) else {
        return 1;
    };
    let (all, almost_all) = (opts.has(b'a'), opts.has(b'A'));
    let operands = if opts.operands.is_empty() {
        Args::new(b".\0")
    } else {
        opts.operands
    };
    let is_dir = |op: &[u8]| {
        let st = sys::stat(op, true).or_else(|_| sys::stat(op, false))?;
        Ok(st.is_dir())
    };
    let mut status = 0;
    for op in operands {
        if let Err(e) = is_dir(op) {
            perror(b"ls", op, e);
            status = 1;
        }
    }
    let mut lines = 0;
    in_order(operands, &|op| is_dir(op) == Ok(false), &mut |f| {
        out.line(f);
        lines += 1;
    });
    let headers = operands.len() > 1;
    in_order(operands, &|op| is_dir(op) == Ok(true), &mut |dir| {
        let mut names = Stack::default();
        if headers {
            if lines > 0 {
                out.write(b"\n");
            }
            lines += 1;
        }
        if let Err(e) = sys::read_dir(dir, &mut names) {
            perror(b"ls", dir, e);
            status = 1;
            return;
        }
        if headers {
            out.write(dir);
            out.line(b":");
        }
        let shown =
            |n: &[u8]| all || (n != b"." && n != b".." && (almost_all || !n.starts_with(b".")));
        in_order(Args::new(names.as_slice()), &shown, &mut |n| out.line(n));
    });
    status
}

/// Calls `each` on the items that `keep` accepts, in bytewise order (equal items in their
/// given order). A selection sort that needs no memory: directories in a modelcar hold a
/// handful of names, and core's sort routines would double the binary's size.
fn in_order<'a>(items: Args<'a>, keep: &dyn Fn(&[u8]) -> bool, each: &mut dyn FnMut(&'a [u8])) {
    let mut prev: Option<(&[u8], usize)> = None;
    loop {
        let mut best = None;
        for item in items.enumerate().map(|(i, item)| (item, i)) {
            if prev.is_some_and(|p| item <= p) || best.is_some_and(|b| item >= b) || !keep(item.0) {
                continue;
            }
            best = Some(item);
        }
        let Some(next) = best else { return };
        each(next.0);
        prev = best;
    }
}

#[cfg(test)]
#[path = "../tests/ls.rs"]
mod tests;
