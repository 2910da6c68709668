use super::*;
use std::string::String;
use std::time::{Duration, Instant};

/// A compact rendering of the tree: `a b && c; (d); while {c} do {b}`, quoted literal
/// pieces in `'...'`.
fn render(list: &List) -> String {
    let items: Vec<String> = list.0.iter().map(render_and_or).collect();
    items.join("; ")
}

fn render_and_or(a: &AndOr) -> String {
    let mut s = render_command(&a.first);
    for (c, cmd) in &a.rest {
        s.push_str(match c {
            Connector::And => " && ",
            Connector::Or => " || ",
        });
        s.push_str(&render_command(cmd));
    }
    s
}

fn render_command(c: &Command) -> String {
    match c {
        Command::Simple(words) => {
            let w: Vec<String> = words.iter().map(render_word).collect();
            w.join(" ")
        }
        Command::Subshell(list) => format!("({})", render(list)),
        Command::Loop {
            until,
            condition,
            body,
        } => format!(
            "{} {{{}}} do {{{}}}",
            if *until { "until" } else { "while" },
            render(condition),
            render(body)
        ),
    }
}

fn render_word(w: &Word) -> String {
    let mut s = String::new();
    for p in &w.0 {
        match p {
            Part::Lit(b, false) => s.push_str(&String::from_utf8_lossy(b)),
            Part::Lit(b, true) => {
                s.push('\'');
                s.push_str(&String::from_utf8_lossy(b));
                s.push('\'');
            }
            Part::Pid(q) => s.push_str(if *q { "\"$$\"" } else { "$$" }),
            Part::Subst(l, q) => {
                let inner = format!("$({})", render(l));
                if *q {
                    s.push_str(&format!("\"{inner}\""));
                } else {
                    s.push_str(&inner);
                }
            }
        }
    }
    s
}

fn parsed(src: &str) -> String {
    match parse_script(src.as_bytes()) {
        Ok(Some(list)) => render(&list),
        other => panic!("{src:?}: {other:?}"),
    }
}

fn err(src: &str) -> SyntaxError {
    match parse_script(src.as_bytes()) {
        Err(e) => e,
        Ok(l) => panic!("{src:?} parsed: {l:?}"),
    }
}

fn unexpected(tok: &str) -> SyntaxError {
    SyntaxError::Unexpected(tok.as_bytes().to_vec())
}

#[test]
fn empty_scripts_have_no_command() {
    for src in ["", " ", "\n\n", "# only a comment", "\n# c\n\n", "\\\n"] {
        assert_eq!(parse_script(src.as_bytes()), Ok(None), "{src:?}");
    }
}

#[test]
fn simple_commands() {
    assert_eq!(parsed("echo"), "echo");
    assert_eq!(parsed("  echo  a   b  "), "echo a b");
    assert_eq!(parsed("echo 'a b' \"c\"d"), "echo 'a b' 'c'd");
    assert_eq!(parsed("echo $$ \"$$\""), "echo $$ ''\"$$\"");
    assert_eq!(
        parsed("echo $(echo a) \"$(b)\""),
        "echo $(echo a) ''\"$(b)\""
    );
    assert_eq!(parsed("echo $()"), "echo $()");
}

#[test]
fn and_or_chains() {
    assert_eq!(parsed("a && b"), "a && b");
    assert_eq!(parsed("a || b"), "a || b");
    assert_eq!(parsed("a && b || c && d"), "a && b || c && d");
    assert_eq!(parsed("a &&\n\n b ||\n c"), "a && b || c");
    let list = parse_script(b"a && b || c").unwrap().unwrap();
    assert_eq!(list.0.len(), 1);
    let conns: Vec<Connector> = list.0[0].rest.iter().map(|(c, _)| *c).collect();
    assert_eq!(conns, [Connector::And, Connector::Or]);
}

#[test]
fn semicolons_and_newlines() {
    assert_eq!(parsed("a; b"), "a; b");
    assert_eq!(parsed("a;b;c"), "a; b; c");
    assert_eq!(parsed("a\nb\n"), "a; b");
    assert_eq!(parsed("\n\na\n\n\nb\n\n"), "a; b");
    assert_eq!(parsed("a;"), "a");
    assert_eq!(parsed("a;\n"), "a");
    assert_eq!(parsed("a;\nb"), "a; b");
    assert_eq!(parsed("a && b; c || d"), "a && b; c || d");
    assert_eq!(parsed("a # comment\nb"), "a; b");
}

#[test]
fn subshells() {
    assert_eq!(parsed("(a)"), "(a)");
    assert_eq!(parsed("( a; b )"), "(a; b)");
    assert_eq!(parsed("(\na\nb\n)"), "(a; b)");
    assert_eq!(parsed("(a;)"), "(a)");
    assert_eq!(parsed("(a) && (b) || c"), "(a) && (b) || c");
    assert_eq!(parsed("((a))"), "((a))");
    assert_eq!(parsed("(a); b"), "(a); b");
    assert_eq!(parsed("(a)\nb"), "(a); b");
    assert_eq!(parsed("a && (b || c)"), "a && (b || c)");
    assert_eq!(parsed("echo $( (a) )"), "echo $((a))");
}

