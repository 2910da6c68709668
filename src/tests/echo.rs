use super::*;
use crate::args::Args;
use crate::testutil::{args, run_builtin};

/// (status, what was written).
fn echo(list: &[&[u8]]) -> (i32, Vec<u8>) {
    run_builtin(run, list, false)
}

#[test]
fn words_and_newline() {
    assert_eq!(echo(&[]), (0, b"\n".to_vec()));
    assert_eq!(echo(&[b"a"]), (0, b"a\n".to_vec()));
    assert_eq!(echo(&[b"a", b"b c", b"d"]), (0, b"a b c d\n".to_vec()));
    assert_eq!(echo(&[b"", b""]), (0, b" \n".to_vec()));
    assert_eq!(echo(&[b"a", b""]), (0, b"a \n".to_vec()));
    // Bytes are copied as they are (an argument can no longer hold a NUL: see args.rs).
    assert_eq!(echo(&[b"\xff\x01"]), (0, b"\xff\x01\n".to_vec()));
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
    assert_eq!(echo(&[b"-e", b"a\\n"]), (1, b"".to_vec()));
    assert_eq!(echo(&[b"-E", b"a"]), (1, b"".to_vec()));
    assert_eq!(echo(&[b"-ne", b"a"]), (1, b"".to_vec()));
    assert_eq!(echo(&[b"-en"]), (1, b"".to_vec()));
    assert_eq!(echo(&[b"-n", b"-E"]), (1, b"".to_vec()));
}

/// The old `begin_capture`/`end_capture` nesting is now one buffer: each builtin appends to
/// what is already there, and `begin`/`written` delimit the running builtin's part.
#[test]
fn output_appends_to_the_buffer() {
    let mut out = Output::default();
    out.capturing = true;
    let outer = args(&["outer"]);
    assert_eq!(run(Args::new(&outer), &mut out), 0);
    out.begin();
    let inner = args(&["inner"]);
    assert_eq!(run(Args::new(&inner), &mut out), 0);
    assert_eq!(out.written(), b"inner\n");
    assert_eq!(out.finish(b"echo", 0), 0);
    // Capturing: finish keeps the text.
    assert_eq!(out.buf.as_slice(), b"outer\ninner\n");
    out.begin();
    let again = args(&["-n", "again"]);
    assert_eq!(run(Args::new(&again), &mut out), 0);
    assert_eq!(out.written(), b"again");
    assert_eq!(out.buf.as_slice(), b"outer\ninner\nagain");
}

#[test]
fn refused_option_writes_nothing_after_earlier_output() {
    let mut out = Output::default();
    out.capturing = true;
    out.write(b"kept");
    out.begin();
    let a = args(&["-n", "-e", "x"]);
    assert_eq!(run(Args::new(&a), &mut out), 1);
    assert_eq!(out.written(), b"");
    assert_eq!(out.buf.as_slice(), b"kept");
}

/// What the nested captures were for: `$(...)` inside `$(...)`, each taking its own output.
#[test]
fn nested_command_substitutions() {
    assert_eq!(
        crate::testutil::sh("echo outer $(echo $(echo inner) -n) $(echo -n again)"),
        Ok((0, "outer inner -n again\n".into()))
    );
}
