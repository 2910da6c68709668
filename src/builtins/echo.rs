//! `echo [-n] [ARG...]`: the arguments, space-separated, then a newline unless -n.
//! Like busybox's echo, backslashes are printed as they are. `-e`/`-E` are refused rather
//! than half-done.

use crate::args::Args;
use crate::output::{error_line, Output};

pub fn run(mut args: Args, out: &mut Output) -> i32 {
    let mut newline = true;
    // Leading words made only of option letters are options (`-n`, `-nn`); anything else is text.
    let mut text = args;
    while let Some(first) = args.next() {
        if first.len() < 2
            || first[0] != b'-'
            || !first[1..].iter().all(|c| matches!(c, b'n' | b'e' | b'E'))
        {
            break;
        }
        if let Some(&c) = first[1..].iter().find(|&&c| c != b'n') {
            error_line(&[b"echo: option -", &[c], b" is not supported (only -n)"]);
            return 2;
        }
        newline = false;
        text = args;
    }
    for (i, arg) in text.enumerate() {
        if i > 0 {
            out.write(b" ");
        }
        out.write(arg);
    }
    if newline {
        out.write(b"\n");
    }
    0
}

#[cfg(test)]
#[path = "../tests/echo.rs"]
mod tests;
