//! The lexer: script bytes -> tokens, with POSIX sh quoting.
//!
//! It accepts only what the interpreter can run exactly. Everything else (pipes, redirections,
//! background jobs, variables other than `$$`, globs, backticks, here-documents, arithmetic...) is
//! a syntax error that names the token, never a guess.

use crate::error::SyntaxError;
use alloc::vec::Vec;

/// How deeply `$(...)` and `(...)` may nest: far beyond any real script, well within the stack.
pub const MAX_NESTING: usize = 200;

#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    Word(Word),
    AndIf,
    OrIf,
    Semi,
    Newline,
    LParen,
    RParen,
}

/// One shell word: pieces that concatenate (`'/mnt/it'\''s'` is one word of three pieces).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Word {
    pub pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    /// Literal bytes; `quoted` when they came from quotes or a backslash.
    Lit { bytes: Vec<u8>, quoted: bool },
    /// `$$`: the shell's process id.
    Pid { quoted: bool },
    /// `$(...)`: the tokens inside.
    Subst { tokens: Vec<Token>, quoted: bool },
}

impl Word {
    /// The word's text if it is plain unquoted literal text (reserved words, assignments).
    pub fn plain(&self) -> Option<&[u8]> {
        match self.pieces.as_slice() {
            [Piece::Lit {
                bytes,
                quoted: false,
            }] => Some(bytes),
            _ => None,
        }
    }

    fn push_lit(&mut self, b: u8, quoted: bool) {
        if let Some(Piece::Lit { bytes, quoted: q }) = self.pieces.last_mut() {
            if *q == quoted {
                bytes.push(b);
                return;
            }
        }
        self.pieces.push(Piece::Lit {
            bytes: alloc::vec![b],
            quoted,
        });
    }

    /// An empty quoted piece, so that `''` still makes a (empty) word.
    fn push_empty_quoted(&mut self) {
        self.pieces.push(Piece::Lit {
            bytes: Vec::new(),
            quoted: true,
        });
    }
}

pub fn tokenize(src: &[u8]) -> Result<Vec<Token>, SyntaxError> {
    let mut lx = Lexer { src, pos: 0 };
    lx.tokens(0, false)
}

struct Lexer<'a> {
    src: &'a [u8],
    pos: usize,
}

fn is_name_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

