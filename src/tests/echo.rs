use super::*;
use crate::testutil::args;

/// (status, what was written).
fn echo(list: &[&[u8]]) -> (i32, Vec<u8>) {
    let mut out = Output::default();
    out.begin_capture();
    let status = run(&args(list), &mut out);
    (status, out.end_capture())
}

#[test]
fn words_and_newline() {
    assert_eq!(echo(&[]), (0, b"\n".to_vec()));
    assert_eq!(echo(&[b"a"]), (0, b"a\n".to_vec()));
    assert_eq!(echo(&[b"a", b"b c", b"d"]), (0, b"a b c d\n".to_vec()));
    assert_eq!(echo(&[b"", b""]), (0, b" \n".to_vec()));
    assert_eq!(echo(&[b"a", b""]), (0, b"a \n".to_vec()));
    assert_eq!(echo(&[b"\xff\0"]), (0, b"\xff\0\n".to_vec()));
}

#[test]
fn backslashes_are_printed_as_they_are() {
    assert_eq!(echo(&[b"a\\nb\\c"]), (0, b"a\\nb\\c\n".to_vec()));
    assert_eq!(echo(&[b"\\"]), (0, b"\\\n".to_vec()));
}

#[test]
fn dash_n() {
    assert_eq!(echo(&[b"-n"]), (0, b"".to_vec()));
    assert_eq!(echo(&[b"-n", b"a"]), (0, b"a".to_vec()));
    assert_eq!(echo(&[b"-nn", b"a", b"b"]), (0, b"a b".to_vec()));
    assert_eq!(echo(&[b"-n", b"-n", b"a"]), (0, b"a".to_vec()));
    // Only leading options count.
    assert_eq!(echo(&[b"a", b"-n"]), (0, b"a -n\n".to_vec()));
    assert_eq!(echo(&[b"-n", b"a", b"-n"]), (0, b"a -n".to_vec()));
}

#[test]
fn words_that_are_not_options() {
    assert_eq!(echo(&[b"-"]), (0, b"-\n".to_vec()));
    assert_eq!(echo(&[b"--"]), (0, b"--\n".to_vec()));
    assert_eq!(echo(&[b"-x"]), (0, b"-x\n".to_vec()));
    assert_eq!(echo(&[b"-nx", b"a"]), (0, b"-nx a\n".to_vec()));
    assert_eq!(echo(&[b"-n-"]), (0, b"-n-\n".to_vec()));
    assert_eq!(echo(&[b"-n", b"--", b"a"]), (0, b"-- a".to_vec()));
    assert_eq!(echo(&[b"-N"]), (0, b"-N\n".to_vec()));
}

#[test]
fn dash_e_is_refused() {
    assert_eq!(echo(&[b"-e", b"a\\n"]), (2, b"".to_vec()));
    assert_eq!(echo(&[b"-E", b"a"]), (2, b"".to_vec()));
    assert_eq!(echo(&[b"-ne", b"a"]), (2, b"".to_vec()));
    assert_eq!(echo(&[b"-en"]), (2, b"".to_vec()));
    assert_eq!(echo(&[b"-n", b"-E"]), (2, b"".to_vec()));
}

#[test]
fn nested_captures_go_to_the_innermost() {
    let mut out = Output::default();
    out.begin_capture();
    run(&[b"outer".to_vec()], &mut out);
    out.begin_capture();
    run(&[b"inner".to_vec()], &mut out);
    assert_eq!(out.end_capture(), b"inner\n");
    run(&[b"-n".to_vec(), b"again".to_vec()], &mut out);
    assert_eq!(out.end_capture(), b"outer\nagain");
}
