//! Builtins and shell grammar compared with busybox `sh` on the same input in identical roots:
//! exit status, stdout, stderr and the resulting files must be equal.

mod support;

use support::*;

/// (script, setup) pairs. Setup lays out files in the root before the run. (Usage errors, where
/// busybox prints a whole usage screen, and `ls` with several operands are in
/// errors_and_limits.rs.)
type Setup = fn(&Root);

fn none(_: &Root) {}
fn model(r: &Root) {
    r.write("/models/config.json", b"{}");
    r.write("/models/weights.bin", b"0123456789");
    r.write("/models/.hidden", b"");
    r.write("/models/tokenizer/vocab.txt", b"a b c");
    r.write("/models/empty", b"");
    std::os::unix::fs::symlink("weights.bin", r.path("/models/link")).unwrap();
}
fn file_in_mnt(r: &Root) {
    r.write("/mnt/file", b"x");
}

const CASES: &[(&str, Setup)] = &[
    // Grammar and exit statuses.
    ("echo a b; echo -n c; echo", none),
    ("true && echo yes || echo no", none),
    ("false && echo yes || echo no", none),
    ("false || false || echo third", none),
    ("true; false", none),
    ("false; true", none),
    ("exit 3", none),
    ("exit 256", none),
    ("exit 300", none),
    ("false; exit", none),
    ("(exit 4) || echo failed", none),
    ("(echo a; exit 2; echo b) && echo c || echo d", none),
    ("(false) ; echo after", none),
    ("((echo nested))", none),
    ("echo 1\necho 2\n\n  echo 3", none),
    ("echo a && \n echo b", none),
    ("# a comment\necho x # trailing comment", none),
    ("echo one \\\n two", none),
    ("while false; do echo never; done; echo after", none),
    ("until true; do echo never; done && echo done", none),
    (
        "until [ -d /mnt/dir ]; do echo waiting; mkdir /mnt/dir; done; echo out",
        none,
    ),
    ("while [ -d /mnt ]; do echo once; exit 5; done", none),
    // Quoting and expansion.
    ("echo '/mnt/it'\\''s'", none),
    ("echo \"a\\\"b\" 'c\\d' e\\ f \"\\$x\" '$$'", none),
    ("echo \"\" '' x", none),
    ("echo $", none),
    ("echo a$", none),
    ("echo \"$(echo inner)\"", none),
    ("echo $(echo a   b)", none),
    ("echo x$(echo)y", none),
    ("echo \"$(echo one; echo two)\"", none),
    ("echo \"$(false)\" && echo ok", none),
    ("$(false) || echo empty-command-status", none),
    // A bare `exit` sees `$?` from before its own words' `$(...)`.
    ("false; exit $(true)", none),
    ("true; exit $(exit 3)", none),
    ("false; exit $(true) $(false)", none),
    ("false; (exit $(true)) || echo inner", none),
    ("true; $(exit 3) $(true) || echo last", none),
    ("echo \"$(exit 7)\"; echo after", none),
    ("echo \"$(ls -A /models)\"", model),
    ("[ \"$(ls -A /models)\" ] && echo nonempty", model),
    ("echo $(ls /models)", model),
    // Unknown commands.
    ("nosuchcommand arg", none),
    ("nosuchcommand || echo recovered", none),
    // echo
    ("echo -n", none),
    ("echo -nn a", none),
    ("echo -x a", none),
    ("echo -- a", none),
    ("echo - a", none),
    ("echo 'a\\nb'", none),
    // ln
    ("ln -s /target /mnt/l && ls -A /mnt", none),
    ("ln -s /target /mnt/l && ln -s /other /mnt/l", none),
    ("ln -s /target /mnt/l && ln -sf /other /mnt/l", none),
    ("ln -s /a /b /mnt", none),
    ("ln -s /a /b /mnt/file", file_in_mnt),
    (
        "mkdir /mnt/d && ln -s /mnt/d /mnt/dl && ln -s /x /mnt/dl",
        none,
    ),
    (
        "mkdir /mnt/d && ln -s /mnt/d /mnt/dl && ln -sfn /x /mnt/dl",
        none,
    ),
    ("ln -s /x /mnt/nope/l", none),
    ("ln /mnt/file /mnt/hard", file_in_mnt),
    ("ln /mnt/missing /mnt/hard", none),
    ("ln -sf /x /mnt", none),
    ("ln -s /", none),
    ("ln -s //", none),
    // mkdir
    ("mkdir /mnt/a && mkdir /mnt/a", none),
    (
        "mkdir -p /mnt/x/y/z && mkdir -p /mnt/x/y/z && ls -A /mnt/x/y",
        none,
    ),
    ("mkdir -p /mnt//x///y/ && ls /mnt/x", none),
    ("mkdir -m 700 /mnt/m", none),
    ("mkdir -m700 -p /mnt/p/q", none),
    ("mkdir -pm 750 /mnt/r", none),
    ("mkdir /mnt/no/x", none),
    ("mkdir -p /mnt/file/x", file_in_mnt),
    ("mkdir /mnt/file", file_in_mnt),
    ("mkdir -m 999 /mnt/bad", none),
    ("mkdir ''", none),
    ("mkdir /mnt/a /mnt/b /mnt/a", none),
    // sleep
    ("sleep 0.05 && echo slept", none),
    ("sleep .01 0.01s 0.0001m && echo summed", none),
    ("sleep 0 && echo zero", none),
    ("sleep 1x", none),
    ("sleep -1", none),
    ("sleep ''", none),
    ("sleep 1e-2", none),
    // ls
    ("ls /models", model),
    ("ls -A /models", model),
    ("ls -a /models", model),
    ("ls -1 /models/tokenizer", model),
    ("ls -1A /mnt", none),
    ("ls /models/weights.bin", model),
    ("ls -A /models/config.json", model),
    ("ls /nonexistent", none),
    ("ls -A /nonexistent", none),
    ("ls /models/weights.bin/", model),
    ("ls /models/link", model),
    (
        "ln -s /models /mnt/to-models && ls -A /mnt/to-models",
        model,
    ),
    ("ln -s /nowhere /mnt/dangling && ls /mnt/dangling", none),
    ("ln -s /mnt/loop /mnt/loop && ls -A /mnt/loop", none),
    // (Two or more operands are refused: errors_and_limits.rs.)
    // test and [
    ("[ -d /models ] && echo dir", model),
    ("[ -d /models/weights.bin ] || echo notdir", model),
    (
        "[ -e /models/link ] && [ -L /models/link ] && [ -h /models/link ] && echo link",
        model,
    ),
    (
        "[ -f /models/weights.bin ] && [ -f /models/link ] && echo file",
        model,
    ),
    ("[ -f /models/tokenizer ] || echo nofile", model),
    (
        "[ -s /models/weights.bin ] && echo big; [ -s /models/empty ] || echo empty",
        model,
    ),
    ("[ -e /nope ] || echo absent", none),
    ("[ -n '' ] || echo empty-n; [ -z '' ] && echo empty-z", none),
    ("[ a = a ] && [ a != b ] && echo cmp", none),
    ("[ ! -d /nope ] && echo negated", none),
    ("[ ! a = b ] && echo negated-binary", none),
    ("[ ] || echo empty-test", none),
    ("[ '' ] || echo empty-string", none),
    ("[ -d ] && echo lone-operator", none),
    ("[ ! ] && echo lone-bang", none),
    (
        "[ '(' ] && [ '(' = '(' ] && [ -n '(' ] && echo paren-strings",
        none,
    ),
    ("[ ! '(' ] || [ ! ! ] || echo negated-strings", none),
    ("test -d /models && echo test-form", model),
    ("[ -d /models", none),
    // true / false ignore arguments
    ("true ignored args && false more || echo ok", none),
];

