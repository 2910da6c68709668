//! modelcar-base: a tiny static multi-call `sh` for KServe modelcar images.
//!
//! It runs exactly the scripts KServe and Kubeflow Pipelines give a modelcar (`ln`, `mkdir`,
//! `sleep`, `echo`, `ls`, `test`/`[` joined by `&&`, `||`, `;`, `( )` and `until`/`while`
//! loops), exits 0 at once on SIGTERM/SIGINT, drops every capability before it waits, and never
//! executes another program: there is no code path that calls exec.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]

extern crate alloc;

mod builtins;
mod caps;
mod error;
mod errors;
mod exec;
mod expand;
mod lexer;
mod output;
mod parser;
mod shell;
mod signals;
mod sys;

#[cfg(not(test))]
#[global_allocator]
static ALLOCATOR: sys::Malloc = sys::Malloc;

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reached only on a bug or when memory runs out: say so and stop, never unwind.
    output::error_line(&[b"modelcar-base: internal error (out of memory?)"]);
    sys::exit(70)
}

/// The C runtime's entry point (musl's crt1 calls it).
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn main(
    argc: core::ffi::c_int,
    argv: *const *const core::ffi::c_char,
) -> core::ffi::c_int {
    signals::install();
    let args = sys::args(argc, argv);
    sys::exit(shell::dispatch(&args))
}

/// compiler_builtins' unwind tables name this symbol on some targets even with panic=abort;
/// nothing ever unwinds, so it is never called.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
