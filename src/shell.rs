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
    let mut argv0 = argv.get(0).unwrap_or(b"modelcar-base");
    let mut name = applet_name(argv0);
    let mut first = 1;
    if name == b"modelcar-base" {
        match argv.get(1) {
            Some(b"--help" | b"-h") => return print(HELP),
            Some(b"--version") => return print(VERSION),
            Some(applet) => (argv0, name, first) = (applet, applet, 2),
            None => {
                error_line(&[b"modelcar-base: no applet given (try: modelcar-base --help)"]);
                return 2;
            }
        }
    }
    let mut list = Stack::default();
    for i in first..argv.len() {
        list.push(argv.get(i).unwrap_or_default());
        list.push(&[0]);
    }
    let args = Args::new(list.as_slice());
    if name == b"sh" {
        return sh(argv0, args);
    }
    let Some(builtin) = builtins::find(name) else {
        error_line(&[
            b"modelcar-base: ",
            name,
            b": applet not found (applets: sh ",
            builtins::NAMES,
            b")",
        ]);
        return 127;
    };
    let mut out = Output::default();
    let status = builtin(args, &mut out);
    out.finish(name, status)
}

/// The applet argv[0] names: its last component, without the '-' of a login shell.
fn applet_name(argv0: &[u8]) -> &[u8] {
    let base = builtins::path::basename(argv0);
    base.strip_prefix(b"-").unwrap_or(base)
}

fn print(text: &str) -> i32 {
    sys::write_all(1, text.as_bytes()).is_err() as i32
}

/// `sh -c SCRIPT [NAME [ARG...]]`. NAME and ARGs are accepted (KServe passes none) but nothing
/// can read them: `$0`, `$1`... are not supported.
fn sh(argv0: &[u8], mut args: Args) -> i32 {
    let mut first = args.next();
    // `sh -- -c SCRIPT` and `sh -c -- SCRIPT` are `sh -c SCRIPT`.
    if first == Some(b"--") {
        first = args.next();
    }
    let (what, why): (&[u8], &[u8]) = match first {
        Some(b"-c") => {
            let mut script = args.next();
            if script == Some(b"--") {
                script = args.next().or(script);
            }
            match script {
                Some(script) => return run_script(argv0, script),
                None => (b"-c", b" requires an argument"),
            }
        }
        Some(b"--help") => return print(HELP),
        None => (
            b"no script",
            b": this sh only runs `sh -c SCRIPT` (it reads no standard input)",
        ),
        Some(first) if first.starts_with(b"-") => {
            (first, b": option not supported (only -c SCRIPT)")
        }
        Some(file) => (file, b": script files are not supported (only -c SCRIPT)"),
    };
    error_line(&[b"sh: ", what, why]);
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
