//! The grammar, shown through what scripts do (`sh`), and its errors through `check`, which
//! walks a script without running anything.

use super::*;
use crate::testutil::{check, sh, sh_bytes, work};
use std::string::String;

/// Runs `src`: (status, stdout). Panics on a syntax error.
fn run(src: &str) -> (i32, String) {
    sh(src).unwrap_or_else(|e| panic!("{src:?}: {e}"))
}

fn out(src: &str) -> String {
    run(src).1
}

/// The syntax error `src` is refused with (found without running anything, and again when
/// run).
fn err(src: &str) -> String {
    let e = check(src.as_bytes()).expect_err(src);
    assert_eq!(sh(src), Err(e.clone()), "{src:?}: run");
    e
}

fn unexpected(tok: &str) -> String {
    format!("unexpected \"{tok}\"")
}

const END: &str = "unexpected end of script";

fn not_supported(word: &str) -> String {
    format!("\"{word}\" is not supported")
}

fn unterminated(tok: &str) -> String {
    format!("unterminated \"{tok}\"")
}

#[test]
fn empty_scripts_have_no_command() {
    for src in [
        "",
        " ",
        "\n\n",
        "# only a comment",
        "\n# c\n\n",
        "\\\n",
        "\t",
    ] {
        assert_eq!(check(src.as_bytes()), Ok(false), "{src:?}");
        assert_eq!(sh(src), Err("empty".into()), "{src:?}");
    }
    assert_eq!(check(b"true"), Ok(true));
    // A separator alone is not an empty script.
    assert_eq!(err(";"), unexpected(";"));
}

#[test]
fn simple_commands() {
    assert_eq!(run("echo"), (0, "\n".into()));
    assert_eq!(out("  echo  a   b  "), "a b\n");
    assert_eq!(out("echo 'a b' \"c\"d"), "a b cd\n");
    assert_eq!(out("echo $$ \"$$\""), "42 42\n");
    assert_eq!(out("echo $(echo a) \"$(echo b)\""), "a b\n");
    assert_eq!(out("echo $()"), "\n");
    assert_eq!(out("echo $( )x"), "x\n");
}

#[test]
fn and_or_chains() {
    assert_eq!(run("true && echo b"), (0, "b\n".into()));
    assert_eq!(run("false || echo b"), (0, "b\n".into()));
    // Left to right, no precedence: ((a && b) || c) && d.
    assert_eq!(
        run("echo a && false || echo c && echo d"),
        (0, "a\nc\nd\n".into())
    );
    assert_eq!(run("false && echo a || echo b"), (0, "b\n".into()));
    assert_eq!(run("true || echo a && echo b"), (0, "b\n".into()));
    // Line breaks may follow an operator.
    assert_eq!(
        run("echo a &&\n\n echo b ||\n echo c"),
        (0, "a\nb\n".into())
    );
    assert_eq!(run("false &&\n echo b ||\n\n echo c"), (0, "c\n".into()));
    // One and-or list ends at `;`: the next one runs whatever the first did.
    assert_eq!(run("false && echo a; echo b"), (0, "b\n".into()));
}

#[test]
fn semicolons_and_newlines() {
    assert_eq!(out("echo a; echo b"), "a\nb\n");
    assert_eq!(out("echo a;echo b;echo c"), "a\nb\nc\n");
    assert_eq!(out("echo a\necho b\n"), "a\nb\n");
    assert_eq!(out("\n\necho a\n\n\necho b\n\n"), "a\nb\n");
    assert_eq!(run("false;"), (1, "".into()));
    assert_eq!(run("echo a;\n"), (0, "a\n".into()));
    assert_eq!(out("echo a;\necho b"), "a\nb\n");
    assert_eq!(run("true && echo a; false || echo b"), (0, "a\nb\n".into()));
    assert_eq!(out("echo a # comment\necho b"), "a\nb\n");
}

