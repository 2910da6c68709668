//! Short-option parsing shared by the builtins: `-sf`, `-s -f`, `-m 755`, `-m755`, `--`.

use crate::args::Args;
use crate::output::error_line;

pub struct Options<'a> {
    /// Which of the allowed flag letters were given, one bit each.
    seen: u32,
    letters: &'static [u8],
    /// The value of the one option that takes a value, if given.
    pub value: Option<&'a [u8]>,
    pub operands: Args<'a>,
}

impl Options<'_> {
    pub fn has(&self, letter: u8) -> bool {
        self.letters
            .iter()
            .position(|&l| l == letter)
            .is_some_and(|i| self.seen & 1 << i != 0)
    }
}

/// Parses leading options. `letters` are the flags; `valued` the one letter taking a value.
/// On a bad option it prints `NAME: invalid option -- 'X'` and returns None.
pub fn parse<'a>(
    name: &[u8],
    args: Args<'a>,
    letters: &'static [u8],
    valued: Option<u8>,
) -> Option<Options<'a>> {
    let mut opts = Options {
        seen: 0,
        letters,
        value: None,
        operands: args,
    };
    let mut rest = args;
    while let Some(arg) = rest.next() {
        if arg == b"--" {
            opts.operands = rest;
            break;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            break;
        }
        for (j, &c) in arg.iter().enumerate().skip(1) {
            if Some(c) == valued {
                opts.value = Some(if j + 1 < arg.len() {
                    &arg[j + 1..]
                } else {
                    let Some(v) = rest.next() else {
                        error_line(&[name, b": option requires an argument -- '", &[c], b"'"]);
                        return None;
                    };
                    v
                });
                break;
            }
            let Some(k) = letters.iter().position(|&l| l == c) else {
                error_line(&[name, b": invalid option -- '", &[c], b"'"]);
                return None;
            };
            opts.seen |= 1 << k;
        }
        opts.operands = rest;
    }
    Some(opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::args;

    fn ops(o: &Options<'_>) -> Vec<String> {
        o.operands
            .iter()
            .map(|a| String::from_utf8(a.clone()).unwrap())
            .collect()
    }

    #[test]
    fn combined_flags() {
        let a = args(&["-sf", "t", "l"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(o.has(b's') && o.has(b'f') && !o.has(b'n'));
        assert_eq!(o.value, None);
        assert_eq!(ops(&o), ["t", "l"]);
    }

    #[test]
    fn separate_flags() {
        let a = args(&["-s", "-f", "-n", "t", "l"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(o.has(b's') && o.has(b'f') && o.has(b'n'));
        assert_eq!(ops(&o), ["t", "l"]);
        // Repeated flags are fine.
        let a = args(&["-ss", "-s", "t"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(o.has(b's') && !o.has(b'f'));
    }

    #[test]
    fn has_is_false_for_letters_not_allowed() {
        let a = args(&["-p"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert!(o.has(b'p'));
        assert!(!o.has(b'm'));
        assert!(!o.has(b'x'));
    }

    #[test]
    fn value_as_next_argument() {
        let a = args(&["-m", "755", "d"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert_eq!(o.value, Some(&b"755"[..]));
        assert!(!o.has(b'p'));
        assert_eq!(ops(&o), ["d"]);
    }

    #[test]
    fn value_attached() {
        let a = args(&["-m755", "d"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert_eq!(o.value, Some(&b"755"[..]));
        assert_eq!(ops(&o), ["d"]);
        // Everything after the letter is the value, even option letters.
        let a = args(&["-mp", "d"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert_eq!(o.value, Some(&b"p"[..]));
        assert!(!o.has(b'p'));
    }

    #[test]
    fn flag_then_value() {
        let a = args(&["-pm", "750", "a", "b"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert!(o.has(b'p'));
        assert_eq!(o.value, Some(&b"750"[..]));
        assert_eq!(ops(&o), ["a", "b"]);
        let a = args(&["-pm750", "a"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert!(o.has(b'p'));
        assert_eq!(o.value, Some(&b"750"[..]));
        assert_eq!(ops(&o), ["a"]);
        let a = args(&["-m", "700", "-p", "a"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert!(o.has(b'p'));
        assert_eq!(o.value, Some(&b"700"[..]));
        assert_eq!(ops(&o), ["a"]);
    }

    #[test]
    fn value_may_look_like_an_option() {
        let a = args(&["-m", "-p", "d"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert_eq!(o.value, Some(&b"-p"[..]));
        assert!(!o.has(b'p'));
        assert_eq!(ops(&o), ["d"]);
        // The last value given wins.
        let a = args(&["-m1", "-m", "2", "d"]);
        let o = parse(b"mkdir", &a, b"p", Some(b'm')).unwrap();
        assert_eq!(o.value, Some(&b"2"[..]));
    }

    #[test]
    fn double_dash_ends_options() {
        let a = args(&["-s", "--", "-f", "l"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(o.has(b's') && !o.has(b'f'));
        assert_eq!(ops(&o), ["-f", "l"]);
        let a = args(&["--"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(o.operands.is_empty());
        let a = args(&["--", "--"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert_eq!(ops(&o), ["--"]);
    }

    #[test]
    fn first_operand_ends_options() {
        let a = args(&["t", "-s", "l"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(!o.has(b's'));
        assert_eq!(ops(&o), ["t", "-s", "l"]);
        // A lone dash is an operand.
        let a = args(&["-", "-s"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(!o.has(b's'));
        assert_eq!(ops(&o), ["-", "-s"]);
        // An empty argument is an operand.
        let a = args(&["", "-s"]);
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert_eq!(ops(&o), ["", "-s"]);
    }

    #[test]
    fn no_arguments() {
        let a: Vec<Vec<u8>> = Vec::new();
        let o = parse(b"ln", &a, b"sfn", None).unwrap();
        assert!(o.operands.is_empty());
        assert!(!o.has(b's'));
        assert_eq!(o.value, None);
    }

    #[test]
    fn invalid_option() {
        for list in [
            &["-x", "a"][..],
            &["-sx", "a"],
            &["-s", "-q"],
            &["--force", "a"],
            &["-S"],
        ] {
            let a = args(list);
            assert!(parse(b"ln", &a, b"sfn", None).is_none(), "{list:?}");
        }
        // A value letter is invalid for a builtin without one.
        let a = args(&["-m", "7"]);
        assert!(parse(b"ln", &a, b"sfn", None).is_none());
    }

    #[test]
    fn missing_value() {
        for list in [&["-m"][..], &["-pm"], &["-p", "-m"]] {
            let a = args(list);
            assert!(parse(b"mkdir", &a, b"p", Some(b'm')).is_none(), "{list:?}");
        }
    }

    #[test]
    fn eight_letters_fit() {
        let a = args(&["-abcdefgh", "x"]);
        let o = parse(b"t", &a, b"abcdefgh", None).unwrap();
        assert!(b"abcdefgh".iter().all(|&l| o.has(l)));
        assert_eq!(ops(&o), ["x"]);
    }
}
