//! Syntax errors: each names the token it stopped at. The shell exits with status 2 on them,
//! as POSIX shells do, before running anything.

use alloc::vec::Vec;

#[derive(Debug, Clone, PartialEq)]
pub enum SyntaxError {
    /// A construct this shell does not run: (token, what it is).
    Unsupported(&'static str, &'static str),
    /// `$NAME` and other parameters: only `$$` exists here.
    Variable(Vec<u8>),
    /// A quote or `$(` that never closes.
    Unterminated(&'static str),
    /// A token where the grammar does not allow it.
    Unexpected(Vec<u8>),
    /// End of script where the grammar wants more.
    UnexpectedEnd,
    /// A reserved word this shell does not run (`if`, `for`, `case`, `{`...).
    Reserved(Vec<u8>),
    /// `NAME=value` as a command: variables are not supported.
    Assignment(Vec<u8>),
    /// Nesting beyond `lexer::MAX_NESTING`.
    TooDeep,
}

impl SyntaxError {
    /// The message after `sh: syntax error: `.
    pub fn message(&self) -> Vec<u8> {
        let mut m = Vec::new();
        let mut put = |parts: &[&[u8]]| {
            for p in parts {
                m.extend_from_slice(p);
            }
        };
        match self {
            SyntaxError::Unsupported(tok, what) => put(&[
                b"\"",
                tok.as_bytes(),
                b"\" is not supported (",
                what.as_bytes(),
                b")",
            ]),
            SyntaxError::Variable(name) => put(&[
                b"\"",
                name,
                b"\" is not supported (no variables: only $$ is expanded)",
            ]),
            SyntaxError::Unterminated(tok) => put(&[b"unterminated \"", tok.as_bytes(), b"\""]),
            SyntaxError::Unexpected(tok) => put(&[b"unexpected \"", tok, b"\""]),
            SyntaxError::UnexpectedEnd => put(&[b"unexpected end of script"]),
            SyntaxError::Reserved(word) => put(&[b"\"", word, b"\" is not supported"]),
            SyntaxError::Assignment(word) => put(&[
                b"\"",
                word,
                b"\" is not supported (no variable assignments)",
            ]),
            SyntaxError::TooDeep => put(&[b"nested too deeply"]),
        }
        m
    }
}
