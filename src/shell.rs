//! Entry logic: which applet argv[0] names, `sh -c SCRIPT` invocation, `--help`/`--version`.

use crate::args::{word_index, Args};
use crate::builtins;
use crate::exec::{run_builtin, Shell};
use crate::lexer;
use crate::output::{error_line, Output};
use crate::sys;
use core::mem::ManuallyDrop;

const VERSION: &str = concat!("modelcar-base ", env!("CARGO_PKG_VERSION"), "\n");

/// Starts with `VERSION`: `--version` prints its first line.
const HELP: &str = concat!(
    "modelcar-base ",
    env!("CARGO_PKG_VERSION"),
    "
The sh of a KServe modelcar: it runs builtins only, never another program.
Usage: sh -c SCRIPT [NAME [ARG...]] | APPLET [ARG...] | modelcar-base APPLET [ARG...]
SCRIPT: '' \"\" \\ quoting, $$, $(...), && || ; newlines, ( ), until/while ... do ... done,
exit [N], and the applets ln [-sfn], mkdir [-pm], sleep, echo [-n], ls [-1Aa], test, [,
true, false. Anything else is an error. SIGTERM and SIGINT exit 0 at once.
"
);

// Texts cut from others share their bytes: the linker merges only NUL-terminated strings.
// Measured smaller.
const NO_APPLET: &[u8] = b"modelcar-base: no applet given (try: modelcar-base --help)";
/// "modelcar-base: ".
const PREFIX: &[u8] = NO_APPLET.split_at(15).0;
/// "modelcar-base".
pub const PROGRAM: &[u8] = NO_APPLET.split_at(13).0;

/// Runs the program named by argv[0] (or argv[1] after `modelcar-base`) and returns its status.
// Inlined into its one caller, the entry: a call just before the process exits looks cold to
// LLVM, which then keeps it out of line (measured larger everywhere).
#[inline(always)]
pub fn dispatch(mut args: Args<'static>) -> i32 {
    let mut argv0 = args.next().unwrap_or(PROGRAM);
    let mut name = applet_name(argv0);
    // One lookup both for argv[0] and for what follows `modelcar-base`: only the latter may
    // be an option.
    const WORDS: &[u8] = b"--version --help -h sh modelcar-base";
    let mut word = word_index(WORDS, name);
    if word == Some(4) {
        let Some(applet) = args.next() else {
            error_line(&[NO_APPLET]);
            return 2;
        };
        (argv0, name) = (applet, applet);
        word = word_index(WORDS, applet);
        if let Some(i @ 0..=2) = word {
            return print(&HELP[..if i == 0 { VERSION.len() } else { HELP.len() }]);
        }
    }
    if word == Some(3) {
        return sh(argv0, &mut args);
    }
    let mut out = ManuallyDrop::new(Output::default());
    let Some(status) = run_builtin(name, args, &mut out) else {
        error_line(&[
            PREFIX,
            name,
            b": applet not found (applets: sh ",
            builtins::NAMES,
            b")",
        ]);
        return 127;
    };
    status
}

/// The applet argv[0] names: its last component, without the '-' of a login shell.
fn applet_name(argv0: &[u8]) -> &[u8] {
    match builtins::path::basename(argv0) {
        [b'-', name @ ..] | name => name,
    }
}

/// Inlined: after the calls are merged, one copy remains in `dispatch`.
#[inline(always)]
fn print(text: &str) -> i32 {
    sys::write_all(1, text.as_bytes()).is_err() as i32
}

/// `sh -c SCRIPT [NAME [ARG...]]`. NAME and ARGs are accepted (KServe passes none) but nothing
/// can read them: `$0`, `$1`... are not supported. The arguments are borrowed where `dispatch`
/// keeps them: no copy (measured smaller).
fn sh(argv0: &[u8], args: &mut Args) -> i32 {
    let mut first = args.next();
    // `sh -- -c SCRIPT` and `sh -c -- SCRIPT` are `sh -c SCRIPT`.
    if first.is_some_and(|f| f == b"--") {
        first = args.next();
    }
    const NO_SCRIPT: &[u8] = b": no script";
    let (what, why): (&[u8], &[u8]) = match first {
        None => (b"", NO_SCRIPT.split_at(2).1),
        Some(first) => match word_index(b"-c --help", first) {
            Some(0) => {
                let mut script = args.next();
                if script.is_some_and(|s| s == b"--") {
                    script = args.next().or(script);
                }
                match script {
                    Some(script) => return run_script(argv0, script),
                    None => (b"-c", NO_SCRIPT),
                }
            }
            Some(_) => return print(HELP),
            // Options and script files alike: it reads no file and no standard input.
            None => (first, b": not supported"),
        },
    };
    error_line(&[
        b"sh: ",
        what,
        why,
        b" (usage: sh -c SCRIPT [NAME [ARG...]])",
    ]);
    2
}

pub fn run_script(argv0: &[u8], script: &[u8]) -> i32 {
    let mut text = ManuallyDrop::new(sys::Stack::default());
    let script = lexer::join_lines(script, &mut text);
    let mut shell = ManuallyDrop::new(Shell::new(argv0, script, sys::getpid()));
    match shell.run_script() {
        Ok(Some(status)) => status,
        Ok(None) => {
            error_line(&[argv0, b": -c: empty script: nothing to run"]);
            2
        }
        Err(_) => {
            if let Some(e) = shell.error {
                let [lead, token, tail] = e.pieces();
                error_line(&[argv0, b": syntax error: ", lead, token, tail]);
            }
            2
        }
    }
}
