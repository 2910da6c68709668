//! The interpreter: `run_script` (`sh -c`), its state (`Shell`), and simple commands. It never
//! executes another program: every command is a builtin, and any other name is "not found"
//! (status 127).
//!
//! The script is interpreted straight from its text, dash-style: the parser (parser.rs) walks
//! it and runs each command as it is recognised. The whole script is first walked once with
//! `run` off, so that a syntax error anywhere stops it before anything ran; commands that must
//! not run (the untaken side of `&&`/`||`, a loop's last body, everything after `exit`) are
//! walked the same way. A loop is run by walking its text again.

use crate::args::Args;
use crate::builtins;
use crate::lexer::join_lines;
use crate::output::{error_line, Output};
use crate::syntax_error::{Message, SyntaxError, NOT_SUPPORTED};
use crate::sys::{self, Stack};
use core::mem::ManuallyDrop;

/// Added to the status of an exit that no subshell or `$(...)` contains: a refusal at run time
/// ends the whole shell, with status 2, from any depth. Above every exit status.
pub(crate) const UNCONTAINED: i32 = 0x100;

/// The interpreter: the script, where the walk is in it, and what has run. Its methods are
/// spread by job: tokens in lexer.rs, the grammar in parser.rs, words in expand.rs.
pub struct Shell<'s> {
    pub(crate) src: &'s [u8],
    pub(crate) pos: usize,
    /// argv[0] as invoked (`sh`, `/bin/sh`): the prefix of the shell's own messages, as in
    /// busybox.
    pub(crate) arg0: &'s [u8],
    pub(crate) pid: i32,
    /// Whether commands run (see the module comment).
    pub(crate) run: bool,
    /// `exit N` was run: nothing more runs until the innermost subshell, `$(...)` or the
    /// script itself ends, which then ends with N.
    pub(crate) exit: Option<i32>,
    /// `$?`: the status of the last command (used by a bare `exit`).
    pub(crate) last_status: i32,
    /// Nesting of subshells, loops and `$(...)`.
    pub(crate) depth: usize,
    /// Open `$(...)`: the end of the script is then an unterminated `$(`.
    pub(crate) substitutions: usize,
    /// The fields of the commands being expanded, each followed by a NUL.
    pub(crate) fields: Stack,
    pub(crate) out: Output,
    /// The syntax error that stopped the walk.
    pub(crate) error: Option<SyntaxError<'s>>,
    /// `sh -e`: a command that fails ends the shell, unless its status is tested (see
    /// `Shell::list`).
    pub(crate) errexit: bool,
    /// Inside a loop's condition, or a command followed by `&&` or `||`: `-e` does not apply.
    pub(crate) tested: bool,
}

impl<'s> Shell<'s> {
    pub fn new(arg0: &'s [u8], src: &'s [u8], pid: i32) -> Self {
        Shell {
            src,
            pos: 0,
            arg0,
            pid,
            run: true,
            exit: None,
            last_status: 0,
            depth: 0,
            substitutions: 0,
            fields: Stack::default(),
            out: Output::in_shell(),
            error: None,
            errexit: false,
            tested: false,
        }
    }

    /// For the fuzzers: `f` with a shell for `script` as `run_script` makes one, its line
    /// continuations removed first (`lexer::join_lines`).
    pub fn with_script<R>(script: &[u8], pid: i32, f: impl FnOnce(&mut Shell<'_>) -> R) -> R {
        let mut text = Stack::default();
        f(&mut Shell::new(b"sh", join_lines(script, &mut text), pid))
    }

    /// For the fuzzers: walk the script without running any command (the syntax check).
    pub fn check_only(&mut self) {
        self.run = false;
    }

    /// For the fuzzers: keep what the builtins write instead of printing it.
    pub fn capture_output(&mut self) {
        self.out.capturing = true;
    }

    /// The syntax error that stopped the walk, if one did.
    pub fn syntax_error(&self) -> Option<&SyntaxError<'s>> {
        self.error.as_ref()
    }