#[test]
fn subshells() {
    assert_eq!(run("(echo a)"), (0, "a\n".into()));
    assert_eq!(out("( echo a; echo b )"), "a\nb\n");
    assert_eq!(out("(\necho a\necho b\n)"), "a\nb\n");
    assert_eq!(run("(false;)"), (1, "".into()));
    assert_eq!(run("(false) && (echo b) || echo c"), (0, "c\n".into()));
    assert_eq!(run("((echo a))"), (0, "a\n".into()));
    assert_eq!(out("(echo a); echo b"), "a\nb\n");
    assert_eq!(out("(echo a)\necho b"), "a\nb\n");
    // A subshell groups: a && (b || c) is not (a && b) || c.
    assert_eq!(run("false && (echo b || echo c)"), (1, "".into()));
    assert_eq!(run("false && echo b || echo c"), (0, "c\n".into()));
    assert_eq!(run("true && (false || echo c)"), (0, "c\n".into()));
    assert_eq!(out("echo $( (echo a) )"), "a\n");
    assert_eq!(out("echo $( (echo a) ; echo b)"), "a b\n");
}

#[test]
fn loops() {
    // The condition and the body are lists.
    assert_eq!(
        run("while true\ndo\necho a\necho b\nexit 3\ndone"),
        (3, "a\nb\n".into())
    );
    assert_eq!(
        run("while echo c; false; do echo x; done && echo d"),
        (0, "c\nd\n".into())
    );
    assert_eq!(
        run("until true && false; do (echo x); exit 5; done; echo e"),
        (5, "x\n".into())
    );
    // A loop in a loop's condition.
    assert_eq!(
        run("while until echo u; true; do echo no; done; false; do echo no; done; echo e"),
        (0, "u\ne\n".into())
    );
    assert_eq!(
        run("(while false; do echo no; done; echo in)"),
        (0, "in\n".into())
    );
    // Reserved words are words anywhere but in command position.
    assert_eq!(out("echo do done while until"), "do done while until\n");
    assert_eq!(out("while echo while; false; do echo; done"), "while\n");
    // Quoted, they are not reserved (and there is no such command).
    assert_eq!(run("'while'"), (127, "".into()));
    assert_eq!(run("\\until"), (127, "".into()));
    assert_eq!(err("'while' true; do echo; done"), unexpected("do"));
}

#[test]
fn loop_errors() {
    assert_eq!(err("while a; do b"), END);
    assert_eq!(err("while a"), END);
    assert_eq!(err("while a; b"), END);
    assert_eq!(err("while"), END);
    assert_eq!(err("while; do b; done"), unexpected(";"));
    assert_eq!(err("while a; do; done"), unexpected(";"));
    assert_eq!(err("while a; do done"), unexpected("done"));
    assert_eq!(err("until do b; done"), unexpected("do"));
    // Without a separator, `do` is an argument of the condition.
    assert_eq!(err("while a do b done"), END);
    assert_eq!(err("while a; do b; done c"), unexpected("c"));
    assert_eq!(err("while a; do b; done (c)"), unexpected("("));
    assert_eq!(err("while a; do b; done )"), unexpected(")"));
    assert_eq!(err("do"), unexpected("do"));
    assert_eq!(err("done"), unexpected("done"));
    assert_eq!(err("a; done"), unexpected("done"));
    assert_eq!(err("(a; do)"), unexpected("do"));
    // Nothing ran before the error was found.
    assert_eq!(
        err("echo a; while true; do echo b; done; done"),
        unexpected("done")
    );
}

