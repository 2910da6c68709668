use super::*;
use alloc::vec;

fn lit(bytes: &[u8], quoted: bool) -> Piece {
    Piece::Lit {
        bytes: bytes.to_vec(),
        quoted,
    }
}

fn word(pieces: Vec<Piece>) -> Token {
    Token::Word(Word { pieces })
}

fn plain(text: &[u8]) -> Token {
    word(vec![lit(text, false)])
}

fn words(src: &[u8]) -> Vec<Word> {
    tokenize(src)
        .unwrap()
        .into_iter()
        .map(|t| match t {
            Token::Word(w) => w,
            other => panic!("not a word: {other:?}"),
        })
        .collect()
}

/// The bytes of a word made only of literal pieces (quoting forgotten).
fn text(w: &Word) -> Vec<u8> {
    let mut out = Vec::new();
    for p in &w.pieces {
        match p {
            Piece::Lit { bytes, .. } => out.extend_from_slice(bytes),
            other => panic!("not a literal: {other:?}"),
        }
    }
    out
}

fn err(src: &[u8]) -> SyntaxError {
    tokenize(src).expect_err("should be a syntax error")
}

#[test]
fn empty_and_blank_scripts() {
    assert_eq!(tokenize(b"").unwrap(), vec![]);
    assert_eq!(tokenize(b"  \t ").unwrap(), vec![]);
    assert_eq!(
        tokenize(b"\n\n").unwrap(),
        vec![Token::Newline, Token::Newline]
    );
}

#[test]
fn plain_words_and_operators() {
    assert_eq!(
        tokenize(b"a && b || c; d\n(e)").unwrap(),
        vec![
            plain(b"a"),
            Token::AndIf,
            plain(b"b"),
            Token::OrIf,
            plain(b"c"),
            Token::Semi,
            plain(b"d"),
            Token::Newline,
            Token::LParen,
            plain(b"e"),
            Token::RParen,
        ]
    );
}

#[test]
fn operators_need_no_blanks() {
    assert_eq!(
        tokenize(b"a&&b||c;d").unwrap(),
        vec![
            plain(b"a"),
            Token::AndIf,
            plain(b"b"),
            Token::OrIf,
            plain(b"c"),
            Token::Semi,
            plain(b"d"),
        ]
    );
}

#[test]
fn single_quotes_keep_everything() {
    let w = words(b"'a b $$ \\ \" $(x) * ? [ ~ | & ; < > `'");
    assert_eq!(w.len(), 1);
    assert_eq!(
        w[0].pieces,
        vec![lit(b"a b $$ \\ \" $(x) * ? [ ~ | & ; < > `", true)]
    );
}

#[test]
fn empty_quotes_make_an_empty_word() {
    assert_eq!(tokenize(b"''").unwrap(), vec![word(vec![lit(b"", true)])]);
    assert_eq!(tokenize(b"\"\"").unwrap(), vec![word(vec![lit(b"", true)])]);
    let w = words(b"echo '' \"\"");
    assert_eq!(w.len(), 3);
    assert_eq!(w[0].plain(), Some(&b"echo"[..]));
    assert_eq!(w[1].plain(), None);
    assert_eq!(text(&w[1]), b"");
}

#[test]
fn adjacent_pieces_concatenate() {
    let w = words(b"'/mnt/it'\\''s'");
    assert_eq!(w.len(), 1);
    // All quoted pieces merge into one literal.
    assert_eq!(w[0].pieces, vec![lit(b"/mnt/it's", true)]);
    assert_eq!(w[0].plain(), None);

    let w = words(b"a'b'c\"d\"e");
    assert_eq!(w.len(), 1);
    assert_eq!(text(&w[0]), b"abcde");
    assert_eq!(
        w[0].pieces,
        vec![
            lit(b"a", false),
            lit(b"b", true),
            lit(b"c", false),
            lit(b"d", true),
            lit(b"e", false),
        ]
    );
}

