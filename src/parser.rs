//! The parser: the grammar, walked straight over the script's text, running each command as it
//! is recognised when `Shell::run` says so (see interpreter.rs for the two walks).
//!
//! Grammar (a strict subset of POSIX sh):
//!   script   := linebreak [list] linebreak
//!   list     := and_or { (';' | newline) linebreak and_or } [';']
//!   and_or   := command { ('&&' | '||') linebreak command }
//!   command  := simple | '(' list ')' | ('until' | 'while') list 'do' list 'done'
//!   simple   := WORD { WORD }
//!
//! A syntax error is recorded (`Shell::fail`) and moves the walk to the end of the script, so
//! every function here simply returns: no error value is passed up.

use crate::args::word_index;
use crate::interpreter::{Shell, UNCONTAINED};
use crate::lexer::Token;
use crate::syntax_error::{Fail, PLAIN, UNEXPECTED, UNTERMINATED};

/// How deeply subshells, loops and `$(...)` may nest: far beyond any real script, well within
/// the stack.
pub const MAX_NESTING: usize = 200;

/// Words that start a compound command or belong to one: only the loops are supported. `do`
/// and `done` are the only ones starting with "d", `until` and `while` with "u" and "w".
const RESERVED: &[u8] =
    b"do done until while if then else elif fi case esac for in { } ! function select [[ ]]";

/// The keywords `expect` takes, as their lengths (it tells them apart by length).
const DO: usize = 2;
const DONE: usize = 4;

impl<'s> Shell<'s> {
    /// Checks the whole script, then runs it. `Ok(None)` when it holds no command at all.
    pub fn check_and_run(&mut self) -> Result<Option<i32>, Fail> {
        let run = self.run;
        self.run = false;
        // One call for both walks (smaller): the second finds what the first did.
        let mut checked = false;
        loop {
            let found = self.script();
            if self.error.is_some() {
                return Err(Fail);
            }
            let Some(status) = found else {
                return Ok(None);
            };
            if checked {
                return Ok(Some(self.exit.take().unwrap_or(status) & 0xff));
            }
            checked = true;
            self.pos = 0;
            self.run = run;
        }
    }

    fn script(&mut self) -> Option<i32> {
        if self.linebreak() == Token::End {
            return None;
        }
        let status = self.list();
        self.expect(Token::End, 0);
        Some(status)
    }

    /// Records the token at hand (`peek` is idempotent) as unexpected. Inside `$(...)` the end
    /// of the script can only be this error: the `$(` is unterminated.
    fn unexpected(&mut self) {
        let t = self.peek();
        let at = self.pos;
        let name: &[u8] = match t {
            Token::End if self.substitutions > 0 => {
                return self.fail(b"$(", &UNTERMINATED);
            }
            Token::End => return self.fail(b"unexpected end of script", &PLAIN),
            Token::Word => match self.plain_word() {
                [] => b"word",
                w => w,
            },
            Token::Newline => b"newline",
            // An operator is named as it is written (`fail` moves on anyway).
            _ => {
                self.advance(t);
                &self.src[at..self.pos]
            }
        };
        self.fail(name, &UNEXPECTED);
    }