/// Every architecture's binary, each built with its own code generation settings (see
/// scripts/build-sidecar.sh), against busybox.
#[test]
fn builtins_and_grammar_match_busybox() {
    let mut failures = Vec::new();
    for (script, setup) in CASES {
        let expected = run_in_root(&busybox(), script, setup);
        for arch in archs() {
            let ours = run_in_root(&sidecar(arch), script, setup);
            if ours != expected {
                failures.push(format!(
                    "script {script:?}\n  ours ({arch}): {ours:?}\n  busybox: {expected:?}"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} runs differ:\n{}",
        failures.len(),
        CASES.len() * archs().len(),
        failures.join("\n")
    );
}

/// Each builtin also runs as argv[0] (the image's /bin/ln, /bin/sleep...), like busybox applets.
#[test]
fn applets_by_argv0_match_busybox() {
    let cases: &[(&str, &[&str])] = &[
        ("echo", &["hello", "world"]),
        ("ln", &["-s", "/x", "/mnt/l"]),
        ("mkdir", &["-p", "/mnt/a/b"]),
        ("sleep", &["0.01"]),
        ("ls", &["-A", "/mnt"]),
        ("test", &["-d", "/mnt"]),
        ("[", &["-d", "/mnt", "]"]),
        ("true", &[]),
        ("false", &[]),
    ];
    let run = |binary: &std::path::Path, applet: &str, args: &[&str]| {
        let root = Root::new(binary);
        outcome(&root, &root.run(applet, args))
    };
    for (applet, args) in cases {
        let expected = run(&busybox(), applet, args);
        for arch in archs() {
            assert_eq!(
                run(&sidecar(arch), applet, args),
                expected,
                "{arch}: {applet} {args:?}"
            );
        }
    }
}