#[test]
fn reserved_words_refused() {
    for word in [
        "if", "then", "else", "elif", "fi", "case", "esac", "for", "in", "{", "}", "!", "function",
        "select", "]]",
    ] {
        assert_eq!(err(&format!("{word} x")), not_supported(word), "{word}");
        assert_eq!(
            err(&format!("true && {word}")),
            not_supported(word),
            "{word}"
        );
        // As arguments they are plain words.
        assert_eq!(run(&format!("echo {word}")), (0, format!("{word}\n")));
    }
    // `[[` is refused by name (the lexer lets the bare word through for that).
    assert_eq!(err("[[ -d x ]]"), not_supported("[["));
    assert_eq!(err("if true; then echo; fi"), not_supported("if"));
    assert_eq!(err("for x in a; do echo; done"), not_supported("for"));
    assert_eq!(err("echo $(if a)"), not_supported("if"));
    // The first error in the script wins: here `case`, before the `;;`.
    assert_eq!(err("case x in x) ;; esac"), not_supported("case"));
    // Quoted or escaped, they are command names (run as "not found").
    assert_eq!(run("'if'"), (127, "".into()));
    assert_eq!(run("\\!"), (127, "".into()));
    assert_eq!(run("\"{\" x"), (127, "".into()));
    // `[` is the test command.
    assert_eq!(run("[ -d / ]"), (0, "".into()));
    assert_eq!(run("[ a = b ]"), (1, "".into()));
}

#[test]
fn assignments_refused() {
    // Quoted values are covered by quoted_assignments_refused below.
    for src in ["a=b", "A=", "abc_9=x", "a=b=c", "x=/mnt/models"] {
        assert_eq!(err(src), not_supported(src), "{src}");
    }
    assert_eq!(err("_x=1 echo"), not_supported("_x=1"));
    assert_eq!(err("true && a=b"), not_supported("a=b"));
    assert_eq!(err("echo $(a=b)"), not_supported("a=b"));
    // Not assignments: arguments, no valid name, quoted: commands that are not found.
    assert_eq!(run("echo a=b"), (0, "a=b\n".into()));
    assert_eq!(run("=b"), (127, "".into()));
    assert_eq!(run("1a=b"), (127, "".into()));
    assert_eq!(run("a-b=c"), (127, "".into()));
    assert_eq!(run("'a'=b"), (127, "".into()));
    assert_eq!(run("a\\=b"), (127, "".into()));
}

#[test]
fn quoted_assignments_refused() {
    // Only the unquoted start of the word decides.
    for (src, token) in [
        ("x='y'", "x="),
        ("x=\"$$\"", "x="),
        ("x=$(echo a)", "x="),
        ("x=a\\ b", "x=a"),
        ("x=\"\"", "x="),
        // Backquotes end the plain start too (they used to be kept in the token).
        ("x=a`b`", "x=a"),
    ] {
        assert_eq!(err(src), not_supported(token), "{src}");
    }
}

#[test]
fn unexpected_tokens() {
    assert_eq!(err("&& a"), unexpected("&&"));
    assert_eq!(err("|| a"), unexpected("||"));
    assert_eq!(err("; a"), unexpected(";"));
    assert_eq!(err("a;;"), not_supported(";;"));
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
    // Parentheses inside $( ) must form a subshell, as anywhere else.
    assert_eq!(err("echo $(echo (a) b)"), unexpected("("));
}

#[test]
fn unexpected_end() {
    assert_eq!(err("a &&"), END);
    assert_eq!(err("a ||\n"), END);
    assert_eq!(err("(a"), END);
    assert_eq!(err("(a;\n"), END);
    assert_eq!(err("("), END);
    // Inside $( ): an operator with nothing after it, or a missing `)`.
    assert_eq!(err("echo $(a &&)"), unexpected(")"));
    assert_eq!(err("echo $(a &&"), unterminated("$("));
    assert_eq!(err("echo $(echo"), unterminated("$("));
    assert_eq!(err("echo $("), unterminated("$("));
    assert_eq!(err("$( (echo a)"), unterminated("$("));
    assert_eq!(err("echo $( (a"), unterminated("$("));
}

#[test]
fn lexer_errors_pass_through() {
    assert_eq!(err("a | b"), not_supported("|"));
    assert_eq!(err("echo 'a"), unterminated("'"));
    assert_eq!(err("echo $x"), not_supported("$x"));
    // Found before anything runs, wherever they are.
    assert_eq!(err("echo a; false || echo b | c"), not_supported("|"));
}

