//! The builtins. Each takes its arguments (without its own name) and the output buffer, and
//! returns its exit status. Their options and messages follow busybox (coreutils where busybox
//! has no opinion).

mod echo;
mod ln;
mod ls;
mod mkdir;
mod options;
pub mod path;
mod sleep;
mod test;

use crate::args::Args;
use crate::output::Output;

pub type Builtin = fn(Args, &mut Output) -> i32;

/// Declares the builtins, each as `"name" => function`: makes both `NAMES`, the names
/// separated by spaces (what `find` searches, and what the applet error lists), and `BUILTINS`,
/// the functions in the same order.
macro_rules! builtins {
    ($first:literal => $first_run:expr $(, $name:literal => $run:expr)* $(,)?) => {
        /// The builtins' names, in the order of `BUILTINS` (and of applets.txt).
        pub const NAMES: &[u8] = concat!($first $(, " ", $name)*).as_bytes();

        const BUILTINS: &[Builtin] = &[$first_run $(, $run)*];
    };
}

builtins! {
    "ln" => ln::run,
    "mkdir" => mkdir::run,
    "sleep" => sleep::run,
    "echo" => echo::run,
    "ls" => ls::run,
    "test" => test::run_test,
    "[" => test::run_bracket,
    "true" => |_, _| 0,
    "false" => |_, _| 1,
}

/// `NAME PROBLEM 'WORD'` on standard error (the opening quote ends PROBLEM), and status 1: the
/// refusal of an option or operand. One call site: each caller passes three slices instead of
/// building the pieces.
fn refuse(name: &[u8], problem: &[u8], word: &[u8]) -> i32 {
    // The closing quote is the opening one, PROBLEM's last byte: no constant's address to
    // compute (smaller).
    let quote = problem.split_last().map(|(q, _)| core::slice::from_ref(q));
    crate::output::error_line(&[name, problem, word, quote.unwrap_or_default()]);
    1
}

/// A whole message line on standard error, and status 1: a usage error. The message goes as
/// one slice, not an array of one piece stored beside it at each call.
fn usage(message: &'static [u8]) -> i32 {
    crate::output::error_line(&[message]);
    1
}

pub fn find(name: &[u8]) -> Option<Builtin> {
    // `get`: no bounds-check panic path (the index is always in range).
    crate::args::word_index(NAMES, name).and_then(|i| BUILTINS.get(i).copied())
}

#[cfg(test)]
mod tests {
    /// applets.txt, which the scripts and tests outside the crate read, lists these builtins.
    #[test]
    fn applets_txt_lists_the_builtins() {
        let listed = include_str!("../../applets.txt").lines();
        let names: std::vec::Vec<&str> = listed.filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            Ok(names.join(" ").as_str()),
            core::str::from_utf8(super::NAMES)
        );
    }
}
