//! Entry logic: which applet argv[0] names, `sh -c SCRIPT` invocation, `--help`/`--version`.

use crate::builtins;
use crate::exec::Shell;
use crate::output::{error_line, Output};
use crate::parser;
use crate::sys;
use alloc::vec::Vec;

const VERSION: &str = env!("CARGO_PKG_VERSION");

const HELP: &str = "\
modelcar-base: the sidecar of a KServe modelcar image, as one tiny static binary.

Usage:
  sh -c SCRIPT [NAME [ARG...]]   run SCRIPT (the subset of POSIX sh below)
  APPLET [ARG...]                run one builtin directly (e.g. sleep infinity)
  modelcar-base APPLET [ARG...]  the same
  modelcar-base --help | --version

Applets: sh ln mkdir sleep echo ls test [ true false (argv[0] picks one).

SCRIPT may use: words with '...', \"...\" and \\ quoting; $$ (this process's id);
$(...) of builtins; && || ; newlines; ( ... ); until/while ... do ... done;
exit [N]. Builtins: ln [-sfn], mkdir [-p] [-m MODE], sleep N[smhd]|infinity,
echo [-n], ls [-1Aa], test/[ (-d -e -f -s -L -n -z = != !), true, false.
Anything else (pipes, redirections, variables, globs, other programs) is an
error: it never executes another program.

SIGTERM and SIGINT exit 0 at once. Before it sleeps it drops every capability,
so the serving container can read /proc/<pid>/root/models.
";

/// Runs the program named by argv[0] (or argv[1] after `modelcar-base`) and returns its status.
pub fn dispatch(args: &[&[u8]]) -> i32 {
    let argv0 = args.first().copied().unwrap_or(b"modelcar-base");
    let name = applet_name(argv0);
    if name == b"modelcar-base" {
        return match args.get(1).copied() {
            Some(b"--help") | Some(b"-h") => print(HELP.as_bytes()),
            Some(b"--version") => {
                let mut v = Vec::from(&b"modelcar-base "[..]);
                v.extend_from_slice(VERSION.as_bytes());
                v.push(b'\n');
                print(&v)
            }
            Some(applet) => run_applet(applet, applet, &args[2..]),
            None => {
                error_line(&[b"modelcar-base: no applet given (try: modelcar-base --help)"]);
                2
            }
        };
    }
    run_applet(argv0, name, &args[1..])
}

/// The applet argv[0] names: its last component, without the '-' of a login shell.
fn applet_name(argv0: &[u8]) -> &[u8] {
    let base = builtins::path::basename(argv0);
    base.strip_prefix(b"-").unwrap_or(base)
}

fn print(text: &[u8]) -> i32 {
    match sys::write_all(1, text) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

fn run_applet(argv0: &[u8], name: &[u8], args: &[&[u8]]) -> i32 {
    if name == b"sh" {
        return sh(argv0, args);
    }
    let owned: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    match builtins::find(name) {
        Some(builtin) => builtin(&owned, &mut Output::default()),
        None => {
            error_line(&[
                b"modelcar-base: ",
                name,
                b": applet not found (applets: sh ln mkdir sleep echo ls test [ true false)",
            ]);
            127
        }
    }
}

/// `sh -c SCRIPT [NAME [ARG...]]`. NAME and ARGs are accepted (KServe passes none) but
/// nothing can read them: `$0`, `$1`... are not supported.
fn sh(argv0: &[u8], args: &[&[u8]]) -> i32 {
    let mut rest = args;
    if rest.first() == Some(&&b"--"[..]) {
        rest = &rest[1..];
    }
    let script = match rest {
        [b"-c", b"--", script, ..] | [b"-c", script, ..] => *script,
        [b"-c"] => {
            error_line(&[b"sh: -c requires an argument"]);
            return 2;
        }
        [b"--help", ..] => return print(HELP.as_bytes()),
        [] => {
            error_line(&[
                b"sh: no script: this sh only runs `sh -c SCRIPT` (it reads no standard input)",
            ]);
            return 2;
        }
        [first, ..] if first.starts_with(b"-") => {
            error_line(&[b"sh: ", first, b": option not supported (only -c SCRIPT)"]);
            return 2;
        }
        [file, ..] => {
            error_line(&[
                b"sh: ",
                file,
                b": script files are not supported (only -c SCRIPT)",
            ]);
            return 2;
        }
    };
    run_script(argv0, script)
}

pub fn run_script(argv0: &[u8], script: &[u8]) -> i32 {
    match parser::parse_script(script) {
        Ok(Some(list)) => Shell::new(argv0, sys::getpid()).run_script(&list),
        Ok(None) => {
            error_line(&[argv0, b": -c: empty script: nothing to run"]);
            2
        }
        Err(e) => {
            error_line(&[argv0, b": syntax error: ", &e.message()]);
            2
        }
    }
}
