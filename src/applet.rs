//! Entry logic: which applet argv[0] names, `sh -c SCRIPT` invocation, `--help`/`--version`.

use crate::args::{word_index, Args};
use crate::builtins;
use crate::interpreter::{run_builtin, run_script};
use crate::output::{error_line, Output, PROGRAM};
use crate::sys;
use core::mem::ManuallyDrop;

const VERSION: &str = concat!("modelcar-base ", env!("CARGO_PKG_VERSION"), "\n");

/// Starts with `VERSION`: `--version` prints its first line.
const HELP: &str = concat!(
    "modelcar-base ",
    env!("CARGO_PKG_VERSION"),
    "
The sh of a KServe modelcar: it runs builtins only, never another program.
Usage: sh [-e] -c SCRIPT [NAME [ARG...]] | APPLET [ARG...] | modelcar-base APPLET [ARG...]
SCRIPT: '' \"\" \\ quoting, $$, $(...), && || ; newlines, ( ), until/while ... do ... done,
exit [N], and the applets ln [-sfn], mkdir [-pm], sleep, echo [-n], ls [-1Aa], test, [,
true, false. Anything else is an error. SIGTERM and SIGINT exit 0 at once.
"
);

/// Runs the program named by argv[0] (or argv[1] after `modelcar-base`) and returns its status.
// Inlined into its one caller, the entry: a call just before the process exits looks cold to
// LLVM, which would keep it out of line (larger).
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
            error_line(&[PROGRAM, b": no applet given (try: modelcar-base --help)"]);
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
            PROGRAM,
            b": ",
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

/// `sh [-e] -c SCRIPT [NAME [ARG...]]`. NAME and ARGs are accepted (KServe passes none) but
/// nothing can read them: `$0`, `$1`... are not supported. The options are read as busybox and
/// dash read them: letters after `-` (or `+`, which turns `e` off), `-c` anywhere among them
/// (`-ec`, `-c -e`); `-` or `--` ends them, and the first word after them is the script (with
/// `-c`) or a script file (refused: it reads no file and no standard input). The arguments are
/// borrowed where `dispatch` keeps them: no copy (smaller).
fn sh(argv0: &[u8], args: &mut Args) -> i32 {
    let (mut command, mut errexit) = (false, false);
    const NO_SCRIPT: &[u8] = b": no script";
    let (what, why): (&[u8], &[u8]) = 'refused: {
        loop {
            let mut rest = *args;
            let Some(arg @ [sign @ (b'-' | b'+'), letters @ ..]) = rest.next() else {
                break;
            };
            *args = rest;
            if arg == b"--help" {
                return print(HELP);
            }
            if matches!(letters, [] | [b'-']) {
                break;
            }
            for &letter in letters {
                match letter {
                    b'c' => command = true,
                    b'e' => errexit = *sign == b'-',
                    _ => break 'refused (arg, b": not supported"),
                }
            }
        }
        match (args.next(), command) {
            (Some(script), true) => return run_script(argv0, script, errexit),
            (None, true) => (b"-c", NO_SCRIPT),
            (None, false) => (b"", NO_SCRIPT.split_at(2).1),
            (Some(file), false) => (file, b": not supported"),
        }
    };
    error_line(&[
        b"sh: ",
        what,
        why,
        b" (usage: sh [-e] -c SCRIPT [NAME [ARG...]])",
    ]);
    2
}
