use super::*;
use crate::testutil::{bytes, run_builtin, TempDir};
use std::path::Path;

/// `test` as the shell's builtin: the status (test writes nothing to standard output).
fn test(list: &[&[u8]]) -> i32 {
    quiet(run_builtin(run_test, list, true))
}

/// `[` as its own applet.
fn bracket(list: &[&[u8]]) -> i32 {
    quiet(run_builtin(run_bracket, list, false))
}

/// `[` as the shell's builtin.
fn bracket_in_shell(list: &[&[u8]]) -> i32 {
    quiet(run_builtin(run_bracket, list, true))
}

fn quiet((status, out): (i32, Vec<u8>)) -> i32 {
    assert_eq!(out, b"", "test wrote to standard output");
    status
}

#[test]
fn argument_counts() {
    assert_eq!(test(&[]), 1);
    assert_eq!(test(&[b"x"]), 0);
    assert_eq!(test(&[b""]), 1);
    // One argument is a string test even when it looks like an operator.
    for op in [&b"-n"[..], b"-z", b"-e", b"!", b"=", b"(", b")", b"]"] {
        assert_eq!(test(&[op]), 0, "{}", String::from_utf8_lossy(op));
    }
}

#[test]
fn string_operators() {
    assert_eq!(test(&[b"-n", b"a"]), 0);
    assert_eq!(test(&[b"-n", b""]), 1);
    assert_eq!(test(&[b"-z", b""]), 0);
    assert_eq!(test(&[b"-z", b"a"]), 1);
    assert_eq!(test(&[b"a", b"=", b"a"]), 0);
    assert_eq!(test(&[b"a", b"=", b"b"]), 1);
    assert_eq!(test(&[b"a", b"!=", b"b"]), 0);
    assert_eq!(test(&[b"a", b"!=", b"a"]), 1);
    assert_eq!(test(&[b"", b"=", b""]), 0);
    // Three arguments with a binary operator in the middle: always a comparison.
    assert_eq!(test(&[b"=", b"=", b"="]), 0);
    assert_eq!(test(&[b"!", b"=", b"!"]), 0);
    assert_eq!(test(&[b"!", b"=", b"x"]), 1);
    assert_eq!(test(&[b"-n", b"=", b"-n"]), 0);
    assert_eq!(test(&[b"(", b"=", b")"]), 1);
}

#[test]
fn negation() {
    assert_eq!(test(&[b"!", b"a"]), 1);
    assert_eq!(test(&[b"!", b""]), 0);
    assert_eq!(test(&[b"!", b"-z", b"a"]), 0);
    assert_eq!(test(&[b"!", b"-n", b"a"]), 1);
    assert_eq!(test(&[b"!", b"!", b"a"]), 0);
    assert_eq!(test(&[b"!", b"!"]), 1);
    assert_eq!(test(&[b"!", b"a", b"=", b"b"]), 0);
    assert_eq!(test(&[b"!", b"a", b"=", b"a"]), 1);
    // Errors inside a negation stay errors.
    assert_eq!(test(&[b"!", b"-x", b"a"]), 2);
    assert_eq!(test(&[b"!", b"a", b"b"]), 2);
}

#[test]
fn errors_are_status_2() {
    // Operators this build leaves out: an error, never a string test that happens to be true.
    for op in [
        &b"-x"[..],
        b"-r",
        b"-w",
        b"-b",
        b"-c",
        b"-p",
        b"-S",
        b"-t",
        b"-u",
        b"-g",
        b"-q",
        b"a",
        b"=",
        b"]",
    ] {
        assert_eq!(test(&[op, b"/"]), 2, "{}", String::from_utf8_lossy(op));
    }
    for op in [
        &b"-eq"[..],
        b"-ne",
        b"-lt",
        b"-gt",
        b"-le",
        b"-ge",
        b"-nt",
        b"-ot",
        b"-ef",
        b"-a",
        b"-o",
        b"<",
        b">",
        b"b",
    ] {
        assert_eq!(
            test(&[b"1", op, b"1"]),
            2,
            "{}",
            String::from_utf8_lossy(op)
        );
    }
    // Four words that are not `! EXPR`, and more than four.
    assert_eq!(test(&[b"a", b"=", b"b", b"c"]), 2);
    assert_eq!(test(&[b"a", b"b", b"c", b"d"]), 2);
    assert_eq!(test(&[b"-n", b"a", b"-a", b"b"]), 2);
    assert_eq!(test(&[b"a", b"=", b"a", b"-a", b"b", b"=", b"b"]), 2);
    assert_eq!(test(&[b"!", b"!", b"!", b"!", b"a"]), 2);
}

