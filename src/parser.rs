//! The parser: tokens -> the syntax tree the interpreter runs.
//!
//! Grammar (a strict subset of POSIX sh):
//!   script   := linebreak [list] linebreak
//!   list     := and_or { (';' | newline) linebreak and_or } [';']
//!   and_or   := command { ('&&' | '||') linebreak command }
//!   command  := simple | '(' list ')' | ('until' | 'while') list 'do' list 'done'
//!   simple   := WORD { WORD }

use crate::error::SyntaxError;
use crate::lexer::{self, Piece, Token};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// Commands separated by `;` or newlines, run in order.
#[derive(Debug, Clone, PartialEq)]
pub struct List(pub Vec<AndOr>);

/// `a && b || c`: the first command, then each connector with its command.
#[derive(Debug, Clone, PartialEq)]
pub struct AndOr {
    pub first: Command,
    pub rest: Vec<(Connector, Command)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Connector {
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Simple(Vec<Word>),
    Subshell(Box<List>),
    Loop {
        until: bool,
        condition: Box<List>,
        body: Box<List>,
    },
}

/// A word ready for expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct Word(pub Vec<Part>);

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(Vec<u8>, bool),
    Pid(bool),
    Subst(List, bool),
}

/// Words that start a compound command or belong to one; only the loops are supported.
const UNSUPPORTED_RESERVED: &[&[u8]] = &[
    b"if",
    b"then",
    b"else",
    b"elif",
    b"fi",
    b"case",
    b"esac",
    b"for",
    b"in",
    b"{",
    b"}",
    b"!",
    b"function",
    b"select",
    b"[[",
    b"]]",
];

/// Parses a whole script. `None` when it holds no command at all.
pub fn parse_script(src: &[u8]) -> Result<Option<List>, SyntaxError> {
    let tokens = lexer::tokenize(src)?;
    let mut p = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    p.skip_newlines();
    if p.peek().is_none() {
        return Ok(None);
    }
    let list = p.list()?;
    p.skip_newlines();
    match p.peek() {
        None => Ok(Some(list)),
        Some(t) => Err(unexpected(t)),
    }
}

