//! `test EXPR` and `[ EXPR ]`, by the POSIX rules on the number of arguments, with the
//! operators -d -e -f -s -L (-h) -n -z, = and !=, !, and ( ). Anything else is an error with
//! status 2, never a guess.

use crate::args::Args;
use crate::output::{error_line, Output};
use crate::sys;

/// The result of a test: true, false, or an error (already reported).
type Outcome = Result<bool, ()>;

pub fn run_test(args: Args, out: &mut Output) -> i32 {
    status(if out.in_shell { b"sh" } else { b"test" }, args)
}

pub fn run_bracket(args: Args, out: &mut Output) -> i32 {
    let name: &[u8] = if out.in_shell { b"sh" } else { b"[" };
    match args.split_last() {
        Some((b"]", rest)) => status(name, rest),
        _ => {
            error_line(&[name, b": missing ]"]);
            2
        }
    }
}

fn status(name: &[u8], args: Args) -> i32 {
    // More than four arguments is always "too many": four slots and a fifth to say so.
    let mut a: [&[u8]; 5] = [b""; 5];
    let n = args.len().min(a.len());
    for (slot, arg) in a.iter_mut().zip(args) {
        *slot = arg;
    }
    match eval(name, &a[..n]) {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(()) => 2,
    }
}

fn eval(name: &[u8], a: &[&[u8]]) -> Outcome {
    match a.len() {
        0 => Ok(false),
        1 => Ok(!a[0].is_empty()),
        2 if a[0] == b"!" => eval(name, &a[1..]).map(|v| !v),
        2 => unary(name, a[0], a[1]),
        3 if is_binary(a[1]) => binary(name, a[0], a[1], a[2]),
        3 if a[0] == b"!" => eval(name, &a[1..]).map(|v| !v),
        3 if a[0] == b"(" && a[2] == b")" => eval(name, &a[1..2]),
        3 => unsupported_or_unknown(name, a[1], a[1]),
        4 if a[0] == b"!" => eval(name, &a[1..]).map(|v| !v),
        4 if a[0] == b"(" && a[3] == b")" => eval(name, &a[1..3]),
        4 if is_binary(a[1]) => unsupported_or_unknown(name, a[3], a[3]),
        _ => {
            error_line(&[
                name,
                b": too many arguments (only simple tests are supported)",
            ]);
            Err(())
        }
    }
}

fn is_binary(op: &[u8]) -> bool {
    matches!(op, b"=" | b"!=")
}

fn unary(name: &[u8], op: &[u8], arg: &[u8]) -> Outcome {
    let stat = |follow| sys::stat(arg, follow).ok();
    Ok(match op {
        b"-n" => !arg.is_empty(),
        b"-z" => arg.is_empty(),
        b"-e" => stat(true).is_some(),
        b"-d" => stat(true).is_some_and(|s| s.is_dir()),
        b"-f" => stat(true).is_some_and(|s| s.is_file()),
        b"-s" => stat(true).is_some_and(|s| s.size > 0),
        b"-L" | b"-h" => stat(false).is_some_and(|s| s.is_symlink()),
        _ => return unsupported_or_unknown(name, op, arg),
    })
}

fn binary(_name: &[u8], left: &[u8], op: &[u8], right: &[u8]) -> Outcome {
    Ok(match op {
        b"=" => left == right,
        _ => left != right,
    })
}

/// A known test operator this build leaves out, or a word that is no operator at all.
fn unsupported_or_unknown(name: &[u8], op: &[u8], operand: &[u8]) -> Outcome {
    const KNOWN: &[u8] =
        b"-a -o -b -c -g -G -k -N -O -p -r -S -t -u -w -x -eq -ne -lt -le -gt -ge \
-nt -ot -ef < >";
    if crate::args::word_index(KNOWN, op).is_some() {
        error_line(&[name, b": ", op, b": operator not supported"]);
    } else {
        error_line(&[name, b": ", operand, b": unknown operand"]);
    }
    Err(())
}

#[cfg(test)]
#[path = "../tests/test.rs"]
mod tests;
