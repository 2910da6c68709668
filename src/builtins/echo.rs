//! `echo [-n] [ARG...]`: the arguments, space-separated, then a newline unless -n.
//! Like busybox's echo, backslashes are printed as they are. `-e`/`-E` are refused rather
//! than half-done.

use crate::args::Args;
use crate::output::Output;

pub fn run(mut args: Args, out: &mut Output) -> i32 {
    let mut newline = true;
    // Leading words made only of option letters are options (`-n`, `-nn`); anything else is text.
    let mut text = args;
    'options: while let Some(word) = args.next() {
        // Slice patterns: no bounds checks (and smaller than split_first here).
        let [b'-', letters @ ..] = word else {
            break;
        };
        if letters.is_empty() {
            break;
        }
        // The first letter other than n, refused if the whole word is option letters (a u32:
        // no byte masking in the loop, smaller).
        let mut refused = 0u32;
        for &c in letters {
            if c == b'n' {
                continue;
            }
            // `| 0x20`: e or E, and no other byte.
            if c | 0x20 != b'e' {
                break 'options;
            }
            if refused == 0 {
                refused = c as u32;
            }
        }
        if refused != 0 {
            // busybox's -e and -E are not implemented: refused like an unknown option.
            return super::refuse(b"echo", b": invalid option -- '", &[refused as u8]);
        }
        newline = false;
        text = args;
    }
    while let Some(arg) = text.next() {
        out.write(arg);
        if !text.is_empty() {
            out.write(b" ");
        }
    }
    if newline {
        out.write(b"\n");
    }
    0
}

#[cfg(test)]
#[path = "../tests/echo.rs"]
mod tests;
