//! `echo [-n] [ARG...]`: the arguments, space-separated, then a newline unless -n.
//! Like busybox's echo, backslashes are printed as they are. `-e`/`-E` are refused rather
//! than half-done.

use crate::errors::errno_text;
use crate::output::{error_line, Output};
use alloc::vec::Vec;

pub fn run(args: &[Vec<u8>], out: &mut Output) -> i32 {
    let mut newline = true;
    let mut rest = args;
    // Leading words made only of option letters are options (`-n`, `-nn`); anything else is text.
    while let Some((first, tail)) = rest.split_first() {
        if first.len() < 2 || first[0] != b'-' || !first[1..].iter().all(|c| b"neE".contains(c)) {
            break;
        }
        if let Some(&c) = first[1..].iter().find(|&&c| c != b'n') {
            error_line(&[b"echo: option -", &[c], b" is not supported (only -n)"]);
            return 2;
        }
        newline = false;
        rest = tail;
    }
    let mut line = Vec::new();
    for (i, arg) in rest.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        line.extend_from_slice(arg);
    }
    if newline {
        line.push(b'\n');
    }
    match out.write(&line) {
        Ok(()) => 0,
        Err(e) => {
            error_line(&[b"echo: write error: ", errno_text(e).as_bytes()]);
            1
        }
    }
}
