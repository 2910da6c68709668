//! Bad input: each gets a clear one-line error and a non-zero status, never a crash or a hang;
//! and the places where we differ from busybox on purpose (one-line errors instead of usage
//! screens, syntax we refuse instead of running).

mod support;

use support::*;

fn ours(script: &str) -> std::process::Output {
    Root::new(&sidecar("amd64")).sh(script)
}

/// Where busybox prints a whole usage screen, we print one line with the same status.
#[test]
fn usage_errors_are_one_line_with_busybox_status() {
    let cases: &[(&str, &str)] = &[
        ("ln", "ln: missing file operand\n"),
        ("ln -q a b", "ln: invalid option -- 'q'\n"),
        ("mkdir", "mkdir: missing operand\n"),
        ("mkdir -m", "mkdir: option requires an argument -- 'm'\n"),
        ("ls -z", "ls: invalid option -- 'z'\n"),
        ("sleep", "sleep: missing operand\n"),
    ];
    for (script, message) in cases {
        let o = ours(script);
        let b = Root::new(&busybox()).sh(script);
        assert_eq!(
            o.status.code(),
            b.status.code(),
            "{script}: status as busybox"
        );
        assert_eq!(text(&o.stderr), *message, "{script}");
        assert!(o.stdout.is_empty());
    }
}

/// `ls` takes one operand at most (busybox lists several, under headers): two or more are one
/// line on stderr and status 1, with nothing listed, whatever the operands are.
#[test]
fn ls_refuses_several_operands() {
    let root = Root::new(&sidecar("amd64"));
    root.write("/models/weights.bin", b"0123456789");
    root.write("/models/tokenizer/vocab.txt", b"a b c");
    for script in [
        "ls -1A /models /mnt",
        "ls /models/weights.bin /models/tokenizer",
        "ls -A /models /nonexistent",
        "ls /models /models",
        "ls -- /models ''",
    ] {
        let o = root.sh(script);
        assert_eq!(o.status.code(), Some(1), "{script}");
        assert_eq!(text(&o.stdout), "", "{script}");
        assert_eq!(
            text(&o.stderr),
            "ls: only one operand is supported\n",
            "{script}"
        );
    }
    // A failing command like any other: the script goes on.
    let o = root.sh("ls /models /mnt || echo went-on");
    assert_eq!(
        (o.status.code(), text(&o.stdout)),
        (Some(0), "went-on\n".into())
    );
    // The same as an applet (the image's /bin/ls).
    let o = root.run("ls", &["-A", "/models", "/mnt"]);
    assert_eq!(
        (o.status.code(), text(&o.stdout), text(&o.stderr)),
        (
            Some(1),
            "".into(),
            "ls: only one operand is supported\n".into()
        )
    );
    // An unknown option is reported first, as busybox does.
    let o = root.sh("ls -z /models /mnt");
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (Some(1), "ls: invalid option -- 'z'\n".into())
    );
}

