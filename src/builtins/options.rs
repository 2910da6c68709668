//! Short-option parsing shared by the builtins: `-sf`, `-s -f`, `-m 755`, `-m755`, `--`.

use crate::output::error_line;
use alloc::vec::Vec;

pub struct Options<'a> {
    /// Which of the allowed flag letters were given.
    seen: [bool; 8],
    letters: &'static [u8],
    /// The value of the one option that takes a value, if given.
    pub value: Option<&'a [u8]>,
    pub operands: &'a [Vec<u8>],
}

impl Options<'_> {
    pub fn has(&self, letter: u8) -> bool {
        self.letters
            .iter()
            .position(|&l| l == letter)
            .is_some_and(|i| self.seen[i])
    }
}

/// Parses leading options. `letters` are the flags; `valued` the one letter taking a value.
/// On a bad option it prints `NAME: invalid option -- 'X'` and returns None.
pub fn parse<'a>(
    name: &[u8],
    args: &'a [Vec<u8>],
    letters: &'static [u8],
    valued: Option<u8>,
) -> Option<Options<'a>> {
    let mut opts = Options {
        seen: [false; 8],
        letters,
        value: None,
        operands: args,
    };
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_slice();
        if arg == b"--" {
            i += 1;
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            break;
        }
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j];
            if Some(c) == valued {
                let value = if j + 1 < arg.len() {
                    &arg[j + 1..]
                } else {
                    i += 1;
                    match args.get(i) {
                        Some(v) => v.as_slice(),
                        None => {
                            error_line(&[name, b": option requires an argument -- '", &[c], b"'"]);
                            return None;
                        }
                    }
                };
                opts.value = Some(value);
                break;
            }
            match letters.iter().position(|&l| l == c) {
                Some(k) => opts.seen[k] = true,
                None => {
                    error_line(&[name, b": invalid option -- '", &[c], b"'"]);
                    return None;
                }
            }
            j += 1;
        }
        i += 1;
    }
    opts.operands = &args[i..];
    Some(opts)
}
