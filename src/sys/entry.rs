//! The process entry after `_start` (in `arch/`, per architecture): the arguments to
//! `crate::main`, its status to exit_group; and the panic handler.
//! Compiled only for the real binary (`--cfg modelcar_static`, see .cargo/sidecar.toml): unit
//! tests and the fuzzer run on the host's C runtime.

/// Called by `_start` with the initial stack pointer; never returns (nothing follows the call).
pub(crate) extern "C" fn modelcar_start(sp: *const usize) -> ! {
    // SAFETY: `_start` passes the stack pointer the kernel gave it, untouched.
    let args = unsafe { super::args_at_entry(sp) };
    super::exit(crate::main(args))
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Reached only on a bug: say so and stop, never unwind.
    super::fatal(b"modelcar-base: internal error")
}
