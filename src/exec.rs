//! The interpreter: runs the syntax tree with POSIX exit-status rules. It never executes another
//! program: every command is a builtin, and any other name is "not found" (status 127).

use crate::builtins;
use crate::expand::expand_words;
use crate::output::{error_line, Output};
use crate::parser::{AndOr, Command, Connector, List};
use alloc::vec::Vec;

/// Leaving the normal flow: `exit N` (or a fatal expansion error) ends the shell, or the
/// innermost subshell or `$(...)`.
#[derive(Debug)]
pub enum Flow {
    Exit(i32),
}

pub struct Shell {
    /// argv[0] as invoked (`sh`, `/bin/sh`): the prefix of the shell's own messages, as in
    /// busybox.
    pub arg0: Vec<u8>,
    pub pid: i32,
    /// `$?`: the status of the last command (used by a bare `exit`).
    pub last_status: i32,
    pub out: Output,
}

impl Shell {
    pub fn new(arg0: &[u8], pid: i32) -> Self {
        Shell {
            arg0: arg0.to_vec(),
            pid,
            last_status: 0,
            out: Output::in_shell(),
        }
    }

    /// Runs a whole script; returns the shell's exit status.
    pub fn run_script(&mut self, list: &List) -> i32 {
        match self.list(list) {
            Ok(status) => status,
            Err(Flow::Exit(status)) => status,
        }
    }

    pub fn list(&mut self, list: &List) -> Result<i32, Flow> {
        let mut status = 0;
        for and_or in &list.0 {
            status = self.and_or(and_or)?;
        }
        Ok(status)
    }

    fn and_or(&mut self, and_or: &AndOr) -> Result<i32, Flow> {
        let mut status = self.command(&and_or.first)?;
        for (connector, cmd) in &and_or.rest {
            let run = match connector {
                Connector::And => status == 0,
                Connector::Or => status != 0,
            };
            if run {
                status = self.command(cmd)?;
            }
        }
        Ok(status)
    }

    fn command(&mut self, cmd: &Command) -> Result<i32, Flow> {
        let status = match cmd {
            Command::Simple(words) => self.simple(words)?,
            // No variables or directories change in here, so a subshell only has to catch `exit`.
            Command::Subshell(list) => match self.list(list) {
                Ok(s) | Err(Flow::Exit(s)) => s,
            },
            Command::Loop {
                until,
                condition,
                body,
            } => {
                let mut status = 0;
                loop {
                    let c = self.list(condition)?;
                    if (c == 0) == *until {
                        break;
                    }
                    status = self.list(body)?;
                }
                status
            }
        };
        self.last_status = status;
        Ok(status)
    }

    fn simple(&mut self, words: &[crate::parser::Word]) -> Result<i32, Flow> {
        let (fields, subst_status) = expand_words(self, words)?;
        let Some((name, args)) = fields.split_first() else {
            return Ok(subst_status.unwrap_or(0));
        };
        if name.as_slice() == b"exit" {
            return Err(Flow::Exit(self.exit_status(args)));
        }
        match builtins::find(name) {
            Some(builtin) => Ok(builtin(args, &mut self.out)),
            None => {
                if name.contains(&b'/') {
                    error_line(&[
                        &self.arg0,
                        b": ",
                        name,
                        b": cannot run programs: only builtins are available",
                    ]);
                } else {
                    error_line(&[&self.arg0, b": ", name, b": not found"]);
                }
                Ok(127)
            }
        }
    }

    /// `exit [N]`: N modulo 256, or the last status; a bad N is an error with status 2.
    fn exit_status(&self, args: &[Vec<u8>]) -> i32 {
        match args {
            [] => self.last_status,
            [n] => match parse_status(n) {
                Some(v) => v,
                None => {
                    error_line(&[&self.arg0, b": exit: Illegal number: ", n]);
                    2
                }
            },
            _ => {
                error_line(&[&self.arg0, b": exit: too many arguments"]);
                2
            }
        }
    }

    /// Runs `list` with standard output captured, as `$(...)` does.
    pub fn capture(&mut self, list: &List) -> Result<(Vec<u8>, i32), Flow> {
        self.out.begin_capture();
        let status = match self.list(list) {
            Ok(s) | Err(Flow::Exit(s)) => s,
        };
        Ok((self.out.end_capture(), status))
    }

    pub fn expansion_error(&mut self, text: &[u8], glob: u8) -> Flow {
        error_line(&[
            &self.arg0,
            b": \"",
            text,
            b"\": pathname expansion is not supported (unquoted $(...) result contains \"",
            &[glob],
            b"\"; quote it)",
        ]);
        Flow::Exit(2)
    }
}

fn parse_status(text: &[u8]) -> Option<i32> {
    if text.is_empty() || text.len() > 10 || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = text
        .iter()
        .fold(0u64, |acc, &d| acc * 10 + (d - b'0') as u64);
    Some((v & 0xff) as i32)
}
