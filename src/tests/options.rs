use super::*;
use crate::sys::Stack;
use crate::testutil::args;

/// What `parse` gives (the flags, the value it stored, the operands it left), as one value.
struct Parsed {
    flags: Flags,
    value: Option<Vec<u8>>,
    operands: Vec<String>,
}

impl Parsed {
    fn has(&self, letter: u8) -> bool {
        self.flags.has(letter)
    }
}

fn parsed(
    name: &[u8],
    args: Args<'_>,
    letters: &'static [u8; 3],
    valued: Option<u8>,
) -> Option<Parsed> {
    let mut buf = Stack::default();
    let (mut operands, mut value) = (args, None);
    let flags = parse(
        name,
        &mut operands,
        letters,
        valued.map(|l| (l, &mut value)),
        &mut buf,
    )?;
    Some(Parsed {
        flags,
        value: value.map(<[u8]>::to_vec),
        operands: operands
            .map(|a| String::from_utf8(a.to_vec()).unwrap())
            .collect(),
    })
}

#[test]
fn flags_fit_one_register() {
    assert_eq!(size_of::<Option<Flags>>(), size_of::<u64>());
}

fn ops(o: &Parsed) -> Vec<String> {
    o.operands.clone()
}

#[test]
fn combined_flags() {
    let a = args(&["-sf", "t", "l"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.has(b's') && o.has(b'f') && !o.has(b'n'));
    assert_eq!(o.value.as_deref(), None);
    assert_eq!(ops(&o), ["t", "l"]);
}

#[test]
fn separate_flags() {
    let a = args(&["-s", "-f", "-n", "t", "l"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.has(b's') && o.has(b'f') && o.has(b'n'));
    assert_eq!(ops(&o), ["t", "l"]);
    // Repeated flags are fine.
    let a = args(&["-ss", "-s", "t"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.has(b's') && !o.has(b'f'));
}

#[test]
fn has_is_false_for_letters_not_allowed() {
    let a = args(&["-p"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert!(o.has(b'p'));
    assert!(!o.has(b'm'));
    assert!(!o.has(b'x'));
}

#[test]
fn value_as_next_argument() {
    let a = args(&["-m", "755", "d"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert_eq!(o.value.as_deref(), Some(&b"755"[..]));
    assert!(!o.has(b'p'));
    assert_eq!(ops(&o), ["d"]);
}

#[test]
fn value_attached() {
    let a = args(&["-m755", "d"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert_eq!(o.value.as_deref(), Some(&b"755"[..]));
    assert_eq!(ops(&o), ["d"]);
    // Everything after the letter is the value, even option letters.
    let a = args(&["-mp", "d"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert_eq!(o.value.as_deref(), Some(&b"p"[..]));
    assert!(!o.has(b'p'));
}

#[test]
fn flag_then_value() {
    let a = args(&["-pm", "750", "a", "b"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert!(o.has(b'p'));
    assert_eq!(o.value.as_deref(), Some(&b"750"[..]));
    assert_eq!(ops(&o), ["a", "b"]);
    let a = args(&["-pm750", "a"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert!(o.has(b'p'));
    assert_eq!(o.value.as_deref(), Some(&b"750"[..]));
    assert_eq!(ops(&o), ["a"]);
    let a = args(&["-m", "700", "-p", "a"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert!(o.has(b'p'));
    assert_eq!(o.value.as_deref(), Some(&b"700"[..]));
    assert_eq!(ops(&o), ["a"]);
}

#[test]
fn value_may_look_like_an_option() {
    let a = args(&["-m", "-p", "d"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert_eq!(o.value.as_deref(), Some(&b"-p"[..]));
    assert!(!o.has(b'p'));
    assert_eq!(ops(&o), ["d"]);
    // The last value given wins.
    let a = args(&["-m1", "-m", "2", "d"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert_eq!(o.value.as_deref(), Some(&b"2"[..]));
}

#[test]
fn double_dash_ends_options() {
    let a = args(&["-s", "--", "-f", "l"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.has(b's') && !o.has(b'f'));
    assert_eq!(ops(&o), ["-f", "l"]);
    let a = args(&["--"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.operands.is_empty());
    let a = args(&["--", "--"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert_eq!(ops(&o), ["--"]);
}

#[test]
fn options_after_operands_count_until_double_dash() {
    // busybox's getopt (glibc's) takes options wherever they are (found by the differential:
    // `mkdir '' -$` is an invalid option there, and `ln a b -s` makes a symbolic link).
    let a = args(&["t", "-s", "l"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.has(b's'));
    assert_eq!(ops(&o), ["t", "l"]);
    let a = args(&["a", "-m", "700", "b", "-p"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert!(o.has(b'p'));
    assert_eq!(o.value.as_deref(), Some(&b"700"[..]));
    assert_eq!(ops(&o), ["a", "b"]);
    let a = args(&["t", "--", "-s", "l"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(!o.has(b's'));
    assert_eq!(ops(&o), ["t", "-s", "l"]);
    let a = args(&["t", "-q"]);
    assert!(parsed(b"ln", Args::new(&a), b"sfn", None).is_none());
    // A lone dash is an operand.
    let a = args(&["-", "-s"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert!(o.has(b's'));
    assert_eq!(ops(&o), ["-"]);
    // An empty argument is an operand.
    let a = args(&["", "-s"]);
    let o = parsed(b"ln", Args::new(&a), b"sfn", None).unwrap();
    assert_eq!(ops(&o), [""]);
}

#[test]
fn no_arguments() {
    let o = parsed(b"ln", Args::new(b""), b"sfn", None).unwrap();
    assert!(o.operands.is_empty());
    assert!(!o.has(b's'));
    assert_eq!(o.value.as_deref(), None);
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
        assert!(
            parsed(b"ln", Args::new(&a), b"sfn", None).is_none(),
            "{list:?}"
        );
    }
    // A value letter is invalid for a builtin without one.
    let a = args(&["-m", "7"]);
    assert!(parsed(b"ln", Args::new(&a), b"sfn", None).is_none());
}

#[test]
fn missing_value() {
    for list in [&["-m"][..], &["-pm"], &["-p", "-m"]] {
        let a = args(list);
        assert!(
            parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).is_none(),
            "{list:?}"
        );
    }
}

#[test]
fn three_letters_fit() {
    let a = args(&["-abc", "x"]);
    let o = parsed(b"t", Args::new(&a), b"abc", None).unwrap();
    assert!(b"abc".iter().all(|&l| o.has(l)));
    assert_eq!(ops(&o), ["x"]);
}

#[test]
fn operands_are_the_rest_of_the_args() {
    // Empty operands and an empty value are kept as they are.
    let a = args(&["-m", "", "-p", "", "d"]);
    let o = parsed(b"mkdir", Args::new(&a), b"p\0\0", Some(b'm')).unwrap();
    assert_eq!(o.value.as_deref(), Some(&b""[..]));
    assert!(o.has(b'p'));
    assert_eq!(ops(&o), ["", "d"]);
    assert_eq!(o.operands.len(), 2);
    // Split off where they are, as Args: split_last works on them as on any Args.
    let a = args(&["-s", "t1", "t2", "dir"]);
    let mut buf = Stack::default();
    let mut operands = Args::new(&a);
    parse(b"ln", &mut operands, b"sfn", None, &mut buf).unwrap();
    let (last, rest) = operands.split_last().unwrap();
    assert_eq!(last, b"dir");
    assert_eq!(rest.collect::<Vec<_>>(), [&b"t1"[..], b"t2"]);
}
