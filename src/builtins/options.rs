//! Short-option parsing shared by the builtins: `-sf`, `-s -f`, `-m 755`, `-m755`, `--`.

use crate::args::Args;
use crate::output::error_line;

pub struct Options<'a> {
    /// Which of the allowed flag letters were given, one bit each.
    seen: u32,
    letters: &'static [u8],
    /// The value of the one option that takes a value, if given.
    pub value: Option<&'a [u8]>,
    pub operands: Args<'a>,
}

impl Options<'_> {
    pub fn has(&self, letter: u8) -> bool {
        self.letters
            .iter()
            .position(|&l| l == letter)
            .is_some_and(|i| self.seen & 1 << i != 0)
    }
}

/// Parses leading options. `letters` are the flags; `valued` the one letter taking a value.
/// On a bad option it prints `NAME: invalid option -- 'X'` and returns None.
pub fn parse<'a>(
    name: &[u8],
    args: Args<'a>,
    letters: &'static [u8],
    valued: Option<u8>,
) -> Option<Options<'a>> {
    let mut opts = Options {
        seen: 0,
        letters,
        value: None,
        operands: args,
    };
    let mut rest = args;
    while let Some(arg) = rest.next() {
        if arg == b"--" {
            opts.operands = rest;
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            break;
        }
        for (j, &c) in arg.iter().enumerate().skip(1) {
            if Some(c) == valued {
                opts.value = Some(if j + 1 < arg.len() {
                    &arg[j + 1..]
                } else {
                    let Some(v) = rest.next() else {
                        error_line(&[name, b": option requires an argument -- '", &[c], b"'"]);
                        return None;
                    };
                    v
                });
                break;
            }
            let Some(k) = letters.iter().position(|&l| l == c) else {
                error_line(&[name, b": invalid option -- '", &[c], b"'"]);
                return None;
            };
            opts.seen |= 1 << k;
        }
        opts.operands = rest;
    }
    Some(opts)
}

#[cfg(test)]
#[path = "../tests/options.rs"]
mod tests;
