//! `sleep DURATION...`: the sum of the durations; each is `infinity`/`inf`, or a decimal number
//! (fractions allowed) with an optional s, m, h or d suffix. Durations are counted in
//! nanoseconds in a u64: a total of 584 years or more is forever, as for busybox and coreutils
//! (whose floating-point seconds are as good as forever there). Forever is the longest sleep
//! the kernel takes (292 years), as busybox's LONG_MAX seconds are.
//!
//! Sleeping is where the sidecar spends its life, so this is where it gives up its capabilities
//! first (see caps.rs). SIGTERM ends it through the handler in signals.rs.

use crate::args::Args;
use crate::caps;
use crate::output::Output;
use crate::sys;

const NANOS: u64 = 1_000_000_000;

/// `infinity`, and any total of 2^64 nanoseconds (584 years) or more: forever.
pub const FOREVER: u64 = u64::MAX;

pub fn run(args: Args, out: &mut Output) -> i32 {
    if args.is_empty() {
        return super::usage(b"sleep: missing operand");
    }
    let mut total = 0u64;
    for arg in args {
        let Some(nanos) = parse(arg) else {
            return super::refuse(b"sleep", b": invalid number '", arg);
        };
        total = total.saturating_add(nanos);
    }
    caps::drop_all_once(&mut out.capabilities_dropped);
    // Forever too is one nanosleep: of 2^64 - 1 nanoseconds, that the kernel caps at 292 years.
    sys::sleep(total / NANOS, (total % NANOS) as u32);
    0
}

/// The duration in nanoseconds, saturating at `FOREVER`.
pub fn parse(arg: &[u8]) -> Option<u64> {
    // `inf` or `infinity` in any case: one byte loop (`c | 0x20` lowercases a letter, and no
    // other byte gives one of these letters).
    if (arg.len() == 3 || arg.len() == 8)
        && arg.iter().zip(b"infinity").all(|(c, l)| c | 0x20 == *l)
    {
        return Some(FOREVER);
    }
    // An empty argument has no digit: refused below, as a lone suffix is (no early return:
    // smaller).
    let (number, unit) = match arg {
        [rest @ .., b's'] => (rest, 1),
        [rest @ .., b'm'] => (rest, 60),
        [rest @ .., b'h'] => (rest, 3600),
        [rest @ .., b'd'] => (rest, 86400),
        _ => (arg, 1),
    };
    // Each digit counts `scale` nanoseconds, after multiplying what came before by `base`: 10
    // before the dot, 1 after it, where the scale shrinks instead. Digits past the ninth after
    // the dot cannot change a sleep: their scale is 0.
    let (mut nanos, mut scale, mut base) = (0u64, NANOS, 10);
    for &c in number {
        // Widened first: no byte masking (a byte below '0' wraps past 9 all the same).
        let d = (c as u64).wrapping_sub(b'0' as u64);
        if d > 9 {
            // Not a digit: the one dot allowed, or no number (tested in this order:
            // smaller).
            if c != b'.' || base == 1 {
                return None;
            }
            base = 1;
            continue;
        }
        if base == 1 {
            // scale / 10 as a multiplication by 2^32 / 10 (rounded up), exact below 2^30 (the
            // scale is at most 10^9): no divide instruction (s390x's takes a register pair,
            // which went through memory), and a constant ppc64 builds in two instructions.
            scale = (scale * 0x1999_999A) >> 32;
        }
        nanos = nanos.saturating_mul(base).saturating_add(d * scale);
    }
    // Every byte is a digit but the one dot: there must be a digit. (`base & 1`: 1 after a
    // dot, 0 without one; smaller than `base == 1`.)
    (number.len() > (base & 1) as usize).then(|| nanos.saturating_mul(unit))
}

#[cfg(test)]
#[path = "../tests/sleep.rs"]
mod tests;
