//! Syntax errors: each names the token it stopped at. The shell exits with status 2 on them,
//! as POSIX shells do, before running anything.
//!
//! The error is recorded once, in `Shell::error`, where it happened; the parser then simply
//! returns (see parser.rs). Its message is `LEAD TOKEN TAIL`: the token is a slice of the script
//! or a static string, so no memory is needed.

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
    pub fn pieces(&self) -> [&[u8]; 3] {
        [
            self.message.lead.as_bytes(),
            self.token,
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
// (`"|"`, `"$HOME"`, `"~"`...), and a reason for each kind cost ~1 KB per binary. The quotes
// around the token are part of the text: the messages without a token have none.
macro_rules! messages {
    ($($name:ident = $lead:literal TOKEN $tail:literal;)*) => {
        $(pub static $name: Message = Message { lead: $lead, tail: $tail };)*
    };
}

messages! {
    UNEXPECTED = "unexpected \"" TOKEN "\"";
    UNTERMINATED = "unterminated \"" TOKEN "\"";
    // For a whole message without a token, given as the token.
    PLAIN = "" TOKEN "";
    NOT_SUPPORTED = "\"" TOKEN "\" is not supported";
}
