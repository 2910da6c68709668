//! SIGTERM and SIGINT end the process at once with status 0, whatever it is doing.
//!
//! Kubernetes stops a pod with SIGTERM and waits out the grace period for processes that ignore
//! it; a PID 1 gets no default signal actions, so without a handler it would ignore SIGTERM.

use crate::sys;

extern "C" fn exit_now(_sig: core::ffi::c_int) -> ! {
    // exit_group is async-signal-safe; there is nothing to flush or clean up.
    sys::exit(0)
}

pub fn install() {
    sys::on_signals(libc::SIGTERM, libc::SIGINT, exit_now);
}
