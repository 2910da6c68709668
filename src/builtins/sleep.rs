//! `sleep DURATION...`: the sum of the durations; each is `infinity`/`inf`, or a decimal number
//! (fractions allowed) with an optional s, m, h or d suffix.
//!
//! Sleeping is where the sidecar spends its life, so this is where it gives up its capabilities
//! first (see caps.rs). SIGTERM ends it through the handler in signals.rs.

use crate::caps;
use crate::output::{error_line, Output};
use crate::sys;
use alloc::vec::Vec;

/// A duration in nanoseconds, or forever.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Duration {
    Nanos(u128),
    Forever,
}

pub fn run(args: &[Vec<u8>], _out: &mut Output) -> i32 {
    if args.is_empty() {
        error_line(&[b"sleep: missing operand"]);
        return 1;
    }
    let mut total: u128 = 0;
    let mut forever = false;
    for arg in args {
        match parse(arg) {
            Some(Duration::Forever) => forever = true,
            Some(Duration::Nanos(n)) => total = total.saturating_add(n),
            None => {
                error_line(&[b"sleep: invalid number '", arg, b"'"]);
                return 1;
            }
        }
    }
    caps::drop_all_once();
    if forever {
        sys::pause_forever();
    }
    let secs = (total / 1_000_000_000).min(u64::MAX as u128) as u64;
    sys::sleep(secs, (total % 1_000_000_000) as u32);
    0
}

pub fn parse(arg: &[u8]) -> Option<Duration> {
    if arg.eq_ignore_ascii_case(b"inf") || arg.eq_ignore_ascii_case(b"infinity") {
        return Some(Duration::Forever);
    }
    let (number, unit): (&[u8], u128) = match arg.last()? {
        b's' => (&arg[..arg.len() - 1], 1),
        b'm' => (&arg[..arg.len() - 1], 60),
        b'h' => (&arg[..arg.len() - 1], 3600),
        b'd' => (&arg[..arg.len() - 1], 86400),
        _ => (arg, 1),
    };
    let (int, frac) = match number.iter().position(|&c| c == b'.') {
        Some(dot) => (&number[..dot], &number[dot + 1..]),
        None => (number, &b""[..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.iter().chain(frac).all(u8::is_ascii_digit) || int.len() > 19 {
        return None;
    }
    let whole = int.iter().fold(0u128, |v, &d| v * 10 + (d - b'0') as u128);
    // Nanosecond precision: digits past the ninth cannot change a sleep.
    let mut nanos: u128 = 0;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |&d| (d - b'0') as u128);
    }
    Some(Duration::Nanos((whole * 1_000_000_000 + nanos) * unit))
}
