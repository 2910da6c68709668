//! Syntax errors: each names the token it stopped at. The shell exits with status 2 on them,
//! as POSIX shells do, before running anything.
//!
//! The parser's functions return `Result<_, Fail>`, a one-bit error that costs nothing to pass
//! up; the error itself is recorded once, in `Shell::error`, where it happened. Its message is
//! `LEAD "TOKEN"TAIL` (no quotes when there is no token): the token is a slice of the script or
//! a static string, so no memory is needed.

/// A syntax error was recorded in `Shell::error`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fail;

/// The fixed text around an error's token.
#[derive(Debug, PartialEq)]
pub struct Message {
    pub lead: &'static str,
    pub tail: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntaxError<'s> {
    pub token: &'s [u8],
    pub message: &'static Message,
}

impl SyntaxError<'_> {
    /// The message's pieces, to be written after `sh: syntax error: `.
    pub fn pieces(&self) -> [&[u8]; 5] {
        let quote: &[u8] = if self.token.is_empty() { b"" } else { b"\"" };
        [
            self.message.lead.as_bytes(),
            quote,
            self.token,
            quote,
            self.message.tail.as_bytes(),
        ]
    }

    /// The whole message (for tests).
    #[cfg(test)]
    pub fn message(&self) -> std::string::String {
        let mut m = std::vec::Vec::new();
        for p in self.pieces() {
            m.extend_from_slice(p);
        }
        std::string::String::from_utf8_lossy(&m).into_owned()
    }
}

// Unsupported syntax of every kind shares one message: the token names what was refused
// (`"|"`, `"$HOME"`, `"~"`...), and a reason for each kind cost ~1 KB per binary.
macro_rules! messages {
    ($($name:ident = $lead:literal TOKEN $tail:literal;)*) => {
        $(pub static $name: Message = Message { lead: $lead, tail: $tail };)*
    };
}

messages! {
    UNEXPECTED = "unexpected " TOKEN "";
    UNTERMINATED = "unterminated " TOKEN "";
    UNEXPECTED_END = "unexpected end of script" TOKEN "";
    TOO_DEEP = "nested too deeply" TOKEN "";
    NOT_SUPPORTED = "" TOKEN " is not supported";
}
