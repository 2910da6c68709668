use super::*;
use crate::testutil::run_builtin;

const S: u128 = 1_000_000_000;

/// The duration in nanoseconds (a finite one).
fn nanos(arg: &str) -> u128 {
    match parse(arg.as_bytes()) {
        Some(n) if n != FOREVER => n as u128,
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
        assert_eq!(parse(arg.as_bytes()), Some(FOREVER), "{arg}");
    }
}

#[test]
fn invalid() {
    for arg in [
        "", "1x", "-1", "1e2", "+1", "1.2.3", ".", "s", ".s", "m", "1ss", "1sm", "1S", "1M", " 1",
        "1 ", "1,5", "0x10", "infs", "in", "infinit", "-inf", "+inf", "nan", "1_000", "١",
    ] {
        assert_eq!(parse(arg.as_bytes()), None, "{arg:?}");
    }
    assert_eq!(parse(b"1\0"), None);
    assert_eq!(parse(b"\xff"), None);
}

#[test]
fn overflow_saturates_to_forever() {
    // u64 nanoseconds hold 584 years: the largest finite sleep.
    assert_eq!(nanos("18446744073"), 18_446_744_073 * S);
    assert_eq!(nanos("18446744073.709551614"), FOREVER as u128 - 1);
    // Past it, whatever the unit or the number of digits: forever, never wrapped.
    for arg in [
        "18446744073.709551615".to_string(),
        "18446744074".to_string(),
        "213504d".to_string(),
        "9".repeat(20),
        format!("{}.999999999d", "9".repeat(19)),
        "9".repeat(100),
        format!("{}.5", "9".repeat(100)),
    ] {
        assert_eq!(parse(arg.as_bytes()), Some(FOREVER), "{arg}");
    }
    assert_eq!(nanos("213503d"), 213_503 * 86_400 * S);
    // A long fraction is fine: it is truncated.
    assert_eq!(nanos(&format!("1.{}", "0".repeat(1000))), S);
}

/// sleep's status and output (it writes nothing).
fn sleep(list: &[&str]) -> i32 {
    let (status, out) = run_builtin(run, list, false);
    assert_eq!(out, b"", "sleep wrote to standard output");
    status
}

#[test]
fn run_refuses_bad_operands_before_sleeping() {
    assert_eq!(sleep(&[]), 1);
    assert_eq!(sleep(&["x"]), 1);
    // Every operand is checked before any sleep starts.
    assert_eq!(sleep(&["1000", "1y"]), 1);
    assert_eq!(sleep(&["infinity", "-1"]), 1);
}

#[test]
fn fractions_of_larger_units() {
    assert_eq!(nanos("0.5m"), 30 * S);
    assert_eq!(nanos(".000000001d"), 86_400);
    assert_eq!(nanos("1.000000001d"), 86_400 * S + 86_400);
    assert_eq!(nanos("0.999999999d"), 86_399 * S + 999_913_600);
    assert_eq!(nanos("1.25h"), 4_500 * S);
}

/// run() sums its operands: nanoseconds past a second must carry into the seconds (the kernel
/// refuses a nanosleep with 1e9 nanoseconds or more, which would return at once).
/// Run in a thread of its own: a sleep drops the calling thread's capabilities.
#[test]
fn run_sums_carrying_nanoseconds_into_seconds() {
    let start = std::time::Instant::now();
    let status = std::thread::spawn(|| sleep(&["0.3", "0.3", "0.3", ".3"]))
        .join()
        .unwrap();
    let elapsed = start.elapsed();
    assert_eq!(status, 0);
    assert!(
        elapsed >= std::time::Duration::from_millis(1200),
        "slept {elapsed:?}"
    );
    assert!(
        elapsed < std::time::Duration::from_secs(30),
        "slept {elapsed:?}"
    );
}

#[test]
fn run_with_zero_returns_at_once() {
    let status = std::thread::spawn(|| sleep(&["0", "0s", ".0m"]))
        .join()
        .unwrap();
    assert_eq!(status, 0);
}
