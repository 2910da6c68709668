//! Entry logic: which applet argv[0] names, `sh -c SCRIPT` invocation, `--help`/`--version`.

use crate::args::Args;
use crate::builtins;
use crate::exec::Shell;
use crate::output::{error_line, Output};
use crate::sys::{self, Argv, Stack};

const VERSION: &str = concat!("modelcar-base ", env!("CARGO_PKG_VERSION"), "\n");

const HELP: &str = concat!(
    "modelcar-base ",
    env!("CARGO_PKG_VERSION"),
    ": the sidecar of a KServe modelcar image, as one tiny static binary.

Usage: sh -c SCRIPT [NAME [ARG...]]    APPLET [ARG...]    modelcar-base APPLET [ARG...]
Applets: sh ln mkdir sleep echo ls test [ true false (argv[0] picks one).

SCRIPT may use '...', \"...\" and \\ quoting, $$, $(...), && || ; newlines,
( ... ), until/while ... do ... done, exit [N], and the builtins
ln [-sfn], mkdir [-p] [-m MODE], sleep N[smhd]|infinity, echo [-n],
ls [-1Aa], test/[ (-d -e -f -s -L -n -z = != !), true, false.
Anything else is an error: it never executes another program.
SIGTERM and SIGINT exit 0 at once. Before it sleeps it drops every capability.
"
);

/// Runs the program named by argv[0] (or argv[1] after `modelcar-base`) and returns its status.
pub fn dispatch(argv: Argv) -> i32 {
    let argv0 = argv.get(0).unwrap_or(b"modelcar-base");
    let name = applet_name(argv0);
    if name != b"modelcar-base" {
        return run_applet(argv0, name, argv, 1);
    }
    match argv.get(1) {
        Some(b"--help" | b"-h") => print(HELP.as_bytes()),
        Some(b"--version") => print(VERSION.as_bytes()),
        Some(applet) => run_applet(applet, applet, argv, 2),
        None => {
            error_line(&[b"modelcar-base: no applet given (try: modelcar-base --help)"]);
            2
        }
    }
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

/// Runs applet `name` with the arguments from argv[first] on.
fn run_applet(argv0: &'static [u8], name: &[u8], argv: Argv, first: usize) -> i32 {
    let arg = |i| argv.get(first + i);
    if name == b"sh" {
        return sh(argv0, arg(0), arg(1), arg(2));
    }
    let Some(builtin) = builtins::find(name) else {
        error_line(&[
            b"modelcar-base: ",
            name,
            b": applet not found (applets: sh ln mkdir sleep echo ls test [ true false)",
        ]);
        return 127;
    };
    let mut args = Stack::default();
    for i in first..argv.len() {
        args.push(argv.get(i).unwrap_or_default());
        args.push(&[0]);
    }
    let mut out = Output::default();
    let status = builtin(Args::new(args.as_slice()), &mut out);
    out.finish(name, status)
}

/// `sh -c SCRIPT [NAME [ARG...]]` (given its first three arguments). NAME and ARGs are accepted
/// (KServe passes none) but nothing can read them: `$0`, `$1`... are not supported.
fn sh(
    argv0: &'static [u8],
    a: Option<&'static [u8]>,
    b: Option<&'static [u8]>,
    c: Option<&'static [u8]>,
) -> i32 {
    // `sh -- -c ...` and `sh -c -- SCRIPT` are the same as `sh -c SCRIPT`.
    let (a, b, c) = if a == Some(b"--") { (b, c, None) } else { (a, b, c) };
    let script = match (a, b, c) {
        (Some(b"-c"), Some(b"--"), Some(script)) | (Some(b"-c"), Some(script), _) => script,
        (Some(b"-c"), None, _) => return usage(&[b"-c requires an argument"]),
        (Some(b"--help"), _, _) => return print(HELP.as_bytes()),
        (None, _, _) => {
            return usage(&[b"no script: this sh only runs `sh -c SCRIPT` (it reads no standard input)"])
        }
        (Some(first), _, _) if first.starts_with(b"-") => {
            return usage(&[first, b": option not supported (only -c SCRIPT)"])
        }
        (Some(file), _, _) => {
            return usage(&[file, b": script files are not supported (only -c SCRIPT)"])
        }
    };
    run_script(argv0, script)
}

fn usage(message: &[&[u8]]) -> i32 {
    let mut pieces: [&[u8]; 3] = [b"sh: ", b"", b""];
    pieces[1..=message.len()].copy_from_slice(message);
    error_line(&pieces);
    2
}

pub fn run_script(argv0: &[u8], script: &[u8]) -> i32 {
    let mut shell = Shell::new(argv0, script, sys::getpid());
    match shell.run_script() {
        Ok(Some(status)) => status,
        Ok(None) => {
            error_line(&[argv0, b": -c: empty script: nothing to run"]);
            2
        }
        Err(_) => {
            if let Some(e) = shell.error {
                let [a, b, c, d, e] = e.pieces();
                error_line(&[argv0, b": syntax error: ", a, b, c, d, e]);
            }
            2
        }
    }
}
