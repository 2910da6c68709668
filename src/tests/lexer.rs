use super::*;
use std::vec::Vec;

/// The token kinds of a script, words skipped by their plain text.
fn tokens(src: &[u8]) -> Result<Vec<Token>, std::string::String> {
    let mut sh = Shell::new(b"sh", src, 1);
    let mut out = Vec::new();
    loop {
        let t = sh.peek().map_err(|_| sh.error.unwrap().message())?;
        out.push(t);
        match t {
            Token::End => return Ok(out),
            Token::Word => sh.pos += sh.plain_word().expect("plain word").len(),
            _ => sh.advance(t),
        }
    }
}

use Token::*;

#[test]
fn operators_blanks_and_comments() {
    assert_eq!(tokens(b"").unwrap(), [End]);
    assert_eq!(tokens(b"  \t ").unwrap(), [End]);
    assert_eq!(tokens(b"\n\n").unwrap(), [Newline, Newline, End]);
    assert_eq!(
        tokens(b"a && b || c; d\n(e)").unwrap(),
        [Word, AndIf, Word, OrIf, Word, Semi, Word, Newline, LParen, Word, RParen, End]
    );
    assert_eq!(
        tokens(b"a&&b||c;d").unwrap(),
        [Word, AndIf, Word, OrIf, Word, Semi, Word, End]
    );
    assert_eq!(
        tokens(b"a # c && d\nb").unwrap(),
        [Word, Newline, Word, End]
    );
    assert_eq!(tokens(b"a#b").unwrap(), [Word, End]);
    assert_eq!(tokens(b"a \\\n b").unwrap(), [Word, Word, End]);
}

#[test]
fn unsupported_operators_are_named() {
    for (src, msg) in [
        ("a | b", "\"|\" is not supported (pipes)"),
        ("a & b", "\"&\" is not supported (background jobs)"),
        ("a > b", "\">\" is not supported (redirections)"),
        ("a < b", "\"<\" is not supported (redirections)"),
        ("a<<EOF", "\"<<\" is not supported (here-documents)"),
        ("a;;", "\";;\" is not supported (case statements)"),
    ] {
        assert_eq!(tokens(src.as_bytes()).unwrap_err(), msg, "{src}");
    }
}

#[test]
fn plain_words() {
    let plain = |src: &'static [u8]| Shell::new(b"sh", src, 1).plain_word();
    assert_eq!(plain(b"while x"), Some(&b"while"[..]));
    assert_eq!(plain(b"done;"), Some(&b"done"[..]));
    assert_eq!(plain(b"a=b"), Some(&b"a=b"[..]));
    assert_eq!(plain(b"'while'"), None);
    assert_eq!(plain(b"wh\\ile"), None);
    assert_eq!(plain(b"a\"b\""), None);
    assert_eq!(plain(b"$$"), None);
}