fn unexpected(t: &Token) -> SyntaxError {
    SyntaxError::Unexpected(match t {
        Token::Word(w) => w.plain().unwrap_or(b"word").to_vec(),
        Token::AndIf => b"&&".to_vec(),
        Token::OrIf => b"||".to_vec(),
        Token::Semi => b";".to_vec(),
        Token::Newline => b"newline".to_vec(),
        Token::LParen => b"(".to_vec(),
        Token::RParen => b")".to_vec(),
    })
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Token::Newline) {
            self.pos += 1;
        }
    }

    /// The reserved word at the current token, if it is one in command position.
    fn reserved(&self) -> Option<&[u8]> {
        match self.peek() {
            Some(Token::Word(w)) => w
                .plain()
                .filter(|t| matches!(*t, b"do" | b"done" | b"until" | b"while")),
            _ => None,
        }
    }

    fn at_list_end(&self) -> bool {
        matches!(self.peek(), None | Some(Token::RParen))
            || matches!(self.reserved(), Some(b"do" | b"done"))
    }

    fn list(&mut self) -> Result<List, SyntaxError> {
        let mut items = alloc::vec![self.and_or()?];
        loop {
            match self.peek() {
                Some(Token::Semi) | Some(Token::Newline) => {
                    self.pos += 1;
                    self.skip_newlines();
                    if self.at_list_end() {
                        return Ok(List(items));
                    }
                    items.push(self.and_or()?);
                }
                _ => return Ok(List(items)),
            }
        }
    }

    fn and_or(&mut self) -> Result<AndOr, SyntaxError> {
        let first = self.command()?;
        let mut rest = Vec::new();
        loop {
            let connector = match self.peek() {
                Some(Token::AndIf) => Connector::And,
                Some(Token::OrIf) => Connector::Or,
                _ => return Ok(AndOr { first, rest }),
            };
            self.pos += 1;
            self.skip_newlines();
            rest.push((connector, self.command()?));
        }
    }

    fn command(&mut self) -> Result<Command, SyntaxError> {
        let cmd = match self.peek() {
            None => return Err(SyntaxError::UnexpectedEnd),
            Some(Token::LParen) => {
                self.pos += 1;
                let inner = self.nested(|p| {
                    p.skip_newlines();
                    p.list()
                })?;
                self.expect_rparen()?;
                Command::Subshell(Box::new(inner))
            }
            Some(Token::Word(_)) => match self.reserved() {
                Some(kw @ (b"until" | b"while")) => {
                    let until = kw == b"until";
                    self.pos += 1;
                    self.loop_command(until)?
                }
                Some(_) => return Err(unexpected(&self.tokens[self.pos])),
                None => self.simple()?,
            },
            Some(t) => return Err(unexpected(t)),
        };
        // After a compound command only an operator, separator or terminator may follow.
        if !matches!(cmd, Command::Simple(_)) {
            if let Some(t @ (Token::Word(_) | Token::LParen)) = self.peek() {
                if !self.at_list_end() {
                    return Err(unexpected(t));
                }
            }
        }
        Ok(cmd)
    }

    fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, SyntaxError>,
    ) -> Result<T, SyntaxError> {
        self.depth += 1;
        if self.depth > lexer::MAX_NESTING {
            return Err(SyntaxError::TooDeep);
        }
        let r = f(self);
        self.depth -= 1;
        r
    }

    fn expect_rparen(&mut self) -> Result<(), SyntaxError> {
        self.skip_newlines();
        match self.peek() {
            Some(Token::RParen) => {
                self.pos += 1;
                Ok(())
            }
            Some(t) => Err(unexpected(t)),
            None => Err(SyntaxError::UnexpectedEnd),
        }
    }

    fn expect_reserved(&mut self, word: &[u8]) -> Result<(), SyntaxError> {
        self.skip_newlines();
        match self.peek() {
            Some(_) if self.reserved() == Some(word) => {
                self.pos += 1;
                Ok(())
            }
            Some(t) => Err(unexpected(t)),
            None => Err(SyntaxError::UnexpectedEnd),
        }
    }

    fn loop_command(&mut self, until: bool) -> Result<Command, SyntaxError> {
        let condition = self.nested(|p| {
            p.skip_newlines();
            p.list()
        })?;
        self.expect_reserved(b"do")?;
        let body = self.nested(|p| {
            p.skip_newlines();
            p.list()
        })?;
        self.expect_reserved(b"done")?;
        Ok(Command::Loop {
            until,
            condition: Box::new(condition),
            body: Box::new(body),
        })
    }

    fn simple(&mut self) -> Result<Command, SyntaxError> {
        let mut words = Vec::new();
        while let Some(Token::Word(w)) = self.peek() {
            if words.is_empty() {
                if let Some(text) = w.plain() {
                    if UNSUPPORTED_RESERVED.contains(&text) {
                        return Err(SyntaxError::Reserved(text.to_vec()));
                    }
                    if is_assignment(text) {
                        return Err(SyntaxError::Assignment(text.to_vec()));
                    }
                }
            }
            let w = w.clone();
            self.pos += 1;
            words.push(self.convert(w)?);
        }
        Ok(Command::Simple(words))
    }

    /// Turns a lexer word into an AST word, parsing each `$(...)`.
    fn convert(&mut self, w: lexer::Word) -> Result<Word, SyntaxError> {
        let mut parts = Vec::with_capacity(w.pieces.len());
        for piece in w.pieces {
            parts.push(match piece {
                Piece::Lit { bytes, quoted } => Part::Lit(bytes, quoted),
                Piece::Pid { quoted } => Part::Pid(quoted),
                Piece::Subst { tokens, quoted } => {
                    let depth = self.depth + 1;
                    if depth > lexer::MAX_NESTING {
                        return Err(SyntaxError::TooDeep);
                    }
                    let mut inner = Parser {
                        tokens,
                        pos: 0,
                        depth,
                    };
                    inner.skip_newlines();
                    let list = if inner.peek().is_none() {
                        List(Vec::new())
                    } else {
                        inner.list()?
                    };
                    inner.skip_newlines();
                    if let Some(t) = inner.peek() {
                        return Err(unexpected(t));
                    }
                    Part::Subst(list, quoted)
                }
            });
        }
        Ok(Word(parts))
    }
}

/// `NAME=...` with a valid variable name before the `=`.
fn is_assignment(text: &[u8]) -> bool {
    match text.iter().position(|&c| c == b'=') {
        Some(eq) if eq > 0 => {
            (text[0].is_ascii_alphabetic() || text[0] == b'_')
                && text[..eq]
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || c == b'_')
        }
        _ => false,
    }
}