/// Unsupported syntax is a syntax error naming the token, status 2, and nothing runs.
#[test]
fn unsupported_syntax_names_the_token_and_runs_nothing() {
    let cases: &[(&str, &str)] = &[
        ("echo ran; echo a | cat", "\"|\" is not supported"),
        ("echo ran; echo a > /mnt/x", "\">\" is not supported"),
        ("echo ran; cat < /x", "\"<\" is not supported"),
        ("echo ran; cat <<EOF", "\"<<\" is not supported"),
        ("echo ran; sleep 1 &", "\"&\" is not supported"),
        ("echo ran; echo $HOME", "\"$HOME\" is not supported"),
        ("echo ran; echo \"$1\"", "\"$1\" is not supported"),
        ("echo ran; echo $?", "\"$?\" is not supported"),
        ("echo ran; echo ${x}", "\"${\" is not supported"),
        ("echo ran; echo $((1+1))", "\"$((\" is not supported"),
        ("echo ran; echo `ls`", "\"`\" is not supported"),
        ("echo ran; ls /models/*", "\"*\" is not supported"),
        ("echo ran; ls /m?dels", "\"?\" is not supported"),
        ("echo ran; ls /m[o]dels", "\"[\" is not supported"),
        ("echo ran; ls ~", "\"~\" is not supported"),
        (
            "echo ran; if true; then echo x; fi",
            "\"if\" is not supported",
        ),
        (
            "echo ran; for i in a; do echo; done",
            "\"for\" is not supported",
        ),
        ("echo ran; { echo; }", "\"{\" is not supported"),
        ("echo ran; [[ -d / ]]", "\"[[\" is not supported"),
        ("echo ran; X=1 echo", "\"X=1\" is not supported"),
        (
            "echo ran; case x in x) ;; esac",
            "\"case\" is not supported",
        ),
        ("echo ran; true;; false", "\";;\" is not supported"),
        ("echo ran; echo 'unterminated", "unterminated \"'\""),
        ("echo ran; echo \"unterminated", "unterminated \"\"\""),
        ("echo ran; echo $(echo", "unterminated \"$(\""),
        ("echo ran; && echo", "unexpected \"&&\""),
        ("echo ran; echo a &&", "unexpected end of script"),
        ("echo ran; ( echo a", "unexpected end of script"),
        ("echo ran; )", "unexpected \")\""),
        ("echo ran; ()", "unexpected \")\""),
        ("echo ran; until true; do done", "unexpected \"done\""),
        ("echo ran; while true; echo; done", "unexpected \"done\""),
        ("echo ran; (echo) echo", "unexpected \"echo\""),
    ];
    for (script, message) in cases {
        let o = ours(script);
        assert_eq!(o.status.code(), Some(2), "{script}");
        assert_eq!(
            text(&o.stdout),
            "",
            "{script}: nothing may run before a syntax error"
        );
        let err = text(&o.stderr);
        assert!(
            err.starts_with("/bin/sh: syntax error: ") && err.ends_with('\n'),
            "{script}: {err}"
        );
        assert!(
            err.contains(message) && err.lines().count() == 1,
            "{script}: {err}"
        );
    }
}

/// `test` and `[` refuse what they do not implement (other operators, parentheses, more than
/// simple tests) with status 2 and one line naming the word, where busybox evaluates it or
/// words its error differently. The next command still runs.
/// busybox's echo interprets -e and -E; ours refuses them rather than half-doing them.
#[test]
fn echo_refuses_dash_e() {
    for (script, letter) in [("echo -e 'a\\n'", 'e'), ("echo -nE a", 'E')] {
        let o = ours(&format!("{script}; echo next"));
        assert_eq!(text(&o.stdout), "next\n", "{script}");
        assert_eq!(
            text(&o.stderr),
            format!("echo: invalid option -- '{letter}'\n"),
            "{script}"
        );
        assert_eq!(ours(script).status.code(), Some(1), "{script}");
    }
}

#[test]
fn test_refuses_what_it_does_not_implement() {
    let cases: &[(&str, &str)] = &[
        ("[ -r /models ]", "-r: unknown operator"),
        ("[ ! -x /models ]", "-x: unknown operator"),
        ("[ 1 -eq 1 ]", "-eq: unknown operator"),
        ("[ a -a b ]", "-a: unknown operator"),
        ("[ a b ]", "a: unknown operator"),
        ("[ a b c ]", "b: unknown operator"),
        ("[ '(' x ')' ]", "(: unknown operator"),
        ("[ '(' -n x ')' ]", "(: unknown operator"),
        ("[ a = b c ]", "too many arguments"),
        ("[ a = a -o b = b ]", "too many arguments"),
        ("test -d /models -a -d /mnt", "too many arguments"),
        ("[ a = a ] ]", "too many arguments"),
        ("[ a = a", "missing ]"),
    ];
    for (script, message) in cases {
        let o = ours(&format!("{script}; echo next"));
        assert_eq!(text(&o.stdout), "next\n", "{script}");
        assert_eq!(text(&o.stderr), format!("sh: {message}\n"), "{script}");
        assert_eq!(ours(script).status.code(), Some(2), "{script}");
    }
    // As applets, the message names the applet.
    let root = Root::new(&sidecar("amd64"));
    let o = root.run("test", &["-r", "/"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr), "test: -r: unknown operator\n");
    let o = root.run("[", &["(", "x", ")", "]"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stderr), "[: (: unknown operator\n");
}