impl Lexer<'_> {
    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.src.get(self.pos + ahead).copied()
    }

    /// Tokens until the end of input, or (inside `$(`) until its closing `)`.
    fn tokens(&mut self, depth: usize, in_subst: bool) -> Result<Vec<Token>, SyntaxError> {
        if depth > MAX_NESTING {
            return Err(SyntaxError::TooDeep);
        }
        let mut out = Vec::new();
        let mut parens = 0usize;
        loop {
            let Some(b) = self.peek() else {
                if in_subst {
                    return Err(SyntaxError::Unterminated("$("));
                }
                return Ok(out);
            };
            match b {
                b' ' | b'\t' => self.pos += 1,
                b'\\' if self.peek_at(1) == Some(b'\n') => self.pos += 2,
                b'\n' => {
                    self.pos += 1;
                    out.push(Token::Newline);
                }
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                b'&' if self.peek_at(1) == Some(b'&') => {
                    self.pos += 2;
                    out.push(Token::AndIf);
                }
                b'|' if self.peek_at(1) == Some(b'|') => {
                    self.pos += 2;
                    out.push(Token::OrIf);
                }
                b';' if self.peek_at(1) == Some(b';') => {
                    return Err(SyntaxError::Unsupported(";;", "case statements"))
                }
                b';' => {
                    self.pos += 1;
                    out.push(Token::Semi);
                }
                b'(' => {
                    self.pos += 1;
                    parens += 1;
                    if parens > MAX_NESTING {
                        return Err(SyntaxError::TooDeep);
                    }
                    out.push(Token::LParen);
                }
                b')' => {
                    self.pos += 1;
                    if in_subst && parens == 0 {
                        return Ok(out);
                    }
                    parens = parens.saturating_sub(1);
                    out.push(Token::RParen);
                }
                b'&' => return Err(SyntaxError::Unsupported("&", "background jobs")),
                b'|' => return Err(SyntaxError::Unsupported("|", "pipes")),
                b'<' if self.peek_at(1) == Some(b'<') => {
                    return Err(SyntaxError::Unsupported("<<", "here-documents"))
                }
                b'<' | b'>' => {
                    let tok = if b == b'<' { "<" } else { ">" };
                    return Err(SyntaxError::Unsupported(tok, "redirections"));
                }
                _ => {
                    let word = self.word(depth)?;
                    out.push(Token::Word(word));
                }
            }
        }
    }

    /// One word, starting at a byte that is not blank and not an operator.
    fn word(&mut self, depth: usize) -> Result<Word, SyntaxError> {
        let mut w = Word::default();
        let start = self.pos;
        let mut bracket = false;
        if self.peek() == Some(b'~') {
            return Err(SyntaxError::Unsupported("~", "tilde expansion"));
        }
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'(' | b')' | b'<' | b'>' => break,
                b'\'' => {
                    self.pos += 1;
                    let close = self.src[self.pos..]
                        .iter()
                        .position(|&c| c == b'\'')
                        .ok_or(SyntaxError::Unterminated("'"))?;
                    let text = &self.src[self.pos..self.pos + close];
                    if text.is_empty() {
                        w.push_empty_quoted();
                    }
                    for &c in text {
                        w.push_lit(c, true);
                    }
                    self.pos += close + 1;
                }
                b'"' => {
                    self.pos += 1;
                    self.double_quoted(&mut w, depth)?;
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        // Line continuation: both bytes vanish.
                        Some(b'\n') => self.pos += 1,
                        Some(c) => {
                            self.pos += 1;
                            w.push_lit(c, true);
                        }
                        // A lone trailing backslash stays literal, as in dash and busybox.
                        None => w.push_lit(b'\\', true),
                    }
                }
                b'$' => self.dollar(&mut w, depth, false)?,
                b'`' => return Err(SyntaxError::Unsupported("`", "backquote substitution")),
                b'*' => return Err(SyntaxError::Unsupported("*", "globs")),
                b'?' => return Err(SyntaxError::Unsupported("?", "globs")),
                b'[' => {
                    bracket = true;
                    self.pos += 1;
                    w.push_lit(b, false);
                }
                _ => {
                    self.pos += 1;
                    w.push_lit(b, false);
                }
            }
        }
        // An unquoted `[` is a glob bracket unless the word is the `[` command itself.
        if bracket && &self.src[start..self.pos] != b"[" {
            return Err(SyntaxError::Unsupported("[", "globs"));
        }
        Ok(w)
    }

    /// The inside of `"..."`, after the opening quote.
    fn double_quoted(&mut self, w: &mut Word, depth: usize) -> Result<(), SyntaxError> {
        w.push_empty_quoted();
        loop {
            let Some(b) = self.peek() else {
                return Err(SyntaxError::Unterminated("\""));
            };
            match b {
                b'"' => {
                    self.pos += 1;
                    return Ok(());
                }
                b'\\' => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b'\n') => self.pos += 1,
                        Some(c @ (b'$' | b'`' | b'"' | b'\\')) => {
                            self.pos += 1;
                            w.push_lit(c, true);
                        }
                        _ => w.push_lit(b'\\', true),
                    }
                }
                b'$' => self.dollar(w, depth, true)?,
                b'`' => return Err(SyntaxError::Unsupported("`", "backquote substitution")),
                _ => {
                    self.pos += 1;
                    w.push_lit(b, true);
                }
            }
        }
    }

    /// At a `$`: `$$`, `$(...)`, a lone `$`, or an unsupported expansion.
    fn dollar(&mut self, w: &mut Word, depth: usize, quoted: bool) -> Result<(), SyntaxError> {
        match self.peek_at(1) {
            Some(b'$') => {
                self.pos += 2;
                w.pieces.push(Piece::Pid { quoted });
            }
            Some(b'(') if self.peek_at(2) == Some(b'(') => {
                return Err(SyntaxError::Unsupported("$((", "arithmetic expansion"))
            }
            Some(b'(') => {
                self.pos += 2;
                let tokens = self.tokens(depth + 1, true)?;
                w.pieces.push(Piece::Subst { tokens, quoted });
            }
            Some(b'{') => return Err(SyntaxError::Unsupported("${", "parameter expansion")),
            Some(b'\'') if !quoted => return Err(SyntaxError::Unsupported("$'", "$'...' quoting")),
            Some(c) if is_name_start(c) => {
                let start = self.pos;
                let mut end = self.pos + 1;
                while self
                    .src
                    .get(end)
                    .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_')
                {
                    end += 1;
                }
                return Err(SyntaxError::Variable(self.src[start..end].to_vec()));
            }
            Some(c)
                if c.is_ascii_digit() || matches!(c, b'?' | b'#' | b'@' | b'*' | b'!' | b'-') =>
            {
                return Err(SyntaxError::Variable(alloc::vec![b'$', c]));
            }
            // `$` before anything else is a literal dollar sign.
            _ => {
                self.pos += 1;
                w.push_lit(b'$', quoted);
            }
        }
        Ok(())
    }
}
