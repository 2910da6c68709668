//! Giving up every capability before the sidecar waits.
//!
//! The serving container reads the model through `/proc/<sidecar pid>/root`. The kernel allows
//! that (ptrace "read" access) only if the sidecar's permitted capabilities are a subset of the
//! reader's: a root sidecar with the default capabilities locks out a serving container that
//! dropped them. After the link exists the sidecar needs no privilege at all, so it drops them
//! all, and makes sure it stays dumpable (a non-dumpable process's /proc/<pid>/root is closed).

use crate::output::{perror, PROGRAM};
use crate::sys;

/// Drops all capabilities once per process: `dropped` remembers it (a field of the process's
/// `Output`, not a static: a writable data segment would cost the sleeping sidecar a page).
/// Failures are reported on stderr and are not fatal: the model may still be readable (same
/// UID, or a privileged reader). They read `modelcar-base: warning: WHAT: strerror`, perror's
/// shape: the name is the program's (`PROGRAM`), and WHAT starts with "warning: " (smaller
/// than a name of their own).
pub fn drop_all_once(dropped: &mut bool) {
    if *dropped {
        return;
    }
    *dropped = true;
    // Nothing to drop is the common case for a non-root sidecar: no capset, which could be
    // refused (seccomp) and warn for nothing. Sets that cannot be read are dropped anyway: a
    // failure then shows as one to drop them.
    if sys::permitted_capabilities() != Ok(0) {
        // The bounding set can only shrink while CAP_SETPCAP is still held: first. Without it,
        // or past the kernel's last capability, a drop fails harmlessly.
        for cap in 0..64 {
            let _ = sys::prctl(libc::PR_CAPBSET_DROP, cap);
        }
        // The ambient set goes too: the kernel keeps only what stays permitted and inheritable.
        if let Err(e) = sys::clear_capabilities() {
            perror(PROGRAM, b"warning: dropping capabilities", e);
        }
    }
    // Never gain privileges again (we never exec, but this closes the door for good).
    let _ = sys::set_no_new_privs();
    if let Err(e) = sys::prctl(libc::PR_SET_DUMPABLE, 1) {
        perror(PROGRAM, b"warning: staying dumpable", e);
    }
}