#[test]
fn invocation_errors() {
    let root = Root::new(&sidecar("amd64"));
    let cases: &[(&str, &[&str], i32, &str)] = &[
        ("sh", &[], 2, "sh: no script (usage: sh [-e] -c SCRIPT [NAME [ARG...]])\n"),
        ("sh", &["-c"], 2, "sh: -c: no script (usage: sh [-e] -c SCRIPT [NAME [ARG...]])\n"),
        ("sh", &["-x", "-c", "echo"], 2, "sh: -x: not supported (usage: sh [-e] -c SCRIPT [NAME [ARG...]])\n"),
        ("sh", &["script.sh"], 2, "sh: script.sh: not supported (usage: sh [-e] -c SCRIPT [NAME [ARG...]])\n"),
        // `--` ends the options: `-c` after it is a script file, as in busybox and dash.
        ("sh", &["--", "-c", "echo"], 2, "sh: -c: not supported (usage: sh [-e] -c SCRIPT [NAME [ARG...]])\n"),
        ("sh", &["-c", "-"], 2, "sh: -c: no script (usage: sh [-e] -c SCRIPT [NAME [ARG...]])\n"),
        ("modelcar-base", &[], 2, "modelcar-base: no applet given (try: modelcar-base --help)\n"),
        (
            "modelcar-base",
            &["bash", "-c", "x"],
            127,
            "modelcar-base: bash: applet not found (applets: sh ln mkdir sleep echo ls test [ true false)\n",
        ),
    ];
    for (argv0, args, status, message) in cases {
        let o = root.run(argv0, args);
        assert_eq!(o.status.code(), Some(*status), "{argv0} {args:?}");
        assert_eq!(text(&o.stderr), *message, "{argv0} {args:?}");
    }
    // Extra operands after the script are accepted, as by any sh (NAME and $1... are unused).
    let o = root.run("sh", &["-c", "echo ok", "name", "arg"]);
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(0), "ok\n".into()));
    let o = root.run("sh", &["-c", "--", "echo dashdash"]);
    assert_eq!(text(&o.stdout), "dashdash\n");
    // A script without a command does nothing and exits 0, as in every shell (an earlier
    // version refused it with status 2: wrong, found by comparing with busybox and dash).
    for script in ["", "  # only a comment\n\n", "\\\n"] {
        let o = root.run("sh", &["-c", script]);
        assert_eq!(
            (o.status.code(), text(&o.stderr)),
            (Some(0), "".into()),
            "{script:?}"
        );
    }
    // -e, before or after -c, and +e.
    for args in [
        &["-e", "-c", "false; echo no"][..],
        &["-ec", "false; echo no"],
        &["-ce", "false; echo no"],
        &["-c", "-e", "false; echo no"],
    ] {
        let o = root.run("sh", args);
        assert_eq!(
            (o.status.code(), text(&o.stdout)),
            (Some(1), "".into()),
            "{args:?}"
        );
    }
    // `-` ends the options too.
    let o = root.run("sh", &["-c", "-", "echo x"]);
    assert_eq!(text(&o.stdout), "x\n");
    let o = root.run("sh", &["-e", "+e", "-c", "false; echo yes"]);
    assert_eq!(
        (o.status.code(), text(&o.stdout)),
        (Some(0), "yes\n".into())
    );
}

#[test]
fn help_and_version() {
    let root = Root::new(&sidecar("amd64"));
    let o = root.run("modelcar-base", &["--help"]);
    assert_eq!(o.status.code(), Some(0));
    let help = text(&o.stdout);
    assert!(
        help.contains("builtins only, never another program"),
        "{help}"
    );
    assert!(help.lines().all(|l| l.len() <= 100), "{help}");
    assert!(help.contains("sh [-e] -c SCRIPT"));
    let o = root.run("modelcar-base", &["--version"]);
    assert_eq!(
        text(&o.stdout),
        format!("modelcar-base {}\n", env!("CARGO_PKG_VERSION"))
    );
    // The multi-call entry point also runs applets: modelcar-base sh -c ...
    let o = root.run("modelcar-base", &["sh", "-c", "echo via-multicall"]);
    assert_eq!(text(&o.stdout), "via-multicall\n");
}

