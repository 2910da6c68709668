//! Words: quoting, `$$`, `$(...)`, quote removal and field splitting of unquoted results.
//!
//! A word is read from the script's text; when the command runs, its fields are appended to
//! `Shell::fields`, each followed by a NUL. `$(...)` runs its commands with their output kept in
//! `Output::buf`, then moves that text into the field being built.

use crate::error::{self, Fail};
use crate::exec::Shell;
use crate::lexer::{ends_word, Token};
use crate::output::error_line;

fn is_ifs(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}

/// The word being read: whether its current field exists yet (an empty quoted string makes a
/// field; an empty unquoted `$(...)` result does not), and the status of its last `$(...)`.
struct Word {
    emit: bool,
    exists: bool,
}

impl<'s> Shell<'s> {
    /// Reads the word at the current position. `substitution_status` receives the status of
    /// each `$(...)` run, which is the command's status when no fields remain (POSIX).
    pub fn word(&mut self, substitution_status: &mut Option<i32>) -> Result<(), Fail> {
        let start = self.pos;
        let mut w = Word {
            emit: self.running(),
            exists: false,
        };
        let mut bracket = false;
        if self.byte_at(self.pos) == Some(b'~') {
            return Err(self.fail(b"~", &error::TILDE));
        }
        while let Some(b) = self.byte_at(self.pos) {
            match b {
                _ if ends_word(b) => break,
                b'\'' => {
                    self.pos += 1;
                    let rest = &self.src[self.pos..];
                    let close = rest
                        .iter()
                        .position(|&c| c == b'\'')
                        .ok_or_else(|| self.fail(b"'", &error::UNTERMINATED))?;
                    self.literal(&mut w, &rest[..close]);
                    w.exists = true;
                    self.pos += close + 1;
                }
                b'"' => {
                    self.pos += 1;
                    w.exists = true;
                    self.double_quoted(&mut w, substitution_status)?;
                }
                b'\\' => {
                    self.pos += 1;
                    match self.byte_at(self.pos) {
                        // Line continuation: both bytes vanish.
                        Some(b'\n') => self.pos += 1,
                        Some(_) => {
                            self.literal(&mut w, &self.src[self.pos..self.pos + 1]);
                            self.pos += 1;
                        }
                        // A lone trailing backslash stays literal, as in dash and busybox.
                        None => self.literal(&mut w, b"\\"),
                    }
                }
                b'$' => self.dollar(&mut w, false, substitution_status)?,
                b'`' => return Err(self.fail(b"`", &error::BACKQUOTE)),
                b'*' => return Err(self.fail(b"*", &error::GLOBS)),
                b'?' => return Err(self.fail(b"?", &error::GLOBS)),
                _ => {
                    bracket |= b == b'[';
                    self.literal(&mut w, &self.src[self.pos..self.pos + 1]);
                    self.pos += 1;
                }
            }
        }
        // An unquoted `[` is a glob bracket unless the word is the `[` command itself.
        // (`[[` too: the parser refuses it by name, as bash's test command.)
        if bracket && !matches!(&self.src[start..self.pos], b"[" | b"[[") {
            return Err(self.fail(b"[", &error::GLOBS));
        }
        self.end_field(&mut w);
        Ok(())
    }

    fn literal(&mut self, w: &mut Word, bytes: &[u8]) {
        if w.emit {
            self.fields.push(bytes);
        }
        w.exists = true;
    }

    fn end_field(&mut self, w: &mut Word) {
        if w.emit && w.exists {
            self.fields.push(&[0]);
        }
        w.exists = false;
    }

