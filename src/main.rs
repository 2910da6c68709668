//! The binary. The real one is built by scripts/build-sidecar.sh with `--cfg modelcar_static`:
//! no C runtime, and the entry point, panic handler and `memcpy` & co come from the library
//! (src/sys/). A plain `cargo build` for the host (cargo builds binaries for the
//! integration tests) gets a stub that says so: the host's C runtime would bring its own
//! `_start` and expect a `main`.
#![cfg_attr(not(test), no_std)]
#![cfg_attr(not(test), no_main)]
#![cfg(not(test))]

#[cfg(modelcar_static)]
use modelcar_base as _;

#[cfg(not(modelcar_static))]
mod host_stub {
    use modelcar_base::sys;

    #[no_mangle]
    extern "C" fn main() -> core::ffi::c_int {
        sys::write_line(
            2,
            &[b"modelcar-base: build the sidecar with scripts/build-sidecar.sh"],
        );
        2
    }

    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo) -> ! {
        sys::exit(70)
    }

    /// The host's precompiled core names this symbol even with panic=abort; nothing unwinds.
    #[no_mangle]
    extern "C" fn rust_eh_personality() {}

    // The host C runtime links against libc by name.
    #[link(name = "c")]
    extern "C" {}
}
