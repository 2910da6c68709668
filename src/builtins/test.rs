//! `test EXPR` and `[ EXPR ]`, by the POSIX rules on the number of arguments, with the
//! operators -d -e -f -s -L (-h) -n -z, = and !=, !, and ( ). Anything else is an error with
//! status 2, never a guess.

use crate::args::Args;
use crate::output::{error_line, Output};
use crate::sys;

/// The result of a test: true, false, or an error (already reported).
type Outcome = Result<bool, ()>;

pub fn run_test(args: Args, out: &mut Output) -> i32 {
    status(if out.in_shell { b"sh" } else { b"test" }, args)
}

pub fn run_bracket(args: Args, out: &mut Output) -> i32 {
    let name: &[u8] = if out.in_shell { b"sh" } else { b"[" };
    match args.split_last() {
        Some((b"]", rest)) => status(name, rest),
        _ => {
            error_line(&[name, b": missing ]"]);
            2
        }
    }
}

fn status(name: &[u8], args: Args) -> i32 {
    // More than four arguments is always "too many": four slots and a fifth to say so.
    let mut a: [&[u8]; 5] = [b""; 5];
    let n = args.len().min(a.len());
    for (slot, arg) in a.iter_mut().zip(args) {
        *slot = arg;
    }
    match eval(name, &a[..n]) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(()) => 2,
    }
}

fn eval(name: &[u8], a: &[&[u8]]) -> Outcome {
    match a.len() {
        0 => Ok(false),
        1 => Ok(!a[0].is_empty()),
        2 if a[0] == b"!" => eval(name, &a[1..]).map(|v| !v),
        2 => unary(name, a[0], a[1]),
        3 if is_binary(a[1]) => binary(name, a[0], a[1], a[2]),
        3 if a[0] == b"!" => eval(name, &a[1..]).map(|v| !v),
        3 if a[0] == b"(" && a[2] == b")" => eval(name, &a[1..2]),
        3 => unsupported_or_unknown(name, a[1], a[1]),
        4 if a[0] == b"!" => eval(name, &a[1..]).map(|v| !v),
        4 if a[0] == b"(" && a[3] == b")" => eval(name, &a[1..3]),
        4 if is_binary(a[1]) => unsupported_or_unknown(name, a[3], a[3]),
        _ => {
            error_line(&[
                name,
                b": too many arguments (only simple tests are supported)",
            ]);
            Err(())
        }
    }
}

fn is_binary(op: &[u8]) -> bool {
    matches!(op, b"=" | b"!=")
}

fn unary(name: &[u8], op: &[u8], arg: &[u8]) -> Outcome {
    let stat = |follow| sys::stat(arg, follow).ok();
    Ok(match op {
        b"-n" => !arg.is_empty(),
        b"-z" => arg.is_empty(),
        b"-e" => stat(true).is_some(),
        b"-d" => stat(true).is_some_and(|s| s.is_dir()),
        b"-f" => stat(true).is_some_and(|s| s.is_file()),
        b"-s" => stat(true).is_some_and(|s| s.size > 0),
        b"-L" | b"-h" => stat(false).is_some_and(|s| s.is_symlink()),
        _ => return unsupported_or_unknown(name, op, arg),
    })
}

fn binary(_name: &[u8], left: &[u8], op: &[u8], right: &[u8]) -> Outcome {
    Ok(match op {
        b"=" => left == right,
        _ => left != right,
    })
}

/// A known test operator this build leaves out, or a word that is no operator at all.
fn unsupported_or_unknown(name: &[u8], op: &[u8], operand: &[u8]) -> Outcome {
    const KNOWN: &[&[u8]] = &[
        b"-a", b"-o", b"-b", b"-c", b"-g", b"-G", b"-k", b"-N", b"-O", b"-p", b"-r", b"-S", b"-t",
        b"-u", b"-w", b"-x", b"-eq", b"-ne", b"-lt", b"-le", b"-gt", b"-ge", b"-nt", b"-ot",
        b"-ef", b"<", b">",
    ];
    if KNOWN.contains(&op) {
        error_line(&[name, b": ", op, b": operator not supported"]);
    } else {
        error_line(&[name, b": ", operand, b": unknown operand"]);
    }
    Err(())
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{args, bytes, TempDir};
    use std::path::Path;

    fn test(list: &[&[u8]]) -> i32 {
        run_test(&args(list), &mut Output::in_shell())
    }

    fn bracket(list: &[&[u8]]) -> i32 {
        run_bracket(&args(list), &mut Output::default())
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
    fn negation_and_parentheses() {
        assert_eq!(test(&[b"!", b"a"]), 1);
        assert_eq!(test(&[b"!", b""]), 0);
        assert_eq!(test(&[b"!", b"-z", b"a"]), 0);
        assert_eq!(test(&[b"!", b"-n", b"a"]), 1);
        assert_eq!(test(&[b"!", b"!", b"a"]), 0);
        assert_eq!(test(&[b"!", b"a", b"=", b"b"]), 0);
        assert_eq!(test(&[b"!", b"a", b"=", b"a"]), 1);
        assert_eq!(test(&[b"(", b"a", b")"]), 0);
        assert_eq!(test(&[b"(", b"", b")"]), 1);
        assert_eq!(test(&[b"(", b"-z", b"", b")"]), 0);
        assert_eq!(test(&[b"(", b"!", b"", b")"]), 0);
        // Errors inside a negation stay errors.
        assert_eq!(test(&[b"!", b"-x", b"a"]), 2);
    }

    #[test]
    fn errors_are_status_2() {
        // Known operators this build leaves out.
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
            b"-a",
            b"-o",
        ] {
            assert_eq!(
                test(&[b"1", op, b"1"]),
                2,
                "{}",
                String::from_utf8_lossy(op)
            );
        }
        // Not operators at all.
        assert_eq!(test(&[b"-q", b"a"]), 2);
        assert_eq!(test(&[b"a", b"b"]), 2);
        assert_eq!(test(&[b"a", b"b", b"c"]), 2);
        assert_eq!(test(&[b"a", b"=", b"b", b"c"]), 2);
        assert_eq!(test(&[b"a", b"b", b"c", b"d"]), 2);
        assert_eq!(test(&[b"a", b"=", b"a", b"-a", b"b", b"=", b"b"]), 2);
        assert_eq!(test(&[b"(", b"a", b"b"]), 2);
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
        // In the shell too.
        assert_eq!(run_bracket(&args(&[b"x"]), &mut Output::in_shell()), 2);
        assert_eq!(
            run_bracket(&args(&[b"x", b"]"]), &mut Output::in_shell()),
            0
        );
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
            let mut b = args(&[op, bytes(path)]);
            b.push(b"]".to_vec());
            assert_eq!(run_bracket(&b, &mut Output::in_shell()), want);
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
}
