//! `test EXPR` and `[ EXPR ]`, by the POSIX rules on the number of arguments, with the
//! operators -d -e -f -s -L (-h) -n -z, = and !=, !, and ( ). Anything else is an error with
//! status 2, never a guess.

use crate::args::{word_index, Args};
use crate::output::{error_line, Output};
use crate::sys;

pub fn run_test(args: Args, out: &mut Output) -> i32 {
    run(args, out, false)
}

pub fn run_bracket(args: Args, out: &mut Output) -> i32 {
    run(args, out, true)
}

/// The unary operators, then the known operators this build leaves out (an error that says
/// so, rather than "unknown operand"). One list, so one lookup serves both.
const OPERATORS: &[u8] = b"-n -z -e -d -f -s -L -h \
-a -o -b -c -g -G -k -N -O -p -r -S -t -u -w -x -eq -ne -lt -le -gt -ge -nt -ot -ef < >";

/// The file type each of -d (3), -f (4), -L and -h (6, 7) asks for, in nibble 3, 4, 6, 7:
/// directory 4, regular file 8, symbolic link 10.
const FILE_TYPES: u32 = 0xAA08_4000;

/// Both applets: status 0 (true), 1 (false), or 2 after one message `NAME: WORD MESSAGE` (all
/// errors share that one call).
fn run(mut args: Args, out: &Output, bracket: bool) -> i32 {
    let name: &[u8] = match (out.in_shell, bracket) {
        (true, _) => b"sh",
        (_, true) => b"[",
        _ => b"test",
    };
    const TOO_MANY: (&[u8], &[u8]) = (b"", b"too many arguments (only simple tests are supported)");
    let (word, message): (&[u8], &[u8]) = 'error: {
        if bracket {
            match args.split_last() {
                Some((b"]", rest)) => args = rest,
                _ => break 'error (b"", b"missing ]"),
            }
        }
        // More than four arguments is always "too many".
        let mut slots: [&[u8]; 4] = [b""; 4];
        let mut n = 0;
        for arg in args {
            if n == slots.len() {
                break 'error TOO_MANY;
            }
            slots[n] = arg;
            n += 1;
        }
        // Negations and parentheses peel off in a loop: `negated` says how the rest counts.
        let mut a = &slots[..n];
        let mut negated = false;
        // Which word is wrong: `op` if it is a known operator, else `operand`.
        // The arms go by the number of arguments, in the order POSIX tries the rules.
        let (op, operand) = loop {
            let value = match *a {
                [] => false,
                [s] => !s.is_empty(),
                // `op.len() == 1`: the operator is "=".
                [left, op @ (b"=" | b"!="), right] => (left == right) == (op.len() == 1),
                [b"!", ref rest @ ..] => {
                    negated = !negated;
                    a = rest;
                    continue;
                }
                [b"(", ref inner @ .., b")"] if a.len() > 2 => {
                    a = inner;
                    continue;
                }
                [op, arg] => match word_index(OPERATORS, op) {
                    Some(i @ 0..=1) => arg.is_empty() == (i == 1),
                    // -L and -h (6, 7) look at the link itself.
                    Some(i @ 2..=7) => sys::stat(arg, i < 6).is_ok_and(|s| match i {
                        2 => true,
                        5 => s.size > 0,
                        // -d, -f, -L, -h: the file type (S_IFMT's four bits) that nibble `i`
                        // of a table holds, a shift rather than a jump table.
                        _ => s.mode >> 12 & 15 == FILE_TYPES >> (i * 4) & 15,
                    }),
                    _ => break (op, arg),
                },
                // Three or four words that make no test: name the operator or the extra word.
                [_, op, _] => break (op, op),
                [_, b"=" | b"!=", _, last] => break (last, last),
                _ => break 'error TOO_MANY,
            };
            return (value == negated) as i32;
        };
        match word_index(OPERATORS, op) {
            Some(8..) => (op, b": operator not supported"),
            _ => (operand, b": unknown operand"),
        }
    };
    error_line(&[name, b": ", word, message]);
    2
}

#[cfg(test)]
#[path = "../tests/test.rs"]
mod tests;
