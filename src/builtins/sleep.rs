//! `sleep DURATION...`: the sum of the durations; each is `infinity`/`inf`, or a decimal number
//! (fractions allowed) with an optional s, m, h or d suffix.
//!
//! Sleeping is where the sidecar spends its life, so this is where it gives up its capabilities
//! first (see caps.rs). SIGTERM ends it through the handler in signals.rs.

use crate::args::Args;
use crate::caps;
use crate::output::{error_line, Output};
use crate::sys;

const NANOS: u64 = 1_000_000_000;

/// A duration: whole seconds (saturating) and nanoseconds, or forever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Duration {
    Time(u64, u32),
    Forever,
}

pub fn run(args: Args, out: &mut Output) -> i32 {
    if args.is_empty() {
        error_line(&[b"sleep: missing operand"]);
        return 1;
    }
    let (mut secs, mut nanos, mut forever) = (0u64, 0u64, false);
    for arg in args {
        match parse(arg) {
            Some(Duration::Forever) => forever = true,
            Some(Duration::Time(s, n)) => {
                // Both parts are below a second: at most one second carries.
                nanos += n as u64;
                secs = secs.saturating_add(s);
                if nanos >= NANOS {
                    nanos -= NANOS;
                    secs = secs.saturating_add(1);
                }
            }
            None => return super::refuse(b"sleep", b": invalid number '", arg),
        }
    }
    caps::drop_all_once(&mut out.capabilities_dropped);
    if forever {
        sys::pause_forever();
    }
    sys::sleep(secs, nanos as u32);
    0
}

pub fn parse(arg: &[u8]) -> Option<Duration> {
    // `inf` or `infinity` in any case: one byte loop (`c | 0x20` lowercases a letter, and no
    // other byte gives one of these letters).
    if (arg.len() == 3 || arg.len() == 8)
        && arg.iter().zip(b"infinity").all(|(c, l)| c | 0x20 == *l)
    {
        return Some(Duration::Forever);
    }
    let (number, unit) = match arg.split_last()? {
        (b's', rest) => (rest, 1),
        (b'm', rest) => (rest, 60),
        (b'h', rest) => (rest, 3600),
        (b'd', rest) => (rest, 86400),
        _ => (arg, 1),
    };
    // Seconds, then nanoseconds: digits past the ninth cannot change a sleep.
    let (mut secs, mut nanos, mut scale) = (0u64, 0u64, NANOS);
    let (mut after_dot, mut whole_digits) = (false, 0);
    for &c in number {
        let d = c.wrapping_sub(b'0') as u64;
        if c == b'.' && !after_dot {
            after_dot = true;
            continue;
        }
        if d > 9 {
            return None;
        }
        if after_dot {
            scale /= 10;
            nanos += d * scale;
        } else {
            whole_digits += 1;
            if whole_digits > 19 {
                return None;
            }
            secs = secs * 10 + d;
        }
    }
    // A number needs a digit, before or after the dot (the first one lowers the scale).
    if whole_digits == 0 && scale == NANOS {
        return None;
    }
    let nanos = nanos * unit;
    Some(Duration::Time(
        secs.saturating_mul(unit).saturating_add(nanos / NANOS),
        (nanos % NANOS) as u32,
    ))
}

#[cfg(test)]
#[path = "../tests/sleep.rs"]
mod tests;
