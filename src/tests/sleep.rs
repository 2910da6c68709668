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