#[test]
fn loops() {
    assert_eq!(
        parsed("until test -e f; do sleep 1; done"),
        "until {test -e f} do {sleep 1}"
    );
    assert_eq!(
        parsed("while true\ndo\necho a\necho b\ndone"),
        "while {true} do {echo a; echo b}"
    );
    assert_eq!(
        parsed("while a; b; do c; done && d"),
        "while {a; b} do {c} && d"
    );
    assert_eq!(
        parsed("until a && b; do (c); done; e"),
        "until {a && b} do {(c)}; e"
    );
    assert_eq!(
        parsed("while until a; do b; done; do c; done"),
        "while {until {a} do {b}} do {c}"
    );
    assert_eq!(parsed("(while a; do b; done)"), "(while {a} do {b})");
    // Reserved words are words anywhere but in command position.
    assert_eq!(
        parsed("echo do done while until"),
        "echo do done while until"
    );
    // Quoted, they are not reserved.
    assert_eq!(parsed("'while'"), "'while'");
}

#[test]
fn loop_errors() {
    assert_eq!(err("while a; do b"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("while a"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("while a; b"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("while"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("while; do b; done"), unexpected(";"));
    assert_eq!(err("while a; do; done"), unexpected(";"));
    assert_eq!(err("while a; do done"), unexpected("done"));
    assert_eq!(err("until do b; done"), unexpected("do"));
    // Without a separator, `do` is an argument of the condition.
    assert_eq!(err("while a do b done"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("while a; do b; done c"), unexpected("c"));
    assert_eq!(err("while a; do b; done (c)"), unexpected("("));
    assert_eq!(err("while a; do b; done )"), unexpected(")"));
    assert_eq!(err("do"), unexpected("do"));
    assert_eq!(err("done"), unexpected("done"));
    assert_eq!(err("a; done"), unexpected("done"));
    assert_eq!(err("(a; do)"), unexpected("do"));
}

#[test]
fn reserved_words_refused() {
    for word in [
        "if", "then", "else", "elif", "fi", "case", "esac", "for", "in", "{", "}", "!", "function",
        "select", "]]",
    ] {
        assert_eq!(
            err(&format!("{word} x")),
            SyntaxError::Reserved(word.as_bytes().to_vec()),
            "{word}"
        );
        assert_eq!(
            err(&format!("true && {word}")),
            SyntaxError::Reserved(word.as_bytes().to_vec()),
            "{word}"
        );
        // As arguments they are plain words.
        assert_eq!(parsed(&format!("echo {word}")), format!("echo {word}"));
    }
    // `[[` is refused by name (the lexer lets the bare word through for that).
    assert_eq!(err("[[ -d x ]]"), SyntaxError::Reserved(b"[[".to_vec()));
    assert_eq!(
        err("if true; then echo; fi"),
        SyntaxError::Reserved(b"if".to_vec())
    );
    assert_eq!(
        err("for x in a; do echo; done"),
        SyntaxError::Reserved(b"for".to_vec())
    );
    assert_eq!(err("echo $(if a)"), SyntaxError::Reserved(b"if".to_vec()));
    // Quoted or escaped, they are command names (run as "not found").
    assert_eq!(parsed("'if'"), "'if'");
    assert_eq!(parsed("\\!"), "'!'");
    // `[` is the test command.
    assert_eq!(parsed("[ -d x ]"), "[ -d x ]");
}

#[test]
fn assignments_refused() {
    // Quoted values are covered by quoted_assignments_refused below.
    for src in [
        "a=b",
        "A=",
        "_x=1 echo",
        "abc_9=x",
        "a=b=c",
        "x=/mnt/models",
    ] {
        let name = src.split(['=']).next().unwrap();
        match err(src) {
            SyntaxError::Assignment(w) => {
                assert!(w.starts_with(name.as_bytes()), "{src}: {w:?}")
            }
            e => panic!("{src}: {e:?}"),
        }
    }
    assert_eq!(err("true && a=b"), SyntaxError::Assignment(b"a=b".to_vec()));
    // Not assignments: arguments, no valid name, quoted.
    assert_eq!(parsed("echo a=b"), "echo a=b");
    assert_eq!(parsed("=b"), "=b");
    assert_eq!(parsed("1a=b"), "1a=b");
    assert_eq!(parsed("a-b=c"), "a-b=c");
    assert_eq!(parsed("'a'=b"), "'a'=b");
    assert_eq!(parsed("a\\=b"), "a'='b");
}

#[test]
fn unexpected_tokens() {
    assert_eq!(err("&& a"), unexpected("&&"));
    assert_eq!(err("|| a"), unexpected("||"));
    assert_eq!(err("; a"), unexpected(";"));
    assert_eq!(
        err("a;;"),
        SyntaxError::Unsupported(";;", "case statements")
    );
    assert_eq!(err("a; ; b"), unexpected(";"));
    assert_eq!(err("a && && b"), unexpected("&&"));
    assert_eq!(err("a && ; b"), unexpected(";"));
    assert_eq!(err(")"), unexpected(")"));
    assert_eq!(err("a )"), unexpected(")"));
    assert_eq!(err("()"), unexpected(")"));
    assert_eq!(err("( )"), unexpected(")"));
    assert_eq!(err("(a) b"), unexpected("b"));
    assert_eq!(err("(a) 'b'"), unexpected("word"));
    assert_eq!(err("(a) (b)"), unexpected("("));
    assert_eq!(err("a (b)"), unexpected("("));
    assert_eq!(err("echo $(&& a)"), unexpected("&&"));
    assert_eq!(err("echo $(a; ; b)"), unexpected(";"));
    assert_eq!(err("echo $(a ))"), unexpected(")"));
    assert_eq!(err("echo $(a)b )"), unexpected(")"));
}

#[test]
fn unexpected_end() {
    assert_eq!(err("a &&"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("a ||\n"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("(a"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("(a;\n"), SyntaxError::UnexpectedEnd);
    assert_eq!(err("("), SyntaxError::UnexpectedEnd);
    assert_eq!(err("echo $(a &&)"), SyntaxError::UnexpectedEnd);
}

#[test]
fn lexer_errors_pass_through() {
    assert_eq!(err("a | b"), SyntaxError::Unsupported("|", "pipes"));
    assert_eq!(err("echo 'a"), SyntaxError::Unterminated("'"));
    assert_eq!(err("echo $x"), SyntaxError::Variable(b"$x".to_vec()));
}

fn nested_subshells(n: usize) -> String {
    format!("{}true{}", "(".repeat(n), ")".repeat(n))
}

fn nested_loops(n: usize) -> String {
    format!("{}true{}", "while ".repeat(n), "; do true; done".repeat(n))
}

fn nested_substs(n: usize) -> String {
    format!("echo {}{}", "$(echo ".repeat(n), ")".repeat(n))
}

#[test]
fn nesting_limit() {
    let max = lexer::MAX_NESTING;
    assert!(parse_script(nested_subshells(max).as_bytes()).is_ok());
    assert_eq!(
        parse_script(nested_subshells(max + 1).as_bytes()),
        Err(SyntaxError::TooDeep)
    );
    assert!(parse_script(nested_loops(max).as_bytes()).is_ok());
    assert_eq!(
        parse_script(nested_loops(max + 1).as_bytes()),
        Err(SyntaxError::TooDeep)
    );
    assert!(parse_script(nested_substs(max).as_bytes()).is_ok());
    assert_eq!(
        parse_script(nested_substs(max + 1).as_bytes()),
        Err(SyntaxError::TooDeep)
    );
    // Depth adds up across kinds: subshells inside loops inside substitutions.
    let half = max / 2 + 1;
    let mixed = format!(
        "{}{}true{}",
        "while ".repeat(half),
        "(".repeat(half),
        ")".repeat(half)
    ) + &"; do true; done".repeat(half);
    assert_eq!(parse_script(mixed.as_bytes()), Err(SyntaxError::TooDeep));
    let mixed = format!("({})", nested_substs(max));
    assert_eq!(parse_script(mixed.as_bytes()), Err(SyntaxError::TooDeep));
    // Long but shallow scripts are fine: sequences do not nest.
    let wide = "(a); ".repeat(10 * max);
    assert!(parse_script(wide.as_bytes()).is_ok());
}

#[test]
fn one_megabyte_script() {
    let mut src = "true && ".repeat(1 << 17);
    src.push_str("true");
    assert!(src.len() >= 1 << 20);
    let start = Instant::now();
    let list = parse_script(src.as_bytes()).unwrap().unwrap();
    assert_eq!(list.0.len(), 1);
    assert_eq!(list.0[0].rest.len(), 1 << 17);

    let mut src = "echo 'a b' \"$$\" $(true) || false;\n".repeat(1 << 15);
    src.push_str("(true)\n");
    assert!(src.len() >= 1 << 20);
    let list = parse_script(src.as_bytes()).unwrap().unwrap();
    assert_eq!(list.0.len(), (1 << 15) + 1);

    // Two megabytes of one word, and of a comment.
    let word = "x".repeat(2 << 20);
    assert!(parse_script(word.as_bytes()).unwrap().is_some());
    let comment = format!("#{word}");
    assert_eq!(parse_script(comment.as_bytes()), Ok(None));
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn quoted_assignments_refused() {
    for src in ["x='y'", "x=\"$$\"", "x=$(echo a)", "x=a\\ b", "x=\"\""] {
        assert!(matches!(err(src), SyntaxError::Assignment(_)), "{src}");
    }
}