#[test]
fn double_quotes() {
    let w = words(b"\"a  b;&|<>()*?[~'\"");
    assert_eq!(w.len(), 1);
    assert_eq!(text(&w[0]), b"a  b;&|<>()*?[~'");
    // Backslash escapes only $ ` " \ and newline inside double quotes.
    let w = words(b"\"\\$ \\` \\\" \\\\ \\n \\a\"");
    assert_eq!(text(&w[0]), b"$ ` \" \\ \\n \\a");
    let w = words(b"\"a\\\nb\"");
    assert_eq!(text(&w[0]), b"ab");
}

#[test]
fn backslash_outside_quotes() {
    let w = words(b"a\\ b \\$\\$ \\* \\' \\\\");
    assert_eq!(w.len(), 5);
    assert_eq!(
        w[0].pieces,
        vec![lit(b"a", false), lit(b" ", true), lit(b"b", false)]
    );
    assert_eq!(text(&w[1]), b"$$");
    assert_eq!(text(&w[2]), b"*");
    assert_eq!(text(&w[3]), b"'");
    assert_eq!(text(&w[4]), b"\\");
    // A lone trailing backslash is literal.
    let w = words(b"a\\");
    assert_eq!(w[0].pieces, vec![lit(b"a", false), lit(b"\\", true)]);
    // Escaped operators are word bytes.
    let w = words(b"a\\;b\\&\\|\\(\\)\\<\\>");
    assert_eq!(w.len(), 1);
    assert_eq!(text(&w[0]), b"a;b&|()<>");
}

#[test]
fn line_continuation() {
    assert_eq!(
        tokenize(b"ec\\\nho a \\\n&& b").unwrap(),
        vec![plain(b"echo"), plain(b"a"), Token::AndIf, plain(b"b")]
    );
    assert_eq!(tokenize(b"\\\n").unwrap(), vec![]);
}

#[test]
fn dollar_dollar() {
    assert_eq!(
        tokenize(b"$$").unwrap(),
        vec![word(vec![Piece::Pid { quoted: false }])]
    );
    assert_eq!(
        tokenize(b"\"x$$\"").unwrap(),
        vec![word(vec![lit(b"x", true), Piece::Pid { quoted: true },])]
    );
    let w = words(b"/tmp/$$.d");
    assert_eq!(
        w[0].pieces,
        vec![
            lit(b"/tmp/", false),
            Piece::Pid { quoted: false },
            lit(b".d", false),
        ]
    );
    // `$$$` is the pid then a literal dollar.
    let w = words(b"$$$");
    assert_eq!(
        w[0].pieces,
        vec![Piece::Pid { quoted: false }, lit(b"$", false)]
    );
}

#[test]
fn lone_dollar_is_literal() {
    assert_eq!(tokenize(b"$").unwrap(), vec![plain(b"$")]);
    assert_eq!(
        tokenize(b"a$ b$/").unwrap(),
        vec![plain(b"a$"), plain(b"b$/")]
    );
    assert_eq!(text(&words(b"\"$\"")[0]), b"$");
    assert_eq!(text(&words(b"'$x'")[0]), b"$x");
    // `$'` inside double quotes is a literal dollar then a quote byte.
    assert_eq!(text(&words(b"\"$'\"")[0]), b"$'");
}

#[test]
fn command_substitution() {
    let w = words(b"$(echo a)");
    assert_eq!(
        w[0].pieces,
        vec![Piece::Subst {
            tokens: vec![plain(b"echo"), plain(b"a")],
            quoted: false,
        }]
    );
    let w = words(b"\"x$(echo)\"");
    assert_eq!(
        w[0].pieces,
        vec![
            lit(b"x", true),
            Piece::Subst {
                tokens: vec![plain(b"echo")],
                quoted: true,
            },
        ]
    );
    assert_eq!(
        tokenize(b"$()").unwrap(),
        vec![word(vec![Piece::Subst {
            tokens: vec![],
            quoted: false,
        }])]
    );
}

