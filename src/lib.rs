//! modelcar-base: a tiny static multi-call `sh` for KServe modelcar images.
//!
//! It runs exactly the scripts KServe and Kubeflow Pipelines give a modelcar (`ln`, `mkdir`,
//! `sleep`, `echo`, `ls`, `test`/`[` joined by `&&`, `||`, `;`, `( )` and `until`/`while`
//! loops), exits 0 at once on SIGTERM/SIGINT, drops every capability before it waits, and never
//! executes another program: there is no code path that calls exec.
//!
//! Map: `lexer` finds tokens, `parser` walks the grammar and runs commands as it goes (`exec`
//! holds the interpreter's state and runs simple commands, `expand` reads words); `builtins/`
//! holds one file per command, taking `args::Args`; `shell` is argv handling; `signals` and
//! `caps` the two process-level duties; `sys` is the only `unsafe` code: system calls, memory
//! and the process entry. No libc and no allocator: memory is two `sys::Stack`s.
#![cfg_attr(not(test), no_std)]
// `unsafe` only in `sys`, each block with its SAFETY note, each unsafe operation in a block.
#![deny(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod applet;
pub mod args;
pub mod builtins;
pub mod caps;
pub mod expand;
pub mod interpreter;
pub mod lexer;
pub mod output;
pub mod parser;
pub mod signals;
pub mod strerror;
pub mod syntax_error;
#[allow(unsafe_code)] // the safety boundary: see its module comment
pub mod sys;
#[cfg(test)]
mod testutil;
