use super::*;
use crate::parser::parse_script;
use crate::testutil::TempDir;
use std::string::String;

/// Runs `src` with pid 42 and standard output captured: (status, stdout).
fn sh(src: &str) -> (i32, String) {
    let list = parse_script(src.as_bytes())
        .unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
        .unwrap_or_else(|| panic!("{src:?}: no command"));
    let mut shell = Shell::new(b"sh", 42);
    shell.out.begin_capture();
    let status = shell.run_script(&list);
    let out = shell.out.end_capture();
    (status, String::from_utf8(out).unwrap())
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
    assert_eq!(status("nosuch || echo fallback"), 0);
    assert_eq!(out("nosuch || echo fallback"), "fallback\n");
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
    assert_eq!(sh("exit 1 2; echo no"), (2, "".into()));
    // The number may come from an expansion.
    assert_eq!(status("exit $$"), 42);
    assert_eq!(status("exit $(echo 7)"), 7);
    // A skipped exit does nothing.
    assert_eq!(sh("false && exit 5; echo y"), (0, "y\n".into()));
    assert_eq!(sh("true || exit 5; echo y"), (0, "y\n".into()));
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
    let mut shell = Shell::new(b"sh", i32::MAX);
    let list = parse_script(b"echo $$").unwrap().unwrap();
    shell.out.begin_capture();
    assert_eq!(shell.run_script(&list), 0);
    assert_eq!(shell.out.end_capture(), b"2147483647\n");
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
    // Quoted results are not split.
    assert_eq!(out("echo \"$(echo 'a  b')\""), "a  b\n");
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
}

#[test]
fn substitution_results_with_glob_characters_are_refused() {
    assert_eq!(sh("echo $(echo '*'); echo no"), (2, "".into()));
    assert_eq!(sh("echo a$(echo 'x?')b"), (2, "".into()));
    assert_eq!(sh("echo $(echo '[')"), (2, "".into()));
    // Quoted, they are fine.
    assert_eq!(sh("echo \"$(echo '*?[')\""), (0, "*?[\n".into()));
    // Refused in a subshell: only the subshell ends.
    assert_eq!(
        sh("(echo $(echo '*')) || echo after"),
        (0, "after\n".into())
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
}

#[test]
fn last_status_is_tracked_across_commands() {
    let list = parse_script(b"false").unwrap().unwrap();
    let mut shell = Shell::new(b"sh", 42);
    assert_eq!(shell.run_script(&list), 1);
    assert_eq!(shell.last_status, 1);
    // A second script on the same shell sees it in a bare `exit`.
    let list = parse_script(b"exit").unwrap().unwrap();
    assert_eq!(shell.run_script(&list), 1);
}

#[test]
fn deep_nesting_runs() {
    // The parser's limit, run on a thread with the stack size of a main thread.
    let n = crate::lexer::MAX_NESTING;
    let src = format!(
        "echo {}x{}; {}echo y{}",
        "$(echo ".repeat(n),
        ")".repeat(n),
        "(".repeat(n),
        ")".repeat(n)
    );
    let r = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || sh(&src))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(r, (0, "x\ny\n".into()));
}