    /// The inside of `"..."`, after the opening quote.
    fn double_quoted(
        &mut self,
        w: &mut Word,
        substitution_status: &mut Option<i32>,
    ) -> Result<(), Fail> {
        loop {
            let Some(b) = self.byte_at(self.pos) else {
                return Err(self.fail(b"\"", &error::UNTERMINATED));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.pos += 1;
                    match self.byte_at(self.pos) {
                        Some(b'\n') => self.pos += 1,
                        Some(b'$' | b'`' | b'"' | b'\\') => {
                            self.literal(w, &self.src[self.pos..self.pos + 1]);
                            self.pos += 1;
                        }
                        _ => self.literal(w, b"\\"),
                    }
                }
                b'$' => self.dollar(w, true, substitution_status)?,
                b'`' => return Err(self.fail(b"`", &error::BACKQUOTE)),
                _ => {
                    self.literal(w, &self.src[self.pos..self.pos + 1]);
                    self.pos += 1;
                }
            }
        }
    }

    /// At a `$`: `$$`, `$(...)`, a lone `$`, or an unsupported expansion.
    fn dollar(
        &mut self,
        w: &mut Word,
        quoted: bool,
        substitution_status: &mut Option<i32>,
    ) -> Result<(), Fail> {
        let at = self.pos;
        let (len, message) = match (self.byte_at(at + 1), self.byte_at(at + 2)) {
            (Some(b'$'), _) => {
                self.pos += 2;
                let mut digits = [0u8; 10];
                let text = decimal(&mut digits, self.pid as u32);
                self.literal(w, text);
                return Ok(());
            }
            (Some(b'('), Some(b'(')) => (3, &error::ARITHMETIC),
            (Some(b'('), _) => {
                self.pos += 2;
                let status = self.substitution(w, quoted)?;
                *substitution_status = Some(status);
                return Ok(());
            }
            (Some(b'{'), _) => (2, &error::PARAMETER),
            (Some(b'\''), _) if !quoted => (2, &error::DOLLAR_QUOTE),
            (Some(c), _) if c.is_ascii_alphabetic() || c == b'_' => {
                let name = &self.src[at + 1..];
                let len = name
                    .iter()
                    .position(|&c| !c.is_ascii_alphanumeric() && c != b'_')
                    .unwrap_or(name.len());
                (len + 1, &error::VARIABLE)
            }
            (Some(c), _)
                if c.is_ascii_digit() || matches!(c, b'?' | b'#' | b'@' | b'*' | b'!' | b'-') =>
            {
                (2, &error::VARIABLE)
            }
            // `$` before anything else is a literal dollar sign.
            _ => {
                self.pos += 1;
                self.literal(w, b"$");
                return Ok(());
            }
        };
        Err(self.fail(&self.src[at..at + len], message))
    }

    /// `$(...)` after its `$(`: runs the list with its output captured and adds that output,
    /// without trailing newlines, to the word. Returns the list's status.
    fn substitution(&mut self, w: &mut Word, quoted: bool) -> Result<i32, Fail> {
        let running = self.running();
        let capturing = self.out.capturing;
        let start = self.out.buf.len();
        self.out.capturing = true;
        self.substitutions += 1;
        self.linebreak()?;
        let status = if self.peek()? == Token::RParen {
            0
        } else {
            self.nested_list()?
        };
        self.expect(Token::RParen)?;
        self.substitutions -= 1;
        self.out.capturing = capturing;
        let status = self.contained(running, status);
        if w.emit {
            let mut end = self.out.buf.len();
            while end > start && self.out.buf.as_slice()[end - 1] == b'\n' {
                end -= 1;
            }
            self.out.buf.truncate(end);
            self.split(w, start, quoted);
        }
        self.out.buf.truncate(start);
        Ok(status)
    }

    /// Adds the captured text at `start..` to the word: as it is inside quotes, else split into
    /// fields at blanks and newlines.
    fn split(&mut self, w: &mut Word, start: usize, quoted: bool) {
        let text = &self.out.buf.as_slice()[start..];
        if quoted {
            self.fields.push(text);
            w.exists = true;
            return;
        }
        if let Some(&glob) = text.iter().find(|b| matches!(b, b'*' | b'?' | b'[')) {
            // Pathname expansion of the result would need globbing: refuse, never guess.
            error_line(&[
                self.arg0,
                b": \"",
                text,
                b"\": pathname expansion is not supported (unquoted $(...) result contains \"",
                &[glob],
                b"\"; quote it)",
            ]);
            self.exit = Some(2);
            w.emit = false;
            return;
        }
        for i in 0..text.len() {
            let b = self.out.buf.as_slice()[start + i];
            if is_ifs(b) {
                self.end_field(w);
            } else {
                self.fields.push(&[b]);
                w.exists = true;
            }
        }
    }
}

/// `n` in decimal, written at the end of `buf`.
pub fn decimal(buf: &mut [u8; 10], mut n: u32) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}
