//! x86_64: the entry point and the system call instruction.
//!
//! One small C-ABI function, `modelcar_syscall(nr, a1, .., a5)`, with the entries
//! `modelcar_syscall3` (`a4 = a5 = 0`) and `modelcar_syscall4` (`a5 = 0`) just before it, so
//! that each call passes only the arguments it has: an entry point costs less than a wrapper
//! function. The `syscall0` to `syscall5` wrappers over these entries are in
//! `c_abi_entries.rs`, shared with aarch64.

/// The process entry: the kernel's stack pointer to `modelcar_start`, on a stack aligned as the
/// ABI wants. Nothing to set up: no libc, no TLS, no constructors.
#[cfg(modelcar_static)]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "xor ebp, ebp",
        "mov rdi, rsp",
        "and rsp, -16",
        "call {start}",
        start = sym crate::sys::entry::modelcar_start,
    )
}

core::arch::global_asm!(
    ".globl modelcar_syscall",
    ".globl modelcar_syscall3",
    ".globl modelcar_syscall4",
    "modelcar_syscall3:",
    "xor r8d, r8d",
    "modelcar_syscall4:",
    "xor r9d, r9d",
    ".type modelcar_syscall, @function",
    "modelcar_syscall:",
    "mov rax, rdi",
    "mov rdi, rsi",
    "mov rsi, rdx",
    "mov rdx, rcx",
    "mov r10, r8",
    "mov r8, r9",
    "xor r9d, r9d",
    "syscall",
    "ret",
);

/// exit_group(status), inline: the instruction and two register moves, where a call would
/// also pass the unused arguments.
#[inline(always)]
pub fn exit_group(status: usize) -> ! {
    // SAFETY: exit_group reads no memory and does not return.
    unsafe {
        core::arch::asm!(
            "syscall",
            in("rax") libc::SYS_exit_group,
            in("rdi") status,
            options(noreturn, nostack)
        )
    }
}