#[test]
fn quoting() {
    // Single quotes keep everything.
    assert_eq!(
        out("echo 'a b $$ \\ \" $(x) * ? [ ~ | & ; < > `'"),
        "a b $$ \\ \" $(x) * ? [ ~ | & ; < > `\n"
    );
    // Adjacent pieces make one word.
    assert_eq!(out("echo '/mnt/it'\\''s'"), "/mnt/it's\n");
    assert_eq!(run("test '/mnt/it'\\''s' = \"/mnt/it's\""), (0, "".into()));
    assert_eq!(out("echo a'b'c\"d\"e"), "abcde\n");
    // Empty quotes make an empty word: `test -n` has an operand.
    assert_eq!(out("echo '' \"\" x"), "  x\n");
    assert_eq!(run("test -n ''"), (1, "".into()));
    assert_eq!(run("test -n \"\""), (1, "".into()));
    assert_eq!(run("test -n ''''"), (1, "".into()));
    // Double quotes keep operators, globs and blanks.
    assert_eq!(out("echo \"a  b;&|<>()*?[~'\""), "a  b;&|<>()*?[~'\n");
    // Inside them a backslash escapes only $ ` \" \\ and newline.
    assert_eq!(
        out("echo \"\\$ \\` \\\" \\\\ \\n \\a\""),
        "$ ` \" \\ \\n \\a\n"
    );
    assert_eq!(out("echo \"a\\\nb\""), "ab\n");
    // `$'` inside double quotes is a dollar then a quote byte.
    assert_eq!(out("echo \"$'\""), "$'\n");
}

#[test]
fn backslashes() {
    assert_eq!(out("echo a\\ b \\$\\$ \\* \\' \\\\"), "a b $$ * ' \\\n");
    // `a\ b` is one word.
    assert_eq!(run("test a\\ b = 'a b'"), (0, "".into()));
    // A lone trailing backslash is literal.
    assert_eq!(out("echo a\\"), "a\\\n");
    // Escaped operators are word bytes.
    assert_eq!(out("echo a\\;b\\&\\|\\(\\)\\<\\>"), "a;b&|()<>\n");
    // Line continuations vanish, inside a word too.
    assert_eq!(out("ec\\\nho a \\\n&& echo b"), "a\nb\n");
    assert_eq!(out("echo a\\\n\\\nb"), "ab\n");
    // And inside operators, reserved words and `$$`, after `done`, at the end (found by the
    // differential: these were syntax errors or "not supported").
    assert_eq!(run("while false; do true; done\\\n"), (0, "".into()));
    assert_eq!(out("true &\\\n& echo ok"), "ok\n");
    assert_eq!(out("false |\\\n| echo ok"), "ok\n");
    assert_eq!(
        out("until\\\n true; do echo x; do\\\nne; echo $\\\n$"),
        "42\n"
    );
    assert_eq!(out("echo \"$\\\n(echo in)\" x;\\\n echo y"), "in x\ny\n");
    // Not inside '...', nor after a quoted backslash, nor in a comment.
    assert_eq!(out("echo 'a\\\nb'"), "a\\\nb\n");
    assert_eq!(out("echo \\\\\necho q"), "\\\nq\n");
    assert_eq!(out("# c \\\necho hi"), "hi\n");
}

#[test]
fn dollars() {
    assert_eq!(
        out("echo $$ \"x$$\" /tmp/$$.d $$$"),
        "42 x42 /tmp/42.d 42$\n"
    );
    // A `$` before anything else is literal.
    assert_eq!(out("echo $ a$ b$/ \"$\" '$x' $\"\""), "$ a$ b$/ $ $x $\n");
    // Comments: `#` starts one only at the start of a word.
    assert_eq!(
        run("# a comment | > &\necho a # more | $x\n#"),
        (0, "a\n".into())
    );
    assert_eq!(out("echo a#b '#' \\#c"), "a#b # #c\n");
    assert_eq!(out("echo $(echo a # )\n)"), "a\n");
    // Bytes that are not ASCII are word bytes.
    assert_eq!(
        sh_bytes(b"echo \xff\xfe \xc3\xa9"),
        Ok((0, b"\xff\xfe \xc3\xa9\n".to_vec()))
    );
}

