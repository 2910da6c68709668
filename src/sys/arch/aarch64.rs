//! aarch64: the entry point and the system call instruction.
//!
//! One small C-ABI function, `modelcar_syscall(nr, a1, .., a5)`, with the entries
//! `modelcar_syscall3` (`a4 = a5 = 0`) and `modelcar_syscall4` (`a5 = 0`) just before it, so
//! that each call passes only the arguments it has: an entry point costs less than a wrapper
//! function. The `syscall0` to `syscall5` wrappers over these entries are in
//! `c_abi_entries.rs`, shared with x86_64.

/// The process entry: the kernel's stack pointer to `modelcar_start`, on a stack aligned as the
/// ABI wants. Nothing to set up: no libc, no TLS, no constructors.
#[cfg(modelcar_static)]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "mov x29, #0",
        "mov x30, #0",
        "mov x0, sp",
        "and sp, x0, #-16",
        "bl {start}",
        start = sym crate::sys::entry::modelcar_start,
    )
}

core::arch::global_asm!(
    ".globl modelcar_syscall",
    ".globl modelcar_syscall3",
    ".globl modelcar_syscall4",
    "modelcar_syscall3:",
    "mov x4, xzr",
    "modelcar_syscall4:",
    "mov x5, xzr",
    ".type modelcar_syscall, %function",
    "modelcar_syscall:",
    "mov x8, x0",
    "mov x0, x1",
    "mov x1, x2",
    "mov x2, x3",
    "mov x3, x4",
    "mov x4, x5",
    "mov x5, xzr",
    "svc #0",
    "ret",
);

/// exit_group(status), inline: the instruction and two register moves, where a call would
/// also pass the unused arguments.
#[inline(always)]
pub fn exit_group(status: usize) -> ! {
    // SAFETY: exit_group reads no memory and does not return.
    unsafe {
        core::arch::asm!(
            "svc #0",
            in("x8") libc::SYS_exit_group,
            in("x0") status,
            options(noreturn, nostack)
        )
    }
}