#[test]
fn parentheses_are_errors() {
    assert_eq!(test(&[b"(", b"a", b")"]), 2);
    assert_eq!(test(&[b"(", b"", b")"]), 2);
    assert_eq!(test(&[b"(", b"-z", b"", b")"]), 2);
    assert_eq!(test(&[b"(", b"a", b"b"]), 2);
    assert_eq!(test(&[b"(", b"a"]), 2);
    assert_eq!(test(&[b"!", b"(", b"a", b")"]), 2);
    // Still plain strings where POSIX reads them as strings.
    assert_eq!(test(&[b"("]), 0);
    assert_eq!(test(&[b"!", b"("]), 1);
    assert_eq!(test(&[b"(", b"=", b"("]), 0);
    assert_eq!(test(&[b"-n", b"("]), 0);
}

#[test]
fn bracket_needs_closing_bracket() {
    assert_eq!(bracket(&[b"a", b"]"]), 0);
    assert_eq!(bracket(&[b"]"]), 1);
    assert_eq!(bracket(&[b"", b"]"]), 1);
    assert_eq!(bracket(&[b"a", b"=", b"a", b"]"]), 0);
    assert_eq!(bracket(&[b"a", b"!=", b"a", b"]"]), 1);
    assert_eq!(bracket(&[]), 2);
    assert_eq!(bracket(&[b"a"]), 2);
    assert_eq!(bracket(&[b"a", b"]", b"x"]), 2);
    assert_eq!(bracket(&[b"-n", b"a", b"] "]), 2);
    // The "]" is looked for past the fourth word, and before the count is judged.
    assert_eq!(bracket(&[b"a", b"b", b"c", b"d", b"e"]), 2);
    assert_eq!(bracket(&[b"a", b"b", b"c", b"d", b"e", b"]"]), 2);
    assert_eq!(bracket(&[b"!", b"!", b"!", b"a", b"]"]), 1);
    assert_eq!(bracket(&[b"]", b"]"]), 0);
    // In the shell too.
    assert_eq!(bracket_in_shell(&[b"x"]), 2);
    assert_eq!(bracket_in_shell(&[b"x", b"]"]), 0);
}

#[test]
fn files_dirs_and_symlinks() {
    let tmp = TempDir::new("test-files");
    let file = tmp.path("file");
    let empty = tmp.path("empty");
    let dir = tmp.path("dir");
    let to_file = tmp.path("to-file");
    let to_dir = tmp.path("to-dir");
    let dangling = tmp.path("dangling");
    let missing = tmp.path("missing");
    std::fs::write(&file, b"data").unwrap();
    std::fs::write(&empty, b"").unwrap();
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::symlink(&file, &to_file).unwrap();
    std::os::unix::fs::symlink("dir", &to_dir).unwrap();
    std::os::unix::fs::symlink(&missing, &dangling).unwrap();

    let check = |op: &[u8], path: &Path, want: i32| {
        assert_eq!(
            test(&[op, bytes(path)]),
            want,
            "test {} {}",
            String::from_utf8_lossy(op),
            path.display()
        );
        assert_eq!(bracket_in_shell(&[op, bytes(path), b"]"]), want);
    };
    // (path, -e, -f, -d, -s, -L)
    let table: &[(&Path, i32, i32, i32, i32, i32)] = &[
        (&file, 0, 0, 1, 0, 1),
        (&empty, 0, 0, 1, 1, 1),
        (&dir, 0, 1, 0, 0, 1),
        (&to_file, 0, 0, 1, 0, 0),
        (&to_dir, 0, 1, 0, 0, 0),
        (&dangling, 1, 1, 1, 1, 0),
        (&missing, 1, 1, 1, 1, 1),
    ];
    for &(path, e, f, d, s, l) in table {
        check(b"-e", path, e);
        check(b"-f", path, f);
        check(b"-d", path, d);
        if path != dir.as_path() && path != to_dir.as_path() {
            // A directory's size depends on the filesystem.
            check(b"-s", path, s);
        }
        check(b"-L", path, l);
        check(b"-h", path, l);
    }
    // Negated and through a trailing slash.
    assert_eq!(test(&[b"!", b"-e", bytes(&missing)]), 0);
    assert_eq!(test(&[b"!", b"-d", bytes(&dir)]), 1);
    assert_eq!(bracket(&[b"!", b"!", b"-d", bytes(&dir), b"]"]), 0);
    assert_eq!(bracket(&[b"!", b"-f", bytes(&dir), b"]"]), 0);
    let mut dir_slash = bytes(&dir).to_vec();
    dir_slash.push(b'/');
    assert_eq!(test(&[b"-d", &dir_slash]), 0);
    let mut file_slash = bytes(&file).to_vec();
    file_slash.push(b'/');
    assert_eq!(test(&[b"-e", &file_slash]), 1);
    // A path through a file is simply false, not an error.
    assert_eq!(test(&[b"-e", &[bytes(&file), &b"/x"[..]].concat()]), 1);
    // Empty path and the root.
    assert_eq!(test(&[b"-e", b""]), 1);
    assert_eq!(test(&[b"-d", b"/"]), 0);
    assert_eq!(test(&[b"-f", b"/"]), 1);
}
