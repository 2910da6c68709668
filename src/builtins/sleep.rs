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

pub fn run(args: Args, _out: &mut Output) -> i32 {
    if args.is_empty() {
        error_line(&[b"sleep: missing operand"]);
        return 1;
    }
    let (mut secs, mut nanos, mut forever) = (0u64, 0u64, false);
    for arg in args {
        match parse(arg) {
            Some(Duration::Forever) => forever = true,
            Some(Duration::Time(s, n)) => {
                nanos += n as u64;
                secs = secs.saturating_add(s).saturating_add(nanos / NANOS);
                nanos %= NANOS;
            }
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
    sys::sleep(secs, nanos as u32);
    0
}

pub fn parse(arg: &[u8]) -> Option<Duration> {
    if arg.eq_ignore_ascii_case(b"inf") || arg.eq_ignore_ascii_case(b"infinity") {
        return Some(Duration::Forever);
    }
    let (number, unit) = match arg.split_last()? {
        (b's', rest) => (rest, 1),
        (b'm', rest) => (rest, 60),
        (b'h', rest) => (rest, 3600),
        (b'd', rest) => (rest, 86400),
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
    let whole = int.iter().fold(0u64, |v, &d| v * 10 + (d - b'0') as u64);
    // Nanosecond precision: digits past the ninth cannot change a sleep.
    let mut nanos = 0u64;
    for i in 0..9 {
        nanos = nanos * 10 + frac.get(i).map_or(0, |&d| (d - b'0') as u64);
    }
    let nanos = nanos * unit;
    Some(Duration::Time(
        whole.saturating_mul(unit).saturating_add(nanos / NANOS),
        (nanos % NANOS) as u32,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u128 = 1_000_000_000;

    fn nanos(arg: &str) -> u128 {
        match parse(arg.as_bytes()) {
            Some(Duration::Nanos(n)) => n,
            other => panic!("{arg:?}: {other:?}"),
        }
    }

    #[test]
    fn integers() {
        assert_eq!(nanos("0"), 0);
        assert_eq!(nanos("1"), S);
        assert_eq!(nanos("30"), 30 * S);
        assert_eq!(nanos("007"), 7 * S);
        assert_eq!(nanos("3600"), 3600 * S);
    }

    #[test]
    fn fractions() {
        assert_eq!(nanos("1.5"), 1_500_000_000);
        assert_eq!(nanos(".5"), 500_000_000);
        assert_eq!(nanos("5."), 5 * S);
        assert_eq!(nanos("0.000000001"), 1);
        assert_eq!(nanos("0.123456789"), 123_456_789);
        // Digits past nanoseconds are dropped, not rounded.
        assert_eq!(nanos("0.0000000019"), 1);
        assert_eq!(nanos("1.99999999999"), 1_999_999_999);
        assert_eq!(nanos("0.0"), 0);
    }

    #[test]
    fn suffixes() {
        assert_eq!(nanos("2s"), 2 * S);
        assert_eq!(nanos("2m"), 120 * S);
        assert_eq!(nanos("2h"), 7200 * S);
        assert_eq!(nanos("2d"), 2 * 86400 * S);
        assert_eq!(nanos("0.5m"), 30 * S);
        assert_eq!(nanos(".5h"), 1800 * S);
        assert_eq!(nanos("1.s"), S);
        assert_eq!(nanos("0d"), 0);
    }

    #[test]
    fn infinity_any_case() {
        for arg in [
            "inf", "INF", "Inf", "infinity", "INFINITY", "Infinity", "iNfInItY",
        ] {
            assert_eq!(parse(arg.as_bytes()), Some(Duration::Forever), "{arg}");
        }
    }

    #[test]
    fn invalid() {
        for arg in [
            "", "1x", "-1", "1e2", "+1", "1.2.3", ".", "s", ".s", "m", "1ss", "1sm", "1S", "1M",
            " 1", "1 ", "1,5", "0x10", "infs", "in", "infinit", "-inf", "+inf", "nan", "1_000",
            "١",
        ] {
            assert_eq!(parse(arg.as_bytes()), None, "{arg:?}");
        }
        assert_eq!(parse(b"1\0"), None);
        assert_eq!(parse(b"\xff"), None);
    }

    #[test]
    fn overflow() {
        // The largest whole part accepted has 19 digits; even in days it fits in u128.
        let max = "9".repeat(19);
        assert_eq!(nanos(&max), 9_999_999_999_999_999_999 * S);
        assert_eq!(
            nanos(&format!("{max}.999999999d")),
            (9_999_999_999_999_999_999 * S + 999_999_999) * 86400
        );
        // Longer numbers are refused rather than wrapped.
        assert_eq!(parse("9".repeat(20).as_bytes()), None);
        assert_eq!(parse(format!("{}d", "9".repeat(20)).as_bytes()), None);
        assert_eq!(parse("9".repeat(100).as_bytes()), None);
        // A long fraction is fine: it is truncated.
        assert_eq!(nanos(&format!("1.{}", "0".repeat(1000))), S);
    }

    #[test]
    fn run_refuses_bad_operands_before_sleeping() {
        let mut out = Output::default();
        assert_eq!(run(&[], &mut out), 1);
        assert_eq!(run(&[b"x".to_vec()], &mut out), 1);
        // Every operand is checked before any sleep starts.
        assert_eq!(run(&[b"1000".to_vec(), b"1y".to_vec()], &mut out), 1);
        assert_eq!(run(&[b"infinity".to_vec(), b"-1".to_vec()], &mut out), 1);
    }
}
