//! `test EXPR` and `[ EXPR ]`, by the POSIX rules on the number of arguments, with the
//! operators -d -e -f -s -L (-h) -n -z, = and !=, and !. Anything else (other operators,
//! parentheses, four words that are not `! EXPR`, more than four) is an error with status 2 and
//! one line naming the word, never a guess.

use crate::args::{word_index, Args};
use crate::output::{error_line, Output};
use crate::sys::{self, CPath};

pub fn run_test(args: Args, out: &mut Output) -> i32 {
    run(args, out, false)
}

pub fn run_bracket(args: Args, out: &mut Output) -> i32 {
    run(args, out, true)
}

/// The unary operators (the only ones known: any other is an "unknown operator"). The file
/// tests from 2 on, those that follow a symbolic link from 4 on: one bit says which
/// (smaller than a comparison).
const OPERATORS: &[u8] = b"-n -z -L -h -e -d -f -s";

/// The file type each of -L and -h (2, 3), -d (5) and -f (6) asks for, in nibble 2, 3, 5, 6:
/// symbolic link 10, directory 4, regular file 8; -e (4) asks for any, 0.
const FILE_TYPES: u32 = 0x0840_AA00;

/// Both applets: status 0 (true), 1 (false), or 2 after one message `NAME: WORD MESSAGE` (all
/// errors share that one call).
fn run(args: Args, out: &Output, bracket: bool) -> i32 {
    // The name with its ": ", one piece fewer for the message.
    let name: &[u8] = match (out.in_shell, bracket) {
        (true, _) => b"sh: ",
        (_, true) => b"[: ",
        _ => b"test: ",
    };
    const TOO_MANY: (&[u8], &[u8]) = (b"", b"too many arguments");
    let (word, message): (&[u8], &[u8]) = 'error: {
        // The first five words (four, and `[`'s "]"), as paths: a unary operator's operand
        // goes to the kernel where it is. The count and the last word go on past them. More
        // than four words to evaluate is always "too many".
        let mut slots = [CPath::EMPTY; 5];
        let mut n = 0;
        let mut last = CPath::EMPTY;
        for arg in args.paths() {
            if let Some(slot) = slots.get_mut(n) {
                *slot = arg;
            }
            last = arg;
            n += 1;
        }
        if bracket {
            if last.as_bytes() != b"]" {
                break 'error (b"", b"missing ]");
            }
            n -= 1;
        }
        if n > 4 {
            break 'error TOO_MANY;
        }
        // Negations peel off in a loop: `negated` says how the rest counts.
        let mut a = &slots[..n];
        let mut negated = false;
        // The arms go by the number of arguments, in the order POSIX tries the rules; an
        // error names the word that should have been an operator.
        let op: &[u8] = loop {
            // The words are paths: guards compare their bytes, which patterns cannot.
            let value = match *a {
                [] => false,
                [s] => !s.is_empty(),
                // The binary operators found as the unary ones are (smaller than a
                // slice pattern); `op.len() == 1`: the operator is "=".
                [left, op, right] if word_index(b"= !=", op).is_some() => {
                    (left.as_bytes() == right.as_bytes()) == (op.len() == 1)
                }
                [first, ref rest @ ..] if first.as_bytes() == b"!" => {
                    negated = !negated;
                    a = rest;
                    continue;
                }
                // Parentheses are left out: name the "(" rather than a word inside them (the word
                // itself, not a constant: smaller).
                [op, ..] if op.as_bytes() == b"(" => break op,
                [op, arg] => match word_index(OPERATORS, op) {
                    Some(i @ 0..=1) => arg.is_empty() == (i == 1),
                    // -L and -h (2, 3) look at the link itself.
                    Some(i) => sys::stat(arg, i & 4 != 0).is_ok_and(|s| match i {
                        7 => !s.is_empty(),
                        // -d, -f, -L, -h: the file type (S_IFMT's four bits) that nibble `i`
                        // of a table holds, a shift rather than a jump table; -e: any (0).
                        _ => {
                            let want = FILE_TYPES >> (i * 4) & 15;
                            let ty = s.mode() >> 12 & 15;
                            // Any type is 0 for -e: a select, not a branch (smaller).
                            (if want == 0 { 0 } else { ty }) == want
                        }
                    }),
                    None => break op,
                },
                [_, op, _] => break op,
                // Four words that are not `! EXPR` (POSIX leaves them to -a, -o and ( )).
                _ => break 'error TOO_MANY,
            };
            return (value == negated) as i32;
        };
        (op, b": unknown operator")
    };
    error_line(&[name, word, message]);
    2
}

#[cfg(test)]
#[path = "../tests/test.rs"]
mod tests;