    /// The reserved word at the current position if one is written plainly, else empty (one
    /// test less than an `Option` at each use: smaller). Only after `peek` (blanks
    /// skipped): at an operator the plain word is empty, never a reserved word.
    fn reserved(&self) -> &'s [u8] {
        let w = self.plain_word();
        match word_index(RESERVED, w) {
            Some(_) => w,
            None => &[],
        }
    }

    /// The list and its and-or lists in one loop, with one call for every command
    /// (smaller): after `&&` or `||` the next command runs or not by the status so far, after a
    /// separator it runs. Newlines before the list are skipped here.
    pub fn list(&mut self) -> i32 {
        let (mut status, mut go) = (0, true);
        let mut t = self.linebreak();
        loop {
            let (run, tested) = (self.run, self.tested);
            self.run = run & go;
            // With -e, whether `&&` or `||` follows decides whether a failure ends the shell,
            // inside the command too (a subshell): found by walking it once without running.
            if self.errexit && self.running() {
                let pos = self.pos;
                self.run = false;
                self.command(t);
                self.tested |= matches!(self.peek(), Token::AndIf | Token::OrIf);
                self.pos = pos;
                self.run = run & go;
            }
            let next = self.command(t);
            (self.run, self.tested) = (run, tested);
            if go {
                status = next;
            }
            let op = self.peek();
            // -e: a command that ran and failed, untested, ends the shell (or the subshell or
            // `$(...)` it is in, whose failure then counts in turn).
            if go
                && next != 0
                && self.errexit
                && !self.tested
                && self.running()
                && !matches!(op, Token::AndIf | Token::OrIf)
            {
                self.exit = Some(next);
            }
            go = match op {
                Token::AndIf | Token::OrIf => (status == 0) == (op == Token::AndIf),
                Token::Semi | Token::Newline => true,
                // Anything else ends the list; what may not follow it (a word after a compound
                // command, a `(`...) is the caller's `expect` to report.
                _ => return status,
            };
            self.advance(op);
            t = self.linebreak();
            // After a separator, a list ends at `)`, the end, `do` or `done` (the only keywords
            // starting with "d"); after `&&` or `||` a command must follow.
            if matches!(op, Token::Semi | Token::Newline)
                && (matches!(t, Token::End | Token::RParen)
                    || matches!(self.reserved(), [b'd', ..]))
            {
                return status;
            }
        }
    }

    /// The command at `t`, the token just peeked.
    fn command(&mut self, t: Token) -> i32 {
        let running = self.running();
        // The unquoted start of the word: a reserved word is all of it. (In this order:
        // smaller.)
        let plain = self.plain_start();
        let kw = self.reserved();
        let status = match (t, kw) {
            // `NAME=...` is an assignment whatever follows the `=` (`x='y'`, `x=$(...)`): only
            // the unquoted start of the word decides.
            (Token::Word, []) if !is_assignment(plain) => self.simple(),
            (Token::LParen, _) => {
                self.advance(t);
                let status = self.nested_list();
                self.expect(Token::RParen, 1);
                self.contained(running, status)
            }
            // Slice patterns: no bounds check on the first byte.
            (Token::Word, kw @ [c @ (b'u' | b'w'), ..]) => {
                self.pos += kw.len();
                self.loop_command(*c == b'u')
            }
            // Assignments and reserved words other than `do` and `done` (unexpected here) are
            // not supported.
            (Token::Word, kw) if !matches!(kw, [b'd', ..]) => {
                self.refuse(plain);
                return 0;
            }
            _ => {
                self.unexpected();
                return 0;
            }
        };
        if running {
            self.last_status = status;
        }
        status
    }

    /// The end of a subshell or `$(...)` that was entered running: an `exit` inside ends only
    /// it, with the exit's status (a refusal goes on up: `UNCONTAINED`).
    pub fn contained(&mut self, running: bool, status: i32) -> i32 {
        match self.exit {
            Some(code) if running && code < UNCONTAINED => {
                self.exit = None;
                code
            }
            _ => status,
        }
    }

    /// `linebreak list` one level deeper.
    pub fn nested_list(&mut self) -> i32 {
        if self.depth == MAX_NESTING {
            self.fail(b"nested too deeply", &PLAIN);
            return 0;
        }
        self.depth += 1;
        let status = self.list();
        self.depth -= 1;
        status
    }

    /// Consumes `token` (after newlines), `len` bytes long, or records what came instead. A
    /// `Word` must be the keyword `DO` or `DONE` (told apart by their lengths: they are the only
    /// reserved words starting with "d"). A length rather than a slice: one argument less at each
    /// call (smaller everywhere).
    pub fn expect(&mut self, token: Token, len: usize) {
        let t = self.linebreak();
        if t == token
            && (t != Token::Word || matches!(self.reserved(), w @ [b'd', ..] if w.len() == len))
        {
            self.pos += len;
        } else {
            self.unexpected();
        }
    }

    /// `until`/`while`: each round walks the condition and body again from their text; the
    /// last walk, which finds `done`, runs nothing.
    fn loop_command(&mut self, until: bool) -> i32 {
        let start = self.pos;
        let run = self.run;
        let mut status = 0;
        loop {
            self.pos = start;
            let tested = self.tested;
            self.tested = true;
            let condition = self.nested_list();
            self.tested = tested;
            self.expect(Token::Word, DO);
            let go = self.running() & ((condition == 0) != until);
            self.run = run & go;
            let body = self.nested_list();
            self.expect(Token::Word, DONE);
            self.run = run;
            if !go {
                return status;
            }
            status = body;
        }
    }

    fn simple(&mut self) -> i32 {
        let mark = self.fields.len();
        let mut substitution_status = 0;
        // The commands inside `$(...)` set `$?` as they run; the command itself (a bare `exit`)
        // sees the `$?` from before its words were expanded, as in busybox and dash. No need to
        // restore it: when the command runs, `command` sets it after.
        let status_before = self.last_status;
        while self.peek() == Token::Word {
            self.word(&mut substitution_status);
        }
        let status = if self.running() {
            self.simple_command(mark, substitution_status, status_before)
        } else {
            0
        };
        self.fields.truncate(mark);
        status
    }
}

/// `NAME=...` with a valid variable name before the `=`: one pass up to the first `=`.
fn is_assignment(text: &[u8]) -> bool {
    for (i, &c) in text.iter().enumerate() {
        if c == b'=' {
            return i > 0;
        }
        if !(c.is_ascii_alphabetic() || c == b'_' || (i > 0 && c.is_ascii_digit())) {
            return false;
        }
    }
    false
}

#[cfg(test)]
#[path = "tests/parser.rs"]
mod tests;
