//! Short-option parsing shared by the builtins: `-sf`, `-s -f`, `-m 755`, `-m755`, `--`, and
//! options after operands, as busybox's getopt takes them.

use crate::args::Args;
use crate::sys::Stack;
use core::num::NonZeroU64;

/// The flags given: bit `letter % 64` for each. Indexed by the letter itself, `has` is one bit
/// test wherever it is inlined (a u128 indexed by the byte would need a library call to shift).
/// Exact for a builtin's own letters as long as no two of them are 64 apart (`1` and `q` would
/// be): true of `sfn`, `p` and `1Aa`. Bit 63 (`?`, no builtin's letter) is always set: never
/// zero, `Option<Flags>` is one register, not a struct returned through memory.
#[derive(Clone, Copy)]
pub struct Flags(NonZeroU64);

impl Flags {
    #[inline]
    pub fn has(self, letter: u8) -> bool {
        self.0.get() >> (letter & 63) & 1 != 0
    }
}

/// Parses the options, wherever they are among the operands (busybox's getopt, glibc's, moves
/// them to the front: `ln a b -s` is `ln -s a b`) up to a `--`. `letters` are the flags,
/// exactly three (filled up with NULs, which no argument holds): an array is one pointer, not a
/// pointer and a length, and with the other arguments that keeps all of them in registers.
/// `valued` is the one letter taking a value and where its value goes, if given. The operands,
/// in their order, are copied to `operands` and `args` is left at them. On a bad option it
/// prints `NAME: invalid option -- 'X'` and returns None. The flags come back in a register
/// and the rest in place: a returned struct of flags, value and operands went through memory,
/// and each caller copied it out again.
pub fn parse<'a>(
    name: &[u8],
    args: &mut Args<'a>,
    letters: &'static [u8; 3],
    mut valued: Option<(u8, &mut Option<&'a [u8]>)>,
    operands: &'a mut Stack,
) -> Option<Flags> {
    let mut seen = 1 << 63;
    let mut options = true;
    while let Some(arg) = args.next() {
        // An option starts with a dash and one more byte (a lone `-` is an operand). Slice
        // patterns rather than indexes: no bounds checks to panic.
        let [b'-', flags @ ..] = arg else {
            operands.push(arg);
            operands.push(&[0]);
            continue;
        };
        if !options || flags.is_empty() {
            operands.push(arg);
            operands.push(&[0]);
            continue;
        }
        // `--`: the end of the options, not an operand.
        if flags == b"-" {
            options = false;
            continue;
        }
        let mut flags = flags;
        while let [c, after @ ..] = flags {
            flags = after;
            // One message call for both errors: only the middle differs.
            let problem: &[u8] = if let Some((_, value)) = valued.as_mut().filter(|v| v.0 == *c) {
                // The rest of the argument is the value, or else the next argument.
                let given = if after.is_empty() {
                    args.next()
                } else {
                    Some(after)
                };
                if given.is_some() {
                    **value = given;
                    break;
                }
                b": option requires an argument -- '"
            } else {
                // A plain loop: `contains` on bytes goes through memchr, bigger here.
                #[allow(clippy::manual_contains)]
                let allowed = letters.iter().any(|l| l == c);
                if allowed {
                    // A rotation: its count is taken mod 64, no mask needed (smaller).
                    seen |= 1u64.rotate_left(*c as u32);
                    continue;
                }
                b": invalid option -- '"
            };
            super::refuse(name, problem, core::slice::from_ref(c));
            return None;
        }
    }
    *args = Args::new(operands.as_slice());
    NonZeroU64::new(seen).map(Flags)
}

#[cfg(test)]
#[path = "../tests/options.rs"]
mod tests;
