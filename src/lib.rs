//! modelcar-base: a tiny static multi-call `sh` for KServe modelcar images.
//!
//! It runs exactly the scripts KServe and Kubeflow Pipelines give a modelcar (`ln`, `mkdir`,
//! `sleep`, `echo`, `ls`, `test`/`[` joined by `&&`, `||`, `;`, `( )` and `until`/`while`
//! loops), exits 0 at once on SIGTERM/SIGINT, drops every capability before it waits, and never
//! executes another program: there is no code path that calls exec.
//!
//! Map, in the order a script's data flows: `applet` (argv[0] dispatch: `sh -c`, or a builtin
//! by name) hands the script to `interpreter` (`run_script` and the interpreter's state,
//! `Shell`; simple commands); `parser` walks the grammar over the script's text and runs each
//! command as it recognises it, with `lexer` (tokens) and `expand` (words into fields, in
//! `args::Args`); `builtins/` holds one file per command. `output` is where they write;
//! `syntax_error` and `strerror` hold message texts; `signals` and `caps` are the two
//! process-level duties; `sys` is the only `unsafe` code: system calls (`sys/arch/`, one file
//! per architecture), memory and the process entry. No libc and no allocator: memory is two
//! `sys::Stack`s.
#![cfg_attr(not(test), no_std)]
// `unsafe` only in `sys`, each block with its SAFETY note, each unsafe operation in a block.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

// `main` is their only user, and only the real binary has it.
#[cfg_attr(not(modelcar_static), allow(dead_code))]
pub(crate) mod applet;
pub(crate) mod args;
pub(crate) mod builtins;
pub(crate) mod caps;
pub(crate) mod expand;
pub mod interpreter;
pub(crate) mod lexer;
pub(crate) mod output;
pub(crate) mod parser;
#[cfg_attr(not(modelcar_static), allow(dead_code))]
pub(crate) mod signals;
pub(crate) mod strerror;
pub mod syntax_error;
#[allow(unsafe_code)] // the safety boundary: see its module comment
pub mod sys;
#[cfg(test)]
mod testutil;

/// The real binary's program. The entry point (`sys/entry.rs`) calls it with the process's
/// arguments, as a C runtime calls `main`, and exits with its status: `sys` reaches the rest of
/// the crate only through here.
#[cfg(modelcar_static)]
// Inlined into the entry, as `dispatch` is: a call just before the process exits looks cold to
// LLVM, which would keep it out of line (larger).
#[inline(always)]
fn main(args: &'static [u8]) -> i32 {
    signals::install();
    applet::dispatch(args::Args::new(args))
}