/// It never executes another program, even one that exists.
#[test]
fn never_executes_programs() {
    let root = Root::new(&sidecar("amd64"));
    let o = root.sh("/bin/modelcar-base --version; /bin/ls; echo status-after");
    assert_eq!(text(&o.stdout), "status-after\n");
    assert_eq!(
        text(&o.stderr),
        "/bin/sh: /bin/modelcar-base: cannot run programs: only builtins are available\n\
         /bin/sh: /bin/ls: cannot run programs: only builtins are available\n"
    );
    let o = root.sh("busybox echo hi");
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (Some(127), "/bin/sh: busybox: not found\n".into())
    );
}

/// Deep nesting is refused with an error instead of exhausting the stack (busybox crashes).
#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    for (open, close) in [("(", ")"), ("$(", ")")] {
        // 40,000 levels of "$(" is about the largest single argument Linux passes (MAX_ARG_STRLEN, 128 KiB).
        for depth in [150usize, 1_000, 40_000] {
            let script = format!("{}echo deep{}", open.repeat(depth), close.repeat(depth));
            let o = ours(&script);
            if depth <= 150 && open == "(" {
                assert_eq!(o.status.code(), Some(0), "depth {depth}");
                assert_eq!(text(&o.stdout), "deep\n");
            } else if depth <= 150 {
                // `$(echo deep)` nested: the outermost runs "deep" as a command.
                assert_eq!(
                    o.status.code(),
                    Some(127),
                    "depth {depth}: {}",
                    text(&o.stderr)
                );
            } else {
                assert_eq!(o.status.code(), Some(2), "{open} depth {depth}");
                assert_eq!(
                    text(&o.stderr),
                    "/bin/sh: syntax error: nested too deeply\n"
                );
            }
        }
    }
}

/// The largest script the kernel passes as one argument (MAX_ARG_STRLEN: 128 KiB) runs in
/// bounded time; a 1 MB script cannot reach `sh -c` at all (exec refuses it), so the 1 MB case
/// is a unit test of the parser (parser::tests::one_megabyte_script).
#[test]
fn largest_possible_script() {
    let mut script = "true && ".repeat(16_000);
    script.push_str("echo end-of-chain");
    assert!(script.len() > 128_000 && script.len() < 131_072);
    let o = ours(&script);
    assert_eq!(
        (o.status.code(), text(&o.stdout)),
        (Some(0), "end-of-chain\n".into())
    );

    let mut lines = "echo line\n".repeat(13_000);
    lines.push_str("exit 9");
    let o = ours(&lines);
    assert_eq!(o.status.code(), Some(9));
    assert_eq!(o.stdout.len(), "line\n".len() * 13_000);

    // One byte over the kernel's limit: the exec itself fails, before any shell runs.
    let too_big = "#".repeat(131_072);
    let err = Root::new(&sidecar("amd64"))
        .command("sh", &["-c", &too_big])
        .output()
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::E2BIG));
}

/// Paths at and beyond PATH_MAX, and missing parents: the kernel's errors, named, like busybox.
#[test]
fn long_paths_and_missing_parents_match_busybox() {
    let long = format!("/mnt/{}", "a".repeat(5000));
    let long_component = format!("/mnt/{}", "b".repeat(300));
    let scripts = [
        format!("mkdir -p {long}"),
        format!("mkdir {long_component}"),
        format!("ln -s /x {long}"),
        format!("ln -sf /x {long_component}"),
        format!("[ -e {long} ] || echo absent"),
        "ln -s /x /mnt/missing/parent/link".to_string(),
        "ln -sf /x /mnt/missing/link".to_string(),
        "mkdir /mnt/missing/dir".to_string(),
    ];
    for script in &scripts {
        let results = run_both(script, |_| {});
        assert_eq!(
            results[0],
            results[1],
            "{}",
            &script[..script.len().min(60)]
        );
        assert!(results[0].3.len() == 1, "nothing was created");
    }
}

