//! Syntax errors: each names the token it stopped at. The shell exits with status 2 on them,
//! as POSIX shells do, before running anything.
//!
//! The error is recorded once, in `Shell::error`, where it happened; the parser then simply
//! returns (see parser.rs). Its message is `LEAD TOKEN TAIL`: the token is a slice of the script
//! or a static string, so no memory is needed.

/// A syntax error was recorded in `Shell::error`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fail;

/// The fixed text around an error's token: the byte ranges of its lead and tail in `TEXTS`
/// (4 bytes, where two slices take 32).
#[derive(Debug, PartialEq)]
pub(crate) struct Message {
    lead: [u8; 2],
    tail: [u8; 2],
}

/// Every lead and tail, overlapping where they can.
const TEXTS: &str = "unexpected \"unterminated \" is not supported";

impl Message {
    /// The message around a token: `lead` and `tail` must be in `TEXTS` (checked at compile time).
    const fn new(lead: &str, tail: &str) -> Message {
        Message {
            lead: Self::range(lead.as_bytes()),
            tail: Self::range(tail.as_bytes()),
        }
    }

    /// Where `part` first occurs in `TEXTS`.
    const fn range(part: &[u8]) -> [u8; 2] {
        let texts = TEXTS.as_bytes();
        let mut start = 0;
        while start + part.len() <= texts.len() {
            let mut i = 0;
            while i < part.len() && texts[start + i] == part[i] {
                i += 1;
            }
            if i == part.len() {
                return [start as u8, (start + i) as u8];
            }
            start += 1;
        }
        panic!("a message's text is missing from TEXTS")
    }

    /// The bytes of `range` in `TEXTS`.
    fn text(range: [u8; 2]) -> &'static [u8] {
        let [start, end] = range;
        TEXTS
            .as_bytes()
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SyntaxError<'s> {
    pub(crate) token: &'s [u8],
    pub(crate) message: &'static Message,
}

impl SyntaxError<'_> {
    /// The message's pieces, to be written after `sh: syntax error: `.
    pub fn pieces(&self) -> [&[u8]; 3] {
        [
            Message::text(self.message.lead),
            self.token,
            Message::text(self.message.tail),
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
// (`"|"`, `"$HOME"`, `"~"`...): a reason for each kind would cost about 1 KiB. The quotes
// around the token are part of the text: the messages without a token have none.
macro_rules! messages {
    ($($name:ident = $lead:literal TOKEN $tail:literal;)*) => {
        $(pub(crate) static $name: Message = Message::new($lead, $tail);)*
    };
}

messages! {
    UNEXPECTED = "unexpected \"" TOKEN "\"";
    UNTERMINATED = "unterminated \"" TOKEN "\"";
    // For a whole message without a token, given as the token.
    PLAIN = "" TOKEN "";
    NOT_SUPPORTED = "\"" TOKEN "\" is not supported";
}
