//! The lexer: finds the next token of the script, on demand. Words are only located here;
//! `expand` reads them (their quoting decides what they become).
//!
//! It accepts only what the interpreter can run exactly. Everything else (pipes, redirections,
//! background jobs, here-documents, `;;`...) is a syntax error that names the token, never a
//! guess.

use crate::interpreter::Shell;
use crate::sys::Stack;
use core::slice::from_ref;

/// In an order where the tokens tested together are neighbours (`AndIf | OrIf`, `Semi |
/// Newline`, `RParen | End`): one range check each (this order is the smallest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Token {
    Word,
    AndIf,
    OrIf,
    Semi,
    Newline,
    LParen,
    RParen,
    End,
}

/// Bytes that end a word outside quotes. Inlined: a bit test, cheaper than a call.
#[inline(always)]
pub fn ends_word(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>'
    )
}

/// Whether the byte `b` (a variable) is one of the given bytes (all below 64): a bit test.
/// Unlike comparisons it stays out of the byte switch around it, whose cases would otherwise
/// make it a jump table (larger, on s390x most). A macro: a function, even inlined, is merged
/// into the switch all the same.
macro_rules! in_set {
    ($b:ident, $($byte:literal)|+) => {
        $b < 64 && (1u64 << $b) & (0 $(| 1 << $byte)+) != 0
    };
}

impl<'s> Shell<'s> {
    pub fn byte_at(&self, i: usize) -> Option<u8> {
        #[cfg(test)]
        crate::testutil::tally(1);
        self.src.get(i).copied()
    }

    /// Skips blanks, comments and line continuations, and says what comes next (without
    /// consuming it). An unsupported operator is a syntax error (and then `End`).
    #[inline(always)]
    pub fn peek(&mut self) -> Token {
        self.next_token(false)
    }

    /// `peek`, after newlines too.
    #[inline(always)]
    pub fn linebreak(&mut self) -> Token {
        self.next_token(true)
    }

    /// `peek`, and `linebreak` when `newlines`: one function for both (smaller).
    fn next_token(&mut self, newlines: bool) -> Token {
        loop {
            let Some(b) = self.byte_at(self.pos) else {
                return Token::End;
            };
            // Blanks and comments by bit tests, apart from the switch below: as its cases they
            // made it a jump table (larger, on s390x most).
            if in_set!(b, b' ' | b'\t') {
                self.pos += 1;
                continue;
            }
            if in_set!(b, b'#') {
                while self.byte_at(self.pos).is_some_and(|c| c != b'\n') {
                    self.pos += 1;
                }
                continue;
            }
            let doubled = self.byte_at(self.pos + 1) == Some(b);
            // The error names the operator: the byte at hand (just read: no bounds check), or a
            // static copy of a doubled one.
            let token: &[u8] = match b {
                b'\n' if !newlines => return Token::Newline,
                b'\n' => {
                    self.pos += 1;
                    continue;
                }
                b'(' => return Token::LParen,
                b')' => return Token::RParen,
                b'&' if doubled => return Token::AndIf,
                b'|' if doubled => return Token::OrIf,
                b';' if !doubled => return Token::Semi,
                b';' => b";;",
                b'<' if doubled => b"<<",
                // Pipes, background jobs, redirections.
                b'&' | b'|' | b'<' | b'>' => from_ref(&self.src[self.pos]),
                _ => return Token::Word,
            };
            self.refuse(token);
            return Token::End;
        }
    }

    /// Consumes the operator `peek` just returned. Out of line: four instructions, smaller as a
    /// call.
    #[inline(never)]
    pub fn advance(&mut self, token: Token) {
        // The tokens' lengths, two bits each, `Word`'s lowest: 0 for `Word` and `End`, 2 for
        // `&&` and `||`, else 1. A shift, not a switch (smaller).
        const LENGTHS: u16 = 0b00_01_01_01_01_10_10_00;
        self.pos += (LENGTHS >> (2 * token as u16)) as usize & 3;
    }

    /// The unquoted start of the word at the current position: up to a blank, an operator, a
    /// quote or a `$`.
    pub fn plain_start(&self) -> &'s [u8] {
        // By index, with no panic path for `pos` (smaller than `position`).
        let rest = self.src.get(self.pos..).unwrap_or_default();
        let mut end = 0;
        while let Some(&b) = rest.get(end) {
            if ends_word(b) || matches!(b, b'\'' | b'"' | b'\\' | b'$' | b'`') {
                break;
            }
            end += 1;
        }
        #[cfg(test)]
        crate::testutil::tally(end + 1);
        &rest[..end]
    }

    /// The word at the current position if it is plain unquoted text, else empty (reserved
    /// words are recognised only when written plainly). Empty at an operator too.
    pub fn plain_word(&self) -> &'s [u8] {
        let word = self.plain_start();
        match self.byte_at(self.pos + word.len()) {
            // Where `plain_start` stops other than at the end of the word (smaller
            // than testing for the end).
            Some(b'\'' | b'"' | b'\\' | b'$' | b'`') => &[],
            _ => word,
        }
    }
}

/// The script with every line continuation (backslash-newline) removed, as POSIX removes them
/// before the script is split into tokens: anywhere but inside '...' and comments, and not
/// where the backslash is itself quoted by one before it. So `do\<newline>ne` is `done` and
/// `&\<newline>&` is `&&`, as in busybox and dash. The rest of the shell then never meets one.
///
/// The quoting that decides this is followed here: '...', "...", comments, and the `(` and
/// `$(` that open a context of their own inside "..." (one bit each on a stack, innermost
/// lowest; past 64 levels a `)` returns to unquoted text, and such a script is refused as
/// nested too deeply anyway). Text outside the subset is refused afterwards, whatever this
/// made of it.
pub(crate) fn join_lines<'a>(script: &[u8], out: &'a mut Stack) -> &'a [u8] {
    let (mut quoted, mut outer) = (false, 0u64);
    // The start of the text not yet copied, and the last byte kept (a `#` after a blank or an
    // operator starts a comment).
    let (mut start, mut prev) = (0, b'\n');
    let mut i = 0;
    while let Some(&b) = script.get(i) {
        i += 1;
        match b {
            b'\\' if script.get(i) == Some(&b'\n') => {
                out.push(script.get(start..i - 1).unwrap_or_default());
                i += 1;
                start = i;
                continue;
            }
            // The quoted byte is skipped; the backslash keeps a `#` after it in the word.
            b'\\' => i += 1,
            b'\'' if !quoted => {
                while script.get(i).is_some_and(|&c| c != b'\'') {
                    i += 1;
                }
                i += 1;
            }
            b'#' if !quoted && ends_word(prev) => {
                while script.get(i).is_some_and(|&c| c != b'\n') {
                    i += 1;
                }
            }
            b'"' => quoted = !quoted,
            b'(' if !quoted || prev == b'$' => {
                outer = outer << 1 | quoted as u64;
                quoted = false;
            }
            b')' if !quoted => {
                quoted = outer & 1 != 0;
                outer >>= 1;
            }
            _ => {}
        }
        prev = b;
    }
    #[cfg(test)]
    crate::testutil::tally(i);
    out.push(script.get(start..).unwrap_or_default());
    out.as_slice()
}

#[cfg(test)]
#[path = "tests/lexer.rs"]
mod tests;
