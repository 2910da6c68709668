use super::*;
use crate::testutil::run_builtin;

const S: u128 = 1_000_000_000;

/// The duration in nanoseconds, checking that `Duration::Time` keeps its nanoseconds below a
/// second.
fn nanos(arg: &str) -> u128 {
    match parse(arg.as_bytes()) {
        Some(Duration::Time(secs, n)) => {
            assert!((n as u64) < NANOS, "{arg:?}: {n} nanoseconds");
            secs as u128 * S + n as u128
        }
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
        "", "1x", "-1", "1e2", "+1", "1.2.3", ".", "s", ".s", "m", "1ss", "1sm", "1S", "1M", " 1",
        "1 ", "1,5", "0x10", "infs", "in", "infinit", "-inf", "+inf", "nan", "1_000", "١",
    ] {
        assert_eq!(parse(arg.as_bytes()), None, "{arg:?}");
    }
    assert_eq!(parse(b"1\0"), None);
    assert_eq!(parse(b"\xff"), None);
}

#[test]
fn overflow() {
    // The largest whole part accepted has 19 digits: it fits in u64 seconds.
    let max = "9".repeat(19);
    assert_eq!(nanos(&max), 9_999_999_999_999_999_999 * S);
    assert_eq!(
        parse(max.as_bytes()),
        Some(Duration::Time(9_999_999_999_999_999_999, 0))
    );
    // In days it does not (u128 nanoseconds did): the seconds saturate.
    match parse(format!("{max}.999999999d").as_bytes()) {
        Some(Duration::Time(secs, n)) => assert!(secs == u64::MAX && (n as u64) < NANOS),
        other => panic!("{other:?}"),
    }
    // Longer numbers are refused rather than wrapped.
    assert_eq!(parse("9".repeat(20).as_bytes()), None);
    assert_eq!(parse(format!("{}d", "9".repeat(20)).as_bytes()), None);
    assert_eq!(parse("9".repeat(100).as_bytes()), None);
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
fn seconds_and_nanoseconds_split() {
    assert_eq!(parse(b"1.5"), Some(Duration::Time(1, 500_000_000)));
    assert_eq!(parse(b".000000001"), Some(Duration::Time(0, 1)));
    // A fraction of a larger unit carries into the seconds.
    assert_eq!(parse(b"0.5m"), Some(Duration::Time(30, 0)));
    assert_eq!(parse(b".000000001d"), Some(Duration::Time(0, 86_400)));
    assert_eq!(parse(b"1.000000001d"), Some(Duration::Time(86_400, 86_400)));
    assert_eq!(
        parse(b"0.999999999d"),
        Some(Duration::Time(86_399, 999_913_600))
    );
    assert_eq!(parse(b"1.25h"), Some(Duration::Time(4_500, 0)));
}

#[test]
fn days_saturate_only_past_u64_seconds() {
    let most = u64::MAX / 86_400;
    assert_eq!(
        parse(format!("{most}d").as_bytes()),
        Some(Duration::Time(most * 86_400, 0))
    );
    assert_eq!(
        parse(format!("{}d", most + 1).as_bytes()),
        Some(Duration::Time(u64::MAX, 0))
    );
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
