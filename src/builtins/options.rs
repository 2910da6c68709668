//! Short-option parsing shared by the builtins: `-sf`, `-s -f`, `-m 755`, `-m755`, `--`.

use crate::args::Args;

pub struct Options<'a> {
    /// The flags given: bit `letter % 64` for each. Indexed by the letter itself, `has` is one
    /// bit test wherever it is inlined (a u128 indexed by the byte would need a library call to
    /// shift). Exact for a builtin's own letters as long as no two of them are 64 apart (`1` and
    /// `q` would be): true of `sfn`, `p` and `1Aa`.
    seen: u64,
    /// The value of the one option that takes a value, if given.
    pub value: Option<&'a [u8]>,
    pub operands: Args<'a>,
}

impl Options<'_> {
    #[inline]
    pub fn has(&self, letter: u8) -> bool {
        self.seen >> (letter & 63) & 1 != 0
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
        value: None,
        operands: args,
    };
    let mut rest = args;
    while let Some(arg) = rest.next() {
        if arg == b"--" {
            opts.operands = rest;
            break;
        }
        // Slice patterns rather than indexes: no bounds checks to panic.
        let [b'-', flags @ ..] = arg else {
            break;
        };
        if flags.is_empty() {
            break;
        }
        let mut flags = flags;
        while let [c, after @ ..] = flags {
            flags = after;
            // One message call for both errors: only the middle differs.
            let problem: &[u8] = if Some(*c) == valued {
                // The rest of the argument is the value, or else the next argument.
                let value = if after.is_empty() {
                    rest.next()
                } else {
                    Some(after)
                };
                if value.is_some() {
                    opts.value = value;
                    break;
                }
                b": option requires an argument -- '"
            } else {
                // A plain loop: `contains` on bytes goes through memchr, bigger here.
                #[allow(clippy::manual_contains)]
                let allowed = letters.iter().any(|l| l == c);
                if allowed {
                    opts.seen |= 1 << (c & 63);
                    continue;
                }
                b": invalid option -- '"
            };
            super::refuse(name, problem, core::slice::from_ref(c));
            return None;
        }
        opts.operands = rest;
    }
    Some(opts)
}

#[cfg(test)]
#[path = "../tests/options.rs"]
mod tests;
