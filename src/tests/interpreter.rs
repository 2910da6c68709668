use super::*;
use crate::testutil::{self, TempDir};
use std::string::String;

/// Runs `src` (pid 42, standard output captured): (status, stdout). Panics on a syntax error.
fn sh(src: &str) -> (i32, String) {
    testutil::sh(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn status(src: &str) -> i32 {
    sh(src).0
}

fn out(src: &str) -> String {
    sh(src).1
}

/// The path of `name` inside `tmp`, single-quoted for a script (`'` itself is escaped).
fn quoted_path(tmp: &TempDir, name: &str) -> String {
    let p = String::from_utf8(tmp.bytes(name)).unwrap();
    format!("'{}'", p.replace('\'', "'\\''"))
}

#[test]
fn simple_commands_and_statuses() {
    assert_eq!(sh("echo a b"), (0, "a b\n".into()));
    assert_eq!(sh("true"), (0, "".into()));
    assert_eq!(sh("false"), (1, "".into()));
    assert_eq!(sh("echo 'a  b' \"c\"d\\ e"), (0, "a  b cd e\n".into()));
    assert_eq!(sh("echo -n a; echo b"), (0, "ab\n".into()));
    assert_eq!(sh("[ a = a ] && echo yes"), (0, "yes\n".into()));
    assert_eq!(sh("test -n ''"), (1, "".into()));
    assert_eq!(sh("test a b c d e"), (2, "".into()));
}

#[test]
fn unknown_commands_are_127() {
    assert_eq!(status("nosuchcommand"), 127);
    assert_eq!(status("/bin/true"), 127);
    assert_eq!(status("./true"), 127);
    assert_eq!(status("'if'"), 127);
    // Builtin names are exact.
    assert_eq!(status("Echo"), 127);
    assert_eq!(sh("nosuch || echo fallback"), (0, "fallback\n".into()));
}

#[test]
fn sequences_take_the_last_status() {
    assert_eq!(status("true; false"), 1);
    assert_eq!(status("false; true"), 0);
    assert_eq!(sh("echo a; false; echo b"), (0, "a\nb\n".into()));
    assert_eq!(sh("echo a\nfalse\n"), (1, "a\n".into()));
}

#[test]
fn and_or_status_propagation() {
    assert_eq!(sh("true && echo a || echo b"), (0, "a\n".into()));
    assert_eq!(sh("false && echo a || echo b"), (0, "b\n".into()));
    assert_eq!(sh("false && echo a"), (1, "".into()));
    assert_eq!(sh("true || echo a"), (0, "".into()));
    assert_eq!(status("false || false"), 1);
    assert_eq!(status("false || true"), 0);
    assert_eq!(status("true && false"), 1);
    assert_eq!(status("nosuch && true"), 127);
    assert_eq!(status("false || nosuch"), 127);
    // Left to right, no precedence: (false && x) || y.
    assert_eq!(sh("false && echo x || echo y"), (0, "y\n".into()));
    // (true || x) && y.
    assert_eq!(sh("true || echo x && echo y"), (0, "y\n".into()));
    // (false || true) && z.
    assert_eq!(sh("false || true && echo z"), (0, "z\n".into()));
    // A skipped command keeps the status of the last one run.
    assert_eq!(sh("false && echo no && echo no2"), (1, "".into()));
    assert_eq!(sh("false || false || echo three"), (0, "three\n".into()));
    assert_eq!(status("[ a = b ] || [ a = c ]"), 1);
    assert_eq!(status("test x y || true"), 0);
    assert_eq!(status("test x y && true"), 2);
}

#[test]
fn exit_rules() {
    assert_eq!(sh("exit"), (0, "".into()));
    assert_eq!(sh("exit 3; echo no"), (3, "".into()));
    assert_eq!(sh("echo a; exit 4\necho no"), (4, "a\n".into()));
    assert_eq!(status("false; exit"), 1);
    assert_eq!(status("nosuch; exit"), 127);
    assert_eq!(status("false || exit"), 1);
    assert_eq!(status("true && exit"), 0);
    assert_eq!(status("exit 0"), 0);
    assert_eq!(status("exit 255"), 255);
    // Modulo 256.
    assert_eq!(status("exit 256"), 0);
    assert_eq!(status("exit 257"), 1);
    assert_eq!(status("exit 0200"), 200);
    assert_eq!(status("exit 1234567890"), 1234567890 & 0xff);
    assert_eq!(status("exit 9999999999"), (9_999_999_999u64 & 0xff) as i32);
    // A bad number is an error, status 2, and still exits.
    assert_eq!(sh("exit 12345678901; echo no"), (2, "".into()));
    assert_eq!(sh("exit -1; echo no"), (2, "".into()));
    assert_eq!(sh("exit +1; echo no"), (2, "".into()));
    assert_eq!(sh("exit x; echo no"), (2, "".into()));
    assert_eq!(sh("exit ''; echo no"), (2, "".into()));
    assert_eq!(sh("exit ' 1'; echo no"), (2, "".into()));
    // Only the first argument counts (busybox and dash; found by the differential).
    assert_eq!(sh("exit 1 2; echo no"), (1, "".into()));
    assert_eq!(sh("exit 3 x; echo no"), (3, "".into()));
    assert_eq!(sh("exit x 3; echo no"), (2, "".into()));
    // The number may come from an expansion.
    assert_eq!(status("exit $$"), 42);
    assert_eq!(status("exit $(echo 7)"), 7);
    // A skipped exit does nothing.
    assert_eq!(sh("false && exit 5; echo y"), (0, "y\n".into()));
    assert_eq!(sh("true || exit 5; echo y"), (0, "y\n".into()));
    // After an exit, the rest of an and-or list does not run either.
    assert_eq!(sh("true && exit 3 || echo no"), (3, "".into()));
    assert_eq!(sh("exit 3 && echo no"), (3, "".into()));
    // `exit` as an argument is just a word.
    assert_eq!(sh("echo exit 3"), (0, "exit 3\n".into()));
}

#[test]
fn subshell_exit() {
    assert_eq!(sh("(exit 3)"), (3, "".into()));
    assert_eq!(sh("(exit 3); echo after"), (0, "after\n".into()));
    assert_eq!(sh("(exit 3) || echo failed"), (0, "failed\n".into()));
    assert_eq!(sh("(exit 0) && echo ok"), (0, "ok\n".into()));
    assert_eq!(sh("(echo a; exit 4; echo b) && echo c"), (4, "a\n".into()));
    assert_eq!(sh("(false); exit"), (1, "".into()));
    assert_eq!(
        sh("((exit 5); echo inner); echo outer"),
        (0, "inner\nouter\n".into())
    );
    assert_eq!(sh("((exit 5)) || echo $$"), (0, "42\n".into()));
    assert_eq!(sh("(false; true)"), (0, "".into()));
    assert_eq!(sh("(true; false)"), (1, "".into()));
    assert_eq!(sh("(echo a) && (echo b)"), (0, "a\nb\n".into()));
}

#[test]
fn pid() {
    assert_eq!(out("echo $$"), "42\n");
    assert_eq!(
        out("echo \"$$$$\" /tmp/$$.x '$$' \\$$"),
        "4242 /tmp/42.x $$ $$\n"
    );
    assert_eq!(out("echo $$$"), "42$\n");
    // The largest pid.
    let mut shell = Shell::new(b"sh", b"echo $$", i32::MAX);
    shell.out.capturing = true;
    assert_eq!(shell.check_and_run(), Ok(Some(0)));
    assert_eq!(shell.out.buf.as_slice(), b"2147483647\n");
}

#[test]
fn substitution_strips_trailing_newlines() {
    assert_eq!(out("echo \"<$(echo a)>\""), "<a>\n");
    assert_eq!(out("echo \"<$(echo a; echo; echo)>\""), "<a>\n");
    assert_eq!(out("echo \"<$(echo; echo a)>\""), "<\na>\n");
    assert_eq!(out("echo \"<$(echo a; echo b)>\""), "<a\nb>\n");
    assert_eq!(out("echo \"<$(echo ' a ')>\""), "< a >\n");
    assert_eq!(out("echo \"<$(true)>\""), "<>\n");
    assert_eq!(out("echo \"<$()>\""), "<>\n");
    assert_eq!(out("echo \"<$(echo -n)>\""), "<>\n");
}

#[test]
fn substitution_field_splitting() {
    assert_eq!(out("echo $(echo a; echo b)"), "a b\n");
    assert_eq!(out("echo x$(echo ' a  b ')y"), "x a b y\n");
    assert_eq!(out("echo x$(echo 'a\t\tb')y"), "xa by\n");
    assert_eq!(out("echo \\[$(echo a b)] ]"), "[a b] ]\n");
    // An unquoted empty result makes no field; a quoted one makes an empty field.
    assert_eq!(out("echo $(true) x"), "x\n");
    assert_eq!(out("echo \"$(true)\" x"), " x\n");
    assert_eq!(out("echo ''$(true) x"), " x\n");
    assert_eq!(out("echo $(echo ' ') x"), "x\n");
    // The same, counted by `test -n`: with no operand after -n it tests the string "-n".
    assert_eq!(status("test -n $(true)"), 0);
    assert_eq!(status("test -n \"$(true)\""), 1);
    // Quoted results are not split.
    assert_eq!(out("echo \"$(echo 'a  b')\""), "a  b\n");
    assert_eq!(status("test \"$(echo a b)\" = 'a b'"), 0);
    assert_eq!(status("test $(echo a b) = 'a b'"), 2);
    // Each of several substitutions in one word.
    assert_eq!(out("echo $(echo a)$(echo b c)"), "ab c\n");
    // Nested.
    assert_eq!(
        out("echo $(echo $(echo deep) \"$(echo ' x ')\")"),
        "deep x\n"
    );
    // The command name can come from a substitution.
    assert_eq!(out("$(echo echo) hi"), "hi\n");
    assert_eq!(out("$(echo echo -n) hi"), "hi");
    // Inner output is not written out directly.
    assert_eq!(out("echo $(echo a) b"), "a b\n");
    // $$ inside a substitution.
    assert_eq!(out("echo $(echo $$)"), "42\n");
}

#[test]
fn substitution_statuses() {
    // With no command left, the status is that of the last substitution.
    assert_eq!(status("$(false)"), 1);
    assert_eq!(status("$(exit 5)"), 5);
    assert_eq!(status("$(true) $(false)"), 1);
    assert_eq!(status("$(false)$(true)"), 0);
    assert_eq!(sh("$(exit 3) && echo no || echo yes"), (0, "yes\n".into()));
    // A command that runs has its own status.
    assert_eq!(status("echo $(false)"), 0);
    assert_eq!(status("true $(exit 9)"), 0);
    // exit inside only ends the substitution.
    assert_eq!(sh("echo $(echo a; exit 3; echo b) c"), (0, "a c\n".into()));
    assert_eq!(
        sh("echo \"$(exit 3)\"; echo after"),
        (0, "\nafter\n".into())
    );
    // A bare exit inside uses the status of the substitution's own last command.
    assert_eq!(status("$(false; exit)"), 1);
    assert_eq!(status("false; $(exit)"), 1);
}

#[test]
fn substitution_results_with_glob_characters_are_refused() {
    assert_eq!(sh("echo $(echo '*'); echo no"), (2, "".into()));
    assert_eq!(sh("echo a$(echo 'x?')b"), (2, "".into()));
    // Fields split off before the glob character do not run either.
    assert_eq!(sh("echo $(echo 'ok x y*'); echo no"), (2, "".into()));
    assert_eq!(sh("echo $(echo '[')"), (2, "".into()));
    assert_eq!(sh("echo $(echo '[') || echo no\necho no"), (2, "".into()));
    assert_eq!(
        sh("echo a; echo $(echo b '*') c; echo no"),
        (2, "a\n".into())
    );
    // Quoted, they are fine.
    assert_eq!(sh("echo \"$(echo '*?[')\""), (0, "*?[\n".into()));
    // A refusal ends the whole shell with status 2, from any depth: a subshell, a
    // substitution, nested ones, a loop (found by the differential: the refusal used to end
    // only the innermost subshell or substitution, and the script went on).
    assert_eq!(sh("(echo $(echo '*')) || echo after"), (2, "".into()));
    assert_eq!(
        sh("echo \"<$(echo $(echo '?'); echo no)>\" $$; echo no"),
        (2, "".into())
    );
    assert_eq!(sh("test \"$(echo $(echo '?'))\" || echo X"), (2, "".into()));
    assert_eq!(
        sh("while true; do echo a; (echo \"$(echo $(echo '*'))\"); done; echo no"),
        (2, "a\n".into())
    );
    assert_eq!(
        sh("until echo $(echo '[x]'); do echo no; done"),
        (2, "".into())
    );
}

#[test]
fn loops_that_never_run() {
    assert_eq!(sh("while false; do echo x; done"), (0, "".into()));
    assert_eq!(sh("until true; do echo x; done"), (0, "".into()));
    assert_eq!(
        sh("until true; do echo x; done && echo after"),
        (0, "after\n".into())
    );
    // The condition's output is written each time it runs.
    assert_eq!(
        sh("while echo c; false; do echo x; done"),
        (0, "c\n".into())
    );
}

#[test]
fn loops_run_until_their_condition_changes() {
    let tmp = TempDir::new("loops");
    let d = quoted_path(&tmp, "d");
    assert_eq!(
        sh(&format!("until test -d {d}; do echo body; mkdir {d}; done")),
        (0, "body\n".into())
    );
    assert!(tmp.path("d").is_dir());
    // The loop's status is the last body command's.
    let e = quoted_path(&tmp, "e");
    assert_eq!(
        sh(&format!("until [ -d {e} ]; do mkdir {e}; false; done")),
        (1, "".into())
    );
    let f = quoted_path(&tmp, "f");
    assert_eq!(
        sh(&format!(
            "while [ ! -d {f} ]; do mkdir {f} && echo made; done"
        )),
        (0, "made\n".into())
    );
    // Several rounds: the condition runs once more than the body.
    let g = quoted_path(&tmp, "g");
    let h = quoted_path(&tmp, "g/h");
    assert_eq!(
        sh(&format!(
            "until echo c; [ -d {h} ]; do [ -d {g} ] && mkdir {h} || mkdir {g}; echo b; done"
        )),
        (0, "c\nb\nc\nb\nc\n".into())
    );
    assert_eq!(tmp.entries("g"), ["h"]);
}

#[test]
fn exit_inside_loops() {
    assert_eq!(
        sh("while true; do echo a; exit 7; done; echo no"),
        (7, "a\n".into())
    );
    assert_eq!(
        sh("(while true; do exit 3; done); echo $$"),
        (0, "42\n".into())
    );
    assert_eq!(sh("until false; do (exit 4) || exit; done"), (4, "".into()));
    assert_eq!(
        sh("echo $(while true; do echo in; exit 6; done)-$(exit 1)"),
        (0, "in-\n".into())
    );
    // An exit in the condition ends the loop too.
    assert_eq!(
        sh("while exit 8; do echo no; done; echo no"),
        (8, "".into())
    );
}

#[test]
fn last_status_is_tracked_across_commands() {
    // A bare `exit` takes the status of the last command run, whatever ran before it.
    assert_eq!(sh("false\nexit\necho no"), (1, "".into()));
    assert_eq!(status("true; false; exit"), 1);
    assert_eq!(status("false; true; exit"), 0);
    assert_eq!(status("nosuch\n\nexit"), 127);
    assert_eq!(status("(exit 6); exit"), 6);
    assert_eq!(status("$(exit 9); exit"), 9);
    assert_eq!(status("echo $(exit 9); exit"), 0);
    // A skipped command does not count.
    assert_eq!(status("false && true; exit"), 1);
    assert_eq!(status("true || false; exit"), 0);
    // A loop's status is its last body command's, or 0 when the body never ran.
    assert_eq!(status("false; while false; do true; done; exit"), 0);
    // The last status is also left on the shell.
    let mut shell = Shell::new(b"sh", b"true; false", 42);
    assert_eq!(shell.check_and_run(), Ok(Some(1)));
    assert_eq!(shell.last_status, 1);
}

#[test]
fn deep_nesting_runs() {
    // The parser's limit, run on a thread with the stack size of a main thread.
    let n = crate::parser::MAX_NESTING;
    let src = format!(
        "echo {}x{}; {}echo y{}; {}while true; do echo z; exit 3; done{}",
        "$(echo ".repeat(n),
        ")".repeat(n),
        "(".repeat(n),
        ")".repeat(n),
        "while ".repeat(n - 1),
        "; do true; done".repeat(n - 1)
    );
    let r = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || testutil::sh(&src))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(r, Ok((3, "x\ny\nz\n".into())));
}

/// `sh -e`: the failures that end the shell are the untested ones, as in busybox and dash.
#[test]
fn errexit() {
    let e = |src: &str| {
        let mut text = crate::sys::Stack::default();
        let src = crate::lexer::join_lines(src.as_bytes(), &mut text);
        let mut shell = Shell::new(b"sh", src, 42);
        shell.out.capturing = true;
        shell.errexit = true;
        let status = shell.check_and_run().unwrap().unwrap();
        (
            status,
            std::string::String::from_utf8(shell.out.buf.as_slice().to_vec()).unwrap(),
        )
    };
    let cases = [
        ("false; echo no", 1, ""),
        ("false || echo a; echo b", 0, "a\nb\n"),
        ("false && echo no; echo b", 0, "b\n"),
        ("(false; echo no); echo c", 1, ""),
        ("(false; echo a) && echo b", 0, "a\nb\n"),
        ("(false; echo a) || echo b; echo c", 0, "a\nc\n"),
        ("while false; do echo x; done; echo d", 0, "d\n"),
        ("until (false; echo a); do echo no; exit 3; done", 0, "a\n"),
        ("true && false; echo no", 1, ""),
        ("false && true; echo yes", 0, "yes\n"),
        ("while true; do false; echo no; done", 1, ""),
        ("until [ -d n ]; do (false); echo no; done; echo z", 1, ""),
        ("(false) && echo no; echo yes", 0, "yes\n"),
        // Not inside `$(...)` (busybox; dash applies it there), but on a command that is
        // only a failing `$(...)`.
        ("echo \"$(false; echo x)\"; echo e", 0, "x\ne\n"),
        ("$(false); echo no", 1, ""),
        ("false; exit 3", 1, ""),
        ("exit 3", 3, ""),
    ];
    for (src, status, out) in cases {
        assert_eq!(e(src), (status, out.into()), "{src}");
    }
    // Without -e nothing stops.
    assert_eq!(sh("false; echo yes"), (0, "yes\n".into()));
}
