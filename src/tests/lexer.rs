use super::*;
use crate::sys::Stack;
use std::vec::Vec;

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
        ("a | b", "\"|\" is not supported"),
        ("a & b", "\"&\" is not supported"),
        ("a > b", "\">\" is not supported"),
        ("a < b", "\"<\" is not supported"),
        ("a<<EOF", "\"<<\" is not supported"),
        ("a;;", "\";;\" is not supported"),
    ] {
        assert_eq!(tokens(src.as_bytes()).unwrap_err(), msg, "{src}");
    }
}

#[test]
fn plain_words() {
    let plain = |src: &'static [u8]| Shell::new(b"sh", src, 1).plain_word();
    assert_eq!(plain(b"while x"), b"while");
    assert_eq!(plain(b"done;"), b"done");
    assert_eq!(plain(b"a=b"), b"a=b");
    assert_eq!(plain(b"'while'"), b"");
    assert_eq!(plain(b"wh\\ile"), b"");
    assert_eq!(plain(b"a\"b\""), b"");
    assert_eq!(plain(b"$$"), b"");
}

/// The token kinds of a script, words (of any kind) skipped by reading them without running.
fn tokens(src: &[u8]) -> Result<Vec<Token>, std::string::String> {
    let mut text = Stack::default();
    let mut sh = Shell::new(b"sh", join_lines(src, &mut text), 1);
    sh.run = false;
    let mut out = Vec::new();
    loop {
        let t = sh.peek();
        if let Some(e) = sh.error {
            return Err(e.message());
        }
        out.push(t);
        match t {
            Token::End => return Ok(out),
            Token::Word => {
                sh.word(&mut 0);
                if let Some(e) = sh.error {
                    return Err(e.message());
                }
            }
            _ => sh.advance(t),
        }
    }
}

#[test]
fn quoted_words_are_single_tokens() {
    // Operators, blanks and comment signs inside quotes or escaped are word bytes.
    assert_eq!(
        tokens(b"'a b | ; ( #' \"c && d\" e\\ f\\;g\\&\\|\\(\\)\\<\\>").unwrap(),
        [Word, Word, Word, End]
    );
    assert_eq!(tokens(b"'' \"\"").unwrap(), [Word, Word, End]);
    assert_eq!(tokens(b"a'b'c\"d\"e").unwrap(), [Word, End]);
    assert_eq!(tokens(b"'/mnt/it'\\''s'").unwrap(), [Word, End]);
    assert_eq!(
        tokens(b"$$ /tmp/$$.d $$$ $").unwrap(),
        [Word, Word, Word, Word, End]
    );
    // A substitution is part of its word, whatever it holds.
    assert_eq!(
        tokens(b"$(echo a; (b) && c)x \"$(d)\" e").unwrap(),
        [Word, Word, Word, End]
    );
    assert_eq!(tokens(b"$(echo # )\n)").unwrap(), [Word, End]);
    assert_eq!(tokens(b"$()").unwrap(), [Word, End]);
    // A line continuation inside a word joins it.
    assert_eq!(
        tokens(b"ec\\\nho a \\\n&& b").unwrap(),
        [Word, Word, AndIf, Word, End]
    );
    assert_eq!(tokens(b"\\\n").unwrap(), [End]);
    assert_eq!(
        tokens(b"# a comment | > &\necho a # more\n#").unwrap(),
        [Newline, Word, Word, Newline, End]
    );
}

#[test]
fn unbalanced_parens_are_left_to_the_parser() {
    assert_eq!(tokens(b")").unwrap(), [RParen, End]);
    assert_eq!(tokens(b"(").unwrap(), [LParen, End]);
    assert_eq!(
        tokens(b"((a)").unwrap(),
        [LParen, LParen, Word, RParen, End]
    );
}

#[test]
fn unsupported_operators_in_any_spelling() {
    for (src, msg) in [
        ("a &", "\"&\" is not supported"),
        ("a >> f", "\">\" is not supported"),
        ("a 2>&1", "\">\" is not supported"),
        ("a>f", "\">\" is not supported"),
        ("a << EOF", "\"<<\" is not supported"),
        ("a ;; b", "\";;\" is not supported"),
    ] {
        assert_eq!(tokens(src.as_bytes()).unwrap_err(), msg, "{src}");
    }
    // In comments they are nothing.
    assert_eq!(tokens(b"a # | & > < ;;").unwrap(), [Word, End]);
}

#[test]
fn words_with_any_bytes() {
    let plain = |src: &'static [u8]| Shell::new(b"sh", src, 1).plain_word();
    assert_eq!(plain(b"\xff\xfe \xc3\xa9"), b"\xff\xfe");
    assert_eq!(plain(b"a\0b"), b"a\0b");
    assert_eq!(plain(b"a~b"), b"a~b");
    assert_eq!(plain(b"[ -d"), b"[");
    assert_eq!(plain(b"'/mnt/it'\\''s'"), b"");
    assert_eq!(plain(b"`x`"), b"");
    assert_eq!(tokens(b"\xff\xfe \xc3\xa9").unwrap(), [Word, Word, End]);
}

fn joined(src: &str) -> std::string::String {
    let mut text = Stack::default();
    std::string::String::from_utf8(join_lines(src.as_bytes(), &mut text).to_vec()).unwrap()
}

#[test]
fn line_continuations_are_removed_before_tokens() {
    // Anywhere outside '...' and comments: inside operators, reserved words, `$$`, `$(`, "...".
    assert_eq!(
        joined("while false; do true; done\\\n"),
        "while false; do true; done"
    );
    assert_eq!(joined("true &\\\n& echo ok"), "true && echo ok");
    assert_eq!(
        joined("do\\\nne $\\\n$ $\\\n(a) \"b\\\nc\""),
        "done $$ $(a) \"bc\""
    );
    // Not inside '...', nor in a comment, nor after a quoted backslash.
    assert_eq!(joined("'a\\\nb' # c \\\nd"), "'a\\\nb' # c \\\nd");
    assert_eq!(joined("echo \\\\\nx"), "echo \\\\\nx");
    // A `#` inside a word starts no comment; one after a blank does.
    assert_eq!(joined("a#b\\\nc"), "a#bc");
    assert_eq!(joined("a\\ #b\\\nc"), "a\\ #bc");
    assert_eq!(joined("a\\\n#b\\\nc"), "a#bc");
    // Inside "...", a `$(...)` has its own quoting: its '...' keeps the continuation, and the
    // text after its `)` is inside the "..." again.
    assert_eq!(
        joined("\"$(echo 'x\\\ny' \")\")\\\nz\" 'q\\\n'"),
        "\"$(echo 'x\\\ny' \")\")z\" 'q\\\n'"
    );
    assert_eq!(joined("(a) '\\\n'"), "(a) '\\\n'");
    assert_eq!(joined("\\"), "\\");
    assert_eq!(joined("'\\\n"), "'\\\n");
}
