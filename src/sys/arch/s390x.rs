//! s390x: the entry point and the system call instruction.

/// The process entry. The 160 bytes below the kernel's stack pointer are the register save
/// area that `modelcar_start` may write. No back chain is stored: nothing walks the stack (no
/// unwinding, and code is not built with -mbackchain).
#[cfg(modelcar_static)]
#[unsafe(naked)]
#[no_mangle]
unsafe extern "C" fn _start() -> ! {
    core::arch::naked_asm!(
        "lgr %r2, %r15",
        "aghi %r15, -160",
        "brasl %r14, {start}",
        start = sym crate::sys::entry::modelcar_start,
    )
}

// The kernel changes no register but r2 (the result), so the system call instruction
// goes inline at each call: no call, no registers saved around it, and a function making a
// system call can stay a leaf. `svc NR` carries a number below 256 in the instruction itself;
// higher ones go in r1 for `svc 0`. Arguments go in r2 to r6, and only those the call reads are
// set. r6 is callee-saved: only the callers of `syscall4` and `syscall5` pay for it.
macro_rules! svc {
    ($nr:ident, $($operands:tt)*) => {
        if $nr < 256 {
            core::arch::asm!("svc {nr}", nr = const $nr, $($operands)* options(nostack))
        } else {
            core::arch::asm!("svc 0", in("r1") $nr, $($operands)* options(nostack))
        }
    };
}

/// The system call `NR` with five arguments.
///
/// # Safety
/// The arguments must be what the system call `NR` expects.
#[inline(always)]
pub unsafe fn syscall5<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
    a5: usize,
) -> isize {
    let r: isize;
    // SAFETY: the system call instruction with the caller's arguments (the caller's contract);
    // the kernel changes only r2.
    unsafe {
        svc!(NR, inlateout("r2") a1 => r, in("r3") a2, in("r4") a3, in("r5") a4, in("r6") a5,);
    }
    r
}

/// `syscall5::<NR>(a1, a2, a3, a4, 0)`.
///
/// # Safety
/// As for `syscall5`.
#[inline(always)]
pub unsafe fn syscall4<const NR: libc::c_long>(
    a1: usize,
    a2: usize,
    a3: usize,
    a4: usize,
) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe {
        svc!(NR, inlateout("r2") a1 => r, in("r3") a2, in("r4") a3, in("r5") a4, in("r6") 0usize,);
    }
    r
}

/// The system call `NR` with three arguments: the kernel's others are not set.
///
/// # Safety
/// As for `syscall5`; the call must read no more than three arguments.
#[inline(always)]
pub unsafe fn syscall3<const NR: libc::c_long>(a1: usize, a2: usize, a3: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, inlateout("r2") a1 => r, in("r3") a2, in("r4") a3,) }
    r
}

/// As `syscall3`, for calls that read two arguments or fewer.
///
/// # Safety
/// As for `syscall3`.
#[inline(always)]
pub unsafe fn syscall2<const NR: libc::c_long>(a1: usize, a2: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, inlateout("r2") a1 => r, in("r3") a2,) }
    r
}

/// As `syscall3`, for calls that read one argument.
///
/// # Safety
/// As for `syscall3`.
#[inline(always)]
pub unsafe fn syscall1<const NR: libc::c_long>(a1: usize) -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, inlateout("r2") a1 => r,) }
    r
}

/// As `syscall3`, for calls that read no argument.
///
/// # Safety
/// As for `syscall3`.
#[inline(always)]
pub unsafe fn syscall0<const NR: libc::c_long>() -> isize {
    let r: isize;
    // SAFETY: as in `syscall5`.
    unsafe { svc!(NR, lateout("r2") r,) }
    r
}

/// exit_group(status), inline: the instruction and a register move.
#[inline(always)]
pub fn exit_group(status: usize) -> ! {
    const NR: libc::c_long = libc::SYS_exit_group;
    // SAFETY: exit_group reads no memory and does not return.
    unsafe {
        core::arch::asm!("svc {nr}", nr = const NR, in("r2") status, options(noreturn, nostack))
    }
}