#[test]
fn command_substitution_nests() {
    let w = words(b"$(echo $(echo (a) ')'))b");
    assert_eq!(w.len(), 1);
    let inner_inner = Piece::Subst {
        tokens: vec![
            plain(b"echo"),
            Token::LParen,
            plain(b"a"),
            Token::RParen,
            word(vec![lit(b")", true)]),
        ],
        quoted: false,
    };
    assert_eq!(
        w[0].pieces,
        vec![
            Piece::Subst {
                tokens: vec![plain(b"echo"), word(vec![inner_inner])],
                quoted: false,
            },
            lit(b"b", false),
        ]
    );
    // Parentheses inside $( ) balance before the closing one.
    let w = words(b"$(echo (a) b)");
    assert!(
        matches!(&w[0].pieces[..], [Piece::Subst { tokens, .. }] if tokens.len() == 5),
        "{w:?}"
    );
}

#[test]
fn arithmetic_is_unsupported_even_with_space_nesting() {
    assert_eq!(
        err(b"$((1+1))"),
        SyntaxError::Unsupported("$((", "arithmetic expansion")
    );
    // `$( (` is a subshell inside a substitution, which is fine.
    assert!(tokenize(b"$( (echo) )").is_ok());
}

#[test]
fn comments() {
    assert_eq!(
        tokenize(b"# a comment | > &\necho a # more\n#").unwrap(),
        vec![Token::Newline, plain(b"echo"), plain(b"a"), Token::Newline]
    );
    // `#` inside a word is a literal byte.
    assert_eq!(tokenize(b"a#b").unwrap(), vec![plain(b"a#b")]);
    assert_eq!(text(&words(b"'#'")[0]), b"#");
    // A comment inside $( ) ends at the newline.
    let w = words(b"$(echo # )\n)");
    assert_eq!(
        w[0].pieces,
        vec![Piece::Subst {
            tokens: vec![plain(b"echo"), Token::Newline],
            quoted: false,
        }]
    );
}

#[test]
fn unterminated() {
    assert_eq!(err(b"'abc"), SyntaxError::Unterminated("'"));
    assert_eq!(err(b"\"abc"), SyntaxError::Unterminated("\""));
    assert_eq!(err(b"\"abc\\\""), SyntaxError::Unterminated("\""));
    assert_eq!(err(b"$(echo"), SyntaxError::Unterminated("$("));
    assert_eq!(err(b"$(echo (a)"), SyntaxError::Unterminated("$("));
    assert_eq!(err(b"\"$(echo\""), SyntaxError::Unterminated("\""));
}

#[test]
fn unsupported_operators() {
    let cases: &[(&[u8], &str, &str)] = &[
        (b"a | b", "|", "pipes"),
        (b"a & b", "&", "background jobs"),
        (b"a &", "&", "background jobs"),
        (b"a > f", ">", "redirections"),
        (b"a >> f", ">", "redirections"),
        (b"a < f", "<", "redirections"),
        (b"a 2>&1", ">", "redirections"),
        (b"a>f", ">", "redirections"),
        (b"a << EOF", "<<", "here-documents"),
        (b"a ;; b", ";;", "case statements"),
        (b"echo `x`", "`", "backquote substitution"),
        (b"\"`x`\"", "`", "backquote substitution"),
        (b"ls *", "*", "globs"),
        (b"ls a*b", "*", "globs"),
        (b"ls ?", "?", "globs"),
        (b"ls a[bc]", "[", "globs"),
        (b"ls [x", "[", "globs"),
        (b"cd ~", "~", "tilde expansion"),
        (b"cd ~/x", "~", "tilde expansion"),
        (b"echo ${x}", "${", "parameter expansion"),
        (b"echo \"${x}\"", "${", "parameter expansion"),
        (b"echo $'x'", "$'", "$'...' quoting"),
        (b"echo $((1))", "$((", "arithmetic expansion"),
    ];
    for (src, tok, what) in cases {
        assert_eq!(
            err(src),
            SyntaxError::Unsupported(tok, what),
            "{}",
            String::from_utf8_lossy(src)
        );
    }
}

