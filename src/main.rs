//! The binary: C entry point, allocator and panic handler around `modelcar_base::shell`.
// `cargo test`/`clippy --all-targets` also build this file as a std test harness: everything
// below is for the real, no_std binary only.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![cfg(not(test))]

use modelcar_base::{output, shell, signals, sys};

// The libc crate is used without its default features, which leaves out its link directive.
// musl targets: link musl statically. The ppc64le/s390x builds (gnu targets with crt-static)
// get Debian's musl from scripts/build-sidecar.sh. A plain host build links the host libc.
#[cfg_attr(target_env = "musl", link(name = "c", kind = "static"))]
#[cfg_attr(
    all(not(target_env = "musl"), not(target_feature = "crt-static")),
    link(name = "c")
)]
extern "C" {}

#[global_allocator]
static ALLOCATOR: sys::Allocator = sys::Allocator;

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reached only on a bug or when memory runs out: say so and stop, never unwind.
    output::error_line(&[b"modelcar-base: internal error (out of memory?)"]);
    sys::exit(70)
}

/// The C runtime's entry point (musl's crt1 calls it).
#[no_mangle]
extern "C" fn main(
    argc: core::ffi::c_int,
    argv: *const *const core::ffi::c_char,
) -> core::ffi::c_int {
    signals::install();
    // SAFETY: argc/argv come straight from the C runtime.
    let args = unsafe { sys::args(argc, argv) };
    sys::exit(shell::dispatch(&args))
}

/// compiler_builtins' unwind tables name this symbol on some targets even with panic=abort;
/// nothing ever unwinds, so it is never called.
#[no_mangle]
extern "C" fn rust_eh_personality() {}