#[test]
fn unsupported_syntax_is_named() {
    for (src, tok) in [
        ("a | b", "|"),
        ("a & b", "&"),
        ("a &", "&"),
        ("a > f", ">"),
        ("a >> f", ">"),
        ("a < f", "<"),
        ("a 2>&1", ">"),
        ("a>f", ">"),
        ("a << EOF", "<<"),
        ("a ;; b", ";;"),
        ("echo `x`", "`"),
        ("\"`x`\"", "`"),
        ("ls *", "*"),
        ("ls a*b", "*"),
        ("ls ?", "?"),
        ("ls a[bc]", "["),
        ("ls [x", "["),
        ("ls a[", "["),
        ("ls [[x", "["),
        ("cd ~", "~"),
        ("cd ~/x", "~"),
        ("echo ${x}", "${"),
        ("echo \"${x}\"", "${"),
        ("echo $'x'", "$'"),
        ("echo $((1))", "$(("),
        ("$((1+1))", "$(("),
        ("echo $(a | b)", "|"),
    ] {
        assert_eq!(err(src), not_supported(tok), "{src}");
    }
    assert_eq!(err("echo \"$('x)\""), unterminated("'"));
    for src in ["'abc", "echo a'b"] {
        assert_eq!(err(src), unterminated("'"), "{src}");
    }
    for src in ["\"abc", "\"abc\\\"", "\"$(echo\""] {
        assert_eq!(err(src), unterminated("\""), "{src}");
    }
}

#[test]
fn glob_and_tilde_characters_that_are_words() {
    // `[` and `[[` alone are words (the test command, and a name refused as a command).
    assert_eq!(out("echo [ [[ ] ]]"), "[ [[ ] ]]\n");
    // Quoted glob characters are fine.
    assert_eq!(out("echo '*' \"?\" \\["), "* ? [\n");
    // A tilde not at the start of a word is literal.
    assert_eq!(out("echo a~b '~' \\~"), "a~b ~ ~\n");
    // Any other word with an unquoted `[` is refused, even one of `[`s and quoted ones.
    for src in [
        "echo a[b",
        "echo [[[",
        "echo [\\[",
        "echo [\"[\"",
        "echo \"[\"[",
    ] {
        assert_eq!(err(src), not_supported("["), "{src}");
    }
}