#[test]
fn bracket_command_is_allowed() {
    assert_eq!(
        tokenize(b"[ -d x ]").unwrap(),
        vec![plain(b"["), plain(b"-d"), plain(b"x"), plain(b"]")]
    );
    // Quoted glob characters are fine.
    assert_eq!(text(&words(b"'*' \"?\" \\[")[2]), b"[");
    // `]` alone is not a glob.
    assert_eq!(tokenize(b"]").unwrap(), vec![plain(b"]")]);
    // A tilde not at the start of a word is literal.
    assert_eq!(tokenize(b"a~b").unwrap(), vec![plain(b"a~b")]);
}

#[test]
fn variables_are_refused() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"echo $HOME", b"$HOME"),
        (b"echo $a_1b/x", b"$a_1b"),
        (b"echo \"$_x\"", b"$_x"),
        (b"echo $1", b"$1"),
        (b"echo $0", b"$0"),
        (b"echo $?", b"$?"),
        (b"echo $#", b"$#"),
        (b"echo $@", b"$@"),
        (b"echo $*", b"$*"),
        (b"echo $!", b"$!"),
        (b"echo $-", b"$-"),
        (b"$(echo $x)", b"$x"),
    ];
    for (src, name) in cases {
        assert_eq!(
            err(src),
            SyntaxError::Variable(name.to_vec()),
            "{}",
            String::from_utf8_lossy(src)
        );
    }
}

#[test]
fn errors_inside_substitutions_propagate() {
    assert_eq!(
        err(b"echo $(a | b)"),
        SyntaxError::Unsupported("|", "pipes")
    );
    assert_eq!(err(b"echo \"$('x)\""), SyntaxError::Unterminated("'"));
}

#[test]
fn nesting_limit() {
    let ok = [&b"$("[..]].repeat(MAX_NESTING).concat();
    let ok = [ok, b")".repeat(MAX_NESTING)].concat();
    assert!(tokenize(&ok).is_ok());
    let deep = [b"$(".repeat(MAX_NESTING + 1), b")".repeat(MAX_NESTING + 1)].concat();
    assert_eq!(tokenize(&deep).unwrap_err(), SyntaxError::TooDeep);
    let parens = [b"(".repeat(MAX_NESTING + 1), b")".repeat(MAX_NESTING + 1)].concat();
    assert_eq!(tokenize(&parens).unwrap_err(), SyntaxError::TooDeep);
    let parens = [b"(".repeat(MAX_NESTING), b")".repeat(MAX_NESTING)].concat();
    assert!(tokenize(&parens).is_ok());
}

#[test]
fn unbalanced_parens_are_left_to_the_parser() {
    assert_eq!(tokenize(b")").unwrap(), vec![Token::RParen]);
    assert_eq!(tokenize(b"(").unwrap(), vec![Token::LParen]);
}

#[test]
fn non_ascii_bytes_are_word_bytes() {
    assert_eq!(
        tokenize(b"\xff\xfe \xc3\xa9").unwrap(),
        vec![plain(b"\xff\xfe"), plain(b"\xc3\xa9")]
    );
    assert_eq!(tokenize(b"a\0b").unwrap(), vec![plain(b"a\0b")]);
}

#[test]
fn error_messages() {
    assert_eq!(
        SyntaxError::Unsupported("|", "pipes").message(),
        b"\"|\" is not supported (pipes)"
    );
    assert_eq!(
        SyntaxError::Variable(b"$x".to_vec()).message(),
        b"\"$x\" is not supported (no variables: only $$ is expanded)"
    );
    assert_eq!(
        SyntaxError::Unterminated("'").message(),
        b"unterminated \"'\""
    );
    assert_eq!(
        SyntaxError::Unexpected(b")".to_vec()).message(),
        b"unexpected \")\""
    );
    assert_eq!(
        SyntaxError::UnexpectedEnd.message(),
        b"unexpected end of script"
    );
    assert_eq!(
        SyntaxError::Reserved(b"if".to_vec()).message(),
        b"\"if\" is not supported"
    );
    assert_eq!(
        SyntaxError::Assignment(b"a=b".to_vec()).message(),
        b"\"a=b\" is not supported (no variable assignments)"
    );
    assert_eq!(SyntaxError::TooDeep.message(), b"nested too deeply");
}
