//! Words: quoting, `$$`, `$(...)`, quote removal and field splitting of unquoted results.
//!
//! A word is read from the script's text; its fields are appended to `Shell::fields`, each
//! followed by a NUL (and dropped unused when the command does not run). `$(...)` runs its
//! commands with their output kept in `Output::buf`, then moves that text into the field being
//! built.

use crate::interpreter::{Shell, UNCONTAINED};
use crate::lexer::{ends_word, Token};
use crate::output::{decimal, error_line};
use crate::syntax_error::UNTERMINATED;

fn is_ifs(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// The word being read: whether its current field exists yet (an empty quoted string makes a
/// field; an empty unquoted `$(...)` result does not). Its fields are added even when the
/// command does not run (smaller than a test): `simple` drops them all the same, and
/// a `$(...)` that does not run captures nothing.
struct Word {
    exists: bool,
}

impl<'s> Shell<'s> {
    /// Reads the word at the current position. `substitution_status` receives the status of
    /// each `$(...)` run, which is the command's status when no fields remain (POSIX).
    pub fn word(&mut self, substitution_status: &mut i32) {
        let start = self.pos;
        let mut w = Word { exists: false };
        let (mut brackets, mut in_double_quotes) = (0, false);
        let mut digits = [0u8; 10];
        // One loop for both contexts: outside quotes and inside "...".
        loop {
            let Some(b) = self.byte_at(self.pos) else {
                if in_double_quotes {
                    return self.fail(b"\"", &UNTERMINATED);
                }
                break;
            };
            if !in_double_quotes && ends_word(b) {
                break;
            }
            let at = self.pos;
            self.pos += 1;
            let next = self.byte_at(self.pos);
            // The bytes this piece adds to the word, added by one call.
            let text: &[u8] = match b {
                // Quotes add nothing, but make the word exist even if it stays empty.
                b'"' => {
                    in_double_quotes = !in_double_quotes;
                    w.exists = true;
                    continue;
                }
                b'\'' if !in_double_quotes => {
                    let rest = self.src.get(self.pos..).unwrap_or_default();
                    let Some(close) = rest.iter().position(|&c| c == b'\'') else {
                        return self.fail(b"'", &UNTERMINATED);
                    };
                    #[cfg(test)]
                    crate::testutil::tally(close + 1);
                    self.pos += close + 1;
                    &rest[..close]
                }
                // A backslash quotes the next byte; inside "..." only $ ` " \. A lone trailing
                // backslash stays literal, as in dash and busybox.
                b'\\'
                    if next.is_some()
                        && (!in_double_quotes
                            || matches!(next, Some(b'$' | b'`' | b'"' | b'\\'))) =>
                {
                    self.pos += 1;
                    &self.src[at + 1..self.pos]
                }
                b'$' if next == Some(b'$') => {
                    self.pos += 1;
                    decimal(&mut digits, self.pid as u32)
                }
                b'$' if next == Some(b'(') && self.byte_at(at + 2) != Some(b'(') => {
                    self.pos += 1;
                    *substitution_status = self.substitution(&mut w, in_double_quotes);
                    continue;
                }
                // Backquotes, tilde expansion and globs are refused by the byte at hand;
                // expansions other than `$$` and `$(...)` by their first bytes.
                b'$' | b'`' | b'~' | b'*' | b'?' => {
                    let refused = match b {
                        b'$' => self.expansion_len(at, in_double_quotes),
                        b'~' => (at == start) as usize,
                        b'`' => 1,
                        _ => !in_double_quotes as usize,
                    };
                    if refused > 0 {
                        let name = &self.src[at..][..refused];
                        return self.refuse(name);
                    }
                    &self.src[at..self.pos]
                }
                _ => {
                    brackets += (b == b'[' && !in_double_quotes) as usize;
                    &self.src[at..self.pos]
                }
            };
            self.literal(&mut w, text);
        }
        // An unquoted `[` is a glob bracket unless the word is the `[` command itself.
        // (`[[` too: the parser refuses it by name, as bash's test command.) The word is one of
        // them when all its bytes, at most two, are unquoted `[`s: a count, no text compared.
        let len = self.pos - start;
        if brackets > 0 && (brackets != len || len > 2) {
            return self.refuse(b"[");
        }
        self.end_field(&mut w);
    }

    // Inlined: a call costs as much as the body (and a prologue on ppc64le).
    #[inline(always)]
    fn literal(&mut self, w: &mut Word, bytes: &[u8]) {
        self.fields.push(bytes);
        w.exists = true;
    }

    fn end_field(&mut self, w: &mut Word) {
        if w.exists {
            self.fields.push(&[0]);
        }
        w.exists = false;
    }

    /// The length of the unsupported expansion at the `$` at `at` (`$HOME`, `${`, `$((`, `$?`...),
    /// or 0: a `$` before anything else (a literal dollar sign). Asked after `$$` and `$(...)`
    /// were told apart, so a `$(` here is a `$((`. A name or positional parameter is named up to
    /// the last letter, digit or `_` (`$1x` whole: one scan for both is smaller, and either way
    /// it is refused).
    fn expansion_len(&self, at: usize, quoted: bool) -> usize {
        let mut len = 1;
        while self
            .byte_at(at + len)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            len += 1;
        }
        if len > 1 {
            return len;
        }
        match self.byte_at(at + 1) {
            Some(b'(') => 3,
            Some(b'{' | b'?' | b'#' | b'@' | b'*' | b'!' | b'-') => 2,
            Some(b'\'') if !quoted => 2,
            _ => 0,
        }
    }

    /// `$(...)` after its `$(`: runs the list with its output captured and adds that output,
    /// without trailing newlines, to the word. Returns the list's status.
    fn substitution(&mut self, w: &mut Word, quoted: bool) -> i32 {
        let running = self.running();
        let capturing = self.out.capturing;
        let start = self.out.buf.len();
        self.out.capturing = true;
        self.substitutions += 1;
        // -e does not apply inside a `$(...)`, as in busybox (dash differs: it applies it).
        let tested = self.tested;
        self.tested = true;
        let status = if self.linebreak() == Token::RParen {
            0
        } else {
            self.nested_list()
        };
        self.tested = tested;
        self.expect(Token::RParen, 1);
        self.substitutions -= 1;
        self.out.capturing = capturing;
        let status = self.contained(running, status);
        self.split(w, start, quoted);
        self.out.buf.truncate(start);
        status
    }

    /// Adds the captured text at `start..`, without trailing newlines, to the word: as it is
    /// inside quotes, else split into fields at blanks and newlines.
    fn split(&mut self, w: &mut Word, start: usize, quoted: bool) {
        let mut text = &self.out.buf.as_slice()[start..];
        while let [rest @ .., b'\n'] = text {
            text = rest;
        }
        // Quoted, byte by byte as well: one loop (smaller).
        w.exists |= quoted;
        for &b in text {
            if !quoted && matches!(b, b'*' | b'?' | b'[') {
                // Pathname expansion of the result would need globbing: refuse, never guess. (The
                // fields added so far are dropped: the command does not run.)
                error_line(&[
                    self.arg0,
                    b": \"",
                    text,
                    b"\": globs in an unquoted $(...) are not supported (quote it)",
                ]);
                self.exit = Some(UNCONTAINED | 2);
                return;
            }
            // A blank ends the field at hand, if there is one (each field ends with a NUL).
            let blank = !quoted && is_ifs(b);
            if !blank || w.exists {
                self.fields.push(&[if blank { 0 } else { b }]);
            }
            w.exists = !blank;
        }
    }
}