    /// Records a syntax error at `token` (the first one counts) and ends the walk: the position
    /// moves to the end of the script, where every parsing function stops. Out of line: it is
    /// called from a dozen places in the parser, lexer and expansion, all on the error path.
    #[cold]
    #[inline(never)]
    pub(crate) fn fail(&mut self, token: &'s [u8], message: &'static Message) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { token, message });
        }
        self.pos = self.src.len();
    }

    /// `fail` with "is not supported", the most frequent message: one address less to load at
    /// each of its calls. (Not `#[cold]` like `fail`: smaller without.)
    #[inline(never)]
    pub(crate) fn refuse(&mut self, token: &'s [u8]) {
        self.fail(token, &NOT_SUPPORTED);
    }

    /// Whether the command at hand runs. Left to the inliner, which inlines it.
    pub(crate) fn running(&self) -> bool {
        self.run && self.exit.is_none()
    }

    /// Runs the simple command whose fields start at `mark`; `last_status` is its `$?`.
    pub(crate) fn simple_command(
        &mut self,
        mark: usize,
        substitution_status: i32,
        last_status: i32,
    ) -> i32 {
        let mut args = Args::new(&self.fields.as_slice()[mark..]);
        let Some(name) = args.next() else {
            // No command, only expansions: the status of the last `$(...)`, else 0 (POSIX).
            return substitution_status;
        };
        // Every error here is `ARG0: WHAT WHY`, written by the one call at the end.
        let (what, mut why): (&[u8], &[u8]);
        let mut status = 127;
        if name == b"exit" {
            // `exit [N]`: N modulo 256, or the last status; a bad N is an error with status 2.
            // Arguments after N are ignored, as busybox and dash ignore them.
            status = last_status;
            let mut bad = false;
            (what, why) = (b"exit: Illegal number: ", b"");
            if let Some(n) = args.next() {
                bad = n.is_empty() || n.len() > 10;
                // Only N modulo 256 counts: a byte that wraps keeps just that.
                let mut v = 0u8;
                for &d in n {
                    let d = d.wrapping_sub(b'0');
                    bad |= d > 9;
                    v = v.wrapping_mul(10).wrapping_add(d);
                }
                status = v as i32;
                why = n;
            }
            if bad {
                status = 2;
            }
            self.exit = Some(status);
            if !bad {
                return status;
            }
        } else if let Some(status) = run_builtin(name, args, &mut self.out) {
            return status;
        } else {
            what = name;
            why = b": not found";
            // A byte loop: `contains` brings a word-at-a-time search.
            for &b in name {
                if b == b'/' {
                    why = b": cannot run programs: only builtins are available";
                }
            }
        }
        error_line(&[self.arg0, b": ", what, why]);
        status
    }
}

/// Runs the builtin `name`, if there is one, and writes its output: its status. For both the
/// shell and the applets.
pub(crate) fn run_builtin(name: &[u8], args: Args, out: &mut Output) -> Option<i32> {
    let builtin = builtins::find(name)?;
    out.begin();
    let status = builtin(args, out);
    Some(out.finish(name, status))
}

/// `sh -c SCRIPT` (`-e`: `errexit`): checks and runs the script, and returns its status; a
/// syntax error is a message and status 2. A script without a command (empty, blanks,
/// comments) does nothing and exits 0, as in every shell.
pub(crate) fn run_script(argv0: &[u8], script: &[u8], errexit: bool) -> i32 {
    // Never dropped: the process exits right after, and the kernel unmaps its memory.
    let mut text = ManuallyDrop::new(Stack::default());
    let script = join_lines(script, &mut text);
    let mut shell = ManuallyDrop::new(Shell::new(argv0, script, sys::getpid()));
    shell.errexit = errexit;
    match shell.check_and_run() {
        Ok(status) => status.unwrap_or(0),
        Err(_) => {
            if let Some(e) = shell.error {
                let [lead, token, tail] = e.pieces();
                error_line(&[argv0, b": syntax error: ", lead, token, tail]);
            }
            2
        }
    }
}

#[cfg(test)]
#[path = "tests/interpreter.rs"]
mod tests;
