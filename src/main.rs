//! The binary: entry point and panic handler around `modelcar_base::shell`.
//!
//! The real binary is built by scripts/build-sidecar.sh, which links it with no C runtime
//! (`--cfg modelcar_static`, rust-lld, our own `_start`). A plain `cargo build` for the host
//! (cargo builds binaries for the integration tests) gets a stub that says so: the host's
//! C runtime would bring its own `_start` and expect a `main`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![cfg(not(test))]

#[cfg(modelcar_static)]
#[path = "sys/entry.rs"]
mod entry;

use modelcar_base::sys;

#[cfg(modelcar_static)]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reached only on a bug: say so and stop, never unwind.
    sys::write_line(2, &[b"modelcar-base: internal error"]);
    sys::exit(70)
}

#[cfg(modelcar_static)]
fn main(argv: sys::Argv) -> ! {
    modelcar_base::signals::install();
    sys::exit(modelcar_base::shell::dispatch(argv))
}

/// The host stub (see above).
#[cfg(not(modelcar_static))]
#[no_mangle]
extern "C" fn main() -> core::ffi::c_int {
    sys::write_line(
        2,
        &[b"modelcar-base: build the sidecar with scripts/build-sidecar.sh"],
    );
    2
}

#[cfg(not(modelcar_static))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    sys::exit(70)
}

// The host C runtime links against libc by name.
#[cfg(not(modelcar_static))]
#[link(name = "c")]
extern "C" {}

/// The host's precompiled core names this symbol even with panic=abort; nothing unwinds.
#[cfg(not(modelcar_static))]
#[no_mangle]
extern "C" fn rust_eh_personality() {}
