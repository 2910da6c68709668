//! The interpreter's state, and simple commands. It never executes another program: every
//! command is a builtin, and any other name is "not found" (status 127).
//!
//! The script is interpreted straight from its text, dash-style: the parser (parser.rs) walks
//! it and runs each command as it is recognised. The whole script is first walked once with
//! `run` off, so that a syntax error anywhere stops it before anything ran; commands that must
//! not run (the untaken side of `&&`/`||`, a loop's last body, everything after `exit`) are
//! walked the same way. A loop is run by walking its text again.

use crate::args::Args;
use crate::builtins;
use crate::error::{Message, SyntaxError};
use crate::output::{error_line, Output};
use crate::sys::Stack;

pub struct Shell<'s> {
    pub src: &'s [u8],
    pub pos: usize,
    /// argv[0] as invoked (`sh`, `/bin/sh`): the prefix of the shell's own messages, as in
    /// busybox.
    pub arg0: &'s [u8],
    pub pid: i32,
    /// Whether commands run (see the module comment).
    pub run: bool,
    /// `exit N` was run: nothing more runs until the innermost subshell, `$(...)` or the
    /// script itself ends, which then ends with N.
    pub exit: Option<i32>,
    /// `$?`: the status of the last command (used by a bare `exit`).
    pub last_status: i32,
    /// Nesting of subshells, loops and `$(...)`.
    pub depth: usize,
    /// Open `$(...)`: the end of the script is then an unterminated `$(`.
    pub substitutions: usize,
    /// The fields of the commands being expanded, each followed by a NUL.
    pub fields: Stack,
    pub out: Output,
    /// The syntax error that stopped the walk.
    pub error: Option<SyntaxError<'s>>,
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
        }
    }

    /// Records a syntax error at `token` (the first one counts) and ends the walk: the position
    /// moves to the end of the script, where every parsing function stops.
    pub fn fail(&mut self, token: &'s [u8], message: &'static Message) {
        if self.error.is_none() {
            self.error = Some(SyntaxError { token, message });
        }
        self.pos = self.src.len();
    }

    /// Whether the command at hand runs.
    pub fn running(&self) -> bool {
        self.run && self.exit.is_none()
    }

    /// Runs the simple command whose fields start at `mark`.
    pub fn simple_command(&mut self, mark: usize, substitution_status: Option<i32>) -> i32 {
        let mut args = Args::new(&self.fields.as_slice()[mark..]);
        let Some(name) = args.next() else {
            // No command, only expansions: the status of the last `$(...)` (POSIX).
            return substitution_status.unwrap_or(0);
        };
        if name == b"exit" {
            let status = self.exit_status(args);
            self.exit = Some(status);
            return status;
        }
        let Some(builtin) = builtins::find(name) else {
            let why: &[u8] = if name.contains(&b'/') {
                b": cannot run programs: only builtins are available"
            } else {
                b": not found"
            };
            error_line(&[self.arg0, b": ", name, why]);
            return 127;
        };
        self.out.begin();
        let status = builtin(args, &mut self.out);
        self.out.finish(name, status)
    }

    /// `exit [N]`: N modulo 256, or the last status; a bad N is an error with status 2.
    fn exit_status(&self, mut args: Args) -> i32 {
        let n = match (args.next(), args.next()) {
            (None, _) => return self.last_status,
            (Some(n), None) => n,
            _ => {
                error_line(&[self.arg0, b": exit: too many arguments"]);
                return 2;
            }
        };
        if n.is_empty() || n.len() > 10 || !n.iter().all(u8::is_ascii_digit) {
            error_line(&[self.arg0, b": exit: Illegal number: ", n]);
            return 2;
        }
        let v = n.iter().fold(0u64, |acc, &d| acc * 10 + (d - b'0') as u64);
        (v & 0xff) as i32
    }
}

#[cfg(test)]
#[path = "tests/exec.rs"]
mod tests;