#[test]
fn variables_are_refused() {
    for (src, name) in [
        ("echo $HOME", "$HOME"),
        ("echo $a_1b/x", "$a_1b"),
        ("echo \"$_x\"", "$_x"),
        ("echo $1", "$1"),
        ("echo $0", "$0"),
        // Named up to the last name byte: one scan for names and parameters.
        ("echo $1x.y", "$1x"),
        ("echo $?", "$?"),
        ("echo $#", "$#"),
        ("echo $@", "$@"),
        ("echo $*", "$*"),
        ("echo $!", "$!"),
        ("echo $-", "$-"),
        ("$(echo $x)", "$x"),
    ] {
        assert_eq!(err(src), not_supported(name), "{src}");
    }
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

/// `check` on a thread with a main thread's stack size.
fn check_deep(src: String) -> Result<bool, String> {
    std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(move || check(src.as_bytes()))
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn nesting_limit() {
    let max = MAX_NESTING;
    let deep = Err("nested too deeply".into());
    assert_eq!(check_deep(nested_subshells(max)), Ok(true));
    assert_eq!(check_deep(nested_subshells(max + 1)), deep);
    assert_eq!(check_deep(nested_loops(max)), Ok(true));
    assert_eq!(check_deep(nested_loops(max + 1)), deep);
    assert_eq!(check_deep(nested_substs(max)), Ok(true));
    assert_eq!(check_deep(nested_substs(max + 1)), deep);
    // Bare `$(`s: the innermost, empty `$()` holds no list and is not a level (the old lexer
    // counted it).
    let substs = |n: usize| "$(".repeat(n) + &")".repeat(n);
    assert_eq!(check_deep(substs(max + 1)), Ok(true));
    assert_eq!(check_deep(substs(max + 2)), deep);
    // Bare `(`s: the depth is found before the empty innermost `()`.
    let parens = |n: usize| "(".repeat(n) + &")".repeat(n);
    assert_eq!(check_deep(parens(max)), Err(unexpected(")")));
    assert_eq!(check_deep(parens(max + 1)), deep);
    // Depth adds up across kinds: subshells inside loops inside substitutions.
    let half = max / 2 + 1;
    let mixed = format!(
        "{}{}true{}",
        "while ".repeat(half),
        "(".repeat(half),
        ")".repeat(half)
    ) + &"; do true; done".repeat(half);
    assert_eq!(check_deep(mixed), deep);
    let mixed = format!("({})", nested_substs(max));
    assert_eq!(check_deep(mixed), deep);
    let mixed = format!("({})", nested_substs(max - 1));
    assert_eq!(check_deep(mixed), Ok(true));
    // Long but shallow scripts are fine: sequences do not nest.
    let wide = "(a); ".repeat(10 * max);
    assert_eq!(check_deep(wide), Ok(true));
    let wide = "(true); ".repeat(10 * max) + "(echo end)";
    assert_eq!(run(&wide), (0, "end\n".into()));
}

/// What `check` and a run say of a script: (`check`'s result, `sh`'s result).
type Outcome = (Result<bool, String>, Result<(i32, String), String>);

/// The most work (`tally`: bytes read and copied) checking and running a script may take, per
/// byte of script: a few readings of each byte and copies of its words, with room to spare.
const WORK_PER_BYTE: usize = 32;

/// Checks and runs the script `make(n)` gives, and the one `make(2 * n)` gives, comparing the
/// results with what `make` says they are, and returns the work each took (at most
/// `WORK_PER_BYTE` for each byte of the script).
fn work_for(n: usize, make: impl Fn(usize) -> (String, Outcome)) -> [usize; 2] {
    [n, 2 * n].map(|n| {
        let (src, want) = make(n);
        let limit = WORK_PER_BYTE * src.len();
        let (got, work) = work(limit, || (check(src.as_bytes()), sh(&src)));
        assert_eq!(got, want, "{n} repetitions");
        work
    })
}

/// The work for a script twice as long is about twice as much: linear, where a walk that goes
/// back over the text for each command or byte would make it four times as much.
fn assert_linear(what: &str, [w1, w2]: [usize; 2]) {
    assert!(w1 > 0, "{what}: no work counted");
    assert!(
        w2 * 10 >= w1 * 19 && w2 * 10 <= w1 * 21,
        "{what}: {w1} units of work, then {w2} for twice the script"
    );
}

/// Scripts of megabytes work, and the shell's work on them grows linearly with their size.
/// Counted, not timed: a time bound fails under load and passes a slow regression on a fast
/// machine.
#[test]
fn one_megabyte_script() {
    // 512 KiB, then 1 MiB of `true && `.
    let and_list = work_for(1 << 16, |n| {
        let src = "true && ".repeat(n) + "echo end";
        (src, (Ok(true), Ok((0, "end\n".into()))))
    });
    assert_linear("true && ...", and_list);

    // 512 KiB, then 1 MiB of lines with quotes, `$$` and `$(...)`.
    let lines = work_for(1 << 14, |n| {
        let line = "echo 'a b' \"$$\" $(true) || false;\n";
        let src = line.repeat(n) + "(false)\n";
        (src, (Ok(true), Ok((1, "a b 42\n".repeat(n)))))
    });
    assert_linear("lines", lines);

    // One word of 1 MiB, then 2 MiB.
    let word = work_for(1 << 20, |n| {
        let word = "x".repeat(n);
        (
            format!("echo {word}"),
            (Ok(true), Ok((0, format!("{word}\n")))),
        )
    });
    assert_linear("one word", word);

    // A comment of 1 MiB, then 2 MiB.
    let comment = work_for(1 << 20, |n| {
        (
            format!("#{}", "x".repeat(n)),
            (Ok(false), Err("empty".into())),
        )
    });
    assert_linear("a comment", comment);
}