/// `ln -sf` replaces an existing link by rename: at no moment is the path missing.
#[test]
fn ln_force_replaces_atomically() {
    let root = Root::new(&sidecar("amd64"));
    std::os::unix::fs::symlink("/proc/1/root/models", root.path("/mnt/models")).unwrap();
    let path = root.path("/mnt/models");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let (path, stop) = (path.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut checks = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert!(
                    path.symlink_metadata().is_ok(),
                    "the link vanished during ln -sf"
                );
                checks += 1;
            }
            checks
        })
    };
    for i in 0..200 {
        let o = root.sh(&format!("ln -sf /proc/{i}/root/models /mnt/models"));
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 0);
    assert_eq!(
        std::fs::read_link(&path).unwrap().to_str(),
        Some("/proc/199/root/models")
    );
    // No temporary names are left behind.
    assert_eq!(
        root.tree(&["mnt"]),
        vec![
            "/mnt/ 755".to_string(),
            "/mnt/models -> /proc/199/root/models".to_string()
        ]
    );
}

#[test]
fn unquoted_substitution_with_glob_characters_is_refused() {
    let root = Root::new(&sidecar("amd64"));
    root.write("/models/a*b", b"");
    let o = root.sh("echo $(ls /models); echo after");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(text(&o.stdout), "");
    assert_eq!(
        text(&o.stderr),
        "/bin/sh: \"a*b\": globs in an unquoted $(...) are not supported (quote it)\n"
    );
    // From any depth the refusal ends the whole shell, not only the innermost `$(...)`.
    let o = root.sh("test \"$(echo $(ls /models))\" || echo X; echo after");
    assert_eq!((o.status.code(), text(&o.stdout)), (Some(2), "".into()));
    // Quoted, it is just text.
    let o = root.sh("echo \"$(ls /models)\"");
    assert_eq!(text(&o.stdout), "a*b\n");
}

/// A tmpfs mounted on a root's /mnt with a few inodes, unmounted when dropped.
struct SmallFs(std::path::PathBuf);

impl SmallFs {
    fn new(root: &Root, inodes: u32) -> SmallFs {
        let mnt = root.path("/mnt");
        let o = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size=1m,nr_inodes={inodes}"),
                "tmpfs",
            ])
            .arg(&mnt)
            .output()
            .unwrap();
        assert!(o.status.success(), "mount: {}", text(&o.stderr));
        SmallFs(mnt)
    }
}

impl Drop for SmallFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

/// KServe's line on a full filesystem: `ln -sf` cannot make its temporary name (no inode
/// left), so it removes the old link and makes the new one, as busybox does, and succeeds
/// (it exited 1 before: found with the differential's issue).
#[test]
fn ln_force_on_a_full_filesystem_falls_back_to_unlink_then_link() {
    let script = "ln -sf /proc/$$/root/models /mnt/models && echo linked";
    for binary in [sidecar("amd64"), busybox()] {
        let root = Root::new(&binary);
        let fs = SmallFs::new(&root, 16);
        std::os::unix::fs::symlink("/old", root.path("/mnt/models")).unwrap();
        // Every inode taken.
        let mut n = 0;
        while std::fs::write(root.path(&format!("/mnt/f{n}")), b"").is_ok() {
            n += 1;
        }
        assert!(n < 16, "the filesystem never filled");
        let o = root.sh(script);
        assert_eq!(
            (o.status.code(), text(&o.stdout), text(&o.stderr)),
            (Some(0), "linked\n".into(), "".into()),
            "{binary:?}"
        );
        let target = std::fs::read_link(root.path("/mnt/models")).unwrap();
        assert!(
            target.to_str().unwrap().ends_with("/root/models"),
            "{target:?}"
        );
        drop(fs);
    }
}
